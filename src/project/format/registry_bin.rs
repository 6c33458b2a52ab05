//! `.packer/registry.bin`: the registry as last parsed, in a binary form,
//! under the hash of the registry file it came from.
//!
//! Parsing `packer.registry.jsonl` is JSON per asset (about 2 µs each, and
//! at 100,000 assets the longest part of an open after the walk). When the
//! file hashes as it did when the copy was made, the copy is read instead:
//! the same entries, in the same order, at a fraction of the cost. The file
//! remains the one truth: the copy is only ever made from a file that
//! parsed, is checked by its own checksum, and is used only for exactly the
//! bytes it was made from. Missing, damaged or stale, the file is parsed.

use std::path::Path;
use std::sync::Arc;

use serde_json::{Map, Value};

use super::registry::{self, Parsed, RegistryError};
use crate::binary::Reader;
use crate::hash::ContentHash;
use crate::project::model::{Entry, Kind};

const FILE: &str = "registry.bin";
const MAGIC: &[u8; 8] = b"SPREG\0\0\0";
const VERSION: u32 = 1;

/// The registry file's entries (or why it does not parse) and the hash of
/// its bytes, from the copy when it is current, otherwise by parsing it
/// (and then making the copy). A missing file is an empty registry.
pub fn read(state_dir: &Path, path: &Path, file: &str) -> std::io::Result<(Result<Parsed, RegistryError>, String)> {
    let copy = state_dir.join(FILE);
    let now = match std::fs::File::open(path) {
        Ok(f) => {
            let mut hasher = blake3::Hasher::new();
            hasher.update_reader(f)?;
            hasher.finalize()
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => blake3::hash(b""),
        Err(e) => return Err(e),
    };
    if let Some(entries) = std::fs::read(&copy).ok().and_then(|bytes| decode(&bytes, now.as_bytes())) {
        return Ok((Ok(Parsed { entries, conflicts: Vec::new() }), now.to_hex().to_string()));
    }
    let (parsed, hash) = registry::read(path, file)?;
    // A file with conflict records is read as text until they are resolved
    // (the copy holds entries only).
    if let Ok(Parsed { entries, conflicts }) = &parsed {
        if !conflicts.is_empty() {
            return Ok((parsed, hash));
        }
        if let Some(h) = ContentHash::from_hex(&hash) {
            // Unsynced, as every cache: a lost copy only means parsing again.
            if let Err(e) = crate::fsutil::replace_unsynced(&copy, &encode(entries, h.as_bytes())) {
                tracing::debug!(error = %e, "cannot write the registry's binary copy");
            }
        }
    }
    Ok((parsed, hash))
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(&(s.len() as u32).to_le_bytes());
    out.extend_from_slice(s.as_bytes());
}

/// Magic, version, the registry file's hash, the entry count, the entries,
/// then a BLAKE3 checksum of all of it.
fn encode(entries: &[Entry], source: &[u8; 32]) -> Vec<u8> {
    let mut out = Vec::with_capacity(64 + entries.len() * 160);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&VERSION.to_le_bytes());
    out.extend_from_slice(source);
    out.extend_from_slice(&(entries.len() as u32).to_le_bytes());
    for e in entries {
        put_str(&mut out, &e.id);
        put_str(&mut out, &e.path);
        out.push(e.kind.code());
        out.extend_from_slice(e.hash.as_bytes());
        out.extend_from_slice(&e.size.to_le_bytes());
        out.extend_from_slice(&(e.tags.len() as u32).to_le_bytes());
        for t in &e.tags {
            put_str(&mut out, t);
        }
        // Settings are rare: kept as their JSON text, empty when there are none.
        let settings = if e.settings.is_empty() {
            String::new()
        } else {
            serde_json::to_string(&e.settings).expect("settings serialise")
        };
        put_str(&mut out, &settings);
    }
    let checksum = blake3::hash(&out);
    out.extend_from_slice(checksum.as_bytes());
    out
}

/// The entries, if `bytes` is a whole copy made from a file hashing `source`.
/// Settings go through JSON text and back: exact, floats included, because
/// serde_json is built with `float_roundtrip`. The copy was checked by the
/// registry's rules when it was made: a change to those rules must change
/// `VERSION`, so that copies made under the old ones are not used.
fn decode(bytes: &[u8], source: &[u8; 32]) -> Option<Vec<Entry>> {
    let body = bytes.get(..bytes.len().checked_sub(32)?)?;
    let mut r = Reader::new(body);
    if r.take(8)? != MAGIC || r.u32()? != VERSION || r.take(32)? != source {
        return None;
    }
    // Checked only once the copy is known to be of this very file.
    if blake3::hash(body).as_bytes() != &bytes[body.len()..] {
        return None;
    }
    let text = |r: &mut Reader<'_>| r.text(|r| r.u32().map(|n| n as usize)).map(str::to_owned);
    let shared = |r: &mut Reader<'_>| r.text(|r| r.u32().map(|n| n as usize)).map(Arc::<str>::from);
    let count = r.u32()? as usize;
    let mut entries = Vec::with_capacity(count.min(body.len() / 60));
    for _ in 0..count {
        let id = shared(&mut r)?;
        let path = shared(&mut r)?;
        let kind = Kind::from_code(r.u8()?)?;
        let hash = ContentHash::from_bytes(r.array()?);
        let size = r.u64()?;
        let tags = (0..r.u32()?).map(|_| text(&mut r)).collect::<Option<Vec<String>>>()?;
        let settings = text(&mut r)?;
        let settings: Map<String, Value> =
            if settings.is_empty() { Map::new() } else { serde_json::from_str(&settings).ok()? };
        entries.push(Entry { id, path, kind, hash, size, tags, settings: settings.into() });
    }
    r.is_empty().then_some(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn registry(dir: &Path) -> std::path::PathBuf {
        let entry = |id: &str, path: &str, tags: Vec<String>, settings: Map<String, Value>| Entry {
            id: id.into(),
            path: path.into(),
            kind: Kind::Text,
            hash: ContentHash::of(path.as_bytes()),
            size: 3,
            tags,
            settings: settings.into(),
        };
        let mut settings = Map::new();
        settings.insert("scale".into(), Value::from(2));
        // Floats must come back exactly (serde_json's `float_roundtrip`).
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for i in 0..200 {
            x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            let f = f64::from_bits((x >> 12) | 0x3ff0_0000_0000_0000) - 1.0;
            settings.insert(format!("f{i}"), serde_json::json!(f * 1e3));
        }
        let entries = [
            entry("01J0000000000000000000000A", "assets/a.txt", vec!["ui".into(), "x".into()], Map::new()),
            entry("01J0000000000000000000000B", "assets/b é.txt", Vec::new(), settings),
        ];
        let path = dir.join(registry::REGISTRY_FILE);
        std::fs::write(&path, registry::render(&entries)).unwrap();
        path
    }

    #[test]
    fn the_copy_gives_what_parsing_gives_and_only_for_the_bytes_it_was_made_from() {
        let dir = tempfile::tempdir().unwrap();
        let path = registry(dir.path());
        let parsed = registry::read(&path, "r").unwrap();
        let first = read(dir.path(), &path, "r").unwrap();
        assert!(dir.path().join(FILE).exists(), "parsing made the copy");
        let second = read(dir.path(), &path, "r").unwrap();
        assert_eq!((first.0.as_ref().unwrap(), &first.1), (parsed.0.as_ref().unwrap(), &parsed.1));
        assert_eq!((second.0.as_ref().unwrap(), &second.1), (parsed.0.as_ref().unwrap(), &parsed.1));

        // The file changes: it is parsed again, whatever the copy says.
        let text = std::fs::read_to_string(&path).unwrap().replace("\"ui\"", "\"hud\"");
        std::fs::write(&path, &text).unwrap();
        let (entries, hash) = read(dir.path(), &path, "r").unwrap();
        assert_eq!(entries.unwrap().entries[0].tags, vec!["hud".to_string(), "x".to_string()]);
        assert_eq!(hash, registry::content_hash(text.as_bytes()));

        // A damaged copy is not used.
        let copy = dir.path().join(FILE);
        let mut bytes = std::fs::read(&copy).unwrap();
        let n = bytes.len();
        bytes[n - 40] ^= 1;
        assert_eq!(decode(&bytes, blake3::hash(text.as_bytes()).as_bytes()), None);
        std::fs::write(&copy, &bytes).unwrap();
        assert_eq!(read(dir.path(), &path, "r").unwrap().0.unwrap().entries[0].tags[0], "hud");

        // A file with conflict records is read as text, records and all, and
        // never copied (the copy holds entries only).
        std::fs::remove_file(&copy).unwrap();
        std::fs::write(&path, format!("{text}{}\n", r#"{"conflict":"deleted","base":[],"ours":[],"theirs":[]}"#))
            .unwrap();
        let parsed = read(dir.path(), &path, "r").unwrap().0.unwrap();
        assert_eq!((parsed.entries.len(), parsed.conflicts.len()), (2, 1));
        assert!(!copy.exists());

        // A file that does not parse is reported, and leaves no copy behind for it.
        std::fs::write(&path, "{oops\n").unwrap();
        assert!(read(dir.path(), &path, "r").unwrap().0.is_err());
    }
}
