//! Operations: every commit-bearing request becomes one, with an id, a state,
//! a causal event stream (`sequence` from 1) and exactly one terminal event.
//!
//! The terminal event, the `$/progress` end and the response are all sent by
//! [`Operation::finish`], in that order, and only once: whoever finishes an
//! operation first (the lane, or a cancel of a queued operation) wins, and
//! every later attempt is a no-op.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;
use serde_json::{json, Value};

use crate::events::EventBus;
use crate::protocol::events::{EventBody, FailedOutcome, RejectedOutcome, SucceededOutcome};
use crate::protocol::model::{CancelledOutcome, OperationInfo, OperationKind};
use crate::transport::{message::code, Id, Outbox, RpcError};

/// How many finished operations `packer/operations` remembers per project.
pub const FINISHED_KEPT: usize = 100;

/// An operation's state: `queued`, `running`, then one terminal state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum OpState {
    Queued,
    Running,
    Succeeded,
    Failed,
    Cancelled,
    Rejected,
}

impl OpState {
    pub fn is_terminal(self) -> bool {
        !matches!(self, OpState::Queued | OpState::Running)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            OpState::Queued => "queued",
            OpState::Running => "running",
            OpState::Succeeded => "succeeded",
            OpState::Failed => "failed",
            OpState::Cancelled => "cancelled",
            OpState::Rejected => "rejected",
        }
    }
}

/// The terminal event of an operation that ended with `result` (its
/// response): `succeeded` (`applied` for an apply), `failed`, `cancelled`
/// or `rejected`, as `state` says.
pub fn terminal_body(state: OpState, result: Value) -> EventBody {
    match state {
        OpState::Succeeded => {
            let outcome =
                if result["outcome"] == "applied" { SucceededOutcome::Applied } else { SucceededOutcome::Succeeded };
            EventBody::Succeeded { outcome, result: Some(result), recovered: None }
        }
        OpState::Failed => {
            EventBody::Failed { outcome: FailedOutcome::Failed, result: Some(result), error: None, recovered: None }
        }
        OpState::Cancelled => EventBody::Cancelled { outcome: CancelledOutcome::Cancelled, result: Some(result) },
        OpState::Rejected => EventBody::Rejected { outcome: RejectedOutcome::Rejected, result },
        OpState::Queued | OpState::Running => unreachable!("a terminal body for a state that is not terminal"),
    }
}

/// Where an operation's response goes.
pub struct Reply {
    pub outbox: Arc<Outbox>,
    pub id: Id,
}

struct Record {
    state: OpState,
    sequence: u64,
    queued_at_ms: u64,
    started_at_ms: Option<u64>,
    finished_at_ms: Option<u64>,
    reply: Option<Reply>,
}

pub struct Operation {
    pub id: String,
    pub project_id: String,
    /// The method that started it, e.g. `applyMutation`.
    pub kind: &'static str,
    pub title: String,
    bus: Arc<EventBus>,
    table: Arc<OpTable>,
    progress_token: Option<(Value, Arc<Outbox>)>,
    cancelled_result: Option<CancelledResult>,
    cancel_requested: AtomicBool,
    cancelled_by_request: AtomicBool,
    rec: Mutex<Record>,
}

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

/// Parameters for [`Operation::new`].
pub struct NewOperation {
    /// The id, when the client chose one; a new one otherwise.
    pub id: Option<String>,
    pub project_id: String,
    pub kind: &'static str,
    pub title: String,
    pub bus: Arc<EventBus>,
    pub table: Arc<OpTable>,
    pub reply: Option<Reply>,
    pub progress_token: Option<(Value, Arc<Outbox>)>,
    /// The result it answers when cancelled (by `packer/cancel` or by its
    /// project closing) before it made one of its own: while queued, or
    /// refused by a lane that stopped. `None`: it answers -32800.
    pub cancelled_result: Option<CancelledResult>,
}

/// Makes the result of an operation cancelled before it made its own.
pub type CancelledResult = Box<dyn Fn(&Operation) -> Value + Send + Sync>;

/// A [`CancelledResult`] from a function that makes a typed result.
pub fn cancelled_result<R: Serialize>(make: impl Fn(&Operation) -> R + Send + Sync + 'static) -> CancelledResult {
    Box::new(move |op| result_json(&make(op)))
}

/// An operation's typed result as its terminal event and its response
/// carry it: the domain makes typed results, they become JSON here.
pub fn result_json(result: &impl Serialize) -> Value {
    serde_json::to_value(result).expect("an operation's result serialises")
}

impl Operation {
    /// Creates the operation, registers it as queued and emits `queued`.
    pub fn new(p: NewOperation) -> Arc<Operation> {
        let op = Operation::registered(p, OpState::Queued, 0);
        let mut rec = op.rec.lock().expect("operation lock");
        op.emit_locked(&mut rec, EventBody::Queued { operation: OperationKind::named(op.kind) }, None);
        drop(rec);
        op
    }

    /// An operation found unfinished in the journal after its process died:
    /// ends it with one terminal event (after its last journaled one) and
    /// lists it among the finished operations. `p.id` is its journaled id.
    pub fn recover(p: NewOperation, last_sequence: u64, state: OpState, body: EventBody) {
        let op = Operation::registered(
            NewOperation { reply: None, progress_token: None, cancelled_result: None, ..p },
            OpState::Running,
            last_sequence,
        );
        op.finish(state, body, Ok(Value::Null));
    }

    /// Makes the operation and adds it to its table, emitting nothing.
    fn registered(p: NewOperation, state: OpState, sequence: u64) -> Arc<Operation> {
        let op = Arc::new(Operation {
            id: p.id.unwrap_or_else(crate::ids::new_operation_id),
            project_id: p.project_id,
            kind: p.kind,
            title: p.title,
            bus: p.bus,
            table: p.table,
            progress_token: p.progress_token,
            cancelled_result: p.cancelled_result,
            cancel_requested: AtomicBool::new(false),
            cancelled_by_request: AtomicBool::new(false),
            rec: Mutex::new(Record {
                state,
                sequence,
                queued_at_ms: now_ms(),
                started_at_ms: None,
                finished_at_ms: None,
                reply: p.reply,
            }),
        });
        op.table.add(op.clone());
        op
    }

    /// Emits one event of this operation while its record is locked, so that
    /// `sequence` order and `seq` order agree.
    fn emit_locked(&self, rec: &mut Record, body: EventBody, progress: Option<Value>) {
        rec.sequence += 1;
        let kind = body.kind();
        let mut payload = body.into_fields();
        payload.insert("operationId".into(), json!(self.id));
        payload.insert("sequence".into(), json!(rec.sequence));
        let coalesce = (kind == "progress").then_some(self.id.as_str());
        self.bus.emit(payload, coalesce);
        if let (Some(mut value), Some((token, outbox))) = (progress, &self.progress_token) {
            value["operationId"] = json!(self.id);
            value["sequence"] = json!(rec.sequence);
            let params = serde_json::to_vec(&json!({ "token": token, "value": value })).expect("progress serialises");
            let key = (kind == "progress").then(|| crate::transport::outbox::work_done_progress_key(&self.id));
            outbox.push(crate::transport::message::notification_body("$/progress", &params), key);
        }
    }

    /// Moves a queued operation to running. Returns false (and does nothing)
    /// when it was already finished, e.g. cancelled while queued.
    pub fn start(&self) -> bool {
        let mut rec = self.rec.lock().expect("operation lock");
        if rec.state != OpState::Queued {
            return false;
        }
        rec.state = OpState::Running;
        rec.started_at_ms = Some(now_ms());
        let begin = json!({ "kind": "begin", "title": self.title, "cancellable": true });
        self.emit_locked(&mut rec, EventBody::Started {}, Some(begin));
        true
    }

    /// Reports progress of a running operation.
    pub fn progress(&self, done: u64, total: u64, message: &str) {
        self.progress_with(done, total, message, None, None);
    }

    /// Reports progress, with the bytes done of how many when they are counted.
    /// Reports progress: `done` of `total` steps; a build also says the
    /// bytes read and its work (a texture weighs its pixels times its
    /// encoder's cost), by which `$/progress` percentages go, so that a bar
    /// moves evenly whatever the mix of assets.
    pub fn progress_with(
        &self,
        done: u64,
        total: u64,
        message: &str,
        bytes: Option<(u64, u64)>,
        work: Option<(u64, u64)>,
    ) {
        let mut rec = self.rec.lock().expect("operation lock");
        if rec.state != OpState::Running {
            return;
        }
        let body = EventBody::Progress {
            done,
            total,
            message: message.to_string(),
            bytes: bytes.map(|b| b.0),
            bytes_total: bytes.map(|b| b.1),
            work: work.map(|w| w.0),
            work_total: work.map(|w| w.1),
        };
        let (done, total) = work.unwrap_or((done, total));
        let pct = (done.saturating_mul(100)).checked_div(total).unwrap_or(0).min(100);
        let report = json!({ "kind": "report", "message": message, "percentage": pct });
        self.emit_locked(&mut rec, body, Some(report));
    }

    /// Emits a state event caused by this operation (e.g. `snapshotPublished`).
    pub fn state_event(&self, body: EventBody) {
        let mut rec = self.rec.lock().expect("operation lock");
        if rec.state.is_terminal() {
            return;
        }
        self.emit_locked(&mut rec, body, None);
    }

    /// Ends the operation: terminal event, `$/progress` end, then the
    /// response. Returns false when it had already ended.
    pub fn finish(&self, state: OpState, body: EventBody, response: Result<Value, RpcError>) -> bool {
        self.finish_if(None, state, body, response)
    }

    /// `finish`, only when the operation is in state `only_from` (checked
    /// under the same lock as the transition, so a cancel can never end an
    /// operation the lane has just started).
    fn finish_if(
        &self,
        only_from: Option<OpState>,
        state: OpState,
        body: EventBody,
        response: Result<Value, RpcError>,
    ) -> bool {
        debug_assert!(state.is_terminal());
        let mut rec = self.rec.lock().expect("operation lock");
        if rec.state.is_terminal() || only_from.is_some_and(|s| rec.state != s) {
            return false;
        }
        let was_started = rec.state == OpState::Running;
        rec.state = state;
        rec.finished_at_ms = Some(now_ms());
        let end = was_started.then(|| json!({ "kind": "end", "message": state.as_str() }));
        self.emit_locked(&mut rec, body, end);
        let reply = rec.reply.take();
        drop(rec);
        // Out of the active list before the client can read the response, so
        // a summary asked after it never counts this operation as running.
        self.table.finished(self);
        if let Some(reply) = reply {
            reply.outbox.respond(Some(&reply.id), response);
        }
        true
    }

    /// Ends the operation as cancelled before it made a result of its own
    /// (see [`Operation::finish_cancelled_with`]).
    pub fn finish_cancelled(&self) -> bool {
        self.finish_cancelled_if(None, None)
    }

    /// Ends the operation as cancelled. The one rule for what the requester
    /// gets: a cancel it asked for itself (`$/cancelRequest`) answers
    /// -32800, as in LSP; any other (`packer/cancel` from any client, the
    /// project closing) answers the operation's result with `outcome:
    /// "cancelled"`, whether it was queued or running, so that whoever
    /// started it sees one shape. `result` is what it had made; without
    /// one, the result it was created with.
    pub fn finish_cancelled_with(&self, result: Value) -> bool {
        self.finish_cancelled_if(None, Some(result))
    }

    fn finish_cancelled_if(&self, only_from: Option<OpState>, result: Option<Value>) -> bool {
        let by_request = self.cancelled_by_request.load(Ordering::Acquire);
        let result = result.or_else(|| self.cancelled_result.as_ref().map(|make| make(self)));
        let mut carried = None;
        let response = match result {
            Some(result) if !by_request => {
                carried = Some(result.clone());
                Ok(result)
            }
            _ => {
                let message = if by_request {
                    "the request was cancelled by the client ($/cancelRequest)"
                } else {
                    "the operation was cancelled (packer/cancel)"
                };
                Err(RpcError::new(code::REQUEST_CANCELLED, message)
                    .with_data(json!({ "operationId": self.id, "outcome": "cancelled" })))
            }
        };
        let body = EventBody::Cancelled { outcome: CancelledOutcome::Cancelled, result: carried };
        self.finish_if(only_from, OpState::Cancelled, body, response)
    }

    /// Asks the operation to stop. A queued operation ends `cancelled` at once
    /// without running; a running one stops at its next safe point. Returns
    /// the state it was in.
    pub fn request_cancel(&self, by_request: bool) -> OpState {
        if by_request {
            self.cancelled_by_request.store(true, Ordering::Release);
        }
        self.cancel_requested.store(true, Ordering::Release);
        let state = self.state();
        if state == OpState::Queued && !self.finish_cancelled_if(Some(OpState::Queued), None) {
            // The lane started it meanwhile: it stops at its next safe point.
            return OpState::Running;
        }
        state
    }

    /// Whether the cancel came from `$/cancelRequest` (the request then
    /// answers -32800) rather than from `packer/cancel`.
    pub fn cancelled_by_request(&self) -> bool {
        self.cancelled_by_request.load(Ordering::Acquire)
    }

    pub fn is_cancel_requested(&self) -> bool {
        self.cancel_requested.load(Ordering::Acquire)
    }

    pub fn state(&self) -> OpState {
        self.rec.lock().expect("operation lock").state
    }

    /// The operation as `packer/operations` shows it.
    pub fn describe(&self) -> OperationInfo {
        let rec = self.rec.lock().expect("operation lock");
        OperationInfo {
            operation_id: self.id.clone(),
            kind: OperationKind::named(self.kind),
            title: self.title.clone(),
            state: rec.state,
            last_sequence: rec.sequence,
            queued_at_ms: rec.queued_at_ms,
            started_at_ms: rec.started_at_ms,
            finished_at_ms: rec.finished_at_ms,
        }
    }
}

/// A project's operations: active ones in arrival order, then recent ones.
#[derive(Default)]
pub struct OpTable {
    inner: Mutex<OpList>,
}

#[derive(Default)]
struct OpList {
    active: VecDeque<Arc<Operation>>,
    /// Active and recent operations by id: lookups stay O(1) with thousands queued.
    by_id: std::collections::HashMap<String, Arc<Operation>>,
    finished: VecDeque<Arc<Operation>>,
}

impl OpTable {
    fn add(&self, op: Arc<Operation>) {
        let mut inner = self.inner.lock().expect("op table lock");
        inner.by_id.insert(op.id.clone(), op.clone());
        inner.active.push_back(op);
    }

    fn finished(&self, op: &Operation) {
        let mut inner = self.inner.lock().expect("op table lock");
        // Operations mostly finish in arrival order: the search stops early.
        if let Some(i) = inner.active.iter().position(|o| o.id == op.id) {
            let op = inner.active.remove(i).expect("index in range");
            inner.finished.push_front(op);
            while inner.finished.len() > FINISHED_KEPT {
                if let Some(old) = inner.finished.pop_back() {
                    inner.by_id.remove(&old.id);
                }
            }
        }
    }

    /// `(queued, running)` right now.
    pub fn counts(&self) -> (usize, usize) {
        let inner = self.inner.lock().expect("op table lock");
        let states: Vec<OpState> = inner.active.iter().map(|o| o.state()).collect();
        let count = |s: OpState| states.iter().filter(|x| **x == s).count();
        (count(OpState::Queued), count(OpState::Running))
    }

    /// Active operations in arrival order, then finished ones, newest first.
    pub fn list(&self) -> Vec<OperationInfo> {
        let inner = self.inner.lock().expect("op table lock");
        inner.active.iter().chain(inner.finished.iter()).map(|o| o.describe()).collect()
    }

    pub fn find(&self, operation_id: &str) -> Option<Arc<Operation>> {
        self.inner.lock().expect("op table lock").by_id.get(operation_id).cloned()
    }

    /// Every active operation (used when a project closes).
    pub fn active(&self) -> Vec<Arc<Operation>> {
        self.inner.lock().expect("op table lock").active.iter().cloned().collect()
    }
}

impl std::fmt::Debug for Operation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Operation").field("id", &self.id).field("kind", &self.kind).finish()
    }
}
