//! The registry is never torn: a server killed at any moment of a large batch
//! leaves a registry that parses and is either the old or the new state.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::{register_all, Fixture, Server};
use serde_json::{json, Value};

type Paths = BTreeMap<String, String>;

/// A registered project, its server, and the old and new states of a batch
/// that moves every asset.
fn setup(n: usize) -> (Fixture, Server, String, Paths, Paths, Vec<Value>) {
    let f = Fixture::with_text_files(n);
    let mut s = Server::ready();
    let pid = s.open(&f.root());
    let ids = register_all(&mut s, &pid, &f);
    let old: BTreeMap<String, String> = ids.iter().map(|(p, id)| (id.clone(), p.clone())).collect();
    let new: BTreeMap<String, String> =
        old.iter().map(|(id, p)| (id.clone(), p.replace("assets/", "assets/new/"))).collect();
    let moves = new.iter().map(|(id, to)| json!({"kind": "move", "assetId": id, "to": to})).collect();
    (f, s, pid, old, new, moves)
}

fn check_after_kill(f: &Fixture, old: &BTreeMap<String, String>, new: &BTreeMap<String, String>) -> &'static str {
    let now = f.registry_paths();
    let state = if &now == old {
        "old"
    } else if &now == new {
        "new"
    } else {
        panic!("the registry is neither the old nor the new state")
    };
    // A restarted server opens it, cleans up the interrupted write, and serves.
    let mut s = Server::ready();
    let pid = s.open(&f.root());
    let summary = s.call("packer/summary", json!({"projectId": pid}));
    assert_eq!(summary["assets"]["total"], old.len());
    // The interrupted apply was settled: files and registry agree again,
    // every file exists exactly once, and the operation has its one
    // terminal event, saying what happened.
    let d = s.call("packer/divergence", json!({"projectId": pid}));
    assert_eq!(d["state"], "clean", "after a kill in state {state}: {d}");
    let expected_files: std::collections::BTreeSet<String> =
        (if state == "old" { old } else { new }).values().cloned().collect();
    let files: std::collections::BTreeSet<String> = f.tree().into_keys().filter(|p| p.starts_with("assets/")).collect();
    assert_eq!(files, expected_files);
    let journal = s.call("packer/replayEvents", json!({"projectId": pid}));
    let events = journal["events"].as_array().unwrap();
    let batch_op = events.iter().rev().find(|e| e["kind"] == "queued").unwrap()["operationId"].clone();
    let terminals: Vec<&Value> = events
        .iter()
        .filter(|e| {
            e["operationId"] == batch_op
                && ["succeeded", "failed", "cancelled", "rejected"].contains(&e["kind"].as_str().unwrap())
        })
        .collect();
    assert_eq!(terminals.len(), 1, "exactly one terminal event for the interrupted batch");
    let leftovers: Vec<String> = std::fs::read_dir(f.root())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .filter(|n| n.starts_with(".packer-tmp-"))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left after reopen: {leftovers:?}");
    state
}

#[test]
fn killing_the_server_during_a_large_batch_never_tears_the_registry() {
    let mut states = Vec::new();
    for delay_ms in [0u64, 2, 5, 10, 20, 40, 80, 160, 400] {
        let (f, mut s, pid, old, new, moves) = setup(300);
        s.send("packer/applyMutation", json!({"projectId": pid, "mutation": {"kind": "batch", "mutations": moves}}));
        std::thread::sleep(Duration::from_millis(delay_ms));
        s.kill();
        states.push(check_after_kill(&f, &old, &new));
    }
    eprintln!("states after kills: {states:?}");
}

#[cfg(feature = "test-hooks")]
#[test]
fn killing_the_server_between_file_moves_and_registry_write_keeps_the_old_registry() {
    let (f, mut s, pid, old, new, mut moves) = setup(50);
    moves.insert(25, json!({"kind": "testSleep", "ms": 5000}));
    s.log.clear();
    s.send("packer/applyMutation", json!({"projectId": pid, "mutation": {"kind": "batch", "mutations": moves}}));
    s.wait_for("the batch to start", |m| m["params"]["kind"] == "started");
    let deadline = std::time::Instant::now() + common::TIMEOUT;
    while !f.path("assets/new").exists() {
        assert!(std::time::Instant::now() < deadline);
        std::thread::sleep(Duration::from_millis(5));
    }
    std::thread::sleep(Duration::from_millis(100));
    s.kill();
    assert_eq!(check_after_kill(&f, &old, &new), "old");
}
