//! `packer/event`: a header every event has (`projectId`, `seq`, and for an
//! operation's events `operationId` and `sequence`) and a body per kind
//! ([`EventBody`]). Emit sites build the body as a typed value; the event
//! bus and the operation add the header (see `crate::events`,
//! `crate::operations`). Which kinds belong to an operation is said once,
//! in [`EventBody::cause`].

use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use super::model::{
    ApplyResult, BuildResult, CancelledOutcome, DivergenceState, OperationId, OperationKind, ProjectId,
    PruneCacheResult, Seq, Sequence,
};
use crate::project::snapshot::divergence::Item as DivergenceItem;

/// One event of a project, as sent in a `packer/event` notification and as
/// stored in `.packer/events.jsonl`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Event {
    pub project_id: String,
    /// The project's event order (the journal's), across restarts.
    pub seq: u64,
    /// The operation the event is of, or that caused it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation_id: Option<String>,
    /// The operation's own event order, from 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sequence: Option<u64>,
    #[serde(flatten)]
    pub body: EventBody,
}

/// Whether an event kind carries `operationId` and `sequence`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cause {
    /// An operation's own event: always.
    Operation,
    /// A state event an operation may have caused (a snapshot it published).
    Maybe,
    /// A state event of the project alone: never.
    Project,
}

/// What an event says, by kind.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "camelCase")]
#[schemars(deny_unknown_fields)]
pub enum EventBody {
    /// The operation was accepted and waits in the project's lane. Always
    /// its first event (sequence 1).
    Queued {
        /// The method that started the operation.
        operation: OperationKind,
    },
    /// The operation's turn in the lane came.
    Started {},
    /// Progress of a running operation. May be coalesced when the client reads slowly.
    #[serde(rename_all = "camelCase")]
    Progress {
        done: u64,
        total: u64,
        message: String,
        /// A build's bytes read so far.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        bytes: Option<u64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        bytes_total: Option<u64>,
        /// A build's work done so far, and in all: each texture weighs its
        /// pixels times its encoder's cost, any other asset its size. The
        /// `$/progress` percentage is `work` of `workTotal`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        work: Option<u64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        work_total: Option<u64>,
    },
    /// Terminal: an apply (outcome `applied`), a build or a cache prune
    /// (outcome `succeeded`) succeeded.
    Succeeded {
        outcome: SucceededOutcome,
        /// The operation's result, as its request was answered (absent only
        /// when `recovered`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[schemars(with = "Option<OperationResult>")]
        result: Option<Value>,
        /// Set on the terminal event of an operation whose process died: the
        /// next owner ended it from the registry's state (see Crash recovery).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[schemars(extend("const" = true))]
        recovered: Option<bool>,
    },
    /// Terminal: failed, with `error` (an apply that changed nothing, a build
    /// stopped by an internal error, an operation its process did not live
    /// to end) or with `result` (a build or a prune whose diagnostics say why).
    Failed {
        outcome: FailedOutcome,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[schemars(with = "Option<OperationResult>")]
        result: Option<Value>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<OperationFailure>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[schemars(extend("const" = true))]
        recovered: Option<bool>,
    },
    /// Terminal: cancelled. Cancelled by packer/cancel or by its project
    /// closing (queued or running), it carries its `result`; cancelled by
    /// `$/cancelRequest` it does not.
    Cancelled {
        outcome: CancelledOutcome,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[schemars(with = "Option<OperationResult>")]
        result: Option<Value>,
    },
    /// Terminal: the mutation had blockers and changed nothing. `result`
    /// equals the response's result.
    Rejected {
        outcome: RejectedOutcome,
        #[schemars(with = "ApplyResult")]
        result: Value,
    },
    /// A build stopped using the shared cache (or uploading to it).
    RemoteCacheDisabled { url: String, reason: RemoteDisabledReason, message: String, scope: RemoteDisabledScope },
    /// A new snapshot is current.
    SnapshotPublished {
        #[schemars(with = "super::model::Generation")]
        generation: u64,
    },
    /// New divergence items (or changed ones).
    DivergenceDetected {
        #[schemars(with = "super::model::Generation")]
        generation: u64,
        state: DivergenceState,
        /// Every divergence item now.
        count: usize,
        /// The items that are new or changed.
        #[schemars(length(min = 1))]
        items: Vec<DivergenceItem>,
    },
    /// Divergence items that are gone.
    DivergenceCleared {
        #[schemars(with = "super::model::Generation")]
        generation: u64,
        state: DivergenceState,
        count: usize,
        /// The ids of the items that are gone.
        #[schemars(with = "Vec<super::model::DivergenceId>", length(min = 1))]
        ids: Vec<String>,
    },
    /// Watching the project's files failed: changes are seen at the next look.
    WatchDegraded { reason: String },
    /// Watching works again.
    WatchRestored {},
    /// Another process took the project over.
    #[serde(rename_all = "camelCase")]
    OwnerChanged {
        #[schemars(range(min = 1))]
        owner_pid: u32,
    },
    /// A source-control operation began (`packer/beginExternalChange`).
    #[serde(rename_all = "camelCase")]
    ExternalChangeBegan {
        #[schemars(with = "super::model::ChangeId")]
        change_id: String,
        reason: String,
        #[schemars(range(min = 1, max = 3_600_000))]
        timeout_ms: u64,
    },
    /// A source-control operation ended.
    #[serde(rename_all = "camelCase")]
    ExternalChangeEnded {
        #[schemars(with = "super::model::ChangeId")]
        change_id: String,
        reason: String,
        ended_by: crate::project::external::EndedBy,
        duration_ms: u64,
    },
}

impl EventBody {
    /// Every kind, in the order `initialize` declares them: operation
    /// events, then state events.
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

    /// Whether events of `kind` carry an operation's id: the one place
    /// that says which events belong to an operation.
    pub fn cause(kind: &str) -> Cause {
        match kind {
            "queued"
            | "started"
            | "progress"
            | "succeeded"
            | "failed"
            | "cancelled"
            | "rejected"
            | "remoteCacheDisabled" => Cause::Operation,
            "snapshotPublished" | "divergenceDetected" | "divergenceCleared" => Cause::Maybe,
            _ => Cause::Project,
        }
    }

    /// The wire's name of this body's kind (one of [`EventBody::KINDS`]).
    pub fn kind(&self) -> &'static str {
        match self {
            EventBody::Queued { .. } => "queued",
            EventBody::Started {} => "started",
            EventBody::Progress { .. } => "progress",
            EventBody::Succeeded { .. } => "succeeded",
            EventBody::Failed { .. } => "failed",
            EventBody::Cancelled { .. } => "cancelled",
            EventBody::Rejected { .. } => "rejected",
            EventBody::RemoteCacheDisabled { .. } => "remoteCacheDisabled",
            EventBody::SnapshotPublished { .. } => "snapshotPublished",
            EventBody::DivergenceDetected { .. } => "divergenceDetected",
            EventBody::DivergenceCleared { .. } => "divergenceCleared",
            EventBody::WatchDegraded { .. } => "watchDegraded",
            EventBody::WatchRestored {} => "watchRestored",
            EventBody::OwnerChanged { .. } => "ownerChanged",
            EventBody::ExternalChangeBegan { .. } => "externalChangeBegan",
            EventBody::ExternalChangeEnded { .. } => "externalChangeEnded",
        }
    }

    /// The body's fields, `kind` among them, as the event bus takes them.
    pub fn into_fields(self) -> Map<String, Value> {
        let kind = self.kind();
        match serde_json::to_value(self) {
            Ok(Value::Object(map)) => {
                debug_assert_eq!(map["kind"], kind, "EventBody::kind names each variant as serde does");
                map
            }
            other => unreachable!("an event body is an object: {other:?}"),
        }
    }
}

impl JsonSchema for Event {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Event".into()
    }

    /// Each kind's body with the header it carries ([`EventBody::cause`]):
    /// one closed object per kind, so that a client's types narrow on `kind`.
    fn json_schema(g: &mut SchemaGenerator) -> Schema {
        let mut schema = EventBody::json_schema(g);
        let header = [
            ("projectId", g.subschema_for::<ProjectId>()),
            ("seq", g.subschema_for::<Seq>()),
            ("operationId", g.subschema_for::<OperationId>()),
            ("sequence", g.subschema_for::<Sequence>()),
        ];
        let variants = schema.get_mut("oneOf").and_then(Value::as_array_mut).expect("EventBody is a oneOf of kinds");
        for variant in variants {
            let kind = variant["properties"]["kind"]["const"].as_str().expect("each kind is a const").to_string();
            let carried: &[&str] = match EventBody::cause(&kind) {
                Cause::Operation | Cause::Maybe => &["projectId", "seq", "operationId", "sequence"],
                Cause::Project => &["projectId", "seq"],
            };
            let required: &[&str] = match EventBody::cause(&kind) {
                Cause::Operation => &["projectId", "seq", "operationId", "sequence"],
                Cause::Maybe | Cause::Project => &["projectId", "seq"],
            };
            let properties = variant["properties"].as_object_mut().expect("properties");
            for (name, sub) in &header {
                if carried.contains(name) {
                    properties.insert((*name).to_string(), sub.clone().to_value());
                }
            }
            let list = variant["required"].as_array_mut().expect("required");
            for name in required {
                list.push(json!(name));
            }
        }
        schema.insert(
            "description".into(),
            "One event of a project, as sent in a `packer/event` notification and as stored in \
             `.packer/events.jsonl`: `projectId` and `seq` always; an operation's events also its \
             `operationId` and `sequence`, which a snapshot or divergence event carries when an \
             operation caused it."
                .into(),
        );
        schema
    }
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
    /// An apply failed before its commit point; everything it did was undone.
    ApplyFailed,
    /// An apply failed before its commit point and some of what it did
    /// could not be undone (the message says what): the registry is as it
    /// was, the files not put back show as divergence, and what the apply
    /// had set aside is kept in `.packer/recovered/<operationId>/`.
    ApplyNotUndone,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_is_a_body_and_says_its_cause() {
        let schema = schemars::SchemaGenerator::default().into_root_schema_for::<EventBody>();
        let kinds: Vec<&str> = schema
            .get("oneOf")
            .and_then(Value::as_array)
            .unwrap()
            .iter()
            .map(|v| v["properties"]["kind"]["const"].as_str().unwrap())
            .collect();
        assert_eq!(kinds, EventBody::KINDS);
        assert_eq!(EventBody::cause("remoteCacheDisabled"), Cause::Operation);
        assert_eq!(EventBody::cause("snapshotPublished"), Cause::Maybe);
        assert_eq!(EventBody::cause("ownerChanged"), Cause::Project);
    }

    #[test]
    fn an_event_reads_and_writes_as_its_header_and_body() {
        let text = r#"{"generation":3,"kind":"snapshotPublished","operationId":"op-1","projectId":"p-0123456789abcdef","seq":7,"sequence":4}"#;
        let event: Event = serde_json::from_str(text).unwrap();
        assert!(matches!(event.body, EventBody::SnapshotPublished { generation: 3 }));
        assert_eq!(event.sequence, Some(4));
        // The bus writes an event's keys in order (a map): the same JSON.
        let again = serde_json::to_value(&event).unwrap();
        assert_eq!(again, serde_json::from_str::<Value>(text).unwrap());
        assert_eq!(serde_json::to_string(&again).unwrap(), text);
    }
}
