//! The immutable snapshot every read is answered from.
//!
//! A snapshot is a whole, coherent view of one project at one `generation`.
//! Only the project's writer lane makes new ones, and it publishes each in a
//! single atomic pointer swap, so a read sees all of a mutation or none of it.
//! The maps are persistent (structure-sharing), so making generation n + 1
//! from n after a one-asset change costs O(log n), not a copy of every asset.

use std::sync::Arc;

use imbl::OrdMap;
use serde::Serialize;

mod chunked;
pub mod divergence;
pub mod graph;

use crate::project::format::manifest::Manifest;
use crate::project::format::registry::Conflict;
use crate::project::model::references::{Reference, Target, SCHEME};
use crate::project::model::{Asset, Diagnostic, Kind, Severity, Status};
use crate::protocol::model::{DivergenceState, ReferenceBy, ReferenceCounts, ReferenceItem};
use divergence::{External, Item, Untracked};

/// Counts kept with each snapshot, computed once when it is made.
#[derive(Debug, Clone, Default, PartialEq, Serialize, serde::Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(deny_unknown_fields)]
pub struct AssetCounts {
    pub total: usize,
    pub by_kind: CountsByKind,
    pub by_status: CountsByStatus,
    /// Sounds whose loudness is not measured yet (their metadata say
    /// `loudnessPending`): the packer measures them after looking at them,
    /// and publishes a snapshot as each batch is measured.
    pub loudness_pending: usize,
}

// In alphabetical order, as the keys always were on the wire.
/// Counts per kind: every kind is present.
#[derive(Debug, Clone, Default, PartialEq, Serialize, serde::Deserialize, schemars::JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct CountsByKind {
    pub audio: usize,
    pub binary: usize,
    pub data: usize,
    pub font: usize,
    pub image: usize,
    pub model: usize,
    pub text: usize,
}

impl CountsByKind {
    pub fn add(&mut self, kind: Kind) {
        *match kind {
            Kind::Audio => &mut self.audio,
            Kind::Binary => &mut self.binary,
            Kind::Data => &mut self.data,
            Kind::Font => &mut self.font,
            Kind::Image => &mut self.image,
            Kind::Model => &mut self.model,
            Kind::Text => &mut self.text,
        } += 1;
    }
}

/// Counts per status: every status is present.
#[derive(Debug, Clone, Default, PartialEq, Serialize, serde::Deserialize, schemars::JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct CountsByStatus {
    pub invalid: usize,
    pub missing: usize,
    pub modified: usize,
    pub ok: usize,
}

impl CountsByStatus {
    pub fn add(&mut self, status: Status) {
        *match status {
            Status::Invalid => &mut self.invalid,
            Status::Missing => &mut self.missing,
            Status::Modified => &mut self.modified,
            Status::Ok => &mut self.ok,
        } += 1;
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, serde::Deserialize, schemars::JsonSchema)]
#[schemars(deny_unknown_fields)]
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
    /// Which asset names which, for `assets` and `by_path`: whoever changes
    /// them updates it ([`graph::Graph::update`]).
    pub graph: graph::Graph,
}

impl Contents {
    /// The maps references are resolved against.
    pub fn maps(&self) -> graph::Maps<'_> {
        graph::Maps { assets: &self.assets, by_path: &self.by_path }
    }
}

/// One project's coherent state at one generation.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub generation: u64,
    /// The generation of the last snapshot that changed more than sounds'
    /// loudness figures (its own, for most): a client's `expectedGeneration`
    /// from this one on is still current (see `lane::stale_generation`).
    pub changed_at: u64,
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
        let mut by_kind = CountsByKind::default();
        let mut by_status = CountsByStatus::default();
        let mut loudness_pending = 0;
        let mut diagnostic_counts = DiagnosticCounts::default();
        let mut count = |d: &Diagnostic| match d.severity {
            Severity::Error => diagnostic_counts.errors += 1,
            Severity::Warning => diagnostic_counts.warnings += 1,
            Severity::Info => {}
        };
        let mut diverging = Vec::new();
        for a in assets.values() {
            by_kind.add(a.entry.kind);
            by_status.add(a.status);
            loudness_pending += usize::from(a.metadata.loudness_is_pending());
            a.diagnostics.iter().for_each(&mut count);
            if matches!(a.status, Status::Modified | Status::Missing) {
                diverging.push(a);
            }
        }
        project_diagnostics.iter().for_each(&mut count);
        // Each broken reference is an error on its referrer (`asset_diagnostics`).
        diagnostic_counts.errors += contents.graph.broken_total();
        let asset_counts = AssetCounts { total: assets.len(), by_kind, by_status, loudness_pending };
        let divergence = Arc::new(divergence::compute(
            diverging,
            &contents.maps(),
            &contents.graph,
            &contents.untracked,
            &contents.external,
            &contents.conflicts,
        ));
        let changed_at = generation;
        Snapshot {
            generation,
            changed_at,
            manifest,
            contents,
            divergence,
            project_diagnostics,
            asset_counts,
            diagnostic_counts,
        }
    }

    pub fn asset(&self, id: &str) -> Option<&Arc<Asset>> {
        self.contents.assets.get(id)
    }

    /// `clean` or `diverged`: the one place the divergence state is decided.
    pub fn divergence_state(&self) -> DivergenceState {
        if self.divergence.is_empty() {
            DivergenceState::Clean
        } else {
            DivergenceState::Diverged
        }
    }

    /// Every diagnostic, project ones first, then by asset path.
    pub fn diagnostics(&self) -> Vec<Diagnostic> {
        let mut out: Vec<Diagnostic> = self.project_diagnostics.as_ref().clone();
        for id in self.contents.by_path.values() {
            if let Some(a) = self.contents.assets.get(id) {
                out.extend(a.diagnostics.iter().cloned());
                out.extend(self.broken_references(a));
            }
        }
        out
    }

    /// An asset as a read shows it: its diagnostics include its broken
    /// references (copied only when it has some).
    pub fn asset_view(&self, asset: &Arc<Asset>) -> Arc<Asset> {
        if self.contents.graph.broken_of(asset.id()) == 0 {
            return asset.clone();
        }
        let mut a = asset.as_ref().clone();
        a.diagnostics = a.diagnostics.iter().cloned().chain(self.broken_references(asset)).collect();
        Arc::new(a)
    }

    /// What `asset`'s file names (in file order) and what names it (by
    /// referrer id, then file order): the items of `packer/references`.
    pub fn references_of(&self, asset: &Asset) -> (Vec<ReferenceItem>, Vec<ReferenceItem>) {
        let maps = self.contents.maps();
        let item = |other: Option<&Asset>, r: &Reference| ReferenceItem {
            asset_id: other.map(|a| a.id().to_string()),
            path: other.map(|a| a.path().to_string()),
            by: match r.target {
                Target::Id(_) => ReferenceBy::Id,
                Target::Path(_) => ReferenceBy::Path,
            },
            target: r.target.as_str().to_string(),
            broken: other.is_none(),
            pointer: r.pointer.to_string(),
            line: r.line,
            column: r.column,
        };
        let uses = asset
            .references
            .iter()
            .map(|r| item(maps.resolve(&r.target).and_then(|id| self.contents.assets.get(&id)).map(|a| &**a), r))
            .collect();
        let used_by = self
            .contents
            .graph
            .used_by(&maps, asset.id(), asset.path())
            .iter()
            .map(|(referrer, r)| ReferenceItem { broken: false, ..item(Some(referrer), r) })
            .collect();
        (uses, used_by)
    }

    /// `asset`'s references, counted: the one place these counts are made.
    pub fn reference_counts(&self, asset: &Asset) -> ReferenceCounts {
        let graph = &self.contents.graph;
        ReferenceCounts {
            uses: asset.references.len(),
            used_by: graph.used_by_count(&self.contents.maps(), asset.id(), asset.path()),
            broken: graph.broken_of(asset.id()) as usize,
        }
    }

    /// The one place a broken reference becomes a diagnostic: an error on
    /// the referrer, at the reference's line and column.
    pub fn broken_references(&self, asset: &Asset) -> Vec<Diagnostic> {
        if self.contents.graph.broken_of(asset.id()) == 0 {
            return Vec::new();
        }
        let maps = self.contents.maps();
        asset
            .references
            .iter()
            .filter(|r| maps.resolve(&r.target).is_none())
            .map(|r| {
                let written = format!("`{}{}` at `{}`", SCHEME, r.target.as_str(), r.pointer);
                let why = match &r.target {
                    Target::Id(id) => format!("no asset has the id `{id}`"),
                    Target::Path(p) if p.starts_with("../") || p.as_ref() == ".." => {
                        format!("`{p}` is outside the project")
                    }
                    Target::Path(p) if self.contents.untracked.contains_key(&**p) => {
                        format!("`{p}` is not registered")
                    }
                    Target::Path(p) => format!("no asset is at `{p}`"),
                };
                Diagnostic::at(
                    Severity::Error,
                    "brokenReference",
                    format!("broken reference {written}: {why}"),
                    asset.path(),
                    Some(r.line as usize),
                    Some(r.column as usize),
                )
                .with_asset(Some(asset.id()))
            })
            .collect()
    }
}
