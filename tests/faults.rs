//! Crash safety by fault injection: the server kills itself (SIGKILL) at
//! every numbered fault point of an apply and of a build, one run per point
//! (`STUDIO_PACKER_TEST_CRASH_AT`, test builds only; see src/fault.rs). After
//! each crash a fresh server opens the project and every promise of
//! RELIABILITY.md is checked: the registry parses and is the old or the new
//! one, every source file exists exactly once, registry and disk agree, no
//! temporary file is left, the previous packs are intact (or the new ones
//! are all there), and the operation has exactly one terminal event.
#![cfg(feature = "test-hooks")]

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use common::{copy_tree, temp_files, Fixture, Server};
use serde_json::{json, Value};

const TERMINAL: [&str; 4] = ["succeeded", "failed", "cancelled", "rejected"];

/// Runs `request` against a copy of `template` with a crash at fault point
/// `n` of `kind`. Returns the copy, and the response when the operation ended
/// before reaching point `n`.
fn run_with_fault(
    template: &Path,
    kind: &str,
    n: u64,
    request: &dyn Fn(&str) -> (String, Value),
) -> (tempfile::TempDir, Option<Value>, String) {
    let dir = tempfile::tempdir().unwrap();
    copy_tree(template, dir.path());
    let log = dir.path().join(".faults.log");
    let crash_at = format!("{kind}:{n}");
    let mut s = Server::start_with_env(&[
        ("STUDIO_PACKER_TEST_CRASH_AT", &crash_at),
        ("STUDIO_PACKER_TEST_FAULTS_LOG", log.to_str().unwrap()),
    ]);
    s.call("initialize", json!({"capabilities": {}}));
    let root = dir.path().canonicalize().unwrap();
    let pid = s.open(&root);
    let (method, params) = request(&pid);
    let id = s.send(&method, params);
    let answer = s.response_or_exit(id);
    // A fault point may come after the answer (the intent is cleared after
    // the terminal event): a run only completed if the server then shuts
    // down and exits normally.
    let completed = answer.is_some() && {
        let bye = s.send("shutdown", Value::Null);
        s.response_or_exit(bye).is_some() && {
            s.notify("exit", Value::Null);
            s.wait_exit() == 0
        }
    };
    if !completed {
        s.kill();
    }
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    if std::env::var_os("DEBUG_FAULTS").is_some() {
        eprintln!("{kind}:{n} log: {text:?}");
    }
    let label = text.lines().last().unwrap_or("").to_string();
    let _ = std::fs::remove_file(&log);
    (dir, completed.then(|| answer.unwrap()), label)
}

/// A copy of the template left by a run: its root, the folder that owns it,
/// and the label of the last fault point reached (or the answer).
type Run<T> = (PathBuf, tempfile::TempDir, T);

/// Runs `request` on copies of `template` with a crash at fault point 1, 2,
/// … of `kind`, until a run ends without reaching its point. Returns the
/// crashed copies in order, and the completed copy with its answer.
fn crash_at_every_point(
    template: &Path,
    kind: &str,
    request: &dyn Fn(&str) -> (String, Value),
) -> (Vec<Run<String>>, Run<Value>) {
    let mut crashes = Vec::new();
    for n in 1.. {
        assert!(n < 200, "the {kind} never ends without reaching a fault point");
        let (dir, answer, label) = run_with_fault(template, kind, n, request);
        let root = dir.path().canonicalize().unwrap();
        match answer {
            Some(a) => return (crashes, (root, dir, a)),
            None => crashes.push((root, dir, label)),
        }
    }
    unreachable!("the loop returns or fails")
}

/// Reopens a crashed project and returns its server, project id and the
/// journal's events.
fn reopen(root: &Path) -> (Server, String, Vec<Value>) {
    let mut s = Server::ready();
    let pid = s.open(root);
    let events = s.call("packer/replayEvents", json!({"projectId": pid}))["events"].as_array().unwrap().clone();
    (s, pid, events)
}

/// When the interrupted operation was ended by the reopen (its terminal
/// event says `recovered`), the reopen also said so in a project diagnostic.
fn assert_recovery_reported(s: &mut Server, pid: &str, terminal: &Value, what: &str) {
    if terminal["recovered"] != true {
        return;
    }
    let d = s.call("packer/diagnostics", json!({"projectId": pid}));
    let op = terminal["operationId"].as_str().unwrap();
    let reported = d["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|i| i["code"] == "recovered" && i["message"].as_str().is_some_and(|m| m.contains(op)));
    assert!(reported, "{what}: no `recovered` diagnostic for {op}: {d}");
}

/// The one terminal event of the last operation of `kind` in the journal.
fn terminal_of_last(events: &[Value], kind: &str) -> Value {
    let op = events
        .iter()
        .rev()
        .find(|e| e["kind"] == "queued" && e["operation"] == kind)
        .expect("the operation was journaled")["operationId"]
        .clone();
    let terminals: Vec<&Value> =
        events.iter().filter(|e| e["operationId"] == op && TERMINAL.contains(&e["kind"].as_str().unwrap())).collect();
    assert_eq!(terminals.len(), 1, "exactly one terminal event for {op}: {terminals:?}");
    terminals[0].clone()
}

fn files_under(root: &Path, top: &str) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let base = root.join(top);
    if !base.exists() {
        return out;
    }
    let mut stack = vec![base];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.insert(p.strip_prefix(root).unwrap().to_string_lossy().to_string(), std::fs::read(&p).unwrap());
            }
        }
    }
    out
}

/// The registered paths (ids of newly registered assets are random, so a
/// state is told by its paths), parsed line by line.
fn registry_of(root: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(root.join("packer.registry.jsonl")).unwrap();
    let mut lines = text.lines();
    let header: Value = serde_json::from_str(lines.next().expect("a header line")).expect("the header parses");
    assert_eq!(header["format"], "studio-packer.registry");
    let mut paths: Vec<String> = lines
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap_or_else(|e| panic!("registry line {l:?}: {e}"))["path"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    paths.sort();
    paths
}

/// Which state a crashed copy's registry holds, `"old"` or `"new"`: it
/// parses and is one or the other, never a mix.
fn state_of(root: &Path, old: &[String], new: &[String], at: &str) -> &'static str {
    let registry = registry_of(root);
    if registry == old {
        "old"
    } else if registry == new {
        "new"
    } else {
        panic!("after a crash at {at} the registry is neither the old nor the new state: {registry:?}")
    }
}

/// A project with five registered text assets and a built pack.
fn apply_template() -> (tempfile::TempDir, BTreeMap<String, String>) {
    let f = Fixture::new(&[
        ("assets/a.txt", b"alpha\n"),
        ("assets/b.txt", b"bravo\n"),
        ("assets/c.txt", b"charlie\n"),
        ("assets/d.txt", b"delta\n"),
    ]);
    let mut s = Server::ready();
    let pid = s.open(&f.root());
    let ids = common::register_all(&mut s, &pid, &f);
    f.write("assets/e.txt", b"echo\n");
    let r = s.call("packer/build", json!({"projectId": pid}));
    assert_eq!(r["outcome"], "succeeded", "{r}");
    assert_eq!(s.shutdown(), 0);
    let dir = tempfile::tempdir().unwrap();
    copy_tree(&f.root(), dir.path());
    (dir, ids)
}

#[test]
fn a_crash_at_every_step_of_an_apply_loses_nothing() {
    let (template, ids) = apply_template();
    let batch = json!({"kind": "batch", "mutations": [
        {"kind": "move", "assetId": ids["assets/a.txt"], "to": "assets/moved/a.txt"},
        {"kind": "delete", "assetIds": [ids["assets/b.txt"]]},
        {"kind": "setMetadata", "assetId": ids["assets/c.txt"], "tags": ["hero"]},
        {"kind": "unregister", "assetIds": [ids["assets/d.txt"]]},
        {"kind": "register", "paths": ["assets/e.txt"]},
    ]});
    let request = |pid: &str| ("packer/applyMutation".to_string(), json!({"projectId": pid, "mutation": batch}));
    let old_registry = registry_of(template.path());
    let pack_before = std::fs::read(template.path().join("build/desktop/main.pack")).unwrap();
    let (crashes, (done, _done_dir, answer)) = crash_at_every_point(template.path(), "apply", &request);
    assert_eq!(answer["result"]["outcome"], "applied", "{answer}");
    let new_registry = registry_of(&done);
    assert!(crashes.len() >= 10, "only {} fault points on the path of an apply", crashes.len());
    let contents = [("alpha", "a"), ("bravo", "b"), ("charlie", "c"), ("delta", "d"), ("echo", "e")];
    let mut summary = Vec::new();
    for (i, (root, _dir, label)) in crashes.iter().enumerate() {
        let n = i + 1;
        let state = state_of(root, &old_registry, &new_registry, &format!("point {n} ({label})"));
        let (mut s, pid, events) = reopen(root);
        // The interrupted operation ended exactly once, as the registry says.
        let terminal = terminal_of_last(&events, "applyMutation");
        let expected = if state == "new" { "succeeded" } else { "failed" };
        assert_eq!(terminal["kind"], expected, "point {n} ({label}): {terminal}");
        assert_recovery_reported(&mut s, &pid, &terminal, &format!("point {n} ({label})"));
        // Registry and disk agree again; the one difference is the file that
        // is not registered in that state (e.txt before, d.txt after the
        // batch unregistered it), shown as untracked.
        let d = s.call("packer/divergence", json!({"projectId": pid}));
        let items: Vec<(String, String)> = d["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| (i["kind"].as_str().unwrap().to_string(), i["path"].as_str().unwrap().to_string()))
            .collect();
        let loose = if state == "new" { "assets/d.txt" } else { "assets/e.txt" };
        let expected = vec![("untracked".to_string(), loose.to_string())];
        assert_eq!(items, expected, "point {n} ({label}), state {state}: {d}");
        // Every source file exists exactly once, under its old or new path.
        let files = files_under(root, "assets");
        for (content, name) in contents {
            let copies: Vec<&String> = files
                .iter()
                .filter(|(_, b)| b.as_slice() == format!("{content}\n").as_bytes())
                .map(|(p, _)| p)
                .collect();
            let expected = if name == "b" && state == "new" { 0 } else { 1 };
            assert_eq!(copies.len(), expected, "point {n} ({label}), state {state}: `{name}` at {copies:?}");
        }
        let a_at = if state == "new" { "assets/moved/a.txt" } else { "assets/a.txt" };
        assert!(files.contains_key(a_at), "point {n} ({label}): a.txt is not at {a_at}");
        // Nothing temporary is left, and the trash is empty.
        assert_eq!(temp_files(root), Vec::<PathBuf>::new(), "point {n} ({label})");
        assert!(
            !root.join(".packer/trash").exists() || files_under(root, ".packer/trash").is_empty(),
            "point {n} ({label})"
        );
        // The packs were not touched.
        assert_eq!(std::fs::read(root.join("build/desktop/main.pack")).unwrap(), pack_before, "point {n} ({label})");
        // And the project keeps working: the same batch can be planned again.
        assert_eq!(s.shutdown(), 0);
        summary.push(format!("{label} => {state}"));
    }
    eprintln!("apply: {} fault points, each crashed and recovered:\n  {}", crashes.len(), summary.join("\n  "));
}

/// A project where a level names a sprite by id and a sound by path.
fn references_template() -> (tempfile::TempDir, BTreeMap<String, String>, String) {
    let f = Fixture::new(&[
        ("assets/sprites/hero.txt", b"hero\n"),
        ("assets/sprites/villain.txt", b"villain\n"),
        ("assets/sounds/jump.txt", b"jump\n"),
    ]);
    let mut s = Server::ready();
    let pid = s.open(&f.root());
    let mut ids = common::register_all(&mut s, &pid, &f);
    let level = format!(
        "{{\n  \"sprite\": \"asset:{}\",\n  \"sound\": \"asset:assets/sounds/jump.txt\"\n}}\n",
        ids["assets/sprites/hero.txt"]
    );
    f.write("assets/levels/l1.json", level.as_bytes());
    let r = s.apply(&pid, json!({"kind": "register", "paths": ["assets/levels/l1.json"]}));
    assert_eq!(r["outcome"], "applied", "{r}");
    let page = s.call("packer/listAssets", json!({"projectId": pid, "filter": {"pathPrefix": "assets/levels/"}}));
    ids.insert("assets/levels/l1.json".into(), page["items"][0]["id"].as_str().unwrap().to_string());
    assert_eq!(s.shutdown(), 0);
    let dir = tempfile::tempdir().unwrap();
    copy_tree(&f.root(), dir.path());
    (dir, ids, level)
}

#[test]
fn a_crash_at_every_step_of_an_apply_that_rewrites_references_leaves_the_old_state_or_the_new() {
    let (template, ids, level) = references_template();
    let (hero, villain) = (&ids["assets/sprites/hero.txt"], &ids["assets/sprites/villain.txt"]);
    let batch = json!({"kind": "batch", "mutations": [
        {"kind": "move", "assetId": ids["assets/sounds/jump.txt"], "to": "assets/sfx/jump.txt"},
        {"kind": "replaceReferences", "from": hero, "to": villain},
        {"kind": "delete", "assetIds": [hero]},
    ]});
    let request = |pid: &str| ("packer/applyMutation".to_string(), json!({"projectId": pid, "mutation": batch}));
    let old_registry = registry_of(template.path());
    let (crashes, (done, _done_dir, answer)) = crash_at_every_point(template.path(), "apply", &request);
    assert_eq!(answer["result"]["outcome"], "applied", "{answer}");
    let new_registry = registry_of(&done);
    let new_level = level.replace(hero.as_str(), villain).replace("assets/sounds/jump.txt", "assets/sfx/jump.txt");
    assert_eq!(std::fs::read_to_string(done.join("assets/levels/l1.json")).unwrap(), new_level);
    let labels: Vec<&str> = crashes.iter().map(|(_, _, l)| l.as_str()).collect();
    assert!(labels.iter().any(|l| l.ends_with(" file rewritten")), "the rewrite has its own fault points: {labels:?}");
    let mut summary = Vec::new();
    for (i, (root, _dir, label)) in crashes.iter().enumerate() {
        let n = i + 1;
        let state = state_of(root, &old_registry, &new_registry, &format!("point {n} ({label})"));
        let (mut s, pid, events) = reopen(root);
        let terminal = terminal_of_last(&events, "applyMutation");
        let expected = if state == "new" { "succeeded" } else { "failed" };
        assert_eq!(terminal["kind"], expected, "point {n} ({label}): {terminal}");
        // The level is exactly the old file or the new one, with the rest.
        let files = files_under(root, "assets");
        let want: BTreeMap<String, Vec<u8>> = if state == "new" {
            [
                ("assets/levels/l1.json", new_level.as_bytes()),
                ("assets/sfx/jump.txt", b"jump\n".as_slice()),
                ("assets/sprites/villain.txt", b"villain\n"),
            ]
        } else {
            [
                ("assets/levels/l1.json", level.as_bytes()),
                ("assets/sounds/jump.txt", b"jump\n".as_slice()),
                ("assets/sprites/villain.txt", b"villain\n"),
            ]
        }
        .into_iter()
        .map(|(p, b)| (p.to_string(), b.to_vec()))
        .chain((state == "old").then(|| ("assets/sprites/hero.txt".to_string(), b"hero\n".to_vec())))
        .collect();
        assert_eq!(files, want, "point {n} ({label}), state {state}");
        let d = s.call("packer/divergence", json!({"projectId": pid}));
        assert_eq!(d["items"], json!([]), "point {n} ({label}), state {state}: {d}");
        let summary_now = s.call("packer/summary", json!({"projectId": pid}));
        assert_eq!(summary_now["references"]["broken"], 0, "point {n} ({label})");
        assert_eq!(temp_files(root), Vec::<PathBuf>::new(), "point {n} ({label})");
        assert!(
            !root.join(".packer/trash").exists() || files_under(root, ".packer/trash").is_empty(),
            "point {n} ({label})"
        );
        assert_eq!(s.shutdown(), 0);
        let check = std::process::Command::new(common::BIN).arg("check").arg(root).output().unwrap();
        assert!(check.status.success(), "point {n} ({label}): {}", String::from_utf8_lossy(&check.stdout));
        summary.push(format!("{label} => {state}"));
    }
    eprintln!("rewrite: {} fault points, each crashed and recovered:\n  {}", crashes.len(), summary.join("\n  "));
}

/// A project with two packs, built once, then two more assets registered so
/// that the next build changes both packs.
fn build_template() -> tempfile::TempDir {
    let f = Fixture::new(&[
        ("assets/ui/a.txt", b"ui a\n"),
        ("assets/ui/b.json", b"{ \"ui\": 1 }\n"),
        ("assets/world/c.txt", b"world c\n"),
        ("assets/world/d.json", b"{ \"world\": 2 }\n"),
    ]);
    let manifest = std::fs::read_to_string(f.path("packer.toml")).unwrap();
    let manifest = format!(
        "{manifest}\n[[build.packs]]\nname = \"ui\"\ninclude = [\"assets/ui/**\"]\n\n[[build.packs]]\nname = \"world\"\ninclude = [\"assets/world/**\"]\n"
    );
    std::fs::write(f.path("packer.toml"), manifest).unwrap();
    let mut s = Server::ready();
    let pid = s.open(&f.root());
    common::register_all(&mut s, &pid, &f);
    let r = s.call("packer/build", json!({"projectId": pid}));
    assert_eq!(r["outcome"], "succeeded", "{r}");
    assert_eq!(r["packs"].as_array().unwrap().len(), 2, "{r}");
    f.write("assets/ui/e.txt", b"ui e\n");
    f.write("assets/world/f.txt", b"world f\n");
    let r = s.apply(&pid, json!({"kind": "register", "paths": ["assets/ui/e.txt", "assets/world/f.txt"]}));
    assert_eq!(r["outcome"], "applied");
    assert_eq!(s.shutdown(), 0);
    let dir = tempfile::tempdir().unwrap();
    copy_tree(&f.root(), dir.path());
    dir
}

fn packs(root: &Path) -> (Vec<u8>, Vec<u8>) {
    (
        std::fs::read(root.join("build/desktop/ui.pack")).unwrap(),
        std::fs::read(root.join("build/desktop/world.pack")).unwrap(),
    )
}

#[test]
fn a_crash_at_every_step_of_a_build_leaves_one_builds_packs() {
    let template = build_template();
    let old_packs = packs(template.path());
    let request = |pid: &str| ("packer/build".to_string(), json!({"projectId": pid}));
    let (crashes, (done, _done_dir, answer)) = crash_at_every_point(template.path(), "build", &request);
    assert_eq!(answer["result"]["outcome"], "succeeded", "{answer}");
    let new_packs = packs(&done);
    assert_ne!(new_packs.0, old_packs.0);
    assert_ne!(new_packs.1, old_packs.1);
    assert!(crashes.len() >= 8, "only {} fault points on the path of a build", crashes.len());
    let mut summary = Vec::new();
    for (i, (root, _dir, label)) in crashes.iter().enumerate() {
        let n = i + 1;
        let (mut s, pid, events) = reopen(root);
        // Opening finished or forgot the interrupted build: the packs are
        // one build's, all old or all new, never a mix.
        let now = packs(root);
        let state = if now == old_packs {
            "old"
        } else if now == new_packs {
            "new"
        } else {
            panic!("after a crash at build point {n} ({label}) the packs are a mix of two builds")
        };
        let terminal = terminal_of_last(&events, "build");
        let expected = if state == "new" { "succeeded" } else { "failed" };
        assert_eq!(terminal["kind"], expected, "build point {n} ({label}): {terminal}");
        assert_recovery_reported(&mut s, &pid, &terminal, &format!("build point {n} ({label})"));
        assert_eq!(temp_files(root), Vec::<PathBuf>::new(), "build point {n} ({label})");
        assert!(!root.join(".packer/build-commit.json").exists());
        // The cache a crash left behind is sound: the next build gives
        // exactly the packs an uninterrupted build gives.
        let r = s.call("packer/build", json!({"projectId": pid}));
        assert_eq!(r["outcome"], "succeeded", "build point {n} ({label}): {r}");
        assert!(packs(root) == new_packs, "build point {n} ({label}): the rebuild differs");
        assert_eq!(s.shutdown(), 0);
        summary.push(format!("{label} => {state}"));
    }
    eprintln!("build: {} fault points, each crashed and recovered:\n  {}", crashes.len(), summary.join("\n  "));
}
