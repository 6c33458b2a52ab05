//! `studio-packer check`: a copy of the sample project, spoiled one way at a
//! time; each is reported with its file and line (or path), and nothing in
//! the project folder changes, `.packer/` included.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Output};

use common::BIN;
use serde_json::{json, Value};

const REGISTRY: &str = "packer.registry.jsonl";

fn sample() -> tempfile::TempDir {
    common::sample_copy()
}

/// Every file under `root` (`.packer/` included) with its bytes.
fn tree(root: &Path) -> BTreeMap<String, Vec<u8>> {
    walkdir::WalkDir::new(root)
        .into_iter()
        .map(Result::unwrap)
        .map(|e| {
            let rel = e.path().strip_prefix(root).unwrap().display().to_string();
            let bytes = if e.file_type().is_file() { std::fs::read(e.path()).unwrap() } else { Vec::new() };
            (rel, bytes)
        })
        .collect()
}

/// Runs `check` (from inside the project, as a hook would) and asserts that
/// it changed nothing.
fn check(root: &Path, args: &[&str]) -> Output {
    let before = tree(root);
    let out = Command::new(BIN).current_dir(root).arg("check").arg(".").args(args).output().unwrap();
    assert_eq!(tree(root), before, "check changed the project folder");
    out
}

fn report(root: &Path) -> Value {
    let out = check(root, &["--json"]);
    serde_json::from_slice(&out.stdout).unwrap()
}

fn text(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The 1-based line of the registry that holds `needle`.
fn line_of(root: &Path, needle: &str) -> usize {
    let text = std::fs::read_to_string(root.join(REGISTRY)).unwrap();
    text.lines().position(|l| l.contains(needle)).unwrap() + 1
}

#[test]
fn the_clean_sample_passes_and_nothing_is_created() {
    let dir = sample();
    let out = check(dir.path(), &[]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(text(&out), "clean: 0 error(s), 0 warning(s), 7 asset(s)\n");
    assert!(!dir.path().join(".packer").exists(), "no state is made");
    let r = report(dir.path());
    assert_eq!(r, json!({"clean": true, "errors": 0, "warnings": 0, "assets": 7, "findings": []}));
}

#[test]
fn a_project_the_packer_has_open_state_for_is_checked_without_touching_that_state() {
    let dir = sample();
    let out = Command::new(BIN).args(["status", dir.path().to_str().unwrap()]).output().unwrap();
    assert!(out.status.success(), "{out:?}");
    assert!(dir.path().join(".packer/statcache.bin").exists());
    std::fs::write(dir.path().join("assets/text/extra.txt"), "x").unwrap();
    let out = check(dir.path(), &[]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(text(&out).starts_with("assets/text/extra.txt: error[untracked]: "), "{}", text(&out));
}

#[test]
fn a_missing_file_names_its_registry_line() {
    let dir = sample();
    std::fs::remove_file(dir.path().join("assets/sprites/hero.png")).unwrap();
    let line = line_of(dir.path(), "assets/sprites/hero.png");
    let out = check(dir.path(), &[]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let first = text(&out).lines().next().unwrap().to_string();
    assert_eq!(
        first,
        format!("packer.registry.jsonl:{line}: error[missing]: `assets/sprites/hero.png` is registered but missing")
    );
    let f = &report(dir.path())["findings"][0];
    assert_eq!(
        *f,
        json!({
            "severity": "error",
            "code": "missing",
            "message": "`assets/sprites/hero.png` is registered but missing",
            "assetId": "13hsh6x879ccd571kndbbbe4rw",
            "path": REGISTRY,
            "line": line,
        })
    );
}

#[test]
fn a_changed_file_names_its_registry_line() {
    let dir = sample();
    std::fs::write(dir.path().join("assets/text/credits.txt"), "someone else\n").unwrap();
    let line = line_of(dir.path(), "assets/text/credits.txt");
    let out = check(dir.path(), &[]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(
        text(&out).starts_with(&format!("packer.registry.jsonl:{line}: error[modified]: `assets/text/credits.txt` ")),
        "{}",
        text(&out)
    );
}

#[test]
fn an_untracked_file_is_named_by_its_path_unless_excluded() {
    let dir = sample();
    std::fs::write(dir.path().join("assets/text/new.txt"), "new\n").unwrap();
    let out = check(dir.path(), &[]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert_eq!(
        text(&out),
        "assets/text/new.txt: error[untracked]: not registered: register it, or exclude it in packer.toml\n\
         not clean: 1 error(s), 0 warning(s), 7 asset(s)\n"
    );
    // Excluded, it is not a problem.
    let manifest = std::fs::read_to_string(dir.path().join("packer.toml")).unwrap();
    let excluded = manifest.replacen("exclude = [", "exclude = [\"**/new.txt\", ", 1);
    assert_ne!(excluded, manifest);
    std::fs::write(dir.path().join("packer.toml"), excluded).unwrap();
    let out = check(dir.path(), &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
}

#[test]
fn a_duplicate_id_names_the_second_line() {
    let dir = sample();
    let path = dir.path().join(REGISTRY);
    let text0 = std::fs::read_to_string(&path).unwrap();
    let second = text0.lines().nth(1).unwrap().replace("assets/sprites/hero.png", "assets/sprites/hero2.png");
    std::fs::write(&path, format!("{text0}{second}\n")).unwrap();
    let n = text0.lines().count() + 1;
    let out = check(dir.path(), &[]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert_eq!(
        text(&out),
        format!(
            "packer.registry.jsonl:{n}: error[registryInvalid]: duplicate asset id `13hsh6x879ccd571kndbbbe4rw`\n\
             not clean: 1 error(s), 0 warning(s), 0 asset(s)\n"
        )
    );
}

#[test]
fn a_manifest_error_names_line_and_column() {
    let dir = sample();
    let manifest = std::fs::read_to_string(dir.path().join("packer.toml")).unwrap();
    std::fs::write(dir.path().join("packer.toml"), format!("{manifest}\nbogus = 1\n")).unwrap();
    let out = check(dir.path(), &["--json"]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    let f = &r["findings"][0];
    assert_eq!((&f["code"], &f["path"]), (&json!("manifestInvalid"), &json!("packer.toml")), "{r}");
    assert_eq!(f["line"], manifest.lines().count() + 2, "{r}");
    assert!(f["column"].is_u64(), "{r}");
    let keys: Vec<&String> = f.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["code", "column", "line", "message", "path", "severity"], "{r}");
}

#[test]
fn an_unresolved_conflict_names_its_record_line() {
    let dir = sample();
    let path = dir.path().join(REGISTRY);
    let text0 = std::fs::read_to_string(&path).unwrap();
    let entry: Value = serde_json::from_str(text0.lines().nth(1).unwrap()).unwrap();
    let mut theirs = entry.clone();
    theirs["path"] = json!("assets/sprites/hero-theirs.png");
    let record = json!({"conflict": "field", "fields": ["path"], "base": [entry], "ours": [entry], "theirs": [theirs]});
    std::fs::write(&path, format!("{text0}{record}\n")).unwrap();
    let n = text0.lines().count() + 1;
    let out = check(dir.path(), &[]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let first = text(&out).lines().next().unwrap().to_string();
    assert!(
        first.starts_with(&format!("packer.registry.jsonl:{n}: error[registryConflict]: an unresolved merge conflict (both sides changed path: ours 13hsh6x879ccd571kndbbbe4rw at assets/sprites/hero.png; theirs 13hsh6x879ccd571kndbbbe4rw at assets/sprites/hero-theirs.png)")),
        "{first}"
    );
}

#[test]
fn no_project_is_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(BIN).args(["check", dir.path().join("none").to_str().unwrap()]).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    // A folder without a manifest is a finding, not a crash.
    let out = check(dir.path(), &[]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(text(&out).starts_with("packer.toml: error[manifestInvalid]: not found"), "{}", text(&out));
}

#[test]
fn every_bad_registry_line_is_reported_not_only_the_first() {
    let dir = sample();
    let path = dir.path().join(REGISTRY);
    let text0 = std::fs::read_to_string(&path).unwrap();
    let second = text0.lines().nth(1).unwrap().replace("assets/sprites/hero.png", "assets/sprites/hero2.png");
    std::fs::write(&path, format!("{text0}{{oops\n{second}\n")).unwrap();
    let n = text0.lines().count();
    let r = report(dir.path());
    let lines: Vec<&Value> = r["findings"].as_array().unwrap().iter().map(|f| &f["line"]).collect();
    assert_eq!(lines, [&json!(n + 1), &json!(n + 2)], "{r}");
    assert_eq!(r["findings"][1]["message"], "duplicate asset id `13hsh6x879ccd571kndbbbe4rw`");
}

/// A WAV whose header announces more samples than the file holds.
fn short_wav() -> Vec<u8> {
    let mut w = b"RIFF".to_vec();
    w.extend_from_slice(&(36u32 + 1000).to_le_bytes());
    w.extend_from_slice(b"WAVEfmt ");
    w.extend_from_slice(&16u32.to_le_bytes());
    w.extend_from_slice(&1u16.to_le_bytes()); // PCM
    w.extend_from_slice(&1u16.to_le_bytes()); // mono
    w.extend_from_slice(&8000u32.to_le_bytes());
    w.extend_from_slice(&16000u32.to_le_bytes());
    w.extend_from_slice(&2u16.to_le_bytes());
    w.extend_from_slice(&16u16.to_le_bytes());
    w.extend_from_slice(b"data");
    w.extend_from_slice(&1000u32.to_le_bytes());
    w.extend_from_slice(&[0u8; 10]);
    w
}

#[test]
fn every_problem_a_build_would_report_of_an_assets_content_is_a_finding() {
    let f = common::Fixture::new(&[
        // The PNG signature and text: no image at all.
        ("assets/fake.png", b"\x89PNG\r\n\x1a\nnot an image, text"),
        // A whole header, then garbage where the pixels belong.
        (
            "assets/broken.png",
            b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR\x00\x00\x00\x10\x00\x00\x00\x10\x08\x06\x00\x00\x00garbage",
        ),
        ("assets/short.wav", &short_wav()),
        ("assets/fine.txt", b"fine\n"),
    ]);
    let mut s = common::Server::ready();
    let pid = s.open(&f.root());
    // Registering says so at once for what the header shows.
    let preview = s.call(
        "packer/previewMutation",
        json!({"projectId": pid, "mutation": {"kind": "register", "paths": ["assets/fake.png"]}}),
    );
    assert_eq!(preview["warnings"][0]["code"], "imageUnreadable", "{preview}");
    let ids = common::register_all(&mut s, &pid, &f);
    let fake = s.call("packer/getAsset", json!({"projectId": pid, "assetId": ids["assets/fake.png"]}));
    assert_eq!(fake["asset"]["status"], "invalid", "{fake}");
    assert_eq!(fake["asset"]["metadata"], json!({}), "no size is made up: {fake}");
    let build = s.call("packer/build", json!({"projectId": pid}));
    assert_eq!(build["outcome"], "failed");
    let mut built: Vec<(String, String)> = build["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (d["path"].as_str().unwrap().to_string(), d["code"].as_str().unwrap().to_string()))
        .collect();
    built.sort();
    assert_eq!(s.shutdown(), 0);

    let out = check(&f.root(), &["--json"]);
    assert_eq!(out.status.code(), Some(1));
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut found: Vec<(String, String)> = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (d["path"].as_str().unwrap().to_string(), d["code"].as_str().unwrap().to_string()))
        .collect();
    found.sort();
    assert_eq!(
        found,
        [
            ("assets/broken.png".to_string(), "imageUnreadable".to_string()),
            ("assets/fake.png".into(), "imageUnreadable".into()),
            ("assets/short.wav".into(), "audioUnreadable".into()),
        ]
    );
    // Every problem the build reported is among them.
    for b in &built {
        assert!(found.contains(b), "the build reported {b:?}, check did not: {r}");
    }
    let text = text(&check(&f.root(), &[]));
    assert!(
        text.contains("assets/fake.png: error[imageUnreadable]")
            || text.contains("error[imageUnreadable]: assets/fake.png"),
        "{text}"
    );
}

#[test]
fn an_asset_in_the_build_output_is_a_finding() {
    let f = common::Fixture::new(&[("assets/a.txt", b"a\n")]);
    let mut s = common::Server::ready();
    let pid = s.open(&f.root());
    common::register_all(&mut s, &pid, &f);
    assert_eq!(s.shutdown(), 0);
    std::fs::create_dir(f.path("build")).unwrap();
    std::fs::rename(f.path("assets/a.txt"), f.path("build/a.txt")).unwrap();
    let registry = std::fs::read_to_string(f.path(REGISTRY)).unwrap().replace("assets/a.txt", "build/a.txt");
    std::fs::write(f.path(REGISTRY), registry).unwrap();
    std::fs::remove_dir_all(f.path(".packer")).unwrap();
    let r = report(&f.root());
    assert_eq!(r["findings"][0]["code"], "inBuildOutput", "{r}");
    assert_eq!(r["findings"][0]["path"], "build/a.txt");
}
