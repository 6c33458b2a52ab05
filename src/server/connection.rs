//! One client connection: its lifecycle, read loop and dispatch.
//!
//! The reader never waits for a handler. Commit-bearing requests are put in
//! their project's lane right here, synchronously, so lane order is arrival
//! order; requests for a project another process owns are forwarded to it,
//! also from here and so also in arrival order; reads are spawned onto the
//! runtime against the current snapshot. The only thing the reader ever
//! waits for is room in the outbox, when the client has stopped reading.

use std::collections::{BTreeSet, HashMap};
use std::io::{Read, Write};
use std::path::PathBuf;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use serde_json::value::RawValue;
use serde_json::Value;

use super::attached::ForwardError;
use super::{handlers, ProjectHandle, Server};
use crate::operations::{cancelled_result, Operation, Reply};
use crate::project::external::EndedBy;
use crate::project::lane::Job;
use crate::protocol::{self, CancelRequestParams, Request};
use crate::transport::codec::{Decoder, Frame};
use crate::transport::message::{code, RawMessage};
use crate::transport::{Id, Outbox, RpcError};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lifecycle {
    Uninitialized,
    Running,
    ShutDown,
}

/// One client: its lifecycle, its outbox, the projects it opened.
pub struct Connection {
    pub(super) server: Arc<Server>,
    pub outbox: Arc<Outbox>,
    lifecycle: Mutex<Lifecycle>,
    ops_by_request: Mutex<HashMap<Id, Arc<Operation>>>,
    opened: Mutex<BTreeSet<String>>,
    /// Reads spawned and not yet answered: `shutdown` and `exit` wait for
    /// them, so every request sent before them gets its answer.
    reads_in_flight: Mutex<usize>,
    reads_done: Condvar,
    /// Projects this connection is opening: a request about one of them
    /// waits until the open has been answered, so that a client may send
    /// `openProject` and its next requests without waiting in between.
    opening: Mutex<HashMap<String, Arc<Latch>>>,
    /// External changes this connection began (project id, change id):
    /// ended when it closes (`None` once it has).
    changes: Mutex<Option<Vec<(String, String)>>>,
}

/// Set once, waited on by many.
#[derive(Default)]
struct Latch {
    done: Mutex<bool>,
    cv: Condvar,
}

impl Latch {
    fn open(&self) {
        *self.done.lock().expect("latch lock") = true;
        self.cv.notify_all();
    }

    fn wait(&self, timeout: Duration) {
        let done = self.done.lock().expect("latch lock");
        let _ = self.cv.wait_timeout_while(done, timeout, |d| !*d).expect("latch lock");
    }
}

/// Reads answered concurrently at most; the reader waits for one to finish
/// before taking another. With the outbox's byte limit this bounds memory
/// when a client pipelines without reading: answers not yet queued count too.
const MAX_READS_IN_FLIGHT: usize = 256;

/// How long `shutdown`, `exit` or the end of input wait for answers still due.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(30);

/// Runs a whole connection: reads `input` until `exit` or end of input,
/// writes to `output` from a thread of its own. Returns the exit code.
pub fn serve(server: Arc<Server>, input: impl Read, output: impl Write + Send + 'static) -> i32 {
    let outbox = Arc::new(Outbox::new());
    let writer = {
        let outbox = outbox.clone();
        std::thread::Builder::new()
            .name("packer-writer".into())
            .spawn(move || {
                if let Err(e) = outbox.drain_into(output) {
                    tracing::warn!(error = %e, "the client stopped reading; output closed");
                }
            })
            .expect("the writer thread starts")
    };
    let conn = Arc::new(Connection {
        server,
        outbox: outbox.clone(),
        lifecycle: Mutex::new(Lifecycle::Uninitialized),
        ops_by_request: Mutex::new(HashMap::new()),
        opened: Mutex::new(BTreeSet::new()),
        reads_in_flight: Mutex::new(0),
        reads_done: Condvar::new(),
        opening: Mutex::new(HashMap::new()),
        changes: Mutex::new(Some(Vec::new())),
    });
    let code = conn.read_loop(input);
    conn.wait_for_reads(DRAIN_TIMEOUT);
    conn.end_changes();
    conn.release_all();
    outbox.close();
    let _ = writer.join();
    code
}

impl Connection {
    fn read_loop(self: &Arc<Self>, mut input: impl Read) -> i32 {
        let mut decoder = Decoder::new();
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            self.outbox.wait_for_room();
            let n = match input.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    tracing::warn!(error = %e, "reading the client failed; closing");
                    break;
                }
            };
            decoder.extend(&buf[..n]);
            while let Some(frame) = decoder.next_frame() {
                // Per message, not per read: one read may hold thousands.
                self.outbox.wait_for_room();
                match frame {
                    Frame::Body(body) => {
                        if let Some(code) = self.handle_body(&body) {
                            return code;
                        }
                    }
                    Frame::Invalid(e) => {
                        tracing::warn!(error = %e, "bad frame from the client");
                        self.outbox.respond(None, Err(RpcError::new(code::PARSE_ERROR, format!("bad frame: {e}"))));
                    }
                }
            }
        }
        if let Some(e) = decoder.finish() {
            tracing::warn!(error = %e, "input ended inside a message");
        }
        let code = if self.lifecycle() == Lifecycle::ShutDown { 0 } else { 1 };
        tracing::info!(code, "input closed");
        code
    }

    fn lifecycle(&self) -> Lifecycle {
        *self.lifecycle.lock().expect("lifecycle lock")
    }

    /// Handles one message; returns an exit code when the client asked to exit.
    fn handle_body(self: &Arc<Self>, body: &[u8]) -> Option<i32> {
        // Only an object can be a message (serde would also read a struct
        // from an array, so check first).
        let parsed = match body.iter().find(|b| !b.is_ascii_whitespace()) {
            Some(b'{') => serde_json::from_slice::<RawMessage>(body),
            _ => serde_json::from_slice::<RawMessage>(b"!"),
        };
        let msg = match parsed {
            Ok(m) => m,
            Err(e) => {
                self.outbox.respond(None, Err(classify_bad_body(body, &e)));
                return None;
            }
        };
        let id = match msg.id.as_deref().map(|raw| serde_json::from_str::<Id>(raw.get())) {
            None => None,
            Some(Ok(id)) => Some(id),
            Some(Err(_)) => {
                let err = RpcError::new(code::INVALID_REQUEST, "invalid request: `id` must be a number or a string");
                self.outbox.respond(None, Err(err));
                return None;
            }
        };
        if msg.jsonrpc.as_deref() != Some("2.0") {
            let err = RpcError::new(code::INVALID_REQUEST, "invalid request: `jsonrpc` must be \"2.0\"");
            self.outbox.refuse(id.as_ref(), err);
            return None;
        }
        match (id, msg.method) {
            (Some(id), Some(method)) => {
                self.request(id, &method, msg.params);
                None
            }
            (None, Some(method)) => self.notification(&method, msg.params.as_deref()),
            (_, None) if msg.result.is_some() || msg.error.is_some() => None, // a response: we send no requests
            (id, None) => {
                let err = RpcError::new(code::INVALID_REQUEST, "invalid request: no `method`");
                self.outbox.refuse(id.as_ref(), err);
                None
            }
        }
    }

    fn notification(self: &Arc<Self>, method: &str, params: Option<&RawValue>) -> Option<i32> {
        match method {
            "exit" => Some(if self.lifecycle() == Lifecycle::ShutDown { 0 } else { 1 }),
            "initialized" => None,
            "$/cancelRequest" => {
                if let Ok(p) = protocol::decode::<CancelRequestParams>(params) {
                    let op = self.ops_by_request.lock().expect("requests lock").get(&p.id).cloned();
                    match op {
                        Some(op) => {
                            op.request_cancel(true);
                        }
                        None => {
                            for remote in self.server.attached() {
                                remote.cancel_forwarded(&self.outbox, &p.id);
                            }
                        }
                    }
                }
                None
            }
            _ => {
                tracing::debug!(method, "ignoring notification");
                None
            }
        }
    }

    fn request(self: &Arc<Self>, id: Id, method: &str, params: Option<Box<RawValue>>) {
        // From here on, every path answers `id` exactly once.
        if !self.outbox.begin_request(&id) {
            tracing::warn!(%id, method, "refused a request whose id is still in flight");
            self.outbox.refuse_duplicate(&id);
            return;
        }
        let state = self.lifecycle();
        match (state, method) {
            (Lifecycle::Uninitialized, "initialize") => {
                *self.lifecycle.lock().expect("lifecycle lock") = Lifecycle::Running;
                self.outbox.respond(Some(&id), Ok(handlers::initialize()));
                return;
            }
            (Lifecycle::Uninitialized, _) => {
                let err = RpcError::new(code::SERVER_NOT_INITIALIZED, format!("`{method}` before `initialize`"));
                self.outbox.respond(Some(&id), Err(err));
                return;
            }
            (Lifecycle::ShutDown, _) => {
                let err = RpcError::new(
                    code::INVALID_REQUEST,
                    format!("`{method}` after `shutdown`: only `exit` is accepted"),
                );
                self.outbox.respond(Some(&id), Err(err));
                return;
            }
            (Lifecycle::Running, "initialize") => {
                let err = RpcError::new(code::INVALID_REQUEST, "`initialize` was already received");
                self.outbox.respond(Some(&id), Err(err));
                return;
            }
            (Lifecycle::Running, "shutdown") => {
                *self.lifecycle.lock().expect("lifecycle lock") = Lifecycle::ShutDown;
                // Answered once every read sent before it has been answered;
                // on the reader itself, so that `exit` cannot overtake it
                // (after `shutdown` nothing but `exit` is accepted anyway).
                self.wait_for_reads(DRAIN_TIMEOUT);
                self.outbox.respond(Some(&id), Ok(Value::Null));
                return;
            }
            (Lifecycle::Running, _) => {}
        }
        // The project a `packer/` request names, read once for both checks below.
        let project_id = (method.starts_with("packer/") && method != "packer/openProject")
            .then(|| params.as_deref().and_then(protocol::peek_project_id))
            .flatten();
        // A request about a project being opened by an earlier request waits
        // for that open (on the reader: it was sent after, so it comes after).
        if let Some(pid) = &project_id {
            let latch = self.opening.lock().expect("opening lock").get(pid).cloned();
            if let Some(latch) = latch {
                latch.wait(DRAIN_TIMEOUT);
            }
        }
        let params = match self.route_to_owner(&id, method, project_id.as_deref(), params) {
            Some(params) => params,
            None => return,
        };
        let request = match Request::decode(method, params.as_deref()) {
            Ok(r) => r,
            Err(e) => {
                self.outbox.respond(Some(&id), Err(e));
                return;
            }
        };
        if request.is_commit_bearing() {
            // Synchronous on purpose: the lane must see requests in arrival order.
            if let Err(e) = self.submit(&id, request) {
                self.outbox.respond(Some(&id), Err(e));
            }
            return;
        }
        {
            let n = self.reads_in_flight.lock().expect("reads lock");
            let mut n = self.reads_done.wait_while(n, |n| *n >= MAX_READS_IN_FLIGHT).expect("reads lock");
            *n += 1;
        }
        let opening = self.begin_opening(&request);
        let conn = self.clone();
        let method = method.to_string();
        let on_disk = request.touches_disk();
        let task = move || {
            let read = std::panic::AssertUnwindSafe(|| handlers::read(&conn, request));
            let result = std::panic::catch_unwind(read).unwrap_or_else(|_| {
                Err(RpcError::internal(format!("internal error while answering `{method}` (a bug; see the log)")))
            });
            conn.outbox.respond(Some(&id), result);
            if let Some((pid, latch)) = opening {
                let mut opening = conn.opening.lock().expect("opening lock");
                // Only this open's latch: a second open of the same root may have replaced it.
                if opening.get(&pid).is_some_and(|l| Arc::ptr_eq(l, &latch)) {
                    opening.remove(&pid);
                }
                drop(opening);
                latch.open();
            }
            conn.read_done();
        };
        if on_disk {
            self.server.runtime.spawn_blocking(task);
        } else {
            self.server.runtime.spawn(async move { task() });
        }
    }

    /// For `openProject`: marks the project it will open (its id is derived
    /// from the canonical root) as opening, until the open is answered.
    fn begin_opening(&self, request: &Request) -> Option<(String, Arc<Latch>)> {
        let Request::OpenProject(p) = request else { return None };
        let root = root_path(&p.root).ok()?.canonicalize().ok()?;
        let pid = crate::ids::project_id(&root);
        let latch = Arc::new(Latch::default());
        self.opening.lock().expect("opening lock").insert(pid.clone(), latch.clone());
        Some((pid, latch))
    }

    /// Forwards a request about a project that another process owns.
    /// Returns the params back when the request is to be handled here.
    fn route_to_owner(
        self: &Arc<Self>,
        id: &Id,
        method: &str,
        project_id: Option<&str>,
        params: Option<Box<RawValue>>,
    ) -> Option<Option<Box<RawValue>>> {
        let Some(project_id) = project_id else { return Some(params) };
        // Handled here, so that this connection knows the changes it began
        // (and ends them when it closes), then passed on (see handlers).
        if method == "packer/beginExternalChange" {
            return Some(params);
        }
        let Some(ProjectHandle::Attached(remote)) = self.server.handle(project_id) else { return Some(params) };
        if method == "packer/closeProject" {
            self.unsubscribe(project_id);
            self.outbox.respond(Some(id), Ok(Value::Null));
            return None;
        }
        let value: Value = params.as_deref().and_then(|p| serde_json::from_str(p.get()).ok()).unwrap_or(Value::Null);
        let reply = Reply { outbox: self.outbox.clone(), id: id.clone() };
        // A forwarded read counts like a local one: `shutdown` waits for its answer.
        let is_read = !protocol::is_commit_bearing_method(method);
        let done: Option<Box<dyn FnOnce() + Send>> = is_read.then(|| {
            *self.reads_in_flight.lock().expect("reads lock") += 1;
            let conn = self.clone();
            Box::new(move || conn.read_done()) as Box<dyn FnOnce() + Send>
        });
        let outcome = remote.forward(reply, method, value, done);
        if outcome.is_err() && is_read {
            // Not forwarded, so `done` was dropped uncalled.
            self.read_done();
        }
        match outcome {
            Ok(()) => None,
            // This process took the project over meanwhile: handle it here.
            Err(ForwardError::Converted) => Some(params),
            Err(ForwardError::Unreachable(e)) => {
                self.outbox.respond(Some(id), Err(e));
                None
            }
        }
    }

    /// Puts a commit-bearing request into its project's lane.
    fn submit(self: &Arc<Self>, id: &Id, request: Request) -> Result<(), RpcError> {
        let (project_id, kind, title, job, token, wanted) = match request {
            Request::Build(p) => {
                let title = if p.clean { "Build (clean)" } else { "Build" }.to_string();
                let title = match &p.target {
                    Some(target) => format!("{title} {target}"),
                    None => title,
                };
                let job = Job::Build { clean: p.clean, target: p.target };
                (p.project_id, "build", title, job, p.work_done_token, p.operation_id)
            }
            Request::PruneCache(p) => {
                let job = Job::PruneCache { max_size: p.max_size };
                (
                    p.project_id,
                    "pruneCache",
                    "Prune the processing cache".to_string(),
                    job,
                    p.work_done_token,
                    p.operation_id,
                )
            }
            Request::ApplyMutation(p) => {
                let title = format!("Apply {}", p.mutation.kind_name());
                let job = Job::Apply { mutation: p.mutation, expected_generation: p.expected_generation };
                (p.project_id, "applyMutation", title, job, p.work_done_token, p.operation_id)
            }
            _ => return Err(RpcError::internal("a read reached the lane (a bug)")),
        };
        let project = self.server.project(&project_id)?;
        let mut new = project.new_operation(kind, title);
        new.cancelled_result = Some(match kind {
            "build" => cancelled_result(crate::build::cancelled_before_running),
            "pruneCache" => cancelled_result(crate::build::prune_cancelled_before_running),
            _ => crate::project::lane::apply_cancelled_before_running(Arc::downgrade(&project)),
        });
        new.reply = Some(Reply { outbox: self.outbox.clone(), id: id.clone() });
        new.progress_token = token.map(|t| (t.to_value(), self.outbox.clone()));
        let Some(op) = project.enqueue(new, wanted.clone(), job) else {
            let wanted = wanted.unwrap_or_default();
            return Err(RpcError::invalid_params(
                "operationId",
                format!("`{wanted}` is not a fresh operation id (`op-` and up to 60 letters or digits)"),
            ));
        };
        {
            let mut by_request = self.ops_by_request.lock().expect("requests lock");
            // Forget finished operations now and then, not on every request:
            // with thousands queued, pruning each time would be quadratic.
            if by_request.len() >= 1024 && by_request.len().is_power_of_two() {
                by_request.retain(|_, op| !op.state().is_terminal());
            }
            by_request.insert(id.clone(), op.clone());
        }
        Ok(())
    }

    /// A read counted in `reads_in_flight` was answered.
    fn read_done(&self) {
        let mut n = self.reads_in_flight.lock().expect("reads lock");
        *n -= 1;
        // Wakes `shutdown` (waiting for 0) and the reader (waiting for room).
        if *n == 0 || *n == MAX_READS_IN_FLIGHT - 1 {
            self.reads_done.notify_all();
        }
    }

    fn wait_for_reads(&self, timeout: Duration) {
        let n = self.reads_in_flight.lock().expect("reads lock");
        let (n, waited) = self.reads_done.wait_timeout_while(n, timeout, |n| *n > 0).expect("reads lock");
        if waited.timed_out() {
            tracing::warn!(unanswered = *n, "gave up waiting for reads still running");
        }
    }

    /// Remembers a project this connection opened (it is subscribed already).
    pub(super) fn note_opened(&self, handle: &ProjectHandle) {
        self.opened.lock().expect("opened lock").insert(handle.id().to_string());
    }

    pub(super) fn unsubscribe(&self, project_id: &str) -> bool {
        let was_open = self.opened.lock().expect("opened lock").remove(project_id);
        if was_open {
            self.server.release(project_id, &self.outbox);
        }
        was_open
    }

    /// Remembers an external change this connection began; one begun by a
    /// request still running when the connection closed is ended at once.
    pub(super) fn note_change(&self, project_id: &str, change_id: &str) {
        let mut changes = self.changes.lock().expect("changes lock");
        match changes.as_mut() {
            Some(list) => list.push((project_id.to_string(), change_id.to_string())),
            None => {
                drop(changes);
                handlers::end_change_of(&self.server, project_id, change_id, EndedBy::ConnectionClosed);
            }
        }
    }

    /// Forgets a change that ended; returns its project when it was this
    /// connection's.
    pub(super) fn forget_change(&self, change_id: &str) -> Option<String> {
        let mut changes = self.changes.lock().expect("changes lock");
        let list = changes.as_mut()?;
        let i = list.iter().position(|(_, c)| c == change_id)?;
        Some(list.remove(i).0)
    }

    /// Ends the changes this connection left open: a client that dies
    /// never leaves the packer holding divergence back.
    fn end_changes(&self) {
        let changes = self.changes.lock().expect("changes lock").take().unwrap_or_default();
        for (project_id, change_id) in changes {
            handlers::end_change_of(&self.server, &project_id, &change_id, EndedBy::ConnectionClosed);
        }
    }

    fn release_all(&self) {
        let opened: Vec<String> = std::mem::take(&mut *self.opened.lock().expect("opened lock")).into_iter().collect();
        for id in opened {
            self.server.release(&id, &self.outbox);
        }
    }
}

/// The error for a body that is not a JSON-RPC message at all.
fn classify_bad_body(body: &[u8], e: &serde_json::Error) -> RpcError {
    match serde_json::from_slice::<Value>(body) {
        Err(_) => match std::str::from_utf8(body) {
            Err(u) => RpcError::new(
                code::PARSE_ERROR,
                format!("parse error: the body is not valid UTF-8 (at byte {})", u.valid_up_to()),
            ),
            Ok(_) => RpcError::new(code::PARSE_ERROR, format!("parse error: {e}")),
        },
        Ok(Value::Array(_)) => {
            RpcError::new(code::INVALID_REQUEST, "invalid request: JSON-RPC batches are not supported")
        }
        Ok(Value::Object(_)) => RpcError::new(code::INVALID_REQUEST, format!("invalid request: {e}")),
        Ok(_) => RpcError::new(code::INVALID_REQUEST, "invalid request: a message must be a JSON object"),
    }
}

/// A `root` parameter: an absolute path or a `file://` URI.
pub fn root_path(raw: &str) -> Result<PathBuf, RpcError> {
    let path = match raw.strip_prefix("file://") {
        Some(rest) => {
            let rest = rest.strip_prefix("localhost").unwrap_or(rest);
            percent_decode(rest)
                .ok_or_else(|| RpcError::invalid_params("root", format!("`{raw}` is not a valid file URI")))?
        }
        None => raw.to_string(),
    };
    let path = PathBuf::from(path);
    if !path.is_absolute() {
        return Err(RpcError::invalid_params("root", format!("`{raw}` must be an absolute path or a file:// URI")));
    }
    Ok(path)
}

fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_uris_and_paths() {
        assert_eq!(root_path("file:///tmp/a%20b").unwrap(), PathBuf::from("/tmp/a b"));
        assert_eq!(root_path("file://localhost/tmp/x").unwrap(), PathBuf::from("/tmp/x"));
        assert_eq!(root_path("/tmp/x").unwrap(), PathBuf::from("/tmp/x"));
        assert!(root_path("relative/x").is_err());
        assert!(root_path("file:///tmp/%zz").is_err());
    }
}
