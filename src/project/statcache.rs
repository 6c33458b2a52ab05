//! The stat cache: what a file was, keyed by what `stat` says of it.
//!
//! Re-opening a project must not re-read every asset. Each entry keeps the
//! file's size, modification time and inode with what reading it gave
//! (hash, metadata, problems); when `stat` still says the same, the entry is
//! used and the file is not read. Entries recorded within a moment of the
//! file's modification are not trusted ("racy" entries, as git calls them):
//! the file could change again within the clock's granularity.
//! The cache lives in `.packer/statcache.jsonl`; a missing or damaged cache is
//! only slower, never wrong.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use super::sandbox::{FileStat, Sandbox};
use super::workspace::{self, Kind, Observed, Scan};

/// An entry recorded less than this after the file's mtime is not trusted.
const RACY_NS: i128 = 50_000_000;

/// What `stat` says of a file (its size, modification time and inode).
type Stat = FileStat;

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Entry {
    path: String,
    kind: Kind,
    stat: Stat,
    recorded_ns: i128,
    observed: Observed,
}

/// How an observation went, for the open result and the benchmarks.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ObserveStats {
    /// Files read and hashed.
    pub hashed: usize,
    /// Files whose cached observation was used.
    pub cached: usize,
    /// Files that were not there.
    pub missing: usize,
}

pub struct StatCache {
    file: PathBuf,
    entries: HashMap<String, Entry>,
    dirty: bool,
}

fn now_ns() -> i128 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos() as i128)
}

impl StatCache {
    /// Loads the cache of a project (empty when absent or unreadable).
    pub fn load(state_dir: &Path) -> StatCache {
        let file = state_dir.join("statcache.jsonl");
        let mut entries = HashMap::new();
        if let Ok(text) = std::fs::read_to_string(&file) {
            for line in text.lines() {
                // A damaged line is only a miss.
                if let Ok(e) = serde_json::from_str::<Entry>(line) {
                    entries.insert(e.path.clone(), e);
                }
            }
        }
        StatCache { file, entries, dirty: false }
    }

    /// Writes the cache back if it changed (atomically, like every file we write).
    pub fn save(&mut self) {
        if !self.dirty {
            return;
        }
        let mut text = String::with_capacity(self.entries.len() * 256);
        let mut paths: Vec<&String> = self.entries.keys().collect();
        paths.sort();
        for p in paths {
            text.push_str(&serde_json::to_string(&self.entries[p]).expect("a cache entry serialises"));
            text.push('\n');
        }
        match crate::fsutil::write_atomic(&self.file, text.as_bytes()) {
            Ok(()) => self.dirty = false,
            Err(e) => tracing::warn!(error = %e, "cannot save the stat cache; the next open will be slower"),
        }
    }

    fn cached(&self, rel: &str, kind: Kind, stat: &Stat) -> Option<&Observed> {
        let e = self.entries.get(rel)?;
        let trusted = e.kind == kind && &e.stat == stat && e.recorded_ns - stat.mtime_ns >= RACY_NS;
        trusted.then_some(&e.observed)
    }

    fn record(&mut self, rel: &str, kind: Kind, stat: Stat, observed: &Observed) {
        let entry = Entry { path: rel.to_string(), kind, stat, recorded_ns: now_ns(), observed: observed.clone() };
        self.entries.insert(rel.to_string(), entry);
        self.dirty = true;
    }

    /// Follows a file the packer itself renamed (a rename keeps its stat).
    pub fn rename(&mut self, from: &str, to: &str) {
        if let Some(mut e) = self.entries.remove(from) {
            e.path = to.to_string();
            self.entries.insert(to.to_string(), e);
            self.dirty = true;
        }
    }

    /// Drops the entry of a path (it is gone, or no longer ours to know).
    pub fn forget(&mut self, rel: &str) {
        if self.entries.remove(rel).is_some() {
            self.dirty = true;
        }
    }

    /// Observes many files: from the cache when `stat` allows, otherwise read
    /// on all cores. `None` for a file that does not exist (or is not a
    /// regular file).
    pub fn observe_many(&mut self, root: &Path, items: &[(String, Kind)]) -> (Vec<Option<Observed>>, ObserveStats) {
        // Stat beneath the root, as reads are: a path through a symlink is
        // not a file of the project, cached or not.
        let Ok(sandbox) = Sandbox::open(root) else {
            let stats = ObserveStats { missing: items.len(), ..ObserveStats::default() };
            return (vec![None; items.len()], stats);
        };
        self.observe_many_in(&sandbox, items, None)
    }

    /// [`StatCache::observe_many`] through an open sandbox. A file that
    /// `walked` found is not stat'ed again: the walk's own `stat` (beneath
    /// the root, moments ago) is used.
    pub fn observe_many_in(
        &mut self,
        sandbox: &Sandbox,
        items: &[(String, Kind)],
        walked: Option<&Scan>,
    ) -> (Vec<Option<Observed>>, ObserveStats) {
        let mut stats = ObserveStats::default();
        let mut out: Vec<Option<Observed>> = vec![None; items.len()];
        let mut to_read: Vec<(usize, Stat)> = Vec::new();
        for (i, (rel, kind)) in items.iter().enumerate() {
            let stat = match walked.and_then(|w| w.stat(rel)) {
                Some(stat) => stat,
                None => match sandbox.metadata(rel) {
                    Ok(m) if m.is_file() => Stat::of(&m),
                    _ => {
                        stats.missing += 1;
                        continue;
                    }
                },
            };
            match self.cached(rel, *kind, &stat) {
                Some(obs) => {
                    out[i] = Some(obs.clone());
                    stats.cached += 1;
                }
                None => to_read.push((i, stat)),
            }
        }
        let wanted: Vec<(String, Kind)> = to_read.iter().map(|(i, _)| items[*i].clone()).collect();
        let read = workspace::inspect_many_in(sandbox, &wanted);
        for ((i, stat), result) in to_read.into_iter().zip(read) {
            match result {
                Ok(obs) => {
                    stats.hashed += 1;
                    // Record with the stat taken before reading: if the file
                    // changed while it was read, the next stat will differ.
                    self.record(&items[i].0, items[i].1, stat, &obs);
                    out[i] = Some(obs);
                }
                Err(_) => stats.missing += 1,
            }
        }
        (out, stats)
    }

    /// Observes one file.
    pub fn observe(&mut self, root: &Path, rel: &str, kind: Kind) -> Option<Observed> {
        self.observe_many(root, &[(rel.to_string(), kind)]).0.pop().flatten()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unchanged_files_are_not_read_again_and_changed_ones_are() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::write(root.join("a.txt"), "one").unwrap();
        let old = std::time::SystemTime::now() - std::time::Duration::from_secs(10);
        std::fs::File::options().write(true).open(root.join("a.txt")).unwrap().set_modified(old).unwrap();
        let items = vec![("a.txt".to_string(), Kind::Text), ("gone.txt".to_string(), Kind::Text)];
        let mut cache = StatCache::load(root);
        let (obs, stats) = cache.observe_many(root, &items);
        assert_eq!(stats, ObserveStats { hashed: 1, cached: 0, missing: 1 });
        assert!(obs[1].is_none());
        cache.save();
        let mut cache = StatCache::load(root);
        let (again, stats) = cache.observe_many(root, &items);
        assert_eq!(stats, ObserveStats { hashed: 0, cached: 1, missing: 1 });
        assert_eq!(again[0], obs[0]);
        std::fs::write(root.join("a.txt"), "two!").unwrap();
        let (_, stats) = cache.observe_many(root, &items);
        assert_eq!(stats.hashed, 1);
    }

    #[test]
    fn racy_entries_are_not_trusted() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.txt"), "fresh").unwrap();
        let mut cache = StatCache::load(dir.path());
        let items = vec![("a.txt".to_string(), Kind::Text)];
        cache.observe_many(dir.path(), &items);
        let (_, stats) = cache.observe_many(dir.path(), &items);
        assert_eq!(stats.hashed, 1, "a file modified just before it was recorded is read again");
    }
}
