//! A request's cost is bounded by what a client could legitimately need:
//! lists and strings over their limits are refused while they are read
//! (-32602 naming the field and the limit), and long answers are summarised
//! with exact counts. Driven through the real binary over stdio.

mod common;

use common::{memory_kib, Fixture, Server};
use serde_json::{json, Value};

const ITEMS: usize = 100_000;
/// The server's peak resident memory through every refused request below.
/// Measured at 73 MiB in a debug build (the largest frame is 12 MB; before
/// the limits, the 1M-path preview alone took 1.1 GiB and the 4M one 4.4 GiB).
const PEAK_BOUND_KIB: u64 = 128 * 1024;

/// A `packer/<method>` request whose params are `{"projectId": pid, "mutation": <mutation>}`,
/// written as text: a test-side `Value` of four million strings would cost more than the server.
fn send_mutation(s: &mut Server, id: i64, method: &str, pid: &str, mutation: &str) {
    let body = format!(
        r#"{{"jsonrpc":"2.0","id":{id},"method":"packer/{method}","params":{{"projectId":"{pid}","mutation":{mutation}}}}}"#
    );
    s.send_body(&body);
}

/// `n` copies of `entry`, as a JSON array.
fn array(entry: &str, n: usize) -> String {
    let mut out = String::with_capacity((entry.len() + 1) * n + 2);
    out.push('[');
    for i in 0..n {
        if i > 0 {
            out.push(',');
        }
        out.push_str(entry);
    }
    out.push(']');
    out
}

/// The expected error of a request over the item budget.
fn assert_over_budget(answer: &Value, field: &str) {
    let e = &answer["error"];
    assert_eq!(e["code"], -32602, "{answer}");
    assert_eq!(e["data"], json!({"field": field, "limit": ITEMS}), "{answer}");
    let message = e["message"].as_str().unwrap();
    let expected = format!(
        "invalid params: `{field}`: more than 100000 entries in one request (paths, assetIds, tags, mutations, \
         items and settings all count, at any depth); the limit is 100000"
    );
    assert!(message.starts_with(&expected), "{message}");
}

#[test]
fn amplification_requests_are_refused_naming_the_field_and_the_limit_in_bounded_memory() {
    let f = Fixture::new(&[("assets/a.txt", b"a")]);
    let mut s = Server::ready();
    let pid = s.open(&f.root());
    let empty_paths = |n| format!(r#"{{"kind":"register","paths":{}}}"#, array(r#""""#, n));
    // One batch holding 1,000 batches, each holding a register of 1,000 paths.
    let inner = format!(r#"{{"kind":"batch","mutations":[{}]}}"#, empty_paths(1_000));
    let batch_of_batches = format!(r#"{{"kind":"batch","mutations":{}}}"#, array(&inner, 1_000));
    let cases: Vec<(&str, String, &str)> = vec![
        ("previewMutation", empty_paths(1_000_000), "mutation.paths"),
        ("previewMutation", empty_paths(4_000_000), "mutation.paths"),
        ("applyMutation", empty_paths(1_000_000), "mutation.paths"),
        (
            "applyMutation",
            format!(r#"{{"kind":"delete","assetIds":{}}}"#, array(r#""""#, 1_000_000)),
            "mutation.assetIds",
        ),
        (
            "previewMutation",
            format!(r#"{{"kind":"unregister","assetIds":{}}}"#, array(r#""""#, 1_000_000)),
            "mutation.assetIds",
        ),
        // Every entry counts, batches too: each inner batch is 1,000 paths,
        // then its entry in its batch and in the outer one (1,002). The
        // 100,001st falls in the 100th inner batch's paths.
        ("previewMutation", batch_of_batches, "mutation.mutations[99].mutations[0].paths"),
        // A 10 MB frame: past 100,000 the number does not matter, and a
        // larger frame measures the transport's copies of it, not the mutation.
        (
            "previewMutation",
            format!(
                r#"{{"kind":"reconcile","items":{}}}"#,
                array(r#"{"divergenceId":"","resolution":"drop"}"#, 250_000)
            ),
            "mutation.items",
        ),
        (
            "previewMutation",
            format!(r#"{{"kind":"setMetadata","assetId":"x","settings":{{"s":{}}}}}"#, array("0", 1_000_000)),
            "mutation.settings.s",
        ),
    ];
    for (i, (method, mutation, field)) in cases.iter().enumerate() {
        let id = 1_000 + i as i64;
        send_mutation(&mut s, id, method, &pid, mutation);
        let answer = s.response(id);
        assert_over_budget(&answer, field);
        // The server goes on serving.
        let summary = s.call("packer/summary", json!({"projectId": pid}));
        assert_eq!(summary["assets"]["total"], 0, "{summary}");
    }
    let (_, peak) = memory_kib(s.child.id());
    eprintln!("peak memory through the amplification requests: {} MiB", peak / 1024);
    assert!(peak > 0, "VmHWM is read from /proc");
    assert!(peak < PEAK_BOUND_KIB, "the server's peak memory was {peak} KiB (bound {PEAK_BOUND_KIB} KiB)");
    // Nothing was applied, and no operation was made for the refused applies.
    assert_eq!(s.call("packer/operations", json!({"projectId": pid}))["items"], json!([]));
    assert!(!f.root().join("packer.registry.jsonl").exists() || f.registry_paths().is_empty());
}

#[test]
fn per_list_and_string_limits_name_the_field_and_the_limit() {
    let f = Fixture::with_text_files(1);
    let mut s = Server::ready();
    let pid = s.open(&f.root());
    let preview = |s: &mut Server, mutation: Value| {
        s.request("packer/previewMutation", json!({"projectId": pid, "mutation": mutation})).unwrap_err()
    };
    let tags: Vec<String> = (0..1_001).map(|i| format!("t{i}")).collect();
    let e = preview(&mut s, json!({"kind": "setMetadata", "assetId": "x", "tags": tags}));
    assert_eq!(e["code"], -32602);
    assert_eq!(e["data"], json!({"field": "mutation.tags", "limit": 1000}));
    assert!(e["message"].as_str().unwrap().contains("this list may hold at most 1000"), "{e}");
    let e = preview(&mut s, json!({"kind": "register", "paths": ["assets/f000.txt", "a".repeat(4_097)]}));
    assert_eq!(e["data"], json!({"field": "mutation.paths[1]", "limit": 4096}));
    assert!(e["message"].as_str().unwrap().contains("a string of 4097 bytes; the limit is 4096 bytes"), "{e}");
    let e = preview(&mut s, json!({"kind": "delete", "assetIds": ["x".repeat(257)]}));
    assert_eq!(e["data"], json!({"field": "mutation.assetIds[0]", "limit": 256}));
    let e = preview(
        &mut s,
        json!({"kind": "setMetadata", "assetId": "x", "settings": {"s": {"deep": "v".repeat(65_537)}}}),
    );
    assert_eq!(e["data"], json!({"field": "mutation.settings.s.deep", "limit": 65536}));
    let e =
        s.request("packer/listAssets", json!({"projectId": pid, "filter": {"text": "t".repeat(5_000)}})).unwrap_err();
    assert_eq!(e["data"], json!({"field": "filter.text", "limit": 4096}));
    // A path at the byte limit is read, and blocked by the planner's own rule.
    let at_limit = "a".repeat(4_096);
    let r = s.call(
        "packer/previewMutation",
        json!({"projectId": pid, "mutation": {"kind": "register", "paths": [at_limit]}}),
    );
    assert_eq!(r["blockers"][0]["code"], "invalidName", "{r}");
    assert!(r.get("truncated").is_none());
}

#[test]
fn a_preview_at_the_item_limit_is_summarised_with_exact_counts() {
    let f = Fixture::new(&[("assets/a.txt", b"a")]);
    let mut s = Server::ready();
    let pid = s.open(&f.root());
    let paths: Vec<String> = (0..ITEMS).map(|i| format!("assets/missing/{i}.txt")).collect();
    let mutation = json!({"kind": "register", "paths": paths});
    let r = s.call("packer/previewMutation", json!({"projectId": pid, "mutation": mutation}));
    let blockers = r["blockers"].as_array().unwrap();
    assert_eq!(blockers.len(), 1_000);
    assert_eq!(blockers[0]["code"], "notFound");
    assert_eq!(blockers[0]["path"], "assets/missing/0.txt");
    assert_eq!(blockers[999]["path"], "assets/missing/999.txt");
    assert_eq!(
        r["truncated"],
        json!({"limit": 1000, "blockers": ITEMS, "warnings": 0, "registryMutations": 0, "filesystemMutations": 0})
    );
    // An apply of it is rejected by all its blockers, listed the same way.
    let a = s.apply(&pid, mutation);
    assert_eq!(a["outcome"], "rejected");
    assert_eq!(a["blockers"].as_array().unwrap().len(), 1_000);
    assert_eq!(a["truncated"]["blockers"], ITEMS);
    let rejected = s.wait_for("the rejected event", |m| m["params"]["kind"] == "rejected");
    assert_eq!(rejected["params"]["result"], a);
    let (_, peak) = memory_kib(s.child.id());
    eprintln!("peak memory through a preview and an apply of 100,000 paths: {} MiB", peak / 1024);
    assert!(peak < PEAK_BOUND_KIB, "{peak} KiB");
}

#[test]
fn registering_twenty_thousand_files_in_one_mutation_applies_all_and_lists_the_first_thousand() {
    const N: usize = 20_000;
    let f = Fixture::new(&[]);
    for i in 0..N {
        f.write(&format!("assets/d{:02}/f{i:05}.txt", i / 1_000), format!("{i}\n").as_bytes());
    }
    let mut s = Server::ready();
    let pid = s.open(&f.root());
    // Every new file is an untracked item: reconcile's proposal is summarised too.
    let d = s.divergence_until(&pid, |d| d["items"].as_array().is_some_and(|i| i.len() == N));
    assert_eq!(d["items"].as_array().unwrap().len(), N);
    let r = s.call("packer/previewMutation", json!({"projectId": pid, "mutation": {"kind": "reconcile"}}));
    assert_eq!(r["resolutions"].as_array().unwrap().len(), 1_000);
    assert_eq!(
        r["truncated"],
        json!({"limit": 1000, "blockers": 0, "warnings": 0, "registryMutations": N, "filesystemMutations": 1, "resolutions": N})
    );

    let paths: Vec<String> = (0..N).map(|i| format!("assets/d{:02}/f{i:05}.txt", i / 1_000)).collect();
    let from = s.mark();
    let a = s.apply(&pid, json!({"kind": "register", "paths": paths}));
    assert_eq!(a["outcome"], "applied", "{}", a["blockers"]);
    assert_eq!(a["registryMutations"].as_array().unwrap().len(), 1_000);
    assert_eq!(a["filesystemMutations"], json!([{"op": "write", "path": "packer.registry.jsonl"}]));
    assert_eq!(
        a["truncated"],
        json!({"limit": 1000, "blockers": 0, "warnings": 0, "registryMutations": N, "filesystemMutations": 1})
    );
    // Everything was applied, not only what is listed.
    assert_eq!(f.registry_paths().len(), N);
    let summary = s.call("packer/summary", json!({"projectId": pid}));
    assert_eq!(summary["assets"]["total"], N);
    let succeeded = s.wait_for_after(from, "the succeeded event", |m| m["params"]["kind"] == "succeeded");
    assert_eq!(succeeded["params"]["result"], a);
    let (_, peak) = memory_kib(s.child.id());
    eprintln!("peak memory registering {N} files in one mutation: {} MiB", peak / 1024);
}
