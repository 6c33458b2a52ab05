//! Looking at the disk again: turn what the watcher (or a rescan) reports
//! into explicit divergence, never into a silent repair.
//!
//! Runs only in the lane, between operations, so it compares the disk with a
//! snapshot that no mutation is half-way through. The packer's own writes
//! are already in the snapshot when their watcher events are looked at, so
//! they compare equal and vanish without a trace: that is how our own writes
//! are told from everyone else's.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;

use super::baseline::RegistryOnDisk;
use super::disk::workspace::{self, Walked};
use super::format::manifest::{Manifest, MANIFEST_FILE};
use super::format::registry::{self, REGISTRY_FILE};
use super::model::{Asset, Kind, Status};
use super::snapshot::divergence::{External, Item, Untracked};
use super::snapshot::{Contents, Snapshot};
use super::{paths, DiskKnowledge, Project};
use crate::hash::ContentHash;

/// Looks at `paths` (relative; all of the workspace when `None`) and
/// publishes a new snapshot, with divergence events, when anything differs.
pub fn observe(project: &Arc<Project>, paths: Option<&BTreeSet<String>>) {
    // A source-control operation is in progress: its end looks at
    // everything once (see `external.rs`).
    if project.external.holding() {
        tracing::debug!(project = %project.id, "a look at the disk is held for an external change");
        return;
    }
    let snap = project.snapshot();
    // A full look stats files in its walk; they are not stat'ed again.
    let scan = paths.is_none().then(|| workspace::scan_in(&project.sandbox, &snap.manifest));
    let walked = scan.as_ref().map(workspace::Scan::stats);
    let wanted = match (paths, &scan, &walked) {
        (None, Some(scan), Some(walked)) => changed_in_walk(project, &snap.contents, scan, walked),
        (Some(paths), _, _) => named(&project.root, &snap.contents, paths),
        (None, _, _) => unreachable!("a full look has walked the workspace"),
    };
    // The project is closing: nobody will read what this look would find.
    if project.lane.is_stopping() {
        return;
    }
    let mut look = Look {
        project,
        manifest: &snap.manifest,
        walked: walked.as_ref(),
        contents: snap.contents.clone(),
        found: Found::default(),
    };
    let external = {
        let mut disk = project.disk();
        look.registered(&mut disk, &wanted.files);
        look.others(&mut disk, &wanted.files);
        look.own_files(&disk, &wanted)
    };
    look.publish(&snap, external, paths.is_none());
}

/// The files a look reads.
#[derive(Default)]
struct Wanted {
    /// Asset files, registered or not (relative).
    files: BTreeSet<String>,
    /// The registry file.
    registry: bool,
    /// `packer.toml`.
    manifest: bool,
}

/// A full look: only the files that may differ from the snapshot, and every
/// file the snapshot has that the walk did not find.
fn changed_in_walk(project: &Project, contents: &Contents, scan: &workspace::Scan, walked: &Walked<'_>) -> Wanted {
    let mut files: BTreeSet<String> = BTreeSet::new();
    // A file whose `stat` still matches the stat cache's entry, and whose
    // entry says what the snapshot says, is as the snapshot has it: only the
    // others are looked at, so a look at an unchanged workspace costs its
    // walk and little more.
    {
        let disk = project.disk();
        for (p, stat) in &scan.files {
            if !held_hash(contents, p).is_some_and(|hash| disk.cache.unchanged(p, stat, hash)) {
                files.insert(p.clone());
            }
        }
    }
    let gone = |p: &&str| !walked.contains_key(*p);
    files.extend(contents.by_path.keys().map(|p| &**p).filter(gone).map(str::to_string));
    files.extend(contents.untracked.keys().map(String::as_str).filter(gone).map(str::to_string));
    Wanted { files, registry: true, manifest: true }
}

/// The hash the snapshot holds for the file at `p`: the cache may know
/// newer (an apply re-checks files through it and, blocked, publishes
/// nothing), and then it is looked at.
fn held_hash(contents: &Contents, p: &str) -> Option<ContentHash> {
    match contents.by_path.get(p) {
        Some(id) => contents.assets.get(id).filter(|a| a.status != Status::Missing).map(|a| a.hash_on_disk()),
        None => contents.untracked.get(p).map(|u| u.hash),
    }
}

/// A look at `paths`, each with everything under it.
fn named(root: &Path, contents: &Contents, paths: &BTreeSet<String>) -> Wanted {
    let mut wanted = Wanted::default();
    for p in paths {
        match p.as_str() {
            REGISTRY_FILE => wanted.registry = true,
            MANIFEST_FILE => wanted.manifest = true,
            _ => {
                wanted.files.insert(p.clone());
                everything_under(root, contents, p, &mut wanted.files);
            }
        }
    }
    wanted
}

/// A folder renamed, removed or copied in: everything under `p` the
/// snapshot has (a range of the sorted maps, not a scan of them), and every
/// file under it on disk.
fn everything_under(root: &Path, contents: &Contents, p: &str, files: &mut BTreeSet<String>) {
    let prefix = format!("{p}/");
    let under = |k: &&str| k.starts_with(&prefix);
    let range = (std::ops::Bound::Included(prefix.as_str()), std::ops::Bound::Unbounded);
    let registered = contents.by_path.range::<_, str>(range).map(|(k, _)| &**k);
    files.extend(registered.take_while(under).map(str::to_string));
    let range = (std::ops::Bound::Included(prefix.as_str()), std::ops::Bound::Unbounded);
    let untracked = contents.untracked.range::<_, str>(range).map(|(k, _)| k.as_str());
    files.extend(untracked.take_while(under).map(str::to_string));
    let abs = paths::absolute(root, p);
    if abs.is_dir() {
        let walk = walkdir::WalkDir::new(&abs).follow_links(false).follow_root_links(false);
        for entry in walk.into_iter().flatten() {
            if entry.file_type().is_file() {
                if let Some(rel) = paths::relative_of(root, entry.path()) {
                    files.insert(rel);
                }
            }
        }
    }
}

/// What a look found different from the snapshot.
#[derive(Default)]
struct Found {
    /// Whether anything differs: most looks (the packer's own writes coming
    /// back from the watcher) find nothing, and must then cost nothing more.
    changed: bool,
    /// The files found different (see [`look_again_later`]).
    paths: Vec<String>,
    /// The registered assets found different (their references may be).
    touched: Vec<Arc<str>>,
}

/// One look at the disk: the snapshot's contents, updated with what it finds.
struct Look<'a> {
    project: &'a Arc<Project>,
    manifest: &'a Arc<Manifest>,
    /// What the walk of a full look said of each file.
    walked: Option<&'a Walked<'a>>,
    contents: Contents,
    found: Found,
}

impl Look<'_> {
    /// Registered files: what they are now.
    fn registered(&mut self, disk: &mut DiskKnowledge, files: &BTreeSet<String>) {
        let contents = &mut self.contents;
        let registered: Vec<(String, Kind, Arc<str>)> = files
            .iter()
            .filter_map(|p| {
                let id = contents.by_path.get(p.as_str())?;
                Some((p.clone(), contents.assets[id].entry.kind, id.clone()))
            })
            .collect();
        let items: Vec<(String, Kind)> = registered.iter().map(|(p, k, _)| (p.clone(), *k)).collect();
        let (observed, _) = disk.cache.observe_many_in(&self.project.sandbox, &items, self.walked);
        for ((path, _, id), obs) in registered.iter().zip(observed) {
            let current = &contents.assets[id];
            let fresh = Asset::from_observation(current.entry.clone(), obs);
            if &fresh != current.as_ref() {
                contents.assets.insert(id.clone(), Arc::new(fresh));
                self.found.touched.push(id.clone());
                self.found.changed = true;
                self.found.paths.push(path.clone());
            }
        }
    }

    /// Everything else under the asset roots: untracked, or nothing. Only
    /// files the workspace tracks are read: the build's own output folder
    /// reported by the watcher must not mean hashing every pack.
    fn others(&mut self, disk: &mut DiskKnowledge, files: &BTreeSet<String>) {
        let (contents, found, manifest) = (&mut self.contents, &mut self.found, self.manifest);
        let (others, elsewhere): (Vec<&String>, Vec<&String>) = files
            .iter()
            .filter(|p| !contents.by_path.contains_key(p.as_str()))
            .partition(|p| manifest.under_roots(p) && !manifest.is_excluded(p));
        for path in elsewhere {
            disk.cache.forget(path);
            found.changed |= contents.untracked.remove(path).is_some();
        }
        let others: Vec<(String, Kind)> = others.into_iter().map(|p| (p.clone(), Kind::of_path(p))).collect();
        let (observed, _) = disk.cache.observe_many_in(&self.project.sandbox, &others, self.walked);
        for ((path, _), obs) in others.into_iter().zip(observed) {
            match obs {
                Some(o) => {
                    let u = Untracked { hash: o.hash, size: o.size };
                    if contents.untracked.get(&path) != Some(&u) {
                        found.paths.push(path.clone());
                        contents.untracked.insert(path, u);
                        found.changed = true;
                    }
                }
                _ => {
                    disk.cache.forget(&path);
                    found.changed |= contents.untracked.remove(&path).is_some();
                }
            }
        }
    }

    /// The project's own files: whether someone else changed them since the
    /// packer last wrote or read them.
    fn own_files(&self, disk: &DiskKnowledge, wanted: &Wanted) -> External {
        let root = &self.project.root;
        let mut external = self.contents.external.as_ref().clone();
        if wanted.registry {
            let bytes = std::fs::read(root.join(REGISTRY_FILE)).unwrap_or_default();
            let hash = registry::content_hash(&bytes);
            external.registry = (hash != disk.registry_hash)
                .then(|| {
                    let parsed = registry::parse_bytes(&bytes, REGISTRY_FILE).map(Arc::new).map_err(|e| e.to_string());
                    super::baseline::registry_change(Some(RegistryOnDisk { parsed, hash }), &self.contents.assets)
                })
                .flatten();
        }
        if wanted.manifest {
            let bytes = std::fs::read(root.join(MANIFEST_FILE)).unwrap_or_default();
            external.manifest_changed = registry::content_hash(&bytes) != disk.manifest_hash;
        }
        external
    }

    /// Publishes what the look found, when anything differs. `full`: a look
    /// at the whole workspace, which looks again later at what it found.
    fn publish(self, snap: &Snapshot, external: External, full: bool) {
        let Look { project, manifest, mut contents, found, .. } = self;
        // A registry changed by someone else is rare: then the whole divergence
        // is computed and compared.
        let external_changed = external.registry.is_some()
            || contents.external.registry.is_some()
            || external.manifest_changed != contents.external.manifest_changed;
        if !found.changed && !external_changed {
            return;
        }
        contents.external = Arc::new(external);
        contents.graph = snap.contents.graph.update(&snap.contents.maps(), &contents.maps(), &found.touched);
        let next = Snapshot::new(snap.generation + 1, manifest.clone(), contents, snap.project_diagnostics.clone());
        if next.divergence == snap.divergence && !found.changed {
            return;
        }
        project.publish(snap, next, None);
        if full && !found.paths.is_empty() {
            look_again_later(project, found.paths);
        }
    }
}

/// The watcher folds a file created and removed within one debounce
/// window into no event at all. A full look that ran inside such a window
/// saw the file, and no event would ever say it is gone: so what a full
/// look found different is looked at once more after the window.
fn look_again_later(project: &Arc<Project>, paths: Vec<String>) {
    let project = Arc::downgrade(project);
    let spawned = std::thread::Builder::new().name("packer-look-again".into()).spawn(move || {
        std::thread::sleep(super::watcher::DEBOUNCE * 3);
        if let Some(p) = project.upgrade() {
            p.observe(Some(paths.into_iter().collect()));
        }
    });
    if let Err(e) = spawned {
        tracing::debug!(error = %e, "cannot schedule a second look");
    }
}

/// Items that are new or changed, and ids of items that are gone.
pub(super) fn item_changes(before: &[Item], after: &[Item]) -> (Vec<Item>, Vec<String>) {
    let old: std::collections::HashMap<&str, &Item> = before.iter().map(|i| (i.id.as_str(), i)).collect();
    let new: std::collections::HashSet<&str> = after.iter().map(|i| i.id.as_str()).collect();
    let detected = after.iter().filter(|a| old.get(a.id.as_str()) != Some(a)).cloned().collect();
    let cleared = before.iter().filter(|b| !new.contains(b.id.as_str())).map(|b| b.id.clone()).collect();
    (detected, cleared)
}
