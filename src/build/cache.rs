//! The local processing cache under `.packer/cache`: processed (and
//! compressed) entries keyed by everything that decides their bytes, so an
//! unchanged asset is never processed twice.
//!
//! An entry is one file: a JSON line describing it, then the stored bytes.
//! It is written to a temporary file and renamed into place, so a reader
//! never sees half an entry; its stored bytes are hashed and checked on
//! every read, so a damaged entry is a miss, never a wrong pack.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::pack::{self, Compression, Format};
use crate::project::workspace::Kind;

/// What a cache entry holds, besides its bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredMeta {
    pub format: u8,
    pub compression: u8,
    pub level: u8,
    pub width: u32,
    pub height: u32,
    /// Stored bytes.
    pub length: u64,
    pub raw_length: u64,
    /// blake3 of the raw (decompressed) bytes.
    pub hash: String,
    /// blake3 of the stored bytes, checked on read.
    pub stored_hash: String,
}

impl StoredMeta {
    pub fn format(&self) -> Format {
        match self.format {
            1 => Format::Png,
            2 => Format::Rgba8,
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

    pub fn hash_bytes(&self) -> [u8; 32] {
        let mut out = [0u8; 32];
        for (i, chunk) in self.hash.as_bytes().chunks(2).enumerate().take(32) {
            out[i] = u8::from_str_radix(std::str::from_utf8(chunk).unwrap_or("00"), 16).unwrap_or(0);
        }
        out
    }
}

/// The key of a processed entry: every input that decides its bytes.
pub fn key(source_hash: &str, kind: Kind, ext: &str, settings: &Map<String, Value>, level: i32) -> String {
    let (name, version) = super::process::processor(kind);
    // serde_json's map is sorted, so equal settings give equal text.
    let canonical = serde_json::to_string(settings).expect("settings serialise");
    // The extension matters too: the same bytes as `.json` are minified, as `.yml` copied.
    let input = format!(
        "studio-packer/cache/v1\0{source_hash}\0{}\0{ext}\0{canonical}\0{name}@{version}\0pack@{}\0zstd@{level}",
        kind.as_str(),
        pack::VERSION
    );
    blake3::hash(input.as_bytes()).to_hex().to_string()
}

/// Entries are written here first, then renamed into their folder.
const TMP_DIR: &str = "tmp";

pub struct LocalCache {
    dir: PathBuf,
}

impl LocalCache {
    pub fn new(state_dir: &Path) -> LocalCache {
        LocalCache { dir: state_dir.join("cache") }
    }

    /// Removes what a killed build left half written (one folder, so that
    /// this never has to walk the whole cache). Only while no build runs.
    pub fn remove_stale_temps(&self) {
        let _ = std::fs::remove_dir_all(self.dir.join(TMP_DIR));
    }

    fn path(&self, key: &str) -> PathBuf {
        self.dir.join(&key[..2]).join(key)
    }

    /// The entry's description, when it is there and whole.
    pub fn get(&self, key: &str) -> Option<StoredMeta> {
        let path = self.path(key);
        let file = File::open(&path).ok()?;
        let len = file.metadata().ok()?.len();
        let mut reader = BufReader::new(file);
        let mut line = String::new();
        reader.read_line(&mut line).ok()?;
        let meta: StoredMeta = serde_json::from_str(line.trim_end()).ok()?;
        (line.len() as u64 + meta.length == len).then_some(meta)
    }

    /// The stored bytes of an entry, checked against its description.
    pub fn read_stored(&self, key: &str, meta: &StoredMeta) -> io::Result<Vec<u8>> {
        let mut reader = BufReader::new(File::open(self.path(key))?);
        let mut line = String::new();
        reader.read_line(&mut line)?;
        let mut bytes = Vec::with_capacity(meta.length as usize);
        reader.read_to_end(&mut bytes)?;
        if blake3::hash(&bytes).to_hex().as_str() != meta.stored_hash {
            return Err(io::Error::new(io::ErrorKind::InvalidData, format!("cache entry {key} is damaged")));
        }
        Ok(bytes)
    }

    /// Stores an entry (atomically: a reader sees all of it or nothing).
    pub fn put(&self, key: &str, meta: &StoredMeta, stored: &[u8]) -> io::Result<()> {
        let path = self.path(key);
        let dir = path.parent().expect("an entry path has a folder");
        std::fs::create_dir_all(dir)?;
        let tmp_dir = self.dir.join(TMP_DIR);
        std::fs::create_dir_all(&tmp_dir)?;
        let mut tmp = tempfile::Builder::new().prefix(crate::fsutil::TEMP_PREFIX).tempfile_in(tmp_dir)?;
        let mut line = serde_json::to_vec(meta)?;
        line.push(b'\n');
        tmp.write_all(&line)?;
        tmp.write_all(stored)?;
        tmp.persist(&path).map_err(|e| e.error)?;
        Ok(())
    }
}
