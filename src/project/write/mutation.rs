//! Mutations: what a change would do ([`plan`]) and doing it ([`execute`]).
//!
//! Preview and apply share [`plan`], so the blockers, warnings and planned
//! registry and filesystem changes a client is shown are exactly the ones
//! apply checks and performs. Apply plans again at its turn in the lane,
//! against the snapshot current then: an earlier preview is never trusted.

use std::collections::{BTreeSet, HashMap};
use std::path::Path;
use std::sync::Arc;

use imbl::OrdMap;
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::hash::ContentHash;
use crate::limits;
use crate::project::disk::sandbox::{self, RenameError, Sandbox};
use crate::project::disk::statcache::StatCache;
use crate::project::disk::workspace;
use crate::project::format::manifest::{Manifest, MANIFEST_FILE};
use crate::project::format::registry::{Conflict, REGISTRY_FILE};
use crate::project::model::paths;
use crate::project::model::references::{self, Reference, Target};
use crate::project::model::{Asset, Diagnostic, Entry, Kind, Observed, Severity, Status};
use crate::project::snapshot::divergence::External;
use crate::project::snapshot::divergence::Untracked;
use crate::project::snapshot::graph::{Graph, Maps};
use crate::project::snapshot::{Contents, Snapshot};
use crate::protocol::model::{
    ApplyOutcome, ApplyResult, Blocker, BlockerCode, BlockerSeverity, FilesystemMutation, PreviewResult, ProjectFile,
    ReferenceChange, RegistryMutation, Resolution, Truncated, Warning, WarningCode, WarningSeverity,
};

/// A change a client asks for. `kind` selects the variant on the wire.
///
/// Decoded through [`RawMutation`], a plain struct, rather than serde's
/// internally tagged enums: those buffer their content and so lose the path
/// of a bad field, and a client must be told `mutation.assetId`, not `mutation`.
#[derive(Debug, Clone, Deserialize)]
#[serde(try_from = "RawMutation")]
pub enum Mutation {
    /// Registers files that exist on disk as new assets.
    Register { paths: Vec<String> },
    /// Moves (or renames) an asset's file; its id is kept.
    Move { asset_id: String, to: String },
    /// Deletes assets' files and entries.
    Delete { asset_ids: Vec<String> },
    /// Removes entries and leaves the files.
    Unregister { asset_ids: Vec<String> },
    /// Replaces tags and merges settings (`null` removes a setting).
    SetMetadata { asset_id: String, tags: Option<Vec<String>>, settings: Option<Map<String, Value>> },
    /// Several mutations, all applied or none.
    Batch { mutations: Vec<Mutation> },
    /// Resolves divergence items: the ones chosen (with their resolution),
    /// or every item with its default resolution.
    Reconcile { items: Option<Vec<ReconcileChoice>> },
    /// Rewrites every reference to the asset `from` so that it names `to`.
    ReplaceReferences { from: String, to: String },
    /// Test builds only: occupies the lane for `ms` milliseconds, checking
    /// for cancellation, as a long operation would.
    #[cfg(feature = "test-hooks")]
    TestSleep { ms: u64 },
}

// The schema of [`Mutation`]: what [`RawMutation`] accepts, variant by
// variant (the test-only `testSleep` is left out).
/// A change a client asks for; `kind` says which.
#[derive(schemars::JsonSchema)]
#[schemars(rename = "Mutation")]
#[serde(tag = "kind", rename_all = "camelCase", deny_unknown_fields)]
#[allow(dead_code)]
enum MutationSchema {
    /// Registers files that exist on disk as new assets.
    Register { paths: Vec<String> },
    /// Moves (or renames) an asset's file; its id is kept.
    #[serde(rename_all = "camelCase")]
    Move { asset_id: String, to: String },
    /// Deletes assets' files and entries.
    #[serde(rename_all = "camelCase")]
    Delete { asset_ids: Vec<String> },
    /// Removes entries and leaves the files.
    #[serde(rename_all = "camelCase")]
    Unregister { asset_ids: Vec<String> },
    /// Replaces tags and merges settings (`null` removes a setting).
    #[serde(rename_all = "camelCase")]
    SetMetadata {
        asset_id: String,
        #[serde(default)]
        tags: Option<Vec<String>>,
        #[serde(default)]
        settings: Option<Map<String, Value>>,
    },
    /// Several mutations, all applied or none.
    Batch { mutations: Vec<Mutation> },
    /// Resolves divergence items: the ones chosen (with their resolution),
    /// or every item with its default resolution.
    Reconcile {
        #[serde(default)]
        items: Option<Vec<ReconcileChoice>>,
    },
    /// Rewrites every reference to the asset `from` (by id, or by path) so
    /// that it names the asset `to`, written the same way; `from` may be an
    /// id no asset has, which references name (a broken reference repointed).
    ReplaceReferences { from: String, to: String },
}

impl schemars::JsonSchema for Mutation {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Mutation".into()
    }

    fn json_schema(g: &mut schemars::SchemaGenerator) -> schemars::Schema {
        MutationSchema::json_schema(g)
    }
}

/// How to resolve one divergence item.
#[derive(Debug, Clone, PartialEq, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReconcileChoice {
    #[serde(deserialize_with = "limits::name")]
    pub divergence_id: String,
    /// `adopt`, `drop`, `relink`, `register`, `ignore`, `move`, `reload` or `keep`.
    #[serde(deserialize_with = "limits::name")]
    pub resolution: String,
    /// The file to relink a missing asset to (`relink` only).
    #[serde(default, deserialize_with = "limits::opt_path")]
    pub path: Option<String>,
}

/// The mutation kinds a client may send, as `initialize` declares them
/// (the test-only `testSleep` is not declared).
pub const KINDS: &[&str] =
    &["register", "move", "delete", "unregister", "setMetadata", "batch", "reconcile", "replaceReferences"];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
enum MutationKind {
    Register,
    Move,
    Delete,
    Unregister,
    SetMetadata,
    Batch,
    Reconcile,
    ReplaceReferences,
    #[cfg(feature = "test-hooks")]
    TestSleep,
}

/// The union of every mutation's fields, as it arrives. Every list and
/// string is bounded while it is read (see `crate::limits`).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RawMutation {
    kind: MutationKind,
    #[serde(default, deserialize_with = "limits::opt_paths")]
    paths: Option<Vec<String>>,
    #[serde(default, deserialize_with = "limits::opt_name")]
    asset_id: Option<String>,
    #[serde(default, deserialize_with = "limits::opt_name")]
    from: Option<String>,
    /// A path (`move`) or an id (`replaceReferences`): bounded as the longer.
    #[serde(default, deserialize_with = "limits::opt_path")]
    to: Option<String>,
    #[serde(default, deserialize_with = "limits::opt_names")]
    asset_ids: Option<Vec<String>>,
    #[serde(default, deserialize_with = "limits::opt_tags")]
    tags: Option<Vec<String>>,
    #[serde(default, deserialize_with = "limits::opt_settings")]
    settings: Option<Map<String, Value>>,
    #[serde(default, deserialize_with = "limits::opt_list")]
    mutations: Option<Vec<Mutation>>,
    #[serde(default, deserialize_with = "limits::opt_list")]
    items: Option<Vec<ReconcileChoice>>,
    #[cfg(feature = "test-hooks")]
    ms: Option<u64>,
}

impl TryFrom<RawMutation> for Mutation {
    type Error = String;

    fn try_from(r: RawMutation) -> Result<Mutation, String> {
        fn need<T>(v: Option<T>, field: &str) -> Result<T, String> {
            v.ok_or_else(|| format!("missing field `{field}`"))
        }
        let present: Vec<&str> = [
            ("paths", r.paths.is_some()),
            ("assetId", r.asset_id.is_some()),
            ("from", r.from.is_some()),
            ("to", r.to.is_some()),
            ("assetIds", r.asset_ids.is_some()),
            ("tags", r.tags.is_some()),
            ("settings", r.settings.is_some()),
            ("mutations", r.mutations.is_some()),
            ("items", r.items.is_some()),
        ]
        .into_iter()
        .filter_map(|(name, set)| set.then_some(name))
        .collect();
        let allowed: &[&str] = match r.kind {
            MutationKind::Register => &["paths"],
            MutationKind::Move => &["assetId", "to"],
            MutationKind::Delete | MutationKind::Unregister => &["assetIds"],
            MutationKind::SetMetadata => &["assetId", "tags", "settings"],
            MutationKind::Batch => &["mutations"],
            MutationKind::Reconcile => &["items"],
            MutationKind::ReplaceReferences => &["from", "to"],
            #[cfg(feature = "test-hooks")]
            MutationKind::TestSleep => &[],
        };
        if let Some(extra) = present.iter().find(|f| !allowed.contains(f)) {
            return Err(format!("field `{extra}` does not belong to a mutation of this kind (it takes {allowed:?})"));
        }
        Ok(match r.kind {
            MutationKind::Register => Mutation::Register { paths: need(r.paths, "paths")? },
            MutationKind::Move => Mutation::Move { asset_id: need(r.asset_id, "assetId")?, to: need(r.to, "to")? },
            MutationKind::Delete => Mutation::Delete { asset_ids: need(r.asset_ids, "assetIds")? },
            MutationKind::Unregister => Mutation::Unregister { asset_ids: need(r.asset_ids, "assetIds")? },
            MutationKind::SetMetadata => {
                Mutation::SetMetadata { asset_id: need(r.asset_id, "assetId")?, tags: r.tags, settings: r.settings }
            }
            MutationKind::Batch => Mutation::Batch { mutations: need(r.mutations, "mutations")? },
            MutationKind::Reconcile => Mutation::Reconcile { items: r.items },
            MutationKind::ReplaceReferences => {
                Mutation::ReplaceReferences { from: need(r.from, "from")?, to: need(r.to, "to")? }
            }
            #[cfg(feature = "test-hooks")]
            MutationKind::TestSleep => Mutation::TestSleep { ms: need(r.ms, "ms")? },
        })
    }
}

/// Entries listed per list of a preview or an apply's result. A mutation
/// may name 100,000 items (`crate::limits`); its answer lists the first
/// 1,000 of each list and counts them all (`truncated`): a person reads the
/// first screenful, the counts say the rest, and the answer (and the
/// journal line of an apply's terminal event, which carries it) stays small.
pub const LISTED: usize = 1_000;

/// A list of a plan's answer: its first [`LISTED`] entries, and how many
/// there are in all. Entries past those are counted, never built.
#[derive(Debug, Clone)]
pub struct Capped<T> {
    listed: Vec<T>,
    total: usize,
}

impl<T> Default for Capped<T> {
    fn default() -> Self {
        Capped { listed: Vec::new(), total: 0 }
    }
}

impl<T> Capped<T> {
    pub fn push(&mut self, entry: T) {
        self.push_with(|| entry);
    }

    /// Counts an entry; `make` runs only when it is listed.
    pub fn push_with(&mut self, make: impl FnOnce() -> T) {
        if self.listed.len() < LISTED {
            self.listed.push(make());
        }
        self.total += 1;
    }

    /// All entries, listed or not.
    pub fn len(&self) -> usize {
        self.total
    }

    pub fn is_empty(&self) -> bool {
        self.total == 0
    }

    pub fn listed(&self) -> &[T] {
        &self.listed
    }
}

/// The lists of a preview or an apply's result as the wire carries them,
/// each cut to its first [`LISTED`] entries. When any list is longer,
/// `truncated` gives every list's full length; an answer with no long list
/// keeps the plain shape.
#[derive(Debug, Clone, Default)]
pub struct Lists {
    pub blockers: Vec<Blocker>,
    pub warnings: Vec<Warning>,
    pub registry_mutations: Vec<RegistryMutation>,
    pub filesystem_mutations: Vec<FilesystemMutation>,
    /// A preview of a reconcile that resolves at least one item.
    pub resolutions: Option<Vec<Resolution>>,
    pub truncated: Option<Truncated>,
}

impl Lists {
    /// The answer of `packer/previewMutation`.
    pub fn preview(self, base_generation: u64) -> PreviewResult {
        let Lists { blockers, warnings, registry_mutations, filesystem_mutations, resolutions, truncated } = self;
        PreviewResult {
            base_generation,
            blockers,
            warnings,
            registry_mutations,
            filesystem_mutations,
            resolutions,
            truncated,
        }
    }

    /// The result of `packer/applyMutation` (which lists no resolutions).
    pub fn applied(self, operation_id: &str, outcome: ApplyOutcome, generation: u64) -> ApplyResult {
        let Lists { blockers, warnings, registry_mutations, filesystem_mutations, resolutions: _, truncated } = self;
        ApplyResult {
            operation_id: operation_id.to_string(),
            outcome,
            generation,
            blockers,
            warnings,
            registry_mutations,
            filesystem_mutations,
            truncated,
        }
    }
}

/// A diagnostic of a plan the protocol has no blocker or warning for: a
/// code its enum lacks (a bug, which a unit test is there to catch), or
/// what a blocker or a warning cannot carry.
#[derive(Debug, thiserror::Error)]
#[error("the protocol has no {what} for the diagnostic {diagnostic:?}")]
pub struct Unlisted {
    what: &'static str,
    diagnostic: Box<Diagnostic>,
}

/// A code or a name of the domain as its enum in the protocol model reads it.
pub(super) fn wire_name<C: serde::de::DeserializeOwned>(name: &str) -> Option<C> {
    C::deserialize(serde::de::value::StrDeserializer::<serde::de::value::Error>::new(name)).ok()
}

/// The one place a blocker of the domain becomes the wire's.
impl TryFrom<&Diagnostic> for Blocker {
    type Error = Unlisted;

    fn try_from(d: &Diagnostic) -> Result<Blocker, Unlisted> {
        let unlisted = || Unlisted { what: "blocker", diagnostic: Box::new(d.clone()) };
        let code: BlockerCode = wire_name(&d.code).ok_or_else(unlisted)?;
        if d.severity != Severity::Error || d.line.is_some() || d.column.is_some() {
            return Err(unlisted());
        }
        let (message, asset_id, path) = (d.message.clone(), d.asset_id.clone(), d.path.clone());
        Ok(Blocker { severity: BlockerSeverity::Error, code, message, asset_id, path })
    }
}

/// The one place a warning of the domain becomes the wire's.
impl TryFrom<&Diagnostic> for Warning {
    type Error = Unlisted;

    fn try_from(d: &Diagnostic) -> Result<Warning, Unlisted> {
        let unlisted = || Unlisted { what: "warning", diagnostic: Box::new(d.clone()) };
        let code: WarningCode = wire_name(&d.code).ok_or_else(unlisted)?;
        if d.severity != Severity::Warning || d.line.is_some() || d.column.is_some() {
            return Err(unlisted());
        }
        let (message, asset_id, path) = (d.message.clone(), d.asset_id.clone(), d.path.clone());
        Ok(Warning { severity: WarningSeverity::Warning, code, message, asset_id, path })
    }
}

/// The lists of a preview or an apply's result (see [`Lists`]); `Err`
/// when a blocker or a warning has no name on the wire.
pub fn answer_lists(
    blockers: &Capped<Diagnostic>,
    warnings: &Capped<Diagnostic>,
    registry_mutations: &Capped<RegistryMutation>,
    filesystem_mutations: &Capped<FilesystemMutation>,
    resolutions: Option<&Capped<Resolution>>,
) -> Result<Lists, Unlisted> {
    let resolutions = resolutions.filter(|r| !r.is_empty());
    let totals = [blockers.len(), warnings.len(), registry_mutations.len(), filesystem_mutations.len()];
    let cut = totals.into_iter().chain(resolutions.map(Capped::len)).any(|total| total > LISTED);
    let truncated = cut.then(|| Truncated {
        limit: LISTED,
        blockers: blockers.len(),
        warnings: warnings.len(),
        registry_mutations: registry_mutations.len(),
        filesystem_mutations: filesystem_mutations.len(),
        resolutions: resolutions.map(Capped::len),
    });
    Ok(Lists {
        blockers: blockers.listed().iter().map(Blocker::try_from).collect::<Result<_, _>>()?,
        warnings: warnings.listed().iter().map(Warning::try_from).collect::<Result<_, _>>()?,
        registry_mutations: registry_mutations.listed().to_vec(),
        filesystem_mutations: filesystem_mutations.listed().to_vec(),
        resolutions: resolutions.map(|r| r.listed().to_vec()),
        truncated,
    })
}

/// One filesystem step of an apply, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    Move {
        from: String,
        to: String,
    },
    Delete {
        path: String,
    },
    /// Replace `packer.toml` (an `ignore` resolution adds an exclude).
    WriteManifest {
        text: String,
    },
    /// Write an asset's file again with references changed.
    Rewrite(Arc<Rewrite>),
    #[cfg(feature = "test-hooks")]
    Sleep {
        ms: u64,
    },
}

impl Step {
    /// What undoing the step does, for a report of one that could not be.
    fn describe(&self) -> String {
        match self {
            Step::Move { from, to } => format!("moving `{to}` back to `{from}`"),
            Step::Delete { path } => format!("putting `{path}` back"),
            Step::WriteManifest { .. } => format!("writing {MANIFEST_FILE} back"),
            Step::Rewrite(rw) => format!("putting the old bytes of `{}` back", rw.path),
            #[cfg(feature = "test-hooks")]
            Step::Sleep { .. } => "a test sleep".into(),
        }
    }
}

/// An asset's file written again with some of its references changed: the
/// plan has the new bytes, made from the file as it was then.
#[derive(Debug, Clone, PartialEq)]
pub struct Rewrite {
    /// Where the file is when it is written (after the plan's moves).
    pub path: String,
    pub asset_id: Arc<str>,
    /// The file's hash when planned: a file changed since is not written.
    pub before: ContentHash,
    pub bytes: Arc<[u8]>,
    /// The changes (the first [`CHANGES_LISTED`]) and how many there are.
    pub changes: Vec<ReferenceChange>,
    pub count: usize,
}

/// Changes listed per rewritten file: a file may change 10,000 references.
pub const CHANGES_LISTED: usize = 100;

/// What a mutation would do against one snapshot.
#[derive(Debug, Clone)]
pub struct Plan {
    pub base_generation: u64,
    pub blockers: Capped<Diagnostic>,
    pub warnings: Capped<Diagnostic>,
    pub registry_mutations: Capped<RegistryMutation>,
    pub filesystem_mutations: Capped<FilesystemMutation>,
    pub steps: Vec<Step>,
    /// The state after the mutation, when it has no blockers.
    pub contents: Contents,
    /// Whether apply writes the registry file.
    pub write_registry: bool,
    /// A `reload` takes the registry file as it is: its hash, to check at apply.
    pub adopt_registry_hash: Option<String>,
    /// The manifest after the mutation, when it changes.
    pub manifest: Option<Arc<Manifest>>,
    /// The hash of `packer.toml` after the mutation, when it changes.
    pub manifest_hash: Option<String>,
    /// For a reconcile: each item with the resolution chosen.
    pub resolutions: Capped<Resolution>,
}

impl Plan {
    /// Whether apply publishes a new snapshot.
    pub fn changes_anything(&self) -> bool {
        self.write_registry
            || !self.registry_mutations.is_empty()
            || self.manifest.is_some()
            || self.adopt_registry_hash.is_some()
            || !self.resolutions.is_empty()
    }

    /// The preview as clients see it.
    pub fn preview(&self) -> Result<PreviewResult, Unlisted> {
        Ok(self.lists(Some(&self.resolutions))?.preview(self.base_generation))
    }

    /// The plan's lists as an apply's result carries them (no resolutions).
    pub fn applied_lists(&self) -> Result<Lists, Unlisted> {
        self.lists(None)
    }

    fn lists(&self, resolutions: Option<&Capped<Resolution>>) -> Result<Lists, Unlisted> {
        answer_lists(&self.blockers, &self.warnings, &self.registry_mutations, &self.filesystem_mutations, resolutions)
    }
}

/// What is at a path, as the plan sees it (the disk, overlaid with the
/// effects of the steps planned so far).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum DiskEntry {
    Absent,
    File,
    Dir,
    Other,
}

pub(super) struct Planner<'a> {
    pub(super) root: &'a Path,
    pub(super) snap: &'a Snapshot,
    pub(super) assets: OrdMap<Arc<str>, Arc<Asset>>,
    pub(super) by_path: OrdMap<Arc<str>, Arc<str>>,
    pub(super) untracked: OrdMap<String, Untracked>,
    pub(super) external: External,
    /// The registry's conflict records, as this plan leaves them.
    pub(super) conflicts: Vec<Conflict>,
    overlay: HashMap<String, DiskEntry>,
    pub(super) steps: Vec<Step>,
    blockers: Capped<Diagnostic>,
    warnings: Capped<Diagnostic>,
    touched: BTreeSet<Arc<str>>,
    /// At apply, the lane's stat cache: files about to be touched are
    /// checked against the registry (cheaply, by stat) before anything moves.
    pub(super) verify: Option<&'a mut StatCache>,
    /// Reconcile state.
    pub(super) reconcile: ReconcileState,
    /// Registered and untracked paths by their lowercase form, built on
    /// first use (for `caseConflict`); paths added by this plan join it.
    /// Entries may be stale: candidates are checked against the maps.
    case_index: Option<HashMap<String, Vec<String>>>,
    /// Each `replaceReferences` of the plan, `(from, to)`, in order.
    replacements: Vec<(Arc<str>, Arc<str>)>,
    /// Assets this plan gives a new path as their file moves (a `move`, a
    /// reconcile's `relink` or `move`; not a `reload`, whose registry is
    /// taken as it is): their path references are rewritten.
    pub(super) moved: BTreeSet<Arc<str>>,
    /// Those of `moved` whose file was moved outside the packer (a
    /// reconcile's `relink` or `move`): a reference of theirs that names an
    /// asset as written where the file now is was written for that place,
    /// and is kept.
    pub(super) relinked: BTreeSet<Arc<str>>,
}

/// What a reconcile decided beyond asset entries.
#[derive(Default)]
pub(super) struct ReconcileState {
    pub(super) reloaded_registry: Option<String>,
    pub(super) keep_registry: bool,
    /// A conflict record was resolved: the registry is written without it.
    pub(super) conflicts_resolved: bool,
    /// Registry entries touched other than by a `reload`.
    pub(super) touched_other: bool,
    pub(super) manifest: Option<Arc<Manifest>>,
    pub(super) manifest_text: Option<String>,
    pub(super) manifest_hash: Option<String>,
    pub(super) resolutions: Capped<Resolution>,
}

/// Plans `mutation` against `snap`. Reads the disk (stat, and hashing for
/// `register`); writes nothing.
pub fn plan(root: &Path, snap: &Snapshot, mutation: &Mutation, verify: Option<&mut StatCache>) -> Plan {
    let mut p = Planner {
        root,
        snap,
        assets: snap.contents.assets.clone(),
        by_path: snap.contents.by_path.clone(),
        untracked: snap.contents.untracked.clone(),
        external: snap.contents.external.as_ref().clone(),
        conflicts: snap.contents.conflicts.as_ref().clone(),
        overlay: HashMap::new(),
        steps: Vec::new(),
        blockers: Capped::default(),
        warnings: Capped::default(),
        touched: BTreeSet::new(),
        verify,
        reconcile: ReconcileState::default(),
        case_index: None,
        replacements: Vec::new(),
        moved: BTreeSet::new(),
        relinked: BTreeSet::new(),
    };
    p.mutation(mutation);
    p.rewrite_references();
    // The graph after the whole plan: what a removal would leave broken is
    // judged against it, so that a batch that also deletes or repoints the
    // referrers goes through.
    let graph = {
        let after = Maps { assets: &p.assets, by_path: &p.by_path };
        snap.contents.graph.update(&snap.contents.maps(), &after, &p.touched)
    };
    p.still_referenced(&graph);
    let mut registry_mutations = Capped::default();
    for id in &p.touched {
        let before = snap.contents.assets.get(&**id).map(|a| &a.entry);
        let after = p.assets.get(&**id).map(|a| &a.entry);
        let asset_id = || id.to_string();
        match (before, after) {
            (None, Some(a)) => {
                registry_mutations.push_with(|| RegistryMutation::Add { asset_id: asset_id(), after: a.clone() })
            }
            (Some(b), None) => {
                registry_mutations.push_with(|| RegistryMutation::Remove { asset_id: asset_id(), before: b.clone() })
            }
            (Some(b), Some(a)) if a != b => registry_mutations.push_with(|| RegistryMutation::Update {
                asset_id: asset_id(),
                before: b.clone(),
                after: a.clone(),
            }),
            _ => {}
        }
    }
    let mut filesystem_mutations = Capped::default();
    for step in &p.steps {
        match step {
            Step::Move { from, to } => {
                filesystem_mutations.push_with(|| FilesystemMutation::Move { path: from.clone(), to: to.clone() })
            }
            Step::Delete { path } => {
                filesystem_mutations.push_with(|| FilesystemMutation::Delete { path: path.clone() })
            }
            Step::WriteManifest { .. } => {
                filesystem_mutations.push(FilesystemMutation::Write { path: ProjectFile::Manifest })
            }
            Step::Rewrite(rw) => filesystem_mutations.push_with(|| FilesystemMutation::Rewrite {
                path: rw.path.clone(),
                asset_id: rw.asset_id.to_string(),
                changes: rw.changes.clone(),
                count: rw.count,
            }),
            // Touches no file (test builds' `testSleep`).
            #[cfg(feature = "test-hooks")]
            Step::Sleep { .. } => {}
        }
    }
    let rec = &p.reconcile;
    let write_registry = rec.keep_registry
        || rec.conflicts_resolved
        || if rec.reloaded_registry.is_some() { rec.touched_other } else { !registry_mutations.is_empty() };
    if write_registry {
        filesystem_mutations.push(FilesystemMutation::Write { path: ProjectFile::Registry });
        // Writing over a registry someone else changed would lose their change.
        if p.external.registry.is_some() {
            let msg = format!("{REGISTRY_FILE} was changed outside the packer: reconcile it (reload or keep) first");
            p.blockers.push(Diagnostic::blocker("diverged", msg, None, Some(REGISTRY_FILE)));
        }
    }
    let writes_manifest = p.steps.iter().any(|s| matches!(s, Step::WriteManifest { .. }));
    if writes_manifest && p.external.manifest_changed {
        let msg = format!("{MANIFEST_FILE} was changed outside the packer: reconcile it (reload) first");
        p.blockers.push(Diagnostic::blocker("diverged", msg, None, Some(MANIFEST_FILE)));
    }
    Plan {
        base_generation: snap.generation,
        blockers: p.blockers,
        warnings: p.warnings,
        registry_mutations,
        filesystem_mutations,
        steps: p.steps,
        contents: Contents {
            assets: p.assets,
            by_path: p.by_path,
            untracked: p.untracked,
            external: Arc::new(p.external),
            conflicts: Arc::new(p.conflicts),
            graph,
        },
        write_registry,
        adopt_registry_hash: p.reconcile.reloaded_registry,
        manifest: p.reconcile.manifest,
        manifest_hash: p.reconcile.manifest_hash,
        resolutions: p.reconcile.resolutions,
    }
}

impl Planner<'_> {
    /// A `replaceReferences`: recorded, and done by [`Planner::rewrite_references`]
    /// once the whole plan is known (the referrers' files are written once each).
    fn replace_references(&mut self, from: &str, to: &str) {
        if self.known(to).is_none() {
            return;
        }
        let graph = &self.snap.contents.graph;
        let old = self.snap.asset(from);
        let mut targets = vec![Target::Id(from.into())];
        targets.extend(old.map(|a| Target::Path(a.entry.path.clone())));
        let maps = self.snap.contents.maps();
        let named = targets.iter().any(|t| graph.naming(&maps, t).next().is_some());
        if old.is_none() && !named {
            let msg = format!("no asset has the id `{from}`, and no reference names it");
            self.block("unknownAsset", msg, Some(from), None);
            return;
        }
        if from == to {
            self.warn("noChange", format!("`from` and `to` are the same asset `{to}`"), Some(to), None);
            return;
        }
        if !named {
            let msg = format!("no reference names `{from}`: there is nothing to replace");
            self.warn("noChange", msg, Some(from), old.map(|a| a.path()));
        }
        self.replacements.push((from.into(), to.into()));
    }

    /// Keeps references naming what this plan means them to: a reference by
    /// path to an asset the plan moves gets its new path, a moved glTF's
    /// URIs are written from its new folder, and a reference to the `from`
    /// of a `replaceReferences` names its `to`. Each referrer changed is one
    /// rewrite of its file, after every other step of the plan.
    fn rewrite_references(&mut self) {
        let snap = self.snap;
        let graph = &snap.contents.graph;
        let mut referrers: BTreeSet<Arc<str>> = BTreeSet::new();
        for (from, _) in &self.replacements {
            referrers.extend(graph.referrers(&Target::Id(from.clone())));
            if let Some(a) = snap.asset(from) {
                referrers.extend(graph.referrers(&Target::Path(a.entry.path.clone())));
            }
        }
        for id in &self.moved {
            let (Some(old), Some(now)) = (snap.asset(id), self.assets.get(&**id)) else { continue };
            if old.path() != now.path() {
                referrers.extend(graph.referrers(&Target::Path(old.entry.path.clone())));
                // (A file moved outside the packer was missing from the
                // snapshot, which then knew none of its references.)
                if !old.references.is_empty() || !now.references.is_empty() {
                    referrers.insert(id.clone());
                }
            }
        }
        // In the order of their paths: a preview reads like a listing.
        let mut referrers: Vec<(Arc<str>, Arc<str>)> =
            referrers.into_iter().filter_map(|id| Some((self.assets.get(&*id)?.entry.path.clone(), id))).collect();
        referrers.sort();
        for (_, id) in referrers {
            self.rewrite_referrer(&id);
        }
    }

    /// What the reference `r` (as the snapshot read it) must name once
    /// this plan is done, when that is not what it will name as written.
    fn wanted(&self, r: &Reference, will_name: Option<&Target>) -> Option<Target> {
        let before = self.snap.contents.maps();
        let mut named = before.resolve(&r.target).or_else(|| match &r.target {
            Target::Id(id) => Some(id.clone()),
            Target::Path(_) => None,
        })?;
        for (from, to) in &self.replacements {
            if named == *from {
                named = to.clone();
            }
        }
        let wanted = match &r.target {
            Target::Id(_) => Target::Id(named),
            Target::Path(_) => Target::Path(self.assets.get(&*named)?.entry.path.clone()),
        };
        (will_name != Some(&wanted)).then_some(wanted)
    }

    /// Plans the rewrite of one referrer's file, if any of its references
    /// must change; blocks when its file is not what the registry says (the
    /// packer would overwrite a change it has not seen).
    fn rewrite_referrer(&mut self, id: &Arc<str>) {
        let snap = self.snap;
        let (Some(old), Some(now)) = (snap.asset(id), self.assets.get(&**id).cloned()) else { return };
        let at = now.path().to_string();
        let syntax = references::Syntax::of_extension(&crate::project::model::extension(old.path()));
        if syntax.is_none() || syntax != references::Syntax::of_extension(&crate::project::model::extension(&at)) {
            return;
        }
        // What each reference names as written, where the file will be.
        let will_name: HashMap<&str, &Target> = now.references.iter().map(|r| (&*r.pointer, &r.target)).collect();
        let after = Maps { assets: &self.assets, by_path: &self.by_path };
        let relinked = self.relinked.contains(id);
        let wants = |r: &Reference| {
            let will = will_name.get(&*r.pointer).copied();
            if relinked && will.is_some_and(|t| after.resolve(t).is_some()) {
                return None;
            }
            self.wanted(r, will)
        };
        if !relinked && !old.references.iter().any(|r| wants(r).is_some()) {
            return;
        }
        // The file is where the plan's moves take it from.
        let mut on_disk = at.clone();
        for step in self.steps.iter().rev() {
            if let Step::Move { from, to } = step {
                if *to == on_disk {
                    on_disk = from.clone();
                }
            }
        }
        let read = Sandbox::open(self.root).and_then(|sb| sb.read(&on_disk));
        let bytes = match read {
            Ok(bytes) if ContentHash::of(&bytes) == now.entry.hash => bytes,
            Ok(_) => {
                let msg = format!(
                    "`{at}` names what this change moves or replaces, and it changed on disk since it was \
                     registered: reconcile it first (its references cannot be rewritten over a change the packer \
                     has not seen)"
                );
                return self.block("diverged", msg, Some(id), Some(&at));
            }
            Err(e) => {
                let msg = format!("`{on_disk}` names what this change moves or replaces, and cannot be read: {e}");
                return self.block("unreadable", msg, Some(id), Some(&at));
            }
        };
        let syntax = syntax.expect("checked above");
        let rewritten = references::rewrite(&bytes, syntax, old.path(), &at, wants);
        let (new_bytes, changes) = match rewritten {
            Ok(done) if !done.1.is_empty() => done,
            Ok(_) => return,
            Err(e) => {
                let msg = format!("`{at}` names what this change moves or replaces, and cannot be read: {e}");
                return self.block("unreadable", msg, Some(id), Some(&at));
            }
        };
        let observed = workspace::inspect_bytes(&new_bytes, now.entry.kind, &at);
        let mut entry = now.entry.clone();
        (entry.hash, entry.size) = (observed.hash, observed.size);
        let count = changes.len();
        let changes = changes
            .into_iter()
            .take(CHANGES_LISTED)
            .map(|c| ReferenceChange {
                pointer: c.pointer.to_string(),
                line: c.line,
                column: c.column,
                before: c.before,
                after: c.after,
            })
            .collect();
        self.put(Asset::from_observation(entry, Some(observed)));
        let rewrite =
            Rewrite { path: at, asset_id: id.clone(), before: now.entry.hash, bytes: new_bytes.into(), changes, count };
        self.steps.push(Step::Rewrite(Arc::new(rewrite)));
    }

    /// Blocks a plan that would leave a reference naming nothing, or
    /// another asset than it named (`referenced`): deleting, unregistering
    /// or dropping an asset others name, unless the same plan also removes
    /// or repoints those referrers; or a move whose path references could
    /// not be rewritten (their file is blocked `diverged`). Judged against
    /// the graph after the whole plan, rewrites included.
    fn still_referenced(&mut self, graph: &Graph) {
        const NAMED: usize = 3;
        let before = self.snap.contents.maps();
        // Each touched asset that was there before, with the targets that named it.
        let changed: Vec<(Arc<Asset>, Vec<Target>)> = self
            .touched
            .iter()
            .filter_map(|id| {
                let old = self.snap.asset(id)?.clone();
                let targets = match self.assets.get(&**id) {
                    None => vec![Target::Id(old.entry.id.clone()), Target::Path(old.entry.path.clone())],
                    Some(now) if now.path() != old.path() => vec![Target::Path(old.entry.path.clone())],
                    Some(_) => return None,
                };
                Some((old, targets))
            })
            .collect();
        let mut blocked = Vec::new();
        for (old, targets) in changed {
            let after = Maps { assets: &self.assets, by_path: &self.by_path };
            let mut referrers: Vec<Arc<str>> = targets.iter().flat_map(|t| graph.referrers(t)).collect();
            referrers.sort();
            referrers.dedup();
            let (mut shown, mut count, mut users, mut redirected) = (Vec::new(), 0, 0, false);
            for rid in &referrers {
                // An asset's references to itself go where it goes.
                let Some(referrer) = self.assets.get(&**rid).filter(|_| **rid != *old.entry.id) else { continue };
                let mut uses = false;
                for r in referrer.references.iter().filter(|r| targets.contains(&r.target)) {
                    let (was, now) = (before.resolve(&r.target), after.resolve(&r.target));
                    if was.as_deref() == Some(old.id()) && now.as_deref() != Some(old.id()) {
                        redirected |= now.is_some();
                        uses = true;
                        count += 1;
                        if shown.len() < NAMED {
                            shown.push(format!("`{}` line {} (`{}`)", referrer.path(), r.line, r.pointer));
                        }
                    }
                }
                users += usize::from(uses);
            }
            if count == 0 {
                continue;
            }
            let more = if count > shown.len() { format!(" and {} more", count - shown.len()) } else { String::new() };
            let what = if redirected { "naming nothing or another asset" } else { "naming nothing" };
            let msg = format!(
                "`{}` is named by {count} reference{} in {users} asset{}: {}{more}; this change would leave them {what}: \
                 repoint them (replaceReferences) or remove them in the same batch",
                old.path(),
                if count == 1 { "" } else { "s" },
                if users == 1 { "" } else { "s" },
                shown.join(", "),
            );
            blocked.push((msg, old));
        }
        // A moved file's own references relative to its folder (a glTF's)
        // must still name something where it goes.
        for id in &self.touched {
            let (Some(old), Some(now)) = (self.snap.asset(id), self.assets.get(&**id)) else { continue };
            let (was, will) = (self.snap.contents.graph.broken_of(id), graph.broken_of(id));
            if now.path() != old.path() && will > was {
                let msg = format!(
                    "moving `{}` to `{}` would leave {} of its own references naming nothing (they are relative to \
                     its folder): move what it names with it, in the same batch",
                    old.path(),
                    now.path(),
                    will - was
                );
                blocked.push((msg, old.clone()));
            }
        }
        for (msg, old) in blocked {
            self.block("referenced", msg, Some(old.id()), Some(old.path()));
        }
    }

    pub(super) fn block(&mut self, code: &str, message: String, asset_id: Option<&str>, path: Option<&str>) {
        self.blockers.push_with(|| Diagnostic::blocker(code, message, asset_id, path));
    }

    pub(super) fn warn(&mut self, code: &str, message: String, asset_id: Option<&str>, path: Option<&str>) {
        self.warnings.push_with(|| Diagnostic::warning(code, message, asset_id, path));
    }

    pub(super) fn disk(&self, rel: &str) -> DiskEntry {
        if let Some(e) = self.overlay.get(rel) {
            return *e;
        }
        match std::fs::symlink_metadata(paths::absolute(self.root, rel)) {
            Err(_) => DiskEntry::Absent,
            Ok(m) if m.is_file() => DiskEntry::File,
            Ok(m) if m.is_dir() => DiskEntry::Dir,
            Ok(_) => DiskEntry::Other,
        }
    }

    /// Validates a path from the client; reports a blocker and returns None
    /// when it is unusable.
    pub(super) fn client_path(&mut self, raw: &str, asset_id: Option<&str>) -> Option<String> {
        let checked = paths::normalize_new(raw).and_then(|norm| paths::confine(self.root, &norm).map(|_| norm));
        match checked {
            Ok(norm) => Some(norm),
            Err(problem) => {
                self.block(problem.code, problem.message, asset_id, Some(raw));
                None
            }
        }
    }

    /// A registered or untracked path that differs from `rel` only in
    /// letter case (other than `except`): on a case-insensitive file system
    /// (macOS, Windows: where the project may also be checked out) the two
    /// would be one file.
    fn case_twin(&mut self, rel: &str, except: Option<&str>) -> Option<String> {
        let (by_path, untracked) = (&self.by_path, &self.untracked);
        let index = self.case_index.get_or_insert_with(|| {
            let mut index: HashMap<String, Vec<String>> = HashMap::new();
            for p in by_path.keys().map(|p| &**p).chain(untracked.keys().map(String::as_str)) {
                index.entry(p.to_lowercase()).or_default().push(p.to_string());
            }
            index
        });
        let candidates = index.get(&rel.to_lowercase())?;
        candidates
            .iter()
            .find(|p| {
                p.as_str() != rel
                    && Some(p.as_str()) != except
                    && (by_path.contains_key(p.as_str()) || untracked.contains_key(*p))
            })
            .cloned()
    }

    /// Blocks `rel` when it has a case twin; returns whether it did.
    fn block_case_twin(&mut self, rel: &str, except: Option<&str>, asset_id: Option<&str>) -> bool {
        let Some(twin) = self.case_twin(rel, except) else { return false };
        let msg = format!(
            "`{rel}` differs from `{twin}` only in letter case: on a case-insensitive file system they are one file"
        );
        self.block("caseConflict", msg, asset_id, Some(rel));
        true
    }

    /// What a file is on disk now: at apply through the stat cache (a file
    /// the packer has read and that has not changed is not read again),
    /// otherwise read; a file the cache cannot give is read, for the error.
    pub(super) fn observe_file(&mut self, rel: &str, kind: Kind) -> std::io::Result<Observed> {
        let cached = self.verify.as_deref_mut().and_then(|cache| cache.observe(self.root, rel, kind));
        cached.map_or_else(|| workspace::inspect(self.root, rel, kind), Ok)
    }

    /// Removes the file at `path` (parked in the apply's trash until the
    /// commit, like every delete).
    pub(super) fn plan_delete(&mut self, path: &str) {
        self.overlay.insert(path.to_string(), DiskEntry::Absent);
        self.steps.push(Step::Delete { path: path.to_string() });
    }

    /// The asset a mutation names. An asset a registry conflict names is
    /// changed only by resolving the conflict: either side's entry may
    /// become the truth, and a change made meanwhile would be lost or mixed in.
    fn known(&mut self, asset_id: &str) -> Option<Arc<Asset>> {
        if self.conflicts.iter().any(|c| c.ids().contains(&asset_id)) {
            let msg = format!("asset `{asset_id}` is in an unresolved registry conflict: reconcile it first");
            self.block("inConflict", msg, Some(asset_id), None);
            return None;
        }
        let found = self.assets.get(asset_id).cloned();
        if found.is_none() {
            let message = if self.snap.contents.assets.contains_key(asset_id) {
                format!("asset `{asset_id}` is removed earlier in this mutation")
            } else {
                format!("no asset has the id `{asset_id}`")
            };
            self.block("unknownAsset", message, Some(asset_id), None);
        }
        found
    }

    fn placement_warnings(&mut self, rel: &str, asset_id: Option<&str>) {
        let manifest = &self.snap.manifest;
        if manifest.in_output(rel) {
            // Blocked where every asset is placed (`put_entry`).
            return;
        }
        if !manifest.under_roots(rel) {
            let roots = manifest.roots.join(", ");
            self.warn(
                "outsideAssetRoots",
                format!("`{rel}` is not under the asset roots ({roots})"),
                asset_id,
                Some(rel),
            );
        }
        if manifest.is_excluded(rel) {
            self.warn("excluded", format!("`{rel}` matches an exclude pattern of packer.toml"), asset_id, Some(rel));
        }
    }

    pub(super) fn put(&mut self, asset: Asset) {
        self.reconcile.touched_other = true;
        self.put_entry(asset);
    }

    /// Like `put`, for a `reload` (which does not itself need a registry write).
    pub(super) fn put_entry(&mut self, asset: Asset) {
        let id = asset.entry.id.clone();
        // Every way an asset gets a path (register, move, relink, a reload or
        // a conflict's side) passes here: none may give it a new path where
        // a build writes its packs. An asset the registry already has there
        // (from before the rule) keeps its way out: adopting, tagging or
        // reloading it at the same path is not blocked, and a build refuses
        // it until it is moved.
        let output = &self.snap.manifest.output;
        let had_this_path = self.snap.contents.assets.get(&id).is_some_and(|a| a.path() == asset.path());
        if !had_this_path && self.snap.manifest.in_output(asset.path()) {
            let msg = format!(
                "`{}` is inside the build output (`{output}`), where a build replaces files with packs",
                asset.path()
            );
            self.block("inBuildOutput", msg, Some(&id), Some(asset.path()));
        }
        if let Some(index) = self.case_index.as_mut() {
            index.entry(asset.entry.path.to_lowercase()).or_default().push(asset.entry.path.to_string());
        }
        self.by_path.insert(asset.entry.path.clone(), id.clone());
        self.touched.insert(id.clone());
        self.assets.insert(id, Arc::new(asset));
    }

    pub(super) fn remove(&mut self, asset: &Asset) {
        self.reconcile.touched_other = true;
        self.remove_entry(asset);
    }

    pub(super) fn remove_entry(&mut self, asset: &Asset) {
        self.by_path.remove(asset.path());
        self.assets.remove(asset.id());
        self.touched.insert(asset.entry.id.clone());
    }

    fn mutation(&mut self, m: &Mutation) {
        match m {
            Mutation::Register { paths } => {
                if paths.is_empty() {
                    self.block("emptyMutation", "`paths` is empty: nothing to register".into(), None, None);
                }
                for raw in paths {
                    self.register(raw);
                }
            }
            Mutation::Move { asset_id, to } => self.move_asset(asset_id, to),
            Mutation::Delete { asset_ids } => {
                for id in asset_ids {
                    self.delete(id);
                }
            }
            Mutation::Unregister { asset_ids } => {
                for id in asset_ids {
                    self.unregister(id);
                }
            }
            Mutation::SetMetadata { asset_id, tags, settings } => {
                self.set_metadata(asset_id, tags.as_deref(), settings.as_ref())
            }
            Mutation::Batch { mutations } => {
                for m in mutations {
                    self.mutation(m);
                }
            }
            Mutation::Reconcile { items } => self.reconcile(items.as_deref()),
            Mutation::ReplaceReferences { from, to } => self.replace_references(from, to),
            #[cfg(feature = "test-hooks")]
            Mutation::TestSleep { ms } => self.steps.push(Step::Sleep { ms: *ms }),
        }
    }

    pub(super) fn register(&mut self, raw: &str) {
        let Some(rel) = self.client_path(raw, None) else {
            return;
        };
        if let Some(id) = self.by_path.get(rel.as_str()).cloned() {
            self.block("alreadyRegistered", format!("`{rel}` is already registered as `{id}`"), Some(&id), Some(&rel));
            return;
        }
        // A file a conflict record's side has is that conflict's to settle.
        if self.conflicts.iter().any(|c| c.ours.iter().chain(&c.theirs).any(|e| *e.path == *rel)) {
            let msg = format!("`{rel}` is named by an unresolved registry conflict: reconcile it first");
            self.block("inConflict", msg, None, Some(&rel));
            return;
        }
        if self.block_case_twin(&rel, None, None) {
            return;
        }
        match self.disk(&rel) {
            DiskEntry::File => {}
            DiskEntry::Absent => {
                self.block("notFound", format!("there is no file at `{rel}`"), None, Some(&rel));
                return;
            }
            DiskEntry::Dir => {
                self.block("notAFile", format!("`{rel}` is a folder; register the files in it"), None, Some(&rel));
                return;
            }
            DiskEntry::Other => {
                self.block("notAFile", format!("`{rel}` is not a regular file"), None, Some(&rel));
                return;
            }
        }
        let kind = Kind::of_path(&rel);
        let observed = match self.observe_file(&rel, kind) {
            Ok(o) => o,
            Err(e) => {
                self.block("unreadable", format!("`{rel}` cannot be read: {e}"), None, Some(&rel));
                return;
            }
        };
        self.placement_warnings(&rel, None);
        let entry = Entry {
            id: crate::ids::new_asset_id().into(),
            path: rel.as_str().into(),
            kind,
            hash: observed.hash,
            size: observed.size,
            tags: Vec::new(),
            settings: Default::default(),
        };
        let asset = Asset::from_observation(entry, Some(observed));
        for d in &asset.diagnostics {
            self.warn(&d.code, format!("`{rel}`: {}", d.message), Some(asset.id()), Some(&rel));
        }
        self.untracked.remove(&rel);
        self.put(asset);
    }

    fn move_asset(&mut self, asset_id: &str, to_raw: &str) {
        let Some(asset) = self.known(asset_id) else {
            return;
        };
        let Some(to) = self.client_path(to_raw, Some(asset_id)) else {
            return;
        };
        let from = asset.path().to_string();
        if to == from {
            self.warn("noChange", format!("`{from}` is already at that path"), Some(asset_id), Some(&from));
            return;
        }
        if let Some(other) = self.by_path.get(to.as_str()).cloned() {
            let msg = format!("`{to}` is already the path of asset `{other}`");
            self.block("targetExists", msg, Some(asset_id), Some(&to));
            return;
        }
        // Renaming an asset to another case of its own path is fine.
        if self.block_case_twin(&to, Some(&from), Some(asset_id)) {
            return;
        }
        if self.disk(&to) != DiskEntry::Absent {
            self.block("targetExists", format!("a file or folder already exists at `{to}`"), Some(asset_id), Some(&to));
            return;
        }
        let mut ancestor = to.as_str();
        while let Some((parent, _)) = ancestor.rsplit_once('/') {
            match self.disk(parent) {
                DiskEntry::Dir => break,
                DiskEntry::Absent => ancestor = parent,
                _ => {
                    let msg = format!("`{parent}` is a file, so `{to}` cannot be created");
                    self.block("targetExists", msg, Some(asset_id), Some(&to));
                    return;
                }
            }
        }
        if self.disk(&from) != DiskEntry::File {
            let msg = format!("the file of asset `{asset_id}` is missing at `{from}`: reconcile it first");
            self.block("diverged", msg, Some(asset_id), Some(&from));
            return;
        }
        if !self.unchanged_on_disk(&asset) {
            return;
        }
        let mut moved = asset.as_ref().clone();
        let new_kind = Kind::of_path(&to);
        if new_kind != asset.entry.kind {
            self.warn(
                "kindChanged",
                format!(
                    "the new extension changes the kind of `{to}` from {} to {}",
                    asset.entry.kind.as_str(),
                    new_kind.as_str()
                ),
                Some(asset_id),
                Some(&to),
            );
            moved.entry.kind = new_kind;
        }
        // Metadata depends on the kind, and what a glTF names on its folder:
        // read the file again as the file at its new path.
        if new_kind != asset.entry.kind || workspace::references_move_with(&from, &to) {
            if let Ok(obs) = workspace::inspect_as(self.root, &from, &to, new_kind) {
                let mut entry = moved.entry.clone();
                entry.path = to.as_str().into();
                moved = Asset::from_observation(entry, Some(obs));
            }
        }
        moved.entry.path = to.as_str().into();
        for d in &mut moved.diagnostics {
            d.path = Some(to.clone());
        }
        self.placement_warnings(&to, Some(asset_id));
        self.remove(&asset);
        self.put(moved);
        self.moved.insert(asset.entry.id.clone());
        self.overlay.insert(from.clone(), DiskEntry::Absent);
        self.overlay.insert(to.clone(), DiskEntry::File);
        self.steps.push(Step::Move { from, to });
    }

    /// Whether the asset's file still holds what the registry says. A file
    /// changed behind the packer's back is diverged: a blocker, so that no
    /// operation moves or deletes someone's unreconciled work. At apply the
    /// file itself is checked (by stat, hashing only when it changed), so a
    /// change the watcher has not reported yet is caught too.
    fn unchanged_on_disk(&mut self, asset: &Asset) -> bool {
        let path = asset.path();
        // A registry path is input too: a folder on it may have become a
        // symlink to somewhere outside the project since it was registered.
        if let Err(problem) = paths::confine(self.root, path) {
            self.block(problem.code, problem.message, Some(asset.id()), Some(path));
            return false;
        }
        if self.overlay.contains_key(path) {
            // Put there by an earlier step of this mutation, checked then.
            return true;
        }
        let changed = match self.verify.as_deref_mut() {
            Some(cache) => cache.observe(self.root, path, asset.entry.kind).is_none_or(|o| o.hash != asset.entry.hash),
            None => asset.status == Status::Modified,
        };
        if changed {
            let msg = format!("`{path}` changed on disk since it was registered: reconcile it first");
            self.block("diverged", msg, Some(asset.id()), Some(path));
        }
        !changed
    }

    fn delete(&mut self, asset_id: &str) {
        let Some(asset) = self.known(asset_id) else {
            return;
        };
        let path = asset.path().to_string();
        match self.disk(&path) {
            DiskEntry::File => {
                // Deleting a file someone changed would lose their work.
                if !self.unchanged_on_disk(&asset) {
                    return;
                }
                self.overlay.insert(path.clone(), DiskEntry::Absent);
                self.steps.push(Step::Delete { path });
            }
            DiskEntry::Absent => {
                let msg = format!("the file `{path}` is already gone; only the entry is removed");
                self.warn("fileAlreadyMissing", msg, Some(asset_id), Some(&path));
            }
            _ => {
                let msg = format!("`{path}` is no longer a regular file; it will not be deleted");
                self.block("notAFile", msg, Some(asset_id), Some(&path));
                return;
            }
        }
        self.remove(&asset);
    }

    fn unregister(&mut self, asset_id: &str) {
        let Some(asset) = self.known(asset_id) else {
            return;
        };
        let path = asset.path().to_string();
        self.remove(&asset);
        let manifest = &self.snap.manifest;
        if self.disk(&path) == DiskEntry::File && manifest.under_roots(&path) && !manifest.is_excluded(&path) {
            let hash = asset.hash_on_disk();
            self.untracked.insert(path, Untracked { hash, size: asset.entry.size });
        }
    }

    fn set_metadata(&mut self, asset_id: &str, tags: Option<&[String]>, settings: Option<&Map<String, Value>>) {
        let Some(asset) = self.known(asset_id) else {
            return;
        };
        let mut updated = asset.as_ref().clone();
        if let Some(tags) = tags {
            let mut clean = Vec::new();
            for t in tags {
                if t.is_empty()
                    || t.chars().count() > 64
                    || t.chars().any(|c| c.is_whitespace() || c.is_control() || c == ',')
                {
                    let msg =
                        format!("tag `{t}` must be 1 to 64 characters without spaces, commas or control characters");
                    self.block("invalidTag", msg, Some(asset_id), Some(asset.path()));
                    return;
                }
                clean.push(t.clone());
            }
            clean.sort();
            clean.dedup();
            updated.entry.tags = clean;
        }
        if let Some(settings) = settings {
            for (k, v) in settings {
                if k.is_empty() {
                    self.block(
                        "invalidSetting",
                        "a setting name must not be empty".into(),
                        Some(asset_id),
                        Some(asset.path()),
                    );
                    return;
                }
                if v.is_null() {
                    updated.entry.settings.remove(k);
                } else {
                    updated.entry.settings.insert(k.clone(), v.clone());
                }
            }
            // None left: no map kept.
            if updated.entry.settings.is_empty() {
                updated.entry.settings = Default::default();
            }
        }
        if updated.entry == asset.entry {
            self.warn("noChange", "the tags and settings are already so".into(), Some(asset_id), Some(asset.path()));
        }
        self.put(updated);
    }
}

/// Why an apply stopped before its commit point.
#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    #[error("cancelled")]
    Cancelled,
    #[error("{step}: {source}")]
    Io { step: String, source: std::io::Error },
}

/// An apply's file steps that stopped before the commit point: why, and
/// what undoing the steps done could not undo (empty: the project is as
/// it was).
#[derive(Debug)]
pub struct Stopped {
    pub error: ExecError,
    pub not_undone: Vec<String>,
}

/// Filesystem steps done so far, so that they can be undone before the
/// commit point, and finished (the trash emptied) after it. Every file
/// operation goes through the project's [`Sandbox`]: resolved beneath the
/// root, never through a symlink, and a move never replaces a file.
pub struct Executed<'a> {
    sandbox: &'a Sandbox,
    /// The trash folder of this apply, relative to the root.
    trash: String,
    done: Vec<Step>,
    /// `(asset path, parked path)`, both relative to the root.
    trashed: Vec<(String, String)>,
    /// Rewritten files, `(asset path, parked copy of the old bytes)`.
    rewritten: Vec<(String, String)>,
    manifest_before: Option<Vec<u8>>,
}

/// Performs a plan's filesystem steps in order. `safe_point(done, total)`
/// is called before each step (and while a step waits) and answers whether
/// the operation was cancelled; on cancel or error the steps done are undone.
/// `trash` is this apply's trash folder, relative to the root.
pub fn execute<'a>(
    sandbox: &'a Sandbox,
    trash: &str,
    steps: &[Step],
    safe_point: &dyn Fn(usize, usize) -> bool,
) -> Result<Executed<'a>, Stopped> {
    let mut ex = Executed::new(sandbox, trash);
    let total = steps.len();
    for (i, step) in steps.iter().enumerate() {
        let stopped = match safe_point(i, total) {
            true => Err(ExecError::Cancelled),
            false => ex.run(step, &|| safe_point(i, total)),
        };
        if let Err(error) = stopped {
            return Err(Stopped { error, not_undone: ex.rollback() });
        }
    }
    Ok(ex)
}

impl<'a> Executed<'a> {
    fn new(sandbox: &'a Sandbox, trash: &str) -> Executed<'a> {
        Executed {
            sandbox,
            trash: trash.to_string(),
            done: Vec::new(),
            trashed: Vec::new(),
            rewritten: Vec::new(),
            manifest_before: None,
        }
    }

    /// Does one step, and counts it done.
    // `cancelled` is only asked by steps that wait (test builds' `testSleep`).
    #[cfg_attr(not(feature = "test-hooks"), allow(unused_variables))]
    fn run(&mut self, step: &Step, cancelled: &dyn Fn() -> bool) -> Result<(), ExecError> {
        match step {
            Step::Move { from, to } => self.move_file(step, from, to)?,
            // Counted done before it is written (see `write_manifest`).
            Step::WriteManifest { text } => return self.write_manifest(step, text),
            Step::Delete { path } => self.park(step, path)?,
            Step::Rewrite(rw) => self.rewrite(step, rw)?,
            #[cfg(feature = "test-hooks")]
            Step::Sleep { ms } => sleep(*ms, cancelled)?,
        }
        self.done.push(step.clone());
        Ok(())
    }

    /// Moves an asset's file, never over a file at the target.
    fn move_file(&mut self, step: &Step, from: &str, to: &str) -> Result<(), ExecError> {
        let sb = self.sandbox;
        let io = |source| ExecError::Io { step: format!("moving `{from}` to `{to}`"), source };
        // Re-check at the last moment: the source must still be a
        // regular file (not a symlink swapped in since the plan).
        if sb.entry(from).map_err(io)? != Some(sandbox::Entry::File) {
            return Err(io(std::io::Error::other("the source is no longer a regular file")));
        }
        sb.create_parent_dirs(to).map_err(io)?;
        // RENAME_NOREPLACE: a file created at the target since
        // planning is someone's work and is never overwritten.
        match sb.rename(from, to, false) {
            Ok(()) => {}
            Err(RenameError::NotRenamed(e)) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                return Err(io(std::io::Error::new(e.kind(), "the target appeared since the plan")));
            }
            Err(RenameError::NotRenamed(e)) => return Err(io(e)),
            // Moved but not durable: counted as done, so that the
            // rollback that follows this error moves it back.
            Err(e @ RenameError::NotSynced(_)) => {
                self.done.push(step.clone());
                return Err(io(e.into()));
            }
        }
        crate::fault::point("file moved");
        Ok(())
    }

    /// Replaces `packer.toml`, keeping its bytes to write back on undo.
    fn write_manifest(&mut self, step: &Step, text: &str) -> Result<(), ExecError> {
        let path = self.sandbox.path().join(MANIFEST_FILE);
        let io = |source| ExecError::Io { step: format!("writing {MANIFEST_FILE}"), source };
        let before = self.sandbox.read(MANIFEST_FILE).map_err(io)?;
        // Recorded before the write: if it fails after replacing the
        // file (the folder sync), the rollback writes the old bytes
        // back; if it failed before, that rewrite changes nothing.
        self.manifest_before = Some(before);
        self.done.push(step.clone());
        crate::fsutil::write_atomic(&path, text.as_bytes()).map_err(io)
    }

    /// Parks a deleted file in the trash: removed only after the commit
    /// point, put back by a rollback before it.
    fn park(&mut self, step: &Step, path: &str) -> Result<(), ExecError> {
        let sb = self.sandbox;
        let io = |source| ExecError::Io { step: format!("deleting `{path}`"), source };
        sb.create_dir_all(&self.trash).map_err(io)?;
        let parked = self.next_parked();
        match sb.rename(path, &parked, false) {
            Ok(()) => {}
            Err(RenameError::NotRenamed(e)) => return Err(io(e)),
            // Parked but not durable: recorded, so that the rollback
            // puts it back (never left in a trash that open empties).
            Err(e @ RenameError::NotSynced(_)) => {
                self.trashed.push((path.to_string(), parked));
                self.done.push(step.clone());
                return Err(io(e.into()));
            }
        }
        crate::fault::point("deleted file parked in the trash");
        self.trashed.push((path.to_string(), parked));
        Ok(())
    }

    /// Where the next file the apply sets aside goes: deletes and rewrites
    /// are numbered together, in step order (as the intent numbers them).
    fn next_parked(&self) -> String {
        format!("{}/{}", self.trash, self.trashed.len() + self.rewritten.len())
    }

    /// Writes a file's new bytes over it. Its old bytes are parked first
    /// (put back by a rollback, or by the next open after a crash), the new
    /// ones are written beside them and renamed over the file: a reader or
    /// a crash sees the old file or the new one.
    fn rewrite(&mut self, step: &Step, rw: &Rewrite) -> Result<(), ExecError> {
        use std::io::Write;
        use std::os::unix::fs::PermissionsExt;
        let sb = self.sandbox;
        let path = rw.path.as_str();
        let io = |source| ExecError::Io { step: format!("rewriting `{path}`"), source };
        let old = sb.read(path).map_err(io)?;
        if ContentHash::of(&old) != rw.before {
            return Err(io(std::io::Error::other("the file changed since the plan")));
        }
        let mode = sb.metadata(path).map_err(io)?.permissions().mode() & 0o7777;
        sb.create_dir_all(&self.trash).map_err(io)?;
        let parked = self.next_parked();
        let fresh = format!("{parked}.new");
        let write_new = |rel: &str, bytes: &[u8]| -> std::io::Result<()> {
            let mut f = sb.create_new(rel)?;
            f.set_permissions(std::fs::Permissions::from_mode(mode))?;
            f.write_all(bytes)?;
            f.sync_all()
        };
        let staged = write_new(&parked, &old).and_then(|()| {
            crate::fault::point("a rewritten file's old bytes parked");
            write_new(&fresh, &rw.bytes)?;
            // The parked copy's name is durable before the file is replaced.
            sb.sync_dir(&self.trash)?;
            // Checked again at the last moment: a save since the first read
            // would be lost. (What remains is the time of one rename; no
            // portable call replaces a file only if it is unchanged.)
            match sb.read(path) {
                Ok(now) if ContentHash::of(&now) == rw.before => Ok(()),
                Ok(_) => Err(std::io::Error::other("the file changed while it was being rewritten")),
                Err(e) => Err(e),
            }
        });
        let replaced = match staged {
            Err(e) => Err(e),
            Ok(()) => match sb.rename(&fresh, path, true) {
                Ok(()) => Ok(()),
                Err(RenameError::NotRenamed(e)) => Err(e),
                // Replaced but not durable: counted as done, so that the
                // rollback that follows this error puts the old bytes back.
                Err(e @ RenameError::NotSynced(_)) => {
                    self.rewritten.push((path.to_string(), parked));
                    self.done.push(step.clone());
                    return Err(io(e.into()));
                }
            },
        };
        if let Err(e) = replaced {
            // The file was not replaced: what was staged for it goes.
            let _ = sb.remove_file(&fresh);
            let _ = sb.remove_file(&parked);
            return Err(io(e));
        }
        crate::fault::point("file rewritten");
        self.rewritten.push((path.to_string(), parked));
        Ok(())
    }

    /// Undoes the steps done, newest first. Best effort: a step that cannot
    /// be undone is logged and answered (the difference shows as
    /// divergence); the caller then keeps what is still parked out of the
    /// trash that the next open empties.
    #[must_use = "a step that could not be undone leaves parked files the trash must keep"]
    pub fn rollback(&mut self) -> Vec<String> {
        let sb = self.sandbox;
        let mut problems = Vec::new();
        // Put back but not made durable is still put back (a crash could
        // lose it, as it could lose any unsynced rename): logged, not failed.
        let renamed = |r: Result<(), RenameError>| match r {
            Ok(()) => Ok(()),
            Err(RenameError::NotSynced(e)) => {
                tracing::warn!(error = %e, "a step of a failed apply was undone, but not synced");
                Ok(())
            }
            Err(RenameError::NotRenamed(e)) => Err(e),
        };
        while let Some(step) = self.done.pop() {
            let result = match &step {
                Step::Move { from, to } => renamed(sb.rename(to, from, false)),
                // Only over the text this apply wrote (it may not have
                // been written at all): an edit since is someone's.
                Step::WriteManifest { text } => match (self.manifest_before.take(), sb.read(MANIFEST_FILE)) {
                    (Some(before), Ok(now)) if now == text.as_bytes() => {
                        crate::fsutil::write_atomic(&sb.path().join(MANIFEST_FILE), &before)
                    }
                    (Some(before), Ok(now)) if now == before => Ok(()),
                    (Some(_), Ok(_)) => Err(std::io::Error::other("packer.toml changed since it was written")),
                    (Some(_), Err(e)) => Err(e),
                    (None, _) => Ok(()),
                },
                Step::Delete { path } => match self.trashed.pop() {
                    Some((_, parked)) => renamed(sb.rename(&parked, path, false)),
                    None => Ok(()),
                },
                Step::Rewrite(rw) => match self.rewritten.pop() {
                    // Only over the bytes this apply wrote: a save since is
                    // someone's, and the old bytes stay parked.
                    Some((_, parked)) => match sb.read(&rw.path) {
                        Ok(now) if now == *rw.bytes => renamed(sb.rename(&parked, &rw.path, true)),
                        Ok(_) => Err(std::io::Error::other("the file changed since it was rewritten")),
                        Err(e) => Err(e),
                    },
                    None => Ok(()),
                },
                #[cfg(feature = "test-hooks")]
                Step::Sleep { .. } => Ok(()),
            };
            if let Err(e) = result {
                tracing::error!(?step, error = %e, "could not undo a step of a failed apply");
                problems.push(format!("{}: {e}", step.describe()));
            }
        }
        problems
    }

    /// After the commit point: empties this apply's trash.
    pub fn commit(self) {
        for (path, parked) in &self.trashed {
            if let Err(e) = self.sandbox.remove_file(parked) {
                tracing::warn!(%path, error = %e, "could not empty the trash after a delete");
            }
            crate::fault::point("a parked file removed from the trash");
        }
        for (path, parked) in &self.rewritten {
            if let Err(e) = self.sandbox.remove_file(parked) {
                tracing::warn!(%path, error = %e, "could not empty the trash after a rewrite");
            }
        }
        self.sandbox.remove_empty_dir(&self.trash);
    }
}

/// Test builds' `testSleep`: waits `ms`, giving up when cancelled.
#[cfg(feature = "test-hooks")]
fn sleep(ms: u64, cancelled: &dyn Fn() -> bool) -> Result<(), ExecError> {
    let end = std::time::Instant::now() + std::time::Duration::from_millis(ms);
    while std::time::Instant::now() < end {
        if cancelled() {
            return Err(ExecError::Cancelled);
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    Ok(())
}

impl Mutation {
    /// The `kind` as written on the wire, for titles and logs.
    pub fn kind_name(&self) -> &'static str {
        match self {
            Mutation::Register { .. } => "register",
            Mutation::Move { .. } => "move",
            Mutation::Delete { .. } => "delete",
            Mutation::Unregister { .. } => "unregister",
            Mutation::SetMetadata { .. } => "setMetadata",
            Mutation::Batch { .. } => "batch",
            Mutation::Reconcile { .. } => "reconcile",
            Mutation::ReplaceReferences { .. } => "replaceReferences",
            #[cfg(feature = "test-hooks")]
            Mutation::TestSleep { .. } => "testSleep",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs `steps` then a test sleep, and during the sleep lets `meddle`
    /// change the project (as another program would) before cancelling:
    /// what the undo could not undo.
    #[cfg(feature = "test-hooks")]
    fn undo_after(root: &Path, mut steps: Vec<Step>, meddle: impl Fn()) -> Vec<String> {
        let sandbox = Sandbox::open(root).unwrap();
        steps.push(Step::Sleep { ms: 10_000 });
        let last = steps.len() - 1;
        let cancel = |done: usize, _| done == last && (meddle(), true).1;
        let stopped = execute(&sandbox, ".packer/trash/op-1", &steps, &cancel).err().expect("cancelled");
        assert!(matches!(stopped.error, ExecError::Cancelled));
        stopped.not_undone
    }

    #[cfg(feature = "test-hooks")]
    #[test]
    fn an_undo_never_writes_over_a_change_made_since_and_says_what_it_left() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        std::fs::write(root.join("level.json"), "old").unwrap();
        std::fs::write(root.join("gone.txt"), "deleted").unwrap();
        std::fs::write(root.join(MANIFEST_FILE), "[project]\n").unwrap();
        let rewrite = |new: &str| {
            Step::Rewrite(Arc::new(Rewrite {
                path: "level.json".into(),
                asset_id: "level".into(),
                before: ContentHash::of(b"old"),
                bytes: new.as_bytes().into(),
                changes: Vec::new(),
                count: 0,
            }))
        };
        // Untouched since: everything is undone.
        let manifest = Step::WriteManifest { text: "[project]\n# ours\n".into() };
        let steps = vec![manifest, rewrite("new"), Step::Delete { path: "gone.txt".into() }];
        assert!(undo_after(&root, steps.clone(), || ()).is_empty());
        assert_eq!(std::fs::read(root.join("level.json")).unwrap(), b"old");
        assert_eq!(std::fs::read(root.join("gone.txt")).unwrap(), b"deleted");
        assert_eq!(std::fs::read(root.join(MANIFEST_FILE)).unwrap(), b"[project]\n");
        // Saved over, and the deleted path taken, while the apply ran: both
        // are kept as they are now, and the undo says so.
        let not_undone = undo_after(&root, steps, || {
            std::fs::write(root.join("level.json"), "theirs").unwrap();
            std::fs::write(root.join("gone.txt"), "a new file").unwrap();
            std::fs::write(root.join(MANIFEST_FILE), "[project]\n# theirs\n").unwrap();
        });
        assert_eq!(not_undone.len(), 3, "{not_undone:?}");
        assert!(not_undone[0].starts_with("putting `gone.txt` back: "), "{not_undone:?}");
        assert!(not_undone[1].starts_with("putting the old bytes of `level.json` back: "), "{not_undone:?}");
        assert!(not_undone[2].starts_with("writing packer.toml back: "), "{not_undone:?}");
        assert_eq!(std::fs::read(root.join(MANIFEST_FILE)).unwrap(), b"[project]\n# theirs\n");
        assert_eq!(std::fs::read(root.join("level.json")).unwrap(), b"theirs");
        assert_eq!(std::fs::read(root.join("gone.txt")).unwrap(), b"a new file");
        // What was set aside is still parked, for the caller to keep.
        assert_eq!(std::fs::read(root.join(".packer/trash/op-1/0")).unwrap(), b"old");
        assert_eq!(std::fs::read(root.join(".packer/trash/op-1/1")).unwrap(), b"deleted");
    }

    #[test]
    fn a_rewrite_is_refused_when_the_file_changed_since_the_plan() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        std::fs::write(root.join("level.json"), "saved since").unwrap();
        let sandbox = Sandbox::open(&root).unwrap();
        let step = Step::Rewrite(Arc::new(Rewrite {
            path: "level.json".into(),
            asset_id: "level".into(),
            before: ContentHash::of(b"old"),
            bytes: b"new"[..].into(),
            changes: Vec::new(),
            count: 0,
        }));
        let stopped = execute(&sandbox, ".packer/trash/op-1", &[step], &|_, _| false).err().expect("refused");
        assert!(stopped.error.to_string().contains("changed since the plan"), "{}", stopped.error);
        assert!(stopped.not_undone.is_empty());
        assert_eq!(std::fs::read(root.join("level.json")).unwrap(), b"saved since");
        assert!(!root.join(".packer/trash/op-1").exists());
    }

    /// The string literals that follow each of `calls` in `source` (calls
    /// with a computed first argument are skipped).
    fn literal_codes(source: &str, calls: &[&str]) -> Vec<String> {
        let mut codes = Vec::new();
        for call in calls {
            for (at, _) in source.match_indices(call) {
                let rest = source[at + call.len()..].trim_start();
                if let Some(quoted) = rest.strip_prefix('"') {
                    codes.push(quoted[..quoted.find('"').expect("a closed literal")].to_string());
                }
            }
        }
        codes
    }

    /// Every code the planner gives a blocker or a warning, found in its
    /// source, has its name in `BlockerCode` or `WarningCode`: a code the
    /// enums lack fails here, rather than a preview or an apply at run time.
    #[test]
    fn every_code_the_planner_uses_is_one_of_the_protocol() {
        let planner = [include_str!("mutation.rs"), include_str!("reconcile.rs"), include_str!("../lane.rs")];
        let mut blockers: Vec<String> = Vec::new();
        let mut warnings: Vec<String> = Vec::new();
        for source in planner {
            // This file's own test sources say `block(` in strings only.
            let source = source.split("#[cfg(test)]").next().unwrap();
            blockers.extend(literal_codes(source, &["self.block(", "Diagnostic::blocker("]));
            warnings.extend(literal_codes(source, &["self.warn(", "Diagnostic::warning("]));
        }
        // A client's path is refused with the code of its `PathProblem`.
        blockers.extend(literal_codes(include_str!("../model/paths.rs"), &["PathProblem { code:"]));
        // `register` warns of what looking at the file found wrong with it.
        let inspect = include_str!("../disk/workspace.rs");
        let inspect = &inspect[..inspect.find("pub fn scan(").expect("workspace.rs has scan")];
        warnings.extend(literal_codes(inspect, &["Severity::Error,", "Severity::Warning,"]));
        assert!(blockers.len() > 30 && warnings.len() > 15, "the scan finds the codes: {blockers:?} {warnings:?}");
        for code in &blockers {
            let d = Diagnostic::blocker(code, "m".into(), Some("a"), Some("p"));
            assert!(Blocker::try_from(&d).is_ok(), "`{code}` is not a BlockerCode");
        }
        for code in &warnings {
            let d = Diagnostic::warning(code, "m".into(), None, None);
            assert!(Warning::try_from(&d).is_ok(), "`{code}` is not a WarningCode");
        }
    }

    #[test]
    fn a_diagnostic_the_wire_cannot_carry_is_an_error_not_dropped() {
        let unknown = Diagnostic::blocker("noSuchCode", "m".into(), None, None);
        assert!(Blocker::try_from(&unknown).is_err());
        let warning = Diagnostic::warning("noChange", "m".into(), None, None);
        assert!(Blocker::try_from(&warning).is_err(), "a blocker is an error");
        assert!(Warning::try_from(&warning).is_ok());
        let mut blockers = Capped::default();
        blockers.push(unknown);
        let empty = (Capped::default(), Capped::default(), Capped::default());
        assert!(answer_lists(&blockers, &empty.0, &empty.1, &empty.2, None).is_err());
    }

    /// Past `LISTED` entries, a list is cut and `truncated` counts every list.
    #[test]
    fn long_lists_are_cut_and_counted() {
        let mut warnings = Capped::default();
        for i in 0..LISTED + 5 {
            warnings.push_with(|| Diagnostic::warning("noChange", format!("w{i}"), None, None));
        }
        let mut files = Capped::default();
        files.push(FilesystemMutation::Write { path: ProjectFile::Registry });
        let (blockers, registry) = (Capped::default(), Capped::default());
        let lists = answer_lists(&blockers, &warnings, &registry, &files, Some(&Capped::default())).unwrap();
        assert_eq!(lists.warnings.len(), LISTED);
        assert!(lists.resolutions.is_none(), "an empty list of resolutions is left out");
        let truncated = serde_json::to_value(lists.truncated).unwrap();
        let expected = serde_json::json!({
            "limit": 1000, "blockers": 0, "warnings": 1005, "registryMutations": 0, "filesystemMutations": 1,
        });
        assert_eq!(truncated, expected);
        let short = answer_lists(&blockers, &Capped::default(), &registry, &files, None).unwrap();
        assert!(short.truncated.is_none());
    }
}
