//! The project's event bus and its journal.
//!
//! Every event of a project gets the next `seq` under one lock, is appended
//! to the journal (`.packer/events.jsonl`) and is queued to every subscribed
//! connection while that lock is held, so all clients see one order and the
//! journal records the same order. `seq` continues across restarts: on open
//! the journal's last event tells where to resume.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde_json::{Map, Value};

use crate::transport::{message, Outbox};

/// The fields of a JSON object built with `json!` (events and payloads are objects).
pub fn object(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

/// Test builds: every event the packer emits is read back as the protocol
/// model's [`crate::protocol::events::Event`] and must write back the same,
/// so an event whose shape drifts from the model stops the whole test run
/// with its text rather than passing unnoticed. (The bus's own unit tests
/// emit bare kinds and are left out.)
#[cfg(all(feature = "test-hooks", not(test)))]
fn fits_the_model(json: &[u8]) {
    // Read as the model (which tolerates fields it does not know, as a
    // client of another version must) and written again: the same JSON,
    // or a field is missing from the model or shaped otherwise.
    let sent: Value = serde_json::from_slice(json).expect("an event is JSON");
    let again = serde_json::from_value::<crate::protocol::events::Event>(sent.clone())
        .map_err(|e| e.to_string())
        .and_then(|event| serde_json::to_value(event).map_err(|e| e.to_string()));
    if again.as_ref() != Ok(&sent) {
        eprintln!("an event does not fit the protocol model ({again:?}): {sent}");
        std::process::abort();
    }
}

/// Events kept in memory while the journal cannot be written, at most.
const MAX_BACKLOG_BYTES: usize = 16 * 1024 * 1024;

/// Opening stores a checkpoint when it had to read more than this.
const CHECKPOINT_AFTER_BYTES: u64 = 64 * 1024;

/// Journals larger than this are compacted on open to their newest half.
pub const JOURNAL_COMPACT_BYTES: u64 = 16 * 1024 * 1024;

pub struct EventBus {
    project_id: String,
    journal_path: PathBuf,
    inner: Mutex<BusInner>,
    unfinished: Mutex<Vec<Unfinished>>,
}

/// An operation whose terminal event the journal does not have.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unfinished {
    pub operation_id: String,
    /// The method that started it (`applyMutation`, `build`).
    pub kind: String,
    pub last_sequence: u64,
}

const TERMINAL_KINDS: [&str; 4] = ["succeeded", "failed", "cancelled", "rejected"];

/// The fields of a journal line that opening needs; the rest is skipped
/// without being built (a reconcile's terminal event can be megabytes).
/// Fields other than `seq` are taken as they come: one of an unexpected
/// type is as if absent (as it was when lines were read as `Value`s), not a
/// reason to stop reading and cut the journal there.
#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct JournalLine<'a> {
    seq: u64,
    #[serde(borrow, default)]
    operation_id: Option<&'a serde_json::value::RawValue>,
    #[serde(borrow, default)]
    kind: Option<&'a serde_json::value::RawValue>,
    #[serde(borrow, default)]
    sequence: Option<&'a serde_json::value::RawValue>,
    #[serde(borrow, default)]
    operation: Option<&'a serde_json::value::RawValue>,
}

fn text<'a>(raw: Option<&'a serde_json::value::RawValue>) -> Option<std::borrow::Cow<'a, str>> {
    serde_json::from_str(raw?.get()).ok()
}

fn track_operation(open: &mut Vec<Unfinished>, event: &JournalLine<'_>) {
    let Some(op) = text(event.operation_id) else { return };
    let op = op.as_ref();
    let kind = text(event.kind).unwrap_or_default();
    let kind = kind.as_ref();
    let sequence = event.sequence.and_then(|raw| serde_json::from_str::<u64>(raw.get()).ok()).unwrap_or(0);
    if TERMINAL_KINDS.contains(&kind) {
        open.retain(|u| u.operation_id != op);
    } else if let Some(u) = open.iter_mut().find(|u| u.operation_id == op) {
        u.last_sequence = sequence;
    } else {
        let method = text(event.operation).map_or_else(|| "unknown".to_string(), |m| m.into_owned());
        open.push(Unfinished { operation_id: op.to_string(), kind: method, last_sequence: sequence });
    }
}

/// A checkpoint of the journal: "its first `len` bytes end with event
/// `last_seq` and leave no operation unfinished". The journal is only ever
/// appended to (compaction writes a new file), so a checkpoint stays true
/// until the file is replaced; it is checked against the file's inode and
/// the bytes just before `len`, and anything that does not match means a
/// full read, never a wrong answer. Kept in `events.checkpoint` beside it.
mod checkpoint {
    use std::fs::File;
    use std::io::{Read, Seek, SeekFrom};
    use std::os::unix::fs::MetadataExt;
    use std::path::{Path, PathBuf};

    /// How many bytes before the checkpoint's end are compared.
    const TAIL: u64 = 4096;

    #[derive(serde::Serialize, serde::Deserialize, PartialEq, Debug)]
    #[serde(rename_all = "camelCase")]
    struct Checkpoint {
        len: u64,
        last_seq: u64,
        ino: u64,
        tail_hash: String,
    }

    fn path(journal: &Path) -> PathBuf {
        journal.with_extension("checkpoint")
    }

    fn tail_hash(file: &File, len: u64) -> Option<String> {
        let from = len.saturating_sub(TAIL);
        let mut bytes = vec![0u8; (len - from) as usize];
        let mut f = file;
        f.seek(SeekFrom::Start(from)).ok()?;
        f.read_exact(&mut bytes).ok()?;
        (bytes.last() == Some(&b'\n')).then(|| blake3::hash(&bytes).to_hex().to_string())
    }

    /// Where reading may start, and the last `seq` before it, when the
    /// checkpoint still describes `file`.
    pub(super) fn load(journal: &Path, file: &File) -> Option<(u64, u64)> {
        let c: Checkpoint = serde_json::from_slice(&std::fs::read(path(journal)).ok()?).ok()?;
        let meta = file.metadata().ok()?;
        let valid = c.len > 0 && meta.ino() == c.ino && meta.len() >= c.len && tail_hash(file, c.len)? == c.tail_hash;
        valid.then_some((c.len, c.last_seq))
    }

    /// Records a checkpoint at `len` (a line boundary, `last_seq` the event
    /// ending there). Best effort: without one, opening reads the whole journal.
    pub(super) fn store(journal: &Path, file: &File, len: u64, last_seq: u64) {
        let Ok(meta) = file.metadata() else { return };
        let Some(tail_hash) = (len > 0).then(|| tail_hash(file, len)).flatten() else { return };
        let c = Checkpoint { len, last_seq, ino: meta.ino(), tail_hash };
        let bytes = serde_json::to_vec(&c).expect("a checkpoint serialises");
        if let Err(e) = crate::fsutil::replace_unsynced(&path(journal), &bytes) {
            tracing::debug!(error = %e, "cannot store the journal checkpoint; the next open reads the whole journal");
        }
    }
}

struct BusInner {
    next_seq: u64,
    journal: Option<File>,
    /// Length of the journal's whole lines: a failed append is cut back to it.
    journal_len: u64,
    /// Lines not yet journaled because appending failed (disk full,
    /// read-only): written first, in order, once appending works again, so
    /// the journal keeps every event in `seq` order. Bounded: past
    /// [`MAX_BACKLOG_BYTES`] the oldest are dropped (and counted).
    backlog: std::collections::VecDeque<Vec<u8>>,
    backlog_bytes: usize,
    dropped: u64,
    sinks: Vec<Arc<Outbox>>,
}

impl EventBus {
    /// Opens (or creates) the journal and finds the next `seq`. A last line
    /// torn by a crash is cut off, so the journal always ends on a whole event.
    pub fn open(project_id: &str, journal_path: &Path) -> io::Result<EventBus> {
        if let Some(dir) = journal_path.parent() {
            crate::project::disk::state::create_dir_all(dir)?;
        }
        // Never through a link (the state folder was checked; this keeps a
        // link planted since then from being truncated and appended to).
        let mut file =
            crate::project::disk::state::open_options().read(true).create(true).append(true).open(journal_path)?;
        // Only what follows the last checkpoint is read: a large journal
        // would otherwise be parsed whole on every open.
        let (start, mut last_seq) = checkpoint::load(journal_path, &file).unwrap_or((0, 0));
        let mut good_len = start;
        let mut open_ops: Vec<Unfinished> = Vec::new();
        {
            let mut reader = BufReader::new(&mut file);
            reader.seek(SeekFrom::Start(start))?;
            let mut line = String::new();
            let mut offset = start;
            loop {
                line.clear();
                let n = reader.read_line(&mut line)?;
                if n == 0 {
                    break;
                }
                offset += n as u64;
                if !line.ends_with('\n') {
                    break;
                }
                let Ok(event) = serde_json::from_str::<JournalLine<'_>>(&line) else { break };
                last_seq = event.seq;
                good_len = offset;
                track_operation(&mut open_ops, &event);
            }
        }
        if file.metadata()?.len() != good_len {
            tracing::warn!(journal = %journal_path.display(), kept = good_len, "cutting a torn tail off the event journal");
            file.set_len(good_len)?;
        }
        if good_len > JOURNAL_COMPACT_BYTES {
            compact(journal_path)?;
            file = crate::project::disk::state::open_options().read(true).append(true).open(journal_path)?;
        }
        let journal_len = file.metadata()?.len();
        // Checkpointed here when the read was long and left nothing
        // unfinished; otherwise when the project closes cleanly.
        if open_ops.is_empty() && journal_len == good_len && good_len - start > CHECKPOINT_AFTER_BYTES {
            checkpoint::store(journal_path, &file, good_len, last_seq);
        }
        Ok(EventBus {
            project_id: project_id.to_string(),
            journal_path: journal_path.to_path_buf(),
            inner: Mutex::new(BusInner {
                next_seq: last_seq + 1,
                journal: Some(file),
                journal_len,
                backlog: Default::default(),
                backlog_bytes: 0,
                dropped: 0,
                sinks: Vec::new(),
            }),
            unfinished: Mutex::new(open_ops),
        })
    }

    /// Records that every event journaled so far belongs to a finished
    /// operation, so that the next open reads only what follows. The caller
    /// knows no operation is unfinished (after recovery on open, or when the
    /// project closes with none active).
    pub fn checkpoint(&self) {
        let inner = self.inner.lock().expect("event bus lock");
        if let (Some(file), true) = (inner.journal.as_ref(), inner.backlog.is_empty()) {
            checkpoint::store(&self.journal_path, file, inner.journal_len, inner.next_seq - 1);
        }
    }

    /// Operations the journal shows started and never ended: the process
    /// that ran them died. Taken once, by the recovery on open.
    pub fn take_unfinished(&self) -> Vec<Unfinished> {
        std::mem::take(&mut *self.unfinished.lock().expect("unfinished lock"))
    }

    /// Emits an event: `fields` must hold `kind` and whatever the kind
    /// carries. Returns its `seq`. `coalesce_key` marks a progress event.
    pub fn emit(&self, mut fields: Map<String, Value>, coalesce_key: Option<&str>) -> u64 {
        let mut inner = self.inner.lock().expect("event bus lock");
        let seq = inner.next_seq;
        inner.next_seq += 1;
        fields.insert("projectId".into(), Value::String(self.project_id.clone()));
        fields.insert("seq".into(), Value::from(seq));
        let json = serde_json::to_vec(&fields).expect("an event serialises");
        #[cfg(all(feature = "test-hooks", not(test)))]
        fits_the_model(&json);
        let inner = &mut *inner;
        if let Some(file) = inner.journal.as_mut() {
            // One write per line, on an append-only file: a kill leaves at most
            // one torn last line, which `open` cuts off.
            let mut line = Vec::with_capacity(json.len() + 1);
            line.extend_from_slice(&json);
            line.push(b'\n');
            inner.backlog_bytes += line.len();
            inner.backlog.push_back(line);
            let was_failing = inner.backlog.len() > 1;
            while let Some(front) = inner.backlog.front() {
                if let Err(e) = file.write_all(front) {
                    // A partial line (disk full) would tear the journal in
                    // the middle: cut it back, and try again next time.
                    let _ = file.set_len(inner.journal_len);
                    if !was_failing {
                        tracing::error!(error = %e, "cannot append to the event journal; events are kept in memory until it can be written");
                    }
                    break;
                }
                inner.journal_len += front.len() as u64;
                inner.backlog_bytes -= front.len();
                inner.backlog.pop_front();
            }
            if was_failing && inner.backlog.is_empty() {
                tracing::warn!(lost = inner.dropped, "the event journal is written again");
            }
            while inner.backlog_bytes > MAX_BACKLOG_BYTES {
                let old = inner.backlog.pop_front().expect("bytes imply lines");
                inner.backlog_bytes -= old.len();
                if inner.dropped == 0 {
                    tracing::error!(
                        "the event journal has been unwritable for too long; its oldest unwritten events are lost"
                    );
                }
                inner.dropped += 1;
            }
        }
        if !inner.sinks.is_empty() {
            let body = message::notification_body("packer/event", &json);
            let key = coalesce_key.map(crate::transport::outbox::event_progress_key);
            for sink in &inner.sinks {
                sink.push_event(&self.project_id, seq, body.clone(), key.clone());
            }
        }
        seq
    }

    /// Sends `sink` the journaled events after `after`, then subscribes it,
    /// all under the bus lock: no event can fall between the two.
    pub fn subscribe_after(&self, sink: Arc<Outbox>, after: u64) -> io::Result<()> {
        let mut inner = self.inner.lock().expect("event bus lock");
        let file = File::open(&self.journal_path)?;
        for line in BufReader::new(file).lines() {
            let line = line?;
            let Ok(v) = serde_json::from_str::<Value>(&line) else { continue };
            if v.get("seq").and_then(Value::as_u64).is_some_and(|seq| seq > after) {
                sink.push(message::notification_body("packer/event", line.as_bytes()), None);
            }
        }
        if !inner.sinks.iter().any(|s| Arc::ptr_eq(s, &sink)) {
            inner.sinks.push(sink);
        }
        Ok(())
    }

    pub fn subscribe(&self, sink: Arc<Outbox>) {
        let mut inner = self.inner.lock().expect("event bus lock");
        if !inner.sinks.iter().any(|s| Arc::ptr_eq(s, &sink)) {
            inner.sinks.push(sink);
        }
    }

    /// How many sinks other than `sink` are subscribed.
    pub fn others_than(&self, sink: &Arc<Outbox>) -> usize {
        self.inner.lock().expect("event bus lock").sinks.iter().filter(|s| !Arc::ptr_eq(s, sink)).count()
    }

    /// Removes a sink; returns how many remain.
    pub fn unsubscribe(&self, sink: &Arc<Outbox>) -> usize {
        let mut inner = self.inner.lock().expect("event bus lock");
        inner.sinks.retain(|s| !Arc::ptr_eq(s, sink));
        inner.sinks.len()
    }

    /// The newest `seq` emitted so far (0 when none).
    pub fn last_seq(&self) -> u64 {
        self.inner.lock().expect("event bus lock").next_seq - 1
    }

    /// Events with `seq > after` from the journal, oldest first, at most
    /// `limit`, and the newest `seq` at the time of the call.
    pub fn replay(&self, after: u64, limit: usize) -> io::Result<(Vec<Value>, u64)> {
        let last = self.last_seq();
        let file = File::open(&self.journal_path)?;
        let mut events = Vec::new();
        for line in BufReader::new(file).lines() {
            let line = line?;
            // A line being appended right now may be incomplete: skip it, it
            // is newer than `last` anyway.
            let Ok(v) = serde_json::from_str::<Value>(&line) else {
                continue;
            };
            let Some(seq) = v.get("seq").and_then(Value::as_u64) else {
                continue;
            };
            if seq <= after {
                continue;
            }
            if seq > last || events.len() >= limit {
                break;
            }
            events.push(v);
        }
        Ok((events, last))
    }
}

/// Rewrites the journal keeping its newest half, atomically.
fn compact(path: &Path) -> io::Result<()> {
    let text = std::fs::read(path)?;
    let cut = text.len() / 2;
    let start = text[cut..].iter().position(|&b| b == b'\n').map_or(text.len(), |i| cut + i + 1);
    crate::fsutil::write_atomic(path, &text[start..])
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn kind(k: &str) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("kind".into(), json!(k));
        m
    }

    #[test]
    fn seq_continues_across_reopen_and_torn_tail_is_cut() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("events.jsonl");
        let bus = EventBus::open("p", &path).unwrap();
        assert_eq!(bus.emit(kind("a"), None), 1);
        assert_eq!(bus.emit(kind("b"), None), 2);
        drop(bus);
        let mut f = std::fs::OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(b"{\"seq\":3,\"kin").unwrap();
        drop(f);
        let bus = EventBus::open("p", &path).unwrap();
        assert_eq!(bus.emit(kind("c"), None), 3);
        let (events, last) = bus.replay(1, 10).unwrap();
        assert_eq!(last, 3);
        assert_eq!(events.iter().map(|e| e["kind"].as_str().unwrap()).collect::<Vec<_>>(), ["b", "c"]);
        let (events, _) = bus.replay(0, 1).unwrap();
        assert_eq!(events.len(), 1);
    }

    fn op_event(op: &str, k: &str) -> Map<String, Value> {
        let mut m = kind(k);
        m.insert("operationId".into(), json!(op));
        m.insert("operation".into(), json!("build"));
        m
    }

    #[test]
    fn opening_after_a_checkpoint_reads_on_from_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("events.jsonl");
        let bus = EventBus::open("p", &path).unwrap();
        // More than the tail the checkpoint compares, so that the damage
        // below is outside it.
        for _ in 0..100 {
            bus.emit(kind("padding-padding-padding"), None);
        }
        bus.emit(op_event("op-1", "started"), None);
        bus.emit(op_event("op-1", "succeeded"), None);
        bus.checkpoint();
        // After the checkpoint: an operation that never ends.
        bus.emit(op_event("op-2", "started"), None);
        drop(bus);
        // Damage a line before the checkpoint (keeping the length): were it
        // read, it would end the read there and lose `op-2`.
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::write(&path, text.replacen("\"seq\":1}", "\"seq\":x}", 1)).unwrap();
        let bus = EventBus::open("p", &path).unwrap();
        assert_eq!(bus.last_seq(), 103);
        let unfinished: Vec<String> = bus.take_unfinished().into_iter().map(|u| u.operation_id).collect();
        assert_eq!(unfinished, ["op-2"]);
    }

    #[test]
    fn a_checkpoint_that_does_not_match_the_journal_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("events.jsonl");
        let bus = EventBus::open("p", &path).unwrap();
        bus.emit(op_event("op-1", "started"), None);
        bus.emit(kind("a"), None);
        bus.checkpoint();
        drop(bus);
        // The journal replaced by another (a new inode, other bytes): the
        // checkpoint no longer describes it.
        let other = "{\"seq\":1,\"kind\":\"x\"}\n{\"seq\":2,\"kind\":\"y\",\"operationId\":\"op-9\"}\n";
        crate::fsutil::write_atomic(&path, other.as_bytes()).unwrap();
        let bus = EventBus::open("p", &path).unwrap();
        assert_eq!(bus.last_seq(), 2);
        let unfinished: Vec<String> = bus.take_unfinished().into_iter().map(|u| u.operation_id).collect();
        assert_eq!(unfinished, ["op-9"]);
    }
}
