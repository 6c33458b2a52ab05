//! The action record under `ac/<key>`: what the processed entry is, and
//! the name of its bytes under `cas/<hash>`. Small JSON, readable by
//! whoever looks into the bucket.

use serde::{Deserialize, Serialize};

use crate::build::cache::{Key, StoredMeta};
use crate::build::pack::Image;
use crate::hash::{hex, ContentHash};

const VERSION: u32 = 2;

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Record {
    version: u32,
    key: String,
    /// blake3 of the stored bytes: the blob's name under `cas/`.
    blob: String,
    format: u8,
    compression: u8,
    level: u8,
    width: u32,
    height: u32,
    /// A GPU texture's `VkFormat` and mip levels (0 for anything else).
    vk_format: u32,
    levels: u32,
    /// Level 0's PSNR in hundredths of a dB (0: none).
    psnr_cdb: u32,
    length: u64,
    raw_length: u64,
    /// blake3 of the raw (decompressed) bytes.
    hash: String,
}

pub fn ac_name(key: &Key) -> String {
    format!("ac/{}", hex(key))
}

pub fn cas_name(stored_hash: &[u8; 32]) -> String {
    format!("cas/{}", hex(stored_hash))
}

pub fn encode(key: &Key, meta: &StoredMeta) -> Vec<u8> {
    let record = Record {
        version: VERSION,
        key: hex(key),
        blob: hex(&meta.stored_hash),
        format: meta.format,
        compression: meta.compression,
        level: meta.level,
        width: meta.image.width,
        height: meta.image.height,
        vk_format: meta.image.vk_format,
        levels: meta.image.levels,
        psnr_cdb: meta.psnr_cdb,
        length: meta.length,
        raw_length: meta.raw_length,
        hash: hex(&meta.hash),
    };
    serde_json::to_vec(&record).expect("a record serialises")
}

fn hash_of(text: &str, field: &str) -> Result<[u8; 32], String> {
    ContentHash::from_hex(text).map(|h| *h.as_bytes()).ok_or_else(|| format!("`{field}` is not a hash"))
}

/// The entry a record describes, checked to be one of `key`'s.
pub fn decode(key: &Key, bytes: &[u8]) -> Result<StoredMeta, String> {
    let r: Record = serde_json::from_slice(bytes).map_err(|e| format!("the action record does not decode: {e}"))?;
    if r.version != VERSION {
        return Err(format!("the action record has version {}, not {VERSION}", r.version));
    }
    if r.key != hex(key) {
        return Err("the action record is another key's".into());
    }
    if r.format > 3 || r.compression > 1 {
        return Err("the action record names an unknown format or compression".into());
    }
    Ok(StoredMeta {
        format: r.format,
        compression: r.compression,
        level: r.level,
        image: Image { width: r.width, height: r.height, vk_format: r.vk_format, levels: r.levels },
        psnr_cdb: r.psnr_cdb,
        length: r.length,
        raw_length: r.raw_length,
        hash: hash_of(&r.hash, "hash")?,
        stored_hash: hash_of(&r.blob, "blob")?,
    })
}

/// Checks downloaded bytes against their record: the stored bytes' hash,
/// and the raw bytes' length and hash (so that a pack's table of contents
/// never carries a hash its data does not have).
pub fn verify(meta: &StoredMeta, stored: &[u8]) -> Result<(), String> {
    if stored.len() as u64 != meta.length || blake3::hash(stored).as_bytes() != &meta.stored_hash {
        return Err("the blob's bytes do not match their hash".into());
    }
    if meta.compression == 0 {
        if meta.raw_length != meta.length || meta.hash != meta.stored_hash {
            return Err("the action record's raw hash is not its blob's".into());
        }
        return Ok(());
    }
    let cap = usize::try_from(meta.raw_length).map_err(|_| "the raw length is too large".to_string())?;
    let raw = zstd::bulk::decompress(stored, cap).map_err(|e| format!("the blob does not decompress: {e}"))?;
    if raw.len() as u64 != meta.raw_length || blake3::hash(&raw).as_bytes() != &meta.hash {
        return Err("the blob's decompressed bytes do not match the action record".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::build::pack::{Compression, Format};

    fn meta_of(raw: &[u8], stored: &[u8], compression: u8) -> StoredMeta {
        let compression = if compression == 1 { Compression::Zstd } else { Compression::None };
        StoredMeta::describing(raw, stored, Format::Bytes, compression, 3, Image::default(), 0)
    }

    #[test]
    fn a_record_round_trips_and_is_checked_against_its_key_and_blob() {
        let raw = b"hello hello hello hello hello hello".repeat(10);
        let stored = zstd::bulk::compress(&raw, 3).unwrap();
        let meta = meta_of(&raw, &stored, 1);
        let key = [7u8; 32];
        let bytes = encode(&key, &meta);
        assert_eq!(decode(&key, &bytes).unwrap(), meta);
        assert!(decode(&[8u8; 32], &bytes).unwrap_err().contains("another key"));
        assert!(decode(&key, b"{\"version\":1}").is_err());
        verify(&meta, &stored).unwrap();
        let mut tampered = stored.clone();
        tampered[3] ^= 1;
        assert!(verify(&meta, &tampered).is_err());
        // A record whose raw hash lies about a well-formed blob.
        let lying = StoredMeta { hash: [0; 32], ..meta.clone() };
        assert!(verify(&lying, &stored).unwrap_err().contains("decompressed"));
        let plain = meta_of(b"abc", b"abc", 0);
        verify(&plain, b"abc").unwrap();
        assert!(verify(&StoredMeta { hash: [1; 32], ..plain }, b"abc").is_err());
    }
}
