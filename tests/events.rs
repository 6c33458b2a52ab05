//! Causality: operation ids, `sequence`, `seq`, terminal events and the journal.

mod common;

use std::collections::BTreeMap;

use common::{op_events, register_all, Fixture, Server};
use serde_json::{json, Value};

const TERMINAL: [&str; 4] = ["succeeded", "failed", "cancelled", "rejected"];

fn check_stream(events: &[Value]) {
    // seq: one more each time, no gaps, no reordering.
    let seqs: Vec<u64> = events.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
    for w in seqs.windows(2) {
        assert_eq!(w[1], w[0] + 1, "seq gap or reorder in {seqs:?}");
    }
    let mut by_op: BTreeMap<String, Vec<&Value>> = BTreeMap::new();
    for e in events {
        if let Some(op) = e["operationId"].as_str() {
            by_op.entry(op.to_string()).or_default().push(e);
        }
    }
    for (op, evs) in by_op {
        let sequences: Vec<u64> = evs.iter().map(|e| e["sequence"].as_u64().unwrap()).collect();
        assert_eq!(sequences, (1..=evs.len() as u64).collect::<Vec<_>>(), "{op}");
        let terminals = evs.iter().filter(|e| TERMINAL.contains(&e["kind"].as_str().unwrap())).count();
        assert_eq!(terminals, 1, "{op} must have exactly one terminal event");
        assert!(TERMINAL.contains(&evs.last().unwrap()["kind"].as_str().unwrap()), "{op}: terminal must be last");
        assert_eq!(evs[0]["kind"], "queued");
    }
}

#[test]
fn every_operation_has_one_terminal_event_last_and_seq_has_no_gaps() {
    let f = Fixture::with_text_files(4);
    let mut s = Server::ready();
    let pid = s.open(&f.root());
    let ids = register_all(&mut s, &pid, &f);
    let a = &ids["assets/f000.txt"];
    let ok = s.apply(&pid, json!({"kind": "move", "assetId": a, "to": "assets/m.txt"}));
    let rejected = s.apply(&pid, json!({"kind": "move", "assetId": "nope", "to": "assets/n.txt"}));
    let noop = s.apply(&pid, json!({"kind": "setMetadata", "assetId": a}));
    let events = s.events();
    check_stream(&events);
    assert_eq!(events.iter().filter(|e| TERMINAL.contains(&e["kind"].as_str().unwrap())).count(), 4);

    let ok_events = op_events(&events, ok["operationId"].as_str().unwrap());
    let kinds: Vec<&str> = ok_events.iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["queued", "started", "snapshotPublished", "succeeded"]);
    assert_eq!(ok_events[2]["generation"], ok["generation"]);
    assert_eq!(ok_events[3]["outcome"], "applied");
    assert_eq!(ok_events[3]["result"], ok);

    let rej = op_events(&events, rejected["operationId"].as_str().unwrap());
    assert_eq!(rej.last().unwrap()["kind"], "rejected");
    assert_eq!(rej.last().unwrap()["result"]["blockers"][0]["code"], "unknownAsset");
    let no = op_events(&events, noop["operationId"].as_str().unwrap());
    assert_eq!(no.iter().map(|e| e["kind"].as_str().unwrap()).collect::<Vec<_>>(), ["queued", "started", "succeeded"]);
}

#[test]
fn the_terminal_event_reaches_the_client_before_the_response() {
    let f = Fixture::with_text_files(1);
    let mut s = Server::ready();
    let pid = s.open(&f.root());
    let id = s.send(
        "packer/applyMutation",
        json!({"projectId": pid, "mutation": {"kind": "register", "paths": ["assets/f000.txt"]}}),
    );
    let response = s.response(id);
    let op = response["result"]["operationId"].as_str().unwrap().to_string();
    let response_at = s.position_of_response(id).unwrap();
    let terminal_at = s.log.iter().position(|m| {
        m["method"] == "packer/event" && m["params"]["operationId"] == op.as_str() && m["params"]["kind"] == "succeeded"
    });
    assert!(terminal_at.unwrap() < response_at);
}

#[test]
fn work_done_progress_reports_begin_and_end_with_operation_ids() {
    let f = Fixture::with_text_files(1);
    let mut s = Server::ready();
    let pid = s.open(&f.root());
    let r = s.call(
        "packer/applyMutation",
        json!({"projectId": pid, "workDoneToken": "tok-1", "mutation": {"kind": "register", "paths": ["assets/f000.txt"]}}),
    );
    let progress: Vec<Value> =
        s.log.iter().filter(|m| m["method"] == "$/progress").map(|m| m["params"].clone()).collect();
    assert_eq!(progress.len(), 2, "{progress:?}");
    assert_eq!(progress[0]["token"], "tok-1");
    assert_eq!(progress[0]["value"]["kind"], "begin");
    assert_eq!(progress[1]["value"]["kind"], "end");
    for p in &progress {
        assert_eq!(p["value"]["operationId"], r["operationId"]);
    }
    assert!(progress[0]["value"]["sequence"].as_u64() < progress[1]["value"]["sequence"].as_u64());
}

#[test]
fn replay_after_a_restart_returns_the_earlier_events_and_seq_continues() {
    let f = Fixture::with_text_files(2);
    let mut s = Server::ready();
    let pid = s.open(&f.root());
    let ids = register_all(&mut s, &pid, &f);
    s.apply(&pid, json!({"kind": "move", "assetId": ids["assets/f000.txt"], "to": "assets/z.txt"}));
    let before = s.events();
    assert_eq!(s.shutdown(), 0);

    let mut s = Server::ready();
    let pid2 = s.open(&f.root());
    assert_eq!(pid2, pid);
    let replay = s.call("packer/replayEvents", json!({"projectId": pid}));
    assert_eq!(replay["events"].as_array().unwrap(), &before);
    assert_eq!(replay["lastSeq"], before.last().unwrap()["seq"]);
    let gen_before =
        before.iter().rev().find(|e| e["kind"] == "snapshotPublished").unwrap()["generation"].as_u64().unwrap();
    assert!(s.call("packer/summary", json!({"projectId": pid}))["generation"].as_u64().unwrap() > gen_before);
    let r = s.apply(&pid, json!({"kind": "setMetadata", "assetId": ids["assets/f001.txt"], "tags": ["x"]}));
    let after = s.events();
    assert_eq!(after[0]["seq"].as_u64().unwrap(), before.last().unwrap()["seq"].as_u64().unwrap() + 1);
    let page = s.call("packer/replayEvents", json!({"projectId": pid, "after": before.len(), "limit": 2}));
    assert_eq!(page["events"].as_array().unwrap().len(), 2);
    assert_eq!(page["events"][0]["operationId"], r["operationId"]);
    let all: Vec<Value> =
        s.call("packer/replayEvents", json!({"projectId": pid}))["events"].as_array().unwrap().clone();
    check_stream(&all);
}
