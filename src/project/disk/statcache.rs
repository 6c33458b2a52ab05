//! The stat cache: what a file was, keyed by what `stat` says of it.
//!
//! Re-opening a project must not re-read every asset. Each entry keeps the
//! file's size, modification time and inode with what reading it gave
//! (hash, metadata, problems); when `stat` still says the same, the entry is
//! used and the file is not read. Entries recorded within a moment of the
//! file's modification are not trusted ("racy" entries, as git calls them):
//! the file could change again within the clock's granularity.
//! The cache lives in `.packer/statcache.bin`, in a compact binary form of
//! its own (it is read on every open, and parsing a JSON line per file cost
//! more than walking the workspace); a missing or damaged cache is only
//! slower, never wrong.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;

use super::sandbox::{FileStat, Sandbox};
use super::workspace::{self, Walked};
use crate::hash::ContentHash;
use crate::project::model::{Kind, Metadata, Observed};

const FILE: &str = "statcache.bin";

/// An entry recorded less than this after the file's mtime is not trusted.
const RACY_NS: i64 = 50_000_000;

/// What `stat` says of a file (its size, modification time and inode).
type Stat = FileStat;

#[derive(Debug, Clone, PartialEq)]
struct Entry {
    kind: Kind,
    stat: Stat,
    recorded_ns: i64,
    observed: Observed,
}

impl Entry {
    /// Whether this entry still says what a file with `stat` holds: the
    /// stat is exactly the one recorded, and the record is not racy.
    fn holds(&self, stat: &Stat) -> bool {
        &self.stat == stat && settled(stat, self.recorded_ns)
    }
}

/// What `stat` says of `rel` beneath the root (`None`: not a regular file).
fn stat_beneath(sandbox: &Sandbox, rel: &str) -> Option<Stat> {
    sandbox.metadata(rel).ok().filter(|m| m.is_file()).map(|m| Stat::of(&m))
}

/// How the look at the disk went: files read, files known unchanged, files gone.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(deny_unknown_fields)]
pub struct ObserveStats {
    /// Files read and hashed.
    pub hashed: usize,
    /// Files whose cached observation was used.
    pub cached: usize,
    /// Files that were not there.
    pub missing: usize,
}

#[derive(Default)]
pub struct StatCache {
    file: PathBuf,
    /// In path order: an open walks it alongside the sorted walk.
    entries: Entries,
    dirty: bool,
    metadata: SharedMetadata,
}

/// The entries by path: a sorted vector, as read from the file, and what
/// changed since in a map (`None`: removed), folded into the vector when
/// it grows large. Read straight into the vector, the cache is held once
/// (a map built from it would hold it twice while being built: 14 MB at
/// 100,000 files, at an open's peak of memory), and a file that changes
/// costs a map insert, not a shift of the vector.
#[derive(Debug, Default)]
struct Entries {
    base: Vec<(Arc<str>, Entry)>,
    changed: BTreeMap<Arc<str>, Option<Entry>>,
}

impl Entries {
    /// Entries in path order, each path once (as `decode` checks).
    fn sorted(base: Vec<(Arc<str>, Entry)>) -> Entries {
        Entries { base, changed: BTreeMap::new() }
    }

    fn base_index(&self, rel: &str) -> Option<usize> {
        self.base.binary_search_by(|(k, _)| (**k).cmp(rel)).ok()
    }

    fn get_key_value(&self, rel: &str) -> Option<(&Arc<str>, &Entry)> {
        match self.changed.get_key_value(rel) {
            Some((k, e)) => e.as_ref().map(|e| (k, e)),
            None => self.base_index(rel).map(|i| (&self.base[i].0, &self.base[i].1)),
        }
    }

    fn get(&self, rel: &str) -> Option<&Entry> {
        self.get_key_value(rel).map(|(_, e)| e)
    }

    fn insert(&mut self, rel: Arc<str>, entry: Entry) {
        self.changed.insert(rel, Some(entry));
        self.fold_if_large();
    }

    fn remove(&mut self, rel: &str) -> Option<Entry> {
        let in_base = self.base_index(rel);
        match self.changed.get_mut(rel) {
            Some(slot) => {
                let old = slot.take();
                if in_base.is_none() {
                    self.changed.remove(rel);
                }
                old
            }
            None => {
                let (key, entry) = &self.base[in_base?];
                let old = entry.clone();
                self.changed.insert(key.clone(), None);
                Some(old)
            }
        }
    }

    /// Every entry in path order.
    fn iter(&self) -> impl Iterator<Item = (&Arc<str>, &Entry)> {
        let mut base = self.base.iter().map(|(k, e)| (k, e)).peekable();
        let mut changed = self.changed.iter().peekable();
        std::iter::from_fn(move || loop {
            use std::cmp::Ordering;
            let order = match (base.peek(), changed.peek()) {
                (None, None) => return None,
                (Some(_), None) => Ordering::Less,
                (None, Some(_)) => Ordering::Greater,
                (Some((b, _)), Some((c, _))) => (***b).cmp(&***c),
            };
            match order {
                Ordering::Less => return base.next(),
                // Changed since: the change says what it is now.
                Ordering::Equal => drop(base.next()),
                Ordering::Greater => {}
            }
            if let Some((k, Some(e))) = changed.next() {
                return Some((k, e));
            }
        })
    }

    #[cfg(test)]
    fn is_empty(&self) -> bool {
        self.iter().next().is_none()
    }

    /// Folds the changes into the vector once they are many (each fold
    /// is one pass over it; a few changes are cheaper kept aside).
    fn fold_if_large(&mut self) {
        if self.changed.len() <= 1024.max(self.base.len() / 8) {
            return;
        }
        let changed = std::mem::take(&mut self.changed);
        let base = std::mem::take(&mut self.base);
        let mut merged = Vec::with_capacity(base.len() + changed.len());
        let mut changed = changed.into_iter().peekable();
        for (k, e) in base {
            while let Some((c, e)) = changed.next_if(|(c, _)| *c < k) {
                merged.extend(e.map(|e| (c, e)));
            }
            match changed.next_if(|(c, _)| *c == k) {
                Some((c, e)) => merged.extend(e.map(|e| (c, e))),
                None => merged.push((k, e)),
            }
        }
        merged.extend(changed.filter_map(|(c, e)| e.map(|e| (c, e))));
        self.base = merged;
    }
}

impl PartialEq for Entries {
    fn eq(&self, other: &Self) -> bool {
        self.iter().eq(other.iter())
    }
}

/// One `Arc` per distinct metadata value: most assets of a project have the
/// same as many others (every valid JSON file, every 256x256 PNG), and one
/// copy each cost 136 bytes an asset at 100,000 assets.
#[derive(Default)]
pub(crate) struct SharedMetadata(std::collections::HashSet<Arc<Metadata>>);

impl SharedMetadata {
    fn share(&mut self, metadata: Metadata) -> Arc<Metadata> {
        if let Some(known) = self.0.get(&metadata) {
            return known.clone();
        }
        let metadata = Arc::new(metadata);
        self.0.insert(metadata.clone());
        metadata
    }

    fn share_arc(&mut self, metadata: &mut Arc<Metadata>) {
        match self.0.get(&**metadata) {
            Some(known) => *metadata = known.clone(),
            None => {
                self.0.insert(metadata.clone());
            }
        }
    }

    /// Forgets values nothing else holds any more.
    fn prune(&mut self) {
        self.0.retain(|m| Arc::strong_count(m) > 1);
    }
}

/// Whether a record made at `recorded_ns` of a file that `stat` describes
/// can be trusted later: a file modified within a moment of being recorded
/// could change again without its stat changing.
pub fn settled(stat: &Stat, recorded_ns: i64) -> bool {
    recorded_ns - stat.mtime_ns >= RACY_NS
}

/// Now, in nanoseconds since the epoch, as records are stamped.
pub fn now_ns() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
}

impl StatCache {
    /// Loads the cache of a project (empty when absent or damaged).
    pub fn load(state_dir: &Path) -> StatCache {
        // The JSON-lines cache of earlier versions is not read: one open reads
        // every file again, then the binary cache takes over.
        let _ = std::fs::remove_file(state_dir.join("statcache.jsonl"));
        StatCache::read(state_dir)
    }

    /// A cache that knows nothing (and is never saved).
    pub fn empty() -> StatCache {
        StatCache { file: PathBuf::new(), entries: Default::default(), dirty: false, metadata: Default::default() }
    }

    /// Reads the cache of a project and changes nothing on disk (`check`,
    /// which never saves it either).
    pub fn read(state_dir: &Path) -> StatCache {
        let file = state_dir.join(FILE);
        let mut metadata = SharedMetadata::default();
        let entries = std::fs::File::open(&file).ok().and_then(|f| codec::decode(f, &mut metadata)).unwrap_or_default();
        StatCache { file, entries, dirty: false, metadata }
    }

    /// Writes the cache back if it changed (atomically and unsynced: a torn
    /// or lost cache is only an empty one).
    pub fn save(&mut self) {
        self.metadata.prune();
        if !self.dirty {
            return;
        }
        match crate::fsutil::replace_unsynced(&self.file, &codec::encode(&self.entries)) {
            Ok(()) => self.dirty = false,
            Err(e) => tracing::warn!(error = %e, "cannot save the stat cache; the next open will be slower"),
        }
    }

    /// Whether `rel` has a trusted entry recorded with exactly this stat,
    /// and read as `hash`: the file still holds what gave that hash.
    pub fn unchanged(&self, rel: &str, stat: &Stat, hash: ContentHash) -> bool {
        self.entries.get(rel).is_some_and(|e| e.holds(stat) && e.observed.hash == hash)
    }

    fn cached(&self, rel: &str, kind: Kind, stat: &Stat) -> Option<&Observed> {
        self.entries.get(rel).filter(|e| e.kind == kind && e.holds(stat)).map(|e| &e.observed)
    }

    fn record(&mut self, rel: Arc<str>, kind: Kind, stat: Stat, observed: &Observed) {
        let entry = Entry { kind, stat, recorded_ns: now_ns(), observed: observed.clone() };
        self.entries.insert(rel, entry);
        self.dirty = true;
    }

    /// A sound read again whose bytes are what they were (touched, copied
    /// over itself) keeps the loudness measured of them: measuring costs
    /// twice the decode.
    fn keep_loudness(&self, rel: &str, kind: Kind, obs: &mut Observed) {
        // Only a sound's figures: a file read before as another kind (a
        // `.bin` renamed `.wav`) has none, measured or not.
        let same = |e: &&Entry| e.kind == Kind::Audio && kind == Kind::Audio && e.observed.hash == obs.hash;
        let Some(old) = self.entries.get(rel).filter(same) else { return };
        let (new, old) = (&obs.metadata, &old.observed.metadata);
        if new.loudness_is_pending() && !old.loudness_is_pending() {
            obs.metadata = Arc::new(new.with_loudness(old.loudness_lufs, old.true_peak_dbtp));
        }
    }

    /// The metadata of the file at `rel` as it was read (`hash`), with its
    /// loudness measured: the entry takes them while it still describes
    /// those bytes. Returns them, shared with the cache's other entries.
    pub fn record_loudness(&mut self, rel: &str, hash: ContentHash, measured: Metadata) -> Arc<Metadata> {
        let measured = self.metadata.share(measured);
        if let Some((path, entry)) = self.entries.get_key_value(rel).filter(|(_, e)| e.observed.hash == hash) {
            let (path, mut entry) = (path.clone(), entry.clone());
            entry.observed.metadata = measured.clone();
            self.entries.insert(path, entry);
            self.dirty = true;
        }
        measured
    }

    /// Follows a file the packer itself renamed (a rename keeps its stat).
    pub fn rename(&mut self, from: &str, to: &str) {
        if let Some(e) = self.entries.remove(from) {
            // What such a file names was read for its old place: read it again.
            if !workspace::references_move_with(from, to) {
                self.entries.insert(to.into(), e);
            }
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
        walked: Option<&Walked<'_>>,
    ) -> (Vec<Option<Observed>>, ObserveStats) {
        let mut stats = ObserveStats::default();
        let mut out: Vec<Option<Observed>> = vec![None; items.len()];
        let mut to_read: Vec<(usize, Stat)> = Vec::new();
        for (i, (rel, kind)) in items.iter().enumerate() {
            let stat = walked.and_then(|w| w.get(rel.as_str())).copied().or_else(|| stat_beneath(sandbox, rel));
            let Some(stat) = stat else {
                // What the file was no longer says anything: were it put
                // back as it was (a rename keeps every stat field), it must
                // be looked at again, not skipped.
                self.forget(rel);
                stats.missing += 1;
                continue;
            };
            match self.cached(rel, *kind, &stat) {
                Some(obs) => {
                    out[i] = Some(obs.clone());
                    stats.cached += 1;
                }
                None => to_read.push((i, stat)),
            }
        }
        let to_read =
            to_read.into_iter().map(|(i, stat)| (i, Arc::from(items[i].0.as_str()), items[i].1, stat)).collect();
        self.read_files(sandbox, to_read, &mut out, &mut stats);
        (out, stats)
    }

    /// [`StatCache::observe_many_in`] for files whose stat the caller has
    /// from a walk (`None`: the walk did not find it, and it is stat'ed
    /// here), given in path order;
    /// what each gives goes to `out[slot]`. The cache, itself in path order,
    /// is walked alongside them instead of looked up file by file: at
    /// 100,000 files that halves the cost of an open. Each item's path
    /// becomes the cache's own copy where it has one, so that one copy of it
    /// is kept. Items out of order are only slower: a file the merge misses
    /// is read again.
    pub fn observe_sorted(
        &mut self,
        sandbox: &Sandbox,
        items: &mut [Seen],
        out: &mut [Option<Observed>],
    ) -> ObserveStats {
        let mut stats = ObserveStats::default();
        let mut to_read = Vec::new();
        let mut gone = Vec::new();
        let mut known = self.entries.iter().peekable();
        for item in items.iter_mut() {
            while known.next_if(|(k, _)| ***k < *item.path).is_some() {}
            let entry = known.next_if(|(k, _)| ***k == *item.path).map(|(k, e)| {
                item.path = k.clone();
                e
            });
            // A file the walk did not cover (registered outside the asset
            // roots, or under a folder the walk skipped) is stat'ed here.
            let Some(stat) = item.stat.or_else(|| stat_beneath(sandbox, &item.path)) else {
                // As in `observe_many_in`: what a missing file was says nothing any more.
                if entry.is_some() {
                    gone.push(item.path.clone());
                }
                stats.missing += 1;
                continue;
            };
            match entry.filter(|e| e.kind == item.kind && e.holds(&stat)) {
                Some(e) => {
                    out[item.slot] = Some(e.observed.clone());
                    stats.cached += 1;
                }
                None => to_read.push((item.slot, item.path.clone(), item.kind, stat)),
            }
        }
        drop(known);
        for path in gone {
            self.forget(&path);
        }
        self.read_files(sandbox, to_read, out, &mut stats);
        stats
    }

    /// Reads the files that could not be taken from the cache (on all
    /// cores), records what each gave, and puts it at its index in `out`.
    fn read_files(
        &mut self,
        sandbox: &Sandbox,
        to_read: Vec<(usize, Arc<str>, Kind, Stat)>,
        out: &mut [Option<Observed>],
        stats: &mut ObserveStats,
    ) {
        let wanted: Vec<(String, Kind)> = to_read.iter().map(|(_, rel, kind, _)| (rel.to_string(), *kind)).collect();
        let read = workspace::inspect_many_in(sandbox, &wanted);
        for ((i, rel, kind, stat), result) in to_read.into_iter().zip(read) {
            match result {
                Ok(mut obs) => {
                    stats.hashed += 1;
                    self.keep_loudness(&rel, kind, &mut obs);
                    self.metadata.share_arc(&mut obs.metadata);
                    // Record with the stat taken before reading: if the file
                    // changed while it was read, the next stat will differ.
                    self.record(rel, kind, stat, &obs);
                    out[i] = Some(obs);
                }
                Err(_) => stats.missing += 1,
            }
        }
    }

    /// Observes one file.
    pub fn observe(&mut self, root: &Path, rel: &str, kind: Kind) -> Option<Observed> {
        self.observe_many(root, &[(rel.to_string(), kind)]).0.pop().flatten()
    }
}

/// A file as a walk found it, for [`StatCache::observe_sorted`].
pub struct Seen {
    pub path: Arc<str>,
    pub kind: Kind,
    /// What the walk's `stat` said; `None` when it did not find the file.
    pub stat: Option<Stat>,
    /// Where its observation goes.
    pub slot: usize,
}

/// The cache's file: a header, one record per path (sorted), and a blake3
/// checksum of everything before it. Little-endian throughout.
mod codec {
    use std::sync::Arc;

    use super::{Entry, Stat};
    use crate::binary::Reader;
    use crate::hash::ContentHash;
    use crate::project::model::references::{self, Reference, Target};
    use crate::project::model::{Decibels, Kind, Metadata, Name, Observed, Problem, Severity};

    const MAGIC: &[u8; 8] = b"SPSTAT\0\0";
    /// Also the version of what `workspace::inspect` finds: a cache written
    /// by an older inspector is not trusted (3: image headers are read by
    /// the decoder a build uses, so a header it refuses is now a problem;
    /// 4: KTX2 and DDS sources are read by the texture reader; 5: the
    /// references a file holds; 6: strings written once, then by number;
    /// 7: sounds decoded whole; 8: a sound's loudness may be pending).
    const VERSION: u32 = 8;

    struct Out(Vec<u8>);

    impl Out {
        fn u16(&mut self, v: u16) {
            self.0.extend_from_slice(&v.to_le_bytes());
        }
        fn u32(&mut self, v: u32) {
            self.0.extend_from_slice(&v.to_le_bytes());
        }
        fn u64(&mut self, v: u64) {
            self.0.extend_from_slice(&v.to_le_bytes());
        }
        fn i64(&mut self, v: i64) {
            self.0.extend_from_slice(&v.to_le_bytes());
        }
        fn str(&mut self, s: &str) {
            self.u32(s.len() as u32);
            self.0.extend_from_slice(s.as_bytes());
        }
    }

    /// Paths, and the targets and pointers of references, repeat across
    /// files (an asset named by three files is one path, not four): each
    /// distinct one is written once, where it first appears, and after
    /// that by its number. A `u32` says which: even, the length of the
    /// text that follows (times two); odd, the number of one before (times
    /// two, plus one). Reading needs no hashing, and makes one allocation
    /// per distinct string, shared by all who use it.
    #[derive(Default)]
    struct Written<'a>(rustc_hash::FxHashMap<&'a str, u32>);

    impl<'a> Written<'a> {
        fn put(&mut self, out: &mut Out, s: &'a str) {
            let next = self.0.len() as u32;
            match self.0.entry(s) {
                std::collections::hash_map::Entry::Occupied(known) => out.u32(*known.get() << 1 | 1),
                std::collections::hash_map::Entry::Vacant(slot) => {
                    slot.insert(next);
                    out.u32((s.len() as u32) << 1);
                    out.0.extend_from_slice(s.as_bytes());
                }
            }
        }
    }

    /// The strings a decode has read so far, by number.
    #[derive(Default)]
    struct ReadStrings(Vec<Arc<str>>);

    impl ReadStrings {
        fn get(&mut self, r: &mut Reader<'_>) -> Option<Arc<str>> {
            let v = r.u32()?;
            if v & 1 == 1 {
                return self.0.get((v >> 1) as usize).cloned();
            }
            let s: Arc<str> = std::str::from_utf8(r.take((v >> 1) as usize)?).ok()?.into();
            self.0.push(s.clone());
            Some(s)
        }
    }

    /// Text as the stat cache stores it: its length as a `u32`, then UTF-8.
    fn text<'a>(r: &mut Reader<'a>) -> Option<&'a str> {
        r.text(|r| r.u32().map(|n| n as usize))
    }

    fn severity_code(s: Severity) -> u8 {
        match s {
            Severity::Error => 0,
            Severity::Warning => 1,
            Severity::Info => 2,
        }
    }

    /// The metadata fields, in a fixed order, each present or not.
    fn put_metadata(out: &mut Out, m: &Metadata) {
        let present = [
            m.bits_per_sample.is_some(),
            m.channels.is_some(),
            m.codec.is_some(),
            m.duration_ms.is_some(),
            m.encoding.is_some(),
            m.format.is_some(),
            m.height.is_some(),
            m.lines.is_some(),
            m.loudness_lufs.is_some(),
            m.sample_rate.is_some(),
            m.true_peak_dbtp.is_some(),
            m.valid.is_some(),
            m.width.is_some(),
            m.loudness_is_pending(),
        ];
        out.u16(present.iter().enumerate().fold(0, |bits, (i, p)| bits | (u16::from(*p) << i)));
        if let Some(v) = m.bits_per_sample {
            out.u16(v);
        }
        if let Some(v) = m.channels {
            out.u16(v);
        }
        if let Some(v) = &m.codec {
            out.str(v.as_str());
        }
        if let Some(v) = m.duration_ms {
            out.u64(v);
        }
        if let Some(v) = &m.encoding {
            out.str(v.as_str());
        }
        if let Some(v) = &m.format {
            out.str(v.as_str());
        }
        if let Some(v) = m.height {
            out.u32(v);
        }
        if let Some(v) = m.lines {
            out.u64(v);
        }
        if let Some(v) = m.loudness_lufs {
            out.u32(v.hundredths() as u32);
        }
        if let Some(v) = m.sample_rate {
            out.u32(v);
        }
        if let Some(v) = m.true_peak_dbtp {
            out.u32(v.hundredths() as u32);
        }
        if let Some(v) = m.valid {
            out.0.push(u8::from(v));
        }
        if let Some(v) = m.width {
            out.u32(v);
        }
    }

    fn get_metadata(r: &mut Reader<'_>) -> Option<Metadata> {
        let bits = r.u16()?;
        let has = |i: u16| bits & (1 << i) != 0;
        let mut m = Metadata::default();
        if has(0) {
            m.bits_per_sample = Some(r.u16()?);
        }
        if has(1) {
            m.channels = Some(r.u16()?);
        }
        if has(2) {
            m.codec = Some(Name::new(text(r)?));
        }
        if has(3) {
            m.duration_ms = Some(r.u64()?);
        }
        if has(4) {
            m.encoding = Some(Name::new(text(r)?));
        }
        if has(5) {
            m.format = Some(Name::new(text(r)?));
        }
        if has(6) {
            m.height = Some(r.u32()?);
        }
        if has(7) {
            m.lines = Some(r.u64()?);
        }
        if has(8) {
            m.loudness_lufs = Some(Decibels::from_hundredths(r.u32()? as i32));
        }
        if has(9) {
            m.sample_rate = Some(r.u32()?);
        }
        if has(10) {
            m.true_peak_dbtp = Some(Decibels::from_hundredths(r.u32()? as i32));
        }
        if has(11) {
            m.valid = Some(r.u8()? != 0);
        }
        if has(12) {
            m.width = Some(r.u32()?);
        }
        if has(13) {
            m.loudness_pending = Some(true);
        }
        Some(m)
    }

    /// The file: a header (magic, version, entry count), each entry as its
    /// length and its bytes, then a BLAKE3 checksum of all that. The lengths
    /// let a reader take one entry at a time, without the whole file in memory.
    pub(super) fn encode(entries: &super::Entries) -> Vec<u8> {
        let mut out = Out(Vec::with_capacity(16 + entries.base.len() * 160 + 32));
        out.0.extend_from_slice(MAGIC);
        out.u32(VERSION);
        let count_at = out.0.len();
        out.u32(0);
        let mut count = 0u32;
        let mut strings = Written::default();
        for (p, e) in entries.iter() {
            let hash = e.observed.hash;
            count += 1;
            let len_at = out.0.len();
            out.u32(0);
            strings.put(&mut out, p);
            out.0.push(e.kind.code());
            out.u64(e.stat.size);
            out.i64(e.stat.mtime_ns);
            out.u64(e.stat.ino);
            out.i64(e.recorded_ns);
            out.0.extend_from_slice(hash.as_bytes());
            out.u64(e.observed.size);
            put_metadata(&mut out, &e.observed.metadata);
            out.u16(e.observed.problems.len() as u16);
            for problem in &e.observed.problems {
                out.0.push(severity_code(problem.severity));
                out.str(&problem.code);
                out.str(&problem.message);
            }
            out.u32(e.observed.references.len() as u32);
            for reference in e.observed.references.iter() {
                let (tag, target) = match &reference.target {
                    Target::Id(id) => (0, id),
                    Target::Path(path) => (1, path),
                };
                out.0.push(tag);
                strings.put(&mut out, target);
                strings.put(&mut out, &reference.pointer);
                out.u32(reference.line);
                out.u32(reference.column);
            }
            let len = (out.0.len() - len_at - 4) as u32;
            out.0[len_at..len_at + 4].copy_from_slice(&len.to_le_bytes());
        }
        out.0[count_at..count_at + 4].copy_from_slice(&count.to_le_bytes());
        let checksum = blake3::hash(&out.0);
        out.0.extend_from_slice(checksum.as_bytes());
        out.0
    }

    /// Reads what [`encode`] wrote, one entry at a time as it streams by;
    /// `None` unless every byte, the checksum included, is as written.
    pub(super) fn decode(input: impl std::io::Read, metadata: &mut super::SharedMetadata) -> Option<super::Entries> {
        use std::io::Read;
        let mut input = std::io::BufReader::with_capacity(256 * 1024, input);
        let mut hasher = blake3::Hasher::new();
        let mut take = |buf: &mut [u8]| -> Option<()> {
            input.read_exact(buf).ok()?;
            hasher.update(buf);
            Some(())
        };
        let mut head = [0u8; 16];
        take(&mut head)?;
        let mut r = Reader::new(&head);
        if r.take(8)? != MAGIC || r.u32()? != VERSION {
            return None;
        }
        let count = r.u32()? as usize;
        // A damaged count must not reserve gigabytes before the checksum says so.
        let mut entries = Vec::with_capacity(count.min(1 << 20));
        let mut record = Vec::new();
        let mut strings = ReadStrings::default();
        for _ in 0..count {
            let mut len = [0u8; 4];
            take(&mut len)?;
            let len = u32::from_le_bytes(len) as usize;
            if len > 1 << 20 {
                return None;
            }
            record.resize(len, 0);
            take(&mut record)?;
            let (path, entry) = decode_entry(&mut Reader::new(&record), metadata, &mut strings)?;
            entries.push((path, entry));
        }
        let mut checksum = [0u8; 32];
        input.read_exact(&mut checksum).ok()?;
        let at_end = input.read(&mut [0u8; 1]).ok()? == 0;
        // In path order and each path once, as written: anything else is
        // not a cache this encoder wrote.
        let sorted = entries.windows(2).all(|w| w[0].0 < w[1].0);
        (at_end && sorted && hasher.finalize().as_bytes() == &checksum).then(|| super::Entries::sorted(entries))
    }

    fn decode_entry(
        r: &mut Reader<'_>,
        shared: &mut super::SharedMetadata,
        strings: &mut ReadStrings,
    ) -> Option<(Arc<str>, Entry)> {
        let path = strings.get(r)?;
        let kind = Kind::from_code(r.u8()?)?;
        let stat = Stat { size: r.u64()?, mtime_ns: r.i64()?, ino: r.u64()? };
        let recorded_ns = r.i64()?;
        let hash = ContentHash::from_bytes(r.array()?);
        let size = r.u64()?;
        let metadata = shared.share(get_metadata(r)?);
        let mut problems = Vec::new();
        for _ in 0..r.u16()? {
            let severity = match r.u8()? {
                0 => Severity::Error,
                1 => Severity::Warning,
                _ => Severity::Info,
            };
            problems.push(Problem { severity, code: text(r)?.to_string(), message: text(r)?.to_string() });
        }
        let count = r.u32()? as usize;
        let mut references = Vec::with_capacity(count.min(references::MAX_PER_FILE));
        for _ in 0..count {
            let tag = r.u8()?;
            let target = strings.get(r)?;
            let target = match tag {
                0 => Target::Id(target),
                1 => Target::Path(target),
                _ => return None,
            };
            let pointer = strings.get(r)?;
            references.push(Reference { target, pointer, line: r.u32()?, column: r.u32()? });
        }
        let problems = problems.into_boxed_slice();
        let observed = Observed { hash, size, metadata, problems, references: references::shared(references) };
        r.is_empty().then_some((path, Entry { kind, stat, recorded_ns, observed }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::project::model::{Decibels, Metadata, Name, Problem, Severity};

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
    fn observing_in_path_order_takes_what_the_cache_knows_and_shares_its_paths() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let old = std::time::SystemTime::now() - std::time::Duration::from_secs(10);
        for name in ["a.txt", "b.txt", "c.txt", "d.txt"] {
            std::fs::write(root.join(name), name).unwrap();
            std::fs::File::options().write(true).open(root.join(name)).unwrap().set_modified(old).unwrap();
        }
        let items: Vec<(String, Kind)> =
            ["a.txt", "b.txt", "c.txt", "d.txt"].iter().map(|n| (n.to_string(), Kind::Text)).collect();
        let mut cache = StatCache::load(root);
        cache.observe_many(root, &items);
        let sandbox = Sandbox::open(root).unwrap();
        let stat = |n: &str| std::fs::metadata(root.join(n)).ok().map(|m| Stat::of(&m));
        std::fs::write(root.join("b.txt"), "changed").unwrap();
        std::fs::remove_file(root.join("c.txt")).unwrap();
        // d.txt is there but the walk did not see it (a file registered
        // outside the asset roots): it is stat'ed, not taken for missing.
        let mut seen: Vec<Seen> = ["a.txt", "b.txt", "c.txt", "d.txt", "gone.txt"]
            .iter()
            .enumerate()
            .map(|(slot, n)| Seen {
                path: Arc::from(*n),
                kind: Kind::Text,
                stat: stat(n).filter(|_| *n != "d.txt"),
                slot,
            })
            .collect();
        let mut out = vec![None; 5];
        let stats = cache.observe_sorted(&sandbox, &mut seen, &mut out);
        assert_eq!(stats, ObserveStats { hashed: 1, cached: 2, missing: 2 });
        assert_eq!(out[0].as_ref().unwrap().hash, ContentHash::of(b"a.txt"));
        assert_eq!(out[1].as_ref().unwrap().hash, ContentHash::of(b"changed"));
        assert_eq!(out[3].as_ref().unwrap().hash, ContentHash::of(b"d.txt"));
        assert!(out[2].is_none() && out[4].is_none());
        let (key, _) = cache.entries.get_key_value("a.txt").unwrap();
        assert!(Arc::ptr_eq(key, &seen[0].path), "the item now holds the cache's copy of its path");
        assert!(cache.entries.get("c.txt").is_none(), "a file the walk did not find is forgotten");
    }

    /// The vector and its changes behave as one ordered map, through
    /// random inserts, removes and folds (checked against `BTreeMap`).
    #[test]
    fn entries_behave_as_an_ordered_map() {
        let entry = |n: u64| Entry {
            kind: Kind::Text,
            stat: Stat { size: n, mtime_ns: 0, ino: n },
            recorded_ns: 0,
            observed: Observed {
                hash: ContentHash::of(&n.to_le_bytes()),
                size: n,
                metadata: Default::default(),
                problems: Box::default(),
                references: crate::project::model::references::shared(Vec::new()),
            },
        };
        let key = |n: u64| -> Arc<str> { format!("f{n:05}").into() };
        let mut model: BTreeMap<Arc<str>, Entry> = (0..3000).step_by(3).map(|n| (key(n), entry(n))).collect();
        let mut entries = Entries::sorted(model.iter().map(|(k, e)| (k.clone(), e.clone())).collect());
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        for step in 0..20_000 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let n = seed % 4000;
            if seed % 5 < 2 {
                assert_eq!(entries.remove(&key(n)), model.remove(&key(n)), "step {step}");
            } else {
                entries.insert(key(n), entry(n + step));
                model.insert(key(n), entry(n + step));
            }
            assert_eq!(entries.get(&key(n)), model.get(&key(n)), "step {step}");
            if step % 1000 == 0 {
                assert!(entries.iter().eq(model.iter()), "step {step}");
            }
        }
        assert!(entries.iter().eq(model.iter()));
        assert!(!entries.base.is_empty() && entries.changed.len() <= 1024.max(entries.base.len() / 8));
    }

    /// One second of a 440 Hz sine at `amplitude`, 16-bit mono WAV.
    fn sine_wav(amplitude: f64) -> Vec<u8> {
        let spec = hound::WavSpec {
            channels: 1,
            sample_rate: 8000,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let mut out = std::io::Cursor::new(Vec::new());
        let mut w = hound::WavWriter::new(&mut out, spec).unwrap();
        for i in 0..8000 {
            let x = amplitude * (std::f64::consts::TAU * 440.0 * f64::from(i) / 8000.0).sin();
            w.write_sample((x * 32767.0).round() as i16).unwrap();
        }
        w.finalize().unwrap();
        out.into_inner()
    }

    #[test]
    fn a_sound_read_again_keeps_its_loudness_while_its_bytes_are_the_same() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let settle = |rel: &str, secs: u64| {
            let when = std::time::SystemTime::now() - std::time::Duration::from_secs(secs);
            std::fs::File::options().write(true).open(root.join(rel)).unwrap().set_modified(when).unwrap();
        };
        std::fs::write(root.join("a.wav"), sine_wav(0.5)).unwrap();
        settle("a.wav", 20);
        let items = vec![("a.wav".to_string(), Kind::Audio)];
        let mut cache = StatCache::load(root);
        let seen = cache.observe_many(root, &items).0.remove(0).unwrap();
        assert!(seen.metadata.loudness_is_pending(), "{:?}", seen.metadata);
        // A figure of other bytes is not taken; one of these bytes is.
        let figure = seen.metadata.with_loudness(Decibels::new(-9.0), Decibels::new(-6.0));
        let other = ContentHash::of(b"other bytes");
        cache.record_loudness("a.wav", other, figure.clone());
        let (again, stats) = cache.observe_many(root, &items);
        assert_eq!(stats.cached, 1);
        assert!(again[0].as_ref().unwrap().metadata.loudness_is_pending());
        cache.record_loudness("a.wav", seen.hash, figure.clone());
        assert_eq!(*cache.observe_many(root, &items).0[0].as_ref().unwrap().metadata, figure);
        // Touched: read again (the stat changed), the same bytes keep their figure.
        settle("a.wav", 10);
        let (touched, stats) = cache.observe_many(root, &items);
        assert_eq!(stats.hashed, 1);
        assert_eq!(*touched[0].as_ref().unwrap().metadata, figure);
        // New bytes: pending again.
        std::fs::write(root.join("a.wav"), sine_wav(0.25)).unwrap();
        settle("a.wav", 5);
        let (changed, _) = cache.observe_many(root, &items);
        assert!(changed[0].as_ref().unwrap().metadata.loudness_is_pending());
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

    #[test]
    fn the_file_keeps_every_field_and_a_damaged_one_is_empty() {
        let dir = tempfile::tempdir().unwrap();
        let mut cache = StatCache::load(dir.path());
        let metadata = Metadata {
            format: Some(Name::new("wav")),
            channels: Some(2),
            sample_rate: Some(48_000),
            duration_ms: Some(1234),
            encoding: Some(Name::new("something-else")),
            valid: Some(false),
            codec: Some(Name::new("vorbis")),
            loudness_lufs: Decibels::new(-23.456),
            true_peak_dbtp: Decibels::new(0.5),
            ..Metadata::default()
        };
        let problem = Problem { severity: Severity::Warning, code: "c".into(), message: "m é".into() };
        let observed = Observed {
            hash: ContentHash::of(b"x"),
            size: 1,
            metadata: std::sync::Arc::new(metadata),
            problems: Box::new([problem]),
            references: vec![crate::project::model::references::Reference {
                target: crate::project::model::references::Target::Path("assets/x.png".into()),
                pointer: "/a/0".into(),
                line: 3,
                column: 9,
            }]
            .into(),
        };
        let stat = Stat { size: 1, mtime_ns: -5, ino: 9 };
        cache.record("assets/a.wav".into(), Kind::Audio, stat, &observed);
        cache.record(
            "assets/b.txt".into(),
            Kind::Text,
            stat,
            &Observed { problems: Box::default(), ..observed.clone() },
        );
        let pending = Metadata { loudness_pending: Some(true), loudness_lufs: None, ..(*observed.metadata).clone() };
        cache.record(
            "assets/c.wav".into(),
            Kind::Audio,
            stat,
            &Observed { metadata: pending.into(), ..observed.clone() },
        );
        cache.save();
        let again = StatCache::load(dir.path());
        assert_eq!(again.entries, cache.entries);
        let file = dir.path().join(FILE);
        let mut bytes = std::fs::read(&file).unwrap();
        bytes[20] ^= 1;
        std::fs::write(&file, bytes).unwrap();
        assert!(StatCache::load(dir.path()).entries.is_empty());
    }
}
