//! The registry is never torn: a server killed at any moment of a large batch
//! leaves a registry that parses and is either the old or the new state.
//! A kill proves where it landed: the test tells from what the killed server
//! left (the batch's files half moved, its intent record, its journal) and
//! fails unless some kill landed between the batch's first and last move.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::{register_all, Fixture, Server};
use serde_json::{json, Value};

type Paths = BTreeMap<String, String>;

/// A registered project, its server, the old and new states of a batch
/// that moves every asset, and the journal's last `seq` before the batch.
fn setup(n: usize) -> (Fixture, Server, String, Paths, Paths, Vec<Value>, u64) {
    let f = Fixture::with_text_files(n);
    let mut s = Server::ready();
    let pid = s.open(&f.root());
    let ids = register_all(&mut s, &pid, &f);
    let old: BTreeMap<String, String> = ids.iter().map(|(p, id)| (id.clone(), p.clone())).collect();
    let new: BTreeMap<String, String> =
        old.iter().map(|(id, p)| (id.clone(), p.replace("assets/", "assets/new/"))).collect();
    let moves = new.iter().map(|(id, to)| json!({"kind": "move", "assetId": id, "to": to})).collect();
    let journal = s.call("packer/replayEvents", json!({"projectId": pid}));
    let last_seq = journal["events"].as_array().unwrap().iter().map(|e| e["seq"].as_u64().unwrap()).max().unwrap();
    (f, s, pid, old, new, moves, last_seq)
}

/// Where a kill landed in the batch's life, told by its journal after the
/// reopen: never journaled, interrupted (its one terminal event is the
/// reopen's, `recovered`), or ended by the killed server itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Landed {
    /// Before the batch: it was never journaled.
    Before,
    /// Inside the batch: journaled, and ended by the reopen.
    Inside,
    /// After the batch: the killed server ended it.
    After,
}

/// What a kill left, looked at before and after the reopen.
#[derive(Debug)]
struct Kill {
    landed: Landed,
    /// The registry after the reopen: `old` or `new`.
    state: &'static str,
    /// Files under `assets/new/` when the server died (before the reopen).
    moved: usize,
    /// `.packer/intent.json` was there when the server died: the kill came
    /// between the intent's write and its clearing.
    intent: bool,
}

impl Kill {
    /// Killed with some of the batch's files moved and some not: the moment
    /// a registry could be torn.
    fn between_moves(&self, all: usize) -> bool {
        self.moved > 0 && self.moved < all
    }
}

fn check_after_kill(f: &Fixture, old: &Paths, new: &Paths, before_batch: u64) -> Kill {
    // What the killed server left, before a reopen settles it.
    let moved = f.tree().into_keys().filter(|p| p.starts_with("assets/new/")).count();
    let intent = f.path(".packer/intent.json").exists();
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
    // The batch is the one operation queued after the registration.
    let queued: Vec<&Value> =
        events.iter().filter(|e| e["seq"].as_u64().unwrap() > before_batch && e["kind"] == "queued").collect();
    assert!(queued.len() <= 1, "one operation was sent after the registration: {queued:?}");
    let landed = match queued.first() {
        None => {
            assert_eq!((state, moved, intent), ("old", 0, false), "a batch never journaled did something");
            Landed::Before
        }
        Some(q) => {
            let batch_op = &q["operationId"];
            let terminals: Vec<&Value> = events
                .iter()
                .filter(|e| {
                    &e["operationId"] == batch_op
                        && ["succeeded", "failed", "cancelled", "rejected"].contains(&e["kind"].as_str().unwrap())
                })
                .collect();
            assert_eq!(terminals.len(), 1, "exactly one terminal event for the interrupted batch");
            if terminals[0]["recovered"] == true {
                Landed::Inside
            } else {
                assert_eq!(state, "new", "the batch ended by itself: {}", terminals[0]);
                Landed::After
            }
        }
    };
    let leftovers: Vec<String> = std::fs::read_dir(f.root())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .filter(|n| n.starts_with(".packer-tmp-"))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left after reopen: {leftovers:?}");
    Kill { landed, state, moved, intent }
}

/// Sends the 300-move batch to a fresh project, kills the server `delay`
/// after, and checks what it left.
fn kill_a_batch_after(delay: Duration) -> Kill {
    let (f, mut s, pid, old, new, moves, before_batch) = setup(N);
    s.send("packer/applyMutation", json!({"projectId": pid, "mutation": {"kind": "batch", "mutations": moves}}));
    std::thread::sleep(delay);
    s.kill();
    check_after_kill(&f, &old, &new, before_batch)
}

const N: usize = 300;

#[test]
fn killing_the_server_during_a_large_batch_never_tears_the_registry() {
    let mut kills: Vec<(Duration, Kill)> = Vec::new();
    for delay_ms in [0u64, 2, 5, 10, 20, 40, 80, 160, 400] {
        let delay = Duration::from_millis(delay_ms);
        kills.push((delay, kill_a_batch_after(delay)));
    }
    // The fault must have happened where it matters: a kill with the
    // batch's files half moved. Where no timed kill landed there (a faster
    // or slower machine), kill again between the latest delay that left
    // nothing moved and the earliest that left everything moved.
    let mut extra = 0;
    while !kills.iter().any(|(_, k)| k.between_moves(N)) {
        extra += 1;
        assert!(extra <= 12, "no kill landed between the batch's first and last move: {kills:#?}");
        let lo = kills.iter().filter(|(_, k)| k.moved == 0).map(|(d, _)| *d).max().unwrap_or_default();
        let hi = kills.iter().filter(|(d, k)| k.moved == N && *d > lo).map(|(d, _)| *d).min();
        let delay = hi.map_or(lo * 2 + Duration::from_millis(1), |hi| (lo + hi) / 2);
        kills.push((delay, kill_a_batch_after(delay)));
    }
    let summary: Vec<String> = kills
        .iter()
        .map(|(d, k)| format!("{d:?}: {:?}, {} moved, intent {}, registry {}", k.landed, k.moved, k.intent, k.state))
        .collect();
    eprintln!("kills of a {N}-move batch:\n  {}", summary.join("\n  "));
    let inside = kills.iter().find(|(_, k)| k.between_moves(N)).unwrap();
    assert_eq!(inside.1.landed, Landed::Inside, "{:?}", inside.1);
    assert!(inside.1.intent, "a kill between moves left no intent record: {:?}", inside.1);
    assert_eq!(inside.1.state, "old", "a kill between moves is before the commit point: {:?}", inside.1);
}

#[cfg(feature = "test-hooks")]
#[test]
fn killing_the_server_between_file_moves_and_registry_write_keeps_the_old_registry() {
    let (f, mut s, pid, old, new, mut moves, before_batch) = setup(50);
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
    let kill = check_after_kill(&f, &old, &new, before_batch);
    // The kill landed where it was meant to: inside the batch, with some
    // of its moves done and the rest not, the intent record written, and
    // the registry not yet.
    assert_eq!(kill.landed, Landed::Inside, "{kill:?}");
    assert!(kill.between_moves(50), "{kill:?}");
    assert!(kill.intent, "{kill:?}");
    assert_eq!(kill.state, "old");
}
