//! `events`: the project's journal so far (`packer/replayEvents`, page by
//! page), or with `--follow` its live `packer/event` stream, one line per
//! event (or one JSON object per line with `--json`).

use std::path::Path;
use std::sync::{Arc, Mutex};

use anyhow::Result;
use serde_json::{json, Value};

use studio_packer::protocol::events::Event;
use studio_packer::protocol::model::Summary;

use super::exit;
use super::render;
use super::session::Session;

/// The most events one `packer/replayEvents` returns.
const PAGE: u64 = 10_000;

struct Printer {
    json: bool,
    /// The newest seq printed: an event already printed is not printed again.
    last: u64,
}

impl Printer {
    /// Prints an event as it came (`--json`) or as a line; one this CLI
    /// cannot read as the model's (a newer kind) as its fields.
    fn print(&mut self, e: &Value) -> Result<()> {
        let seq = e["seq"].as_u64().unwrap_or(0);
        if seq != 0 && seq <= self.last {
            return Ok(());
        }
        self.last = self.last.max(seq);
        if self.json {
            println!("{e}");
        } else {
            match serde_json::from_value::<Event>(e.clone()) {
                Ok(event) => println!("{}", render::event_line(&event)),
                // A journal line of another version: shown as it is.
                Err(_) => println!("{}", render::unknown_event_line(e)),
            }
        }
        Ok(())
    }
}

/// `events [--after SEQ] [--follow] [--json]`.
pub fn run(root: Option<&Path>, after: Option<u64>, follow: bool, as_json: bool) -> Result<u8> {
    let mut session = Session::open(root)?;
    let mut printer = Printer { json: as_json, last: 0 };
    let result = if follow {
        follow_events(&mut session, after, &mut printer)
    } else {
        replay(&mut session, after.unwrap_or(0), None, &mut printer)
    };
    session.close();
    result.map(|()| exit::OK)
}

/// Prints the journal's events after `after` (up to `until` when given), page by page.
fn replay(session: &mut Session, mut after: u64, until: Option<u64>, printer: &mut Printer) -> Result<()> {
    loop {
        let page = session.request("packer/replayEvents", json!({ "after": after, "limit": PAGE }))?;
        let events = page["events"].as_array().cloned().unwrap_or_default();
        let last_seq = page["lastSeq"].as_u64().unwrap_or(0);
        let Some(newest) = events.last().and_then(|e| e["seq"].as_u64()) else {
            return Ok(());
        };
        for e in &events {
            printer.print(e)?;
        }
        after = newest;
        if newest >= last_seq || until.is_some_and(|u| newest >= u) {
            return Ok(());
        }
    }
}

/// Follows the live events. The project is open (so this connection
/// receives its events) before the journal after `after` is read; events
/// that came meanwhile are printed after it, each once.
fn follow_events(session: &mut Session, after: Option<u64>, printer: &mut Printer) -> Result<()> {
    let early: Arc<Mutex<Vec<Value>>> = Arc::default();
    let kept = early.clone();
    session.client().on_notification = Box::new(move |n| kept.lock().expect("events lock").push(n.clone()));
    if let Some(after) = after {
        replay(session, after, None, printer)?;
    }
    let summary: Summary = session.call("packer/summary", json!({}))?;
    eprintln!("following the events of {} (generation {}); Ctrl-C stops", session.root.display(), summary.generation);
    let mut queue = std::collections::VecDeque::new();
    loop {
        // Events that came while a request was answered are kept in order.
        queue.extend(early.lock().expect("events lock").drain(..));
        let message = match queue.pop_front() {
            Some(m) => m,
            None => match session.client().next_notification() {
                Some(m) => m,
                None => return Ok(()),
            },
        };
        match message["method"].as_str() {
            Some("packer/event") => printer.print(&message["params"])?,
            // Events this connection could not take in time are in the journal.
            Some("packer/eventsDropped") => {
                let p = &message["params"];
                let from = p["fromSeq"].as_u64().unwrap_or(1);
                replay(session, from.saturating_sub(1), p["toSeq"].as_u64(), printer)?;
            }
            _ => {}
        }
    }
}
