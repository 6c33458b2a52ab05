//! Source-control operations as one change: `packer/beginExternalChange` /
//! `packer/endExternalChange`, `studio-packer vcs -- CMD`, and a change
//! that ends by itself when its client dies or its timeout passes.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::{git, register_all, Fixture, Server, BIN};
use serde_json::{json, Value};

fn divergence(s: &mut Server, pid: &str) -> Value {
    s.call("packer/divergence", json!({"projectId": pid}))
}

/// Waits until the owner's watches are in place and a probe file's
/// creation and removal are both seen through them.
fn until_watching(s: &mut Server, f: &Fixture, pid: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while s.call("packer/summary", json!({"projectId": pid}))["watch"]["state"] != "ok" {
        assert!(Instant::now() < deadline, "never watching");
        std::thread::sleep(Duration::from_millis(20));
    }
    // The look at everything that follows the watches, and the watcher's
    // window (which folds a create and a remove within it into nothing),
    // are over before the probe.
    s.drain_for(Duration::from_millis(300));
    s.log.clear();
    f.write("assets/probe.txt", b"probe");
    s.divergence_until(pid, |d| d["items"].as_array().unwrap().iter().any(|i| i["path"] == "assets/probe.txt"));
    let removed = s.mark();
    std::fs::remove_file(f.path("assets/probe.txt")).unwrap();
    s.divergence_until(pid, |d| d["state"] == "clean");
    // A read can see a snapshot before its events are sent: wait for them.
    s.wait_for_after(removed, "the probe's divergenceCleared", |m| m["params"]["kind"] == "divergenceCleared");
}

fn event_kinds(s: &Server) -> Vec<String> {
    s.events().iter().map(|e| e["kind"].as_str().unwrap_or_default().to_string()).collect()
}

fn detected(s: &Server) -> Vec<Value> {
    s.events().into_iter().filter(|e| e["kind"] == "divergenceDetected").collect()
}

#[test]
fn a_checkout_that_renames_500_and_edits_50_through_vcs_is_one_net_difference() {
    let f = Fixture::with_text_files(600);
    let root = f.root();
    // main: 600 assets. feature: 500 of them moved, 50 others edited.
    let mut s0 = Server::ready();
    let pid = s0.open(&root);
    let ids = register_all(&mut s0, &pid, &f);
    git(&root, &["init", "-q", "-b", "main"]);
    git(&root, &["add", "-A"]);
    git(&root, &["commit", "-q", "-m", "main"]);
    git(&root, &["checkout", "-q", "-b", "feature"]);
    let moves: Vec<Value> = (0..500)
        .map(|i| json!({"kind": "move", "assetId": ids[&format!("assets/f{i:03}.txt")], "to": format!("assets/moved/f{i:03}.txt")}))
        .collect();
    let r = s0.apply(&pid, json!({"kind": "batch", "mutations": moves}));
    assert_eq!(r["outcome"], "applied", "{r}");
    for i in 500..550 {
        f.write(&format!("assets/f{i:03}.txt"), format!("file {i}, edited on feature\n").as_bytes());
    }
    s0.divergence_until(&pid, |d| d["items"].as_array().unwrap().len() == 50);
    let r = s0.apply(&pid, json!({"kind": "reconcile"}));
    assert_eq!(r["outcome"], "applied", "{r}");
    git(&root, &["add", "-A"]);
    git(&root, &["commit", "-q", "-m", "feature"]);
    git(&root, &["checkout", "-q", "main"]);
    s0.divergence_until(&pid, |d| d["items"].as_array().unwrap().iter().any(|i| i["kind"] == "registryChanged"));
    let r = s0.apply(&pid, json!({"kind": "reconcile"}));
    assert_eq!(r["outcome"], "applied", "{r}");
    s0.divergence_until(&pid, |d| d["state"] == "clean");
    assert_eq!(s0.shutdown(), 0);

    // A client attached to the project's owner; the checkout through `vcs`.
    let mut s = Server::ready();
    let pid = s.open(&root);
    assert_eq!(divergence(&mut s, &pid)["state"], "clean");
    until_watching(&mut s, &f, &pid);
    s.log.clear();
    let from = s.mark();
    let out =
        Command::new(BIN).current_dir(&root).args(["vcs", "--", "git", "checkout", "-q", "feature"]).output().unwrap();
    assert!(out.status.success(), "{out:?}");
    s.wait_for_after(from, "externalChangeEnded", |m| m["params"]["kind"] == "externalChangeEnded");
    s.wait_for_after(from, "divergenceDetected", |m| m["params"]["kind"] == "divergenceDetected");
    // Late watcher events find nothing new.
    s.drain_for(Duration::from_millis(1500));
    // (The probe's last events may come after the log was cleared: what
    // counts is from the change on.)
    let kinds = event_kinds(&s);
    let kinds = &kinds[kinds.iter().position(|k| k == "externalChangeBegan").unwrap()..];
    assert_eq!(kinds, ["externalChangeBegan", "externalChangeEnded", "snapshotPublished", "divergenceDetected"]);
    let began = s.events().into_iter().find(|e| e["kind"] == "externalChangeBegan").unwrap();
    assert_eq!(began["reason"], "git checkout -q feature");
    let ended = s.events().into_iter().find(|e| e["kind"] == "externalChangeEnded").unwrap();
    assert_eq!((&ended["changeId"], &ended["endedBy"]), (&began["changeId"], &json!("client")));

    let ev = detected(&s).pop().unwrap();
    let items = ev["items"].as_array().unwrap();
    let changed = items.iter().find(|i| i["kind"] == "registryChanged").expect("registryChanged");
    let detail = &changed["detail"];
    assert_eq!((detail["added"].as_array().unwrap().len(), detail["removed"].as_array().unwrap().len()), (0, 0));
    let by_fields =
        |fields: Value| detail["changed"].as_array().unwrap().iter().filter(|c| c["fields"] == fields).count();
    assert_eq!(by_fields(json!(["path"])), 500, "the moves keep their ids");
    assert_eq!(by_fields(json!(["content"])), 50);
    assert_eq!(detail["changed"].as_array().unwrap().len(), 550);
    let moved = detail["changed"].as_array().unwrap().iter().find(|c| c["assetId"] == json!(ids["assets/f007.txt"]));
    assert_eq!(moved.unwrap()["after"], "assets/moved/f007.txt");
    // The files measured against the registry the packer still holds.
    let count = |kind: &str| items.iter().filter(|i| i["kind"] == kind).count();
    assert_eq!((count("moved"), count("modified"), items.len()), (500, 50, 551));

    // Reloaded, the project is clean.
    let r = s.apply(&pid, json!({"kind": "reconcile"}));
    assert_eq!(r["outcome"], "applied", "{r}");
    let d = divergence(&mut s, &pid);
    assert_eq!((&d["state"], &d["items"]), (&json!("clean"), &json!([])), "{d}");
    assert_eq!(s.shutdown(), 0);
}

#[test]
fn a_client_that_begins_a_change_and_dies_releases_it() {
    let f = Fixture::with_text_files(3);
    let mut owner = Server::ready();
    let pid = owner.open(&f.root());
    register_all(&mut owner, &pid, &f);
    until_watching(&mut owner, &f, &pid);
    // Another process attaches to the owner and begins a change through it.
    let mut attached = Server::ready();
    let opened = attached.call("packer/openProject", json!({"root": f.root()}));
    assert_eq!(opened["ownership"]["mode"], "attached", "{opened}");
    let from = owner.mark();
    let began = attached.call("packer/beginExternalChange", json!({"projectId": pid, "reason": "git rebase"}));
    owner.wait_for_after(from, "externalChangeBegan", |m| m["params"]["kind"] == "externalChangeBegan");
    owner.log.clear();
    f.write("assets/during.txt", b"written while the change is open");
    // Held: nothing is published while the change is open.
    owner.drain_for(Duration::from_millis(800));
    assert!(detected(&owner).is_empty(), "{:?}", owner.events());
    assert_eq!(divergence(&mut owner, &pid)["state"], "clean");
    let summary = owner.call("packer/summary", json!({"projectId": pid}));
    let changes = summary["externalChanges"].as_array().unwrap();
    assert_eq!(
        (changes.len(), &changes[0]["changeId"], &changes[0]["reason"]),
        (1, &began["changeId"], &json!("git rebase"))
    );

    let status = Command::new(BIN).arg("status").arg(f.root()).output().unwrap();
    let status = String::from_utf8_lossy(&status.stdout);
    assert!(status.contains("divergence:  clean, held while `git rebase` runs"), "{status}");

    let from = owner.mark();
    attached.kill();
    let ended = owner.wait_for_after(from, "externalChangeEnded", |m| m["params"]["kind"] == "externalChangeEnded");
    assert_eq!(ended["params"]["changeId"], began["changeId"]);
    assert_eq!(ended["params"]["endedBy"], "connectionClosed");
    assert_eq!(owner.call("packer/summary", json!({"projectId": pid}))["externalChanges"], json!([]));
    let ev = owner.wait_for_after(from, "divergenceDetected", |m| m["params"]["kind"] == "divergenceDetected");
    assert_eq!(ev["params"]["items"][0]["path"], "assets/during.txt");
    // And divergence is published piece by piece again.
    let from = owner.mark();
    f.write("assets/after.txt", b"after");
    owner.wait_for_after(from, "the next divergenceDetected", |m| {
        m["params"]["kind"] == "divergenceDetected" && m["params"]["items"][0]["path"] == "assets/after.txt"
    });
}

#[test]
fn a_change_ends_by_itself_after_its_timeout_and_an_empty_one_publishes_nothing() {
    let f = Fixture::with_text_files(2);
    let mut s = Server::ready();
    let pid = s.open(&f.root());
    register_all(&mut s, &pid, &f);
    until_watching(&mut s, &f, &pid);
    s.log.clear();

    // Nothing changes: the end publishes nothing.
    let began = s.call("packer/beginExternalChange", json!({"projectId": pid, "reason": "git status"}));
    assert!(began["changeId"].as_str().unwrap().starts_with("xc-"), "{began}");
    assert_eq!(s.call("packer/endExternalChange", json!({"changeId": began["changeId"]})), Value::Null);
    s.wait_for("externalChangeEnded", |m| m["params"]["kind"] == "externalChangeEnded");
    s.drain_for(Duration::from_millis(500));
    assert_eq!(event_kinds(&s), ["externalChangeBegan", "externalChangeEnded"]);
    // Ended twice, or never begun: a clear error.
    let e = s.request("packer/endExternalChange", json!({"changeId": began["changeId"]})).unwrap_err();
    assert_eq!((&e["code"], &e["data"]["field"]), (&json!(-32602), &json!("changeId")), "{e}");
    let e = s.request("packer/beginExternalChange", json!({"projectId": pid, "reason": "x", "timeoutMs": 0}));
    assert_eq!(e.unwrap_err()["data"]["field"], "timeoutMs");

    // A change nobody ends ends after its timeout, and the net is published.
    s.log.clear();
    let began =
        s.call("packer/beginExternalChange", json!({"projectId": pid, "reason": "forgotten", "timeoutMs": 300}));
    f.write("assets/new.txt", b"new");
    let ended = s.wait_for("externalChangeEnded", |m| m["params"]["kind"] == "externalChangeEnded");
    assert_eq!((&ended["params"]["changeId"], &ended["params"]["endedBy"]), (&began["changeId"], &json!("timeout")));
    let ev = s.wait_for("divergenceDetected", |m| m["params"]["kind"] == "divergenceDetected");
    assert_eq!(ev["params"]["items"][0]["path"], "assets/new.txt");
    let kinds = event_kinds(&s);
    let at = |k: &str| kinds.iter().position(|x| x == k).unwrap();
    assert!(at("externalChangeEnded") < at("divergenceDetected"), "{kinds:?}");
}

#[test]
fn vcs_with_no_owner_runs_the_command_and_keeps_its_exit_code() {
    let f = Fixture::with_text_files(1);
    let root = f.root();
    assert!(!root.join(".packer").exists());
    let sub = root.join("assets");
    let out = Command::new(BIN).current_dir(&sub).args(["vcs", "--", "sh", "-c", "echo ran; exit 3"]).output().unwrap();
    assert_eq!(out.status.code(), Some(3), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "ran\n");
    assert!(out.stderr.is_empty(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(!root.join(".packer").exists(), "vcs opens nothing itself");
    let out = Command::new(BIN).current_dir(&sub).args(["vcs", "--", "no-such-program-here"]).output().unwrap();
    assert_eq!(out.status.code(), Some(127), "{out:?}");
}
