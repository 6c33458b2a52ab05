//! Real answers and notifications of the server validate against the JSON
//! Schemas in `protocol/schema/`, which client authors rely on.

mod common;

use std::path::Path;

use common::{register_all, Fixture, Server};
use serde_json::{json, Value};

const BASE: &str = "https://studio-packer.dev/schema/";

struct Validator {
    schemas: boon::Schemas,
    compiler: boon::Compiler,
}

impl Validator {
    fn new() -> Validator {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("protocol/schema");
        let mut compiler = boon::Compiler::new();
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let text = std::fs::read_to_string(&path).unwrap();
            let value: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let name = path.file_name().unwrap().to_string_lossy().to_string();
            compiler.add_resource(&format!("{BASE}{name}"), value).unwrap();
        }
        Validator { schemas: boon::Schemas::new(), compiler }
    }

    fn check(&mut self, schema: &str, instance: &Value) {
        let idx = self
            .compiler
            .compile(&format!("{BASE}{schema}"), &mut self.schemas)
            .unwrap_or_else(|e| panic!("{schema} does not compile: {e:#}"));
        if let Err(e) = self.schemas.validate(instance, idx) {
            panic!("{schema} rejects a real message: {e:#}\n{instance:#}");
        }
    }

    fn rejects(&mut self, schema: &str, instance: &Value) -> bool {
        let idx = self.compiler.compile(&format!("{BASE}{schema}"), &mut self.schemas).unwrap();
        self.schemas.validate(instance, idx).is_err()
    }
}

#[test]
fn every_answer_and_notification_matches_its_schema() {
    let mut v = Validator::new();
    let f = Fixture::new(&[("assets/a.txt", b"a"), ("assets/b.json", b"{\"x\":1}"), ("assets/bad.json", b"{")]);
    let mut s = Server::start();
    let init = s.call("initialize", json!({"capabilities": {}}));
    v.check("initialize.result.json", &init);

    let open_params = json!({"root": f.root()});
    v.check("openProject.params.json", &open_params);
    let open = s.call("packer/openProject", open_params);
    v.check("openProject.result.json", &open);
    let pid = open["projectId"].as_str().unwrap().to_string();
    let ids = register_all(&mut s, &pid, &f);

    v.check("listProjects.result.json", &s.call("packer/listProjects", json!({})));
    v.check("summary.result.json", &s.call("packer/summary", json!({"projectId": pid})));
    let list_params = json!({"projectId": pid, "limit": 2, "filter": {"kind": "data"}});
    v.check("listAssets.params.json", &list_params);
    v.check("listAssets.result.json", &s.call("packer/listAssets", list_params));
    let id = &ids["assets/a.txt"];
    v.check("getAsset.result.json", &s.call("packer/getAsset", json!({"projectId": pid, "assetId": id})));
    v.check("diagnostics.result.json", &s.call("packer/diagnostics", json!({"projectId": pid})));

    let mutation = json!({"kind": "batch", "mutations": [
        {"kind": "move", "assetId": id, "to": "assets/sub/a.txt"},
        {"kind": "setMetadata", "assetId": ids["assets/b.json"], "tags": ["ui"], "settings": {"scale": 2}},
        {"kind": "delete", "assetIds": [ids["assets/bad.json"]]},
    ]});
    v.check("mutation.json", &mutation);
    let preview_params = json!({"projectId": pid, "mutation": mutation});
    v.check("previewMutation.params.json", &preview_params);
    v.check("previewMutation.result.json", &s.call("packer/previewMutation", preview_params));
    let apply_params = json!({"projectId": pid, "mutation": mutation, "workDoneToken": "t1", "expectedGeneration": open["generation"].as_u64().unwrap() + 1});
    v.check("applyMutation.params.json", &apply_params);
    v.check("applyMutation.result.json", &s.call("packer/applyMutation", apply_params));
    let rejected = s.call(
        "packer/applyMutation",
        json!({"projectId": pid, "mutation": {"kind": "move", "assetId": "nope", "to": "x/y"}}),
    );
    assert_eq!(rejected["outcome"], "rejected");
    v.check("applyMutation.result.json", &rejected);
    let ops = s.call("packer/operations", json!({"projectId": pid}));
    v.check("operations.result.json", &ops);
    let op = ops["items"][0]["operationId"].clone();
    v.check("cancel.result.json", &s.call("packer/cancel", json!({"operationId": op})));
    v.check("replayEvents.result.json", &s.call("packer/replayEvents", json!({"projectId": pid})));

    for e in [
        s.request("packer/nope", json!({})).unwrap_err(),
        s.request("packer/getAsset", json!({"projectId": pid})).unwrap_err(),
        s.request("packer/listAssets", json!({"projectId": pid, "cursor": "1:x"})).unwrap_err(),
    ] {
        v.check("error.json", &e);
    }

    let events = s.events();
    // Progress comes at most every 50 ms of an apply: how many there are
    // depends on the machine's speed, so they are checked but not counted.
    let lifecycle = events.iter().filter(|e| e["kind"] != "progress").count();
    assert_eq!(lifecycle, 12, "register 5 (its divergenceCleared too), batch 4, rejected 3: {events:#?}");
    for e in &events {
        v.check("event.json", e);
    }
    let progress: Vec<Value> =
        s.log.iter().filter(|m| m["method"] == "$/progress").map(|m| m["params"].clone()).collect();
    assert_eq!(progress.len(), 2);
    for p in &progress {
        v.check("progress.json", p);
    }

    // A build (the bad JSON was deleted above, so it succeeds), its events and the summary after it.
    s.log.clear();
    let built = s.call("packer/build", json!({"projectId": pid, "workDoneToken": 9}));
    assert_eq!(built["outcome"], "succeeded", "{built}");
    v.check("build.result.json", &built);
    v.check("cacheStats.result.json", &s.call("packer/cacheStats", json!({"projectId": pid})));
    let prune_params = json!({"projectId": pid, "maxSize": 0, "workDoneToken": "p"});
    v.check("pruneCache.params.json", &prune_params);
    let pruned = s.call("packer/pruneCache", prune_params);
    assert_eq!(pruned["outcome"], "succeeded", "{pruned}");
    v.check("pruneCache.result.json", &pruned);
    let unbounded = s.call("packer/pruneCache", json!({"projectId": pid}));
    assert_eq!(unbounded["outcome"], "failed", "{unbounded}");
    v.check("pruneCache.result.json", &unbounded);
    v.check("operations.result.json", &s.call("packer/operations", json!({"projectId": pid})));
    v.check("summary.result.json", &s.call("packer/summary", json!({"projectId": pid})));
    v.check("divergence.result.json", &s.call("packer/divergence", json!({"projectId": pid})));
    let begin_params = json!({"projectId": pid, "reason": "git checkout feature", "timeoutMs": 60000});
    v.check("beginExternalChange.params.json", &begin_params);
    let began = s.call("packer/beginExternalChange", begin_params);
    v.check("beginExternalChange.result.json", &began);
    let end_params = json!({"changeId": began["changeId"]});
    v.check("endExternalChange.params.json", &end_params);
    assert_eq!(s.call("packer/endExternalChange", end_params), Value::Null);
    s.wait_for("externalChangeEnded", |m| m["params"]["kind"] == "externalChangeEnded");
    for e in s.events() {
        v.check("event.json", &e);
    }
    for m in s.log.iter().filter(|m| m["method"] == "$/progress") {
        v.check("progress.json", &m["params"]);
    }
}

#[test]
fn the_schemas_are_strict_enough_to_fail() {
    let mut v = Validator::new();
    let f = Fixture::with_text_files(1);
    let mut s = Server::ready();
    let pid = s.open(&f.root());
    let mut summary = s.call("packer/summary", json!({"projectId": pid}));
    v.check("summary.result.json", &summary);
    summary["assets"]["byStatus"].as_object_mut().unwrap().remove("missing");
    assert!(v.rejects("summary.result.json", &summary));
    let mut summary = s.call("packer/summary", json!({"projectId": pid}));
    summary["divergence"]["state"] = json!("dirty");
    assert!(v.rejects("summary.result.json", &summary));
    let r = s.apply(&pid, json!({"kind": "register", "paths": ["assets/f000.txt"]}));
    let mut bad = r.clone();
    bad["outcome"] = json!("succeeded");
    assert!(v.rejects("applyMutation.result.json", &bad));
    let id = r["registryMutations"][0]["assetId"].clone();
    let mut bad = r;
    bad["extra"] = json!(1);
    assert!(v.rejects("applyMutation.result.json", &bad));
    // A blocker is an `error` and a warning a `warning`, always.
    let mutation = json!({"kind": "batch", "mutations": [
        {"kind": "move", "assetId": id, "to": "assets/f000.json"},
        {"kind": "register", "paths": ["assets/nope.txt"]},
    ]});
    let p = s.call("packer/previewMutation", json!({"projectId": pid, "mutation": mutation}));
    assert_eq!(
        (p["blockers"][0]["severity"].as_str(), p["warnings"][0]["severity"].as_str()),
        (Some("error"), Some("warning")),
        "{p}"
    );
    v.check("previewMutation.result.json", &p);
    for (list, severity) in [("blockers", json!("warning")), ("warnings", json!("error")), ("blockers", json!("info"))]
    {
        let mut bad = p.clone();
        bad[list][0]["severity"] = severity;
        assert!(v.rejects("previewMutation.result.json", &bad), "{list}: {}", bad[list][0]);
    }
    let mut bad = p;
    bad["blockers"][0].as_object_mut().unwrap().remove("severity");
    assert!(v.rejects("previewMutation.result.json", &bad));
}

#[test]
fn summarised_answers_and_limit_errors_match_their_schemas() {
    let mut v = Validator::new();
    let f = Fixture::with_text_files(1);
    let mut s = Server::ready();
    let pid = s.open(&f.root());
    let paths: Vec<String> = (0..1_001).map(|i| format!("assets/missing/{i}.txt")).collect();
    let mutation = json!({"kind": "register", "paths": paths});
    v.check("mutation.json", &mutation);
    let preview = s.call("packer/previewMutation", json!({"projectId": pid, "mutation": mutation}));
    assert_eq!(preview["truncated"]["blockers"], 1_001, "{}", preview["truncated"]);
    v.check("previewMutation.result.json", &preview);
    let rejected = s.apply(&pid, mutation);
    assert_eq!(rejected["truncated"]["blockers"], 1_001);
    v.check("applyMutation.result.json", &rejected);
    s.wait_for("the rejected event", |m| m["params"]["kind"] == "rejected");
    for e in s.events() {
        v.check("event.json", &e);
    }
    let tags = vec!["t"; 1_001];
    let e = s
        .request(
            "packer/previewMutation",
            json!({"projectId": pid, "mutation": {"kind": "setMetadata", "assetId": "x", "tags": tags}}),
        )
        .unwrap_err();
    assert_eq!(e["data"]["limit"], 1_000);
    v.check("error.json", &e);
    // A list longer than an answer lists is not a valid answer.
    // (The entry added is a valid blocker: only the length is wrong.)
    let blocker = json!({"severity": "error", "code": "notFound", "message": "x"});
    let mut replaced = preview.clone();
    replaced["blockers"][0] = blocker.clone();
    v.check("previewMutation.result.json", &replaced);
    let mut long = preview;
    long["blockers"].as_array_mut().unwrap().push(blocker);
    assert!(v.rejects("previewMutation.result.json", &long));
}

#[test]
fn the_hardening_answers_match_their_schemas() {
    let mut v = Validator::new();
    // A state folder the packer refuses.
    let f = Fixture::with_text_files(2);
    std::fs::create_dir_all(f.path(".packer")).unwrap();
    let outside = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(outside.path(), f.path(".packer/cache")).unwrap();
    let mut s = Server::ready();
    let refused = s.request("packer/openProject", json!({"root": f.root()})).unwrap_err();
    assert_eq!(refused["data"]["reason"], "stateFolderRefused");
    v.check("error.json", &refused);
    std::fs::remove_file(f.path(".packer/cache")).unwrap();

    // Blockers a build output and a case twin give.
    let pid = s.open(&f.root());
    let ids = register_all(&mut s, &pid, &f);
    let id = &ids["assets/f000.txt"];
    for to in ["build/x.txt", "assets/F001.txt"] {
        let p = s.call(
            "packer/previewMutation",
            json!({"projectId": pid, "mutation": {"kind": "move", "assetId": id, "to": to}}),
        );
        assert_eq!(p["blockers"].as_array().unwrap().len(), 1, "{p}");
        v.check("previewMutation.result.json", &p);
    }

    // Operations cancelled by packer/cancel while queued: an apply, a build
    // and a prune each answer their result, and their events carry it.
    let mark = s.mark();
    let slow = s.send("packer/applyMutation", json!({"projectId": pid, "mutation": {"kind": "testSleep", "ms": 800}}));
    // Once it holds the lane, what follows waits behind it.
    s.wait_for_after(mark, "the slow apply to start", |m| m["params"]["kind"] == "started");
    let queued = [
        (
            "applyMutation.result.json",
            s.send("packer/applyMutation", json!({"projectId": pid, "mutation": {"kind": "testSleep", "ms": 1}})),
        ),
        ("build.result.json", s.send("packer/build", json!({"projectId": pid}))),
        ("pruneCache.result.json", s.send("packer/pruneCache", json!({"projectId": pid, "maxSize": 0}))),
    ];
    let ops = s.call("packer/operations", json!({"projectId": pid}));
    for op in ops["items"].as_array().unwrap().iter().filter(|o| o["state"] == "queued") {
        s.call("packer/cancel", json!({"operationId": op["operationId"]}));
    }
    for (schema, id) in queued {
        let r = s.response(id);
        assert_eq!(r["result"]["outcome"], "cancelled", "{r}");
        v.check(schema, &r["result"]);
    }
    s.response(slow);
    for e in s.events() {
        v.check("event.json", &e);
    }
}

/// `studio-packer check --json` matches check.json whatever it finds: the
/// codes only check reports (divergence kinds, the files' syntax) beside
/// the diagnostics' own.
#[test]
fn check_reports_match_their_schema() {
    let mut v = Validator::new();
    let check = |root: &Path| -> Value {
        let out = std::process::Command::new(common::BIN).arg("check").arg(root).arg("--json").output().unwrap();
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {out:?}"))
    };
    let codes = |r: &Value| -> Vec<String> {
        let mut codes: Vec<String> =
            r["findings"].as_array().unwrap().iter().map(|f| f["code"].as_str().unwrap().to_string()).collect();
        codes.sort();
        codes
    };
    let f = Fixture::new(&[("assets/a.txt", b"a"), ("assets/b.txt", b"b"), ("assets/bad.json", b"{")]);
    let mut s = Server::ready();
    let pid = s.open(&f.root());
    register_all(&mut s, &pid, &f);
    assert_eq!(s.shutdown(), 0);
    std::fs::remove_file(f.path("assets/a.txt")).unwrap();
    f.write("assets/b.txt", b"changed");
    f.write("assets/new.txt", b"new");
    std::os::unix::fs::symlink(f.path("assets/new.txt"), f.path("assets/link.txt")).unwrap();
    let r = check(&f.root());
    assert_eq!(codes(&r), ["invalidJson", "missing", "modified", "symlinkIgnored", "untracked"], "{r:#}");
    v.check("check.json", &r);

    // The files' syntax: each error at its line (and the manifest's column).
    let manifest = std::fs::read_to_string(f.path("packer.toml")).unwrap();
    f.write("packer.toml", format!("{manifest}\nbogus = 1\n").as_bytes());
    let registry = std::fs::read_to_string(f.path("packer.registry.jsonl")).unwrap();
    f.write("packer.registry.jsonl", format!("{registry}{{oops\n").as_bytes());
    let r = check(&f.root());
    assert_eq!(codes(&r), ["manifestInvalid", "registryInvalid"], "{r:#}");
    v.check("check.json", &r);

    // A finding names its file `path`, with a code of the lists.
    let mut bad = r.clone();
    let finding = bad["findings"][0].as_object_mut().unwrap();
    let path = finding.remove("path").unwrap();
    finding.insert("file".into(), path);
    assert!(v.rejects("check.json", &bad));
    let mut bad = r;
    bad["findings"][0]["code"] = json!("nonsense");
    assert!(v.rejects("check.json", &bad));
}

/// Drift between what the binary sends and what the schemas allow, each
/// found by a client author, stays fixed.
#[test]
fn answers_a_client_author_found_the_schemas_rejecting_now_match() {
    let mut v = Validator::new();
    let f = Fixture::with_text_files(1);
    let mut s = Server::ready();
    let pid = s.open(&f.root());
    // -32600 for a request id still in flight names it in `data.duplicateId`.
    let slow = json!({"jsonrpc": "2.0", "id": "dup", "method": "packer/applyMutation",
        "params": {"projectId": pid, "mutation": {"kind": "testSleep", "ms": 800}}});
    s.send_body(&slow.to_string());
    let again = json!({"jsonrpc": "2.0", "id": "dup", "method": "packer/summary", "params": {"projectId": pid}});
    s.send_body(&again.to_string());
    let refused = s.wait_for("the refusal", |m| m["id"] == "dup" && m.get("error").is_some());
    assert_eq!(refused["error"]["data"]["duplicateId"], "dup");
    v.check("error.json", &refused["error"]);
    s.wait_for("the apply's answer", |m| m["id"] == "dup" && m.get("result").is_some());
    // `packer/operations` lists a cache prune among its kinds.
    s.call("packer/pruneCache", json!({"projectId": pid, "maxSize": 0}));
    let ops = s.call("packer/operations", json!({"projectId": pid}));
    assert!(ops["items"].as_array().unwrap().iter().any(|o| o["kind"] == "pruneCache"), "{ops}");
    v.check("operations.result.json", &ops);
}

/// The event kinds of the generated schema, each with its description.
fn event_variants() -> Vec<(String, String)> {
    let model: Value = serde_json::from_str(
        &std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("protocol/model.json")).unwrap(),
    )
    .unwrap();
    let variants = model["$defs"]["Event"]["oneOf"].as_array().expect("Event is a oneOf of event kinds");
    variants
        .iter()
        .map(|v| {
            let kind = v["properties"]["kind"]["const"].as_str().unwrap().to_string();
            (kind, v["description"].as_str().unwrap_or_default().to_string())
        })
        .collect()
}

#[test]
fn every_event_kind_of_the_schema_says_what_it_means() {
    for (kind, description) in event_variants() {
        assert!(description.len() > 10, "the event `{kind}` has no description in the model");
    }
}

/// What `initialize` declares, the README's method sections, and the event
/// schema's variants are one list each: a method or an event kind added in
/// one place and not the others fails here.
#[test]
fn initialize_declares_what_the_readme_and_the_schemas_describe() {
    let mut v = Validator::new();
    let mut s = Server::start();
    let init = s.call("initialize", json!({"capabilities": {}}));
    v.check("initialize.result.json", &init);
    let packer = &init["capabilities"]["experimental"]["packer"];
    let strings =
        |v: &Value| -> Vec<String> { v.as_array().unwrap().iter().map(|s| s.as_str().unwrap().to_string()).collect() };
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("protocol/README.md")).unwrap();
    // The `### `name`` sections under `## Methods`, then under `## Notifications`.
    let sections = |part: &str| -> Vec<String> {
        let start = readme.find(&format!("\n## {part}\n")).unwrap_or_else(|| panic!("no `## {part}`"));
        let text = &readme[start + 1..];
        let end = text[3..].find("\n## ").map_or(text.len(), |i| i + 3);
        text[..end]
            .lines()
            .filter_map(|l| l.strip_prefix("### `"))
            .filter_map(|rest| rest.split('`').next())
            .map(str::to_string)
            .collect()
    };
    let methods: Vec<String> = sections("Methods").into_iter().filter(|m| m != "initialize").collect();
    assert_eq!(strings(&packer["methods"]), methods, "initialize's methods against protocol/README.md's sections");
    assert_eq!(strings(&packer["notifications"]), sections("Notifications"), "and its notifications");
    let mut variants: Vec<String> = event_variants().into_iter().map(|(kind, _)| kind).collect();
    let mut kinds = strings(&packer["eventKinds"]);
    variants.sort();
    kinds.sort();
    assert_eq!(kinds, variants, "initialize's eventKinds against the Event type's variants");
    for kind in &kinds {
        assert!(readme.contains(&format!("`{kind}`")), "protocol/README.md never names the event `{kind}`");
    }
    for kind in strings(&packer["mutationKinds"]) {
        let variant = format!("{{ kind: \"{kind}\"");
        assert!(readme.contains(&variant), "protocol/README.md's Mutation type has no `{kind}`");
    }
}

/// What the hand-kept schemas refused, the generated ones refuse too: real
/// answers and notifications, each changed in one way no packer sends, must
/// each be rejected (a review found the first generated schemas accepting
/// 46 such instances).
#[test]
fn the_generated_schemas_refuse_what_no_packer_sends() {
    let mut v = Validator::new();
    let f = Fixture::new(&[("assets/a.txt", b"a"), ("assets/b.txt", b"b")]);
    let mut s = Server::start();
    s.call("initialize", json!({"capabilities": {}}));
    let open = s.call("packer/openProject", json!({"root": f.root()}));
    let pid = open["projectId"].as_str().unwrap().to_string();
    let mark = s.mark();
    let mutation = json!({"kind": "register", "paths": ["assets/a.txt"]});
    let apply = s.call("packer/applyMutation", json!({"projectId": pid, "mutation": mutation, "workDoneToken": "t"}));
    s.wait_for_after(mark, "the apply's terminal event", |m| m["params"]["kind"] == "succeeded");
    let events = s.events();
    let event = |kind: &str| events.iter().find(|e| e["kind"] == kind).unwrap_or_else(|| panic!("no {kind}")).clone();
    let (succeeded, snapshot) = (event("succeeded"), event("snapshotPublished"));
    let begin = s.log.iter().find(|m| m["method"] == "$/progress").expect("progress")["params"].clone();
    let item = s.call("packer/divergence", json!({"projectId": pid}))["items"][0].clone();
    assert_eq!(item["kind"], "untracked", "{item}");
    let detected = json!({"kind": "divergenceDetected", "projectId": pid, "seq": 9, "generation": 2,
        "state": "diverged", "count": 1, "items": [item]});
    let cleared = json!({"kind": "divergenceCleared", "projectId": pid, "seq": 9, "generation": 2,
        "state": "clean", "count": 0, "ids": [item["id"]]});
    let error = |code: i64, data: Value| json!({"code": code, "message": "m", "data": data});
    // Each baseline is valid, as sent.
    for (schema, good) in [
        ("openProject.result.json", &open),
        ("applyMutation.result.json", &apply),
        ("event.json", &succeeded),
        ("event.json", &snapshot),
        ("event.json", &detected),
        ("event.json", &cleared),
        ("progress.json", &begin),
    ] {
        v.check(schema, good);
    }
    let changed = |base: &Value, change: &dyn Fn(&mut Value)| {
        let mut x = base.clone();
        change(&mut x);
        x
    };
    let bad: Vec<(&str, &str, Value)> = vec![
        (
            "a project id not made by the packer",
            "openProject.result.json",
            changed(&open, &|x| x["projectId"] = json!("x")),
        ),
        ("generation 0", "openProject.result.json", changed(&open, &|x| x["generation"] = json!(0))),
        (
            "two operations running",
            "openProject.result.json",
            changed(&open, &|x| x["summary"]["lane"]["running"] = json!(2)),
        ),
        ("owner pid 0", "openProject.result.json", changed(&open, &|x| x["ownership"]["ownerPid"] = json!(0))),
        (
            "a watch reason of null",
            "openProject.result.json",
            changed(&open, &|x| x["summary"]["watch"]["reason"] = json!(null)),
        ),
        (
            "a count missing",
            "openProject.result.json",
            changed(&open, &|x| {
                x["summary"]["assets"]["byKind"].as_object_mut().unwrap().remove("image");
            }),
        ),
        (
            "an operation id not made by the packer",
            "applyMutation.result.json",
            changed(&apply, &|x| x["operationId"] = json!("xyz")),
        ),
        ("truncated null", "applyMutation.result.json", changed(&apply, &|x| x["truncated"] = json!(null))),
        (
            "truncated at 5",
            "applyMutation.result.json",
            changed(&apply, &|x| {
                x["truncated"] =
                    json!({"limit": 5, "blockers": 0, "warnings": 0, "registryMutations": 0, "filesystemMutations": 0})
            }),
        ),
        (
            "an add with a before",
            "applyMutation.result.json",
            changed(&apply, &|x| x["registryMutations"][0]["before"] = x["registryMutations"][0]["after"].clone()),
        ),
        (
            "an asset id with a space",
            "applyMutation.result.json",
            changed(&apply, &|x| x["registryMutations"][0]["assetId"] = json!("a b")),
        ),
        (
            "an empty path",
            "applyMutation.result.json",
            changed(&apply, &|x| x["registryMutations"][0]["after"]["path"] = json!("")),
        ),
        (
            "a file step with an empty path",
            "applyMutation.result.json",
            changed(&apply, &|x| x["filesystemMutations"] = json!([{"op": "move", "path": "", "to": "a"}])),
        ),
        (
            "a delete step with a target",
            "applyMutation.result.json",
            changed(&apply, &|x| x["filesystemMutations"] = json!([{"op": "delete", "path": "a", "to": "b"}])),
        ),
        (
            "a blocker with a null asset id",
            "applyMutation.result.json",
            changed(&apply, &|x| {
                x["blockers"] = json!([{"severity": "error", "code": "notFound", "message": "m", "assetId": null}])
            }),
        ),
        ("succeeded, rejected", "event.json", changed(&succeeded, &|x| x["outcome"] = json!("rejected"))),
        (
            "succeeded with an error",
            "event.json",
            changed(&succeeded, &|x| {
                x["error"] = json!({"reason": "applyFailed", "operationId": "op-1", "message": "m"})
            }),
        ),
        (
            "rejected without its result",
            "event.json",
            changed(&succeeded, &|x| {
                x["kind"] = json!("rejected");
                x["outcome"] = json!("rejected");
                x.as_object_mut().unwrap().remove("result");
            }),
        ),
        (
            "cancelled, applied",
            "event.json",
            changed(&succeeded, &|x| {
                x["kind"] = json!("cancelled");
            }),
        ),
        ("recovered false", "event.json", changed(&succeeded, &|x| x["recovered"] = json!(false))),
        ("recovered null", "event.json", changed(&succeeded, &|x| x["recovered"] = json!(null))),
        ("seq 0", "event.json", changed(&succeeded, &|x| x["seq"] = json!(0))),
        ("sequence 0", "event.json", changed(&succeeded, &|x| x["sequence"] = json!(0))),
        ("a snapshot's operation id of null", "event.json", changed(&snapshot, &|x| x["operationId"] = json!(null))),
        ("no ids cleared", "event.json", changed(&cleared, &|x| x["ids"] = json!([]))),
        ("no items detected", "event.json", changed(&detected, &|x| x["items"] = json!([]))),
        (
            "a divergence id not made by the packer",
            "event.json",
            changed(&detected, &|x| x["items"][0]["id"] = json!("zz")),
        ),
        ("an item with an empty path", "event.json", changed(&detected, &|x| x["items"][0]["path"] = json!(""))),
        (
            "owner pid 0 in ownerChanged",
            "event.json",
            json!({"kind": "ownerChanged", "projectId": pid, "seq": 3, "ownerPid": 0}),
        ),
        (
            "a change held 0 ms",
            "event.json",
            json!({"kind": "externalChangeBegan", "projectId": pid, "seq": 3, "changeId": "xc-1", "reason": "r", "timeoutMs": 0}),
        ),
        (
            "a change id not made by the packer",
            "event.json",
            json!({"kind": "externalChangeBegan", "projectId": pid, "seq": 3, "changeId": "x", "reason": "r", "timeoutMs": 5}),
        ),
        (
            "a begin that cannot be cancelled",
            "progress.json",
            changed(&begin, &|x| x["value"]["cancellable"] = json!(false)),
        ),
        ("a begin titled otherwise", "progress.json", changed(&begin, &|x| x["value"]["title"] = json!("whatever"))),
        ("a progress value with an extra key", "progress.json", changed(&begin, &|x| x["value"]["extra"] = json!(1))),
        ("a token that is a float", "progress.json", changed(&begin, &|x| x["token"] = json!(1.5))),
        ("-32801 with a failure's data", "error.json", error(-32801, json!({"reason": "io"}))),
        ("-32803 with invalid params' data", "error.json", error(-32803, json!({"field": "x"}))),
        ("-32602 without data", "error.json", json!({"code": -32602, "message": "m"})),
        ("-32700 with data", "error.json", error(-32700, json!({"field": "x"}))),
        ("a failure with a field of another", "error.json", error(-32803, json!({"reason": "io", "field": "x"}))),
        (
            "a manifest error at line 0",
            "error.json",
            error(
                -32803,
                json!({"reason": "manifestInvalid", "file": "packer.toml", "line": 0, "column": 1, "key": null}),
            ),
        ),
    ];
    let accepted: Vec<&str> =
        bad.iter().filter(|(_, schema, x)| !v.rejects(schema, x)).map(|(what, _, _)| *what).collect();
    assert!(accepted.is_empty(), "the schemas accept what no packer sends: {accepted:?}");
}
