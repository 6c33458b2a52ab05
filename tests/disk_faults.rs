//! Disk full and permission denied: an operation that cannot write ends
//! `failed` with an error that says why, the registry, the files and the
//! packs are exactly as before, and the server keeps serving; once space or
//! permission is back, the same operation succeeds.
//!
//! Tests and CI run as root, for whom `chmod` stops nothing, so the faults
//! are real mounts: a small tmpfs filled to the last byte, and read-only
//! bind mounts. Mounting needs root, so both tests are `#[ignore]`d with
//! that reason (a run without root counts them as ignored) and
//! `scripts/test.sh` runs them as root; once running, a mount that is
//! refused fails the test.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{temp_files, Server};
use serde_json::{json, Value};

/// A mount made for a test, undone when dropped.
struct Mount {
    point: PathBuf,
}

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.point).status();
    }
}

/// Mounts, or fails the test: a fault that cannot be made is not a pass.
fn mount(args: &[&str], point: &Path) -> Mount {
    let out = Command::new("mount").args(args).arg(point).output();
    match out {
        Ok(o) if o.status.success() => Mount { point: point.to_path_buf() },
        Ok(o) => panic!("cannot mount ({}): {}", args.join(" "), String::from_utf8_lossy(&o.stderr).trim()),
        Err(e) => panic!("cannot run mount: {e}"),
    }
}

/// A small tmpfs with a project in it: three text assets, two registered
/// and built, one left to register.
/// Makes a folder read-only by bind-mounting it over itself read-only.
fn read_only(dir: &Path) -> Mount {
    let m = mount(&["--bind", dir.to_str().unwrap()], dir);
    std::mem::forget(mount(&["-o", "remount,bind,ro"], dir));
    m
}

fn tmpfs_project(dir: &Path) -> (Mount, PathBuf) {
    common::require_root("to mount a tmpfs");
    let m = mount(&["-t", "tmpfs", "-o", "size=4m,nr_inodes=4096", "tmpfs"], dir);
    let root = dir.join("game");
    let out = Command::new(common::BIN).arg("init").arg(&root).output().unwrap();
    assert!(out.status.success());
    for (name, text) in [("a", "alpha"), ("b", "bravo"), ("c", "charlie")] {
        std::fs::write(root.join(format!("assets/{name}.txt")), format!("{text}\n")).unwrap();
    }
    (m, root)
}

/// What must not change when an operation fails: every file but the
/// packer's own state, with its bytes.
fn project_files(root: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            let rel = e.path().strip_prefix(root).unwrap().to_string_lossy().to_string();
            if rel == ".packer" || rel == "filler" {
                continue;
            }
            if e.file_type().unwrap().is_dir() {
                stack.push(e.path());
            } else {
                out.insert(rel, std::fs::read(e.path()).unwrap());
            }
        }
    }
    out
}

/// Fills the file system holding `path` to the last byte.
fn fill(path: &Path) -> u64 {
    use std::io::Write;
    let mut f = std::fs::File::create(path).unwrap();
    let chunk = vec![0u8; 64 * 1024];
    let mut written = 0u64;
    loop {
        match f.write(&chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => written += n as u64,
        }
    }
    // The last few bytes, one by one.
    while f.write(&[0]).is_ok_and(|n| n == 1) {
        written += 1;
    }
    let _ = f.sync_all();
    written
}

fn ids_by_path(s: &mut Server, pid: &str) -> BTreeMap<String, String> {
    let list = s.call("packer/listAssets", json!({"projectId": pid}));
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (a["path"].as_str().unwrap().into(), a["id"].as_str().unwrap().into()))
        .collect()
}

fn assert_failed_for(r: &Result<Value, Value>, why: &str) {
    let e = r.as_ref().expect_err("the apply must fail");
    assert_eq!(e["code"], -32803, "{e}");
    assert_eq!(e["data"]["reason"], "applyFailed", "{e}");
    let message = e["message"].as_str().unwrap();
    assert!(message.contains(why), "the error should say `{why}`: {message}");
    assert!(message.contains("nothing was changed"), "{message}");
}

/// A server with a.txt and b.txt registered and built (c.txt left
/// untracked), the ids by path, and the project's files as they are.
fn registered_and_built(root: &Path) -> (Server, String, BTreeMap<String, String>, BTreeMap<String, Vec<u8>>) {
    let mut s = Server::ready();
    let pid = s.open(root);
    let r = s.apply(&pid, json!({"kind": "register", "paths": ["assets/a.txt", "assets/b.txt"]}));
    assert_eq!(r["outcome"], "applied");
    assert_eq!(s.call("packer/build", json!({"projectId": pid}))["outcome"], "succeeded");
    let ids = ids_by_path(&mut s, &pid);
    let before = project_files(root);
    (s, pid, ids, before)
}

#[test]
#[ignore = "needs root: mounts a tmpfs (scripts/test.sh runs it as root)"]
fn a_full_disk_fails_operations_cleanly_and_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (_mount, root) = tmpfs_project(dir.path());
    let (mut s, pid, ids, before) = registered_and_built(&root);

    let filled = fill(&root.join("filler"));
    assert!(filled > 0);
    let full = "No space left on device";
    let r = s.request(
        "packer/applyMutation",
        json!({"projectId": pid, "mutation": {"kind": "register", "paths": ["assets/c.txt"]}}),
    );
    assert_failed_for(&r, full);
    let r = s.request("packer/applyMutation", json!({"projectId": pid, "mutation": {"kind": "move", "assetId": ids["assets/a.txt"], "to": "assets/moved/a.txt"}}));
    assert_failed_for(&r, full);
    let r = s.request(
        "packer/applyMutation",
        json!({"projectId": pid, "mutation": {"kind": "delete", "assetIds": [ids["assets/b.txt"]]}}),
    );
    assert_failed_for(&r, full);
    let b = s.call("packer/build", json!({"projectId": pid, "clean": true}));
    assert_eq!(b["outcome"], "failed", "{b}");
    let said = b["diagnostics"].to_string();
    assert!(said.contains(full), "the build should say why: {said}");
    // Nothing changed, nothing temporary is left, and the server serves.
    assert_eq!(project_files(&root), before);
    assert_eq!(temp_files(&root), Vec::<PathBuf>::new());
    let summary = s.call("packer/summary", json!({"projectId": pid}));
    assert_eq!(summary["assets"]["total"], 2);
    assert_eq!(
        s.call("packer/divergence", json!({"projectId": pid}))["items"].as_array().unwrap().len(),
        1,
        "only c.txt, untracked"
    );

    // Space is back: the same operations succeed, and the journal is whole.
    std::fs::remove_file(root.join("filler")).unwrap();
    let r = s.apply(&pid, json!({"kind": "register", "paths": ["assets/c.txt"]}));
    assert_eq!(r["outcome"], "applied", "{r}");
    let r = s.apply(&pid, json!({"kind": "move", "assetId": ids["assets/a.txt"], "to": "assets/moved/a.txt"}));
    assert_eq!(r["outcome"], "applied", "{r}");
    assert_eq!(s.call("packer/build", json!({"projectId": pid}))["outcome"], "succeeded");
    let journal = s.call("packer/replayEvents", json!({"projectId": pid}));
    let seqs: Vec<u64> = journal["events"].as_array().unwrap().iter().map(|e| e["seq"].as_u64().unwrap()).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "the journal's lines are whole and in order: {seqs:?}");
    assert_eq!(s.shutdown(), 0);
}

#[test]
#[ignore = "needs root: mounts a tmpfs and read-only binds (scripts/test.sh runs it as root)"]
fn read_only_folders_fail_operations_cleanly_and_lose_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (_mount, root) = tmpfs_project(dir.path());
    let (mut s, pid, ids, before) = registered_and_built(&root);

    // The assets and the build output become read-only.
    let assets = root.join("assets");
    let build = root.join("build");
    let (_a, _b) = (read_only(&assets), read_only(&build));
    let ro = "Read-only file system";
    let r = s.request("packer/applyMutation", json!({"projectId": pid, "mutation": {"kind": "move", "assetId": ids["assets/a.txt"], "to": "assets/moved/a.txt"}}));
    assert_failed_for(&r, ro);
    let r = s.request("packer/applyMutation", json!({"projectId": pid, "mutation": {"kind": "move", "assetId": ids["assets/a.txt"], "to": "assets/renamed.txt"}}));
    assert_failed_for(&r, ro);
    let b = s.call("packer/build", json!({"projectId": pid, "clean": true}));
    assert_eq!(b["outcome"], "failed", "{b}");
    assert!(b["diagnostics"].to_string().contains(ro), "{b}");
    assert_eq!(project_files(&root), before);
    assert_eq!(s.call("packer/summary", json!({"projectId": pid}))["assets"]["total"], 2);

    // Writable again: the same operations succeed.
    drop(_b);
    drop(_a);
    let r = s.apply(&pid, json!({"kind": "move", "assetId": ids["assets/a.txt"], "to": "assets/renamed.txt"}));
    assert_eq!(r["outcome"], "applied", "{r}");
    assert_eq!(s.call("packer/build", json!({"projectId": pid, "clean": true}))["outcome"], "succeeded");
    assert_eq!(s.shutdown(), 0);
}
