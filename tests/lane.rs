//! The single-writer lane: slow work never slows reads, reads never see part
//! of a write, cancellation of queued and running operations.
//! These use the test-only `testSleep` mutation (cargo feature `test-hooks`).
#![cfg(feature = "test-hooks")]

mod common;

use common::{op_events, register_all, Fixture, Server};
use serde_json::{json, Value};

/// Sends an apply and returns its request id and, once it runs, its operation id.
fn start_apply(s: &mut Server, params: Value) -> (i64, String) {
    s.log.clear();
    let req = s.send("packer/applyMutation", params);
    let ev = s.wait_for("a started event", |m| m["method"] == "packer/event" && m["params"]["kind"] == "started");
    (req, ev["params"]["operationId"].as_str().unwrap().to_string())
}

#[test]
fn reads_are_answered_while_a_slow_operation_holds_the_lane_and_writes_queue_behind_it() {
    let f = Fixture::with_text_files(10);
    let mut s = Server::ready();
    let pid = s.open(&f.root());
    let ids = register_all(&mut s, &pid, &f);
    let id0 = ids["assets/f000.txt"].clone();
    let (slow, _) = start_apply(&mut s, json!({"projectId": pid, "mutation": {"kind": "testSleep", "ms": 3000}}));
    let queued: Vec<i64> = (0..100)
        .map(|i| {
            let to = format!("assets/q{i}.txt");
            s.send(
                "packer/applyMutation",
                json!({"projectId": pid, "mutation": {"kind": "move", "assetId": id0, "to": to}}),
            )
        })
        .collect();
    let mut reads = Vec::new();
    for _ in 0..20 {
        reads.push(s.send("packer/summary", json!({"projectId": pid})));
        reads.push(s.send("packer/getAsset", json!({"projectId": pid, "assetId": id0})));
        reads.push(s.send("packer/listAssets", json!({"projectId": pid})));
    }
    let summary = s.response(reads[0]);
    assert_eq!(summary["result"]["lane"]["running"], 1);
    assert_eq!(summary["result"]["lane"]["queued"], 100);
    for &r in &reads {
        s.response(r);
    }
    assert!(s.position_of_response(slow).is_none(), "every read was answered before the slow operation finished");
    let asset = s.response(reads[1]);
    assert_eq!(asset["result"]["asset"]["path"], "assets/f000.txt");
    // And then the queue drains in order: the last move wins.
    for &q in &queued {
        assert_eq!(s.response(q)["result"]["outcome"], "applied");
    }
    assert_eq!(f.registry_paths()[&id0], "assets/q99.txt");
}

#[test]
fn a_batch_that_moves_100_assets_is_never_seen_half_done() {
    let f = Fixture::with_text_files(100);
    let mut s = Server::ready();
    let pid = s.open(&f.root());
    let ids = register_all(&mut s, &pid, &f);
    let mut moves: Vec<Value> = ids
        .iter()
        .map(|(path, id)| json!({"kind": "move", "assetId": id, "to": path.replace("assets/", "assets/new/")}))
        .collect();
    // A pause in the middle of the file moves: half the files have moved on disk.
    moves.insert(50, json!({"kind": "testSleep", "ms": 800}));
    let batch =
        s.send("packer/applyMutation", json!({"projectId": pid, "mutation": {"kind": "batch", "mutations": moves}}));
    let mut seen_during = 0;
    let mut counts = Vec::new();
    loop {
        let done = s.position_of_response(batch).is_some();
        let r = s.call(
            "packer/listAssets",
            json!({"projectId": pid, "limit": 1000, "filter": {"pathPrefix": "assets/new/"}}),
        );
        let moved = r["items"].as_array().unwrap().len();
        let summary = s.call("packer/summary", json!({"projectId": pid}));
        counts.push(moved);
        assert!(moved == 0 || moved == 100, "a read saw {moved} of 100 moves");
        assert_eq!(summary["assets"]["total"], 100);
        if !done && s.events().iter().filter(|e| e["kind"] == "started").count() == 2 {
            seen_during += 1;
        }
        if done {
            break;
        }
    }
    assert_eq!(s.response(batch)["result"]["outcome"], "applied");
    assert!(seen_during > 5, "reads ran while the batch was in the lane ({seen_during})");
    assert_eq!(*counts.last().unwrap(), 100);
    assert!(counts.contains(&0));
}

#[test]
fn a_queued_operation_cancelled_ends_cancelled_without_running() {
    let f = Fixture::with_text_files(1);
    let mut s = Server::ready();
    let pid = s.open(&f.root());
    let ids = register_all(&mut s, &pid, &f);
    let (slow, _) = start_apply(&mut s, json!({"projectId": pid, "mutation": {"kind": "testSleep", "ms": 1500}}));
    let mv = json!({"kind": "move", "assetId": ids["assets/f000.txt"], "to": "assets/moved.txt"});
    let queued = s.send("packer/applyMutation", json!({"projectId": pid, "mutation": mv}));
    let ops = s.call("packer/operations", json!({"projectId": pid}));
    let queued_op =
        ops["items"].as_array().unwrap().iter().find(|o| o["state"] == "queued").unwrap()["operationId"].clone();
    assert_eq!(ops["items"][0]["state"], "running");
    let c = s.call("packer/cancel", json!({"operationId": queued_op}));
    assert_eq!(c["previousState"], "queued");
    assert_eq!(c["state"], "cancelled");
    // Cancelled by `packer/cancel`, not by its requester: the apply's result,
    // with nothing applied.
    let r = s.response(queued);
    assert_eq!(r["result"]["outcome"], "cancelled", "{r}");
    assert_eq!(r["result"]["operationId"], queued_op);
    assert_eq!(r["result"]["registryMutations"], json!([]));
    assert_eq!(r["result"]["filesystemMutations"], json!([]));
    assert!(s.position_of_response(slow).is_none(), "cancelled at once, not at its turn");
    assert_eq!(s.response(slow)["result"]["outcome"], "applied");
    let evs = op_events(&s.events(), queued_op.as_str().unwrap());
    let kinds: Vec<&str> = evs.iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["queued", "cancelled"]);
    assert!(f.path("assets/f000.txt").exists());
}

#[test]
fn a_build_cancelled_by_packer_cancel_answers_one_shape_queued_or_running() {
    let f = Fixture::with_text_files(3);
    let mut s = Server::ready_with_env(&[("STUDIO_PACKER_TEST_PROCESS_DELAY_MS", "400")]);
    let pid = s.open(&f.root());
    register_all(&mut s, &pid, &f);
    let running = s.send("packer/build", json!({"projectId": pid}));
    let queued = s.send("packer/build", json!({"projectId": pid, "clean": true}));
    // Once the first has started (the lane takes it up a moment later).
    let deadline = std::time::Instant::now() + common::TIMEOUT;
    let items = loop {
        let ops = s.call("packer/operations", json!({"projectId": pid}));
        let items = ops["items"].as_array().unwrap().clone();
        if items.iter().any(|o| o["state"] == "running") {
            break items;
        }
        assert!(std::time::Instant::now() < deadline, "the build never started");
        std::thread::sleep(std::time::Duration::from_millis(10));
    };
    let id_in = |state: &str| {
        items.iter().find(|o| o["state"] == state && o["kind"] == "build").unwrap()["operationId"].clone()
    };
    let (running_op, queued_op) = (id_in("running"), id_in("queued"));
    // Another client's cancel, as Studio's would be: the queued one first.
    assert_eq!(s.call("packer/cancel", json!({"operationId": queued_op}))["previousState"], "queued");
    assert_eq!(s.call("packer/cancel", json!({"operationId": running_op}))["previousState"], "running");
    let (q, r) = (s.response(queued), s.response(running));
    for (answer, op) in [(&q, &queued_op), (&r, &running_op)] {
        let result = &answer["result"];
        assert_eq!(result["outcome"], "cancelled", "{answer}");
        assert_eq!(result["operationId"], *op);
        assert_eq!(result["packs"], json!([]));
        let keys = |v: &Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
        assert_eq!(keys(result), keys(&r["result"]), "one shape");
        assert_eq!(keys(&result["stats"]), keys(&r["result"]["stats"]), "one shape");
        let evs = op_events(&s.events(), op.as_str().unwrap());
        assert_eq!(evs.last().unwrap()["kind"], "cancelled");
    }
    assert!(!f.path("build/desktop/main.pack").exists());
}

#[test]
fn cancel_request_stops_a_running_operation_and_rolls_back_its_steps() {
    let f = Fixture::with_text_files(4);
    let mut s = Server::ready();
    let pid = s.open(&f.root());
    let ids = register_all(&mut s, &pid, &f);
    let before = f.tree();
    let registry = f.registry_text();
    let mutation = json!({"kind": "batch", "mutations": [
        {"kind": "move", "assetId": ids["assets/f000.txt"], "to": "assets/a.txt"},
        {"kind": "move", "assetId": ids["assets/f001.txt"], "to": "assets/b.txt"},
        {"kind": "testSleep", "ms": 10000},
        {"kind": "move", "assetId": ids["assets/f002.txt"], "to": "assets/c.txt"},
    ]});
    let (req, op) = start_apply(&mut s, json!({"projectId": pid, "mutation": mutation, "workDoneToken": 7}));
    let deadline = std::time::Instant::now() + common::TIMEOUT;
    while !f.path("assets/b.txt").exists() {
        assert!(std::time::Instant::now() < deadline, "the first moves never happened");
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    s.notify("$/cancelRequest", json!({"id": req}));
    let r = s.response(req);
    assert_eq!(r["error"]["code"], -32800);
    assert_eq!(r["error"]["data"]["outcome"], "cancelled");
    assert_eq!(f.tree(), before, "the moves done before the cancel were undone");
    assert_eq!(f.registry_text(), registry);
    let evs = op_events(&s.events(), &op);
    assert_eq!(evs.last().unwrap()["kind"], "cancelled");
    let ends: Vec<&Value> =
        s.log.iter().filter(|m| m["method"] == "$/progress" && m["params"]["value"]["kind"] == "end").collect();
    assert_eq!(ends.len(), 1);
    let ops = s.call("packer/operations", json!({"projectId": pid}));
    let listed = ops["items"].as_array().unwrap().iter().find(|o| o["operationId"] == op.as_str()).unwrap().clone();
    assert_eq!(listed["state"], "cancelled");
}

#[test]
fn an_undo_that_cannot_put_a_deleted_file_back_fails_and_keeps_it_for_a_person() {
    let f = Fixture::with_text_files(2);
    let mut s = Server::ready();
    let pid = s.open(&f.root());
    let ids = register_all(&mut s, &pid, &f);
    let deleted = std::fs::read(f.path("assets/f000.txt")).unwrap();
    let mutation = json!({"kind": "batch", "mutations": [
        {"kind": "delete", "assetIds": [ids["assets/f000.txt"]]},
        {"kind": "testSleep", "ms": 10000},
    ]});
    let (req, op) = start_apply(&mut s, json!({"projectId": pid, "mutation": mutation}));
    let deadline = std::time::Instant::now() + common::TIMEOUT;
    while f.path("assets/f000.txt").exists() {
        assert!(std::time::Instant::now() < deadline, "the delete never happened");
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    // Someone saves a new file where the deleted one was, then the apply is cancelled.
    f.write("assets/f000.txt", b"someone's new file");
    s.notify("$/cancelRequest", json!({"id": req}));
    let r = s.response(req);
    let message = r["error"]["message"].as_str().unwrap_or_default().to_string();
    assert_eq!(r["error"]["data"]["reason"], "applyNotUndone", "{r}");
    assert!(message.contains("putting `assets/f000.txt` back"), "{message}");
    assert!(message.contains(&format!(".packer/recovered/{op}")), "{message}");
    assert_eq!(std::fs::read(f.path("assets/f000.txt")).unwrap(), b"someone's new file");
    assert_eq!(std::fs::read(f.path(&format!(".packer/recovered/{op}/0"))).unwrap(), deleted);
    // Nothing was committed, and a reopen empties no trash of it.
    assert_eq!(s.shutdown(), 0);
    let mut s = Server::ready();
    let _ = s.open(&f.root());
    assert_eq!(std::fs::read(f.path(&format!(".packer/recovered/{op}/0"))).unwrap(), deleted);
    assert_eq!(s.shutdown(), 0);
}

#[test]
fn closing_the_project_cancels_its_operations_and_the_client_sees_their_terminal_events() {
    let f = Fixture::with_text_files(1);
    let mut s = Server::ready();
    let pid = s.open(&f.root());
    let (slow, slow_op) =
        start_apply(&mut s, json!({"projectId": pid, "mutation": {"kind": "testSleep", "ms": 20000}}));
    let queued = s.send("packer/applyMutation", json!({"projectId": pid, "mutation": {"kind": "testSleep", "ms": 1}}));
    s.call("packer/closeProject", json!({"projectId": pid}));
    for req in [slow, queued] {
        // Running or queued, an operation its project's closing cancelled
        // answers its result, `cancelled`.
        let r = s.response(req);
        assert_eq!(r["result"]["outcome"], "cancelled", "{r}");
        let op = r["result"]["operationId"].as_str().unwrap().to_string();
        let terminal = s
            .log
            .iter()
            .position(|m| m["params"]["operationId"] == op.as_str() && m["params"]["kind"] == "cancelled")
            .expect("the terminal event reached the client that closed the project");
        assert!(terminal < s.position_of_response(req).unwrap());
    }
    assert_eq!(op_events(&s.events(), &slow_op).last().unwrap()["kind"], "cancelled");
    let e = s.request("packer/summary", json!({"projectId": pid})).unwrap_err();
    assert_eq!(e["code"], -32602);
}

#[test]
fn a_preview_never_sees_an_apply_between_its_file_steps() {
    let f = Fixture::with_text_files(3);
    let mut s = Server::ready();
    let pid = s.open(&f.root());
    let ids = common::register_all(&mut s, &pid, &f);
    let (a, b) = (ids["assets/f000.txt"].clone(), ids["assets/f001.txt"].clone());
    let batch = json!({"kind": "batch", "mutations": [
        {"kind": "move", "assetId": a, "to": "assets/new/f000.txt"},
        {"kind": "testSleep", "ms": 600},
        {"kind": "move", "assetId": b, "to": "assets/new/f001.txt"},
    ]});
    let apply = s.send("packer/applyMutation", json!({"projectId": pid, "mutation": batch}));
    // Wait until the first file has moved: the apply is between its steps.
    let deadline = std::time::Instant::now() + common::TIMEOUT;
    while !f.path("assets/new/f000.txt").exists() {
        assert!(std::time::Instant::now() < deadline);
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    let preview = s.send(
        "packer/previewMutation",
        json!({"projectId": pid, "mutation": {"kind": "move", "assetId": a, "to": "assets/x.txt"}}),
    );
    let p = s.response(preview)["result"].clone();
    // Answered after the apply, from its result: the asset is at its new
    // path, nothing is missing, no blocker (the half-done disk would have
    // shown the asset's file missing at the old path).
    assert!(s.position_of_response(apply).unwrap() < s.position_of_response(preview).unwrap());
    let applied = s.response(apply)["result"].clone();
    assert_eq!(p["baseGeneration"], applied["generation"], "{p}");
    assert_eq!(p["blockers"], json!([]), "{p}");
    assert_eq!(p["filesystemMutations"][0]["path"], "assets/new/f000.txt", "{p}");
}

#[test]
fn cancel_request_cancels_a_queued_cache_prune_like_any_lane_request() {
    let f = Fixture::with_text_files(1);
    let mut s = Server::ready();
    let pid = s.open(&f.root());
    let (slow, _) = start_apply(&mut s, json!({"projectId": pid, "mutation": {"kind": "testSleep", "ms": 1500}}));
    let prune = s.send("packer/pruneCache", json!({"projectId": pid, "maxSize": 0}));
    s.notify("$/cancelRequest", json!({"id": prune}));
    let r = s.response(prune);
    assert_eq!(r["error"]["code"], -32800, "{r}");
    assert_eq!(r["error"]["data"]["outcome"], "cancelled");
    assert!(s.position_of_response(slow).is_none(), "cancelled at once, not at its turn");
    assert_eq!(s.response(slow)["result"]["outcome"], "applied");
}
