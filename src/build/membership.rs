//! Which pack holds which asset: the one place that is decided.
//!
//! A pack of `[[build.packs]]` holds the assets its `include` globs match,
//! and, when it names `roots`, those roots and everything they reference,
//! transitively (the way an engine cooks from its maps): a level as a root
//! brings its sprites, a model as a root its buffers and textures. The
//! references are the snapshot's graph, so membership is a function of the
//! manifest and one snapshot.

use std::collections::HashSet;
use std::sync::Arc;

use crate::project::format::manifest::Manifest;
use crate::project::model::Asset;
use crate::project::snapshot::Snapshot;

/// Each pack's closure of its roots (by asset id), in manifest order.
pub struct Membership {
    closures: Vec<HashSet<Arc<str>>>,
}

impl Membership {
    pub fn new(manifest: &Manifest, snap: &Snapshot) -> Membership {
        let maps = snap.contents.maps();
        let closures = manifest
            .packs
            .iter()
            .map(|def| {
                let mut seen: HashSet<Arc<str>> = HashSet::new();
                if !def.has_roots() {
                    return seen;
                }
                let mut todo: Vec<Arc<str>> = snap
                    .contents
                    .by_path
                    .iter()
                    .filter(|(path, _)| def.is_root(path))
                    .map(|(_, id)| id.clone())
                    .collect();
                while let Some(id) = todo.pop() {
                    if !seen.insert(id.clone()) {
                        continue;
                    }
                    let Some(asset) = snap.contents.assets.get(&id) else { continue };
                    // Cycles end here: an asset already seen is not walked again.
                    todo.extend(asset.references.iter().filter_map(|r| maps.resolve(&r.target)));
                }
                seen
            })
            .collect();
        Membership { closures }
    }

    /// Whether the pack at `index` of the manifest's packs holds `asset`.
    pub fn holds(&self, manifest: &Manifest, index: usize, asset: &Asset) -> bool {
        manifest.packs[index].includes(asset.path()) || self.closures[index].contains(asset.id())
    }

    /// The assets of `assets` that no pack holds, in the order given.
    pub fn unpacked<'a>(&self, manifest: &Manifest, assets: &'a [Arc<Asset>]) -> Vec<&'a Arc<Asset>> {
        assets.iter().filter(|a| !(0..manifest.packs.len()).any(|i| self.holds(manifest, i, a))).collect()
    }
}
