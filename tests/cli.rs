//! The command line: init, status and call go through the same server code.

mod common;

use std::process::Command;

use common::{Fixture, BIN};
use serde_json::Value;

fn run(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(BIN).args(args).output().unwrap();
    (out.status.code().unwrap(), String::from_utf8(out.stdout).unwrap(), String::from_utf8(out.stderr).unwrap())
}

#[test]
fn init_creates_a_project_that_status_reports() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("game");
    let (code, _, err) = run(&["init", root.to_str().unwrap(), "--name", "my-game"]);
    assert_eq!(code, 0, "{err}");
    assert!(std::fs::read_to_string(root.join("packer.toml")).unwrap().contains("name = \"my-game\""));
    assert_eq!(std::fs::read_to_string(root.join(".gitignore")).unwrap(), ".packer/\n/build/\n");
    assert_eq!(
        std::fs::read_to_string(root.join("packer.registry.jsonl")).unwrap(),
        "{\"format\":\"studio-packer.registry\",\"version\":1}\n"
    );
    let (code, _, err) = run(&["init", root.to_str().unwrap()]);
    assert_ne!(code, 0);
    assert!(err.contains("already exists"), "{err}");

    std::fs::write(root.join("assets/a.txt"), "hi").unwrap();
    let (code, out, _) = run(&["status", root.to_str().unwrap(), "--json"]);
    assert_eq!(code, 0);
    let summary: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(summary["assets"]["total"], 0);
    assert_eq!(summary["divergence"]["count"], 1);
    let (_, text, _) = run(&["status", root.to_str().unwrap()]);
    assert!(text.contains("project my-game"), "{text}");
    assert!(text.contains("diverged (1 differences"), "{text}");
}

#[test]
fn call_applies_a_mutation_and_prints_the_result() {
    let f = Fixture::with_text_files(2);
    let root = f.root();
    let (code, out, err) = run(&[
        "call",
        "packer/applyMutation",
        r#"{"mutation":{"kind":"register","paths":["assets/f000.txt","assets/f001.txt"]}}"#,
        "--root",
        root.to_str().unwrap(),
        "--events",
    ]);
    assert_eq!(code, 0, "{err}");
    let result: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(result["outcome"], "applied");
    let events: Vec<Value> = err.lines().filter_map(|l| serde_json::from_str(l).ok()).collect();
    assert_eq!(events.last().unwrap()["kind"], "succeeded");
    assert_eq!(f.registry_paths().len(), 2);

    let (code, out, _) = run(&["call", "packer/listAssets", "{}", "--root", root.to_str().unwrap()]);
    assert_eq!(code, 0);
    let list: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(list["items"].as_array().unwrap().len(), 2);

    let (code, _, err) = run(&["call", "packer/getAsset", r#"{"assetId":"nope"}"#, "--root", root.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(err.contains("-32602") && err.contains("assetId"), "{err}");
}

#[test]
fn status_of_the_shipped_sample_is_clean() {
    let copy = common::sample_copy();
    let (code, out, err) = run(&["status", copy.path().to_str().unwrap(), "--json"]);
    assert_eq!(code, 0, "{err}");
    let s: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(s["assets"]["total"], 7);
    assert_eq!(s["assets"]["byStatus"]["ok"], 7);
    assert_eq!(s["divergence"]["state"], "clean");
    assert_eq!(s["diagnostics"]["errors"], 0);
}
