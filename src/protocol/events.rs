//! `packer/event`: one type per event kind. Operation events carry their
//! operation's `operationId` and `sequence`; state events carry neither
//! (a snapshot or divergence event an operation caused carries both);
//! `remoteCacheDisabled` is a build's. Every event carries its project's
//! `projectId` and `seq`, the journal's order.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::model::{ApplyResult, BuildResult, DivergenceState, Generation, OperationKind, PruneCacheResult};
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
    Succeeded(TerminalEvent),
    /// Terminal: an apply failed (with `error`; nothing was changed), a build
    /// was stopped by an internal error (with `error`), or a build or prune
    /// failed (with `result`, whose diagnostics say why).
    Failed(TerminalEvent),
    /// Terminal: cancelled. Cancelled by packer/cancel or by its project
    /// closing (queued or running), it carries its `result`; cancelled by
    /// `$/cancelRequest` it does not.
    Cancelled(TerminalEvent),
    /// Terminal: the mutation had blockers and changed nothing. `result`
    /// equals the response's result.
    Rejected(TerminalEvent),
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
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OperationEvent {
    pub project_id: String,
    /// The project's event order (the journal's), across restarts.
    pub seq: u64,
    pub operation_id: String,
    /// The operation's own event order, from 1.
    pub sequence: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct QueuedEvent {
    pub project_id: String,
    pub seq: u64,
    pub operation_id: String,
    pub sequence: u64,
    /// The method that started the operation.
    pub operation: OperationKind,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ProgressEvent {
    pub project_id: String,
    pub seq: u64,
    pub operation_id: String,
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

/// An outcome as a terminal event states it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum EventOutcome {
    Applied,
    Succeeded,
    Failed,
    Cancelled,
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
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OperationFailure {
    pub reason: FailureReason,
    pub operation_id: String,
    pub message: String,
}

/// The one terminal event every operation has, before its answer.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TerminalEvent {
    pub project_id: String,
    pub seq: u64,
    pub operation_id: String,
    pub sequence: u64,
    pub outcome: EventOutcome,
    /// The operation's result, as its request was answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<OperationResult>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<OperationFailure>,
    /// Set on the terminal event of an operation whose process died: the
    /// next owner ended it from the registry's state (see Crash recovery).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recovered: Option<bool>,
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
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RemoteCacheDisabledEvent {
    pub project_id: String,
    pub seq: u64,
    pub operation_id: String,
    pub sequence: u64,
    pub url: String,
    pub reason: RemoteDisabledReason,
    pub message: String,
    pub scope: RemoteDisabledScope,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SnapshotPublishedEvent {
    pub project_id: String,
    pub seq: u64,
    /// The operation that caused it, if one did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sequence: Option<u64>,
    pub generation: Generation,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DivergenceDetectedEvent {
    pub project_id: String,
    pub seq: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sequence: Option<u64>,
    pub generation: Generation,
    pub state: DivergenceState,
    /// Every divergence item now.
    pub count: usize,
    /// The items that are new or changed.
    #[schemars(with = "Vec<DivergenceItem>")]
    pub items: Value,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DivergenceClearedEvent {
    pub project_id: String,
    pub seq: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sequence: Option<u64>,
    pub generation: Generation,
    pub state: DivergenceState,
    pub count: usize,
    /// The ids of the items that are gone.
    pub ids: Vec<String>,
}

/// A state event with nothing more to say.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StateEvent {
    pub project_id: String,
    pub seq: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WatchDegradedEvent {
    pub project_id: String,
    pub seq: u64,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OwnerChangedEvent {
    pub project_id: String,
    pub seq: u64,
    pub owner_pid: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ExternalChangeBeganEvent {
    pub project_id: String,
    pub seq: u64,
    pub change_id: String,
    pub reason: String,
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
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ExternalChangeEndedEvent {
    pub project_id: String,
    pub seq: u64,
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
