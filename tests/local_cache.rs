//! The local processing cache kept in bounds: `[cache] max_size` with
//! least-recently-used eviction at the end of a build, `packer/cacheStats`,
//! `packer/pruneCache`, and `studio-packer cache stats|prune`.

mod common;

use std::process::Command;

use common::{register_all, Fixture, Server, BIN};
use serde_json::{json, Value};

/// Text that zstd cannot shrink much, different for every seed.
fn noise(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    (0..len)
        .map(|_| {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            b'!' + ((x >> 33) % 90) as u8
        })
        .collect()
}

/// Six text assets, `assets/a0.txt` to `assets/a5.txt`; `manifest_extra`
/// is appended to packer.toml before the project is first opened.
fn project(manifest_extra: &str) -> (Fixture, Server, String) {
    let files: Vec<(String, Vec<u8>)> = (0..6).map(|i| (format!("assets/a{i}.txt"), noise(i, 4000))).collect();
    let refs: Vec<(&str, &[u8])> = files.iter().map(|(p, b)| (p.as_str(), b.as_slice())).collect();
    let f = Fixture::new(&refs);
    let manifest = f.path("packer.toml");
    let text = std::fs::read_to_string(&manifest).unwrap();
    std::fs::write(&manifest, format!("{text}{manifest_extra}")).unwrap();
    let mut s = Server::ready();
    let pid = s.open(&f.root());
    register_all(&mut s, &pid, &f);
    (f, s, pid)
}

fn build(s: &mut Server, pid: &str) -> Value {
    let r = s.call("packer/build", json!({"projectId": pid}));
    assert_eq!(r["outcome"], "succeeded", "{r}");
    r
}

fn stats(s: &mut Server, pid: &str) -> Value {
    s.call("packer/cacheStats", json!({"projectId": pid}))["local"].clone()
}

/// Changes three assets on disk and, once the packer has seen them,
/// reconciles them.
fn change_three(f: &Fixture, s: &mut Server, pid: &str) {
    for i in 0..3 {
        f.write(&format!("assets/a{i}.txt"), &noise(100 + i, 4000));
    }
    let deadline = std::time::Instant::now() + common::TIMEOUT;
    while s.call("packer/divergence", json!({"projectId": pid}))["items"].as_array().map_or(0, Vec::len) < 3 {
        assert!(std::time::Instant::now() < deadline, "the changes were not seen");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let r = s.apply(pid, json!({"kind": "reconcile"}));
    assert_eq!(r["outcome"], "applied", "{r}");
}

#[test]
fn a_build_over_max_size_evicts_entries_it_did_not_use_and_keeps_those_it_did() {
    // A bound smaller than one build's own entries: those are kept (the
    // next build needs them), everything else goes.
    let (f, mut s, pid) = project("\n[cache]\nmax_size = \"1 KB\"\n");
    assert_eq!(build(&mut s, &pid)["stats"]["processed"], 6);
    let first = stats(&mut s, &pid);
    assert_eq!((&first["entries"], &first["maxSize"]), (&json!(6), &json!(1000)), "{first}");
    assert_eq!(first["oldestUseMs"], first["newestUseMs"], "one build used them all: {first}");

    change_three(&f, &mut s, &pid);
    assert_eq!(build(&mut s, &pid)["stats"]["processed"], 3);
    let second = stats(&mut s, &pid);
    assert_eq!(second["entries"], 6, "the three stale entries were evicted: {second}");
    assert_eq!(second["bytes"], second["diskBytes"], "evicting rewrote their segment: {second}");

    // Nothing the packs need was evicted: a rebuild processes nothing.
    std::fs::remove_dir_all(f.path("build")).unwrap();
    let r = build(&mut s, &pid);
    assert_eq!((&r["stats"]["processed"], &r["stats"]["reused"]), (&json!(0), &json!(6)), "{r}");
}

#[test]
fn prune_cache_evicts_the_least_recently_used_first_in_the_lane() {
    let (f, mut s, pid) = project("");
    build(&mut s, &pid);
    change_three(&f, &mut s, &pid);
    build(&mut s, &pid);
    let before = stats(&mut s, &pid);
    assert_eq!((&before["entries"], &before["maxSize"]), (&json!(9), &Value::Null), "{before}");
    let disk = before["diskBytes"].as_u64().unwrap();

    // One byte less: the least recently used entry goes, a stale one.
    let r = s.call("packer/pruneCache", json!({"projectId": pid, "maxSize": disk - 1}));
    assert_eq!(r["outcome"], "succeeded", "{r}");
    assert_eq!(
        (&r["maxSize"], &r["before"]["entries"], &r["evicted"]["entries"]),
        (&json!(disk - 1), &json!(9), &json!(1))
    );
    assert_eq!(r["after"]["entries"], 8);
    assert!(r["after"]["bytes"].as_u64().unwrap() < disk);
    std::fs::remove_dir_all(f.path("build")).unwrap();
    assert_eq!(build(&mut s, &pid)["stats"]["processed"], 0, "a stale entry went, not one in use");

    // Its events: queued, started, succeeded, as any lane operation.
    let op = r["operationId"].as_str().unwrap();
    let kinds: Vec<Value> = common::op_events(&s.events(), op).iter().map(|e| e["kind"].clone()).collect();
    assert_eq!(kinds, vec![json!("queued"), json!("started"), json!("succeeded")]);

    // Everything: the next build processes every asset again.
    let r = s.call("packer/pruneCache", json!({"projectId": pid, "maxSize": 0}));
    assert_eq!((&r["after"]["entries"], &r["after"]["bytes"]), (&json!(0), &json!(0)), "{r}");
    std::fs::remove_dir_all(f.path("build")).unwrap();
    assert_eq!(build(&mut s, &pid)["stats"]["processed"], 6);

    // No bound given and none configured: a failed operation that says so.
    let r = s.call("packer/pruneCache", json!({"projectId": pid}));
    assert_eq!(r["outcome"], "failed", "{r}");
    assert_eq!(r["diagnostics"][0]["code"], "noMaxSize");
    let e = s.request("packer/pruneCache", json!({"projectId": pid, "maxSize": -1})).unwrap_err();
    assert_eq!(e["data"]["field"], "maxSize", "{e}");
}

#[test]
fn the_cli_shows_and_prunes_the_cache() {
    let (f, mut s, pid) = project("");
    build(&mut s, &pid);
    s.shutdown();
    let root = f.root();
    let out = Command::new(BIN).args(["cache", "stats"]).arg(&root).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(text.starts_with("local cache: 6 entries, "), "{text}");
    assert!(text.contains("no max_size") && text.contains("remote cache: none"), "{text}");

    let out = Command::new(BIN).args(["cache", "prune"]).arg(&root).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("error[noMaxSize]"), "{out:?}");
    let out = Command::new(BIN).args(["cache", "prune", "--max-size", "lots"]).arg(&root).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--max-size \"lots\": not a size"), "{out:?}");

    let out = Command::new(BIN).args(["cache", "prune", "--max-size", "0B"]).arg(&root).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(text.starts_with("evicted 6 entries ("), "{text}");
    assert!(text.contains("the cache holds 0 entries in 0 bytes (max 0)"), "{text}");
}
