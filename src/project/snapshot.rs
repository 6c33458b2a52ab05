//! The immutable snapshot every read is answered from.
//!
//! A snapshot is a whole, coherent view of one project at one `generation`.
//! Only the project's writer lane makes new ones, and it publishes each in a
//! single atomic pointer swap, so a read sees all of a mutation or none of it.
//! The maps are persistent (structure-sharing), so making generation n + 1
//! from n after a one-asset change costs O(log n), not a copy of every asset.

use std::collections::BTreeMap;
use std::sync::Arc;

use imbl::OrdMap;
use serde::Serialize;

use super::divergence::{self, External, Item, Untracked};
use super::manifest::Manifest;
use super::merge::Conflict;
use super::registry::Entry;
use super::workspace::{Kind, Metadata, Observed};
use crate::hash::ContentHash;

/// Ordered most severe first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Severity {
    Error,
    Warning,
    Info,
}

/// A diagnostic, on an asset or on the project.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Diagnostic {
    pub severity: Severity,
    pub code: String,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub asset_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
}

impl Diagnostic {
    pub fn project(severity: Severity, code: &str, message: String, path: Option<String>) -> Self {
        Diagnostic { severity, code: code.to_string(), message, asset_id: None, path }
    }
}

/// An asset's status, in the order of precedence used to pick one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Status {
    Ok,
    Invalid,
    Modified,
    Missing,
}

impl Status {
    pub const ALL: [Status; 4] = [Status::Ok, Status::Invalid, Status::Modified, Status::Missing];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Invalid => "invalid",
            Status::Modified => "modified",
            Status::Missing => "missing",
        }
    }
}

/// A registered asset: its registry entry and what the packer observed on disk.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Asset {
    #[serde(flatten)]
    pub entry: Entry,
    pub metadata: Arc<Metadata>,
    pub status: Status,
    pub diagnostics: Vec<Diagnostic>,
    /// Hash of the file as last read from disk, when it differs from the registry.
    #[serde(skip)]
    pub disk_hash: Option<ContentHash>,
}

impl Asset {
    /// The one place an asset's status and diagnostics are decided from what
    /// was read on disk (`None`: the file does not exist).
    pub fn from_observation(entry: Entry, observed: Option<Observed>) -> Asset {
        let Some(obs) = observed else {
            return Asset {
                entry,
                metadata: Arc::default(),
                status: Status::Missing,
                diagnostics: Vec::new(),
                disk_hash: None,
            };
        };
        let diagnostics: Vec<Diagnostic> = obs
            .problems
            .into_iter()
            .map(|p| Diagnostic {
                severity: p.severity,
                code: p.code,
                message: p.message,
                asset_id: Some(entry.id.to_string()),
                path: Some(entry.path.to_string()),
            })
            .collect();
        let modified = obs.hash != entry.hash;
        let status = if modified {
            Status::Modified
        } else if diagnostics.iter().any(|d| d.severity == Severity::Error) {
            Status::Invalid
        } else {
            Status::Ok
        };
        let disk_hash = modified.then_some(obs.hash);
        Asset { entry, metadata: obs.metadata, status, diagnostics, disk_hash }
    }

    /// The hash of the file as last read: the registry's, unless the file
    /// was found to differ.
    pub fn hash_on_disk(&self) -> ContentHash {
        self.disk_hash.unwrap_or(self.entry.hash)
    }

    pub fn id(&self) -> &str {
        &self.entry.id
    }

    pub fn path(&self) -> &str {
        &self.entry.path
    }
}

/// Counts kept with each snapshot, computed once when it is made.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AssetCounts {
    pub total: usize,
    pub by_kind: BTreeMap<&'static str, usize>,
    pub by_status: BTreeMap<&'static str, usize>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct DiagnosticCounts {
    pub errors: usize,
    pub warnings: usize,
}

/// What changes from one generation to the next: the registry as the
/// packer holds it, and what it last saw on disk.
#[derive(Debug, Clone, Default)]
pub struct Contents {
    /// Assets by id.
    pub assets: OrdMap<Arc<str>, Arc<Asset>>,
    /// Asset id by path.
    pub by_path: OrdMap<Arc<str>, Arc<str>>,
    /// Files under the asset roots that are not registered, as last seen.
    pub untracked: OrdMap<String, Untracked>,
    /// Differences in the project's own files (registry, manifest).
    pub external: Arc<External>,
    /// Conflict records the registry holds (a merge's), until reconciled.
    pub conflicts: Arc<Vec<Conflict>>,
}

/// One project's coherent state at one generation.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub generation: u64,
    pub manifest: Arc<Manifest>,
    pub contents: Contents,
    /// Every difference between disk and registry, computed once per snapshot.
    pub divergence: Arc<Vec<Item>>,
    /// Diagnostics about the project rather than one asset.
    pub project_diagnostics: Arc<Vec<Diagnostic>>,
    pub asset_counts: AssetCounts,
    pub diagnostic_counts: DiagnosticCounts,
}

impl Snapshot {
    /// Makes a snapshot and computes its counts and divergence: the one
    /// place where the numbers a summary shows are counted.
    pub fn new(
        generation: u64,
        manifest: Arc<Manifest>,
        contents: Contents,
        project_diagnostics: Arc<Vec<Diagnostic>>,
    ) -> Snapshot {
        let assets = &contents.assets;
        // One pass over the assets for every count (this runs on every
        // publication, so it is kept to a sequential walk of the map).
        let mut kinds = [0usize; Kind::ALL.len()];
        let mut statuses = [0usize; Status::ALL.len()];
        let mut diagnostic_counts = DiagnosticCounts::default();
        let mut count = |d: &Diagnostic| match d.severity {
            Severity::Error => diagnostic_counts.errors += 1,
            Severity::Warning => diagnostic_counts.warnings += 1,
            Severity::Info => {}
        };
        let mut diverging = Vec::new();
        for a in assets.values() {
            kinds[Kind::ALL.iter().position(|k| *k == a.entry.kind).unwrap_or(0)] += 1;
            statuses[Status::ALL.iter().position(|s| *s == a.status).unwrap_or(0)] += 1;
            a.diagnostics.iter().for_each(&mut count);
            if matches!(a.status, Status::Modified | Status::Missing) {
                diverging.push(a);
            }
        }
        project_diagnostics.iter().for_each(&mut count);
        let asset_counts = AssetCounts {
            total: assets.len(),
            by_kind: Kind::ALL.iter().zip(kinds).map(|(k, n)| (k.as_str(), n)).collect(),
            by_status: Status::ALL.iter().zip(statuses).map(|(s, n)| (s.as_str(), n)).collect(),
        };
        let divergence = Arc::new(divergence::compute(
            diverging,
            &contents.by_path,
            &contents.untracked,
            &contents.external,
            &contents.conflicts,
        ));
        Snapshot { generation, manifest, contents, divergence, project_diagnostics, asset_counts, diagnostic_counts }
    }

    pub fn asset(&self, id: &str) -> Option<&Arc<Asset>> {
        self.contents.assets.get(id)
    }

    /// `clean` or `diverged`: the one place the divergence state is decided.
    pub fn divergence_state(&self) -> &'static str {
        if self.divergence.is_empty() {
            "clean"
        } else {
            "diverged"
        }
    }

    /// Every diagnostic, project ones first, then by asset path.
    pub fn diagnostics(&self) -> Vec<Diagnostic> {
        let mut out: Vec<Diagnostic> = self.project_diagnostics.as_ref().clone();
        for id in self.contents.by_path.values() {
            if let Some(a) = self.contents.assets.get(id) {
                out.extend(a.diagnostics.iter().cloned());
            }
        }
        out
    }
}
