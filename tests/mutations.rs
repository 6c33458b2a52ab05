//! Preview and apply of every mutation kind, against the real binary.

mod common;

use common::{register_all, Fixture, Server};
use serde_json::{json, Value};

fn codes(list: &Value) -> Vec<String> {
    list.as_array().unwrap().iter().map(|i| i["code"].as_str().unwrap().to_string()).collect()
}

#[test]
fn asset_id_survives_a_move_and_file_and_registry_change_together() {
    let f = Fixture::with_text_files(2);
    let mut s = Server::ready();
    let pid = s.open(&f.root());
    let ids = register_all(&mut s, &pid, &f);
    let id = &ids["assets/f000.txt"];
    let r = s.apply(&pid, json!({"kind": "move", "assetId": id, "to": "assets/sub/renamed.txt"}));
    assert_eq!(r["outcome"], "applied");
    assert_eq!(r["registryMutations"][0]["op"], "update");
    assert_eq!(r["registryMutations"][0]["before"]["path"], "assets/f000.txt");
    assert_eq!(r["registryMutations"][0]["after"]["path"], "assets/sub/renamed.txt");
    assert_eq!(
        r["filesystemMutations"][0],
        json!({"op": "move", "path": "assets/f000.txt", "to": "assets/sub/renamed.txt"})
    );
    let a = s.call("packer/getAsset", json!({"projectId": pid, "assetId": id}));
    assert_eq!(a["asset"]["path"], "assets/sub/renamed.txt");
    assert_eq!(a["asset"]["status"], "ok");
    assert_eq!(a["generation"], r["generation"]);
    assert!(!f.path("assets/f000.txt").exists());
    assert_eq!(std::fs::read(f.path("assets/sub/renamed.txt")).unwrap(), b"file 0\n");
    assert_eq!(f.registry_paths()[id], "assets/sub/renamed.txt");
}

#[test]
fn preview_changes_nothing_on_disk() {
    let f = Fixture::with_text_files(3);
    let mut s = Server::ready();
    let pid = s.open(&f.root());
    let ids = register_all(&mut s, &pid, &f);
    let before = f.tree();
    let gen = s.call("packer/summary", json!({"projectId": pid}))["generation"].clone();
    let mutation = json!({"kind": "batch", "mutations": [
        {"kind": "move", "assetId": ids["assets/f000.txt"], "to": "assets/x/y.txt"},
        {"kind": "delete", "assetIds": [ids["assets/f001.txt"]]},
        {"kind": "setMetadata", "assetId": ids["assets/f002.txt"], "tags": ["ui"]},
    ]});
    let p = s.call("packer/previewMutation", json!({"projectId": pid, "mutation": mutation}));
    assert_eq!(p["blockers"], json!([]));
    assert_eq!(p["baseGeneration"], gen);
    assert_eq!(p["registryMutations"].as_array().unwrap().len(), 3);
    let fs_ops: Vec<&str> =
        p["filesystemMutations"].as_array().unwrap().iter().map(|m| m["op"].as_str().unwrap()).collect();
    assert_eq!(fs_ops, ["move", "delete", "write"]);
    assert_eq!(f.tree(), before);
    assert_eq!(s.call("packer/summary", json!({"projectId": pid}))["generation"], gen);
}

#[test]
fn apply_after_a_conflicting_change_rejects_with_the_right_blocker() {
    let f = Fixture::with_text_files(2);
    let mut s = Server::ready();
    let pid = s.open(&f.root());
    let ids = register_all(&mut s, &pid, &f);
    let mv = json!({"kind": "move", "assetId": ids["assets/f000.txt"], "to": "assets/target.txt"});
    let p = s.call("packer/previewMutation", json!({"projectId": pid, "mutation": mv}));
    assert_eq!(p["blockers"], json!([]));
    // Someone else takes the target path in between.
    let other = s.apply(&pid, json!({"kind": "move", "assetId": ids["assets/f001.txt"], "to": "assets/target.txt"}));
    assert_eq!(other["outcome"], "applied");
    let registry = f.registry_text();
    let r = s.apply(&pid, mv.clone());
    assert_eq!(r["outcome"], "rejected");
    assert_eq!(codes(&r["blockers"]), ["targetExists"]);
    assert_eq!(f.registry_text(), registry);
    // A file created behind the packer's back is someone's work: never overwritten.
    f.write("assets/elsewhere.txt", b"mine");
    let r = s.apply(&pid, json!({"kind": "move", "assetId": ids["assets/f000.txt"], "to": "assets/elsewhere.txt"}));
    assert_eq!(codes(&r["blockers"]), ["targetExists"]);
    assert_eq!(std::fs::read(f.path("assets/elsewhere.txt")).unwrap(), b"mine");
}

#[test]
fn expected_generation_that_is_stale_rejects() {
    let f = Fixture::with_text_files(1);
    let mut s = Server::ready();
    let pid = s.open(&f.root());
    let ids = register_all(&mut s, &pid, &f);
    let gen = s.call("packer/summary", json!({"projectId": pid}))["generation"].as_u64().unwrap();
    let id = &ids["assets/f000.txt"];
    let tag = |t: &str| json!({"kind": "setMetadata", "assetId": id, "tags": [t]});
    let ok = s.call("packer/applyMutation", json!({"projectId": pid, "mutation": tag("a"), "expectedGeneration": gen}));
    assert_eq!(ok["outcome"], "applied");
    assert_eq!(ok["generation"], gen + 1);
    let stale =
        s.call("packer/applyMutation", json!({"projectId": pid, "mutation": tag("b"), "expectedGeneration": gen}));
    assert_eq!(stale["outcome"], "rejected");
    // A blocker is a diagnostic of severity `error`.
    let message = format!("expected generation {gen}, but the project is at generation {}", gen + 1);
    assert_eq!(stale["blockers"], json!([{"severity": "error", "code": "staleGeneration", "message": message}]));
    assert_eq!(stale["generation"], gen + 1);
    let a = s.call("packer/getAsset", json!({"projectId": pid, "assetId": id}));
    assert_eq!(a["asset"]["tags"], json!(["a"]));
}

#[test]
fn registry_is_byte_identical_after_a_no_op() {
    let f = Fixture::with_text_files(3);
    let mut s = Server::ready();
    let pid = s.open(&f.root());
    let ids = register_all(&mut s, &pid, &f);
    let id = &ids["assets/f001.txt"];
    s.apply(&pid, json!({"kind": "setMetadata", "assetId": id, "tags": ["b", "a"], "settings": {"q": 1}}));
    let before = std::fs::read(f.path("packer.registry.jsonl")).unwrap();
    let mtime = std::fs::metadata(f.path("packer.registry.jsonl")).unwrap().modified().unwrap();
    let gen = s.call("packer/summary", json!({"projectId": pid}))["generation"].clone();
    for m in [
        json!({"kind": "setMetadata", "assetId": id, "tags": ["a", "b"], "settings": {"q": 1}}),
        json!({"kind": "move", "assetId": id, "to": "assets/f001.txt"}),
        json!({"kind": "batch", "mutations": []}),
    ] {
        let r = s.apply(&pid, m);
        assert_eq!(r["outcome"], "applied");
        assert_eq!(r["registryMutations"], json!([]));
        assert_eq!(r["filesystemMutations"], json!([]));
        assert_eq!(r["generation"], gen);
    }
    assert_eq!(std::fs::read(f.path("packer.registry.jsonl")).unwrap(), before);
    assert_eq!(std::fs::metadata(f.path("packer.registry.jsonl")).unwrap().modified().unwrap(), mtime);
    // And the rendering is canonical: what the packer writes it would write again.
    let line = f.registry_text().lines().nth(1).unwrap().to_string();
    assert!(line.starts_with("{\"id\":"), "{line}");
    let keys: Vec<String> =
        serde_json::from_str::<serde_json::Map<String, Value>>(&line).unwrap().keys().cloned().collect();
    assert_eq!(keys.len(), 7);
    let order = ["\"id\"", "\"path\"", "\"kind\"", "\"hash\"", "\"size\"", "\"tags\"", "\"settings\""];
    let positions: Vec<usize> = order.iter().map(|k| line.find(k).unwrap()).collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "{line}");
}

#[test]
fn batch_is_all_or_nothing() {
    let f = Fixture::with_text_files(3);
    let mut s = Server::ready();
    let pid = s.open(&f.root());
    let ids = register_all(&mut s, &pid, &f);
    let before = f.tree();
    let r = s.apply(
        &pid,
        json!({"kind": "batch", "mutations": [
            {"kind": "move", "assetId": ids["assets/f000.txt"], "to": "assets/ok.txt"},
            {"kind": "move", "assetId": "no-such-asset", "to": "assets/x.txt"},
        ]}),
    );
    assert_eq!(r["outcome"], "rejected");
    assert_eq!(codes(&r["blockers"]), ["unknownAsset"]);
    assert_eq!(f.tree(), before);
    // Later steps see earlier ones: a chain of moves through a freed path.
    let r = s.apply(
        &pid,
        json!({"kind": "batch", "mutations": [
            {"kind": "move", "assetId": ids["assets/f000.txt"], "to": "assets/tmp.txt"},
            {"kind": "move", "assetId": ids["assets/f001.txt"], "to": "assets/f000.txt"},
            {"kind": "move", "assetId": ids["assets/f000.txt"], "to": "assets/f001.txt"},
        ]}),
    );
    assert_eq!(r["outcome"], "applied", "{r}");
    let paths = f.registry_paths();
    assert_eq!(paths[&ids["assets/f000.txt"]], "assets/f001.txt");
    assert_eq!(paths[&ids["assets/f001.txt"]], "assets/f000.txt");
    assert_eq!(std::fs::read(f.path("assets/f001.txt")).unwrap(), b"file 0\n");
}

#[test]
fn delete_unregister_and_register() {
    let f = Fixture::with_text_files(3);
    let mut s = Server::ready();
    let pid = s.open(&f.root());
    let summary = s.call("packer/summary", json!({"projectId": pid}));
    assert_eq!(summary["divergence"], json!({"state": "diverged", "count": 3}));
    let ids = register_all(&mut s, &pid, &f);
    assert_eq!(
        s.call("packer/summary", json!({"projectId": pid}))["divergence"],
        json!({"state": "clean", "count": 0})
    );
    let r = s.apply(&pid, json!({"kind": "delete", "assetIds": [ids["assets/f000.txt"]]}));
    assert_eq!(r["outcome"], "applied");
    assert!(!f.path("assets/f000.txt").exists());
    let r = s.apply(&pid, json!({"kind": "unregister", "assetIds": [ids["assets/f001.txt"]]}));
    assert_eq!(r["registryMutations"][0]["op"], "remove");
    assert!(f.path("assets/f001.txt").exists());
    let summary = s.call("packer/summary", json!({"projectId": pid}));
    assert_eq!(summary["assets"]["total"], 1);
    assert_eq!(summary["divergence"]["count"], 1, "the unregistered file is untracked again");
    // Registering it again gives a new identity.
    let r = s.apply(&pid, json!({"kind": "register", "paths": ["assets/f001.txt"]}));
    assert_eq!(r["registryMutations"][0]["op"], "add");
    assert_ne!(r["registryMutations"][0]["assetId"], json!(ids["assets/f001.txt"]));
    let again = s.apply(&pid, json!({"kind": "register", "paths": ["assets/f001.txt", "assets", "assets/none.txt"]}));
    assert_eq!(codes(&again["blockers"]), ["alreadyRegistered", "notAFile", "notFound"]);
}

#[test]
fn paths_outside_the_project_are_blocked() {
    let outside = tempfile::tempdir().unwrap();
    let f = Fixture::with_text_files(1);
    std::os::unix::fs::symlink(outside.path(), f.path("assets/out")).unwrap();
    let mut s = Server::ready();
    let pid = s.open(&f.root());
    let ids = register_all(&mut s, &pid, &f);
    let id = &ids["assets/f000.txt"];
    for (to, code) in [
        ("../escape.txt", "outsideProject"),
        ("/tmp/abs.txt", "outsideProject"),
        ("C:/x.txt", "outsideProject"),
        ("assets/out/x.txt", "outsideProject"),
        ("assets/a\\b.txt", "invalidName"),
        ("assets/what?.txt", "invalidName"),
        (".packer/x.txt", "invalidName"),
        ("packer.toml", "invalidName"),
        // Windows device names, refused like trailing dots and spaces.
        ("assets/con", "invalidName"),
        ("assets/AUX.png", "invalidName"),
        ("assets/com1/x.txt", "invalidName"),
        ("assets/x.", "invalidName"),
    ] {
        let p = s.call(
            "packer/previewMutation",
            json!({"projectId": pid, "mutation": {"kind": "move", "assetId": id, "to": to}}),
        );
        assert_eq!(codes(&p["blockers"]), [code], "{to}");
    }
    assert_eq!(std::fs::read_dir(outside.path()).unwrap().count(), 0);
}

#[test]
fn an_asset_may_not_move_into_or_be_registered_in_the_build_output() {
    let f = Fixture::with_text_files(1);
    f.write("build/loose.txt", b"put there by hand\n");
    let mut s = Server::ready();
    let pid = s.open(&f.root());
    let ids = register_all(&mut s, &pid, &f);
    let id = &ids["assets/f000.txt"];
    for to in ["build/main.pack", "build/sub/x.txt"] {
        let p = s.call(
            "packer/previewMutation",
            json!({"projectId": pid, "mutation": {"kind": "move", "assetId": id, "to": to}}),
        );
        let message = format!("`{to}` is inside the build output (`build`), where a build replaces files with packs");
        let blocker =
            json!({"severity": "error", "code": "inBuildOutput", "message": message, "assetId": id, "path": to});
        assert_eq!(p["blockers"], json!([blocker]), "{to}: {p}");
    }
    let p = s.call(
        "packer/previewMutation",
        json!({"projectId": pid, "mutation": {"kind": "register", "paths": ["build/loose.txt"]}}),
    );
    assert_eq!(codes(&p["blockers"]), ["inBuildOutput"], "{p}");
    // Applying is refused the same way, and nothing moved.
    let a = s.call(
        "packer/applyMutation",
        json!({"projectId": pid, "mutation": {"kind": "move", "assetId": id, "to": "build/main.pack"}}),
    );
    assert_eq!(a["outcome"], "rejected", "{a}");
    assert_eq!(codes(&a["blockers"]), ["inBuildOutput"]);
    assert!(f.path("assets/f000.txt").exists());
    assert!(!f.path("build/main.pack").exists());
}

#[test]
fn a_move_outside_the_roots_to_an_excluded_name_warns_of_both() {
    let f = Fixture::with_text_files(1);
    let mut s = Server::ready();
    let pid = s.open(&f.root());
    let ids = register_all(&mut s, &pid, &f);
    let p = s.call(
        "packer/previewMutation",
        json!({"projectId": pid, "mutation": {"kind": "move", "assetId": ids["assets/f000.txt"], "to": "docs/x.tmp"}}),
    );
    assert_eq!(codes(&p["blockers"]), Vec::<String>::new(), "{p}");
    assert_eq!(codes(&p["warnings"]), ["kindChanged", "outsideAssetRoots", "excluded"], "{p}");
    // A warning is a diagnostic of severity `warning`.
    let severities: Vec<&Value> = p["warnings"].as_array().unwrap().iter().map(|w| &w["severity"]).collect();
    assert_eq!(severities, [&json!("warning"); 3], "{p}");
}

#[test]
fn content_problems_are_diagnostics_not_crashes() {
    let f = Fixture::new(&[
        ("assets/bad.json", b"{\n  \"a\": }"),
        ("assets/bad.png", b"\x89PNG\r\n\x1a\nnope"),
        ("assets/good.json", b"{\"a\": 1}"),
    ]);
    let mut s = Server::ready();
    let pid = s.open(&f.root());
    let ids = register_all(&mut s, &pid, &f);
    let d = s.call("packer/diagnostics", json!({"projectId": pid}));
    let items = d["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "{d}");
    let bad_json = items.iter().find(|i| i["code"] == "invalidJson").unwrap();
    assert_eq!(bad_json["severity"], "error");
    assert_eq!(bad_json["path"], "assets/bad.json");
    assert_eq!(bad_json["assetId"], json!(ids["assets/bad.json"]));
    assert!(bad_json["message"].as_str().unwrap().contains("line 2"));
    let summary = s.call("packer/summary", json!({"projectId": pid}));
    assert_eq!(summary["diagnostics"], json!({"errors": 2, "warnings": 0}));
    assert_eq!(summary["assets"]["byStatus"], json!({"ok": 1, "invalid": 2, "modified": 0, "missing": 0}));
    let a = s.call("packer/getAsset", json!({"projectId": pid, "assetId": ids["assets/good.json"]}));
    assert_eq!(a["asset"]["metadata"], json!({"format": "json", "valid": true}));
}

#[test]
fn list_assets_filters_pages_and_cursors_pin_their_generation() {
    let f = Fixture::with_text_files(25);
    f.write("assets/img/a.png", &tiny_png());
    let mut s = Server::ready();
    let pid = s.open(&f.root());
    let ids = register_all(&mut s, &pid, &f);
    let page = s.call("packer/listAssets", json!({"projectId": pid, "limit": 10}));
    assert_eq!(page["items"].as_array().unwrap().len(), 10);
    let cursor = page["nextCursor"].clone();
    let page2 = s.call("packer/listAssets", json!({"projectId": pid, "limit": 10, "cursor": cursor}));
    assert_eq!(page2["items"][0]["path"], "assets/f010.txt");
    let images = s.call("packer/listAssets", json!({"projectId": pid, "filter": {"kind": "image"}}));
    assert_eq!(images["items"].as_array().unwrap().len(), 1);
    assert_eq!(images["items"][0]["metadata"]["width"], 1);
    assert_eq!(images["nextCursor"], Value::Null);
    let text =
        s.call("packer/listAssets", json!({"projectId": pid, "filter": {"text": "F02", "pathPrefix": "assets/"}}));
    assert_eq!(text["items"].as_array().unwrap().len(), 5);
    s.apply(&pid, json!({"kind": "setMetadata", "assetId": ids["assets/f003.txt"], "tags": ["hud"]}));
    let tagged = s.call("packer/listAssets", json!({"projectId": pid, "filter": {"tag": "hud"}}));
    assert_eq!(tagged["items"][0]["id"], json!(ids["assets/f003.txt"]));
    let e = s.request("packer/listAssets", json!({"projectId": pid, "limit": 10, "cursor": cursor})).unwrap_err();
    assert_eq!(e["code"], -32801);
    assert_eq!(e["data"]["generation"], tagged["generation"]);
}

fn tiny_png() -> Vec<u8> {
    // A valid 1x1 PNG, built from its parts.
    let mut v = b"\x89PNG\r\n\x1a\n".to_vec();
    let chunk = |t: &[u8], d: &[u8]| {
        let mut c = (d.len() as u32).to_be_bytes().to_vec();
        c.extend_from_slice(t);
        c.extend_from_slice(d);
        c.extend_from_slice(&crc(&[t, d].concat()).to_be_bytes());
        c
    };
    v.extend(chunk(b"IHDR", &[0, 0, 0, 1, 0, 0, 0, 1, 8, 6, 0, 0, 0]));
    v.extend(chunk(b"IDAT", &[0x78, 0x9c, 0x63, 0x60, 0x60, 0x60, 0x60, 0, 0, 0, 5, 0, 1]));
    v.extend(chunk(b"IEND", &[]));
    v
}

fn crc(data: &[u8]) -> u32 {
    let mut c = 0xffff_ffffu32;
    for &b in data {
        c ^= u32::from(b);
        for _ in 0..8 {
            c = if c & 1 != 0 { 0xedb8_8320 ^ (c >> 1) } else { c >> 1 };
        }
    }
    !c
}

#[test]
fn a_registered_path_naming_a_windows_device_still_loads_and_can_be_moved_to_a_better_name() {
    let f = Fixture::new(&[("assets/aux.txt", b"from before the rule\n")]);
    // Registered by an older packer, which accepted the name.
    let mut s = Server::ready();
    let pid = s.open(&f.root());
    let p = s.call(
        "packer/previewMutation",
        json!({"projectId": pid, "mutation": {"kind": "register", "paths": ["assets/aux.txt"]}}),
    );
    assert_eq!(codes(&p["blockers"]), ["invalidName"], "{p}");
    assert_eq!(s.shutdown(), 0);
    let id = "0000000000000000000000000a";
    let hash = s_hash(b"from before the rule\n");
    let line = format!(
        "{{\"id\":\"{id}\",\"path\":\"assets/aux.txt\",\"kind\":\"text\",\"hash\":\"{hash}\",\"size\":21,\"tags\":[],\"settings\":{{}}}}\n"
    );
    let registry = f.registry_text() + &line;
    std::fs::write(f.path("packer.registry.jsonl"), registry).unwrap();
    std::fs::remove_dir_all(f.path(".packer")).unwrap();
    let mut s = Server::ready();
    let pid = s.open(&f.root());
    let moved = s.apply(&pid, json!({"kind": "move", "assetId": id, "to": "assets/auxiliary.txt"}));
    assert_eq!(moved["outcome"], "applied", "{moved}");
}

fn s_hash(bytes: &[u8]) -> String {
    blake3::hash(bytes).to_hex().to_string()
}
