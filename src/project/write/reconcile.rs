//! Reconcile: the one way divergence is resolved, planned like every other
//! mutation (so it is previewed, re-checked at its turn and applied or
//! rejected whole).

use std::sync::Arc;

use super::mutation::{DiskEntry, Planner, ReconcileChoice, Step};
use crate::project::disk::workspace;
use crate::project::format::manifest::{Manifest, MANIFEST_FILE};
use crate::project::format::registry;
use crate::project::model::{Asset, Kind, Observed};
use crate::project::snapshot::divergence::{
    conflict_resolutions, resolutions_for, split_move, Item, ItemKind, Untracked,
};
use crate::protocol::model::{Resolution, ResolutionName};

/// A resolution as the protocol names it.
fn resolution_name(resolution: &str) -> Option<ResolutionName> {
    super::mutation::wire_name(resolution)
}

fn is_asset_item(kind: ItemKind) -> bool {
    !matches!(kind, ItemKind::RegistryChanged | ItemKind::ManifestChanged)
}

impl Planner<'_> {
    pub(super) fn reconcile(&mut self, choices: Option<&[ReconcileChoice]>) {
        let items: Vec<Item> = self.snap.divergence.as_ref().clone();
        let mut chosen: Vec<(Item, String, Option<String>)> = Vec::new();
        match choices {
            None => {
                for item in items {
                    if item.kind == ItemKind::RegistryConflict {
                        let msg = format!(
                            "a registry conflict at `{}` is left: choose a side for it (ours, theirs)",
                            item.path
                        );
                        self.warn("choiceNeeded", msg, item.asset_id.as_deref(), Some(&item.path));
                        continue;
                    }
                    let default = resolutions_for(item.kind)[0].to_string();
                    chosen.push((item, default, None));
                }
            }
            Some(list) => {
                for c in list {
                    let Some(item) = items.iter().find(|i| i.id == c.divergence_id) else {
                        let msg =
                            format!("no divergence item has the id `{}` (it may be resolved already)", c.divergence_id);
                        self.block("unknownDivergence", msg, None, None);
                        continue;
                    };
                    let allowed = resolutions_for(item.kind);
                    if !allowed.contains(&c.resolution.as_str()) {
                        let msg = format!(
                            "`{}` does not resolve a {} item (use {})",
                            c.resolution,
                            item.kind.as_str(),
                            allowed.join(" or ")
                        );
                        self.block("invalidResolution", msg, item.asset_id.as_deref(), Some(&item.path));
                        continue;
                    }
                    if (c.resolution == "relink") != c.path.is_some() {
                        let msg = "`path` goes with `relink`, and only with it".to_string();
                        self.block("invalidResolution", msg, item.asset_id.as_deref(), Some(&item.path));
                        continue;
                    }
                    chosen.push((item.clone(), c.resolution.clone(), c.path.clone()));
                }
            }
        }
        if chosen.is_empty() && self.snap.divergence.is_empty() {
            self.warn("noChange", "the project is clean: nothing to reconcile".into(), None, None);
        }
        // The project's own files first. A registry reload replaces what the
        // asset items were measured against: they are looked at again after
        // it, not resolved now.
        chosen.sort_by_key(|(item, _, _)| !matches!(item.kind, ItemKind::RegistryChanged | ItemKind::ManifestChanged));
        let reloading = chosen.iter().any(|(i, r, _)| i.kind == ItemKind::RegistryChanged && r == "reload");
        if reloading {
            let skipped = chosen.iter().filter(|(i, _, _)| is_asset_item(i.kind)).count();
            if skipped > 0 {
                let msg = format!(
                    "{skipped} asset item(s) are measured again against the reloaded registry, not resolved now"
                );
                self.warn("reevaluated", msg, None, None);
            }
            chosen.retain(|(i, _, _)| !is_asset_item(i.kind));
        }
        for (item, resolution, path) in chosen {
            let Some(name) = resolution_name(&resolution) else {
                // Never: a unit test holds every resolution the planner accepts to the protocol's names.
                let msg = format!("the protocol has no resolution `{resolution}` (a bug in the packer)");
                self.block("invalidResolution", msg, item.asset_id.as_deref(), Some(&item.path));
                continue;
            };
            self.reconcile.resolutions.push_with(|| Resolution {
                divergence_id: item.id.clone(),
                kind: item.kind,
                path: item.path.clone(),
                resolution: name,
                to: path.clone(),
            });
            self.resolve(&item, &resolution, path.as_deref());
        }
    }

    /// What a file is on disk now, if it can be read.
    fn look(&mut self, rel: &str, kind: Kind) -> Option<Observed> {
        self.observe_file(rel, kind).ok()
    }

    fn asset_of(&mut self, item: &Item) -> Option<Arc<Asset>> {
        let found = item.asset_id.as_ref().and_then(|id| self.assets.get(id.as_str()).cloned());
        if found.is_none() {
            let msg = format!("the asset of `{}` is no longer registered; this item is skipped", item.path);
            self.warn("skipped", msg, item.asset_id.as_deref(), Some(&item.path));
        }
        found
    }

    fn resolve(&mut self, item: &Item, resolution: &str, path: Option<&str>) {
        match (item.kind, resolution) {
            (ItemKind::Modified, _) => {
                let Some(asset) = self.asset_of(item) else { return };
                match self.look(asset.path(), asset.entry.kind) {
                    Some(obs) => {
                        let mut entry = asset.entry.clone();
                        entry.hash = obs.hash;
                        entry.size = obs.size;
                        self.put(Asset::from_observation(entry, Some(obs)));
                    }
                    None => self.block(
                        "fileMissing",
                        format!("`{}` is gone", asset.path()),
                        Some(asset.id()),
                        Some(asset.path()),
                    ),
                }
            }
            (ItemKind::Missing, "drop") => {
                if let Some(asset) = self.asset_of(item) {
                    self.remove(&asset);
                }
            }
            (ItemKind::Missing, _) => {
                let Some(asset) = self.asset_of(item) else { return };
                let Some(to) = path.and_then(|p| self.client_path(p, Some(asset.id()))) else { return };
                self.relink(&asset, &to);
            }
            (ItemKind::Moved, _) => {
                let Some(asset) = self.asset_of(item) else { return };
                let Some(to) = item.detail["to"].as_str().map(str::to_string) else { return };
                self.relink(&asset, &to);
            }
            (ItemKind::Untracked, "register") => self.register(&item.path),
            (ItemKind::Untracked, _) => self.ignore(&item.path),
            (ItemKind::RegistryChanged, "reload") => self.reload_registry(),
            (ItemKind::RegistryChanged, _) => {
                // The packer's registry wins: write it over the file.
                self.reconcile.keep_registry = true;
                self.external.registry = None;
            }
            (ItemKind::ManifestChanged, _) => self.reload_manifest(),
            (ItemKind::RegistryConflict, _) => self.resolve_conflict(item, resolution),
        }
    }

    /// Takes one side of a conflict record and removes the record. The
    /// entries hold our side already (the merge put it there); `theirs`
    /// replaces the entries of every asset the record names with theirs'.
    fn resolve_conflict(&mut self, item: &Item, resolution: &str) {
        let Some(index) =
            self.conflicts.iter().position(|c| crate::project::snapshot::divergence::conflict_item_id(c) == item.id)
        else {
            let msg = format!("the conflict at `{}` is resolved earlier in this mutation; skipped", item.path);
            self.warn("skipped", msg, item.asset_id.as_deref(), Some(&item.path));
            return;
        };
        let allowed = conflict_resolutions(&self.conflicts[index]);
        if !allowed.contains(&resolution) {
            let msg = format!("`{resolution}` does not resolve this conflict (use {})", allowed.join(" or "));
            self.block("invalidResolution", msg, item.asset_id.as_deref(), Some(&item.path));
            return;
        }
        let c = self.conflicts.remove(index);
        self.reconcile.conflicts_resolved = true;
        match resolution {
            "ours" => {
                // Git leaves a file at both paths of a conflicting move: the
                // one at theirs goes when it is a copy of ours.
                for t in &c.theirs {
                    if let Some(ours) = self.assets.get(&*t.id).map(|a| a.entry.path.clone()) {
                        self.remove_copy(&t.path, &ours);
                    }
                }
            }
            "theirs" => {
                let current: Vec<Arc<Asset>> = c.ids().iter().filter_map(|id| self.assets.get(*id).cloned()).collect();
                for a in &current {
                    self.remove(a);
                }
                for e in &c.theirs {
                    if let Some(other) = self.by_path.get(&*e.path).cloned() {
                        let msg = format!("`{}` is asset `{other}`'s path (outside this conflict)", e.path);
                        self.block("targetExists", msg, Some(&e.id), Some(&e.path));
                        return;
                    }
                    let obs = self.look(&e.path, e.kind);
                    self.untracked.remove(&*e.path);
                    self.put(Asset::from_observation(e.clone(), obs));
                }
                for a in &current {
                    if let Some(theirs) = c.theirs.iter().find(|t| t.id == a.entry.id) {
                        self.remove_copy(a.path(), &theirs.path.clone());
                    }
                    // A file no entry names now (their side deleted its asset,
                    // or a copy that differs) is untracked, as after `unregister`.
                    self.untrack_leftover(a.path());
                }
            }
            _ => {
                // `both`: the asset stays at ours; theirs becomes a new asset
                // with their tags and settings.
                let Some((_, theirs)) = split_move(&c) else { return };
                let theirs = theirs.clone();
                self.register(&theirs.path);
                let Some(id) = self.by_path.get(&*theirs.path).cloned() else { return };
                let mut added = self.assets[&id].as_ref().clone();
                added.entry.tags = theirs.tags;
                added.entry.settings = theirs.settings;
                self.put(added);
            }
        }
    }

    /// A file that lost its entry and stays on disk: an untracked file
    /// (when under the asset roots and not excluded, by the manifest this
    /// reconcile leaves).
    fn untrack_leftover(&mut self, path: &str) {
        let manifest = self.reconcile.manifest.clone().unwrap_or_else(|| self.snap.manifest.clone());
        let tracked = manifest.under_roots(path) && !manifest.is_excluded(path);
        if !tracked || self.by_path.contains_key(path) || self.disk(path) != DiskEntry::File {
            return;
        }
        if let Some(obs) = self.look(path, Kind::of_path(path)) {
            self.untracked.insert(path.to_string(), Untracked { hash: obs.hash, size: obs.size });
        }
    }

    /// Removes the file at `copy`, a path that lost a conflict, when it
    /// holds exactly what the winner's file at `kept` holds; otherwise it
    /// stays (and shows as untracked once the conflict is gone).
    fn remove_copy(&mut self, copy: &str, kept: &str) {
        if copy == kept || self.by_path.contains_key(copy) || self.disk(copy) != DiskEntry::File {
            return;
        }
        let a = self.look(copy, Kind::of_path(copy)).map(|o| o.hash);
        let b = self.look(kept, Kind::of_path(kept)).map(|o| o.hash);
        if a.is_some() && a == b {
            self.untracked.remove(copy);
            self.plan_delete(copy);
        } else {
            let msg = format!("`{copy}` does not hold what `{kept}` holds, so it stays (as an untracked file)");
            self.warn("copyKept", msg, None, Some(copy));
        }
    }

    /// A registered asset whose file is now at `to`: keep its identity.
    fn relink(&mut self, asset: &Asset, to: &str) {
        if self.by_path.contains_key(to) {
            self.block("targetExists", format!("`{to}` is already registered"), Some(asset.id()), Some(to));
            return;
        }
        if self.disk(to) != DiskEntry::File {
            self.block("notFound", format!("there is no file at `{to}`"), Some(asset.id()), Some(to));
            return;
        }
        let kind = Kind::of_path(to);
        let Some(obs) = self.look(to, kind) else {
            self.block("notFound", format!("`{to}` cannot be read"), Some(asset.id()), Some(to));
            return;
        };
        if obs.hash != asset.entry.hash {
            let msg = format!(
                "`{to}` does not hold the content registered for `{}`; its new content is adopted",
                asset.path()
            );
            self.warn("contentDiffers", msg, Some(asset.id()), Some(to));
        }
        let mut entry = asset.entry.clone();
        entry.path = to.into();
        entry.kind = kind;
        entry.hash = obs.hash;
        entry.size = obs.size;
        self.untracked.remove(to);
        self.remove(asset);
        self.put(Asset::from_observation(entry, Some(obs)));
        self.moved.insert(asset.entry.id.clone());
        self.relinked.insert(asset.entry.id.clone());
    }

    /// Adds an exclude for `path` to the manifest (written at apply).
    fn ignore(&mut self, path: &str) {
        let current = match &self.reconcile.manifest_text {
            Some(t) => t.clone(),
            None => std::fs::read_to_string(self.root.join(MANIFEST_FILE)).unwrap_or_default(),
        };
        let mut doc: toml_edit::DocumentMut = match current.parse() {
            Ok(d) => d,
            Err(e) => {
                self.block(
                    "manifestInvalid",
                    format!("{MANIFEST_FILE} cannot be edited: {e}"),
                    None,
                    Some(MANIFEST_FILE),
                );
                return;
            }
        };
        let assets = doc.entry("assets").or_insert(toml_edit::table());
        let Some(table) = assets.as_table_like_mut() else {
            self.block("manifestInvalid", format!("`assets` in {MANIFEST_FILE} is not a table"), None, None);
            return;
        };
        let exclude = table.entry("exclude").or_insert(toml_edit::value(toml_edit::Array::new()));
        let Some(array) = exclude.as_array_mut() else {
            self.block("manifestInvalid", format!("`assets.exclude` in {MANIFEST_FILE} is not an array"), None, None);
            return;
        };
        // A glob that matches exactly this path.
        let pattern = globset::escape(path);
        array.push(pattern.as_str());
        let text = doc.to_string();
        match Manifest::parse(&text, MANIFEST_FILE) {
            Ok(m) => {
                self.untracked.remove(path);
                self.reconcile.manifest_hash = Some(registry::content_hash(text.as_bytes()));
                self.reconcile.manifest = Some(Arc::new(m));
                self.reconcile.manifest_text = Some(text.clone());
                self.steps.retain(|s| !matches!(s, Step::WriteManifest { .. }));
                self.steps.push(Step::WriteManifest { text });
            }
            Err(e) => self.block("manifestInvalid", format!("the edited manifest would not load: {e}"), None, None),
        }
    }

    /// The registry file on disk wins: the snapshot is rebuilt from it.
    fn reload_registry(&mut self) {
        let Some(change) = self.external.registry.clone() else { return };
        let parsed = match &change.parsed {
            Ok(p) => p.clone(),
            Err(e) => {
                let msg = format!("the registry file cannot be reloaded: {e}");
                self.block("registryInvalid", msg, None, Some(registry::REGISTRY_FILE));
                return;
            }
        };
        let old: Vec<Arc<Asset>> = self.assets.values().cloned().collect();
        for a in &old {
            self.remove_entry(a);
        }
        for e in parsed.entries.iter() {
            let obs = self.look(&e.path, e.kind);
            self.untracked.remove(&*e.path);
            self.put_entry(Asset::from_observation(e.clone(), obs));
        }
        // Files the old registry named and the new one does not are untracked now.
        for a in old {
            self.untrack_leftover(a.path());
        }
        self.conflicts = parsed.conflicts.clone();
        self.external.registry = None;
        self.reconcile.reloaded_registry = Some(change.hash);
    }

    /// `packer.toml` on disk wins: reload it and look at the roots again.
    fn reload_manifest(&mut self) {
        let text = std::fs::read_to_string(self.root.join(MANIFEST_FILE)).unwrap_or_default();
        let manifest = match Manifest::parse(&text, MANIFEST_FILE) {
            Ok(m) => Arc::new(m),
            Err(e) => {
                self.block(
                    "manifestInvalid",
                    format!("packer.toml cannot be reloaded: {e}"),
                    None,
                    Some(MANIFEST_FILE),
                );
                return;
            }
        };
        let files = workspace::scan(self.root, &manifest).into_paths();
        let mut untracked = imbl::OrdMap::new();
        for p in files {
            if self.by_path.contains_key(p.as_str()) {
                continue;
            }
            if let Some(obs) = self.look(&p, Kind::of_path(&p)) {
                untracked.insert(p, Untracked { hash: obs.hash, size: obs.size });
            }
        }
        self.untracked = untracked;
        self.external.manifest_changed = false;
        self.reconcile.manifest_hash = Some(registry::content_hash(text.as_bytes()));
        self.reconcile.manifest = Some(manifest);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_resolution_the_planner_accepts_has_a_name_in_the_protocol() {
        use ItemKind as K;
        let kinds = [K::Modified, K::Missing, K::Untracked, K::Moved, K::RegistryChanged, K::ManifestChanged];
        let kinds = kinds.into_iter().chain([K::RegistryConflict]);
        for kind in kinds {
            // A new kind of item does not compile here until it is listed above.
            match kind {
                K::Modified | K::Missing | K::Untracked | K::Moved => {}
                K::RegistryChanged | K::ManifestChanged | K::RegistryConflict => {}
            }
            // (`conflict_resolutions` gives some of `resolutions_for(RegistryConflict)`.)
            for resolution in resolutions_for(kind) {
                assert!(resolution_name(resolution).is_some(), "`{resolution}` (of a {} item)", kind.as_str());
            }
        }
        assert!(resolution_name("adopted").is_none());
    }
}
