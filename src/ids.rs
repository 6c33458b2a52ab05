//! Identifiers: asset ids, project ids and operation ids.
//!
//! Asset ids are 128 random bits so that two people registering files on two
//! branches never mint the same id; they are rendered in lowercase Crockford
//! base32 (26 characters) so they sort, copy and diff cleanly in the registry.

use std::path::Path;

const ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";

fn base32(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 8 / 5 + 1);
    let mut acc: u32 = 0;
    let mut bits = 0;
    for &b in bytes {
        acc = (acc << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(ALPHABET[((acc >> bits) & 31) as usize] as char);
        }
    }
    if bits > 0 {
        out.push(ALPHABET[((acc << (5 - bits)) & 31) as usize] as char);
    }
    out
}

fn random_bytes<const N: usize>() -> [u8; N] {
    let mut buf = [0u8; N];
    // The operating system's generator only fails on a broken system; an id
    // made from a clock instead could collide, so refusing to go on is right.
    getrandom::fill(&mut buf).expect("the operating system's random generator failed");
    buf
}

/// A new asset id: 128 random bits.
pub fn new_asset_id() -> String {
    base32(&random_bytes::<16>())
}

/// A new operation id: 80 random bits, unique across restarts of the journal.
pub fn new_operation_id() -> String {
    format!("op-{}", base32(&random_bytes::<10>()))
}

/// The project id for a canonical root: the same root always gives the same id,
/// in this process and in any other, which lets several processes agree on it.
pub fn project_id(canonical_root: &Path) -> String {
    let hash = blake3::hash(canonical_root.as_os_str().as_encoded_bytes());
    format!("p-{}", &hash.to_hex()[..16])
}

/// Whether `s` has the shape of an operation id (`op-` and 1 to 60 letters or digits).
pub fn is_operation_id(s: &str) -> bool {
    s.strip_prefix("op-")
        .is_some_and(|rest| !rest.is_empty() && rest.len() <= 60 && rest.bytes().all(|b| b.is_ascii_alphanumeric()))
}

/// Whether `s` has the shape of an asset id (used to validate hand-edited registries).
pub fn is_asset_id(s: &str) -> bool {
    !s.is_empty() && s.len() <= 64 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn asset_ids_are_26_chars_and_distinct() {
        let a = new_asset_id();
        let b = new_asset_id();
        assert_eq!(a.len(), 26);
        assert_ne!(a, b);
        assert!(is_asset_id(&a));
    }

    #[test]
    fn base32_known_value() {
        assert_eq!(base32(&[0xff]), "zw");
        assert_eq!(base32(&[0, 0, 0, 0, 0]), "00000000");
    }

    #[test]
    fn project_id_is_stable() {
        assert_eq!(project_id(Path::new("/a/b")), project_id(Path::new("/a/b")));
        assert_ne!(project_id(Path::new("/a/b")), project_id(Path::new("/a/c")));
    }
}
