//! References between assets, over the wire: what a level names and what
//! names a sprite (`packer/references`), the counts `getAsset`, the summary
//! and `listAssets` give, broken references as diagnostics with their line,
//! and a glTF model's buffers and images.

mod common;

use common::{png, Fixture, Server};
use serde_json::{json, Value};

/// A WAV file of no samples (a valid header).
const WAV: &[u8] = b"RIFF\x24\0\0\0WAVEfmt \x10\0\0\0\x01\0\x01\0\x44\xac\0\0\x88\x58\x01\0\x02\0\x10\0data\0\0\0\0";

/// A project with a sprite, a second sprite and a sound registered; returns
/// the server, the project id and `path -> id`.
fn project(f: &Fixture) -> (Server, String, std::collections::BTreeMap<String, String>) {
    let mut s = Server::ready();
    let pid = s.open(&f.root());
    let ids = common::register_all(&mut s, &pid, f);
    (s, pid, ids)
}

fn register(s: &mut Server, pid: &str, paths: &[&str]) {
    let r = s.apply(pid, json!({"kind": "register", "paths": paths}));
    assert_eq!(r["outcome"], "applied", "{r}");
}

fn id_of(s: &mut Server, pid: &str, path: &str) -> String {
    let page = s.call("packer/listAssets", json!({"projectId": pid, "filter": {"pathPrefix": path}}));
    page["items"][0]["id"].as_str().unwrap().to_string()
}

#[test]
fn a_level_names_a_sprite_by_id_and_a_sound_by_path_and_both_directions_are_answered() {
    let f = Fixture::new(&[
        ("assets/sprites/hero.png", &png(4, 4)),
        ("assets/sprites/villain.png", &png(4, 4)),
        ("assets/sounds/jump.wav", WAV),
    ]);
    let (mut s, pid, ids) = project(&f);
    let hero = ids["assets/sprites/hero.png"].clone();
    let jump = ids["assets/sounds/jump.wav"].clone();
    let level = format!(
        "{{\n  \"name\": \"level 1\",\n  \"sprites\": [\"asset:{hero}\"],\n  \"music\": {{\n    \"jump\": \"asset:assets/sounds/jump.wav\"\n  }}\n}}\n"
    );
    f.write("assets/levels/l1.json", level.as_bytes());
    register(&mut s, &pid, &["assets/levels/l1.json"]);
    let l1 = id_of(&mut s, &pid, "assets/levels/l1.json");

    let r = s.call("packer/references", json!({"projectId": pid, "assetId": l1}));
    assert_eq!(r["assetId"], l1.as_str());
    assert_eq!(r["path"], "assets/levels/l1.json");
    assert_eq!(
        r["uses"],
        json!([
            {"assetId": hero, "path": "assets/sprites/hero.png", "by": "id", "target": hero, "broken": false,
             "pointer": "/sprites/0", "line": 3, "column": 15},
            {"assetId": jump, "path": "assets/sounds/jump.wav", "by": "path", "target": "assets/sounds/jump.wav",
             "broken": false, "pointer": "/music/jump", "line": 5, "column": 13},
        ])
    );
    assert_eq!(r["usedBy"], json!([]));
    assert_eq!(r["counts"], json!({"uses": 2, "usedBy": 0, "broken": 0}));

    let r = s.call("packer/references", json!({"projectId": pid, "assetId": hero}));
    assert_eq!(r["uses"], json!([]));
    assert_eq!(
        r["usedBy"],
        json!([{"assetId": l1, "path": "assets/levels/l1.json", "by": "id", "target": hero, "broken": false,
                "pointer": "/sprites/0", "line": 3, "column": 15}])
    );
    let r = s.call("packer/references", json!({"projectId": pid, "assetId": jump}));
    assert_eq!(r["usedBy"][0]["pointer"], "/music/jump");
    assert_eq!(r["usedBy"][0]["by"], "path");

    let a = s.call("packer/getAsset", json!({"projectId": pid, "assetId": hero}));
    assert_eq!(a["references"], json!({"uses": 0, "usedBy": 1, "broken": 0}));
    let a = s.call("packer/getAsset", json!({"projectId": pid, "assetId": l1}));
    assert_eq!(a["references"], json!({"uses": 2, "usedBy": 0, "broken": 0}));

    // Nothing names the villain, nor the level.
    let unused = s.call("packer/listAssets", json!({"projectId": pid, "filter": {"unused": true}}));
    let paths: Vec<&str> = unused["items"].as_array().unwrap().iter().map(|a| a["path"].as_str().unwrap()).collect();
    assert_eq!(paths, ["assets/levels/l1.json", "assets/sprites/villain.png"]);
    let used = s.call("packer/listAssets", json!({"projectId": pid, "filter": {"unused": false}}));
    let paths: Vec<&str> = used["items"].as_array().unwrap().iter().map(|a| a["path"].as_str().unwrap()).collect();
    assert_eq!(paths, ["assets/sounds/jump.wav", "assets/sprites/hero.png"]);

    let summary = s.call("packer/summary", json!({"projectId": pid}));
    assert_eq!(summary["references"], json!({"broken": 0}));
    assert_eq!(s.shutdown(), 0);
}

#[test]
fn a_broken_reference_is_an_error_on_its_file_at_its_line_and_mends_when_its_target_appears() {
    let f = Fixture::new(&[(
        "assets/ui/menu.toml",
        b"title = \"Menu\"\n\n[buttons]\nplay = \"asset:assets/ui/play.png\"\nback = \"asset:nosuchid\"\n",
    )]);
    let (mut s, pid, ids) = project(&f);
    let menu = ids["assets/ui/menu.toml"].clone();
    let d = s.call("packer/diagnostics", json!({"projectId": pid, "assetId": menu}));
    assert_eq!(
        d["items"],
        json!([
            {"severity": "error", "code": "brokenReference", "assetId": menu, "path": "assets/ui/menu.toml",
             "line": 4, "column": 8,
             "message": "broken reference `asset:assets/ui/play.png` at `/buttons/play`: no asset is at `assets/ui/play.png`"},
            {"severity": "error", "code": "brokenReference", "assetId": menu, "path": "assets/ui/menu.toml",
             "line": 5, "column": 8,
             "message": "broken reference `asset:nosuchid` at `/buttons/back`: no asset has the id `nosuchid`"},
        ])
    );
    let summary = s.call("packer/summary", json!({"projectId": pid}));
    assert_eq!(summary["references"], json!({"broken": 2}));
    assert_eq!(summary["diagnostics"]["errors"], 2);
    let a = s.call("packer/getAsset", json!({"projectId": pid, "assetId": menu}));
    assert_eq!(a["references"], json!({"uses": 2, "usedBy": 0, "broken": 2}));
    assert_eq!(a["asset"]["diagnostics"].as_array().unwrap().len(), 2);
    let r = s.call("packer/references", json!({"projectId": pid, "assetId": menu}));
    assert_eq!(
        r["uses"][0],
        json!({"by": "path", "target": "assets/ui/play.png", "broken": true, "pointer": "/buttons/play",
               "line": 4, "column": 8})
    );

    // The file appears (untracked: still broken, and the message says why),
    // then is registered: the reference mends, without the menu being read again.
    f.write("assets/ui/play.png", &png(2, 2));
    let d = s.divergence_until(&pid, |d| d["items"].as_array().unwrap().iter().any(|i| i["kind"] == "untracked"));
    assert_eq!(d["state"], "diverged");
    let d = s.call("packer/diagnostics", json!({"projectId": pid, "assetId": menu}));
    assert!(d["items"][0]["message"].as_str().unwrap().ends_with("`assets/ui/play.png` is not registered"), "{d}");
    register(&mut s, &pid, &["assets/ui/play.png"]);
    let summary = s.call("packer/summary", json!({"projectId": pid}));
    assert_eq!(summary["references"], json!({"broken": 1}));
    let play = id_of(&mut s, &pid, "assets/ui/play.png");
    let r = s.call("packer/references", json!({"projectId": pid, "assetId": play}));
    assert_eq!(r["usedBy"][0]["assetId"], menu.as_str());

    // Editing the menu re-reads its references: the dangling id goes.
    f.write("assets/ui/menu.toml", b"title = \"Menu\"\n\n[buttons]\nplay = \"asset:assets/ui/play.png\"\n");
    s.divergence_until(&pid, |d| d["items"].as_array().unwrap().iter().any(|i| i["kind"] == "modified"));
    let summary = s.call("packer/summary", json!({"projectId": pid}));
    assert_eq!(summary["references"], json!({"broken": 0}));
    let a = s.call("packer/getAsset", json!({"projectId": pid, "assetId": menu}));
    assert_eq!(a["references"], json!({"uses": 1, "usedBy": 0, "broken": 0}));
    assert_eq!(s.shutdown(), 0);
}

#[test]
fn a_gltf_model_names_its_buffers_and_images_relative_to_its_folder() {
    let gltf = br#"{
  "asset": {"version": "2.0"},
  "buffers": [{"uri": "box.bin", "byteLength": 4}, {"uri": "data:application/octet-stream;base64,AAAA", "byteLength": 3}],
  "images": [{"uri": "../textures/brick%20wall.png"}]
}
"#;
    let f = Fixture::new(&[
        ("assets/models/box.gltf", gltf),
        ("assets/models/box.bin", b"\0\0\0\0"),
        ("assets/textures/brick wall.png", &png(2, 2)),
    ]);
    let (mut s, pid, ids) = project(&f);
    let model = ids["assets/models/box.gltf"].clone();
    let a = s.call("packer/getAsset", json!({"projectId": pid, "assetId": model}));
    assert_eq!(a["asset"]["kind"], "model");
    let r = s.call("packer/references", json!({"projectId": pid, "assetId": model}));
    let uses: Vec<(Value, Value, Value)> = r["uses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| (u["path"].clone(), u["pointer"].clone(), u["line"].clone()))
        .collect();
    assert_eq!(
        uses,
        vec![
            (json!("assets/models/box.bin"), json!("/buffers/0/uri"), json!(3)),
            (json!("assets/textures/brick wall.png"), json!("/images/0/uri"), json!(4)),
        ]
    );
    let summary = s.call("packer/summary", json!({"projectId": pid}));
    assert_eq!(summary["assets"]["byKind"]["model"], 1);
    assert_eq!(summary["references"], json!({"broken": 0}));
    assert_eq!(s.shutdown(), 0);
}

#[test]
fn references_survive_a_restart_from_the_stat_cache() {
    let f = Fixture::new(&[("assets/a.txt", b"a"), ("assets/list.json", b"[\"asset:assets/a.txt\"]")]);
    let (s, _pid, ids) = project(&f);
    assert_eq!(s.shutdown(), 0);
    // A new process reads no file again (the stat cache holds the references).
    let mut s = Server::ready();
    let pid = s.open(&f.root());
    let r = s.call("packer/references", json!({"projectId": pid, "assetId": ids["assets/a.txt"]}));
    assert_eq!(r["usedBy"][0]["assetId"], ids["assets/list.json"].as_str());
    assert_eq!(r["usedBy"][0]["pointer"], "/0");
    assert_eq!(s.shutdown(), 0);
}

#[test]
fn check_and_build_name_a_broken_reference_at_its_file_and_line() {
    let f = Fixture::new(&[
        ("assets/a.txt", b"a"),
        ("assets/levels/l1.json", b"{\n  \"ok\": \"asset:assets/a.txt\",\n  \"bad\": \"asset:assets/gone.png\"\n}\n"),
    ]);
    let (mut s, pid, ids) = project(&f);
    let b = s.call("packer/build", json!({"projectId": pid}));
    assert_eq!(b["outcome"], "failed", "{b}");
    assert_eq!(
        b["diagnostics"],
        json!([{"severity": "error", "code": "brokenReference", "assetId": ids["assets/levels/l1.json"],
                "path": "assets/levels/l1.json", "line": 3, "column": 10,
                "message": "broken reference `asset:assets/gone.png` at `/bad`: no asset is at `assets/gone.png`"}])
    );
    assert_eq!(s.shutdown(), 0);

    let out = std::process::Command::new(common::BIN).arg("check").arg(f.root()).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stdout));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.lines().any(|l| l.contains("/assets/levels/l1.json:3:10: error[brokenReference]: ")
            && l.contains("`asset:assets/gone.png`")),
        "{text}"
    );
    let out = std::process::Command::new(common::BIN).arg("check").arg(f.root()).arg("--json").output().unwrap();
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let finding =
        report["findings"].as_array().unwrap().iter().find(|x| x["code"] == "brokenReference").unwrap().clone();
    assert_eq!((finding["path"].clone(), finding["line"].clone()), (json!("assets/levels/l1.json"), json!(3)));

    // Fixed: the build goes through.
    f.write("assets/gone.png", &png(2, 2));
    let mut s = Server::ready();
    let pid = s.open(&f.root());
    register(&mut s, &pid, &["assets/gone.png"]);
    let b = s.call("packer/build", json!({"projectId": pid}));
    assert_eq!(b["outcome"], "succeeded", "{b}");
    assert_eq!(s.shutdown(), 0);
}

#[test]
fn deleting_what_a_level_uses_is_blocked_naming_the_level_unless_the_batch_removes_the_level_too() {
    let f = Fixture::new(&[("assets/sprites/hero.png", &png(2, 2)), ("assets/sounds/jump.wav", WAV)]);
    let (mut s, pid, ids) = project(&f);
    let hero = ids["assets/sprites/hero.png"].clone();
    let jump = ids["assets/sounds/jump.wav"].clone();
    f.write(
        "assets/levels/l1.json",
        format!("{{\n  \"sprite\": \"asset:{hero}\",\n  \"sound\": \"asset:assets/sounds/jump.wav\"\n}}\n").as_bytes(),
    );
    register(&mut s, &pid, &["assets/levels/l1.json"]);
    let l1 = id_of(&mut s, &pid, "assets/levels/l1.json");
    let before = f.tree();

    let delete = json!({"kind": "delete", "assetIds": [hero]});
    let p = s.call("packer/previewMutation", json!({"projectId": pid, "mutation": delete}));
    assert_eq!(
        p["blockers"],
        json!([{"code": "referenced", "severity": "error", "assetId": hero, "path": "assets/sprites/hero.png",
                "message": "`assets/sprites/hero.png` is named by 1 reference in 1 asset: `assets/levels/l1.json` line 2 (`/sprite`); this change would leave them naming nothing: repoint them (replaceReferences) or remove them in the same batch"}])
    );
    let r = s.apply(&pid, delete);
    assert_eq!(r["outcome"], "rejected", "{r}");
    assert_eq!(r["blockers"][0]["code"], "referenced");
    // Unregistering breaks the reference as surely; so would a reconcile's drop.
    let r = s.apply(&pid, json!({"kind": "unregister", "assetIds": [jump]}));
    assert_eq!(r["outcome"], "rejected", "{r}");
    assert_eq!(r["blockers"][0]["code"], "referenced");
    assert_eq!(f.tree(), before, "nothing changed");

    std::fs::remove_file(f.path("assets/sounds/jump.wav")).unwrap();
    let d = s.divergence_until(&pid, |d| d["items"].as_array().unwrap().iter().any(|i| i["kind"] == "missing"));
    let missing = d["items"].as_array().unwrap().iter().find(|i| i["kind"] == "missing").unwrap().clone();
    assert_eq!((missing["assetId"].clone(), missing["detail"].clone()), (json!(jump), json!({"usedBy": 1})));
    // Its default resolution is `drop`.
    let drop = json!({"kind": "reconcile"});
    let p = s.call("packer/previewMutation", json!({"projectId": pid, "mutation": drop}));
    let blockers: Vec<&str> = p["blockers"].as_array().unwrap().iter().map(|b| b["code"].as_str().unwrap()).collect();
    assert!(blockers.contains(&"referenced"), "{p}");

    // The level goes in the same batch: nothing is left naming them.
    let batch = json!({"kind": "batch", "mutations": [
        {"kind": "delete", "assetIds": [hero]},
        {"kind": "delete", "assetIds": [l1]},
    ]});
    let r = s.apply(&pid, batch);
    assert_eq!(r["outcome"], "applied", "{r}");
    assert!(!f.path("assets/sprites/hero.png").exists() && !f.path("assets/levels/l1.json").exists());
    assert_eq!(s.shutdown(), 0);
}

/// The asset paths a pack holds, sorted.
fn pack_paths(pack: &std::path::Path) -> Vec<String> {
    let r = studio_packer::build::pack::PackReader::open(pack).unwrap();
    let mut paths: Vec<String> = r.entries().iter().map(|e| e.path.clone()).collect();
    paths.sort();
    paths
}

#[test]
fn a_pack_declared_by_roots_holds_exactly_what_they_reach_and_the_rest_is_listed_unpacked() {
    let gltf = br#"{"asset": {"version": "2.0"}, "buffers": [{"uri": "box.bin", "byteLength": 4}]}"#;
    let f = Fixture::new(&[
        ("assets/sprites/hero.png", &png(2, 2)),
        ("assets/sprites/villain.png", &png(2, 2)),
        ("assets/sounds/jump.wav", WAV),
        ("assets/models/box.gltf", gltf),
        ("assets/models/box.bin", b"\0\0\0\0"),
        ("assets/ui/button.png", &png(2, 2)),
        // Two levels that name each other: a cycle is walked once.
        (
            "assets/levels/l2.json",
            b"{\"back\": \"asset:assets/levels/l1.json\", \"prop\": \"asset:assets/models/box.gltf\"}",
        ),
    ]);
    let mut manifest = std::fs::read_to_string(f.path("packer.toml")).unwrap();
    manifest.push_str(
        "\n[[build.packs]]\nname = \"level1\"\nroots = [\"assets/levels/l1.json\"]\n\n[[build.packs]]\nname = \"ui\"\ninclude = [\"assets/ui/**\"]\n",
    );
    std::fs::write(f.path("packer.toml"), manifest).unwrap();
    let (mut s, pid, ids) = project(&f);
    let hero = ids["assets/sprites/hero.png"].clone();
    f.write(
        "assets/levels/l1.json",
        format!("{{\"hero\": \"asset:{hero}\", \"jump\": \"asset:assets/sounds/jump.wav\", \"next\": \"asset:assets/levels/l2.json\"}}").as_bytes(),
    );
    register(&mut s, &pid, &["assets/levels/l1.json"]);
    let b = s.call("packer/build", json!({"projectId": pid}));
    assert_eq!(b["outcome"], "succeeded", "{b}");
    assert_eq!(
        pack_paths(&f.path("build/desktop/level1.pack")),
        [
            "assets/levels/l1.json",
            "assets/levels/l2.json",
            "assets/models/box.bin",
            "assets/models/box.gltf",
            "assets/sounds/jump.wav",
            "assets/sprites/hero.png",
        ]
    );
    assert_eq!(pack_paths(&f.path("build/desktop/ui.pack")), ["assets/ui/button.png"]);
    assert_eq!(
        b["unpacked"],
        json!([{"assetId": ids["assets/sprites/villain.png"], "path": "assets/sprites/villain.png"}])
    );
    let warning = b["diagnostics"].as_array().unwrap().iter().find(|d| d["code"] == "unpacked").unwrap().clone();
    assert!(warning["message"].as_str().unwrap().starts_with("1 asset(s) are in no pack"), "{warning}");

    // The level names the villain too: the next build packs it, and nothing is left out.
    f.write(
        "assets/levels/l1.json",
        format!("{{\"hero\": \"asset:{hero}\", \"jump\": \"asset:assets/sounds/jump.wav\", \"next\": \"asset:assets/levels/l2.json\", \"boss\": \"asset:assets/sprites/villain.png\"}}").as_bytes(),
    );
    s.divergence_until(&pid, |d| d["items"].as_array().unwrap().iter().any(|i| i["kind"] == "modified"));
    let r = s.apply(&pid, json!({"kind": "reconcile"}));
    assert_eq!(r["outcome"], "applied", "{r}");
    let b = s.call("packer/build", json!({"projectId": pid}));
    assert_eq!(b["outcome"], "succeeded", "{b}");
    assert!(pack_paths(&f.path("build/desktop/level1.pack")).contains(&"assets/sprites/villain.png".to_string()));
    assert_eq!(b["unpacked"], json!([]));
    assert_eq!(s.shutdown(), 0);
}

#[test]
fn a_move_rewrites_the_path_references_to_what_it_moves_in_the_same_apply() {
    let f = Fixture::new(&[("assets/sprites/hero.png", &png(2, 2)), ("assets/sounds/jump.wav", WAV)]);
    let (mut s, pid, ids) = project(&f);
    let hero = ids["assets/sprites/hero.png"].clone();
    let jump = ids["assets/sounds/jump.wav"].clone();
    let level = format!(
        "{{\n  \"hero\": \"asset:{hero}\",\n  \"jump\": \"asset:assets/sounds/jump.wav\",\n  \"again\": [\"asset:/assets/sounds/../sounds/jump.wav\"]\n}}\n"
    );
    f.write("assets/levels/l1.json", level.as_bytes());
    register(&mut s, &pid, &["assets/levels/l1.json"]);
    let l1 = id_of(&mut s, &pid, "assets/levels/l1.json");

    // By id: the move needs nothing.
    let r = s.apply(&pid, json!({"kind": "move", "assetId": hero, "to": "assets/chars/hero.png"}));
    assert_eq!(r["outcome"], "applied", "{r}");
    assert_eq!(r["filesystemMutations"].as_array().unwrap().len(), 2, "a move and the registry: {r}");
    assert_eq!(std::fs::read_to_string(f.path("assets/levels/l1.json")).unwrap(), level);

    // By path: the preview lists the level's write with each change.
    let mv = json!({"kind": "move", "assetId": jump, "to": "assets/sfx/jump.wav"});
    let p = s.call("packer/previewMutation", json!({"projectId": pid, "mutation": mv}));
    assert_eq!(p["blockers"], json!([]), "{p}");
    assert_eq!(
        p["filesystemMutations"],
        json!([
            {"op": "move", "path": "assets/sounds/jump.wav", "to": "assets/sfx/jump.wav"},
            {"op": "rewrite", "path": "assets/levels/l1.json", "assetId": l1, "count": 2, "changes": [
                {"pointer": "/jump", "line": 3, "column": 11,
                 "before": "\"asset:assets/sounds/jump.wav\"", "after": "\"asset:assets/sfx/jump.wav\""},
                {"pointer": "/again/0", "line": 4, "column": 13,
                 "before": "\"asset:/assets/sounds/../sounds/jump.wav\"", "after": "\"asset:assets/sfx/jump.wav\""},
            ]},
            {"op": "write", "path": "packer.registry.jsonl"},
        ])
    );
    let updated: Vec<&str> =
        p["registryMutations"].as_array().unwrap().iter().map(|m| m["assetId"].as_str().unwrap()).collect();
    assert_eq!(updated.len(), 2, "the sound's path and the level's hash: {p}");
    assert!(updated.contains(&l1.as_str()) && updated.contains(&jump.as_str()));
    let r = s.apply(&pid, mv);
    assert_eq!(r["outcome"], "applied", "{r}");
    let expected = level
        .replace("asset:assets/sounds/jump.wav", "asset:assets/sfx/jump.wav")
        .replace("asset:/assets/sounds/../sounds/jump.wav", "asset:assets/sfx/jump.wav");
    assert_eq!(std::fs::read_to_string(f.path("assets/levels/l1.json")).unwrap(), expected);
    let refs = s.call("packer/references", json!({"projectId": pid, "assetId": jump}));
    assert_eq!(
        (refs["counts"]["usedBy"].clone(), refs["usedBy"][0]["path"].clone()),
        (json!(2), json!("assets/levels/l1.json"))
    );
    let a = s.call("packer/getAsset", json!({"projectId": pid, "assetId": l1}));
    assert_eq!((a["asset"]["status"].clone(), a["references"]["broken"].clone()), (json!("ok"), json!(0)), "{a}");
    // Nothing diverged: the write was the packer's own, and the registry has its hash.
    let d = s.call("packer/divergence", json!({"projectId": pid}));
    assert_eq!(d["items"], json!([]), "{d}");
    assert_eq!(s.shutdown(), 0);
    let out = std::process::Command::new(common::BIN).arg("check").arg(f.root()).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
}

/// The bytes of the entry at `path` in a pack.
fn pack_entry(pack: &std::path::Path, path: &str) -> Vec<u8> {
    let r = studio_packer::build::pack::PackReader::open(pack).unwrap();
    let e = r.by_path(path).unwrap_or_else(|| panic!("no `{path}` in {}", pack.display())).clone();
    r.read(&e).unwrap()
}

#[test]
fn a_levels_processed_bytes_name_what_it_uses_by_id_so_a_move_changes_none_of_them() {
    let f = Fixture::new(&[("assets/sprites/hero.png", &png(2, 2)), ("assets/sounds/jump.wav", WAV)]);
    let (mut s, pid, ids) = project(&f);
    let (hero, jump) = (ids["assets/sprites/hero.png"].clone(), ids["assets/sounds/jump.wav"].clone());
    f.write(
        "assets/levels/l1.json",
        format!("{{\n  \"hero\": \"asset:{hero}\",\n  \"jump\": \"asset:assets/sounds/jump.wav\"\n}}\n").as_bytes(),
    );
    f.write("assets/levels/l2.toml", b"jump = \"asset:assets/sounds/jump.wav\"\n");
    register(&mut s, &pid, &["assets/levels/l1.json", "assets/levels/l2.toml"]);
    let b = s.call("packer/build", json!({"projectId": pid}));
    assert_eq!(b["outcome"], "succeeded", "{b}");
    let pack = f.path("build/desktop/main.pack");
    let l1 = pack_entry(&pack, "assets/levels/l1.json");
    assert_eq!(
        String::from_utf8(l1.clone()).unwrap(),
        format!("{{\"hero\":\"asset:{hero}\",\"jump\":\"asset:{jump}\"}}")
    );
    let l2 = pack_entry(&pack, "assets/levels/l2.toml");
    assert_eq!(String::from_utf8(l2.clone()).unwrap(), format!("jump = \"asset:{jump}\"\n"));

    // The sound moves: the levels' files change, what the game loads of them does not.
    let r = s.apply(&pid, json!({"kind": "move", "assetId": jump, "to": "assets/sfx/jump.wav"}));
    assert_eq!(r["outcome"], "applied", "{r}");
    let b = s.call("packer/build", json!({"projectId": pid}));
    assert_eq!(b["outcome"], "succeeded", "{b}");
    assert_eq!(pack_entry(&pack, "assets/levels/l1.json"), l1);
    assert_eq!(pack_entry(&pack, "assets/levels/l2.toml"), l2);

    // The bytes l2 had, now that another asset is at that path: the cache
    // holds them under the old links, and its key tells them apart.
    f.write("assets/sounds/jump.wav", WAV);
    register(&mut s, &pid, &["assets/sounds/jump.wav"]);
    let jump2 = id_of(&mut s, &pid, "assets/sounds/jump.wav");
    f.write("assets/levels/l3.toml", b"jump = \"asset:assets/sounds/jump.wav\"\n");
    register(&mut s, &pid, &["assets/levels/l3.toml"]);
    let b = s.call("packer/build", json!({"projectId": pid}));
    assert_eq!(b["outcome"], "succeeded", "{b}");
    assert_eq!(
        String::from_utf8(pack_entry(&pack, "assets/levels/l3.toml")).unwrap(),
        format!("jump = \"asset:{jump2}\"\n")
    );
    assert_eq!(s.shutdown(), 0);
}

/// A project of one sound (`f`'s), and a level registered naming it by
/// path: the server, the project id, and the ids of the sound and the level.
fn level_naming_a_sound(f: &Fixture) -> (Server, String, String, String) {
    let (mut s, pid, ids) = project(f);
    let jump = ids["assets/sounds/jump.wav"].clone();
    f.write("assets/levels/l1.json", b"{\"jump\": \"asset:assets/sounds/jump.wav\"}");
    register(&mut s, &pid, &["assets/levels/l1.json"]);
    let l1 = id_of(&mut s, &pid, "assets/levels/l1.json");
    (s, pid, jump, l1)
}

#[test]
fn a_file_moved_outside_the_packer_is_followed_by_its_path_references_when_reconciled() {
    let f = Fixture::new(&[("assets/sounds/jump.wav", WAV)]);
    let (mut s, pid, jump, _) = level_naming_a_sound(&f);
    std::fs::create_dir_all(f.path("assets/sfx")).unwrap();
    std::fs::rename(f.path("assets/sounds/jump.wav"), f.path("assets/sfx/jump.wav")).unwrap();
    let d = s.divergence_until(&pid, |d| d["items"].as_array().unwrap().iter().any(|i| i["kind"] == "moved"));
    assert_eq!(d["items"].as_array().unwrap().len(), 1, "{d}");
    let p = s.call("packer/previewMutation", json!({"projectId": pid, "mutation": {"kind": "reconcile"}}));
    assert_eq!(p["blockers"], json!([]), "{p}");
    assert_eq!(p["filesystemMutations"][0]["op"], "rewrite", "{p}");
    let r = s.apply(&pid, json!({"kind": "reconcile"}));
    assert_eq!(r["outcome"], "applied", "{r}");
    assert_eq!(
        std::fs::read_to_string(f.path("assets/levels/l1.json")).unwrap(),
        "{\"jump\": \"asset:assets/sfx/jump.wav\"}"
    );
    let refs = s.call("packer/references", json!({"projectId": pid, "assetId": jump}));
    assert_eq!((refs["path"].clone(), refs["counts"]["usedBy"].clone()), (json!("assets/sfx/jump.wav"), json!(1)));
    assert_eq!(s.shutdown(), 0);
}

#[test]
fn a_referrer_changed_on_disk_blocks_the_move_that_would_rewrite_it() {
    let f = Fixture::new(&[("assets/sounds/jump.wav", WAV)]);
    let (mut s, pid, jump, l1) = level_naming_a_sound(&f);
    // Someone edits the level; the packer has not reconciled it.
    let edited = "{\"jump\": \"asset:assets/sounds/jump.wav\", \"new\": 1}";
    f.write("assets/levels/l1.json", edited.as_bytes());
    let mv = json!({"kind": "move", "assetId": jump, "to": "assets/sfx/jump.wav"});
    let r = s.apply(&pid, mv);
    assert_eq!(r["outcome"], "rejected", "{r}");
    let diverged: Vec<&Value> = r["blockers"].as_array().unwrap().iter().filter(|b| b["code"] == "diverged").collect();
    assert_eq!(diverged.len(), 1, "{r}");
    assert_eq!(
        (diverged[0]["assetId"].clone(), diverged[0]["path"].clone()),
        (json!(l1), json!("assets/levels/l1.json"))
    );
    assert_eq!(std::fs::read_to_string(f.path("assets/levels/l1.json")).unwrap(), edited, "their change is kept");
    assert!(f.path("assets/sounds/jump.wav").exists());
    assert_eq!(s.shutdown(), 0);
}

#[test]
fn a_model_keeps_valid_uris_when_its_image_moves_and_when_it_moves_itself() {
    let gltf = r#"{"asset": {"version": "2.0"},
  "buffers": [{"uri": "box.bin", "byteLength": 4}],
  "images": [{"uri": "../textures/brick%20wall.png"}]}"#;
    let f = Fixture::new(&[
        ("assets/models/box.gltf", gltf.as_bytes()),
        ("assets/models/box.bin", b"\0\0\0\0"),
        ("assets/textures/brick wall.png", &png(2, 2)),
    ]);
    let (mut s, pid, ids) = project(&f);
    let model = ids["assets/models/box.gltf"].clone();
    let brick = ids["assets/textures/brick wall.png"].clone();

    // The image moves: the model's uri is written for where it went.
    let r = s.apply(&pid, json!({"kind": "move", "assetId": brick, "to": "assets/textures/walls/brick wall.png"}));
    assert_eq!(r["outcome"], "applied", "{r}");
    let text = std::fs::read_to_string(f.path("assets/models/box.gltf")).unwrap();
    assert_eq!(text, gltf.replace("../textures/brick%20wall.png", "../textures/walls/brick%20wall.png"));

    // The model moves alone: its relative uris are written from its new folder.
    let r = s.apply(&pid, json!({"kind": "move", "assetId": model, "to": "assets/props/deep/box.gltf"}));
    assert_eq!(r["outcome"], "applied", "{r}");
    let text = std::fs::read_to_string(f.path("assets/props/deep/box.gltf")).unwrap();
    assert!(text.contains(r#""uri": "../../models/box.bin""#), "{text}");
    assert!(text.contains(r#""uri": "../../textures/walls/brick%20wall.png""#), "{text}");
    let refs = s.call("packer/references", json!({"projectId": pid, "assetId": model}));
    let paths: Vec<&str> = refs["uses"].as_array().unwrap().iter().map(|u| u["path"].as_str().unwrap()).collect();
    assert_eq!(paths, ["assets/models/box.bin", "assets/textures/walls/brick wall.png"]);
    assert_eq!(refs["counts"]["broken"], 0);

    // Moving the model and its buffer together writes what is needed only.
    let bin = ids["assets/models/box.bin"].clone();
    let both = json!({"kind": "batch", "mutations": [
        {"kind": "move", "assetId": model, "to": "assets/kit/box.gltf"},
        {"kind": "move", "assetId": bin, "to": "assets/kit/box.bin"},
    ]});
    let r = s.apply(&pid, both);
    assert_eq!(r["outcome"], "applied", "{r}");
    let text = std::fs::read_to_string(f.path("assets/kit/box.gltf")).unwrap();
    assert!(
        text.contains(r#""uri": "box.bin""#) && text.contains(r#""uri": "../textures/walls/brick%20wall.png""#),
        "{text}"
    );
    assert_eq!(s.shutdown(), 0);

    // And after a restart (the stat cache did not keep an old reading).
    let mut s = Server::ready();
    let pid = s.open(&f.root());
    let refs = s.call("packer/references", json!({"projectId": pid, "assetId": model}));
    assert_eq!(
        (refs["uses"][0]["path"].clone(), refs["counts"]["broken"].clone()),
        (json!("assets/kit/box.bin"), json!(0))
    );
    let d = s.call("packer/divergence", json!({"projectId": pid}));
    assert_eq!(d["items"], json!([]), "{d}");
    assert_eq!(s.shutdown(), 0);
}

#[test]
fn replace_references_then_delete_is_one_batch_and_the_level_names_the_other_sprite() {
    let f = Fixture::new(&[("assets/sprites/hero.png", &png(2, 2)), ("assets/sprites/villain.png", &png(2, 2))]);
    let (mut s, pid, ids) = project(&f);
    let (hero, villain) = (ids["assets/sprites/hero.png"].clone(), ids["assets/sprites/villain.png"].clone());
    let level = format!("{{\"a\": \"asset:{hero}\", \"b\": \"asset:assets/sprites/hero.png\"}}");
    f.write("assets/levels/l1.json", level.as_bytes());
    f.write("assets/levels/l2.toml", format!("sprite = 'asset:{hero}'\n").as_bytes());
    register(&mut s, &pid, &["assets/levels/l1.json", "assets/levels/l2.toml"]);
    let l1 = id_of(&mut s, &pid, "assets/levels/l1.json");

    let batch = json!({"kind": "batch", "mutations": [
        {"kind": "replaceReferences", "from": hero, "to": villain},
        {"kind": "delete", "assetIds": [hero]},
    ]});
    let p = s.call("packer/previewMutation", json!({"projectId": pid, "mutation": batch}));
    assert_eq!(p["blockers"], json!([]), "{p}");
    let ops: Vec<(&str, &str)> = p["filesystemMutations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["op"].as_str().unwrap(), m["path"].as_str().unwrap()))
        .collect();
    assert_eq!(
        ops,
        [
            ("delete", "assets/sprites/hero.png"),
            ("rewrite", "assets/levels/l1.json"),
            ("rewrite", "assets/levels/l2.toml"),
            ("write", "packer.registry.jsonl")
        ]
    );
    assert_eq!(p["filesystemMutations"][1]["assetId"], l1.as_str());
    assert_eq!(
        p["filesystemMutations"][1]["changes"][1],
        json!({"pointer": "/b", "line": 1, "column": 22 + hero.len(), "before": "\"asset:assets/sprites/hero.png\"",
               "after": "\"asset:assets/sprites/villain.png\""})
    );
    let r = s.apply(&pid, batch);
    assert_eq!(r["outcome"], "applied", "{r}");
    assert_eq!(
        std::fs::read_to_string(f.path("assets/levels/l1.json")).unwrap(),
        format!("{{\"a\": \"asset:{villain}\", \"b\": \"asset:assets/sprites/villain.png\"}}")
    );
    // A TOML literal string is written back as a basic one.
    assert_eq!(
        std::fs::read_to_string(f.path("assets/levels/l2.toml")).unwrap(),
        format!("sprite = \"asset:{villain}\"\n")
    );
    let refs = s.call("packer/references", json!({"projectId": pid, "assetId": villain}));
    assert_eq!(refs["counts"]["usedBy"], 3);

    // Unknown `to`, and a `from` nothing has or names, are refused.
    let r = s.apply(&pid, json!({"kind": "replaceReferences", "from": villain, "to": "nobody"}));
    assert_eq!((r["outcome"].clone(), r["blockers"][0]["code"].clone()), (json!("rejected"), json!("unknownAsset")));
    let r = s.apply(&pid, json!({"kind": "replaceReferences", "from": "nobody", "to": villain}));
    assert_eq!((r["outcome"].clone(), r["blockers"][0]["code"].clone()), (json!("rejected"), json!("unknownAsset")));
    // A broken reference by id can be repointed: its id names no asset.
    f.write("assets/levels/l3.json", b"{\"x\": \"asset:ghost\"}");
    let r = s.apply(&pid, json!({"kind": "register", "paths": ["assets/levels/l3.json"]}));
    assert_eq!(r["outcome"], "applied", "{r}");
    let r = s.apply(&pid, json!({"kind": "replaceReferences", "from": "ghost", "to": villain}));
    assert_eq!(r["outcome"], "applied", "{r}");
    assert_eq!(
        std::fs::read_to_string(f.path("assets/levels/l3.json")).unwrap(),
        format!("{{\"x\": \"asset:{villain}\"}}")
    );
    let summary = s.call("packer/summary", json!({"projectId": pid}));
    assert_eq!(summary["references"]["broken"], 0);
    assert_eq!(s.shutdown(), 0);
}

#[test]
fn an_asset_that_names_itself_is_not_its_own_user() {
    let f = Fixture::new(&[("assets/self.json", b"{\"me\": \"asset:assets/self.json\"}")]);
    let (mut s, pid, ids) = project(&f);
    let me = ids["assets/self.json"].clone();
    let r = s.call("packer/references", json!({"projectId": pid, "assetId": me}));
    assert_eq!((r["counts"]["uses"].clone(), r["counts"]["usedBy"].clone()), (json!(1), json!(0)));
    let unused = s.call("packer/listAssets", json!({"projectId": pid, "filter": {"unused": true}}));
    assert_eq!(unused["items"][0]["path"], "assets/self.json");
    // Deleting it breaks nothing it leaves behind.
    let r = s.apply(&pid, json!({"kind": "delete", "assetIds": [me]}));
    assert_eq!(r["outcome"], "applied", "{r}");
    assert_eq!(s.shutdown(), 0);
}

#[test]
fn a_model_moved_outside_the_packer_keeps_the_uris_that_name_an_asset_where_it_went() {
    let gltf =
        r#"{"asset": {"version": "2.0"}, "buffers": [{"uri": "box.bin?v=1#whole"}], "images": [{"uri": "tex.png"}]}"#;
    let f = Fixture::new(&[
        ("assets/models/box.gltf", gltf.as_bytes()),
        ("assets/models/box.bin", b"\0\0\0\0"),
        ("assets/models/tex.png", &png(2, 2)),
        ("assets/kit/tex.png", &png(4, 4)),
    ]);
    let (mut s, pid, ids) = project(&f);
    let model = ids["assets/models/box.gltf"].clone();
    std::fs::rename(f.path("assets/models/box.gltf"), f.path("assets/kit/box.gltf")).unwrap();
    s.divergence_until(&pid, |d| d["items"].as_array().unwrap().iter().any(|i| i["kind"] == "moved"));
    let r = s.apply(&pid, json!({"kind": "reconcile"}));
    assert_eq!(r["outcome"], "applied", "{r}");
    // The buffer names nothing beside the model now: it follows, with its
    // query and fragment; the image names a texture there, as the person
    // who moved the file may mean: it is left as written.
    assert_eq!(
        std::fs::read_to_string(f.path("assets/kit/box.gltf")).unwrap(),
        gltf.replace("box.bin?v=1", "../models/box.bin?v=1")
    );
    let refs = s.call("packer/references", json!({"projectId": pid, "assetId": model}));
    let paths: Vec<&str> = refs["uses"].as_array().unwrap().iter().map(|u| u["path"].as_str().unwrap()).collect();
    assert_eq!(paths, ["assets/models/box.bin", "assets/kit/tex.png"]);
    assert_eq!(s.shutdown(), 0);
}
