//! A project owned by another process: forward its requests over the
//! owner's socket, relay the owner's answers and events, and take over when
//! the owner goes away.
//!
//! Everything from the owner is read by one thread per attached project, so
//! events and answers reach each local client in the order the owner sent
//! them (a terminal event still comes before its response). Events are
//! relayed by `seq`: after a reconnection the missed ones are replayed from
//! the owner's journal, and none is relayed twice.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex, Weak};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::Server;
use crate::operations::Reply;
use crate::owner::{self, OwnerLock};
use crate::transport::codec::{self, Decoder, Frame};
use crate::transport::message::{self, code, Id};
use crate::transport::{Outbox, RpcError};

/// How long a takeover may take before the project is given up.
const TAKEOVER_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a request waits for a takeover in progress.
const WAIT_FOR_OWNER: Duration = Duration::from_secs(30);
/// Replay page size used to fill gaps.
const REPLAY_PAGE: u64 = 10_000;

enum State {
    Connected {
        writer: UnixStream,
        owner_pid: u32,
    },
    Reconnecting,
    /// This process took ownership: the project is local now.
    Converted,
    Closed,
}

enum Waiter {
    Client(Reply),
    Internal(mpsc::Sender<Result<Value, RpcError>>),
}

struct Pending {
    waiter: Waiter,
    operation_id: Option<String>,
    /// Called once the request is answered, whichever way.
    done: Option<Box<dyn FnOnce() + Send>>,
}

struct Inner {
    state: State,
    next_id: i64,
    pending: HashMap<i64, Pending>,
    subscribers: Vec<Arc<Outbox>>,
    /// `$/progress` tokens of forwarded operations -> the client that gave them.
    tokens: HashMap<String, Arc<Outbox>>,
    last_seq: u64,
}

pub struct Attached {
    pub project_id: String,
    pub root: PathBuf,
    server: Weak<Server>,
    inner: Mutex<Inner>,
    changed: Condvar,
    write_lock: Mutex<()>,
}

/// Why a request could not be forwarded.
pub enum ForwardError {
    /// This process owns the project now: handle the request locally.
    Converted,
    Unreachable(RpcError),
}

/// A fresh connection to an owner, after its handshake.
struct Link {
    stream: UnixStream,
    decoder: Decoder,
    owner_pid: u32,
    /// Events to relay, in `seq` order (replayed, then live ones that came
    /// during the handshake).
    events: Vec<Value>,
    last_seq: u64,
}

impl Attached {
    /// Attaches to the owner of `root`. Fails when no owner answers.
    pub fn attach(server: &Arc<Server>, root: &Path, project_id: &str) -> std::io::Result<Arc<Attached>> {
        let link = handshake(root, project_id, None)?;
        let remote = Arc::new(Attached {
            project_id: project_id.to_string(),
            root: root.to_path_buf(),
            server: Arc::downgrade(server),
            inner: Mutex::new(Inner {
                state: State::Connected { writer: link.stream.try_clone()?, owner_pid: link.owner_pid },
                next_id: 1,
                pending: HashMap::new(),
                subscribers: Vec::new(),
                tokens: HashMap::new(),
                last_seq: link.last_seq,
            }),
            changed: Condvar::new(),
            write_lock: Mutex::new(()),
        });
        let reader = remote.clone();
        std::thread::Builder::new()
            .name("packer-attached".into())
            .spawn(move || reader.run(link.stream, link.decoder))?;
        tracing::info!(project = %project_id, owner = link.owner_pid, "attached to the project's owner");
        Ok(remote)
    }

    pub fn owner_pid(&self) -> Option<u32> {
        match &self.inner.lock().expect("remote lock").state {
            State::Connected { owner_pid, .. } => Some(*owner_pid),
            _ => None,
        }
    }

    pub fn subscribe(&self, outbox: Arc<Outbox>) {
        let mut inner = self.inner.lock().expect("remote lock");
        if !inner.subscribers.iter().any(|s| Arc::ptr_eq(s, &outbox)) {
            inner.subscribers.push(outbox);
        }
    }

    /// Returns how many local subscribers remain.
    pub fn unsubscribe(&self, outbox: &Arc<Outbox>) -> usize {
        let mut inner = self.inner.lock().expect("remote lock");
        inner.subscribers.retain(|s| !Arc::ptr_eq(s, outbox));
        inner.subscribers.len()
    }

    /// Disconnects for good (the last local client left).
    pub fn close(&self) {
        let pending: Vec<Pending> = {
            let mut inner = self.inner.lock().expect("remote lock");
            if let State::Connected { writer, .. } = &inner.state {
                let _ = writer.shutdown(std::net::Shutdown::Both);
            }
            inner.state = State::Closed;
            self.changed.notify_all();
            inner.pending.drain().map(|(_, p)| p).collect()
        };
        // Nothing waits forever: what was in flight is answered now.
        for p in pending {
            answer_lost(p, "the project was closed here before its owner answered");
        }
    }

    /// Waits while a takeover is in progress; then runs `f` on the live writer.
    fn with_link<T>(&self, f: impl FnOnce(&mut Inner) -> Result<T, ForwardError>) -> Result<T, ForwardError> {
        let deadline = Instant::now() + WAIT_FOR_OWNER;
        let mut inner = self.inner.lock().expect("remote lock");
        loop {
            match inner.state {
                State::Connected { .. } => return f(&mut inner),
                State::Converted => return Err(ForwardError::Converted),
                State::Closed => return Err(ForwardError::Unreachable(unreachable_error())),
                State::Reconnecting => {
                    let left = deadline.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return Err(ForwardError::Unreachable(unreachable_error()));
                    }
                    inner = self.changed.wait_timeout(inner, left).expect("remote lock").0;
                }
            }
        }
    }

    /// Forwards a client's request; its answer goes straight to `reply`.
    /// `done` is called once the request is answered (or found lost).
    pub fn forward(
        &self,
        reply: Reply,
        method: &str,
        mut params: Value,
        done: Option<Box<dyn FnOnce() + Send>>,
    ) -> Result<(), ForwardError> {
        self.with_link(|inner| {
            let id = inner.next_id;
            inner.next_id += 1;
            let mut operation_id = None;
            if crate::protocol::is_commit_bearing_method(method) && params.is_object() {
                // Name the operation here, so that if the owner dies before
                // answering, the client is still told which operation to look up.
                let op = params.get("operationId").and_then(Value::as_str).map(str::to_string);
                let op = op.unwrap_or_else(crate::ids::new_operation_id);
                params["operationId"] = json!(op);
                operation_id = Some(op);
            }
            if let Some(token) = params.get("workDoneToken") {
                inner.tokens.insert(token.to_string(), reply.outbox.clone());
            }
            let body = message::request_body(&Id::Num(id), method, &params);
            inner.pending.insert(id, Pending { waiter: Waiter::Client(reply), operation_id, done });
            Ok((id, body, link_writer(inner)))
        })
        .map(|(id, body, writer)| self.send_or_lose(id, &body, writer))
    }

    /// Writes a frame to the owner outside the state lock (the reader needs
    /// that lock to relay, and the owner may be waiting for us to read), under
    /// a lock of its own so frames never interleave. A request that cannot be
    /// written is answered as lost at once.
    fn send_or_lose(&self, id: i64, body: &[u8], writer: std::io::Result<UnixStream>) {
        let written = writer.and_then(|mut w| {
            let _one_at_a_time = self.write_lock.lock().expect("write lock");
            let mut frame = Vec::with_capacity(body.len() + 32);
            codec::encode(body, &mut frame);
            w.write_all(&frame)
        });
        if let Err(e) = written {
            // The reader will see the connection end and take over; this
            // request never reached the owner.
            let lost = self.inner.lock().expect("remote lock").pending.remove(&id);
            if let Some(p) = lost {
                answer_lost(p, &e.to_string());
            }
        }
    }

    /// Forwards a notification (e.g. `$/cancelRequest` with a translated id).
    pub fn cancel_forwarded(&self, outbox: &Arc<Outbox>, client_id: &Id) {
        let sent = self.with_link(|inner| {
            let remote_id = inner.pending.iter().find_map(|(rid, p)| match &p.waiter {
                Waiter::Client(r) if Arc::ptr_eq(&r.outbox, outbox) && &r.id == client_id => Some(*rid),
                _ => None,
            });
            Ok(remote_id.map(|rid| (rid, link_writer(inner))))
        });
        if let Ok(Some((rid, Ok(mut w)))) = sent {
            let body =
                serde_json::to_vec(&json!({"jsonrpc": "2.0", "method": "$/cancelRequest", "params": {"id": rid}}))
                    .expect("a notification serialises");
            let mut frame = Vec::new();
            codec::encode(&body, &mut frame);
            let _one_at_a_time = self.write_lock.lock().expect("write lock");
            let _ = w.write_all(&frame);
        }
    }

    /// A request made by this process itself; waits for the answer.
    pub fn call(&self, method: &str, params: Value) -> Result<Value, RpcError> {
        let (tx, rx) = mpsc::channel();
        let sent = self.with_link(|inner| {
            let id = inner.next_id;
            inner.next_id += 1;
            inner.pending.insert(id, Pending { waiter: Waiter::Internal(tx), operation_id: None, done: None });
            let body = message::request_body(&Id::Num(id), method, &params);
            Ok((id, body, link_writer(inner)))
        });
        match sent {
            Ok((id, body, writer)) => {
                self.send_or_lose(id, &body, writer);
                rx.recv_timeout(WAIT_FOR_OWNER).unwrap_or_else(|_| Err(unreachable_error()))
            }
            Err(ForwardError::Converted) => Err(RpcError::failed("ownerChanged", "this process owns the project now")),
            Err(ForwardError::Unreachable(e)) => Err(e),
        }
    }

    /// The reader: one per attached project, for as long as it is attached.
    fn run(self: Arc<Self>, mut stream: UnixStream, mut decoder: Decoder) {
        loop {
            let mut buf = vec![0u8; 64 * 1024];
            loop {
                while let Some(frame) = decoder.next_frame() {
                    if let Frame::Body(body) = frame {
                        if let Ok(msg) = serde_json::from_slice::<Value>(&body) {
                            self.dispatch(msg);
                        }
                    }
                }
                match stream.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => decoder.extend(&buf[..n]),
                }
            }
            if matches!(self.inner.lock().expect("remote lock").state, State::Closed) {
                return;
            }
            tracing::warn!(project = %self.project_id, "the project's owner went away; taking over");
            self.fail_pending();
            match self.take_over() {
                Some(link) => {
                    stream = link.0;
                    decoder = link.1;
                }
                None => return,
            }
        }
    }

    fn dispatch(&self, msg: Value) {
        match msg.get("method").and_then(Value::as_str) {
            Some("packer/event") => {
                let mut inner = self.inner.lock().expect("remote lock");
                relay_event(&mut inner, &msg["params"]);
            }
            Some("$/progress") => {
                let inner = self.inner.lock().expect("remote lock");
                let token = msg["params"]["token"].to_string();
                if let Some(outbox) = inner.tokens.get(&token) {
                    let params = serde_json::to_vec(&msg["params"]).expect("progress serialises");
                    let key = (msg["params"]["value"]["kind"] == "report")
                        .then(|| crate::transport::outbox::work_done_progress_key(&token));
                    outbox.push(message::notification_body("$/progress", &params), key);
                }
                let end = msg["params"]["value"]["kind"] == "end";
                drop(inner);
                if end {
                    self.inner.lock().expect("remote lock").tokens.remove(&token);
                }
            }
            Some(_) => {}
            None => {
                let Some(id) = msg.get("id").and_then(Value::as_i64) else { return };
                let pending = self.inner.lock().expect("remote lock").pending.remove(&id);
                let Some(p) = pending else { return };
                let result = match msg.get("error") {
                    Some(e) => {
                        Err(serde_json::from_value(e.clone()).unwrap_or_else(|_| RpcError::internal(e.to_string())))
                    }
                    None => Ok(msg.get("result").cloned().unwrap_or(Value::Null)),
                };
                match p.waiter {
                    Waiter::Client(reply) => reply.outbox.respond(Some(&reply.id), result),
                    Waiter::Internal(tx) => {
                        let _ = tx.send(result);
                    }
                }
                if let Some(done) = p.done {
                    done();
                }
            }
        }
    }

    /// Every request in flight at a dead owner is answered: `ownerLost`.
    fn fail_pending(&self) {
        let pending: Vec<Pending> = {
            let mut inner = self.inner.lock().expect("remote lock");
            inner.state = State::Reconnecting;
            inner.pending.drain().map(|(_, p)| p).collect()
        };
        for p in pending {
            answer_lost(p, "the project's owner process went away before answering");
        }
    }

    /// Takes the lock and opens the project here, or attaches to whichever
    /// process took it. Returns the new link when attached again.
    fn take_over(&self) -> Option<(UnixStream, Decoder)> {
        let deadline = Instant::now() + TAKEOVER_TIMEOUT;
        while Instant::now() < deadline {
            if matches!(self.inner.lock().expect("remote lock").state, State::Closed) {
                return None;
            }
            // The lock is taken only in a state folder that passes the
            // owner's check (a link planted meanwhile would be written through).
            if let Ok(state) = crate::project::disk::state::prepare(&self.root) {
                if let Ok(Some(lock)) = OwnerLock::try_acquire(&state.path().join("owner.lock")) {
                    return self.become_owner(lock, state);
                }
            }
            let last_seq = self.inner.lock().expect("remote lock").last_seq;
            if let Ok(link) = handshake(&self.root, &self.project_id, Some(last_seq)) {
                let mut inner = self.inner.lock().expect("remote lock");
                for ev in &link.events {
                    relay_event(&mut inner, ev);
                }
                let Ok(writer) = link.stream.try_clone() else { continue };
                inner.state = State::Connected { writer, owner_pid: link.owner_pid };
                self.changed.notify_all();
                tracing::info!(project = %self.project_id, owner = link.owner_pid, "attached to the new owner");
                return Some((link.stream, link.decoder));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        tracing::error!(project = %self.project_id, "no process could take the project over");
        self.close();
        None
    }

    fn become_owner(
        &self,
        lock: OwnerLock,
        state: crate::project::disk::state::StateDir,
    ) -> Option<(UnixStream, Decoder)> {
        let server = self.server.upgrade()?;
        let (subscribers, last_seq) = {
            let inner = self.inner.lock().expect("remote lock");
            (inner.subscribers.clone(), inner.last_seq)
        };
        match server.adopt(&self.root, lock, state, subscribers, last_seq) {
            Ok(()) => {
                let mut inner = self.inner.lock().expect("remote lock");
                inner.state = State::Converted;
                inner.subscribers.clear();
                self.changed.notify_all();
            }
            Err(e) => {
                tracing::error!(project = %self.project_id, error = %e.message, "taking the project over failed");
                self.close();
            }
        }
        None
    }
}

fn relay_event(inner: &mut Inner, event: &Value) {
    let Some(seq) = event.get("seq").and_then(Value::as_u64) else { return };
    if seq <= inner.last_seq {
        return;
    }
    inner.last_seq = seq;
    let params = serde_json::to_vec(event).expect("an event serialises");
    let body = message::notification_body("packer/event", &params);
    let key = (event["kind"] == "progress")
        .then(|| crate::transport::outbox::event_progress_key(event["operationId"].as_str().unwrap_or("")));
    let project_id = event.get("projectId").and_then(Value::as_str).unwrap_or("");
    for s in &inner.subscribers {
        s.push_event(project_id, seq, body.clone(), key.clone());
    }
}

/// A handle on the owner's socket to write through (outside the state lock).
fn link_writer(inner: &Inner) -> std::io::Result<UnixStream> {
    match &inner.state {
        State::Connected { writer, .. } => writer.try_clone(),
        _ => Err(std::io::Error::new(std::io::ErrorKind::NotConnected, "not connected to the owner")),
    }
}

fn lost_error(detail: &str, operation_id: Option<&str>) -> RpcError {
    RpcError::new(
        code::REQUEST_FAILED,
        format!("ownerLost: {detail}; look the outcome up in packer/operations or packer/replayEvents"),
    )
    .with_data(json!({ "reason": "ownerLost", "operationId": operation_id }))
}

fn unreachable_error() -> RpcError {
    RpcError::failed("ownerUnreachable", "no process owns the project and it could not be taken over")
}

fn answer_lost(p: Pending, detail: &str) {
    let err = lost_error(detail, p.operation_id.as_deref());
    match p.waiter {
        Waiter::Client(reply) => reply.outbox.respond(Some(&reply.id), Err(err)),
        Waiter::Internal(tx) => {
            let _ = tx.send(Err(err));
        }
    }
    if let Some(done) = p.done {
        done();
    }
}

/// Connects to the owner's socket and opens the project there. With
/// `after`, also replays the events after that `seq` (to fill a gap).
fn handshake(root: &Path, project_id: &str, after: Option<u64>) -> std::io::Result<Link> {
    let mut stream = owner::socket::connect(root)?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut decoder = Decoder::new();
    let mut live = Vec::new();
    let send = |stream: &mut UnixStream, id: i64, method: &str, params: Value| {
        let mut frame = Vec::new();
        codec::encode(&message::request_body(&Id::Num(id), method, &params), &mut frame);
        stream.write_all(&frame)
    };
    let bad = |what: String| std::io::Error::new(std::io::ErrorKind::ConnectionRefused, what);
    send(&mut stream, 1, "initialize", json!({ "processId": std::process::id(), "capabilities": {} }))?;
    send(&mut stream, 2, "packer/openProject", json!({ "root": root }))?;
    let opened = await_response(&mut stream, &mut decoder, 2, &mut live)?;
    let owner_pid = opened
        .get("result")
        .and_then(|r| r["ownership"]["ownerPid"].as_u64())
        .ok_or_else(|| bad(format!("the owner refused to open the project: {opened}")))? as u32;
    let mut events = Vec::new();
    let mut cursor = after.unwrap_or(u64::MAX);
    let last_seq = loop {
        send(
            &mut stream,
            3,
            "packer/replayEvents",
            json!({ "projectId": project_id, "after": cursor, "limit": REPLAY_PAGE }),
        )?;
        let r = await_response(&mut stream, &mut decoder, 3, &mut live)?;
        let page = r["result"]["events"].as_array().cloned().unwrap_or_default();
        let last = r["result"]["lastSeq"].as_u64().ok_or_else(|| bad(format!("bad replay answer: {r}")))?;
        let full = page.len() as u64 == REPLAY_PAGE;
        if let Some(seq) = page.last().and_then(|e| e["seq"].as_u64()) {
            cursor = seq;
        }
        events.extend(page);
        if !full || after.is_none() {
            break after.unwrap_or(last);
        }
    };
    events.extend(live.into_iter().filter(|m| m["method"] == "packer/event").map(|m| m["params"].clone()));
    stream.set_read_timeout(None)?;
    Ok(Link { stream, decoder, owner_pid, events, last_seq })
}

fn await_response(
    stream: &mut UnixStream,
    decoder: &mut Decoder,
    id: i64,
    live: &mut Vec<Value>,
) -> std::io::Result<Value> {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        while let Some(frame) = decoder.next_frame() {
            let Frame::Body(body) = frame else { continue };
            let Ok(msg) = serde_json::from_slice::<Value>(&body) else { continue };
            if msg.get("method").is_some() {
                live.push(msg);
            } else if msg.get("id") == Some(&json!(id)) {
                return Ok(msg);
            }
        }
        let n = stream.read(&mut buf)?;
        if n == 0 {
            return Err(std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "the owner closed the connection"));
        }
        decoder.extend(&buf[..n]);
    }
}
