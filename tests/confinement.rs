//! Confinement to the project: whatever a path says, and whatever is
//! swapped in on disk, no operation writes outside the project root.
//! A sandbox folder holds the project and, beside it, an `outside` folder
//! that symlinks inside the project point to; after random mutations,
//! `outside` must be exactly as it was. RELIABILITY.md points here.

mod common;

use std::collections::BTreeMap;
use std::os::unix::fs::symlink;
use std::path::Path;

use common::{Fixture, Server};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::{json, Value};

/// Every file and folder under `dir` (not following symlinks), with the
/// bytes of files and the targets of links.
fn snapshot(dir: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            let p = e.path();
            let rel = p.strip_prefix(dir).unwrap().to_string_lossy().to_string();
            let t = e.file_type().unwrap();
            let what = if t.is_symlink() {
                format!("link -> {}", std::fs::read_link(&p).unwrap().display())
            } else if t.is_dir() {
                stack.push(p.clone());
                "dir".to_string()
            } else {
                format!("file {:?}", std::fs::read(&p).unwrap())
            };
            out.insert(rel, what);
        }
    }
    out
}

/// A project whose `assets/` holds symlinks to a folder beside it.
struct Sandbox {
    fixture: Fixture,
    outside: tempfile::TempDir,
}

fn sandbox() -> Sandbox {
    let fixture = Fixture::new(&[("assets/a.txt", b"a\n"), ("assets/sub/b.txt", b"b\n")]);
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("secret.txt"), b"secret\n").unwrap();
    std::fs::create_dir(outside.path().join("dir")).unwrap();
    symlink(outside.path(), fixture.path("assets/out")).unwrap();
    symlink(outside.path().join("secret.txt"), fixture.path("assets/link.txt")).unwrap();
    symlink("/", fixture.path("assets/rootlink")).unwrap();
    Sandbox { fixture, outside }
}

/// Path segments chosen to hit every rule: traversal, absolute paths,
/// symlinks, Windows forms, NUL, control characters, overlong names, case.
fn segment() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => proptest::sample::select(vec![
            "assets", "a.txt", "A.TXT", "sub", "SUB", "b.txt", "out", "link.txt", "rootlink", "dir", "secret.txt",
            "..", ".", "", "new", "x.json", "etc", "passwd", "tmp",
        ]).prop_map(str::to_string),
        1 => proptest::sample::select(vec![
            "C:", "c:\\x", "..\\..", "a\\b", "\u{0}", "a\u{0}b", "\u{7}", "con", "x ", "x.", "%2e%2e", "~", "*", "?",
            "\u{e9}", "E\u{301}",
        ]).prop_map(str::to_string),
        1 => (1usize..300).prop_map(|n| "n".repeat(n)),
    ]
}

fn path() -> impl Strategy<Value = String> {
    (any::<bool>(), proptest::collection::vec(segment(), 1..6)).prop_map(|(absolute, segs)| {
        let p = segs.join("/");
        if absolute {
            format!("/{p}")
        } else {
            p
        }
    })
}

#[test]
fn random_mutation_paths_never_change_anything_outside_the_project() {
    let sb = sandbox();
    let before = snapshot(sb.outside.path());
    let mut s = Server::ready();
    let pid = s.open(&sb.fixture.root());
    let ids = common::register_all(&mut s, &pid, &sb.fixture);
    let asset = ids["assets/sub/b.txt"].clone();
    let server = std::cell::RefCell::new(s);
    let (mut applied, mut refused) = (0, 0);
    let counts = std::cell::RefCell::new((&mut applied, &mut refused));
    let mut runner = TestRunner::new(Config { cases: 400, failure_persistence: None, ..Config::default() });
    let outcome = runner.run(&(path(), any::<bool>()), |(p, is_move)| {
        let mut s = server.borrow_mut();
        let mutation = if is_move {
            json!({"kind": "move", "assetId": asset, "to": p})
        } else {
            json!({"kind": "register", "paths": [p]})
        };
        let preview = s.call("packer/previewMutation", json!({"projectId": pid, "mutation": mutation}));
        let r = s.call("packer/applyMutation", json!({"projectId": pid, "mutation": mutation}));
        let outcome = r["outcome"].as_str().unwrap().to_string();
        prop_assert!(outcome == "applied" || outcome == "rejected", "{p:?}: {r}");
        // The preview and the apply agree when nothing changed in between.
        prop_assert_eq!(
            preview["blockers"].as_array().unwrap().is_empty(),
            outcome == "applied",
            "{:?}: {} / {}",
            p,
            preview,
            r
        );
        let mut c = counts.borrow_mut();
        if outcome == "applied" {
            *c.0 += 1;
            // Whatever was applied is inside the project, under a plain path.
            for m in r["filesystemMutations"].as_array().unwrap() {
                for key in ["path", "to"] {
                    if let Some(target) = m[key].as_str() {
                        prop_assert!(
                            !target.starts_with('/') && !target.split('/').any(|s| s == ".." || s.is_empty()),
                            "{target}"
                        );
                        prop_assert!(!sb.fixture.path(target).parent().unwrap().is_symlink(), "{target}");
                    }
                }
            }
            // Move back, so that the next case starts from the same place.
            if is_move {
                let back = json!({"kind": "move", "assetId": asset, "to": "assets/sub/b.txt"});
                let r = s.call("packer/applyMutation", json!({"projectId": pid, "mutation": back}));
                prop_assert_eq!(r["outcome"].as_str(), Some("applied"), "{}", r);
            }
        } else {
            *c.1 += 1;
            let codes: Vec<&str> =
                r["blockers"].as_array().unwrap().iter().map(|b| b["code"].as_str().unwrap()).collect();
            prop_assert!(!codes.is_empty(), "{r}");
        }
        prop_assert_eq!(&snapshot(sb.outside.path()), &before, "{:?} changed something outside", p);
        Ok(())
    });
    if let Err(e) = outcome {
        panic!("{e}");
    }
    assert_eq!(snapshot(sb.outside.path()), before);
    eprintln!(
        "confinement: 400 random paths, {applied} applied inside the project, {refused} refused, 0 writes outside"
    );
    assert!(applied > 0 && refused > 0, "the generator should produce both: {applied} applied, {refused} refused");
}

#[test]
fn a_folder_swapped_for_a_symlink_between_preview_and_apply_is_refused() {
    let sb = sandbox();
    let before = snapshot(sb.outside.path());
    let mut s = Server::ready();
    let pid = s.open(&sb.fixture.root());
    let ids = common::register_all(&mut s, &pid, &sb.fixture);
    let mutation = json!({"kind": "move", "assetId": ids["assets/a.txt"], "to": "assets/dest/a.txt"});
    std::fs::create_dir(sb.fixture.path("assets/dest")).unwrap();
    let preview = s.call("packer/previewMutation", json!({"projectId": pid, "mutation": mutation}));
    assert_eq!(preview["blockers"], json!([]), "{preview}");
    // Between the preview and the apply, the target folder becomes a link
    // to a folder outside the project.
    std::fs::remove_dir(sb.fixture.path("assets/dest")).unwrap();
    symlink(sb.outside.path().join("dir"), sb.fixture.path("assets/dest")).unwrap();
    let r = s.call("packer/applyMutation", json!({"projectId": pid, "mutation": mutation}));
    assert_eq!(r["outcome"], "rejected", "{r}");
    assert_eq!(r["blockers"][0]["code"], "outsideProject", "{r}");
    assert_eq!(snapshot(sb.outside.path()), before);
    assert!(sb.fixture.path("assets/a.txt").is_file());
}

#[test]
fn a_build_output_folder_that_is_a_symlink_is_refused() {
    let sb = sandbox();
    let before = snapshot(sb.outside.path());
    symlink(sb.outside.path().join("dir"), sb.fixture.path("build")).unwrap();
    let mut s = Server::ready();
    let pid = s.open(&sb.fixture.root());
    common::register_all(&mut s, &pid, &sb.fixture);
    let r = s.call("packer/build", json!({"projectId": pid}));
    assert_eq!(r["outcome"], "failed", "{r}");
    let d = &r["diagnostics"][0];
    assert_eq!(d["code"], "outputUnwritable", "{r}");
    assert!(d["message"].as_str().unwrap().contains("symlink"), "{d}");
    assert_eq!(snapshot(sb.outside.path()), before);
}

#[test]
fn a_source_swapped_for_a_symlink_is_not_read_by_a_build() {
    let sb = sandbox();
    let mut s = Server::ready();
    let pid = s.open(&sb.fixture.root());
    common::register_all(&mut s, &pid, &sb.fixture);
    // The registered file becomes a link to a file outside, with the same
    // bytes the registry expects: the build must still not read it.
    std::fs::write(sb.outside.path().join("same.txt"), b"a\n").unwrap();
    std::fs::remove_file(sb.fixture.path("assets/a.txt")).unwrap();
    symlink(sb.outside.path().join("same.txt"), sb.fixture.path("assets/a.txt")).unwrap();
    let r = s.call("packer/build", json!({"projectId": pid}));
    assert_eq!(r["outcome"], "failed", "{r}");
    let unreadable: Vec<&Value> =
        r["diagnostics"].as_array().unwrap().iter().filter(|d| d["path"] == "assets/a.txt").collect();
    assert!(!unreadable.is_empty(), "{r}");
}

#[test]
fn names_that_differ_only_in_case_are_refused() {
    let f = Fixture::new(&[("assets/hero.png.txt", b"x\n"), ("assets/other.txt", b"y\n")]);
    let mut s = Server::ready();
    let pid = s.open(&f.root());
    let ids = common::register_all(&mut s, &pid, &f);
    f.write("assets/HERO.png.txt", b"z\n");
    let r = s.apply(&pid, json!({"kind": "register", "paths": ["assets/HERO.png.txt"]}));
    assert_eq!(r["outcome"], "rejected");
    assert_eq!(r["blockers"][0]["code"], "caseConflict", "{r}");
    let r = s.apply(&pid, json!({"kind": "move", "assetId": ids["assets/other.txt"], "to": "assets/Hero.png.txt"}));
    assert_eq!(r["blockers"][0]["code"], "caseConflict", "{r}");
    // Within one batch too (whether or not the watcher has reported the two
    // files yet): case twins are refused.
    f.write("assets/twin.txt", b"1\n");
    f.write("assets/TWIN.txt", b"2\n");
    let r = s.apply(
        &pid,
        json!({"kind": "batch", "mutations": [
            {"kind": "register", "paths": ["assets/twin.txt"]},
            {"kind": "register", "paths": ["assets/TWIN.txt"]},
        ]}),
    );
    assert_eq!(r["outcome"], "rejected", "{r}");
    assert_eq!(r["blockers"][0]["code"], "caseConflict", "{r}");
    // An asset may take another case of its own path.
    let r = s.apply(&pid, json!({"kind": "move", "assetId": ids["assets/other.txt"], "to": "assets/OTHER.txt"}));
    assert_eq!(r["outcome"], "applied", "{r}");
}
