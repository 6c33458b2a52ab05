//! `studio-packer check`: the project as the packer would open it, looked at
//! read-only and reported like a compiler, for CI and pre-commit hooks.
//!
//! It loads through the same code as `Project::open` (`project::load`) and
//! reports the divergence items that `divergence::compute` finds and the
//! diagnostics assets carry, so what `check` calls a problem is what the
//! packer calls one. It takes no ownership, starts no watcher, writes no
//! journal and no cache: nothing is created or changed, not even under
//! `.packer/` (whose stat cache it reads, when there is one, to skip
//! hashing unchanged files). The files are the truth here: a registry
//! changed since a packer last saw it is simply the registry.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use serde::Serialize;

use crate::project::disk::statcache::StatCache;
use crate::project::disk::{sandbox, workspace};
use crate::project::format::manifest::{Manifest, ManifestError, MANIFEST_FILE};
use crate::project::format::registry::{self, RegistryError, REGISTRY_FILE};
use crate::project::model::{Asset, Diagnostic, Severity};
use crate::project::snapshot::divergence::{External, ItemKind};
use crate::project::snapshot::graph::{Graph, Maps};
use crate::project::snapshot::{Contents, Snapshot};

/// What `studio-packer check` found (`check --json` prints it). Each
/// finding is a `Diagnostic` that always names its file; `CheckFinding` is
/// its schema.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schemars(rename = "CheckReport")]
pub struct Report {
    /// No error findings.
    pub clean: bool,
    pub errors: usize,
    pub warnings: usize,
    /// Registered assets (0 when the registry cannot be read).
    pub assets: usize,
    /// Errors first, then by path and line.
    #[schemars(with = "Vec<crate::protocol::model::CheckFinding>")]
    pub findings: Vec<Diagnostic>,
}

impl Report {
    fn new(assets: usize, mut findings: Vec<Diagnostic>) -> Report {
        findings.sort_by(|a, b| (a.severity, &a.path, a.line).cmp(&(b.severity, &b.path, b.line)));
        let count = |s| findings.iter().filter(|f| f.severity == s).count();
        let (errors, warnings) = (count(Severity::Error), count(Severity::Warning));
        Report { clean: errors == 0, errors, warnings, assets, findings }
    }
}

fn error(code: &str, file: &str, line: Option<usize>, asset_id: Option<&str>, message: String) -> Diagnostic {
    Diagnostic::at(Severity::Error, code, message, file, line, None).with_asset(asset_id)
}

/// Checks the project at `root`. `Err` only when there is no project to
/// check (no such folder, or it cannot be read at all).
pub fn check(root: &Path) -> Result<Report, String> {
    let root = root.canonicalize().map_err(|e| format!("{}: {e}", root.display()))?;
    if !root.is_dir() {
        return Err(format!("{}: not a folder", root.display()));
    }
    let mut findings = Vec::new();
    // A state folder the packer would refuse (a link out of the project in
    // it) fails every open and build: a finding, and nothing in it is read.
    let state_dir = match crate::project::disk::state::inspect(&root) {
        Ok(dir) => dir,
        Err(refused) => {
            let file =
                Path::new(&refused.path).strip_prefix(&root).map_or(refused.path.clone(), |p| p.display().to_string());
            findings.push(error("stateFolderRefused", &file, None, None, refused.to_string()));
            None
        }
    };

    let manifest = match std::fs::read(root.join(MANIFEST_FILE)) {
        Ok(bytes) => match Manifest::parse(&String::from_utf8_lossy(&bytes), MANIFEST_FILE) {
            Ok(m) => Some(m),
            Err(ManifestError::Invalid { line, column, message, .. }) => {
                let (line, column) = (Some(line), Some(column));
                findings.push(Diagnostic::at(Severity::Error, "manifestInvalid", message, MANIFEST_FILE, line, column));
                None
            }
            Err(e) => {
                findings.push(error("manifestInvalid", MANIFEST_FILE, None, None, e.to_string()));
                None
            }
        },
        Err(e) => {
            let message = match e.kind() {
                std::io::ErrorKind::NotFound => "not found: a packer project needs a `packer.toml` at its root".into(),
                _ => format!("cannot be read: {e}"),
            };
            findings.push(error("manifestInvalid", MANIFEST_FILE, None, None, message));
            None
        }
    };

    let registry_path = root.join(REGISTRY_FILE);
    let text = match std::fs::read(&registry_path) {
        Ok(bytes) => Some(bytes),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Some(Vec::new()),
        Err(e) => {
            findings.push(error("registryInvalid", REGISTRY_FILE, None, None, format!("cannot be read: {e}")));
            None
        }
    };
    let parsed = text.as_deref().and_then(|bytes| match registry::parse_bytes(bytes, REGISTRY_FILE) {
        Ok(p) => Some(p),
        Err(_) => {
            // Every bad line and every duplicate, not only the first.
            for RegistryError::Invalid { line, message, .. } in registry::problems(bytes, REGISTRY_FILE) {
                findings.push(error("registryInvalid", REGISTRY_FILE, Some(line), None, message));
            }
            None
        }
    });
    let (Some(manifest), Some(parsed), Some(text)) = (manifest, parsed, text) else {
        // Without both files there is nothing to measure the disk against.
        return Ok(Report::new(0, findings));
    };
    let lines = Lines::of(&text);

    let sandbox = sandbox::Sandbox::open(&root).map_err(|e| format!("{}: {e}", root.display()))?;
    // The stat cache only saves hashing; it is read only from a state folder
    // that passed the check, and never written.
    let mut cache = state_dir.as_deref().map_or_else(StatCache::empty, StatCache::read);
    let scan = workspace::scan_in(&sandbox, &manifest);
    let conflicts = Arc::new(parsed.conflicts);
    let loaded = crate::project::load(&sandbox, scan, parsed.entries, &mut cache);
    let graph = Graph::build(&Maps { assets: &loaded.assets, by_path: &loaded.by_path });
    let contents = Contents {
        assets: loaded.assets,
        by_path: loaded.by_path,
        untracked: loaded.untracked,
        external: Arc::new(External::default()),
        conflicts: conflicts.clone(),
        graph,
    };
    let snap = Snapshot::new(0, Arc::new(manifest), contents, Arc::new(loaded.skipped));

    for item in snap.divergence.iter() {
        let asset_id = item.asset_id.as_deref();
        let line = asset_id.and_then(|id| lines.entry(id));
        let f = match item.kind {
            ItemKind::Modified => error(
                "modified",
                REGISTRY_FILE,
                line,
                asset_id,
                format!("`{}` changed on disk since it was registered (the registry has another hash)", item.path),
            ),
            ItemKind::Missing => {
                error("missing", REGISTRY_FILE, line, asset_id, format!("`{}` is registered but missing", item.path))
            }
            ItemKind::Moved => error(
                "moved",
                REGISTRY_FILE,
                line,
                asset_id,
                format!(
                    "`{}` is registered but missing; its content is at `{}`, not registered",
                    item.path,
                    item.detail["to"].as_str().unwrap_or_default()
                ),
            ),
            ItemKind::Untracked => error(
                "untracked",
                &item.path,
                None,
                None,
                "not registered: register it, or exclude it in packer.toml".into(),
            ),
            ItemKind::RegistryConflict => {
                // The item of the n-th record is on the n-th record's line.
                let n =
                    conflicts.iter().position(|c| crate::project::snapshot::divergence::conflict_item_id(c) == item.id);
                let describe = n.map(|n| conflicts[n].describe()).unwrap_or_default();
                error(
                    "registryConflict",
                    REGISTRY_FILE,
                    n.and_then(|n| lines.conflicts.get(n).copied()),
                    asset_id,
                    format!("an unresolved merge conflict ({describe}): reconcile it with ours or theirs"),
                )
            }
            // A check has no earlier state to differ from.
            ItemKind::RegistryChanged | ItemKind::ManifestChanged => continue,
        };
        findings.push(f);
    }
    // What the build would say of each asset itself: its place, and (for one
    // that is where the registry says and as it says) what processing its
    // content gives.
    let assets: Vec<Arc<Asset>> = snap.contents.assets.values().cloned().collect();
    let build_problems =
        crate::build::asset_problems(&sandbox, state_dir.as_deref(), &snap.manifest, &snap.contents.maps(), &assets);
    // Each asset's own, its broken references at their lines included.
    let of_assets: Vec<Diagnostic> =
        snap.contents.assets.values().flat_map(|a| snap.asset_view(a).diagnostics.clone()).collect();
    let diagnostics = of_assets.iter().chain(snap.project_diagnostics.iter()).chain(build_problems.iter());
    for d in diagnostics {
        if d.severity == Severity::Info {
            continue;
        }
        // A finding always names its file: the project's own is packer.toml.
        let path = Some(d.path.clone().unwrap_or_else(|| MANIFEST_FILE.into()));
        findings.push(Diagnostic { path, ..d.clone() });
    }
    Ok(Report::new(snap.contents.assets.len(), findings))
}

/// Where each entry and each conflict record is in the registry file.
struct Lines {
    entries: HashMap<String, usize>,
    conflicts: Vec<usize>,
}

impl Lines {
    /// The packer writes the id first on each entry's line, and ids are
    /// plain ASCII, so the line of an id is found without parsing JSON.
    fn of(text: &[u8]) -> Lines {
        let mut lines = Lines { entries: HashMap::new(), conflicts: Vec::new() };
        for (i, line) in text.split(|b| *b == b'\n').enumerate() {
            if let Some(rest) = line.strip_prefix(br#"{"id":""#) {
                if let Some(end) = rest.iter().position(|b| *b == b'"') {
                    lines.entries.insert(String::from_utf8_lossy(&rest[..end]).into_owned(), i + 1);
                }
            } else if registry::is_conflict_record(line) {
                lines.conflicts.push(i + 1);
            }
        }
        lines
    }

    fn entry(&self, id: &str) -> Option<usize> {
        self.entries.get(id).copied()
    }
}
