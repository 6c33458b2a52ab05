//! `ContentHash`: the BLAKE3 hash of a file's bytes, as the packer keeps it.
//!
//! In memory it is its 32 bytes; on the wire and in the registry it is 64
//! lowercase hex digits. Held as text, each hash cost 88 bytes and an
//! allocation, and the packer keeps several per asset.

use std::fmt;

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ContentHash([u8; 32]);

impl ContentHash {
    /// The hash of `bytes`.
    pub fn of(bytes: &[u8]) -> ContentHash {
        ContentHash(*blake3::hash(bytes).as_bytes())
    }

    pub const fn from_bytes(bytes: [u8; 32]) -> ContentHash {
        ContentHash(bytes)
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Parses 64 hex digits (either case); anything else is `None`.
    pub fn from_hex(text: &str) -> Option<ContentHash> {
        blake3::Hash::from_hex(text).ok().map(ContentHash::from)
    }

    /// The 64 hex digits, without an allocation.
    pub fn to_hex(&self) -> impl std::ops::Deref<Target = str> + fmt::Display {
        blake3::Hash::from_bytes(self.0).to_hex()
    }
}

impl From<blake3::Hash> for ContentHash {
    fn from(h: blake3::Hash) -> ContentHash {
        ContentHash(*h.as_bytes())
    }
}

/// Lowercase hex of any 32-byte digest, for people and for JSON.
pub fn hex(bytes: &[u8; 32]) -> String {
    blake3::Hash::from_bytes(*bytes).to_hex().to_string()
}

impl fmt::Display for ContentHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(blake3::Hash::from_bytes(self.0).to_hex().as_str())
    }
}

impl fmt::Debug for ContentHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl Serialize for ContentHash {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(blake3::Hash::from_bytes(self.0).to_hex().as_str())
    }
}

impl<'de> Deserialize<'de> for ContentHash {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<ContentHash, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        ContentHash::from_hex(&text).ok_or_else(|| {
            serde::de::Error::custom(format_args!("`{text}` is not a content hash (64 hex digits of BLAKE3)"))
        })
    }
}

impl schemars::JsonSchema for ContentHash {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "ContentHash".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "A BLAKE3 hash of a file's bytes, in lowercase hex.",
            "type": "string",
            "pattern": "^[0-9a-f]{64}$"
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn is_hex_on_the_wire_and_refuses_anything_else() {
        let h = ContentHash::of(b"abc");
        let json = serde_json::to_string(&h).unwrap();
        assert_eq!(json, format!("\"{}\"", blake3::hash(b"abc").to_hex()));
        assert_eq!(serde_json::from_str::<ContentHash>(&json).unwrap(), h);
        assert_eq!(h.to_string(), &*h.to_hex());
        let err = serde_json::from_str::<ContentHash>("\"00\"").unwrap_err().to_string();
        assert!(err.contains("`00` is not a content hash"), "{err}");
    }
}
