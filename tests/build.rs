//! Building packs: verified, deterministic, incremental, failing whole, cancellable.

mod common;

use std::path::PathBuf;
use std::process::Command;

use common::{op_events, register_all, sample_copy, Fixture, Server, BIN};
use serde_json::{json, Value};

/// A copy of the sample game opened by a server: the folder (kept alive),
/// its canonical root, the server and the project id.
fn open_sample() -> (tempfile::TempDir, PathBuf, Server, String) {
    let dir = sample_copy();
    let root = dir.path().canonicalize().unwrap();
    let mut s = Server::ready();
    let pid = s.open(&root);
    (dir, root, s, pid)
}

fn build(s: &mut Server, pid: &str) -> Value {
    s.call("packer/build", json!({"projectId": pid, "workDoneToken": "b"}))
}

fn cli(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(BIN).args(args).output().unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

#[test]
fn the_sample_builds_to_a_pack_that_verifies_and_unpacks_to_the_processed_assets() {
    let (_dir, root, mut s, pid) = open_sample();
    let r = build(&mut s, &pid);
    assert_eq!(r["outcome"], "succeeded", "{r}");
    assert_eq!(r["stats"]["assets"], 7);
    // Every asset for desktop, then only the textures for mobile (the
    // rest are the same bytes on both, from the cache).
    assert_eq!(r["stats"]["processed"], 10);
    assert_eq!(r["targets"][1]["stats"]["processed"], 3);
    assert_eq!(r["packs"][1]["path"], "build/mobile/main.pack");
    assert_eq!(r["packs"][0]["name"], "main");
    assert_eq!(r["packs"][0]["path"], "build/desktop/main.pack");
    assert_eq!(r["packs"][0]["assets"], 7);
    let pack = root.join("build/desktop/main.pack");
    assert_eq!(r["packs"][0]["bytes"], std::fs::metadata(&pack).unwrap().len());

    let (code, out, err) = cli(&["verify", pack.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("ok: 7 entries"), "{out}");
    let unpacked = tempfile::tempdir().unwrap();
    let (code, _, err) = cli(&["unpack", pack.to_str().unwrap(), unpacked.path().to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let rel = "assets/text/credits.txt";
    assert_eq!(std::fs::read(unpacked.path().join(rel)).unwrap(), std::fs::read(root.join(rel)).unwrap(), "{rel}");
    // Sound is cooked: Ogg Vorbis by default (tests/audio.rs decodes it with ffmpeg).
    assert!(std::fs::read(unpacked.path().join("assets/audio/jump.wav")).unwrap().starts_with(b"OggS"));
    // Images are GPU textures for the desktop profile: KTX2 files of BC7
    // sRGB blocks (vkFormat 146), with their whole mip chain (32x32: 6
    // levels) except the `ui` art the sample's rule names (1 level).
    let header = |dir: &std::path::Path, rel: &str| {
        let ktx = std::fs::read(dir.join(rel)).unwrap();
        assert_eq!(&ktx[..12], b"\xabKTX 20\xbb\r\n\x1a\n", "{rel}");
        let u32_at = |o: usize| u32::from_le_bytes(ktx[o..o + 4].try_into().unwrap());
        (u32_at(12), u32_at(40))
    };
    assert_eq!(header(unpacked.path(), "assets/sprites/hero.png"), (146, 6));
    assert_eq!(header(unpacked.path(), "assets/ui/button.png"), (146, 1));
    // And ASTC for mobile: 6x6 for colour, 4x4 for `ui`.
    let mobile = tempfile::tempdir().unwrap();
    let mobile_pack = root.join("build/mobile/main.pack");
    let (code, _, err) = cli(&["unpack", mobile_pack.to_str().unwrap(), mobile.path().to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(header(mobile.path(), "assets/sprites/hero.png"), (166, 6));
    assert_eq!(header(mobile.path(), "assets/ui/button.png"), (158, 1));
    for rel in ["assets/data/levels.json", "assets/data/tuning.json"] {
        let out = std::fs::read_to_string(unpacked.path().join(rel)).unwrap();
        let src = std::fs::read_to_string(root.join(rel)).unwrap();
        assert!(!out.contains(' ') && !out.contains('\n'), "{rel} is minified: {out}");
        let a: Value = serde_json::from_str(&out).unwrap();
        let b: Value = serde_json::from_str(&src).unwrap();
        assert_eq!(a, b, "{rel} keeps its content");
    }
    // Progress: $/progress begin, reports, end; packer/event progress with counts.
    let op = r["operationId"].as_str().unwrap();
    let events = op_events(&s.events(), op);
    let progress: Vec<&Value> = events.iter().filter(|e| e["kind"] == "progress").collect();
    assert!(!progress.is_empty());
    assert_eq!(progress.last().unwrap()["done"], 7);
    assert_eq!(progress.last().unwrap()["total"], 7);
    assert!(progress.last().unwrap()["bytes"].as_u64().unwrap() > 0);
    assert_eq!(events.last().unwrap()["kind"], "succeeded");
    let kinds: Vec<String> = s
        .log
        .iter()
        .filter(|m| m["method"] == "$/progress")
        .map(|m| m["params"]["value"]["kind"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(kinds.first().map(String::as_str), Some("begin"));
    assert_eq!(kinds.last().map(String::as_str), Some("end"));
    let summary = s.call("packer/summary", json!({"projectId": pid}));
    assert_eq!(summary["lastBuild"]["desktop"]["operationId"], r["operationId"]);
    assert_eq!(summary["lastBuild"]["desktop"]["outcome"], "succeeded");
    assert_eq!(summary["lastBuild"]["desktop"]["target"], "desktop");
    assert_eq!(
        r["targets"],
        json!([{"target": "desktop", "profile": "desktop", "outcome": "succeeded",
        "packs": 1, "stats": r["targets"][0]["stats"].clone()},
        {"target": "mobile", "profile": "mobile", "outcome": "succeeded",
        "packs": 1, "stats": r["targets"][1]["stats"].clone()}])
    );
    assert_eq!(r["targets"][0]["stats"]["processed"], 7);
    assert_eq!(r["packs"][0]["target"], "desktop");
}

#[test]
fn the_same_workspace_in_two_folders_gives_byte_identical_packs() {
    let a = sample_copy();
    let b = sample_copy();
    for dir in [&a, &b] {
        let (code, _, err) = cli(&["build", dir.path().to_str().unwrap()]);
        assert_eq!(code, 0, "{err}");
    }
    let pa = std::fs::read(a.path().join("build/desktop/main.pack")).unwrap();
    let pb = std::fs::read(b.path().join("build/desktop/main.pack")).unwrap();
    assert!(pa == pb, "packs differ");
}

#[test]
fn a_second_build_reuses_everything_and_leaves_the_pack_untouched_and_one_change_reprocesses_one() {
    let (_dir, root, mut s, pid) = open_sample();
    build(&mut s, &pid);
    let pack = root.join("build/desktop/main.pack");
    let bytes = std::fs::read(&pack).unwrap();
    let mtime = std::fs::metadata(&pack).unwrap().modified().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(20));
    let r = build(&mut s, &pid);
    // Both targets' units (7 each) come from the cache.
    assert_eq!(r["stats"]["processed"], 0);
    assert_eq!(r["stats"]["reused"], 14);
    assert_eq!(r["packs"][0]["written"], false);
    assert_eq!(std::fs::read(&pack).unwrap(), bytes);
    assert_eq!(std::fs::metadata(&pack).unwrap().modified().unwrap(), mtime);

    // One asset changes (and is reconciled): exactly one is processed again.
    std::fs::write(root.join("assets/text/credits.txt"), "Sample Game\nnew credits\n").unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while s.call("packer/divergence", json!({"projectId": pid}))["state"] != "diverged" {
        assert!(std::time::Instant::now() < deadline);
        std::thread::sleep(std::time::Duration::from_millis(30));
    }
    let blocked = build(&mut s, &pid);
    assert_eq!(blocked["outcome"], "failed", "a diverged asset stops the build: {blocked}");
    assert_eq!(blocked["diagnostics"][0]["code"], "diverged");
    assert_eq!(std::fs::read(&pack).unwrap(), bytes, "a failed build writes no pack");
    assert_eq!(s.apply(&pid, json!({"kind": "reconcile"}))["outcome"], "applied");
    let r = build(&mut s, &pid);
    assert_eq!(r["outcome"], "succeeded");
    // The text is the same bytes on both targets: processed once, for the
    // first, and taken from the cache by the second.
    assert_eq!(r["stats"]["processed"], 1);
    assert_eq!(r["stats"]["reused"], 13);
    assert_eq!(r["packs"][0]["written"], true);
    assert_eq!(r["packs"][1]["written"], true);
}

/// A build's answer without what differs between any two builds.
fn answer(mut r: Value) -> Value {
    r.as_object_mut().unwrap().remove("operationId");
    r["stats"].as_object_mut().unwrap().remove("durationMs");
    for t in r["targets"].as_array_mut().unwrap() {
        t["stats"].as_object_mut().unwrap().remove("durationMs");
    }
    r
}

#[test]
fn a_build_with_nothing_to_do_answers_as_a_full_one_and_its_inputs_and_packs_are_checked() {
    let (_dir, root, mut s, pid) = open_sample();
    assert_eq!(build(&mut s, &pid)["packs"][0]["written"], true);
    // Past the moment in which a file just written is not trusted by its stat.
    std::thread::sleep(std::time::Duration::from_millis(120));
    let full = answer(build(&mut s, &pid));
    let quick = answer(build(&mut s, &pid));
    assert_eq!(quick, full);
    assert_eq!(quick["packs"][0]["written"], false);
    assert_eq!(quick["stats"]["processed"], 0);

    // Tags are not in a pack: still nothing to do.
    let ids = s.call("packer/listAssets", json!({"projectId": pid}))["items"].clone();
    let (id, path) = (ids[0]["id"].as_str().unwrap(), ids[0]["path"].as_str().unwrap());
    assert_eq!(s.apply(&pid, json!({"kind": "setMetadata", "assetId": id, "tags": ["x"]}))["outcome"], "applied");
    assert_eq!(answer(build(&mut s, &pid)), full);
    // Settings are: that asset is looked at again.
    assert_eq!(path, "assets/audio/jump.wav");
    let settings = json!({"kind": "setMetadata", "assetId": id, "settings": {"quality": 0.3}});
    assert_eq!(s.apply(&pid, settings)["outcome"], "applied");
    let r = build(&mut s, &pid);
    // (Processed again; whether its bytes differ is the processor's to say.)
    assert_eq!(r["stats"]["processed"], 1, "{path}: {r}");

    // A pack changed behind the packer's back is noticed and written again.
    std::thread::sleep(std::time::Duration::from_millis(120));
    build(&mut s, &pid);
    let pack = root.join("build/desktop/main.pack");
    let mut bytes = std::fs::read(&pack).unwrap();
    bytes.truncate(bytes.len() - 1);
    std::fs::write(&pack, &bytes).unwrap();
    let r = build(&mut s, &pid);
    assert_eq!(r["packs"][0]["written"], true, "{r}");
    let (code, out, err) = cli(&["verify", pack.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}{err}");
}

#[test]
fn a_corrupt_png_fails_the_build_naming_the_asset_and_writes_no_pack() {
    let f = Fixture::new(&[
        ("assets/ok.txt", b"fine\n"),
        (
            "assets/broken.png",
            b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR\x00\x00\x00\x10\x00\x00\x00\x10\x08\x06\x00\x00\x00garbage",
        ),
    ]);
    let mut s = Server::ready();
    let pid = s.open(&f.root());
    let ids = register_all(&mut s, &pid, &f);
    let r = build(&mut s, &pid);
    assert_eq!(r["outcome"], "failed");
    let d = &r["diagnostics"][0];
    assert_eq!(d["code"], "imageUnreadable");
    assert_eq!(d["path"], "assets/broken.png");
    assert_eq!(d["assetId"], json!(ids["assets/broken.png"]));
    assert!(d["message"].as_str().unwrap().contains("assets/broken.png"));
    assert!(!f.path("build/desktop/main.pack").exists());
    let ev = op_events(&s.events(), r["operationId"].as_str().unwrap());
    assert_eq!(ev.last().unwrap()["kind"], "failed");
    // The CLI says it like a compiler and exits non-zero.
    let (code, _, err) = cli(&["build", f.root().to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(err.contains("error[imageUnreadable]: assets/broken.png:"), "{err}");
}

#[test]
fn a_build_never_replaces_a_registered_assets_file_with_a_pack() {
    // The registry names an asset inside the build output (written by hand
    // or by an older packer, while no packer ran).
    let f = Fixture::new(&[("assets/main.pack", b"an artist's file, not a pack\n")]);
    let mut s = Server::ready();
    let pid = s.open(&f.root());
    let id = register_all(&mut s, &pid, &f)["assets/main.pack"].clone();
    assert_eq!(s.shutdown(), 0);
    std::fs::create_dir_all(f.path("build/desktop")).unwrap();
    std::fs::rename(f.path("assets/main.pack"), f.path("build/desktop/main.pack")).unwrap();
    let registry = f.registry_text().replace("\"assets/main.pack\"", "\"build/desktop/main.pack\"");
    std::fs::write(f.path("packer.registry.jsonl"), registry).unwrap();
    std::fs::remove_dir_all(f.path(".packer")).unwrap();

    let mut s = Server::ready();
    let pid = s.open(&f.root());
    let r = build(&mut s, &pid);
    assert_eq!(r["outcome"], "failed", "{r}");
    let d = &r["diagnostics"][0];
    assert_eq!(d["code"], "inBuildOutput", "{r}");
    assert_eq!(d["assetId"], json!(id));
    assert_eq!(d["path"], "build/desktop/main.pack");
    assert_eq!(std::fs::read(f.path("build/desktop/main.pack")).unwrap(), b"an artist's file, not a pack\n");
    // It is not trapped there: tagged where it is, then moved out (the way
    // on), after which the build succeeds.
    let tagged = s.apply(&pid, json!({"kind": "setMetadata", "assetId": id, "tags": ["art"]}));
    assert_eq!(tagged["outcome"], "applied", "{tagged}");
    let moved = s.apply(&pid, json!({"kind": "move", "assetId": id, "to": "assets/main.pack"}));
    assert_eq!(moved["outcome"], "applied", "{moved}");
    assert_eq!(build(&mut s, &pid)["outcome"], "succeeded");
}

#[test]
fn packs_are_readable_by_the_game_as_the_umask_allows() {
    use std::os::unix::fs::PermissionsExt;
    for (umask, mode) in [("022", 0o644), ("077", 0o600), ("000", 0o644)] {
        let f = Fixture::with_text_files(2);
        let script = format!("umask {umask}; exec {BIN} build {}", f.root().display());
        // The CLI builds from the files as they are: register them first.
        let mut s = Server::ready();
        let pid = s.open(&f.root());
        register_all(&mut s, &pid, &f);
        assert_eq!(s.shutdown(), 0);
        let out = Command::new("sh").arg("-c").arg(script).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let meta = std::fs::metadata(f.path("build/desktop/main.pack")).unwrap();
        assert_eq!(meta.permissions().mode() & 0o7777, mode, "umask {umask}");
    }
}

#[test]
fn packs_follow_the_manifest_and_include_globs() {
    let f = Fixture::new(&[("assets/ui/a.txt", b"a"), ("assets/ui/b.txt", b"b"), ("assets/levels/c.json", b"{}")]);
    let manifest = std::fs::read_to_string(f.path("packer.toml")).unwrap()
        + "\n[[build.packs]]\nname = \"ui\"\ninclude = [\"assets/ui/**\"]\n\n[[build.packs]]\nname = \"levels\"\ninclude = [\"assets/levels/**\"]\n";
    std::fs::write(f.path("packer.toml"), manifest).unwrap();
    let mut s = Server::ready();
    let pid = s.open(&f.root());
    register_all(&mut s, &pid, &f);
    let r = build(&mut s, &pid);
    let packs: Vec<(String, u64)> = r["packs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["name"].as_str().unwrap().into(), p["assets"].as_u64().unwrap()))
        .collect();
    assert_eq!(packs, [("ui".to_string(), 2), ("levels".to_string(), 1)]);
    assert!(f.path("build/desktop/ui.pack").exists() && f.path("build/desktop/levels.pack").exists());
}

#[cfg(feature = "test-hooks")]
#[test]
fn a_cancelled_build_leaves_the_old_pack_and_reads_stay_answered_meanwhile() {
    let f = Fixture::with_text_files(60);
    let mut s = Server::ready();
    let pid = s.open(&f.root());
    let ids = register_all(&mut s, &pid, &f);
    let first = build(&mut s, &pid);
    assert_eq!(first["outcome"], "succeeded");
    let pack = f.path("build/desktop/main.pack");
    let before = std::fs::read(&pack).unwrap();
    drop(s);
    // Every asset changes its settings, so every one is processed again, slowly.
    let mut s = Server::start_with_env(&[("STUDIO_PACKER_TEST_PROCESS_DELAY_MS", "100")]);
    s.call("initialize", json!({}));
    let pid = s.open(&f.root());
    let batch: Vec<Value> =
        ids.values().map(|id| json!({"kind": "setMetadata", "assetId": id, "settings": {"v": 2}})).collect();
    s.apply(&pid, json!({"kind": "batch", "mutations": batch}));
    s.log.clear();
    let req = s.send("packer/build", json!({"projectId": pid, "clean": true}));
    s.wait_for("the build's first progress", |m| {
        m["params"]["kind"] == "progress" && m["params"]["done"].as_u64() > Some(0)
    });
    // Reads while the build runs: answered before it ends.
    let started = std::time::Instant::now();
    let mut slowest = std::time::Duration::ZERO;
    for _ in 0..20 {
        let t = std::time::Instant::now();
        s.call("packer/summary", json!({"projectId": pid}));
        s.call("packer/getAsset", json!({"projectId": pid, "assetId": ids["assets/f000.txt"]}));
        slowest = slowest.max(t.elapsed());
    }
    assert!(s.position_of_response(req).is_none(), "reads were answered while the build ran");
    eprintln!("40 reads during the build: slowest pair {slowest:?}, all in {:?}", started.elapsed());
    let op = s.events().iter().find(|e| e["kind"] == "started").unwrap()["operationId"].clone();
    let c = s.call("packer/cancel", json!({"operationId": op}));
    assert_eq!(c["previousState"], "running");
    let r = s.response(req);
    assert_eq!(r["result"]["outcome"], "cancelled", "{r}");
    assert_eq!(std::fs::read(&pack).unwrap(), before, "the previous pack is intact");
    let leftovers: Vec<_> = std::fs::read_dir(f.path("build/desktop"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .filter(|n| n != "main.pack")
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    let evs = op_events(&s.events(), op.as_str().unwrap());
    assert_eq!(evs.last().unwrap()["kind"], "cancelled");
}

/// Builds of declared targets: each under `<output>/<target>/`, with its own
/// packs, record and summary entry; switching targets back and forth
/// processes nothing the second time.
#[test]
fn each_target_has_its_own_packs_and_switching_back_processes_nothing() {
    let dir = sample_copy();
    let manifest = dir.path().join("packer.toml");
    // The sample's targets, named apart from their profiles.
    let text = std::fs::read_to_string(&manifest).unwrap();
    let text = text.replace("name = \"desktop\"", "name = \"pc\"").replace("name = \"mobile\"", "name = \"phone\"");
    std::fs::write(&manifest, text).unwrap();
    let root = dir.path().canonicalize().unwrap();
    let mut s = Server::ready();
    let pid = s.open(&root);

    // No target: every declared one, in order.
    let all = build(&mut s, &pid);
    assert_eq!(all["outcome"], "succeeded", "{all}");
    let names: Vec<&str> = all["targets"].as_array().unwrap().iter().map(|t| t["target"].as_str().unwrap()).collect();
    assert_eq!(names, ["pc", "phone"]);
    assert_eq!(all["targets"][1]["profile"], "mobile");
    let paths: Vec<&str> = all["packs"].as_array().unwrap().iter().map(|p| p["path"].as_str().unwrap()).collect();
    assert_eq!(paths, ["build/pc/main.pack", "build/phone/main.pack"]);
    assert_eq!(all["packs"][1]["target"], "phone");
    for t in all["targets"].as_array().unwrap() {
        let st = &t["stats"];
        assert_eq!(st["processed"].as_u64().unwrap() + st["reused"].as_u64().unwrap(), 7, "{t}");
    }
    let sum = |k: &str| all["targets"].as_array().unwrap().iter().map(|t| t["stats"][k].as_u64().unwrap()).sum::<u64>();
    assert_eq!(all["stats"]["processed"].as_u64().unwrap(), sum("processed"));
    assert_eq!(all["stats"]["bytesOut"].as_u64().unwrap(), sum("bytesOut"));
    for pack in ["build/pc/main.pack", "build/phone/main.pack"] {
        let (code, out, err) = cli(&["verify", root.join(pack).to_str().unwrap()]);
        assert_eq!(code, 0, "{pack}: {out}{err}");
    }

    // One target at a time: desktop, mobile, desktop again, each from a
    // clean output: nothing is processed (every entry is in the cache).
    for name in ["pc", "phone", "pc"] {
        std::fs::remove_dir_all(root.join("build")).unwrap();
        let r = s.call("packer/build", json!({"projectId": pid, "target": name}));
        assert_eq!(r["outcome"], "succeeded", "{r}");
        assert_eq!(r["targets"].as_array().unwrap().len(), 1);
        assert_eq!(r["stats"]["processed"], 0, "{name}: {r}");
        assert_eq!(r["packs"][0]["path"], format!("build/{name}/main.pack"));
    }
    let summary = s.call("packer/summary", json!({"projectId": pid}));
    let built: Vec<&String> = summary["lastBuild"].as_object().unwrap().keys().collect();
    assert_eq!(built, ["pc", "phone"]);
    assert_eq!(summary["lastBuild"]["pc"]["target"], "pc");
    let declared = json!([{"name": "pc", "profile": "desktop"}, {"name": "phone", "profile": "mobile"}]);
    assert_eq!(summary["targets"], declared);
    assert_eq!(summary["lastBuild"]["pc"]["packs"], 1);

    // A target nobody declared: the build fails, naming the declared ones.
    let r = s.call("packer/build", json!({"projectId": pid, "target": "console"}));
    assert_eq!(r["outcome"], "failed", "{r}");
    assert_eq!(r["diagnostics"][0]["code"], "unknownTarget");
    let message = r["diagnostics"][0]["message"].as_str().unwrap();
    assert!(message.contains("`console`") && message.contains("pc, phone"), "{message}");
    assert_eq!(r["targets"], json!([]));

    // The CLI builds one target too.
    assert_eq!(s.shutdown(), 0);
    let (code, out, err) = cli(&["build", root.to_str().unwrap(), "--target", "phone"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("build/phone/main.pack"), "{out}");
    assert!(!out.contains("build/pc/"), "{out}");
}

/// After a build, an image's cooked texture per target is reported and
/// drawn from the cache; before it, a thumbnail says the texture is not
/// cooked.
#[test]
fn cooked_textures_are_reported_and_drawn_as_the_gpu_gets_them() {
    let (_dir, root, mut s, pid) = open_sample();
    let ids = s.call("packer/listAssets", json!({"projectId": pid}))["items"].as_array().unwrap().clone();
    let id_of = |path: &str| ids.iter().find(|a| a["path"] == path).unwrap()["id"].as_str().unwrap().to_string();
    let (hero, levels_json) = (id_of("assets/sprites/hero.png"), id_of("assets/data/levels.json"));
    let thumb = |s: &mut Server, id: &str, size: u32| {
        s.request("packer/thumbnail", json!({"projectId": pid, "assetId": id, "size": size}))
    };
    let e = thumb(&mut s, &hero, 16).unwrap_err();
    assert_eq!((e["code"].as_i64(), e["data"]["reason"].as_str()), (Some(-32803), Some("notCooked")), "{e}");
    let asset = s.call("packer/getAsset", json!({"projectId": pid, "assetId": hero}));
    assert_eq!(asset["cooked"], json!([]));
    assert_eq!(build(&mut s, &pid)["outcome"], "succeeded");

    let asset = s.call("packer/getAsset", json!({"projectId": pid, "assetId": hero}));
    let cooked = &asset["cooked"][0];
    assert_eq!(asset["cooked"].as_array().unwrap().len(), 2, "{asset}");
    let mobile = &asset["cooked"][1];
    assert_eq!((mobile["target"].as_str(), mobile["format"].as_str()), (Some("mobile"), Some("astc-6x6")));
    assert!(mobile["psnr"].as_f64().unwrap() >= 30.0, "{mobile}");
    assert_eq!((cooked["target"].as_str(), cooked["format"].as_str()), (Some("desktop"), Some("bc7")));
    assert_eq!((cooked["vkFormat"].as_u64(), cooked["srgb"].as_bool()), (Some(146), Some(true)));
    assert_eq!(
        (cooked["width"].as_u64(), cooked["height"].as_u64(), cooked["levels"].as_u64()),
        (Some(32), Some(32), Some(6))
    );
    assert!(cooked["psnr"].as_f64().unwrap() >= 40.0, "{cooked}");
    assert_eq!(asset["effectiveSettings"]["use"], json!({"value": "color", "source": {"kind": "default"}}));

    // Level 0 drawn at its own size is the source, give or take BC7's error.
    use base64::Engine;
    let decode = |t: &Value| {
        let png = base64::engine::general_purpose::STANDARD.decode(t["png"].as_str().unwrap()).unwrap();
        image::load_from_memory(&png).unwrap().to_rgba8()
    };
    let full = thumb(&mut s, &hero, 32).unwrap();
    assert_eq!(
        (full["level"].as_u64(), full["width"].as_u64(), full["format"].as_str()),
        (Some(0), Some(32), Some("bc7"))
    );
    let drawn = decode(&full);
    let source = image::open(root.join("assets/sprites/hero.png")).unwrap().to_rgba8();
    let mse =
        drawn.as_raw().iter().zip(source.as_raw()).map(|(a, b)| (f64::from(*a) - f64::from(*b)).powi(2)).sum::<f64>()
            / drawn.as_raw().len() as f64;
    let psnr = 10.0 * (255.0f64 * 255.0 / mse.max(1e-9)).log10();
    assert!(psnr >= 35.0, "the thumbnail is the cooked texture: {psnr:.1} dB");
    let small = thumb(&mut s, &hero, 10).unwrap();
    assert_eq!(
        (small["level"].as_u64(), small["width"].as_u64(), small["height"].as_u64()),
        (Some(1), Some(10), Some(10))
    );
    assert_eq!(decode(&small).dimensions(), (10, 10));

    let e = thumb(&mut s, &levels_json, 16).unwrap_err();
    assert_eq!((e["code"].as_i64(), e["data"]["field"].as_str()), (Some(-32602), Some("assetId")), "{e}");
    let e = thumb(&mut s, &hero, 0).unwrap_err();
    assert_eq!(e["data"]["field"], "size", "{e}");
    let e = s
        .request("packer/thumbnail", json!({"projectId": pid, "assetId": hero, "size": 8, "target": "ps9"}))
        .unwrap_err();
    assert_eq!(e["data"]["field"], "target", "{e}");
    // Settings no build can use: no thumbnail will come, and it says so.
    let r = s.apply(&pid, json!({"kind": "setMetadata", "assetId": hero, "settings": {"quality": "ultra"}}));
    assert_eq!(r["outcome"], "applied", "{r}");
    let e = thumb(&mut s, &hero, 16).unwrap_err();
    assert_eq!((e["code"].as_i64(), e["data"]["reason"].as_str()), (Some(-32803), Some("invalidSetting")), "{e}");
    assert!(e["message"].as_str().unwrap().contains("quality"), "{e}");
}

/// A cancel in the middle of a long texture encode (4096² at `high`, many
/// seconds of work on every core) ends the build within a second: the
/// encoder is run in strips, and the cancel is seen between two strips.
#[test]
fn a_cancel_during_a_large_high_quality_encode_ends_the_build_within_a_second() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().canonicalize().unwrap();
    std::fs::write(
        root.join("packer.toml"),
        "[project]\nname = \"big\"\n\n[[assets.rules]]\nmatch = [\"**\"]\nsettings = { quality = \"high\" }\n",
    )
    .unwrap();
    std::fs::create_dir(root.join("assets")).unwrap();
    // Noise (the encoder's slowest case), as a BMP: quick to write and read.
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let img = image::RgbaImage::from_fn(4096, 4096, |_, _| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let b = state.to_le_bytes();
        image::Rgba([b[0], b[1], b[2], 255])
    });
    img.save(root.join("assets/huge.bmp")).unwrap();
    let mut s = Server::ready();
    let pid = s.open(&root);
    assert_eq!(s.apply(&pid, json!({"kind": "reconcile"}))["outcome"], "applied");
    let req = s.send("packer/build", json!({"projectId": pid}));
    let queued =
        s.wait_for("the build queued", |m| m["params"]["kind"] == "queued" && m["params"]["operation"] == "build");
    let op = queued["params"]["operationId"].clone();
    s.wait_for("the build's start", |m| m["params"]["kind"] == "started" && m["params"]["operationId"] == op);
    // Past decoding and the mip chain: into the encode of level 0 (minutes of work).
    std::thread::sleep(std::time::Duration::from_secs(6));
    assert!(s.position_of_response(req).is_none(), "the encode is still running");
    let asked = std::time::Instant::now();
    let c = s.call("packer/cancel", json!({"operationId": op}));
    assert_eq!(c["previousState"], "running", "{c}");
    let r = s.response(req);
    let took = asked.elapsed();
    assert_eq!(r["result"]["outcome"], "cancelled", "{r}");
    assert!(took < std::time::Duration::from_secs(1), "the build ended {took:?} after the cancel");
    eprintln!("cancelled {took:?} after the request");
}
