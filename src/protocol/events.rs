//! `packer/event`: one type per event kind. Operation events carry their
//! operation's `operationId` and `sequence`; state events carry neither
//! (a snapshot or divergence event an operation caused carries both);
//! `remoteCacheDisabled` is a build's. Every event carries its project's
//! `projectId` and `seq`, the journal's order.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::model::{ApplyResult, BuildResult, DivergenceState, OperationKind, PruneCacheResult};
use crate::project::snapshot::divergence::Item as DivergenceItem;

/// One event of a project, as sent in a `packer/event` notification and as
/// stored in `.packer/events.jsonl`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum Event {
    /// The operation was accepted and waits in the project's lane. Always
    /// its first event (sequence 1).
    Queued(QueuedEvent),
    /// The operation's turn in the lane came.
    Started(OperationEvent),
    /// Progress of a running operation. May be coalesced when the client reads slowly.
    Progress(ProgressEvent),
    /// Terminal: an apply (outcome `applied`), a build or a cache prune
    /// (outcome `succeeded`) succeeded.
    Succeeded(SucceededEvent),
    /// Terminal: an apply failed (with `error`; nothing was changed), a build
    /// was stopped by an internal error (with `error`), or a build or prune
    /// failed (with `result`, whose diagnostics say why).
    Failed(FailedEvent),
    /// Terminal: cancelled. Cancelled by packer/cancel or by its project
    /// closing (queued or running), it carries its `result`; cancelled by
    /// `$/cancelRequest` it does not.
    Cancelled(CancelledEvent),
    /// Terminal: the mutation had blockers and changed nothing. `result`
    /// equals the response's result.
    Rejected(RejectedEvent),
    /// A build stopped using the shared cache (or uploading to it).
    RemoteCacheDisabled(RemoteCacheDisabledEvent),
    /// A new snapshot is current.
    SnapshotPublished(SnapshotPublishedEvent),
    /// New divergence items (or changed ones).
    DivergenceDetected(DivergenceDetectedEvent),
    /// Divergence items that are gone.
    DivergenceCleared(DivergenceClearedEvent),
    /// Watching the project's files failed: changes are seen at the next look.
    WatchDegraded(WatchDegradedEvent),
    /// Watching works again.
    WatchRestored(StateEvent),
    /// Another process took the project over.
    OwnerChanged(OwnerChangedEvent),
    /// A source-control operation began (`packer/beginExternalChange`).
    ExternalChangeBegan(ExternalChangeBeganEvent),
    /// A source-control operation ended.
    ExternalChangeEnded(ExternalChangeEndedEvent),
}

/// An event of an operation.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(deny_unknown_fields)]
pub struct OperationEvent {
    #[schemars(with = "super::model::ProjectId")]
    pub project_id: String,
    /// The project's event order (the journal's), across restarts.
    #[schemars(with = "super::model::Seq")]
    pub seq: u64,
    #[schemars(with = "super::model::OperationId")]
    pub operation_id: String,
    /// The operation's own event order, from 1.
    #[schemars(with = "super::model::Sequence")]
    pub sequence: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(deny_unknown_fields)]
pub struct QueuedEvent {
    #[schemars(with = "super::model::ProjectId")]
    pub project_id: String,
    #[schemars(with = "super::model::Seq")]
    pub seq: u64,
    #[schemars(with = "super::model::OperationId")]
    pub operation_id: String,
    #[schemars(with = "super::model::Sequence")]
    pub sequence: u64,
    /// The method that started the operation.
    pub operation: OperationKind,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(deny_unknown_fields)]
pub struct ProgressEvent {
    #[schemars(with = "super::model::ProjectId")]
    pub project_id: String,
    #[schemars(with = "super::model::Seq")]
    pub seq: u64,
    #[schemars(with = "super::model::OperationId")]
    pub operation_id: String,
    #[schemars(with = "super::model::Sequence")]
    pub sequence: u64,
    pub done: u64,
    pub total: u64,
    pub message: String,
    /// A build's bytes read so far.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes_total: Option<u64>,
}

/// `succeeded`'s outcome: `applied` for an apply, `succeeded` for a build or a prune.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum SucceededOutcome {
    Applied,
    Succeeded,
}

/// `failed`, as an outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum FailedOutcome {
    Failed,
}

/// `rejected`, as an outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum RejectedOutcome {
    Rejected,
}

/// The result an operation answered.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum OperationResult {
    Apply(ApplyResult),
    Build(BuildResult),
    PruneCache(PruneCacheResult),
}

/// Why an operation failed without a result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum FailureReason {
    /// An apply failed before its commit point.
    ApplyFailed,
    /// Its process died; the next owner ended it.
    Interrupted,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(deny_unknown_fields)]
pub struct OperationFailure {
    pub reason: FailureReason,
    #[schemars(with = "super::model::OperationId")]
    pub operation_id: String,
    pub message: String,
}

/// The terminal event of an operation that succeeded.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(deny_unknown_fields)]
pub struct SucceededEvent {
    #[schemars(with = "super::model::ProjectId")]
    pub project_id: String,
    #[schemars(with = "super::model::Seq")]
    pub seq: u64,
    #[schemars(with = "super::model::OperationId")]
    pub operation_id: String,
    #[schemars(with = "super::model::Sequence")]
    pub sequence: u64,
    pub outcome: SucceededOutcome,
    /// The operation's result, as its request was answered (absent only
    /// when `recovered`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<OperationResult>,
    /// Set on the terminal event of an operation whose process died: the
    /// next owner ended it from the registry's state (see Crash recovery).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("const" = true))]
    pub recovered: Option<bool>,
}

/// The terminal event of an operation that failed: with `error` (an apply
/// that changed nothing, a build stopped by an internal error, an
/// operation its process did not live to end) or with `result` (a build or
/// a prune whose diagnostics say why).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(deny_unknown_fields)]
pub struct FailedEvent {
    #[schemars(with = "super::model::ProjectId")]
    pub project_id: String,
    #[schemars(with = "super::model::Seq")]
    pub seq: u64,
    #[schemars(with = "super::model::OperationId")]
    pub operation_id: String,
    #[schemars(with = "super::model::Sequence")]
    pub sequence: u64,
    pub outcome: FailedOutcome,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<OperationResult>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<OperationFailure>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("const" = true))]
    pub recovered: Option<bool>,
}

/// The terminal event of a cancelled operation. Cancelled by packer/cancel
/// or by its project closing it carries its `result`; cancelled by
/// `$/cancelRequest` it does not.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(deny_unknown_fields)]
pub struct CancelledEvent {
    #[schemars(with = "super::model::ProjectId")]
    pub project_id: String,
    #[schemars(with = "super::model::Seq")]
    pub seq: u64,
    #[schemars(with = "super::model::OperationId")]
    pub operation_id: String,
    #[schemars(with = "super::model::Sequence")]
    pub sequence: u64,
    pub outcome: super::model::CancelledOutcome,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<OperationResult>,
}

/// The terminal event of a mutation whose blockers stopped it.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(deny_unknown_fields)]
pub struct RejectedEvent {
    #[schemars(with = "super::model::ProjectId")]
    pub project_id: String,
    #[schemars(with = "super::model::Seq")]
    pub seq: u64,
    #[schemars(with = "super::model::OperationId")]
    pub operation_id: String,
    #[schemars(with = "super::model::Sequence")]
    pub sequence: u64,
    pub outcome: RejectedOutcome,
    /// Equal to the response's result.
    pub result: ApplyResult,
}

/// Why the shared cache was switched off for the rest of a build.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum RemoteDisabledReason {
    /// The server refused the credentials (401/403) or an upload.
    Refused,
    /// Three failures in a row.
    Failures,
}

/// What was switched off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum RemoteDisabledScope {
    All,
    Uploads,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(deny_unknown_fields)]
pub struct RemoteCacheDisabledEvent {
    #[schemars(with = "super::model::ProjectId")]
    pub project_id: String,
    #[schemars(with = "super::model::Seq")]
    pub seq: u64,
    #[schemars(with = "super::model::OperationId")]
    pub operation_id: String,
    #[schemars(with = "super::model::Sequence")]
    pub sequence: u64,
    pub url: String,
    pub reason: RemoteDisabledReason,
    pub message: String,
    pub scope: RemoteDisabledScope,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(deny_unknown_fields)]
pub struct SnapshotPublishedEvent {
    #[schemars(with = "super::model::ProjectId")]
    pub project_id: String,
    #[schemars(with = "super::model::Seq")]
    pub seq: u64,
    /// The operation that caused it, if one did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<super::model::OperationId>")]
    pub operation_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<super::model::Sequence>")]
    pub sequence: Option<u64>,
    #[schemars(with = "super::model::Generation")]
    pub generation: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(deny_unknown_fields)]
pub struct DivergenceDetectedEvent {
    #[schemars(with = "super::model::ProjectId")]
    pub project_id: String,
    #[schemars(with = "super::model::Seq")]
    pub seq: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<super::model::OperationId>")]
    pub operation_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<super::model::Sequence>")]
    pub sequence: Option<u64>,
    #[schemars(with = "super::model::Generation")]
    pub generation: u64,
    pub state: DivergenceState,
    /// Every divergence item now.
    pub count: usize,
    /// The items that are new or changed.
    #[schemars(length(min = 1))]
    pub items: Vec<DivergenceItem>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(deny_unknown_fields)]
pub struct DivergenceClearedEvent {
    #[schemars(with = "super::model::ProjectId")]
    pub project_id: String,
    #[schemars(with = "super::model::Seq")]
    pub seq: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<super::model::OperationId>")]
    pub operation_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<super::model::Sequence>")]
    pub sequence: Option<u64>,
    #[schemars(with = "super::model::Generation")]
    pub generation: u64,
    pub state: DivergenceState,
    pub count: usize,
    /// The ids of the items that are gone.
    #[schemars(with = "Vec<super::model::DivergenceId>", length(min = 1))]
    pub ids: Vec<String>,
}

/// A state event with nothing more to say.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(deny_unknown_fields)]
pub struct StateEvent {
    #[schemars(with = "super::model::ProjectId")]
    pub project_id: String,
    #[schemars(with = "super::model::Seq")]
    pub seq: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(deny_unknown_fields)]
pub struct WatchDegradedEvent {
    #[schemars(with = "super::model::ProjectId")]
    pub project_id: String,
    #[schemars(with = "super::model::Seq")]
    pub seq: u64,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(deny_unknown_fields)]
pub struct OwnerChangedEvent {
    #[schemars(with = "super::model::ProjectId")]
    pub project_id: String,
    #[schemars(with = "super::model::Seq")]
    pub seq: u64,
    #[schemars(range(min = 1))]
    pub owner_pid: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(deny_unknown_fields)]
pub struct ExternalChangeBeganEvent {
    #[schemars(with = "super::model::ProjectId")]
    pub project_id: String,
    #[schemars(with = "super::model::Seq")]
    pub seq: u64,
    #[schemars(with = "super::model::ChangeId")]
    pub change_id: String,
    pub reason: String,
    #[schemars(range(min = 1, max = 3_600_000))]
    pub timeout_ms: u64,
}

/// How an external change ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum EndedByName {
    Client,
    ConnectionClosed,
    Timeout,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(deny_unknown_fields)]
pub struct ExternalChangeEndedEvent {
    #[schemars(with = "super::model::ProjectId")]
    pub project_id: String,
    #[schemars(with = "super::model::Seq")]
    pub seq: u64,
    #[schemars(with = "super::model::ChangeId")]
    pub change_id: String,
    pub reason: String,
    pub ended_by: EndedByName,
    pub duration_ms: u64,
}

impl Event {
    /// Every kind, in the order `initialize` declares them.
    pub const KINDS: &'static [&'static str] = &[
        "queued",
        "started",
        "progress",
        "succeeded",
        "failed",
        "cancelled",
        "rejected",
        "remoteCacheDisabled",
        "snapshotPublished",
        "divergenceDetected",
        "divergenceCleared",
        "watchDegraded",
        "watchRestored",
        "ownerChanged",
        "externalChangeBegan",
        "externalChangeEnded",
    ];
}
