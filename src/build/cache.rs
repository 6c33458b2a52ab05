//! The local processing cache under `.packer/cache`: processed (and
//! compressed) entries keyed by everything that decides their bytes, so an
//! unchanged asset is never processed twice.
//!
//! Entries are not one file each: creating, writing and renaming ten
//! thousand small files cost more than processing them. A build appends the
//! stored bytes of everything it processes to one new *segment*
//! (`segments/<n>.seg`, never changed once its build ends), and the *index*
//! (`index.bin`, fixed-size binary records with a trailing checksum) says
//! where each key's bytes are and what they are. A build loads the index
//! once, so deciding what is reused opens no entry at all.
//!
//! Nothing here is synced: the cache only ever saves time. Every stored
//! range is checked against its hash when it is read (except bytes this
//! build just wrote and hashed), a damaged or torn index is an empty cache,
//! and segments the index does not name are removed when the next build
//! starts. Whatever a crash or a power cut leaves, the worst case is a miss.

use crate::hash::ContentHash;
use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::{self, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde_json::{Map, Value};

use super::pack::{self, Compression, Format, Image};
use crate::binary::Reader;
use crate::project::model::Kind;

/// An entry's key: the blake3 hash of every input that decides its bytes.
pub type Key = [u8; 32];

/// What a cache entry holds, besides its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredMeta {
    pub format: u8,
    pub compression: u8,
    pub level: u8,
    pub image: Image,
    /// Level 0's PSNR against its source in hundredths of a dB, for a GPU
    /// texture a lossy format made (0: none).
    pub psnr_cdb: u32,
    /// Stored bytes.
    pub length: u64,
    pub raw_length: u64,
    /// blake3 of the raw (decompressed) bytes.
    pub hash: [u8; 32],
    /// blake3 of the stored bytes, checked on read.
    pub stored_hash: [u8; 32],
}

impl StoredMeta {
    /// The description of `stored`, the stored form of the processed bytes
    /// `raw` (the same bytes, or compressed with zstd at `level`).
    pub fn describing(
        raw: &[u8],
        stored: &[u8],
        format: Format,
        compression: Compression,
        level: u8,
        image: Image,
        psnr_cdb: u32,
    ) -> StoredMeta {
        StoredMeta {
            format: format as u8,
            compression: compression as u8,
            level,
            image,
            psnr_cdb,
            length: stored.len() as u64,
            raw_length: raw.len() as u64,
            hash: blake3::hash(raw).into(),
            stored_hash: blake3::hash(stored).into(),
        }
    }

    pub fn format(&self) -> Format {
        match self.format {
            1 => Format::Png,
            2 => Format::Rgba8,
            3 => Format::Ktx2,
            _ => Format::Bytes,
        }
    }

    pub fn compression(&self) -> Compression {
        if self.compression == 1 {
            Compression::Zstd
        } else {
            Compression::None
        }
    }
}

/// The key of a processed entry: every input that decides its bytes. The
/// extension matters too (the same bytes as `.json` are minified, as `.yml`
/// copied), in lower case, and so does what the processor reads of other
/// assets (`links`: the id each of a data asset's path references resolves
/// to). Computed for every asset on every build, so it is written into the
/// hasher directly, with no allocation.
pub fn key(
    source_hash: &ContentHash,
    kind: Kind,
    ext: &str,
    settings: &Map<String, Value>,
    target_part: &str,
    level: i32,
    links: &super::process::Links,
) -> Key {
    use std::io::Write;
    let (name, version) = super::process::processor(kind);
    let mut h = blake3::Hasher::new();
    for part in [b"studio-packer/cache/v1".as_slice(), source_hash.to_hex().as_bytes(), kind.as_str().as_bytes()] {
        h.update(part);
        h.update(b"\0");
    }
    let mut lower = [0u8; 16];
    match lower.get_mut(..ext.len()) {
        Some(buf) => {
            buf.copy_from_slice(ext.as_bytes());
            buf.make_ascii_lowercase();
            h.update(buf);
        }
        None => {
            h.update(ext.to_ascii_lowercase().as_bytes());
        }
    }
    h.update(b"\0");
    // serde_json's map is sorted, so equal settings give equal text.
    if settings.is_empty() {
        h.update(b"{}");
    } else {
        serde_json::to_writer(&mut h, settings).expect("settings serialise");
    }
    write!(h, "\0{name}@{version}\0pack@{}\0zstd@{level}\0{target_part}", pack::VERSION)
        .expect("a hasher takes every write");
    // Nothing is added without links: keys made before links existed hold.
    if !links.is_empty() {
        h.update(b"\0links");
        for (path, id) in links {
            for part in [path.as_bytes(), id.as_bytes()] {
                h.update(b"\0");
                h.update(part);
            }
        }
    }
    h.finalize().into()
}

const INDEX_FILE: &str = "index.bin";
const SEGMENTS_DIR: &str = "segments";
const INDEX_MAGIC: &[u8; 8] = b"SPCACHE\0";
/// Version 2 added when each entry was last used; a version 1 index is
/// read as if every entry had never been used. Version 3 added what a GPU
/// texture is (format, levels, PSNR); an older index is read as an empty
/// cache, since every image is processed anew by the texture processor.
const INDEX_VERSION: u32 = 3;
const INDEX_HEADER: usize = 16;
const RECORD: usize = 156;

/// Segments kept open for reading at once, at most.
const MAX_OPEN_SEGMENTS: usize = 32;

/// More small segments than this are merged into one at the end of a build
/// (see [`LocalCache::finish`]).
const MAX_SMALL_SEGMENTS: usize = 16;

/// A segment is closed once it holds this many bytes: evicting an entry
/// then rewrites at most this much of what the cache keeps.
const SEGMENT_CAP: u64 = 256 << 20;

/// A segment holding less than this is small: merging it costs little.
const SMALL_SEGMENT: u64 = SEGMENT_CAP / 8;

/// Where an entry's stored bytes are, and when a build last used it
/// (milliseconds since the Unix epoch; 0 for never recorded).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Location {
    segment: u32,
    offset: u64,
    last_used: u64,
}

type Index = HashMap<Key, (Location, StoredMeta)>;

fn encode_index(index: &Index) -> Vec<u8> {
    let mut keys: Vec<&Key> = index.keys().collect();
    // Sorted, so that the same entries always give the same file.
    keys.sort();
    let mut out = Vec::with_capacity(INDEX_HEADER + keys.len() * RECORD + 32);
    out.extend_from_slice(INDEX_MAGIC);
    out.extend_from_slice(&INDEX_VERSION.to_le_bytes());
    out.extend_from_slice(&(keys.len() as u32).to_le_bytes());
    for k in keys {
        let (at, m) = &index[k];
        out.extend_from_slice(k);
        out.extend_from_slice(&at.segment.to_le_bytes());
        out.extend_from_slice(&at.offset.to_le_bytes());
        out.extend_from_slice(&m.length.to_le_bytes());
        out.extend_from_slice(&m.raw_length.to_le_bytes());
        out.extend_from_slice(&[m.format, m.compression, m.level, 0]);
        out.extend_from_slice(&m.image.width.to_le_bytes());
        out.extend_from_slice(&m.image.height.to_le_bytes());
        out.extend_from_slice(&m.image.vk_format.to_le_bytes());
        out.extend_from_slice(&m.image.levels.to_le_bytes());
        out.extend_from_slice(&m.psnr_cdb.to_le_bytes());
        out.extend_from_slice(&m.hash);
        out.extend_from_slice(&m.stored_hash);
        out.extend_from_slice(&at.last_used.to_le_bytes());
    }
    let checksum = blake3::hash(&out);
    out.extend_from_slice(checksum.as_bytes());
    out
}

/// The index's entries; `None` when the bytes are not a whole index of
/// this version (then the cache is taken to be empty).
fn decode_index(bytes: &[u8]) -> Option<Index> {
    let body = bytes.get(..bytes.len().checked_sub(32)?)?;
    if body.len() < INDEX_HEADER || blake3::hash(body).as_bytes() != &bytes[body.len()..] || &body[..8] != INDEX_MAGIC {
        return None;
    }
    let mut r = Reader::new(&body[8..]);
    let (version, count) = (r.u32()?, r.u32()? as usize);
    if version != INDEX_VERSION || body.len() != INDEX_HEADER + count * RECORD {
        return None;
    }
    let mut index = HashMap::with_capacity(count);
    for _ in 0..count {
        let key = r.array()?;
        let mut at = Location { segment: r.u32()?, offset: r.u64()?, last_used: 0 };
        let (length, raw_length) = (r.u64()?, r.u64()?);
        let [format, compression, level, _] = r.array()?;
        let image = Image { width: r.u32()?, height: r.u32()?, vk_format: r.u32()?, levels: r.u32()? };
        let psnr_cdb = r.u32()?;
        let (hash, stored_hash) = (r.array()?, r.array()?);
        at.last_used = r.u64()?;
        let meta = StoredMeta { format, compression, level, image, psnr_cdb, length, raw_length, hash, stored_hash };
        index.insert(key, (at, meta));
    }
    Some(index)
}

fn segment_name(n: u32) -> String {
    format!("{n:08}.seg")
}

/// The segment this build appends to, opened at its first entry.
struct Writer {
    segment: u32,
    file: Option<Arc<File>>,
    len: u64,
    /// Entries written by this build: their bytes were hashed as they were
    /// written, so reading them back needs no check.
    added: Index,
}

pub struct LocalCache {
    dir: PathBuf,
    index: Index,
    /// Keys this build uses (see [`LocalCache::mark_used`]).
    used: Mutex<HashSet<Key>>,
    writer: Mutex<Writer>,
    /// Segments opened for reading.
    open: Mutex<HashMap<u32, Arc<File>>>,
}

impl LocalCache {
    /// Where the index of the cache under `state_dir` is (what changes when
    /// a build or a prune changed the cache).
    pub fn index_path(state_dir: &Path) -> PathBuf {
        state_dir.join("cache").join(INDEX_FILE)
    }

    /// Loads the cache's index (empty when absent or damaged).
    pub fn open(state_dir: &Path) -> LocalCache {
        let dir = state_dir.join("cache");
        let index = std::fs::read(dir.join(INDEX_FILE)).ok().and_then(|b| decode_index(&b)).unwrap_or_default();
        let next = index.values().map(|(at, _)| at.segment + 1).max().unwrap_or(1);
        let writer = Writer { segment: next, file: None, len: 0, added: HashMap::new() };
        LocalCache { dir, index, used: Mutex::default(), writer: Mutex::new(writer), open: Mutex::new(HashMap::new()) }
    }

    fn segments(&self) -> PathBuf {
        self.dir.join(SEGMENTS_DIR)
    }

    /// Removes what the index does not name: segments of a build that died
    /// before its index was written, and anything an older cache layout
    /// left. Only while no build runs (builds run in the lane, one at a time).
    pub fn remove_unreferenced(&self) {
        self.remove_unreferenced_segments();
        if let Ok(entries) = std::fs::read_dir(&self.dir) {
            for e in entries.flatten() {
                let name = e.file_name();
                if name != INDEX_FILE && name != SEGMENTS_DIR {
                    let path = e.path();
                    let _ = if e.file_type().is_ok_and(|t| t.is_dir()) {
                        std::fs::remove_dir_all(path)
                    } else {
                        std::fs::remove_file(path)
                    };
                }
            }
        }
    }

    /// The entry's description, when the cache has it.
    pub fn get(&self, key: &Key) -> Option<StoredMeta> {
        if let Some((_, meta)) = self.index.get(key) {
            return Some(meta.clone());
        }
        self.writer.lock().expect("cache writer lock").added.get(key).map(|(_, m)| m.clone())
    }

    fn segment_file(&self, segment: u32) -> io::Result<Arc<File>> {
        let mut open = self.open.lock().expect("cache files lock");
        if let Some(f) = open.get(&segment) {
            return Ok(f.clone());
        }
        // A bounded number stay open: a pack whose entries are spread over
        // many segments must not run the process out of file handles.
        if open.len() >= MAX_OPEN_SEGMENTS {
            open.clear();
        }
        let f = Arc::new(File::open(self.segments().join(segment_name(segment)))?);
        open.insert(segment, f.clone());
        Ok(f)
    }

    /// The stored bytes of an entry, checked against its description
    /// (unless this build wrote them). This build's entries come first: one
    /// written again because its older copy was damaged replaces it.
    pub fn read_stored(&self, key: &Key, meta: &StoredMeta) -> io::Result<Vec<u8>> {
        let damaged = |why: &str| {
            io::Error::new(io::ErrorKind::InvalidData, format!("cache entry {}: {why}", crate::hash::hex(key)))
        };
        let added = self.writer.lock().expect("cache writer lock").added.get(key).map(|(at, m)| (*at, m.clone()));
        let (at, fresh) = match (added, self.index.get(key)) {
            (Some((at, m)), _) if &m == meta => (at, true),
            (_, Some((at, m))) if m == meta => (*at, false),
            _ => return Err(damaged("not in the cache")),
        };
        let file = self.segment_file(at.segment)?;
        // Checked before allocating: an index naming more bytes than the
        // segment holds is damaged, not a reason to allocate them.
        let size = file.metadata()?.len();
        if at.offset.checked_add(meta.length).is_none_or(|end| end > size) {
            return Err(damaged("it names bytes past the end of its segment"));
        }
        let mut bytes = vec![0u8; meta.length as usize];
        file.read_exact_at(&mut bytes, at.offset)?;
        if !fresh && blake3::hash(&bytes).as_bytes() != &meta.stored_hash {
            return Err(damaged("its stored bytes do not match their hash"));
        }
        Ok(bytes)
    }

    /// Appends an entry to this build's segment. `meta.stored_hash` must
    /// be the hash of `stored`.
    pub fn put(&self, key: &Key, meta: &StoredMeta, stored: &[u8]) -> io::Result<()> {
        let mut w = self.writer.lock().expect("cache writer lock");
        if w.file.is_some() && w.len >= SEGMENT_CAP {
            w.file = None;
            w.segment += 1;
            w.len = 0;
        }
        let file = match &w.file {
            Some(f) => f.clone(),
            None => {
                crate::project::disk::state::create_dir_all(&self.segments())?;
                let f = Arc::new(
                    crate::project::disk::state::open_options()
                        .create_new(true)
                        .write(true)
                        .read(true)
                        .open(self.segments().join(segment_name(w.segment)))?,
                );
                w.file = Some(f.clone());
                f
            }
        };
        let offset = w.len;
        // On a failed write the segment's length is uncertain: stop using it.
        if let Err(e) = (&*file).write_all(stored) {
            w.file = None;
            w.segment += 1;
            w.len = 0;
            return Err(e);
        }
        w.len += stored.len() as u64;
        let segment = w.segment;
        w.added.insert(*key, (Location { segment, offset, last_used: 0 }, meta.clone()));
        Ok(())
    }

    /// Records the keys a build uses: their entries count as used now, and
    /// pruning at the end of that build keeps them.
    pub fn mark_used(&self, keys: impl IntoIterator<Item = Key>) {
        self.used.lock().expect("cache uses lock").extend(keys);
    }

    /// Writes the index with this build's entries and the time of each use
    /// (atomically, unsynced: a torn or lost index is an empty cache), then
    /// keeps the cache within `max_size`. Nothing is written when the build
    /// used nothing.
    /// When there are more than [`MAX_SMALL_SEGMENTS`] small segments (every
    /// build that processes anything adds one), they are merged into one,
    /// so that their number stays bounded.
    pub fn finish(self, max_size: Option<u64>) -> io::Result<Option<Pruned>> {
        self.finish_at(max_size, now_ms())
    }

    fn finish_at(mut self, max_size: Option<u64>, now: u64) -> io::Result<Option<Pruned>> {
        let added: Vec<_> = self.writer.lock().expect("cache writer lock").added.drain().collect();
        let mut dirty = !added.is_empty();
        self.index.extend(added);
        let used = std::mem::take(&mut *self.used.lock().expect("cache uses lock"));
        // Later than every use recorded, even with the clock set back or
        // two builds in one millisecond: the order of uses is what counts.
        let latest = self.index.values().map(|(at, _)| at.last_used).max().unwrap_or(0);
        let now = now.max(latest + 1);
        for key in &used {
            if let Some((at, _)) = self.index.get_mut(key) {
                at.last_used = now;
                dirty = true;
            }
        }
        let files = self.segment_sizes();
        let over = max_size.is_some_and(|max| files.values().sum::<u64>() > max);
        if !dirty && !over {
            return Ok(None);
        }
        let mut live: HashMap<u32, u64> = HashMap::new();
        for (at, meta) in self.index.values() {
            *live.entry(at.segment).or_default() += meta.length;
        }
        // Small segments, merged into one when there are many.
        let mut rewrite: HashSet<u32> = HashSet::new();
        let small: Vec<u32> = live.iter().filter(|(_, n)| **n < SMALL_SEGMENT).map(|(s, _)| *s).collect();
        if small.len() > MAX_SMALL_SEGMENTS {
            rewrite.extend(small);
        }
        let mut pruned = None;
        let mut evicted = Vec::new();
        if let Some(max) = max_size.filter(|_| over) {
            let (keys, p) = self.choose_evictions(max, &used, files.values().sum());
            for key in &keys {
                if let Some((at, meta)) = self.index.get(key) {
                    rewrite.insert(at.segment);
                    *live.get_mut(&at.segment).expect("a live segment") -= meta.length;
                }
            }
            // And segments a quarter dead (entries replaced or evicted before).
            for (segment, size) in &files {
                if live.get(segment).is_some_and(|n| (size - n.min(size)) * 4 >= *size) {
                    rewrite.insert(*segment);
                }
            }
            evicted = keys;
            pruned = Some(p);
        }
        let evicted_set: HashSet<Key> = evicted.iter().copied().collect();
        match self.copy_live(&rewrite, &evicted_set) {
            Ok(moves) => {
                for key in &evicted {
                    self.index.remove(key);
                }
                for (key, place) in moves {
                    match place {
                        Some(at) => {
                            if let Some(entry) = self.index.get_mut(&key) {
                                entry.0 = at;
                            }
                        }
                        None => {
                            self.index.remove(&key);
                        }
                    }
                }
            }
            // A full disk, say: this build's entries and uses are still
            // recorded, and nothing is evicted (the next build tries again).
            Err(e) => {
                tracing::warn!(error = %e, "cannot rewrite the processing cache's segments; nothing evicted");
                pruned = None;
            }
        }
        crate::fsutil::replace_unsynced(&self.dir.join(INDEX_FILE), &encode_index(&self.index))?;
        self.remove_unreferenced_segments();
        if let Some(p) = &mut pruned {
            p.after_bytes = self.disk_bytes();
            p.after_entries = self.index.len() as u64;
        }
        Ok(pruned)
    }

    /// The least recently used entries to evict (never one this build
    /// uses) until what stays fits in `max` bytes.
    fn choose_evictions(&self, max: u64, used: &HashSet<Key>, disk: u64) -> (Vec<Key>, Pruned) {
        let mut live: u64 = self.index.values().map(|(_, m)| m.length).sum();
        let mut candidates: Vec<(&Key, &Location, u64)> =
            self.index.iter().filter(|(k, _)| !used.contains(*k)).map(|(k, (at, m))| (k, at, m.length)).collect();
        // Oldest use first; among equals, the oldest bytes.
        candidates.sort_by_key(|(k, at, _)| (at.last_used, at.segment, at.offset, **k));
        let mut pruned = Pruned { before_entries: self.index.len() as u64, before_bytes: disk, ..Pruned::default() };
        let mut evicted = Vec::new();
        for (key, _, length) in candidates {
            if live <= max {
                break;
            }
            live -= length;
            evicted.push(*key);
            pruned.evicted_entries += 1;
            pruned.evicted_bytes += length;
        }
        (evicted, pruned)
    }

    /// Every segment file by number, with its size.
    fn segment_sizes(&self) -> HashMap<u32, u64> {
        let mut sizes = HashMap::new();
        if let Ok(entries) = std::fs::read_dir(self.segments()) {
            for e in entries.flatten() {
                let name = e.file_name();
                let number = name.to_str().and_then(|n| n.strip_suffix(".seg")).and_then(|n| n.parse().ok());
                if let (Some(n), Ok(meta)) = (number, e.metadata()) {
                    sizes.insert(n, meta.len());
                }
            }
        }
        sizes
    }

    /// Bytes the cache's segments take on disk.
    fn disk_bytes(&self) -> u64 {
        std::fs::read_dir(self.segments())
            .map(|entries| entries.flatten().filter_map(|e| e.metadata().ok()).map(|m| m.len()).sum())
            .unwrap_or(0)
    }

    /// What the cache holds.
    pub fn stats(&self) -> CacheStats {
        let used: Vec<u64> = self.index.values().map(|(at, _)| at.last_used).filter(|t| *t > 0).collect();
        CacheStats {
            entries: self.index.len() as u64,
            bytes: self.index.values().map(|(_, m)| m.length).sum(),
            disk_bytes: self.disk_bytes(),
            segments: self.index.values().map(|(at, _)| at.segment).collect::<HashSet<_>>().len() as u64,
            oldest_use: used.iter().min().copied(),
            newest_use: used.iter().max().copied(),
        }
    }

    /// Evicts the least recently used entries until the cache takes at
    /// most `max_size` bytes on disk (outside a build: nothing is kept for
    /// being in use).
    pub fn prune(self, max_size: u64) -> io::Result<Pruned> {
        self.remove_unreferenced_segments();
        let before = (self.index.len() as u64, self.disk_bytes());
        let pruned = self.finish_at(Some(max_size), now_ms())?;
        Ok(pruned.unwrap_or(Pruned {
            before_entries: before.0,
            before_bytes: before.1,
            after_entries: before.0,
            after_bytes: before.1,
            ..Pruned::default()
        }))
    }

    /// Copies the entries of `segments` that are kept (not in `evicted`)
    /// into new segments of at most [`SEGMENT_CAP`] bytes, each checked
    /// against its hash (a damaged one is dropped: a miss later). Returns
    /// where each now is (`None`: dropped); the index is not touched, so
    /// that a failure changes nothing. The old segments are removed once
    /// the index no longer names them.
    #[allow(clippy::type_complexity)]
    fn copy_live(&self, segments: &HashSet<u32>, evicted: &HashSet<Key>) -> io::Result<Vec<(Key, Option<Location>)>> {
        let mut moving: Vec<(Key, Location, StoredMeta)> = self
            .index
            .iter()
            .filter(|(k, (at, _))| segments.contains(&at.segment) && !evicted.contains(*k))
            .map(|(k, (at, m))| (*k, *at, m.clone()))
            .collect();
        if moving.is_empty() {
            return Ok(Vec::new());
        }
        moving.sort_by_key(|(_, at, _)| (at.segment, at.offset));
        let first = self.index.values().map(|(at, _)| at.segment).max().unwrap_or(0).max(self.writer_segment()) + 1;
        crate::project::disk::state::create_dir_all(&self.segments())?;
        let mut written: Vec<u32> = Vec::new();
        let result = (|| {
            let mut target = first;
            // Truncated if a killed build left a file of that number: the
            // index names no segment past `first - 1`.
            let open = |n: u32| {
                crate::project::disk::state::open_options()
                    .write(true)
                    .create(true)
                    .truncate(true)
                    .open(self.segments().join(segment_name(n)))
            };
            let mut out = open(target)?;
            written.push(target);
            let mut offset = 0u64;
            let mut moves = Vec::with_capacity(moving.len());
            for (key, at, meta) in moving {
                let Ok(bytes) = self.read_stored(&key, &meta) else {
                    moves.push((key, None));
                    continue;
                };
                if offset >= SEGMENT_CAP {
                    target += 1;
                    out = open(target)?;
                    written.push(target);
                    offset = 0;
                }
                out.write_all(&bytes)?;
                moves.push((key, Some(Location { segment: target, offset, last_used: at.last_used })));
                offset += bytes.len() as u64;
            }
            Ok(moves)
        })();
        if result.is_err() {
            for n in written {
                let _ = std::fs::remove_file(self.segments().join(segment_name(n)));
            }
        }
        result
    }

    /// Removes the segments the index no longer names.
    fn remove_unreferenced_segments(&self) {
        let named: HashSet<String> = self.index.values().map(|(at, _)| segment_name(at.segment)).collect();
        if let Ok(entries) = std::fs::read_dir(self.segments()) {
            for e in entries.flatten() {
                if !named.contains(e.file_name().to_string_lossy().as_ref()) {
                    let _ = std::fs::remove_file(e.path());
                }
            }
        }
    }

    fn writer_segment(&self) -> u32 {
        self.writer.lock().expect("cache writer lock").segment
    }
}

/// What [`LocalCache::stats`] reports.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CacheStats {
    pub entries: u64,
    /// Bytes of the entries.
    pub bytes: u64,
    /// Bytes the segments take on disk (what `max_size` bounds).
    pub disk_bytes: u64,
    pub segments: u64,
    /// When the least and the most recently used entries were last used
    /// (milliseconds since the Unix epoch), when known.
    pub oldest_use: Option<u64>,
    pub newest_use: Option<u64>,
}

/// What a prune did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Pruned {
    pub before_entries: u64,
    pub before_bytes: u64,
    pub evicted_entries: u64,
    pub evicted_bytes: u64,
    pub after_entries: u64,
    pub after_bytes: u64,
}

fn now_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_those_of_the_documented_input() {
        let source = ContentHash::of(b"abc");
        let t = "desktop texture@1";
        let input = format!("studio-packer/cache/v1\0{source}\0image\0png\0{{}}\0texture@2\0pack@2\0zstd@3\0{t}");
        let expected: Key = blake3::hash(input.as_bytes()).into();
        assert_eq!(key(&source, Kind::Image, "png", &Map::new(), t, 3, &[]), expected);
        let mut settings = Map::new();
        settings.insert("use".into(), Value::from("ui"));
        assert_ne!(key(&source, Kind::Image, "png", &settings, t, 3, &[]), expected);
        assert_ne!(key(&source, Kind::Image, "png", &Map::new(), "mobile texture@1", 3, &[]), expected);
        assert_eq!(key(&source, Kind::Image, "PNG", &Map::new(), t, 3, &[]), expected, "the extension in any case");
        let long = "x".repeat(40);
        let input = format!("studio-packer/cache/v1\0{source}\0image\0{long}\0{{}}\0texture@2\0pack@2\0zstd@3\0");
        assert_eq!(
            key(&source, Kind::Image, &long.to_uppercase(), &Map::new(), "", 3, &[]),
            Key::from(blake3::hash(input.as_bytes()))
        );
        // A data asset's links: what its path references resolve to.
        let links = [("assets/a.wav".into(), "id-1".into())];
        let input = format!(
            "studio-packer/cache/v1\0{source}\0data\0json\0{{}}\0data@1\0pack@2\0zstd@3\0\0links\0assets/a.wav\0id-1"
        );
        assert_eq!(
            key(&source, Kind::Data, "json", &Map::new(), "", 3, &links),
            Key::from(blake3::hash(input.as_bytes()))
        );
    }

    fn meta(stored: &[u8]) -> StoredMeta {
        StoredMeta::describing(
            stored,
            stored,
            Format::Bytes,
            Compression::None,
            0,
            Image { width: 1, height: 2, vk_format: 0, levels: 0 },
            0,
        )
    }

    #[test]
    fn entries_survive_a_reopen_and_a_damaged_one_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let cache = LocalCache::open(dir.path());
        let (a, b) = ([1u8; 32], [2u8; 32]);
        cache.put(&a, &meta(b"first"), b"first").unwrap();
        cache.put(&b, &meta(b"second"), b"second").unwrap();
        assert_eq!(cache.read_stored(&b, &meta(b"second")).unwrap(), b"second");
        cache.finish(None).unwrap();

        let cache = LocalCache::open(dir.path());
        assert_eq!(cache.get(&a), Some(meta(b"first")));
        assert_eq!(cache.read_stored(&a, &meta(b"first")).unwrap(), b"first");
        // Damage one byte of `second` inside its segment.
        let seg = dir.path().join("cache/segments").join(segment_name(1));
        let mut bytes = std::fs::read(&seg).unwrap();
        bytes[6] ^= 0xff;
        std::fs::write(&seg, bytes).unwrap();
        let cache = LocalCache::open(dir.path());
        assert_eq!(cache.read_stored(&b, &meta(b"second")).unwrap_err().kind(), io::ErrorKind::InvalidData);
    }

    #[test]
    fn a_torn_index_is_an_empty_cache_and_unnamed_segments_go() {
        let dir = tempfile::tempdir().unwrap();
        let cache = LocalCache::open(dir.path());
        cache.put(&[1u8; 32], &meta(b"x"), b"x").unwrap();
        cache.finish(None).unwrap();
        let index = dir.path().join("cache").join(INDEX_FILE);
        let bytes = std::fs::read(&index).unwrap();
        std::fs::write(&index, &bytes[..bytes.len() - 1]).unwrap();
        // An old layout's folder and a segment of a build that died.
        std::fs::create_dir_all(dir.path().join("cache/ab")).unwrap();
        std::fs::write(dir.path().join("cache/segments").join(segment_name(9)), b"junk").unwrap();
        let cache = LocalCache::open(dir.path());
        assert_eq!(cache.get(&[1u8; 32]), None);
        cache.remove_unreferenced();
        assert!(!dir.path().join("cache/ab").exists());
        assert_eq!(std::fs::read_dir(dir.path().join("cache/segments")).unwrap().count(), 0);
    }

    #[test]
    fn segments_are_merged_when_there_are_too_many_and_nothing_is_lost() {
        let dir = tempfile::tempdir().unwrap();
        let builds = MAX_SMALL_SEGMENTS + 4;
        for i in 0..builds {
            let cache = LocalCache::open(dir.path());
            cache.remove_unreferenced();
            let bytes = format!("entry {i}");
            cache.put(&[i as u8; 32], &meta(bytes.as_bytes()), bytes.as_bytes()).unwrap();
            cache.finish(None).unwrap();
        }
        let segments = std::fs::read_dir(dir.path().join("cache/segments")).unwrap().count();
        assert!(segments <= MAX_SMALL_SEGMENTS, "{segments} segments");
        let cache = LocalCache::open(dir.path());
        for i in 0..builds {
            let bytes = format!("entry {i}");
            assert_eq!(cache.read_stored(&[i as u8; 32], &meta(bytes.as_bytes())).unwrap(), bytes.as_bytes());
        }
    }

    #[test]
    fn an_index_naming_bytes_past_its_segment_is_a_miss_not_an_allocation() {
        let dir = tempfile::tempdir().unwrap();
        let cache = LocalCache::open(dir.path());
        cache.put(&[1u8; 32], &meta(b"x"), b"x").unwrap();
        cache.finish(None).unwrap();
        let cache = LocalCache::open(dir.path());
        let huge = StoredMeta { length: u64::MAX / 2, ..meta(b"x") };
        let mut index = cache.index.clone();
        index.insert([1u8; 32], (Location { segment: 1, offset: 0, last_used: 0 }, huge.clone()));
        std::fs::write(dir.path().join("cache").join(INDEX_FILE), encode_index(&index)).unwrap();
        let cache = LocalCache::open(dir.path());
        assert_eq!(cache.read_stored(&[1u8; 32], &huge).unwrap_err().kind(), io::ErrorKind::InvalidData);
        // And an index too short for its header is no index.
        let mut short = INDEX_MAGIC.to_vec();
        short.extend_from_slice(&[1, 0]);
        let checksum = blake3::hash(&short);
        short.extend_from_slice(checksum.as_bytes());
        assert!(decode_index(&short).is_none());
    }

    #[test]
    fn the_index_is_deterministic() {
        let mut index = Index::new();
        for i in 0..50u8 {
            index.insert(
                [i; 32],
                (Location { segment: 1, offset: u64::from(i), last_used: u64::from(i) * 7 }, meta(&[i])),
            );
        }
        let bytes = encode_index(&index);
        assert_eq!(decode_index(&bytes).unwrap(), index);
        assert_eq!(encode_index(&decode_index(&bytes).unwrap()), bytes);
    }

    /// Puts one entry per build, each `len` bytes, used at time `t`.
    fn builds(dir: &Path, entries: &[(u8, usize, u64)]) {
        for (k, len, t) in entries {
            let cache = LocalCache::open(dir);
            let bytes = vec![*k; *len];
            cache.put(&[*k; 32], &meta(&bytes), &bytes).unwrap();
            cache.mark_used([[*k; 32]]);
            cache.finish_at(None, *t).unwrap();
        }
    }

    #[test]
    fn the_least_recently_used_entries_go_first_and_the_cache_fits_its_bound() {
        let dir = tempfile::tempdir().unwrap();
        builds(dir.path(), &[(1, 1000, 1_000), (2, 1000, 2_000), (3, 1000, 3_000), (4, 1000, 4_000)]);
        // Entry 1 is used again later than 2 and 3.
        let cache = LocalCache::open(dir.path());
        cache.mark_used([[1u8; 32]]);
        cache.finish_at(None, 5_000).unwrap();
        let cache = LocalCache::open(dir.path());
        assert_eq!(cache.stats().disk_bytes, 4000);
        assert_eq!((cache.stats().oldest_use, cache.stats().newest_use), (Some(2_000), Some(5_000)));

        // A build that uses entry 2 while the cache is over 2,500 bytes:
        // 3 goes (the oldest not in use), then 4; 2 (in use) and 1 stay.
        let cache = LocalCache::open(dir.path());
        cache.mark_used([[2u8; 32]]);
        let pruned = cache.finish_at(Some(2_500), 6_000).unwrap().unwrap();
        assert_eq!((pruned.evicted_entries, pruned.evicted_bytes), (2, 2000));
        assert_eq!((pruned.before_bytes, pruned.after_bytes, pruned.after_entries), (4000, 2000, 2));
        let cache = LocalCache::open(dir.path());
        let stats = cache.stats();
        assert_eq!((stats.entries, stats.bytes, stats.disk_bytes), (2, 2000, 2000));
        for k in [1u8, 2] {
            let bytes = vec![k; 1000];
            assert_eq!(cache.read_stored(&[k; 32], &meta(&bytes)).unwrap(), bytes, "entry {k} kept whole");
        }
        assert_eq!(cache.get(&[3u8; 32]), None);
        assert_eq!(cache.get(&[4u8; 32]), None);

        // A prune outside a build keeps nothing for being in use.
        let pruned = LocalCache::open(dir.path()).prune(1_000).unwrap();
        assert_eq!((pruned.evicted_entries, pruned.after_bytes), (1, 1000));
        let cache = LocalCache::open(dir.path());
        assert!(cache.get(&[1u8; 32]).is_none() && cache.get(&[2u8; 32]).is_some(), "2 was used last");
        let pruned = LocalCache::open(dir.path()).prune(0).unwrap();
        assert_eq!((pruned.after_entries, pruned.after_bytes), (0, 0));
        assert_eq!(std::fs::read_dir(dir.path().join("cache/segments")).unwrap().count(), 0);
    }

    #[test]
    fn uses_are_ordered_even_in_one_millisecond_and_an_older_index_is_an_empty_cache() {
        let dir = tempfile::tempdir().unwrap();
        builds(dir.path(), &[(1, 10, 1_000), (2, 10, 1_000)]);
        let cache = LocalCache::open(dir.path());
        assert_eq!((cache.stats().oldest_use, cache.stats().newest_use), (Some(1_000), Some(1_001)));
        assert!(
            LocalCache::open(dir.path()).finish_at(None, 5_000).unwrap().is_none(),
            "nothing used, nothing written"
        );
        let pruned = LocalCache::open(dir.path()).prune(10).unwrap();
        assert_eq!(pruned.evicted_entries, 1);
        assert!(LocalCache::open(dir.path()).get(&[2u8; 32]).is_some(), "the later use stays");
        let index = dir.path().join("cache").join(INDEX_FILE);
        let before = std::fs::read(&index).unwrap();

        // The same entries under an older version's number: not read.
        let mut older = before[..INDEX_HEADER].to_vec();
        older[8..12].copy_from_slice(&2u32.to_le_bytes());
        older.extend_from_slice(&before[INDEX_HEADER..before.len() - 32]);
        let checksum = blake3::hash(&older);
        older.extend_from_slice(checksum.as_bytes());
        std::fs::write(&index, older).unwrap();
        let cache = LocalCache::open(dir.path());
        assert!(cache.get(&[2u8; 32]).is_none());
        assert_eq!(cache.stats().entries, 0);
    }
}
