//! Divergence: files changed behind the packer's back become explicit
//! packer state (items and events), and nothing repairs itself.

mod common;

use std::time::Duration;

use common::{register_all, Fixture, Server};
use serde_json::{json, Value};

/// Waits for the next `divergenceDetected` event after the log position `from`.
fn detected_after(s: &mut Server, from: usize) -> Value {
    let ev = s.wait_for("divergenceDetected", |m| m["params"]["kind"] == "divergenceDetected");
    let _ = from;
    ev["params"].clone()
}

fn setup(n: usize) -> (Fixture, Server, String, std::collections::BTreeMap<String, String>) {
    let f = Fixture::with_text_files(n);
    let mut s = Server::ready();
    let pid = s.open(&f.root());
    let ids = register_all(&mut s, &pid, &f);
    // Let the watcher report the registration's own writes (they must not show).
    s.drain_for(Duration::from_millis(400));
    s.log.clear();
    (f, s, pid, ids)
}

fn divergence(s: &mut Server, pid: &str) -> Value {
    s.call("packer/divergence", json!({"projectId": pid}))
}

#[test]
fn an_edit_behind_the_packers_back_is_a_modified_item_and_the_registry_is_untouched() {
    let (f, mut s, pid, ids) = setup(3);
    let registry = f.registry_text();
    f.write("assets/f001.txt", b"edited in another program\n");
    let ev = detected_after(&mut s, 0);
    assert_eq!(ev["state"], "diverged");
    assert_eq!(ev["items"][0]["kind"], "modified");
    assert_eq!(ev["items"][0]["assetId"], json!(ids["assets/f001.txt"]));
    assert_eq!(ev["items"][0]["path"], "assets/f001.txt");
    let d = divergence(&mut s, &pid);
    assert_eq!(d["state"], "diverged");
    assert_eq!(d["items"].as_array().unwrap().len(), 1);
    let a = s.call("packer/getAsset", json!({"projectId": pid, "assetId": ids["assets/f001.txt"]}));
    assert_eq!(a["asset"]["status"], "modified");
    let summary = s.call("packer/summary", json!({"projectId": pid}));
    assert_eq!(summary["divergence"], json!({"state": "diverged", "count": 1}));
    assert_eq!(f.registry_text(), registry, "nothing repairs itself");
    // Putting the content back clears it.
    f.write("assets/f001.txt", b"file 1\n");
    let cleared = s.wait_for("divergenceCleared", |m| m["params"]["kind"] == "divergenceCleared");
    assert_eq!(cleared["params"]["state"], "clean");
    assert_eq!(cleared["params"]["ids"], json!([ev["items"][0]["id"]]));
}

#[test]
fn added_deleted_and_renamed_files_are_untracked_missing_and_moved() {
    let (f, mut s, pid, ids) = setup(3);
    let registry = f.registry_text();
    f.write("assets/new/added.txt", b"new\n");
    std::fs::remove_file(f.path("assets/f000.txt")).unwrap();
    std::fs::rename(f.path("assets/f002.txt"), f.path("assets/renamed.txt")).unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let d = loop {
        let d = divergence(&mut s, &pid);
        if d["items"].as_array().unwrap().len() == 3 || std::time::Instant::now() > deadline {
            break d;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let kinds: Vec<(&str, &str)> = d["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| (i["kind"].as_str().unwrap(), i["path"].as_str().unwrap()))
        .collect();
    assert_eq!(
        kinds,
        [("missing", "assets/f000.txt"), ("moved", "assets/f002.txt"), ("untracked", "assets/new/added.txt")],
        "{d}"
    );
    let moved = &d["items"][1];
    assert_eq!(moved["assetId"], json!(ids["assets/f002.txt"]));
    assert_eq!(moved["detail"], json!({"from": "assets/f002.txt", "to": "assets/renamed.txt"}));
    assert_eq!(f.registry_text(), registry);
    assert!(s.events().iter().any(|e| e["kind"] == "divergenceDetected"));
}

#[test]
fn a_hand_edit_of_the_registry_is_registry_changed() {
    let (f, mut s, pid, ids) = setup(2);
    let text = f.registry_text().replace("assets/f000.txt", "assets/elsewhere.txt");
    std::fs::write(f.path("packer.registry.jsonl"), &text).unwrap();
    let ev = detected_after(&mut s, 0);
    assert_eq!(ev["items"][0]["kind"], "registryChanged");
    let detail = &ev["items"][0]["detail"];
    assert_eq!(detail["changed"][0]["assetId"], json!(ids["assets/f000.txt"]));
    assert_eq!(detail["changed"][0]["fields"], json!(["path"]));
    assert_eq!(detail["added"], json!([]));
    // The packer's registry is still the one it had.
    let a = s.call("packer/getAsset", json!({"projectId": pid, "assetId": ids["assets/f000.txt"]}));
    assert_eq!(a["asset"]["path"], "assets/f000.txt");
}

#[test]
fn hundreds_of_the_packers_own_applies_produce_no_divergence() {
    let (f, mut s, pid, ids) = setup(5);
    let id = &ids["assets/f000.txt"];
    for i in 0..300 {
        let to = format!("assets/d{}/m{i}.txt", i % 7);
        let r = s.apply(&pid, json!({"kind": "move", "assetId": id, "to": to}));
        assert_eq!(r["outcome"], "applied");
    }
    s.apply(&pid, json!({"kind": "delete", "assetIds": [ids["assets/f001.txt"]]}));
    s.drain_for(Duration::from_millis(800));
    let kinds: Vec<String> = s.events().iter().map(|e| e["kind"].as_str().unwrap().to_string()).collect();
    assert!(!kinds.iter().any(|k| k.starts_with("divergence") || k.starts_with("watch")), "{kinds:?}");
    assert_eq!(divergence(&mut s, &pid)["state"], "clean");
    let _ = f;
}

#[test]
fn reopening_ten_thousand_unchanged_assets_hashes_no_file() {
    let f = Fixture::with_text_files(0);
    for i in 0..10_000 {
        f.write(&format!("assets/d{:02}/f{i:05}.json", i % 50), format!("{{\"n\":{i}}}").as_bytes());
    }
    // Files written a moment ago are re-read once (their stat entries would be racy).
    std::thread::sleep(Duration::from_millis(200));
    let mut s = Server::ready();
    let first = s.call("packer/openProject", json!({"root": f.root()}));
    assert_eq!(first["scan"]["hashed"], 10_000);
    let pid = first["projectId"].as_str().unwrap().to_string();
    let paths: Vec<String> = (0..10_000).map(|i| format!("assets/d{:02}/f{i:05}.json", i % 50)).collect();
    let r = s.apply(&pid, json!({"kind": "register", "paths": paths}));
    assert_eq!(r["outcome"], "applied");
    assert_eq!(s.shutdown(), 0);

    let mut s = Server::ready();
    let again = s.call("packer/openProject", json!({"root": f.root()}));
    assert_eq!(again["scan"], json!({"hashed": 0, "cached": 10_000, "missing": 0}));
    assert_eq!(again["summary"]["assets"]["total"], 10_000);
    assert_eq!(again["summary"]["divergence"]["state"], "clean");
}
