//! Working in git: real repositories in temporary folders, the registry
//! merged by `studio-packer merge-registry` as git's merge driver.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{git, git_output, BIN};
use serde_json::{json, Value};
use studio_packer::project::format::registry;
use studio_packer::project::format::registry::ConflictKind;

fn packer(dir: &Path, args: &[&str]) -> Output {
    Command::new(BIN).current_dir(dir).args(args).output().unwrap()
}

/// A repository with a project in `game/`: three text assets registered,
/// the merge driver set up, committed on `main`.
fn repository() -> (tempfile::TempDir, PathBuf) {
    let repo = tempfile::tempdir().unwrap();
    git(repo.path(), &["init", "-q", "-b", "main"]);
    let root = repo.path().join("game");
    let out = packer(repo.path(), &["init", "game"]);
    assert!(out.status.success(), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("studio-packer git-setup"), "init offers it: {out:?}");
    for name in ["a", "b", "c"] {
        std::fs::write(root.join(format!("assets/{name}.txt")), format!("{name}\n")).unwrap();
    }
    apply(&root, json!({"kind": "register", "paths": ["assets/a.txt", "assets/b.txt", "assets/c.txt"]}));
    let out = packer(&root, &["git-setup"]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        std::fs::read_to_string(root.join(".gitattributes")).unwrap(),
        "packer.registry.jsonl merge=studio-packer-registry\n"
    );
    // Twice is once.
    assert!(packer(&root, &["git-setup", "."]).status.success());
    assert_eq!(std::fs::read_to_string(root.join(".gitattributes")).unwrap().lines().count(), 1);
    git(repo.path(), &["add", "-A"]);
    git(repo.path(), &["commit", "-q", "-m", "base"]);
    (repo, root)
}

fn apply(root: &Path, mutation: Value) -> Value {
    let params = json!({ "mutation": mutation }).to_string();
    let out = packer(root, &["call", "packer/applyMutation", &params, "--root", root.to_str().unwrap()]);
    assert!(out.status.success(), "{out:?}");
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["outcome"], "applied", "{r}");
    r
}

fn plan(root: &Path, mutation: Value) -> Value {
    let params = json!({ "mutation": mutation }).to_string();
    let out = packer(root, &["call", "packer/previewMutation", &params, "--root", root.to_str().unwrap()]);
    assert!(out.status.success(), "{out:?}");
    serde_json::from_slice(&out.stdout).unwrap()
}

fn call(root: &Path, method: &str) -> Value {
    let out = packer(root, &["call", method, "{}", "--root", root.to_str().unwrap()]);
    assert!(out.status.success(), "{out:?}");
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The registry as path -> (id, tags).
fn registry_of(root: &Path) -> BTreeMap<String, (String, Vec<String>)> {
    let text = std::fs::read_to_string(root.join(registry::REGISTRY_FILE)).unwrap();
    registry::parse(&text, "r")
        .unwrap()
        .entries
        .into_iter()
        .map(|e| (e.path.to_string(), (e.id.to_string(), e.tags.clone())))
        .collect()
}

/// After switching branches the packer sees the registry changed under
/// it: reload it, as a person would.
fn reload(root: &Path) {
    apply(root, json!({"kind": "reconcile"}));
}

#[test]
fn two_branches_that_move_retag_and_register_merge_without_a_conflict() {
    let (repo, root) = repository();
    let ids: BTreeMap<String, String> = registry_of(&root).into_iter().map(|(p, (id, _))| (p, id)).collect();

    git(repo.path(), &["checkout", "-q", "-b", "feature"]);
    apply(&root, json!({"kind": "move", "assetId": ids["assets/a.txt"], "to": "assets/moved/a.txt"}));
    apply(&root, json!({"kind": "setMetadata", "assetId": ids["assets/b.txt"], "tags": ["ui"]}));
    std::fs::write(root.join("assets/d.txt"), "d\n").unwrap();
    apply(&root, json!({"kind": "register", "paths": ["assets/d.txt"]}));
    git(repo.path(), &["add", "-A"]);
    git(repo.path(), &["commit", "-q", "-m", "feature"]);

    git(repo.path(), &["checkout", "-q", "main"]);
    reload(&root);
    apply(&root, json!({"kind": "setMetadata", "assetId": ids["assets/b.txt"], "tags": ["sfx"]}));
    std::fs::write(root.join("assets/e.txt"), "e\n").unwrap();
    apply(&root, json!({"kind": "register", "paths": ["assets/e.txt"]}));
    git(repo.path(), &["add", "-A"]);
    git(repo.path(), &["commit", "-q", "-m", "main"]);

    let merge = git_output(repo.path(), &["merge", "--no-edit", "feature"]);
    assert!(
        merge.status.success(),
        "{}{}",
        String::from_utf8_lossy(&merge.stdout),
        String::from_utf8_lossy(&merge.stderr)
    );
    let merged = registry_of(&root);
    let paths: Vec<&str> = merged.keys().map(String::as_str).collect();
    assert_eq!(paths, ["assets/b.txt", "assets/c.txt", "assets/d.txt", "assets/e.txt", "assets/moved/a.txt"]);
    assert_eq!(merged["assets/moved/a.txt"].0, ids["assets/a.txt"], "the move kept the id");
    assert_eq!(merged["assets/b.txt"].1, ["sfx", "ui"], "tags merged as sets");
    assert_eq!(merged["assets/c.txt"].0, ids["assets/c.txt"]);

    // The packer first reports the registry as changed since it last saw
    // it (with the files that differ from the registry it still uses);
    // reloaded, the project is clean.
    let d = call(&root, "packer/divergence");
    let items = d["items"].as_array().unwrap();
    let changed = items.iter().find(|i| i["kind"] == "registryChanged").expect("a registryChanged item");
    let detail = &changed["detail"];
    assert_eq!(detail["added"][0]["path"], "assets/d.txt", "{d}");
    assert_eq!(detail["changed"].as_array().unwrap().len(), 2, "b's tags and a's move: {d}");
    reload(&root);
    let d = call(&root, "packer/divergence");
    assert_eq!((&d["state"], &d["items"]), (&json!("clean"), &json!([])), "{d}");
}

/// `main` moves asset a to `assets/ours.txt`, `feature` to
/// `assets/theirs.txt` (and tags b); `feature` is merged into `main`.
/// Returns the repository, the project root, a's id and git's merge.
fn moved_both_ways() -> (tempfile::TempDir, PathBuf, String, Output) {
    let (repo, root) = repository();
    let ids: BTreeMap<String, String> = registry_of(&root).into_iter().map(|(p, (id, _))| (p, id)).collect();
    let a = ids["assets/a.txt"].clone();

    git(repo.path(), &["checkout", "-q", "-b", "feature"]);
    apply(&root, json!({"kind": "move", "assetId": a, "to": "assets/theirs.txt"}));
    apply(&root, json!({"kind": "setMetadata", "assetId": ids["assets/b.txt"], "tags": ["ui"]}));
    git(repo.path(), &["add", "-A"]);
    git(repo.path(), &["commit", "-q", "-m", "feature"]);
    git(repo.path(), &["checkout", "-q", "main"]);
    reload(&root);
    apply(&root, json!({"kind": "move", "assetId": a, "to": "assets/ours.txt"}));
    git(repo.path(), &["add", "-A"]);
    git(repo.path(), &["commit", "-q", "-m", "main"]);

    let merge = git_output(repo.path(), &["merge", "--no-edit", "feature"]);
    (repo, root, a, merge)
}

/// After `moved_both_ways`, the registry reloaded: the one conflict item.
fn conflict_item(root: &Path) -> Value {
    reload(root);
    let d = call(root, "packer/divergence");
    let items = d["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{d}");
    items[0].clone()
}

#[test]
fn both_branches_moving_one_asset_is_a_conflict_recorded_in_a_file_that_still_parses() {
    let (_repo, root, a, merge) = moved_both_ways();
    let ids: BTreeMap<String, String> = registry_of(&root).into_iter().map(|(p, (id, _))| (p, id)).collect();
    assert!(!merge.status.success(), "git reports the conflict");
    let stderr = String::from_utf8_lossy(&merge.stderr);
    let text = std::fs::read_to_string(root.join(registry::REGISTRY_FILE)).unwrap();
    assert!(!text.contains("<<<<<<<"), "never conflict markers: {text}");
    let registry::Parsed { entries, conflicts } = registry::parse(&text, "r").unwrap();
    assert_eq!(conflicts.len(), 1, "{text}");
    assert_eq!((conflicts[0].conflict, conflicts[0].fields.clone()), (ConflictKind::Field, vec!["path".to_string()]));
    assert_eq!(conflicts[0].ids(), [a.as_str()]);
    assert_eq!(&*conflicts[0].theirs[0].path, "assets/theirs.txt");
    // The entries hold ours, and the other change merged.
    let a_entry = entries.iter().find(|e| *e.id == a).unwrap();
    assert_eq!(&*a_entry.path, "assets/ours.txt");
    assert_eq!(entries.iter().find(|e| *e.id == ids["assets/b.txt"]).unwrap().tags, ["ui"]);
    // What the driver said, beside git's own words.
    let out = String::from_utf8_lossy(&merge.stdout);
    assert!(out.contains("CONFLICT") || stderr.contains("CONFLICT"), "{out}{stderr}");

    // The packer first sees a registry changed since it last saw it (b's
    // tags, one conflict record); reloaded, the conflict is one item. Git
    // left the file at both paths: the item stands for both.
    let d = call(&root, "packer/divergence");
    let changed = d["items"].as_array().unwrap().iter().find(|i| i["kind"] == "registryChanged").cloned();
    assert_eq!(changed.expect("registryChanged")["detail"]["conflicts"], 1, "{d}");
    let item = &conflict_item(&root);
    assert!(root.join("assets/ours.txt").is_file() && root.join("assets/theirs.txt").is_file());
    assert_eq!(
        (&item["kind"], &item["path"], &item["assetId"]),
        (&json!("registryConflict"), &json!("assets/ours.txt"), &json!(a))
    );
    assert_eq!(item["detail"]["conflict"], "field");
    assert_eq!(item["detail"]["theirs"][0]["path"], "assets/theirs.txt");
    assert_eq!(item["detail"]["resolutions"], json!(["ours", "theirs", "both"]));

    // A reconcile without items never picks a side.
    let preview = plan(&root, json!({"kind": "reconcile"}));
    assert_eq!(preview["warnings"][0]["code"], "choiceNeeded", "{preview}");
    assert_eq!(preview["filesystemMutations"], json!([]), "{preview}");
    // Other mutations of the asset wait for the conflict.
    let preview = plan(&root, json!({"kind": "setMetadata", "assetId": a, "tags": ["x"]}));
    assert_eq!(preview["blockers"][0]["code"], "inConflict", "{preview}");

    // theirs: the entry moves to their path, and the copy git left at ours goes.
    let choice = json!({"kind": "reconcile", "items": [{"divergenceId": item["id"], "resolution": "theirs"}]});
    let preview = plan(&root, choice.clone());
    assert_eq!(preview["blockers"], json!([]), "{preview}");
    assert_eq!(
        preview["filesystemMutations"],
        json!([{"op": "delete", "path": "assets/ours.txt"}, {"op": "write", "path": "packer.registry.jsonl"}])
    );
    assert_eq!(preview["registryMutations"][0]["after"]["path"], "assets/theirs.txt", "{preview}");
    apply(&root, choice);
    assert!(!root.join("assets/ours.txt").exists());
    let d = call(&root, "packer/divergence");
    assert_eq!((&d["state"], &d["items"]), (&json!("clean"), &json!([])), "{d}");
    let text = std::fs::read_to_string(root.join(registry::REGISTRY_FILE)).unwrap();
    let parsed = registry::parse(&text, "r").unwrap();
    assert_eq!(parsed.conflicts, vec![], "{text}");
    assert_eq!(&*parsed.entries.iter().find(|e| *e.id == a).unwrap().path, "assets/theirs.txt");
}

#[test]
fn the_driver_refuses_what_it_cannot_read_and_leaves_ours_alone() {
    let dir = tempfile::tempdir().unwrap();
    let ours = dir.path().join("ours");
    let good = registry::render(&[]);
    std::fs::write(&ours, &good).unwrap();
    std::fs::write(dir.path().join("theirs"), format!("{good}{{oops\n")).unwrap();
    let out = packer(dir.path(), &["merge-registry", "missing-base", "ours", "theirs", "game/packer.registry.jsonl"]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("game/packer.registry.jsonl (theirs):2:"), "names the side and the line: {stderr}");
    assert_eq!(std::fs::read_to_string(&ours).unwrap(), good);
}

#[test]
fn a_conflicting_move_resolved_as_ours_removes_the_copy_at_theirs() {
    let (_repo, root, a, _) = moved_both_ways();
    let item = conflict_item(&root);
    let choice = json!({"kind": "reconcile", "items": [{"divergenceId": item["id"], "resolution": "ours"}]});
    let preview = plan(&root, choice.clone());
    assert_eq!(preview["registryMutations"], json!([]), "the entries hold ours already: {preview}");
    assert_eq!(
        preview["filesystemMutations"],
        json!([{"op": "delete", "path": "assets/theirs.txt"}, {"op": "write", "path": "packer.registry.jsonl"}])
    );
    apply(&root, choice);
    let d = call(&root, "packer/divergence");
    assert_eq!((&d["state"], &d["items"]), (&json!("clean"), &json!([])), "{d}");
    assert_eq!(registry_of(&root)["assets/ours.txt"].0, a);
    assert!(!root.join("assets/theirs.txt").exists());
}

#[test]
fn a_conflicting_move_resolved_as_both_keeps_ours_and_registers_theirs_anew() {
    let (_repo, root, a, _) = moved_both_ways();
    // A copy that differs is never removed: here `theirs` differs, so
    // resolving as `ours` would keep it (as untracked).
    std::fs::write(root.join("assets/theirs.txt"), "a, edited\n").unwrap();
    let item = conflict_item(&root);
    let ours = json!({"kind": "reconcile", "items": [{"divergenceId": item["id"], "resolution": "ours"}]});
    let preview = plan(&root, ours);
    assert_eq!(preview["warnings"][0]["code"], "copyKept", "{preview}");
    assert_eq!(preview["filesystemMutations"], json!([{"op": "write", "path": "packer.registry.jsonl"}]));

    let both = json!({"kind": "reconcile", "items": [{"divergenceId": item["id"], "resolution": "both"}]});
    let r = apply(&root, both);
    assert_eq!(r["registryMutations"][0]["op"], "add", "{r}");
    let reg = registry_of(&root);
    assert_eq!(reg["assets/ours.txt"].0, a);
    assert_ne!(reg["assets/theirs.txt"].0, a, "theirs is a new asset");
    let d = call(&root, "packer/divergence");
    assert_eq!((&d["state"], &d["items"]), (&json!("clean"), &json!([])), "{d}");
}

#[test]
fn git_setup_installs_hooks_that_never_fail_git_and_leaves_foreign_hooks_alone() {
    let (repo, root) = repository();
    let hooks = repo.path().join(".git/hooks");
    for name in ["post-checkout", "post-merge", "post-rewrite"] {
        let text = std::fs::read_to_string(hooks.join(name)).unwrap();
        assert!(text.starts_with("#!/bin/sh\n# Installed by studio-packer git-setup"), "{text}");
        assert!(text.contains(" vcs --quiet --root ") && text.trim_end().ends_with("|| true"), "{text}");
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(hooks.join(name)).unwrap().permissions().mode() & 0o111, 0o111);
    }
    // Twice is once.
    let out = packer(&root, &["git-setup"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("post-checkout hook: already installed"), "{out:?}");
    assert_eq!(std::fs::read_to_string(hooks.join("post-merge")).unwrap().lines().count(), 3);

    // With no packer running, a checkout runs the hook, which does nothing.
    let out = git(repo.path(), &["checkout", "-b", "other"]);
    assert!(!String::from_utf8_lossy(&out.stderr).contains("studio-packer"), "{out:?}");

    // A pre-commit hook someone else wrote is not touched.
    std::fs::write(hooks.join("pre-commit"), "#!/bin/sh\nexit 0\n").unwrap();
    let out = packer(&root, &["git-setup", "--pre-commit"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("pre-commit hook: ") && stdout.contains("is not ours and was left alone"), "{stdout}");
    assert!(stdout.contains(" check "), "the line to add: {stdout}");
    assert_eq!(std::fs::read_to_string(hooks.join("pre-commit")).unwrap(), "#!/bin/sh\nexit 0\n");
}

#[test]
fn the_pre_commit_hook_stops_a_commit_of_a_project_that_is_not_clean() {
    let (repo, root) = repository();
    let out = packer(&root, &["git-setup", "--pre-commit"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("pre-commit hook: installed"), "{out:?}");
    std::fs::write(root.join("assets/stray.txt"), "not registered\n").unwrap();
    git(repo.path(), &["add", "-A"]);
    let commit = git_output(repo.path(), &["commit", "-q", "-m", "stray"]);
    assert!(!commit.status.success(), "the hook stops it");
    // git shows a hook's output on its stderr.
    let said = format!("{}{}", String::from_utf8_lossy(&commit.stdout), String::from_utf8_lossy(&commit.stderr));
    assert!(said.contains("/assets/stray.txt: error[untracked]"), "{said}");
    apply(&root, json!({"kind": "register", "paths": ["assets/stray.txt"]}));
    git(repo.path(), &["add", "-A"]);
    git(repo.path(), &["commit", "-q", "-m", "registered"]);
}

#[test]
fn a_checkout_runs_the_hook_which_asks_a_running_owner_to_look_at_once() {
    let (repo, root) = repository();
    let mut s = common::Server::ready();
    let pid = s.open(&root);
    git(repo.path(), &["checkout", "-q", "-b", "other"]);
    let began = s.wait_for("externalChangeBegan", |m| m["params"]["kind"] == "externalChangeBegan");
    assert_eq!(began["params"]["reason"], "a look at the project (studio-packer vcs)");
    let ended = s.wait_for("externalChangeEnded", |m| m["params"]["kind"] == "externalChangeEnded");
    assert_eq!(ended["params"]["endedBy"], "client");
    let d = s.call("packer/divergence", json!({"projectId": pid}));
    assert_eq!(d["state"], "clean", "{d}");
}
