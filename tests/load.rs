//! Load: thousands of pipelined requests over several projects while a build
//! runs, and a client that stops reading for a while. Every request is
//! answered once, writes land in arrival order, memory stays bounded, and a
//! client that resumes reading gets every terminal and state event in `seq`
//! order. RELIABILITY.md points here. (No timings: only outcomes.)
#![cfg(feature = "test-hooks")]

mod common;

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::time::{Duration, Instant};

use common::{frame_request, memory_kib, Fixture, Server};
use serde_json::{json, Value};

/// A small deterministic generator (no dependency, same sequence every run).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        self.0 >> 33
    }
}

/// Waits until `count(log)` reaches `n`, reading everything that arrives.
fn read_until(s: &mut Server, what: &str, n: usize, count: impl Fn(&[Value]) -> usize) {
    let deadline = Instant::now() + Duration::from_secs(120);
    while count(&s.log) < n {
        assert!(Instant::now() < deadline, "timed out waiting for {what}: {} of {n}", count(&s.log));
        s.drain_for(Duration::from_millis(50));
    }
}

#[test]
fn ten_thousand_pipelined_mixed_requests_during_a_build_are_each_answered_once_and_writes_land_in_order() {
    const N: i64 = 10_000;
    const FIRST: i64 = 100_000;
    let fixtures: Vec<Fixture> = (0..3).map(|_| Fixture::with_text_files(20)).collect();
    let mut s = Server::start_with_env(&[("STUDIO_PACKER_TEST_PROCESS_DELAY_MS", "20")]);
    s.call("initialize", json!({"capabilities": {}}));
    let mut pids = Vec::new();
    let mut ids: Vec<Vec<String>> = Vec::new();
    for f in &fixtures {
        let pid = s.open(&f.root());
        ids.push(common::register_all(&mut s, &pid, f).into_values().collect());
        pids.push(pid);
    }
    // A build that takes a while holds project 0's lane. (The registrations
    // started too: only what follows the mark is the build's.)
    let from = s.mark();
    let build = s.send("packer/build", json!({"projectId": pids[0]}));
    s.wait_for_after(from, "the build to start", |m| m["params"]["kind"] == "started");

    let mut rng = Lcg(7);
    let mut blob = Vec::new();
    let mut last_tag: BTreeMap<(usize, String), String> = BTreeMap::new();
    let mut writes: Vec<Vec<i64>> = vec![Vec::new(); 3];
    for i in 0..N {
        let id = FIRST + i;
        let p = (rng.next() % 3) as usize;
        let asset = ids[p][(rng.next() % 20) as usize].clone();
        let pid = &pids[p];
        let (method, params) = match rng.next() % 10 {
            0..=2 => {
                let tag = format!("w{i}");
                last_tag.insert((p, asset.clone()), tag.clone());
                writes[p].push(id);
                let m = json!({"kind": "setMetadata", "assetId": asset, "tags": [tag]});
                ("packer/applyMutation", json!({"projectId": pid, "mutation": m}))
            }
            3..=5 => ("packer/summary", json!({"projectId": pid})),
            6 | 7 => ("packer/getAsset", json!({"projectId": pid, "assetId": asset})),
            8 => ("packer/listAssets", json!({"projectId": pid, "limit": 5})),
            _ => ("packer/diagnostics", json!({"projectId": pid})),
        };
        blob.extend(frame_request(id, method, params));
    }
    let mut stdin = s.take_stdin();
    let writer = std::thread::spawn(move || {
        stdin.write_all(&blob).unwrap();
        stdin
    });
    let is_ours =
        |m: &Value| m.get("method").is_none() && m["id"].as_i64().is_some_and(|id| (FIRST..FIRST + N).contains(&id));
    read_until(&mut s, "10,000 answers", N as usize, |log| log.iter().filter(|m| is_ours(m)).count());
    s.give_stdin(writer.join().unwrap());
    read_until(&mut s, "the build's answer", 1, |log| log.iter().filter(|m| m["id"] == build).count());

    // Every request answered exactly once, none with an error.
    let mut answers: HashMap<i64, usize> = HashMap::new();
    for m in s.log.iter().filter(|m| is_ours(m)) {
        *answers.entry(m["id"].as_i64().unwrap()).or_default() += 1;
        assert!(m.get("error").is_none(), "{m}");
    }
    assert_eq!(answers.len(), N as usize);
    assert!(answers.values().all(|&n| n == 1));

    // Writes ran in arrival order, per project: their `started` events are
    // in the order the requests were sent.
    let op_of: HashMap<i64, String> = s
        .log
        .iter()
        .filter(|m| is_ours(m) && m["result"]["operationId"].is_string())
        .map(|m| (m["id"].as_i64().unwrap(), m["result"]["operationId"].as_str().unwrap().to_string()))
        .collect();
    let started_seq: HashMap<String, u64> = s
        .events()
        .iter()
        .filter(|e| e["kind"] == "started")
        .map(|e| (e["operationId"].as_str().unwrap().to_string(), e["seq"].as_u64().unwrap()))
        .collect();
    for (p, ws) in writes.iter().enumerate() {
        let seqs: Vec<u64> = ws.iter().map(|id| started_seq[&op_of[id]]).collect();
        assert!(seqs.windows(2).all(|w| w[0] < w[1]), "project {p}: writes did not run in arrival order");
    }
    // The final state is that of applying the writes one after the other.
    for (p, pid) in pids.iter().enumerate() {
        let list = s.call("packer/listAssets", json!({"projectId": pid}));
        for a in list["items"].as_array().unwrap() {
            let id = a["id"].as_str().unwrap().to_string();
            let expected = last_tag.get(&(p, id.clone())).map_or(json!([]), |t| json!([t]));
            assert_eq!(a["tags"], expected, "project {p}, asset {id}");
        }
    }
    let build_answer = s.log.iter().find(|m| m["id"] == build).unwrap();
    assert_eq!(build_answer["result"]["outcome"], "succeeded", "{build_answer}");
    let (_, peak) = memory_kib(s.child.id());
    eprintln!(
        "load: {N} pipelined requests ({} writes) over 3 projects during a build: each answered once; peak memory {} MiB",
        writes.iter().map(Vec::len).sum::<usize>(),
        peak / 1024
    );
    assert!(peak < 256 * 1024, "peak memory {peak} KiB");
    assert_eq!(s.shutdown(), 0);
}

#[test]
fn a_client_that_stops_reading_during_a_long_build_gets_every_terminal_and_state_event_in_order() {
    let f = Fixture::with_text_files(60);
    // Register first with a normal client, so the paused one only builds.
    {
        let mut s = Server::ready();
        let pid = s.open(&f.root());
        common::register_all(&mut s, &pid, &f);
        assert_eq!(s.shutdown(), 0);
    }
    let (mut s, gate) = Server::start_paused(&[("STUDIO_PACKER_TEST_PROCESS_DELAY_MS", "30")]);
    let mut stdin = s.take_stdin();
    let root = f.root();
    let asset_ids: Vec<String> = f.registry_paths().keys().cloned().collect();
    // The id the server gives the project (derived from its root).
    // (Ids far above the test client's own, which start at 1.)
    let pid = studio_packer::ids::project_id(&root);
    let mut blob = frame_request(1_000_001, "initialize", json!({"capabilities": {}}));
    blob.extend(frame_request(1_000_002, "packer/openProject", json!({"root": root})));
    blob.extend(frame_request(1_000_003, "packer/build", json!({"projectId": pid, "workDoneToken": "b"})));
    for (i, id) in asset_ids.iter().cycle().take(200).enumerate() {
        let m = json!({"kind": "setMetadata", "assetId": id, "tags": [format!("t{i}")]});
        blob.extend(frame_request(
            1_000_010 + i as i64,
            "packer/applyMutation",
            json!({"projectId": pid, "mutation": m}),
        ));
    }
    for i in 0..20_000 {
        blob.extend(frame_request(2_000_000 + i, "packer/listAssets", json!({"projectId": pid, "limit": 20})));
    }
    // Everything is written without reading a byte: a build, 200 writes, and
    // 20,000 reads whose answers alone are far more than the outbox's limit.
    let writer = std::thread::spawn(move || {
        stdin.write_all(&blob).unwrap();
        stdin
    });
    // The client reads nothing for a while; the server must not grow without bound.
    let mut peak_while_stalled = 0;
    for _ in 0..40 {
        std::thread::sleep(Duration::from_millis(100));
        peak_while_stalled = peak_while_stalled.max(memory_kib(s.child.id()).0);
    }
    gate.send(()).unwrap();
    let answered =
        |log: &[Value]| log.iter().filter(|m| m.get("method").is_none() && m["id"].as_i64().is_some()).count();
    read_until(&mut s, "every answer", 3 + 200 + 20_000, answered);
    s.give_stdin(writer.join().unwrap());

    // Every event arrived, in seq order, with no gap.
    let events = s.events();
    assert!(!events.is_empty(), "no events; first messages: {:?}", &s.log[..5.min(s.log.len())]);
    let seqs: Vec<u64> = events.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "events out of order");
    let non_progress: Vec<u64> =
        events.iter().filter(|e| e["kind"] != "progress").map(|e| e["seq"].as_u64().unwrap()).collect();
    // Progress events may have been coalesced; no other event may be missing.
    let journal = s.call("packer/replayEvents", json!({"projectId": pid, "after": seqs[0] - 1, "limit": 10000}));
    let journaled: Vec<u64> = journal["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] != "progress" && e["seq"].as_u64().unwrap() <= *seqs.last().unwrap())
        .map(|e| e["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(non_progress, journaled, "a terminal or state event was lost while the client was not reading");
    let terminals = events.iter().filter(|e| e["kind"] == "succeeded").count();
    assert_eq!(terminals, 201, "the build and the 200 writes each end once");
    let progress = events.iter().filter(|e| e["kind"] == "progress").count();
    eprintln!(
        "stalled client: {} events received in order ({progress} progress), peak memory while stalled {} MiB",
        events.len(),
        peak_while_stalled / 1024
    );
    assert!(
        peak_while_stalled < 128 * 1024,
        "the server grew to {peak_while_stalled} KiB while the client was not reading"
    );
    assert_eq!(s.shutdown(), 0);
}

#[test]
fn a_subscriber_that_stops_reading_loses_events_not_memory_and_is_told_which() {
    let f = Fixture::with_text_files(5);
    let registered = {
        let mut s = Server::ready();
        let pid = s.open(&f.root());
        let ids = common::register_all(&mut s, &pid, &f);
        assert_eq!(s.shutdown(), 0);
        ids
    };
    // Client A owns the project and then reads nothing; its event cap is
    // lowered to 64 KiB so that the test need not queue 64 MiB.
    let (mut a, gate) = Server::start_paused(&[("STUDIO_PACKER_TEST_EVENT_CAP_BYTES", "65536")]);
    let root = f.root();
    let mut opening = frame_request(1_000_001, "initialize", json!({"capabilities": {}}));
    opening.extend(frame_request(1_000_002, "packer/openProject", json!({"root": root})));
    a.send_raw(&opening);
    // Client B, another process, attaches to A's process once A owns it.
    let mut b = Server::ready();
    let deadline = Instant::now() + Duration::from_secs(60);
    let pid = loop {
        let open = b.call("packer/openProject", json!({"root": f.root()}));
        if open["ownership"]["mode"] == "attached" {
            break open["projectId"].as_str().unwrap().to_string();
        }
        b.call("packer/closeProject", json!({"projectId": open["projectId"]}));
        assert!(Instant::now() < deadline, "A never became the owner");
        std::thread::sleep(Duration::from_millis(20));
    };
    // B's writes run in A's process; their events pile up for A.
    let ids: Vec<String> = registered.into_values().collect();
    for i in 0..300 {
        let m = json!({"kind": "setMetadata", "assetId": ids[i % ids.len()], "tags": [format!("t{i}")]});
        assert_eq!(b.apply(&pid, m)["outcome"], "applied");
    }
    let (rss, _) = memory_kib(a.child.id());
    // A reads again: it gets what was queued, then the notice, and after it
    // events as usual.
    gate.send(()).unwrap();
    let notice = a.wait_for("the eventsDropped notice", |m| m["method"] == "packer/eventsDropped")["params"].clone();
    assert_eq!(notice["projectId"], pid.as_str());
    let (from, to) = (notice["fromSeq"].as_u64().unwrap(), notice["toSeq"].as_u64().unwrap());
    assert!(from <= to);
    let m = json!({"kind": "setMetadata", "assetId": ids[0], "tags": ["after"]});
    let last = b.apply(&pid, m)["operationId"].clone();
    a.wait_for("an event after the notice", |m| m["method"] == "packer/event" && m["params"]["operationId"] == last);
    // What A received, plus the dropped range read back from the journal, is
    // every event, each once, in order.
    let received: Vec<u64> = a.events().iter().map(|e| e["seq"].as_u64().unwrap()).collect();
    assert!(received.windows(2).all(|w| w[0] < w[1]));
    assert!(received.iter().all(|&s| s < from || s > to), "an event inside the dropped range was sent");
    let replay = a.call("packer/replayEvents", json!({"projectId": pid, "after": from - 1, "limit": (to - from + 1)}));
    let replayed: Vec<u64> = replay["events"].as_array().unwrap().iter().map(|e| e["seq"].as_u64().unwrap()).collect();
    assert_eq!(replayed, (from..=to).collect::<Vec<u64>>(), "the journal holds the whole dropped range");
    let first = received[0];
    let mut all: Vec<u64> = received.iter().copied().chain(replayed).collect();
    all.sort();
    assert_eq!(all, (first..=*received.last().unwrap()).collect::<Vec<u64>>(), "no event is missing");
    eprintln!(
        "stalled subscriber: {} events received, {} dropped and announced ({from}..={to}), RSS while stalled {} MiB",
        received.len(),
        to - from + 1,
        rss / 1024
    );
    assert_eq!(b.shutdown(), 0);
    assert_eq!(a.shutdown(), 0);
}
