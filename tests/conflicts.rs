//! Registry conflict records of every kind, as a fresh clone would open
//! them: one `registryConflict` item each, resolved only by a reconcile
//! that names it, and nothing else changes the assets meanwhile.

mod common;

use common::{Fixture, Server};
use serde_json::{json, Value};

const X: &str = "01j0000000000000000000000x";
const Y: &str = "01j0000000000000000000000y";

/// An entry as the registry holds it, for a file of the fixture.
fn entry(f: &Fixture, id: &str, path: &str, tags: &[&str]) -> Value {
    let bytes = std::fs::read(f.path(path)).unwrap();
    json!({
        "id": id, "path": path, "kind": "text", "hash": blake3::hash(&bytes).to_hex().to_string(),
        "size": bytes.len(), "tags": tags, "settings": {}
    })
}

/// Writes the registry: a header, the entries, then the records.
fn write_registry(f: &Fixture, entries: &[Value], records: &[Value]) {
    let mut text = String::from("{\"format\":\"studio-packer.registry\",\"version\":1}\n");
    for line in entries.iter().chain(records) {
        text.push_str(&line.to_string());
        text.push('\n');
    }
    std::fs::write(f.path("packer.registry.jsonl"), text).unwrap();
}

fn open(f: &Fixture) -> (Server, String, Value) {
    let mut s = Server::ready();
    let pid = s.open(&f.root());
    let d = s.call("packer/divergence", json!({"projectId": pid}));
    let conflicts: Vec<&Value> =
        d["items"].as_array().unwrap().iter().filter(|i| i["kind"] == "registryConflict").collect();
    assert_eq!(conflicts.len(), 1, "one item stands for the conflict: {d}");
    let item = conflicts[0].clone();
    (s, pid, item)
}

fn resolve(s: &mut Server, pid: &str, item: &Value, resolution: &str) -> Value {
    let m = json!({"kind": "reconcile", "items": [{"divergenceId": item["id"], "resolution": resolution}]});
    s.apply(pid, m)
}

fn clean(s: &mut Server, pid: &str) {
    let d = s.call("packer/divergence", json!({"projectId": pid}));
    assert_eq!((&d["state"], &d["items"]), (&json!("clean"), &json!([])), "{d}");
}

fn registry(f: &Fixture) -> Vec<Value> {
    f.registry_text().lines().skip(1).map(|l| serde_json::from_str(l).unwrap()).collect()
}

#[test]
fn two_ids_claiming_one_path_take_one_side_and_never_both() {
    // Ours moved X from old.txt to p.txt; theirs registered Y at p.txt and
    // still has X at old.txt (git left both files).
    let f = Fixture::new(&[("assets/p.txt", b"p\n"), ("assets/old.txt", b"p\n")]);
    let ours = entry(&f, X, "assets/p.txt", &[]);
    let theirs = entry(&f, Y, "assets/p.txt", &["ui"]);
    let theirs_x = entry(&f, X, "assets/old.txt", &[]);
    let record = json!({"conflict": "pathClaimed", "base": [theirs_x], "ours": [ours], "theirs": [theirs, theirs_x]});
    write_registry(&f, std::slice::from_ref(&ours), &[record]);
    let (mut s, pid, item) = open(&f);
    let d = s.call("packer/divergence", json!({"projectId": pid}));
    assert_eq!(d["items"].as_array().unwrap().len(), 1, "the file is the conflict's, not untracked: {d}");
    assert_eq!((&item["path"], &item["assetId"]), (&json!("assets/p.txt"), &json!(X)));
    assert_eq!(item["detail"]["resolutions"], json!(["ours", "theirs"]));

    // Meanwhile: no build, no other change of the asset.
    let built = s.call("packer/build", json!({"projectId": pid}));
    assert_eq!(built["outcome"], "failed", "{built}");
    assert_eq!(built["diagnostics"][0]["code"], "diverged", "{built}");
    let r = s.apply(&pid, json!({"kind": "setMetadata", "assetId": X, "tags": ["x"]}));
    assert_eq!((&r["outcome"], &r["blockers"][0]["code"]), (&json!("rejected"), &json!("inConflict")), "{r}");
    let r = resolve(&mut s, &pid, &item, "both");
    assert_eq!(r["blockers"][0]["code"], "invalidResolution", "{r}");
    let r = s.apply(&pid, json!({"kind": "register", "paths": ["assets/old.txt"]}));
    assert_eq!(r["blockers"][0]["code"], "inConflict", "a file the record names waits for it too: {r}");

    let r = resolve(&mut s, &pid, &item, "theirs");
    assert_eq!(r["outcome"], "applied", "{r}");
    clean(&mut s, &pid);
    // Theirs whole: Y at the path, X where their side has it.
    let reg = registry(&f);
    let at = |id: &str| reg.iter().find(|e| e["id"] == id).unwrap()["path"].clone();
    assert_eq!((reg.len(), at(X), at(Y)), (2, json!("assets/old.txt"), json!("assets/p.txt")), "{reg:?}");
    assert!(f.path("assets/p.txt").is_file(), "the file is the winner's");
}

#[test]
fn a_delete_against_a_change_keeps_the_asset_as_theirs_or_drops_it_as_ours() {
    for (resolution, kept) in [("theirs", true), ("ours", false)] {
        let f = Fixture::new(&[("assets/d.txt", b"d\n"), ("assets/other.txt", b"o\n")]);
        let other = entry(&f, Y, "assets/other.txt", &[]);
        let base = entry(&f, X, "assets/d.txt", &[]);
        let theirs = entry(&f, X, "assets/d.txt", &["retagged"]);
        // Ours deleted the asset (not its file: git left it, as the side that changed it had it).
        let record = json!({"conflict": "deleted", "base": [base], "ours": [], "theirs": [theirs]});
        write_registry(&f, std::slice::from_ref(&other), &[record]);
        let (mut s, pid, item) = open(&f);
        assert_eq!((&item["path"], &item["assetId"]), (&json!("assets/d.txt"), &json!(X)));
        let r = resolve(&mut s, &pid, &item, resolution);
        assert_eq!(r["outcome"], "applied", "{r}");
        let d = s.call("packer/divergence", json!({"projectId": pid}));
        let reg = registry(&f);
        if kept {
            clean(&mut s, &pid);
            assert_eq!(reg.len(), 2);
            assert_eq!(reg.iter().find(|e| e["id"] == X).unwrap()["tags"], json!(["retagged"]));
        } else {
            // The entry stays deleted; the file git left is now simply untracked.
            assert_eq!(reg.len(), 1);
            let items = d["items"].as_array().unwrap();
            assert_eq!((items.len(), &items[0]["kind"]), (1, &json!("untracked")), "{d}");
        }
        assert!(!f.registry_text().contains("\"conflict\""), "the record is gone");
    }
}

#[test]
fn records_stand_through_other_writes_and_a_default_reconcile_never_picks_a_side() {
    let f = Fixture::new(&[("assets/a.txt", b"a\n"), ("assets/b.txt", b"b\n")]);
    let a_ours = entry(&f, X, "assets/a.txt", &["ours"]);
    let a_theirs = entry(&f, X, "assets/a.txt", &["theirs"]);
    let record = json!({"conflict": "field", "fields": ["settings.mode"], "base": [a_ours], "ours": [a_ours], "theirs": [a_theirs]});
    write_registry(&f, std::slice::from_ref(&a_ours), std::slice::from_ref(&record));
    let (mut s, pid, item) = open(&f);
    assert_eq!(item["detail"]["resolutions"], json!(["ours", "theirs"]));
    // Another asset registered meanwhile: the record is written again with it.
    let r = s.apply(&pid, json!({"kind": "register", "paths": ["assets/b.txt"]}));
    assert_eq!(r["outcome"], "applied", "{r}");
    let text = f.registry_text();
    let last: Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
    assert_eq!(last, record, "{text}");
    assert_eq!(text.lines().count(), 4, "header, two entries, the record: {text}");
    // A reconcile without items leaves the conflict.
    let r = s.apply(&pid, json!({"kind": "reconcile"}));
    assert_eq!(r["warnings"][0]["code"], "choiceNeeded", "{r}");
    let d = s.call("packer/divergence", json!({"projectId": pid}));
    assert_eq!(d["items"][0]["id"], item["id"], "the same item, under the same id: {d}");
    let r = resolve(&mut s, &pid, &item, "ours");
    assert_eq!(r["outcome"], "applied", "{r}");
    clean(&mut s, &pid);
}

#[test]
fn taking_the_side_that_deleted_an_asset_leaves_its_file_untracked() {
    let f = Fixture::new(&[("assets/d.txt", b"d\n")]);
    let ours = entry(&f, X, "assets/d.txt", &["changed"]);
    let base = entry(&f, X, "assets/d.txt", &[]);
    let record = json!({"conflict": "deleted", "base": [base], "ours": [ours], "theirs": []});
    write_registry(&f, std::slice::from_ref(&ours), &[record]);
    let (mut s, pid, item) = open(&f);
    let r = resolve(&mut s, &pid, &item, "theirs");
    assert_eq!((&r["outcome"], &r["registryMutations"][0]["op"]), (&json!("applied"), &json!("remove")), "{r}");
    assert_eq!(
        r["filesystemMutations"],
        json!([{"op": "write", "path": "packer.registry.jsonl"}]),
        "no file is deleted"
    );
    let d = s.call("packer/divergence", json!({"projectId": pid}));
    let items = d["items"].as_array().unwrap();
    assert_eq!(
        (items.len(), &items[0]["kind"], &items[0]["path"]),
        (1, &json!("untracked"), &json!("assets/d.txt")),
        "{d}"
    );
}
