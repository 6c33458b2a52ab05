//! What the packer last knew of its own files, kept under `.packer/`.
//!
//! A registry or manifest changed while no packer was running (a `git pull`
//! between two sessions) must be reported exactly like one changed while it
//! runs: as `registryChanged` / `manifestChanged`, not silently loaded. So the
//! packer keeps a copy of each as it last wrote or accepted it, and opening
//! compares the files with those copies.

use std::path::Path;
use std::sync::Arc;

use super::format::manifest::{Manifest, ManifestError, MANIFEST_FILE};
use super::format::registry::{self, Parsed, REGISTRY_FILE};
use super::snapshot::divergence::RegistryChange;
use super::OpenError;

const LAST_REGISTRY: &str = "registry.last.jsonl";
const LAST_MANIFEST: &str = "manifest.last.toml";

/// Keeps a copy of what the packer now takes a project file to be. A copy
/// is only a reference: it is replaced atomically but not synced (losing it
/// loses only the detection of an offline change, never data).
fn remember(state_dir: &Path, name: &str, bytes: &[u8]) {
    if let Err(e) = crate::fsutil::replace_unsynced(&state_dir.join(name), bytes) {
        tracing::warn!(file = name, error = %e, "cannot keep a reference copy; offline changes to it will not be detected");
    }
}

pub fn remember_registry(state_dir: &Path, bytes: &[u8]) {
    remember(state_dir, LAST_REGISTRY, bytes);
}

pub fn remember_manifest(state_dir: &Path, bytes: &[u8]) {
    remember(state_dir, LAST_MANIFEST, bytes);
}

/// `packer.toml` as opening takes it.
pub struct ManifestBaseline {
    pub manifest: Manifest,
    pub manifest_hash: String,
    pub manifest_changed: bool,
}

/// `packer.registry.jsonl` as opening takes it.
pub struct RegistryBaseline {
    pub registry: Parsed,
    pub registry_hash: String,
    /// The registry file differs from the packer's copy: what it holds now.
    pub registry_on_disk: Option<RegistryOnDisk>,
}

/// The registry file as found, when it differs from the packer's copy.
pub struct RegistryOnDisk {
    /// What it holds, or why it cannot be read.
    pub parsed: Result<Arc<Parsed>, String>,
    pub hash: String,
}

fn read_optional(path: &Path) -> std::io::Result<Option<Vec<u8>>> {
    match std::fs::read(path) {
        Ok(b) => Ok(Some(b)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// The manifest: the file, or the packer's copy when the file changed
/// while no packer ran (then `manifest_changed`).
pub fn load_manifest(root: &Path, state_dir: &Path) -> Result<ManifestBaseline, OpenError> {
    let io = |path: &Path, source| OpenError::Io { path: path.display().to_string(), source };
    let manifest_path = root.join(MANIFEST_FILE);
    let manifest_file = manifest_path.display().to_string();
    let Some(manifest_bytes) = read_optional(&manifest_path).map_err(|e| io(&manifest_path, e))? else {
        return Err(ManifestError::Missing { file: manifest_file }.into());
    };
    let manifest_hash_now = registry::content_hash(&manifest_bytes);
    let last_manifest = read_optional(&state_dir.join(LAST_MANIFEST)).ok().flatten();
    let parse_manifest =
        |bytes: &[u8]| Manifest::parse(&String::from_utf8_lossy(bytes), &manifest_file).map_err(OpenError::from);
    let (manifest, manifest_hash, manifest_changed) = match last_manifest {
        Some(last) if registry::content_hash(&last) != manifest_hash_now => match parse_manifest(&last) {
            Ok(m) => (m, registry::content_hash(&last), true),
            // A damaged copy is no reference: take the file.
            Err(_) => (parse_manifest(&manifest_bytes)?, manifest_hash_now, false),
        },
        Some(_) => (parse_manifest(&manifest_bytes)?, manifest_hash_now, false),
        None => {
            let m = parse_manifest(&manifest_bytes)?;
            remember_manifest(state_dir, &manifest_bytes);
            (m, manifest_hash_now, false)
        }
    };

    Ok(ManifestBaseline { manifest, manifest_hash, manifest_changed })
}

/// The registry: the file, or the packer's copy when the file changed while
/// no packer ran (then `registry_on_disk` holds what the file says).
pub fn load_registry(root: &Path, state_dir: &Path) -> Result<RegistryBaseline, OpenError> {
    let io = |path: &Path, source| OpenError::Io { path: path.display().to_string(), source };
    let registry_path = root.join(REGISTRY_FILE);
    let registry_file = registry_path.display().to_string();
    let (parsed, registry_hash_now) = super::format::registry_bin::read(state_dir, &registry_path, &registry_file)
        .map_err(|e| io(&registry_path, e))?;
    // The copy is hashed as it streams by, and read whole only when it
    // differs: at 100,000 assets a second copy in memory is 20 MB.
    let last_path = state_dir.join(LAST_REGISTRY);
    let last_hash = std::fs::File::open(&last_path).ok().and_then(|f| {
        let mut hasher = blake3::Hasher::new();
        hasher.update_reader(f).ok()?;
        Some(hasher.finalize().to_hex().to_string())
    });
    let copy_is_current = last_hash.as_deref() == Some(registry_hash_now.as_str());
    let known = last_hash
        .filter(|_| !copy_is_current)
        .and_then(|hash| Some((read_optional(&last_path).ok().flatten()?, hash)))
        .and_then(|(last, hash)| registry::parse_bytes(&last, &registry_file).ok().map(|parsed| (parsed, hash)));
    match known {
        Some((known, hash)) => {
            let on_disk = parsed.map(Arc::new).map_err(|e| e.to_string());
            Ok(RegistryBaseline {
                registry: known,
                registry_hash: hash,
                registry_on_disk: Some(RegistryOnDisk { parsed: on_disk, hash: registry_hash_now }),
            })
        }
        None => {
            let registry = parsed?;
            if !copy_is_current {
                // The copy is of the bytes just parsed: if the file changed
                // since, no copy is made, and the next open compares again.
                let bytes = read_optional(&registry_path).ok().flatten().unwrap_or_default();
                if registry::content_hash(&bytes) == registry_hash_now {
                    remember_registry(state_dir, &bytes);
                }
            }
            Ok(RegistryBaseline { registry, registry_hash: registry_hash_now, registry_on_disk: None })
        }
    }
}

/// The `registryChanged` state for what `load` found, once assets exist.
pub fn registry_change(
    on_disk: Option<RegistryOnDisk>,
    assets: &imbl::OrdMap<Arc<str>, Arc<super::model::Asset>>,
) -> Option<RegistryChange> {
    let RegistryOnDisk { parsed, hash } = on_disk?;
    let detail = match &parsed {
        Ok(p) => super::snapshot::divergence::registry_diff(assets, p),
        Err(message) => serde_json::json!({ "error": message }),
    };
    Some(RegistryChange { parsed, detail, hash })
}
