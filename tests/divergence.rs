//! Divergence: files changed behind the packer's back become explicit
//! packer state (items and events), and nothing repairs itself.

mod common;

use std::time::Duration;

use common::{register_all, Fixture, Server};
use serde_json::{json, Value};

/// Waits for the next `divergenceDetected` event at or after the log
/// position `from` (a [`Server::mark`] taken before the change).
fn detected_after(s: &mut Server, from: usize) -> Value {
    let ev = s.wait_for_after(from, "divergenceDetected", |m| m["params"]["kind"] == "divergenceDetected");
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
    let from = s.mark();
    f.write("assets/f001.txt", b"edited in another program\n");
    let ev = detected_after(&mut s, from);
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
    let from = s.mark();
    f.write("assets/f001.txt", b"file 1\n");
    let cleared = s.wait_for_after(from, "divergenceCleared", |m| m["params"]["kind"] == "divergenceCleared");
    assert_eq!(cleared["params"]["state"], "clean");
    assert_eq!(cleared["params"]["ids"], json!([ev["items"][0]["id"]]));
}

#[test]
fn added_deleted_and_renamed_files_are_untracked_missing_and_moved() {
    let (f, mut s, pid, ids) = setup(3);
    let registry = f.registry_text();
    let from = s.mark();
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
    // Published before its events are sent: a read may see the snapshot
    // before the event arrives, so wait for it rather than look.
    s.wait_for_after(from, "divergenceDetected", |m| {
        m["method"] == "packer/event" && m["params"]["kind"] == "divergenceDetected"
    });
}

#[test]
fn a_hand_edit_of_the_registry_is_registry_changed() {
    let (f, mut s, pid, ids) = setup(2);
    let text = f.registry_text().replace("assets/f000.txt", "assets/elsewhere.txt");
    let from = s.mark();
    std::fs::write(f.path("packer.registry.jsonl"), &text).unwrap();
    let ev = detected_after(&mut s, from);
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

fn reconcile(s: &mut Server, pid: &str, items: Option<Value>) -> Value {
    let mut mutation = json!({"kind": "reconcile"});
    if let Some(items) = items {
        mutation["items"] = items;
    }
    s.apply(pid, mutation)
}

fn wait_items(s: &mut Server, pid: &str, n: usize) -> Value {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let d = divergence(s, pid);
        if d["items"].as_array().unwrap().len() == n {
            return d;
        }
        assert!(std::time::Instant::now() < deadline, "expected {n} divergence items, have {d}");
        std::thread::sleep(Duration::from_millis(30));
    }
}

#[test]
fn reconcile_previews_default_resolutions_and_applies_exactly_them() {
    let (f, mut s, pid, ids) = setup(4);
    f.write("assets/f000.txt", b"new content\n");
    std::fs::remove_file(f.path("assets/f001.txt")).unwrap();
    std::fs::rename(f.path("assets/f002.txt"), f.path("assets/sub/f002-renamed.txt")).unwrap_or_else(|_| {
        std::fs::create_dir_all(f.path("assets/sub")).unwrap();
        std::fs::rename(f.path("assets/f002.txt"), f.path("assets/sub/f002-renamed.txt")).unwrap();
    });
    f.write("assets/extra.txt", b"extra\n");
    wait_items(&mut s, &pid, 4);
    let tree_before = f.tree();
    let preview = s.call("packer/previewMutation", json!({"projectId": pid, "mutation": {"kind": "reconcile"}}));
    let res: Vec<(String, String)> = preview["resolutions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["kind"].as_str().unwrap().to_string(), r["resolution"].as_str().unwrap().to_string()))
        .collect();
    let expected = [("modified", "adopt"), ("missing", "drop"), ("moved", "move"), ("untracked", "register")];
    for (k, r) in expected {
        assert!(res.contains(&(k.to_string(), r.to_string())), "{res:?}");
    }
    assert_eq!(preview["blockers"], json!([]));
    assert_eq!(f.tree(), tree_before, "preview changes nothing");
    let r = reconcile(&mut s, &pid, None);
    assert_eq!(r["outcome"], "applied", "{r}");
    assert_eq!(divergence(&mut s, &pid)["state"], "clean");
    let paths = f.registry_paths();
    assert!(!paths.contains_key(&ids["assets/f001.txt"]), "missing was dropped");
    assert_eq!(paths[&ids["assets/f002.txt"]], "assets/sub/f002-renamed.txt", "the move kept the asset's id");
    assert_eq!(paths[&ids["assets/f000.txt"]], "assets/f000.txt");
    assert!(paths.values().any(|p| p == "assets/extra.txt"));
    let a = s.call("packer/getAsset", json!({"projectId": pid, "assetId": ids["assets/f000.txt"]}));
    assert_eq!(a["asset"]["status"], "ok");
    assert_eq!(a["asset"]["hash"], json!(blake3_hex(b"new content\n")));
    let cleared: Vec<Value> = s.events().into_iter().filter(|e| e["kind"] == "divergenceCleared").collect();
    assert_eq!(cleared.last().unwrap()["operationId"], r["operationId"]);
    assert_eq!(cleared.last().unwrap()["state"], "clean");
}

fn blake3_hex(bytes: &[u8]) -> String {
    // The registry's hash of a file, computed by the packer itself.
    let f = Fixture::new(&[("assets/h.bin", bytes)]);
    let mut s = Server::ready();
    let pid = s.open(&f.root());
    let r = s.apply(&pid, json!({"kind": "register", "paths": ["assets/h.bin"]}));
    r["registryMutations"][0]["after"]["hash"].as_str().unwrap().to_string()
}

#[test]
fn ignoring_an_untracked_file_adds_an_exclude_to_the_manifest() {
    let (f, mut s, pid, _) = setup(1);
    f.write("assets/scratch [draft].txt", b"notes\n");
    let d = wait_items(&mut s, &pid, 1);
    let id = d["items"][0]["id"].clone();
    let r = reconcile(&mut s, &pid, Some(json!([{"divergenceId": id, "resolution": "ignore"}])));
    assert_eq!(r["outcome"], "applied", "{r}");
    assert!(r["filesystemMutations"].as_array().unwrap().contains(&json!({"op": "write", "path": "packer.toml"})));
    let manifest = std::fs::read_to_string(f.path("packer.toml")).unwrap();
    assert!(
        manifest.contains("assets/scratch \\\\[draft\\\\].txt") || manifest.contains("scratch [[]draft[]].txt"),
        "{manifest}"
    );
    assert!(manifest.starts_with("[project]\nname = \"fixture\""), "the rest of the manifest is kept: {manifest}");
    assert_eq!(divergence(&mut s, &pid)["state"], "clean");
    s.drain_for(Duration::from_millis(400));
    assert_eq!(divergence(&mut s, &pid)["state"], "clean", "the packer's own manifest write is not a divergence");
}

#[test]
fn a_missing_asset_can_be_relinked_keeping_its_id_and_bad_choices_are_blocked() {
    let (f, mut s, pid, ids) = setup(2);
    std::fs::rename(f.path("assets/f000.txt"), f.path("assets/other.bin")).unwrap();
    f.write("assets/other.bin", b"changed too\n");
    let d = wait_items(&mut s, &pid, 2);
    let missing = d["items"].as_array().unwrap().iter().find(|i| i["kind"] == "missing").unwrap()["id"].clone();
    let bad = reconcile(&mut s, &pid, Some(json!([{"divergenceId": missing, "resolution": "adopt"}])));
    assert_eq!(bad["blockers"][0]["code"], "invalidResolution");
    let bad = reconcile(&mut s, &pid, Some(json!([{"divergenceId": "d-0000000000000000", "resolution": "drop"}])));
    assert_eq!(bad["blockers"][0]["code"], "unknownDivergence");
    let r = reconcile(
        &mut s,
        &pid,
        Some(json!([{"divergenceId": missing, "resolution": "relink", "path": "assets/other.bin"}])),
    );
    assert_eq!(r["outcome"], "applied", "{r}");
    assert_eq!(r["warnings"][0]["code"], "contentDiffers");
    assert_eq!(f.registry_paths()[&ids["assets/f000.txt"]], "assets/other.bin");
    assert_eq!(divergence(&mut s, &pid)["state"], "clean");
}

#[test]
fn a_git_style_swap_is_registry_changed_and_reload_leaves_the_disk_state() {
    let (f, mut s, pid, ids) = setup(3);
    // What `git checkout` does: the registry and the files change together.
    let moved_id = &ids["assets/f000.txt"];
    let new_registry = f.registry_text().replace("assets/f000.txt", "assets/moved/f000.txt");
    std::fs::create_dir_all(f.path("assets/moved")).unwrap();
    std::fs::rename(f.path("assets/f000.txt"), f.path("assets/moved/f000.txt")).unwrap();
    std::fs::write(f.path("packer.registry.jsonl"), &new_registry).unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let d = loop {
        let d = divergence(&mut s, &pid);
        if d["items"].as_array().unwrap().iter().any(|i| i["kind"] == "registryChanged") {
            break d;
        }
        assert!(std::time::Instant::now() < deadline, "{d}");
        std::thread::sleep(Duration::from_millis(30));
    };
    let registry_item = d["items"].as_array().unwrap().iter().find(|i| i["kind"] == "registryChanged").unwrap().clone();
    assert_eq!(registry_item["detail"]["changed"][0]["assetId"], json!(moved_id));
    let r = reconcile(&mut s, &pid, None);
    assert_eq!(r["outcome"], "applied", "{r}");
    assert!(
        !r["filesystemMutations"].as_array().unwrap().iter().any(|m| m["path"] == "packer.registry.jsonl"),
        "reload writes nothing: the file wins"
    );
    assert_eq!(f.registry_text(), new_registry);
    let d = divergence(&mut s, &pid);
    assert_eq!(d["state"], "clean", "{d}");
    let a = s.call("packer/getAsset", json!({"projectId": pid, "assetId": moved_id}));
    assert_eq!(a["asset"]["path"], "assets/moved/f000.txt");
    assert_eq!(a["asset"]["status"], "ok");
}

#[test]
fn a_file_changed_between_preview_and_apply_is_never_overwritten_or_moved() {
    let (f, mut s, pid, ids) = setup(2);
    let mv = json!({"kind": "move", "assetId": ids["assets/f000.txt"], "to": "assets/away.txt"});
    let p = s.call("packer/previewMutation", json!({"projectId": pid, "mutation": mv}));
    assert_eq!(p["blockers"], json!([]));
    f.write("assets/f000.txt", b"someone's new work\n");
    // Applied at once: the watcher may not have reported the edit yet.
    let r = s.apply(&pid, mv);
    assert_eq!(r["outcome"], "rejected");
    assert_eq!(r["blockers"][0]["code"], "diverged");
    assert_eq!(std::fs::read(f.path("assets/f000.txt")).unwrap(), b"someone's new work\n");
    let del = s.apply(&pid, json!({"kind": "delete", "assetIds": [ids["assets/f000.txt"]]}));
    assert_eq!(del["blockers"][0]["code"], "diverged");
    assert!(f.path("assets/f000.txt").exists());
}

#[cfg(feature = "test-hooks")]
#[test]
fn a_watcher_failure_is_explicit_then_a_rescan_finds_the_real_divergence() {
    let (f, mut s, pid, ids) = setup(2);
    let from = s.mark();
    s.call("packer/testBreakWatch", json!({"projectId": pid, "holdMs": 600}));
    let degraded = s.wait_for_after(from, "watchDegraded", |m| m["params"]["kind"] == "watchDegraded");
    assert!(degraded["params"]["reason"].as_str().unwrap().contains("test"));
    assert_eq!(s.call("packer/summary", json!({"projectId": pid}))["watch"]["state"], "degraded");
    // Nobody watches now: this change is found by the rescan, not by an event.
    f.write("assets/f001.txt", b"changed while nobody watched\n");
    let restored = s.wait_for_after(from, "watchRestored", |m| m["params"]["kind"] == "watchRestored");
    let detected = s.wait_for_after(from, "divergenceDetected", |m| m["params"]["kind"] == "divergenceDetected");
    let order = |m: &Value| s.log.iter().position(|x| x == m).unwrap();
    assert!(order(&degraded) < order(&detected) && order(&detected) < order(&restored));
    assert_eq!(detected["params"]["items"][0]["assetId"], json!(ids["assets/f001.txt"]));
    assert_eq!(s.call("packer/summary", json!({"projectId": pid}))["watch"], json!({"state": "ok"}));
    // And watching works again.
    f.write("assets/f000.txt", b"seen by the watcher again\n");
    wait_items(&mut s, &pid, 2);
}

#[test]
fn changes_made_while_no_packer_ran_are_reported_like_live_ones() {
    let (f, s, _pid, ids) = setup(3);
    assert_eq!(s.shutdown(), 0);
    // Between two sessions: a git pull changes the registry, an edit changes a file.
    let pulled = f.registry_text().replace("assets/f002.txt", "assets/renamed-upstream.txt");
    std::fs::write(f.path("packer.registry.jsonl"), &pulled).unwrap();
    std::fs::rename(f.path("assets/f002.txt"), f.path("assets/renamed-upstream.txt")).unwrap();
    f.write("assets/f000.txt", b"edited offline\n");
    let manifest = std::fs::read_to_string(f.path("packer.toml")).unwrap() + "\n# a comment added upstream\n";
    std::fs::write(f.path("packer.toml"), manifest).unwrap();

    let mut s = Server::ready();
    let open = s.call("packer/openProject", json!({"root": f.root()}));
    let pid = open["projectId"].as_str().unwrap().to_string();
    let d = divergence(&mut s, &pid);
    let kinds: Vec<&str> = d["items"].as_array().unwrap().iter().map(|i| i["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["registryChanged", "manifestChanged", "modified", "moved"], "{d}");
    assert_eq!(f.registry_text(), pulled, "opening changed nothing");
    // Nothing writes over the pulled registry until it is reconciled.
    let r = s.apply(&pid, json!({"kind": "setMetadata", "assetId": ids["assets/f001.txt"], "tags": ["x"]}));
    assert_eq!(r["outcome"], "rejected");
    assert_eq!(r["blockers"][0]["code"], "diverged");
    let r = s.apply(&pid, json!({"kind": "reconcile"}));
    assert_eq!(r["outcome"], "applied", "{r}");
    let d = wait_items(&mut s, &pid, 1);
    assert_eq!(d["items"][0]["kind"], "modified", "after the reload only the offline edit is left: {d}");
    let a = s.call("packer/getAsset", json!({"projectId": pid, "assetId": ids["assets/f002.txt"]}));
    assert_eq!(a["asset"]["path"], "assets/renamed-upstream.txt");
    assert_eq!(s.apply(&pid, json!({"kind": "reconcile"}))["outcome"], "applied");
    assert_eq!(divergence(&mut s, &pid)["state"], "clean");
    // And the next session starts clean.
    assert_eq!(s.shutdown(), 0);
    let mut s = Server::ready();
    let pid = s.open(&f.root());
    assert_eq!(divergence(&mut s, &pid)["state"], "clean");
}

#[test]
fn a_file_registered_outside_the_asset_roots_is_what_it_is_when_the_project_is_opened_again() {
    // The walk covers the asset roots only: opening must still look at a
    // registered file elsewhere, not take it for missing (whose `drop`
    // resolution would lose its entry).
    let f = Fixture::new(&[("assets/a.txt", b"a"), ("docs/readme.txt", b"read me")]);
    let mut s = Server::ready();
    let pid = s.open(&f.root());
    let r = s.apply(&pid, json!({"kind": "register", "paths": ["assets/a.txt", "docs/readme.txt"]}));
    assert_eq!(r["outcome"], "applied", "{r}");
    drop(s);
    let mut s = Server::ready();
    let pid = s.open(&f.root());
    let summary = s.call("packer/summary", json!({"projectId": pid}));
    assert_eq!(summary["assets"]["byStatus"], json!({"invalid": 0, "missing": 0, "modified": 0, "ok": 2}), "{summary}");
    assert_eq!(divergence(&mut s, &pid)["state"], "clean");
}

/// The watcher folds a file created and removed within one debounce window
/// into no event; a full look (here, the one after the watches are placed)
/// inside that window saw the file. It must not stay an untracked item.
#[test]
fn a_file_created_and_removed_around_a_full_look_does_not_stay_behind() {
    let f = Fixture::with_text_files(600);
    let mut s0 = Server::ready();
    let pid = s0.open(&f.root());
    register_all(&mut s0, &pid, &f);
    assert_eq!(s0.shutdown(), 0);
    let mut s = Server::ready();
    let pid = s.open(&f.root());
    f.write("assets/probe.txt", b"probe");
    s.divergence_until(&pid, |d| !d["items"].as_array().unwrap().is_empty());
    std::fs::remove_file(f.path("assets/probe.txt")).unwrap();
    s.divergence_until(&pid, |d| d["state"] == "clean");
}

#[cfg(feature = "test-hooks")]
#[test]
fn while_the_watches_are_placed_the_summary_says_starting_and_a_change_meanwhile_is_reported_after() {
    let f = Fixture::with_text_files(1);
    let mut s = Server::ready_with_env(&[("STUDIO_PACKER_TEST_WATCH_DELAY_MS", "1500")]);
    let pid = s.open(&f.root());
    let summary = s.call("packer/summary", json!({"projectId": pid}));
    assert_eq!(summary["watch"], json!({"state": "starting"}), "{summary}");
    // Changed before any watch is in place: only the look that follows
    // placing them can see it.
    let mark = s.mark();
    f.write("assets/late.txt", b"written while the watches were being placed\n");
    let ev = detected_after(&mut s, mark);
    assert!(ev["items"].as_array().unwrap().iter().any(|i| i["path"] == "assets/late.txt"), "{ev}");
    assert_eq!(s.call("packer/summary", json!({"projectId": pid}))["watch"], json!({"state": "ok"}));
}
