//! Divergence: every difference between the workspace on disk and the
//! packer's registry, as explicit items. Computed in one place,
//! [`compute`], from a snapshot's contents; nothing here changes anything.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use imbl::OrdMap;
use serde::Serialize;
use serde_json::{json, Value};

use super::graph::{Graph, Maps};
use crate::hash::ContentHash;
use crate::project::format::registry::{Conflict, ConflictKind, Parsed};
use crate::project::model::{Asset, Entry, Status};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, serde::Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum ItemKind {
    Modified,
    Missing,
    Untracked,
    Moved,
    RegistryChanged,
    ManifestChanged,
    RegistryConflict,
}

impl ItemKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ItemKind::Modified => "modified",
            ItemKind::Missing => "missing",
            ItemKind::Untracked => "untracked",
            ItemKind::Moved => "moved",
            ItemKind::RegistryChanged => "registryChanged",
            ItemKind::ManifestChanged => "manifestChanged",
            ItemKind::RegistryConflict => "registryConflict",
        }
    }
}

/// One difference between disk and registry.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(deny_unknown_fields)]
pub struct Item {
    /// Stable while the difference lasts: derived from its kind and path.
    #[schemars(with = "crate::protocol::model::DivergenceId")]
    pub id: String,
    pub kind: ItemKind,
    #[schemars(with = "crate::protocol::model::RelativePath")]
    pub path: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<crate::protocol::model::AssetId>")]
    pub asset_id: Option<String>,
    /// What differs, by kind (see protocol/README.md, "Divergence").
    #[schemars(with = "serde_json::Map<String, Value>")]
    pub detail: Value,
}

fn item(kind: ItemKind, path: &str, asset_id: Option<&str>, detail: Value) -> Item {
    item_keyed(kind, path, path, asset_id, detail)
}

/// An item whose id is derived from `key` rather than its path.
fn item_keyed(kind: ItemKind, key: &str, path: &str, asset_id: Option<&str>, detail: Value) -> Item {
    Item { id: item_id(kind, key), kind, path: path.to_string(), asset_id: asset_id.map(str::to_string), detail }
}

fn item_id(kind: ItemKind, key: &str) -> String {
    let hash = blake3::hash(format!("{}\0{key}", kind.as_str()).as_bytes());
    format!("d-{}", &hash.to_hex()[..16])
}

/// A file under the asset roots that is not registered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Untracked {
    pub hash: ContentHash,
    pub size: u64,
}

/// The registry file on disk no longer holds what the packer last wrote or read.
#[derive(Debug, Clone)]
pub struct RegistryChange {
    /// What the file holds now, or why it cannot be read.
    pub parsed: Result<Arc<Parsed>, String>,
    /// The hash of the file's bytes when this was seen.
    pub hash: String,
    pub detail: Value,
}

/// Differences that are about the project's own files rather than assets.
#[derive(Debug, Clone, Default)]
pub struct External {
    pub registry: Option<RegistryChange>,
    /// `packer.toml` changed since it was loaded.
    pub manifest_changed: bool,
}

/// The resolutions each kind of item accepts; the first is the default.
pub fn resolutions_for(kind: ItemKind) -> &'static [&'static str] {
    match kind {
        ItemKind::Modified => &["adopt"],
        ItemKind::Missing => &["drop", "relink"],
        ItemKind::Untracked => &["register", "ignore"],
        ItemKind::Moved => &["move"],
        ItemKind::RegistryChanged => &["reload", "keep"],
        ItemKind::ManifestChanged => &["reload"],
        // Accepted per record: see `conflict_resolutions`.
        ItemKind::RegistryConflict => &["ours", "theirs", "both"],
    }
}

/// The resolutions a conflict record accepts. A side is always chosen by a
/// person: a reconcile without `items` leaves conflicts as they are. `both`
/// only where both sides can stand: an asset moved to two paths stays at
/// ours, and the file at theirs becomes a new asset.
pub fn conflict_resolutions(c: &Conflict) -> &'static [&'static str] {
    if split_move(c).is_some() {
        &["ours", "theirs", "both"]
    } else {
        &["ours", "theirs"]
    }
}

/// Our and their entry of an asset the two sides moved to different paths.
pub fn split_move(c: &Conflict) -> Option<(&Entry, &Entry)> {
    match (c.conflict, c.ours.as_slice(), c.theirs.as_slice()) {
        (ConflictKind::Field, [o], [t]) if o.path != t.path && o.id == t.id => Some((o, t)),
        _ => None,
    }
}

/// The item of one conflict record: keyed by the record itself (two
/// records may name one path), at the path our side has (else theirs',
/// else the ancestor's); `detail` is the record and the resolutions it
/// accepts.
fn conflict_item(c: &Conflict) -> Item {
    let mut detail = serde_json::to_value(c).expect("a conflict record serialises");
    let key = detail.to_string();
    let first = c.ours.first().or(c.theirs.first()).or(c.base.first());
    let path = first.map_or(crate::project::format::registry::REGISTRY_FILE, |e| &*e.path);
    detail["resolutions"] = json!(conflict_resolutions(c));
    item_keyed(ItemKind::RegistryConflict, &key, path, first.map(|e| &*e.id), detail)
}

/// The id of a conflict record's item (the key `conflict_item` uses, without
/// building the item).
pub fn conflict_item_id(c: &Conflict) -> String {
    let record = serde_json::to_value(c).expect("a conflict record serialises");
    item_id(ItemKind::RegistryConflict, &record.to_string())
}

/// What differs between the registry in the snapshot and `disk`, by asset id.
/// `conflicts` counts the conflict records the file holds.
pub fn registry_diff(current: &OrdMap<Arc<str>, Arc<Asset>>, disk: &Parsed) -> Value {
    let disk_by_id: BTreeMap<&str, &Entry> = disk.entries.iter().map(|e| (&*e.id, e)).collect();
    let mut added = Vec::new();
    let mut changed = Vec::new();
    for (id, e) in &disk_by_id {
        match current.get(*id) {
            None => added.push(json!({ "assetId": id, "path": e.path })),
            Some(a) if &a.entry != *e => {
                let mut fields = Vec::new();
                let before = &a.entry;
                if before.path != e.path {
                    fields.push("path");
                }
                if before.hash != e.hash || before.size != e.size {
                    fields.push("content");
                }
                if before.kind != e.kind {
                    fields.push("kind");
                }
                if before.tags != e.tags {
                    fields.push("tags");
                }
                if before.settings != e.settings {
                    fields.push("settings");
                }
                changed.push(json!({ "assetId": id, "fields": fields, "before": before.path, "after": e.path }));
            }
            Some(_) => {}
        }
    }
    let removed: Vec<Value> = current
        .iter()
        .filter(|(id, _)| !disk_by_id.contains_key(&***id))
        .map(|(id, a)| json!({ "assetId": id, "path": a.entry.path }))
        .collect();
    json!({ "added": added, "removed": removed, "changed": changed, "conflicts": disk.conflicts.len() })
}

/// Every divergence item of a snapshot's contents, in a stable order.
/// A missing asset whose content sits, untracked, at another path is one
/// `moved` item instead of a `missing` and an `untracked`.
/// `diverging` is every modified or missing asset, in any order (the one
/// walk of the map that counts a snapshot finds them).
/// Each conflict record of the registry is one `registryConflict` item,
/// which stands for every asset the record names and every file its sides
/// have: they get no item of their own until it is resolved (git leaves a
/// file at both paths of a conflicting move; the conflict, not an
/// `untracked` item, says why).
/// A `missing` item says how many references name the asset (`usedBy`):
/// dropping it would break them, and a reconcile that does is blocked.
pub fn compute(
    mut diverging: Vec<&Arc<Asset>>,
    maps: &Maps<'_>,
    graph: &Graph,
    untracked: &OrdMap<String, Untracked>,
    external: &External,
    conflicts: &[Conflict],
) -> Vec<Item> {
    let by_path = maps.by_path;
    let mut items = Vec::new();
    if let Some(change) = &external.registry {
        items.push(item(
            ItemKind::RegistryChanged,
            crate::project::format::registry::REGISTRY_FILE,
            None,
            change.detail.clone(),
        ));
    }
    if external.manifest_changed {
        items.push(item(ItemKind::ManifestChanged, crate::project::format::manifest::MANIFEST_FILE, None, json!({})));
    }
    let mut covered_ids: HashSet<&str> = HashSet::new();
    let mut covered_paths: HashSet<&str> = HashSet::new();
    for c in conflicts {
        items.push(conflict_item(c));
        for e in c.base.iter().chain(&c.ours).chain(&c.theirs) {
            covered_ids.insert(&e.id);
        }
        // The files either side has (not the ancestor's paths, which an
        // unrelated file may have taken since).
        for e in c.ours.iter().chain(&c.theirs) {
            covered_paths.insert(&e.path);
        }
    }
    let mut by_hash: HashMap<ContentHash, Vec<&str>> = HashMap::new();
    for (path, u) in untracked {
        if !covered_paths.contains(path.as_str()) {
            by_hash.entry(u.hash).or_default().push(path.as_str());
        }
    }
    let mut paired: HashSet<&str> = HashSet::new();
    // Only modified and missing assets diverge (few, usually): in path order.
    diverging.sort_by(|a, b| a.path().cmp(b.path()));
    for a in diverging {
        let id = a.id();
        if by_path.get(a.path()).map(|i| &**i) != Some(id) || covered_ids.contains(id) {
            continue;
        }
        match a.status {
            Status::Modified => items.push(item(
                ItemKind::Modified,
                a.path(),
                Some(id),
                json!({ "registryHash": a.entry.hash, "diskHash": a.disk_hash }),
            )),
            Status::Missing => {
                let candidate =
                    by_hash.get(&a.entry.hash).and_then(|paths| paths.iter().find(|p| !paired.contains(**p)).copied());
                match candidate {
                    Some(to) => {
                        paired.insert(to);
                        items.push(item(ItemKind::Moved, a.path(), Some(id), json!({ "from": a.path(), "to": to })));
                    }
                    None => {
                        let used_by = graph.used_by_count(maps, id, a.path());
                        items.push(item(ItemKind::Missing, a.path(), Some(id), json!({ "usedBy": used_by })))
                    }
                }
            }
            Status::Ok | Status::Invalid => {}
        }
    }
    for (path, u) in untracked {
        if !paired.contains(&path.as_str()) && !covered_paths.contains(path.as_str()) {
            let kind = crate::project::model::Kind::of_path(path);
            items.push(item(ItemKind::Untracked, path, None, json!({ "hash": u.hash, "size": u.size, "kind": kind })));
        }
    }
    items
}
