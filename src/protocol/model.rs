//! The wire's types: the result of every method and every event kind, as
//! Rust types that serialize to exactly what the server sends. The JSON
//! Schemas under `protocol/schema/`, the TypeScript types of `editors/vscode`
//! and the Python client of `editors/scripts` are generated from these (and
//! from the params in `protocol/mod.rs`) by `tests/generated.rs`; nothing
//! of them is kept by hand.
//!
//! Types the domain already serializes (an asset, a diagnostic, a
//! divergence item) live with the domain and derive their schema there.

use std::sync::Arc;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::project::disk::statcache::ObserveStats;
use crate::project::format::manifest::{Profile, RemoteMode};
use crate::project::model::{Asset, Diagnostic, DiagnosticCode, Severity};
use crate::project::snapshot::divergence::Item as DivergenceItem;
use crate::project::snapshot::{AssetCounts, DiagnosticCounts};

/// Schema-only types: what a string or a number of the wire holds, said
/// once (fields stay `String`/`u64` in Rust and name these with
/// `#[schemars(with = ...)]`).
macro_rules! schema_only {
    ($(#[doc = $doc:literal])* $name:ident = $schema:tt) => {
        $(#[doc = $doc])*
        pub struct $name;

        impl JsonSchema for $name {
            fn schema_name() -> std::borrow::Cow<'static, str> {
                stringify!($name).into()
            }

            fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
                let mut schema = schemars::json_schema!($schema);
                schema.insert("description".into(), concat!($($doc, "\n"),*).trim().into());
                schema
            }
        }
    };
}

schema_only! {
    /// A project's id: `p-` and 16 hex digits of the BLAKE3 hash of its
    /// canonical root; the same root always gives the same id.
    ProjectId = { "type": "string", "pattern": "^p-[0-9a-f]{16}$" }
}
schema_only! {
    /// An operation's id: `op-` and 1 to 60 ASCII letters or digits. The
    /// packer's are `op-` and 16 characters of lowercase Crockford base32;
    /// a client may choose its own (see `packer/applyMutation`).
    OperationId = { "type": "string", "pattern": "^op-[A-Za-z0-9]{1,60}$" }
}
schema_only! {
    /// An asset's id. New ids are 128 random bits in lowercase Crockford
    /// base32 (26 characters); a hand-edited registry may hold any 1 to 64
    /// ASCII letters, digits, `-` and `_`.
    AssetId = { "type": "string", "pattern": "^[A-Za-z0-9_-]{1,64}$" }
}
schema_only! {
    /// A divergence item's id: `d-` and 16 hex digits, stable while the
    /// difference lasts.
    DivergenceId = { "type": "string", "pattern": "^d-[0-9a-f]{16}$" }
}
schema_only! {
    /// An external change's id: `xc-` and an id.
    ChangeId = { "type": "string", "pattern": "^xc-[A-Za-z0-9_-]{1,64}$" }
}
schema_only! {
    /// A project-relative path with `/` separators.
    RelativePath = { "type": "string", "minLength": 1 }
}
schema_only! {
    /// A snapshot's generation. It starts past the journal's last `seq`
    /// when a project is opened and rises by one per published snapshot.
    Generation = { "type": "integer", "minimum": 1 }
}
schema_only! {
    /// An event's place in its project's stream, from 1, rising by one per
    /// event, across restarts.
    Seq = { "type": "integer", "minimum": 1 }
}
schema_only! {
    /// An event's place within its operation, from 1.
    Sequence = { "type": "integer", "minimum": 1 }
}

// ---------------------------------------------------------------- initialize

/// `initialize`'s params: LSP's, of which the packer reads nothing; other
/// fields are tolerated.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct InitializeParams {
    /// The client's process id, or null.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub process_id: Option<i64>,
    /// The client's capabilities (the packer needs none).
    #[serde(default)]
    pub capabilities: serde_json::Map<String, Value>,
}

/// What the server supports, as LSP servers declare theirs.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(deny_unknown_fields)]
pub struct InitializeResult {
    pub capabilities: ServerCapabilities,
    pub server_info: ServerInfo,
}

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(deny_unknown_fields)]
pub struct ServerCapabilities {
    pub experimental: ExperimentalCapabilities,
}

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(deny_unknown_fields)]
pub struct ExperimentalCapabilities {
    pub packer: PackerCapabilities,
}

/// The packer's own capabilities, from the protocol model.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(deny_unknown_fields)]
pub struct PackerCapabilities {
    /// Bumped when a change would break a client written for an older one.
    pub protocol_version: u32,
    /// Every request method besides `initialize` and `shutdown`.
    pub methods: Vec<String>,
    /// Every notification the server sends.
    pub notifications: Vec<String>,
    /// Every `kind` of mutation `packer/previewMutation` and `packer/applyMutation` take.
    pub mutation_kinds: Vec<String>,
    /// Every `kind` of `packer/event` the server sends.
    pub event_kinds: Vec<String>,
    /// Every `profile` a `[[build.targets]]` may have.
    pub profiles: Vec<Profile>,
    /// Every texture format a target's `format` setting may name, by profile.
    pub texture_formats: std::collections::BTreeMap<String, Vec<String>>,
}

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(deny_unknown_fields)]
pub struct ServerInfo {
    /// `studio-packer`.
    pub name: String,
    pub version: String,
}

// ------------------------------------------------------------------ projects

/// Whether this process owns the project or attaches to the process that does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum OwnershipMode {
    Owner,
    Attached,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(deny_unknown_fields)]
pub struct Ownership {
    pub mode: OwnershipMode,
    /// The owner process (this one when `mode` is `owner`); null when it is not known.
    #[schemars(range(min = 1))]
    pub owner_pid: Option<u32>,
}

/// `packer/openProject`.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(deny_unknown_fields)]
pub struct OpenProjectResult {
    /// Stable for a root: the same folder always gets the same id.
    #[schemars(with = "ProjectId")]
    pub project_id: String,
    /// The project's absolute root.
    pub root: String,
    #[schemars(with = "Generation")]
    pub generation: u64,
    pub summary: Summary,
    pub ownership: Ownership,
    /// How the first look at the disk went (null when attached: the owner looked).
    pub scan: Option<ObserveStats>,
}

/// One entry of `packer/listProjects`.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(deny_unknown_fields)]
pub struct ProjectInfo {
    #[schemars(with = "ProjectId")]
    pub project_id: String,
    pub root: String,
    /// `name` of packer.toml; null when the owner could not be asked.
    pub name: Option<String>,
    /// Null when the owner could not be asked.
    #[schemars(with = "Option<Generation>")]
    pub generation: Option<u64>,
    pub ownership: Ownership,
}

/// `packer/listProjects`: the projects this connection's server has open, by root.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(deny_unknown_fields)]
pub struct ListProjectsResult {
    pub projects: Vec<ProjectInfo>,
}

// ------------------------------------------------------------------- summary

/// Whether disk and registry agree.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum DivergenceState {
    Clean,
    Diverged,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(deny_unknown_fields)]
pub struct DivergenceCount {
    pub state: DivergenceState,
    /// The number of divergence items.
    pub count: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(deny_unknown_fields)]
pub struct LaneCounts {
    /// Operations waiting in the project's lane.
    pub queued: usize,
    /// 0 or 1: the lane runs one operation at a time.
    #[schemars(range(max = 1))]
    pub running: usize,
}

/// Watching the project's files for changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum WatchState {
    /// Not watched (a one-shot command).
    Off,
    /// The watches are being placed; changes meanwhile are seen once they are.
    Starting,
    Ok,
    /// Watching failed; `reason` says why. Changes are seen at the next look.
    Degraded,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(deny_unknown_fields)]
pub struct Watch {
    pub state: WatchState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// An outcome of a build or a cache prune.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum BuildOutcome {
    Succeeded,
    Failed,
    Cancelled,
}

/// The last build of one target in this process, for the summary.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(deny_unknown_fields)]
pub struct LastBuild {
    #[schemars(with = "OperationId")]
    pub operation_id: String,
    /// The target's name (`[[build.targets]]`).
    pub target: String,
    pub outcome: BuildOutcome,
    /// Milliseconds since the Unix epoch.
    pub finished_at_ms: u64,
    /// How many packs it made or kept.
    pub packs: usize,
    pub stats: BuildStats,
}

/// A source-control operation in progress (`packer/beginExternalChange`).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(deny_unknown_fields)]
pub struct ExternalChangeInfo {
    #[schemars(with = "ChangeId")]
    pub change_id: String,
    pub reason: String,
    pub age_ms: u64,
}

/// `packer/summary`: every count a client shows, computed by the packer.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(deny_unknown_fields)]
pub struct Summary {
    #[schemars(with = "Generation")]
    pub generation: u64,
    pub assets: AssetCounts,
    pub diagnostics: DiagnosticCounts,
    pub divergence: DivergenceCount,
    pub lane: LaneCounts,
    pub watch: Watch,
    /// Each target's last build in this process, by target name (no key
    /// until this process has built that target).
    pub last_build: std::collections::BTreeMap<String, LastBuild>,
    /// Source-control operations in progress, oldest first: divergence is held back until they end.
    pub external_changes: Vec<ExternalChangeInfo>,
    /// The build targets of the manifest the snapshot was made with, in
    /// `packer.toml` order (the one a build without `target` builds first is first).
    pub targets: Vec<TargetInfo>,
    pub references: ReferenceTotals,
}

/// A build target of `packer.toml`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(deny_unknown_fields)]
pub struct TargetInfo {
    pub name: String,
    pub profile: Profile,
}

// -------------------------------------------------------------------- reads

/// `packer/listAssets`: a page of assets in path order.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(deny_unknown_fields)]
pub struct ListAssetsResult {
    #[schemars(with = "Generation")]
    pub generation: u64,
    pub items: Vec<Arc<Asset>>,
    /// Pass as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<String>,
}

/// `packer/getAsset`.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(deny_unknown_fields)]
pub struct GetAssetResult {
    #[schemars(with = "Generation")]
    pub generation: u64,
    pub asset: Arc<Asset>,
    /// The settings a build uses for the asset, by key (a texture's `format`
    /// by target: `format.<target>`), each with where it was set.
    pub effective_settings: std::collections::BTreeMap<String, EffectiveSetting>,
    /// Each effective setting the asset's kind cannot use (`invalidSetting`
    /// errors naming the key and where it was set): a build fails on them.
    pub setting_problems: Vec<Diagnostic>,
    /// An image's texture for each target a build cooked it for as it is
    /// now (source and settings), in target order; empty for other kinds.
    pub cooked: Vec<CookedTexture>,
    /// How many references the asset's file holds, how many name it, and
    /// how many of its own name nothing registered.
    pub references: ReferenceCounts,
}

/// An asset's references, counted (`packer/references` lists them).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(deny_unknown_fields)]
pub struct ReferenceCounts {
    /// References in the asset's file, each one (broken ones included).
    pub uses: usize,
    /// References in other files that name this asset, each one.
    pub used_by: usize,
    /// Of `uses`, those that name nothing registered.
    pub broken: usize,
}

/// `packer/references`: what an asset's file names, and what names it.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(deny_unknown_fields)]
pub struct ReferencesResult {
    #[schemars(with = "Generation")]
    pub generation: u64,
    #[schemars(with = "AssetId")]
    pub asset_id: String,
    #[schemars(with = "RelativePath")]
    pub path: String,
    /// The references in the asset's file, in file order (the first 1,000).
    pub uses: Vec<ReferenceItem>,
    /// The references in other files that name this asset, by referrer id,
    /// then in file order (the first 1,000).
    pub used_by: Vec<ReferenceItem>,
    /// How many there are of each, whatever the lists hold.
    pub counts: ReferenceCounts,
}

/// One reference: the other asset, and where the reference is written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(deny_unknown_fields)]
pub struct ReferenceItem {
    /// The other asset (in `uses`, the one named; in `usedBy`, the one whose
    /// file holds the reference); absent when the reference is broken.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<AssetId>")]
    pub asset_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<RelativePath>")]
    pub path: Option<String>,
    /// How the reference names its target.
    pub by: ReferenceBy,
    /// What it names: an id, or a path from the project root.
    pub target: String,
    /// It names nothing registered.
    pub broken: bool,
    /// Where it is written, in the referring file: a JSON pointer (RFC 6901,
    /// over the TOML tree for TOML), and the 1-based line and column.
    pub pointer: String,
    #[schemars(range(min = 1))]
    pub line: u32,
    #[schemars(range(min = 1))]
    pub column: u32,
}

/// How a reference names an asset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum ReferenceBy {
    /// `asset:<id>`: survives every move.
    Id,
    /// `asset:<path>` or a glTF `uri`.
    Path,
}

/// The project's references, counted.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(deny_unknown_fields)]
pub struct ReferenceTotals {
    /// References that name nothing registered (each an error diagnostic on its file).
    pub broken: usize,
}

/// What a build cooked of an image for one target.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(deny_unknown_fields)]
pub struct CookedTexture {
    pub target: String,
    pub profile: Profile,
    /// The GPU format: `bc1`, `bc3`, `bc4`, `bc5`, `bc7`, `astc-4x4`, `astc-6x6`, `astc-8x8` or `rgba8`.
    pub format: String,
    /// Whether the format is the sRGB variant (the GPU decodes to linear light).
    pub srgb: bool,
    /// The KTX2 header's `vkFormat`.
    pub vk_format: u32,
    /// Level 0's size in pixels.
    pub width: u32,
    pub height: u32,
    pub levels: u32,
    /// The KTX2 file's size.
    pub bytes: u64,
    /// Level 0's PSNR in dB against the image that was encoded, decoded by
    /// a decoder other than the encoder; absent for RGBA8 and for a source
    /// passed through.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub psnr: Option<f64>,
}

/// `packer/thumbnail`: a picture of a cooked texture as the target's GPU
/// shows it.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(deny_unknown_fields)]
pub struct ThumbnailResult {
    pub target: String,
    /// The GPU format it was decoded from.
    pub format: String,
    /// The mip level it was decoded from.
    pub level: u32,
    /// The picture's size: at most the asked `size` on its longer side.
    pub width: u32,
    pub height: u32,
    /// A PNG file (8-bit RGBA), base64.
    pub png: String,
}

/// One effective setting of an asset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(deny_unknown_fields)]
pub struct EffectiveSetting {
    pub value: Value,
    pub source: SettingSource,
}

/// Where an effective setting comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum SettingSource {
    /// The kind's default.
    Default,
    /// An `[[assets.rules]]` rule of `packer.toml`, starting at `line` (1-based).
    Rule { line: usize },
    /// The asset's own `settings` in the registry.
    Asset,
}

/// `packer/diagnostics`.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(deny_unknown_fields)]
pub struct DiagnosticsResult {
    #[schemars(with = "Generation")]
    pub generation: u64,
    pub items: Vec<Diagnostic>,
}

/// `packer/divergence`: every difference between disk and registry.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(deny_unknown_fields)]
pub struct DivergenceResult {
    #[schemars(with = "Generation")]
    pub generation: u64,
    pub state: DivergenceState,
    pub items: Arc<Vec<DivergenceItem>>,
}

// ---------------------------------------------------------------- operations

/// The method that started an operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum OperationKind {
    ApplyMutation,
    Build,
    PruneCache,
    /// Recovered from a journal written by a version that did not record it.
    Unknown,
}

impl OperationKind {
    /// The kind an operation records (`applyMutation`, `build`, `pruneCache`).
    pub fn named(name: &str) -> OperationKind {
        match name {
            "applyMutation" => OperationKind::ApplyMutation,
            "build" => OperationKind::Build,
            "pruneCache" => OperationKind::PruneCache,
            _ => OperationKind::Unknown,
        }
    }
}

/// One operation of `packer/operations`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(deny_unknown_fields)]
pub struct OperationInfo {
    #[schemars(with = "OperationId")]
    pub operation_id: String,
    pub kind: OperationKind,
    pub title: String,
    pub state: crate::operations::OpState,
    /// The `sequence` of its last event.
    #[schemars(with = "Sequence")]
    pub last_sequence: u64,
    /// Milliseconds since the Unix epoch.
    pub queued_at_ms: u64,
    pub started_at_ms: Option<u64>,
    pub finished_at_ms: Option<u64>,
}

/// `packer/operations`: active operations in arrival order, then recent ones.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(deny_unknown_fields)]
pub struct OperationsResult {
    pub items: Vec<OperationInfo>,
}

/// `packer/cancel`: the state before and after the request (a running
/// operation stops at its next safe point, so `state` may still be `running`).
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(deny_unknown_fields)]
pub struct CancelResult {
    #[schemars(with = "OperationId")]
    pub operation_id: String,
    pub previous_state: crate::operations::OpState,
    pub state: crate::operations::OpState,
}

/// `packer/replayEvents`: journaled events after `after`, oldest first.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(deny_unknown_fields)]
pub struct ReplayEventsResult {
    #[schemars(with = "Vec<crate::protocol::events::Event>")]
    pub events: Vec<Value>,
    /// The project's last `seq`: when it is beyond the last event returned, ask again.
    pub last_seq: u64,
}

/// `packer/beginExternalChange`.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(deny_unknown_fields)]
pub struct BeginExternalChangeResult {
    /// Pass to `packer/endExternalChange`.
    #[schemars(with = "ChangeId")]
    pub change_id: String,
}

// -------------------------------------------------------------------- builds

/// The shared cache's part of a build: what it found, fetched and stored.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(deny_unknown_fields)]
pub struct RemoteStats {
    pub mode: RemoteMode,
    pub hits: u64,
    pub misses: u64,
    /// Entries found damaged (refetched or reprocessed).
    pub corrupt: u64,
    pub uploaded: u64,
    pub errors: u64,
    pub bytes_down: u64,
    pub bytes_up: u64,
}

/// What a build counted.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(deny_unknown_fields)]
pub struct BuildStats {
    /// Assets in the build.
    pub assets: usize,
    /// Assets processed by this build.
    pub processed: u64,
    /// Assets taken from a processing cache.
    pub reused: u64,
    pub bytes_in: u64,
    pub bytes_out: u64,
    pub duration_ms: u64,
    pub remote: RemoteStats,
}

/// One pack a build made or kept.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(deny_unknown_fields)]
pub struct PackInfo {
    /// The target it was cooked for; it lies under `<build.output>/<target>/`.
    pub target: String,
    pub name: String,
    /// Relative to the project root.
    pub path: String,
    pub assets: usize,
    pub bytes: u64,
    /// The pack's checksum (hex).
    pub hash: String,
    /// False when the pack on disk already had these bytes and was kept.
    pub written: bool,
}

/// `packer/build`, and the `result` of its terminal event.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(deny_unknown_fields)]
pub struct BuildResult {
    #[schemars(with = "OperationId")]
    pub operation_id: String,
    pub outcome: BuildOutcome,
    /// Every target's packs, in target order.
    pub packs: Vec<PackInfo>,
    /// The sums over the targets built.
    pub stats: BuildStats,
    pub diagnostics: Vec<Diagnostic>,
    /// Each target the build reached, in `packer.toml` order: a target whose
    /// build failed or was cancelled ends the build, and the targets after it
    /// are not listed.
    pub targets: Vec<TargetBuild>,
    /// The registered assets no pack holds (neither a pack's `include` nor
    /// the closure of its `roots`), in path order; the first 1,000.
    #[serde(default)]
    pub unpacked: Vec<UnpackedAsset>,
}

/// An asset no pack holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(deny_unknown_fields)]
pub struct UnpackedAsset {
    #[schemars(with = "AssetId")]
    pub asset_id: String,
    #[schemars(with = "RelativePath")]
    pub path: String,
}

/// One target of a build.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(deny_unknown_fields)]
pub struct TargetBuild {
    pub target: String,
    pub profile: Profile,
    pub outcome: BuildOutcome,
    /// How many packs it made or kept.
    pub packs: usize,
    pub stats: BuildStats,
}

/// The local processing cache.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(deny_unknown_fields)]
pub struct LocalCacheStats {
    pub entries: u64,
    pub bytes: u64,
    /// What its files take on disk, reclaimable space included.
    pub disk_bytes: u64,
    pub segments: u64,
    /// `[cache] max_size`, or null.
    pub max_size: Option<u64>,
    /// Milliseconds since the Unix epoch; null when empty.
    pub oldest_use_ms: Option<u64>,
    pub newest_use_ms: Option<u64>,
}

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(deny_unknown_fields)]
pub struct RemoteCacheInfo {
    pub url: String,
    pub mode: RemoteMode,
}

/// `packer/cacheStats`.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(deny_unknown_fields)]
pub struct CacheStatsResult {
    pub local: LocalCacheStats,
    /// `[cache.remote]`, when set.
    pub remote: Option<RemoteCacheInfo>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(deny_unknown_fields)]
pub struct EntriesAndBytes {
    pub entries: u64,
    pub bytes: u64,
}

/// `packer/pruneCache`, and the `result` of its terminal event.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(deny_unknown_fields)]
pub struct PruneCacheResult {
    #[schemars(with = "OperationId")]
    pub operation_id: String,
    pub outcome: BuildOutcome,
    /// The size pruned to; null when there was none to use.
    pub max_size: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<EntriesAndBytes>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evicted: Option<EntriesAndBytes>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<EntriesAndBytes>,
    pub diagnostics: Vec<Diagnostic>,
}

// ----------------------------------------------------------------- mutations

/// What stops a mutation: any blocker rejects it and it changes nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum BlockerCode {
    StaleGeneration,
    EmptyMutation,
    OutsideProject,
    InvalidName,
    AlreadyRegistered,
    NotFound,
    NotAFile,
    Unreadable,
    UnknownAsset,
    TargetExists,
    FileMissing,
    InvalidTag,
    InvalidSetting,
    Diverged,
    UnknownDivergence,
    InvalidResolution,
    RegistryInvalid,
    ManifestInvalid,
    InConflict,
    CaseConflict,
    InBuildOutput,
    Referenced,
}

/// What a client should know of a mutation that does not stop it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum WarningCode {
    OutsideAssetRoots,
    Excluded,
    NoChange,
    KindChanged,
    FileAlreadyMissing,
    InvalidUtf8,
    ImageUnreadable,
    AudioUnreadable,
    InvalidJson,
    InvalidToml,
    FontUnreadable,
    TextureInvalid,
    TooManyReferences,
    Reevaluated,
    Skipped,
    ContentDiffers,
    ChoiceNeeded,
    CopyKept,
}

/// A blocker's severity: always `error`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum BlockerSeverity {
    Error,
}

/// A warning's severity: always `warning`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum WarningSeverity {
    Warning,
}

/// A blocker of a mutation: a `Diagnostic` of severity `error` with a
/// blocker's code.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(deny_unknown_fields)]
pub struct Blocker {
    pub severity: BlockerSeverity,
    pub code: BlockerCode,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<AssetId>")]
    pub asset_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
}

/// A warning of a mutation: a `Diagnostic` of severity `warning` with a
/// warning's code.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(deny_unknown_fields)]
pub struct Warning {
    pub severity: WarningSeverity,
    pub code: WarningCode,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<AssetId>")]
    pub asset_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
}

/// A change to one registry entry: `add` has `after`, `remove` has
/// `before`, `update` has both.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "op", rename_all = "camelCase")]
#[schemars(deny_unknown_fields)]
pub enum RegistryMutation {
    #[serde(rename_all = "camelCase")]
    Add {
        #[schemars(with = "AssetId")]
        asset_id: String,
        after: crate::project::model::Entry,
    },
    #[serde(rename_all = "camelCase")]
    Update {
        #[schemars(with = "AssetId")]
        asset_id: String,
        before: crate::project::model::Entry,
        after: crate::project::model::Entry,
    },
    #[serde(rename_all = "camelCase")]
    Remove {
        #[schemars(with = "AssetId")]
        asset_id: String,
        before: crate::project::model::Entry,
    },
}

/// The project's own files an apply may write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum ProjectFile {
    #[serde(rename = "packer.toml")]
    Manifest,
    #[serde(rename = "packer.registry.jsonl")]
    Registry,
}

/// One filesystem step, in the order it is performed: a `write` of
/// packer.toml (a reconcile's `ignore`) is a step among the others; a
/// `write` of packer.registry.jsonl, when present, is always last.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "op", rename_all = "camelCase")]
#[schemars(deny_unknown_fields)]
pub enum FilesystemMutation {
    Move {
        #[schemars(with = "RelativePath")]
        path: String,
        #[schemars(with = "RelativePath")]
        to: String,
    },
    Delete {
        #[schemars(with = "RelativePath")]
        path: String,
    },
    Write {
        path: ProjectFile,
    },
    /// An asset's file written again with some of its references changed
    /// (a move of what they name, or `replaceReferences`); nothing else in
    /// the file changes. `path` is where the file is when it is written.
    #[serde(rename_all = "camelCase")]
    Rewrite {
        #[schemars(with = "RelativePath")]
        path: String,
        #[schemars(with = "AssetId")]
        asset_id: String,
        /// The references changed, in file order: the first 100.
        #[schemars(length(max = 100))]
        changes: Vec<ReferenceChange>,
        /// How many references the write changes in all.
        #[schemars(range(min = 1))]
        count: usize,
    },
}

/// One reference a rewrite changes: where it is in the file as it was, and
/// its literal before and after, quotes included, exactly as written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(deny_unknown_fields)]
pub struct ReferenceChange {
    /// JSON pointer of the value.
    pub pointer: String,
    /// 1-based line of the literal.
    #[schemars(range(min = 1))]
    pub line: u32,
    /// 1-based column of the literal, in characters.
    #[schemars(range(min = 1))]
    pub column: u32,
    pub before: String,
    pub after: String,
}

/// How one divergence item is resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum ResolutionName {
    Adopt,
    Drop,
    Relink,
    Register,
    Ignore,
    Move,
    Reload,
    Keep,
    Ours,
    Theirs,
    Both,
}

/// In a preview of a reconcile: each item it resolves, and how.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(deny_unknown_fields)]
pub struct Resolution {
    #[schemars(with = "DivergenceId")]
    pub divergence_id: String,
    pub kind: crate::project::snapshot::divergence::ItemKind,
    #[schemars(with = "RelativePath")]
    pub path: String,
    pub resolution: ResolutionName,
    /// Where a `relink` or `move` takes the asset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
}

// Lists hold at most `mutation::LISTED` entries (a unit test holds the
// 1,000 of the schemas to it).
/// Present only when a list of the answer holds more than `limit` entries.
/// Each list then holds its first `limit` entries, in order, and this
/// gives every list's full length (exact: a blocker beyond the first
/// `limit` still rejects the mutation).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(deny_unknown_fields)]
pub struct Truncated {
    /// 1,000.
    #[schemars(range(min = 1000, max = 1000))]
    pub limit: usize,
    pub blockers: usize,
    pub warnings: usize,
    pub registry_mutations: usize,
    pub filesystem_mutations: usize,
    /// In a preview of a reconcile that resolves at least one item.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolutions: Option<usize>,
}

/// `packer/previewMutation`: what the mutation would do, against the
/// snapshot of `baseGeneration`. Apply plans again at its turn.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(deny_unknown_fields)]
pub struct PreviewResult {
    #[schemars(with = "Generation")]
    pub base_generation: u64,
    #[schemars(length(max = 1000))]
    pub blockers: Vec<Blocker>,
    #[schemars(length(max = 1000))]
    pub warnings: Vec<Warning>,
    #[schemars(length(max = 1000))]
    pub registry_mutations: Vec<RegistryMutation>,
    #[schemars(length(max = 1000))]
    pub filesystem_mutations: Vec<FilesystemMutation>,
    /// A reconcile's items with the resolution each gets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 1000))]
    pub resolutions: Option<Vec<Resolution>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub truncated: Option<Truncated>,
}

/// How an apply ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum ApplyOutcome {
    Applied,
    Rejected,
    Cancelled,
}

/// `packer/applyMutation`, and the `result` of its terminal event.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(deny_unknown_fields)]
pub struct ApplyResult {
    #[schemars(with = "OperationId")]
    pub operation_id: String,
    pub outcome: ApplyOutcome,
    /// The generation after the apply (unchanged unless `applied` changed something).
    #[schemars(with = "Generation")]
    pub generation: u64,
    #[schemars(length(max = 1000))]
    pub blockers: Vec<Blocker>,
    #[schemars(length(max = 1000))]
    pub warnings: Vec<Warning>,
    #[schemars(length(max = 1000))]
    pub registry_mutations: Vec<RegistryMutation>,
    #[schemars(length(max = 1000))]
    pub filesystem_mutations: Vec<FilesystemMutation>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub truncated: Option<Truncated>,
}

// --------------------------------------------------------------------- check

/// The codes only `studio-packer check` reports: the divergence items a
/// freshly opened project would show, and the project files' syntax.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum CheckCode {
    Modified,
    Missing,
    Moved,
    Untracked,
    RegistryConflict,
    RegistryInvalid,
    ManifestInvalid,
}

/// A check finding's code: one only `check` reports, or a diagnostic's (of
/// an asset, of the project, or what a build would say of an asset).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum FindingCode {
    Check(CheckCode),
    Diagnostic(DiagnosticCode),
}

/// One finding of `studio-packer check --json`: a `Diagnostic` that always
/// names its file.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(deny_unknown_fields)]
pub struct CheckFinding {
    pub severity: Severity,
    pub code: FindingCode,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub asset_id: Option<String>,
    /// Project-relative: `packer.registry.jsonl`, `packer.toml`, an asset's
    /// path, or the path in a state folder the packer refuses.
    pub path: String,
    /// 1-based: the registry entry's or conflict record's line, a bad
    /// registry line, the manifest's error line, a broken reference's line
    /// in the asset's file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub line: Option<usize>,
    /// 1-based: the manifest's errors, a broken reference's column.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub column: Option<usize>,
}

// -------------------------------------------------------------- notifications

/// `packer/eventsDropped`: a slow client missed these events (replay them
/// with `packer/replayEvents`).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(deny_unknown_fields)]
pub struct EventsDropped {
    #[schemars(with = "ProjectId")]
    pub project_id: String,
    #[schemars(with = "Seq")]
    pub from_seq: u64,
    #[schemars(with = "Seq")]
    pub to_seq: u64,
}

/// A JSON-RPC request id: an integer or a string.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum RequestId {
    Integer(i64),
    String(String),
}

/// `$/progress`: LSP work-done progress for an operation whose request
/// carried a `workDoneToken`. Each value also carries the operation's id and
/// the `sequence` of the `packer/event` it accompanies.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(deny_unknown_fields)]
pub struct ProgressParams {
    /// The request's `workDoneToken`.
    #[schemars(with = "crate::protocol::ProgressToken")]
    pub token: RequestId,
    pub value: WorkDoneProgress,
}

/// A terminal state of an operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum TerminalState {
    Succeeded,
    Failed,
    Cancelled,
    Rejected,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "camelCase")]
#[schemars(deny_unknown_fields)]
pub enum WorkDoneProgress {
    #[serde(rename_all = "camelCase")]
    Begin {
        /// `Apply <kind>`, `Build`, `Build (clean)` or `Prune the processing cache`.
        #[schemars(regex(pattern = r"^(Apply [A-Za-z]+|Build|Build \(clean\)|Prune the processing cache)$"))]
        title: String,
        /// Always true.
        #[schemars(extend("const" = true))]
        cancellable: bool,
        #[schemars(with = "OperationId")]
        operation_id: String,
        #[schemars(with = "Sequence")]
        sequence: u64,
    },
    #[serde(rename_all = "camelCase")]
    Report {
        message: String,
        /// 0 to 100.
        #[schemars(range(max = 100))]
        percentage: u8,
        #[schemars(with = "OperationId")]
        operation_id: String,
        #[schemars(with = "Sequence")]
        sequence: u64,
    },
    #[serde(rename_all = "camelCase")]
    End {
        /// The operation's terminal state.
        message: TerminalState,
        #[schemars(with = "OperationId")]
        operation_id: String,
        #[schemars(with = "Sequence")]
        sequence: u64,
    },
}

// -------------------------------------------------------------------- errors

/// The `error` member of a response.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorObject {
    pub code: i64,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<ErrorData>,
}

impl JsonSchema for ErrorObject {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "ErrorObject".into()
    }

    fn json_schema(g: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let mut schema = ErrorByCode::json_schema(g);
        schema.insert(
            "description".into(),
            "The `error` member of a response: its `data` is given by its `code`.".into(),
        );
        schema
    }
}

/// The schema of [`ErrorObject`], code by code: which codes carry `data`,
/// and what it holds.
#[derive(JsonSchema)]
#[serde(untagged, rename_all = "camelCase")]
#[schemars(deny_unknown_fields)]
#[allow(dead_code)]
enum ErrorByCode {
    /// -32700 the frame is not JSON-RPC, -32601 unknown method, -32603
    /// internal error, -32002 not initialized: no `data`.
    Plain {
        #[schemars(schema_with = "plain_codes")]
        code: i64,
        message: String,
    },
    /// -32600 invalid request; `data` names a request id still in flight.
    InvalidRequest {
        #[schemars(schema_with = "code_invalid_request")]
        code: i64,
        message: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        data: Option<DuplicateIdData>,
    },
    /// -32602 invalid params.
    InvalidParams {
        #[schemars(schema_with = "code_invalid_params")]
        code: i64,
        message: String,
        data: InvalidParamsData,
    },
    /// -32800 cancelled by `$/cancelRequest`.
    Cancelled {
        #[schemars(schema_with = "code_cancelled")]
        code: i64,
        message: String,
        data: CancelledData,
    },
    /// -32801 content modified: the project moved on (a stale cursor).
    ContentModified {
        #[schemars(schema_with = "code_content_modified")]
        code: i64,
        message: String,
        data: ContentModifiedData,
    },
    /// -32803 the request failed.
    Failed {
        #[schemars(schema_with = "code_failed")]
        code: i64,
        message: String,
        data: FailedData,
    },
}

fn plain_codes(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({ "type": "integer", "enum": [-32700, -32601, -32603, -32002] })
}

macro_rules! code_const {
    ($($name:ident = $code:literal),*) => {
        $(fn $name(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
            schemars::json_schema!({ "type": "integer", "const": $code })
        })*
    };
}

code_const!(
    code_invalid_request = -32600,
    code_invalid_params = -32602,
    code_cancelled = -32800,
    code_content_modified = -32801,
    code_failed = -32803
);

/// What an error's `data` holds, by code.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum ErrorData {
    /// -32602: the offending field, and the limit when one was exceeded.
    InvalidParams(InvalidParamsData),
    /// -32600: a request whose id is still in flight.
    DuplicateId(DuplicateIdData),
    /// -32800: the operation cancelled by `$/cancelRequest`.
    Cancelled(CancelledData),
    /// -32801: the project's current generation.
    ContentModified(ContentModifiedData),
    /// -32803: why the request failed.
    Failed(FailedData),
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(deny_unknown_fields)]
pub struct InvalidParamsData {
    /// The path of the offending field (`mutation.mutations[0].assetIds[0]`);
    /// `params` when the params as a whole are wrong.
    pub field: String,
    /// Present when a limit was exceeded: the limit, in entries or bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub limit: Option<u64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(deny_unknown_fields)]
pub struct DuplicateIdData {
    pub duplicate_id: RequestId,
}

/// `cancelled`, as an outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum CancelledOutcome {
    Cancelled,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(deny_unknown_fields)]
pub struct CancelledData {
    #[schemars(with = "OperationId")]
    pub operation_id: String,
    pub outcome: CancelledOutcome,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(deny_unknown_fields)]
pub struct ContentModifiedData {
    #[schemars(with = "Generation")]
    pub generation: u64,
}

/// Why a request failed (-32803).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "reason", rename_all = "camelCase")]
#[schemars(deny_unknown_fields)]
pub enum FailedData {
    /// The folder does not exist (and `create` was not set).
    NoFolder {},
    /// There is no packer.toml (and `create` was not set).
    NoManifest {},
    /// The registry does not parse.
    RegistryInvalid {},
    /// Reading or writing failed.
    Io {},
    /// This process attaches to the project's owner and cannot do this itself.
    Attached {},
    /// The owner process holds the project but does not answer.
    OwnerUnreachable {},
    /// The owner changed while the request was forwarded.
    OwnerChanged {},
    /// The asset has not been cooked for the target as it is now: build it first.
    NotCooked {},
    /// The asset's settings cannot be used (see `settingProblems`): no build cooks it.
    InvalidSetting {},
    /// packer.toml does not parse or does not validate.
    #[serde(rename_all = "camelCase")]
    ManifestInvalid {
        /// `packer.toml`, when the error has a place.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        file: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[schemars(range(min = 1))]
        line: Option<u64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[schemars(range(min = 1))]
        column: Option<u64>,
        /// The key at fault, or null when the error is not about one key.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        key: Option<Option<String>>,
    },
    /// The state folder, or something in it, is not what the packer makes.
    StateFolderRefused {
        /// The offending path.
        path: String,
    },
    /// An apply failed before its commit point; the same object is the
    /// `error` of the `failed` event.
    #[serde(rename_all = "camelCase")]
    ApplyFailed {
        #[schemars(with = "OperationId")]
        operation_id: String,
        message: String,
    },
    /// An apply failed before its commit point and some of what it did
    /// could not be undone (the message names each step); what it had set
    /// aside is kept in `.packer/recovered/<operationId>/`. The same object
    /// is the `error` of the `failed` event.
    #[serde(rename_all = "camelCase")]
    ApplyNotUndone {
        #[schemars(with = "OperationId")]
        operation_id: String,
        message: String,
    },
    /// The owner of an attached project went away before answering a
    /// forwarded request. For a forwarded apply, `operationId` names the
    /// operation to look up in packer/operations or packer/replayEvents.
    #[serde(rename_all = "camelCase")]
    OwnerLost { operation_id: Option<String> },
}
