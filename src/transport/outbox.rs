//! The one queue in front of a connection's writer.
//!
//! Everything a connection sends (responses, events, `$/progress`) goes
//! through one [`Outbox`], drained by one writer thread, so messages reach the
//! client in the order they were queued. When the client reads slowly and the
//! queue backs up, a progress message replaces the same operation's earlier
//! progress message still waiting in the queue (it is removed, and the new one
//! goes to the back, so nothing is reordered). Responses, terminal events and
//! state events are never dropped.

use std::collections::{HashMap, HashSet, VecDeque};
use std::io::Write;
use std::sync::{Condvar, Mutex};

use serde_json::Value;

use super::codec;
use super::message::{self, Id, RpcError};

/// The coalescing key of a `packer/event` progress event of an operation.
pub fn event_progress_key(operation_id: &str) -> String {
    format!("e:{operation_id}")
}

/// The coalescing key of one stream of `$/progress` reports (an operation's,
/// or those relayed under one work-done token).
pub fn work_done_progress_key(token: &str) -> String {
    format!("t:{token}")
}

/// Queued messages beyond which progress starts being coalesced.
pub const COALESCE_AFTER: usize = 256;
/// Queued bytes beyond which the reader stops taking new requests until the
/// client catches up (back-pressure instead of unbounded growth).
pub const HIGH_WATER_BYTES: usize = 32 * 1024 * 1024;
/// Queued bytes beyond which `packer/event`s are no longer queued for this
/// client: other clients' work cannot be held back by one that stopped
/// reading, so its events are dropped instead and it is told which
/// (`packer/eventsDropped`), to fetch them from the journal.
pub const EVENT_CAP_BYTES: usize = 2 * HIGH_WATER_BYTES;

struct Slot {
    /// `None` once a newer progress message of the same operation replaced it.
    frame: Option<Vec<u8>>,
}

#[derive(Default)]
struct Inner {
    queue: VecDeque<Slot>,
    /// Slot number of `queue[0]`; slot numbers only grow.
    head: u64,
    bytes: usize,
    closed: bool,
    /// Coalescing key -> slot number of the waiting progress message.
    waiting_progress: HashMap<String, u64>,
    coalesced: u64,
    /// Ids of requests taken and not yet answered: a second request with one
    /// of these ids is refused rather than answered twice under one id.
    in_flight: HashSet<Id>,
    /// Per project, the first and last `seq` of events dropped because the
    /// client was not reading; announced once the queue has drained.
    dropped: std::collections::BTreeMap<String, (u64, u64)>,
}

pub struct Outbox {
    inner: Mutex<Inner>,
    ready: Condvar,
    drained: Condvar,
    event_cap: usize,
}

impl Default for Outbox {
    fn default() -> Self {
        // Test builds may lower the cap, so that a test need not queue 64 MiB.
        #[cfg(feature = "test-hooks")]
        let event_cap = std::env::var("STUDIO_PACKER_TEST_EVENT_CAP_BYTES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(EVENT_CAP_BYTES);
        #[cfg(not(feature = "test-hooks"))]
        let event_cap = EVENT_CAP_BYTES;
        Outbox { inner: Mutex::default(), ready: Condvar::new(), drained: Condvar::new(), event_cap }
    }
}

impl Outbox {
    pub fn new() -> Self {
        Outbox::default()
    }

    /// Queues a message body; `coalesce_key` marks a progress message that a
    /// later one with the same key may replace while both are waiting.
    pub fn push(&self, body: Vec<u8>, coalesce_key: Option<String>) {
        self.push_answering(body, coalesce_key, None);
    }

    fn push_answering(&self, body: Vec<u8>, coalesce_key: Option<String>, answers: Option<&Id>) {
        let mut frame = Vec::with_capacity(body.len() + 32);
        codec::encode(&body, &mut frame);
        let mut inner = self.inner.lock().expect("outbox lock");
        if let Some(id) = answers {
            inner.in_flight.remove(id);
        }
        if inner.closed {
            return;
        }
        if let Some(key) = &coalesce_key {
            if inner.queue.len() >= COALESCE_AFTER {
                if let Some(&slot_no) = inner.waiting_progress.get(key) {
                    let idx = (slot_no - inner.head) as usize;
                    if let Some(old) = inner.queue[idx].frame.take() {
                        inner.bytes -= old.len();
                        inner.coalesced += 1;
                    }
                }
            }
            let slot_no = inner.head + inner.queue.len() as u64;
            inner.waiting_progress.insert(key.clone(), slot_no);
        }
        inner.bytes += frame.len();
        inner.queue.push_back(Slot { frame: Some(frame) });
        drop(inner);
        self.ready.notify_one();
    }

    /// Queues a `packer/event` of `project_id` numbered `seq`, unless this
    /// client has let more than the event cap pile up: then the event is
    /// dropped and remembered as a range, announced by
    /// `packer/eventsDropped` once the client has read what was queued.
    /// Progress events are only ever coalesced, as in [`Outbox::push`].
    pub fn push_event(&self, project_id: &str, seq: u64, body: Vec<u8>, coalesce_key: Option<String>) {
        {
            let mut inner = self.inner.lock().expect("outbox lock");
            if inner.bytes > self.event_cap || inner.dropped.contains_key(project_id) {
                // Once one event of a project is dropped, all later ones are
                // too until the notice is sent: the client then replays one
                // contiguous range.
                let range = inner.dropped.entry(project_id.to_string()).or_insert((seq, seq));
                range.1 = seq;
                return;
            }
        }
        self.push(body, coalesce_key);
    }

    /// Answers a request; its id may be used again afterwards.
    pub fn respond(&self, id: Option<&Id>, result: Result<Value, RpcError>) {
        self.push_answering(message::response_body(id, result.as_ref()), None, id);
    }

    /// Answers a message that was never taken as a request (it is not a
    /// valid request at all): an id it carries stays as it was, so a
    /// request in flight with that id is not forgotten.
    pub fn refuse(&self, id: Option<&Id>, err: RpcError) {
        self.push(message::response_body(id, Err(&err)), None);
    }

    /// Marks a request id as taken until [`Outbox::respond`] answers it.
    /// `false` when a request with this id is still unanswered; the caller
    /// then refuses the new one with [`Outbox::refuse_duplicate`].
    pub fn begin_request(&self, id: &Id) -> bool {
        self.inner.lock().expect("outbox lock").in_flight.insert(id.clone())
    }

    /// Refuses a request whose id is already in flight, leaving the first
    /// request's id taken (it still gets its own answer).
    pub fn refuse_duplicate(&self, id: &Id) {
        let err = RpcError::new(
            message::code::INVALID_REQUEST,
            format!("invalid request: id {id} is already in use by a request not yet answered"),
        )
        .with_data(serde_json::json!({"duplicateId": id}));
        self.push(message::response_body(Some(id), Err(&err)), None);
    }

    /// Takes every queued frame, blocking until there is one. `None` once the
    /// outbox is closed and empty.
    pub fn take_all(&self) -> Option<Vec<Vec<u8>>> {
        let mut inner = self.inner.lock().expect("outbox lock");
        while inner.queue.is_empty() && !inner.closed {
            inner = self.ready.wait(inner).expect("outbox lock");
        }
        if inner.queue.is_empty() {
            return None;
        }
        let n = inner.queue.len() as u64;
        inner.head += n;
        inner.bytes = 0;
        let mut frames: Vec<Vec<u8>> = inner.queue.drain(..).filter_map(|s| s.frame).collect();
        let head = inner.head;
        inner.waiting_progress.retain(|_, slot| *slot >= head);
        // The queue is empty now: say which events were dropped, after
        // everything queued before them.
        for (project_id, (from, to)) in std::mem::take(&mut inner.dropped) {
            let params = serde_json::json!({ "projectId": project_id, "fromSeq": from, "toSeq": to });
            let params = serde_json::to_vec(&params).expect("a notice serialises");
            let mut frame = Vec::new();
            codec::encode(&message::notification_body("packer/eventsDropped", &params), &mut frame);
            frames.push(frame);
        }
        drop(inner);
        self.drained.notify_all();
        Some(frames)
    }

    /// Blocks while more than [`HIGH_WATER_BYTES`] are queued.
    pub fn wait_for_room(&self) {
        let mut inner = self.inner.lock().expect("outbox lock");
        while inner.bytes > HIGH_WATER_BYTES && !inner.closed {
            inner = self.drained.wait(inner).expect("outbox lock");
        }
    }

    /// No more messages will be queued; the writer ends after the queue drains.
    pub fn close(&self) {
        self.inner.lock().expect("outbox lock").closed = true;
        self.ready.notify_all();
        self.drained.notify_all();
    }

    /// How many progress messages were dropped in favour of newer ones.
    pub fn coalesced(&self) -> u64 {
        self.inner.lock().expect("outbox lock").coalesced
    }

    /// Writes everything queued to `out` until the outbox is closed and empty,
    /// or the output fails (the client is gone). Runs on its own thread.
    pub fn drain_into(&self, mut out: impl Write) -> std::io::Result<()> {
        let mut buf = Vec::with_capacity(64 * 1024);
        while let Some(frames) = self.take_all() {
            buf.clear();
            for f in &frames {
                buf.extend_from_slice(f);
            }
            if let Err(e) = out.write_all(&buf).and_then(|_| out.flush()) {
                self.close();
                return Err(e);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bodies(o: &Outbox) -> Vec<String> {
        o.close();
        let mut out = Vec::new();
        o.drain_into(&mut out).unwrap();
        let mut d = codec::Decoder::new();
        d.extend(&out);
        let mut v = Vec::new();
        while let Some(codec::Frame::Body(b)) = d.next_frame() {
            v.push(String::from_utf8(b).unwrap());
        }
        v
    }

    #[test]
    fn keeps_order_without_backlog() {
        let o = Outbox::new();
        o.push(b"1".to_vec(), Some("k".into()));
        o.push(b"2".to_vec(), Some("k".into()));
        o.push(b"3".to_vec(), None);
        assert_eq!(bodies(&o), vec!["1", "2", "3"]);
    }

    #[test]
    fn events_past_the_cap_are_dropped_as_one_range_and_announced_after_the_queue() {
        let o = Outbox { event_cap: 100, ..Outbox::default() };
        o.push_event("p-1", 1, vec![b'a'; 120], None);
        o.push_event("p-1", 2, b"two".to_vec(), None);
        o.push_event("p-2", 7, b"other".to_vec(), None);
        o.respond(None, Ok(serde_json::json!(1)));
        o.push_event("p-1", 3, b"three".to_vec(), None);
        let got = bodies(&o);
        assert_eq!(got.len(), 4, "{got:?}");
        assert!(got[1].contains("\"result\":1"), "responses are never dropped");
        assert!(got[2].contains(r#""fromSeq":2,"projectId":"p-1","toSeq":3"#), "{}", got[2]);
        assert!(got[3].contains(r#""fromSeq":7,"projectId":"p-2","toSeq":7"#), "{}", got[3]);
    }

    #[test]
    fn coalesces_progress_when_backed_up_but_never_other_messages() {
        let o = Outbox::new();
        for i in 0..COALESCE_AFTER {
            o.push(format!("r{i}").into_bytes(), None);
        }
        o.push(b"p1".to_vec(), Some("op".into()));
        o.push(b"terminal".to_vec(), None);
        o.push(b"p2".to_vec(), Some("op".into()));
        o.push(b"p3".to_vec(), Some("op".into()));
        o.push(b"other".to_vec(), Some("op2".into()));
        let got = bodies(&o);
        assert_eq!(got.len(), COALESCE_AFTER + 3);
        assert_eq!(&got[COALESCE_AFTER..], ["terminal", "p3", "other"]);
        assert_eq!(o.coalesced(), 2);
    }
}
