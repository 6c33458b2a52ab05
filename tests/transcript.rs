//! `protocol/transcript.md`: a real session on the wire, from a run of the
//! binary, so that the worked example client authors read cannot drift from
//! what the server sends. The test runs the session, writes what went each
//! way (with the values that differ from run to run replaced by stable
//! placeholders), and fails when the committed transcript differs;
//! `UPDATE_TRANSCRIPT=1` rewrites it.

mod common;

use std::collections::HashMap;
use std::path::Path;

use common::{Fixture, Server};
use serde_json::{json, Map, Value};

/// One step of the session: a heading, a sentence, and the messages.
struct Step {
    title: &'static str,
    text: &'static str,
    messages: Vec<(bool, Value)>,
}

/// Records what the client sends beside what the server answers, in order.
struct Session {
    s: Server,
    next_id: i64,
    sent: Vec<(usize, Value)>,
    steps: Vec<(usize, &'static str, &'static str)>,
}

impl Session {
    fn step(&mut self, title: &'static str, text: &'static str) {
        self.steps.push((self.sent.len(), title, text));
    }

    fn send(&mut self, method: &str, params: Value) -> i64 {
        let id = self.next_id;
        self.next_id += 1;
        let body = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
        self.sent.push((self.s.mark(), body.clone()));
        self.s.send_body(&body.to_string());
        id
    }

    fn call(&mut self, method: &str, params: Value) -> Value {
        let id = self.send(method, params);
        self.s.response(id)
    }

    /// Every message in order, each with its direction (true: to the server).
    fn messages(&self) -> Vec<(usize, bool, Value)> {
        let mut out = Vec::new();
        let mut received = self.s.log.iter().enumerate().peekable();
        // What arrived before a message was sent answers an earlier one.
        for (i, (mark, body)) in self.sent.iter().enumerate() {
            while let Some((_, m)) = received.next_if(|(at, _)| at < mark) {
                out.push((i.saturating_sub(1), false, m.clone()));
            }
            out.push((i, true, body.clone()));
        }
        out.extend(received.map(|(_, m)| (self.sent.len().saturating_sub(1), false, m.clone())));
        out
    }
}

/// Values that differ from run to run, replaced by placeholders in the order
/// they first appear.
struct Placeholders {
    root: String,
    seen: HashMap<String, String>,
    counts: HashMap<&'static str, usize>,
}

impl Placeholders {
    fn name(&mut self, kind: &'static str, value: &str) -> String {
        if let Some(p) = self.seen.get(value) {
            return p.clone();
        }
        let n = self.counts.entry(kind).or_default();
        *n += 1;
        let p = format!("<{kind} {n}>");
        self.seen.insert(value.to_string(), p.clone());
        p
    }

    fn value(&mut self, key: &str, v: &Value) -> Value {
        match v {
            Value::Object(map) => {
                let mut out = Map::new();
                for (k, v) in map {
                    out.insert(k.clone(), self.value(k, v));
                }
                // A pack names its assets by id, and ids are random.
                if map.contains_key("written") {
                    out.insert("hash".into(), json!("<pack hash>"));
                }
                Value::Object(out)
            }
            Value::Array(items) => Value::Array(items.iter().map(|i| self.value(key, i)).collect()),
            Value::String(s) if s.starts_with("op-") => json!(self.name("operation", s)),
            Value::String(s) if s.starts_with("p-") && key == "projectId" => json!("<project>"),
            Value::String(s) if matches!(key, "id" | "assetId") && s.len() == 26 => json!(self.name("asset", s)),
            Value::String(s) if s.contains(&self.root) => json!(s.replace(&self.root, "/home/dev/game")),
            Value::String(s) if key == "version" => json!(s),
            Value::Number(_) if key.ends_with("Ms") || matches!(key, "ownerPid" | "processId") => json!(0),
            other => other.clone(),
        }
    }
}

fn run_session() -> Vec<Step> {
    let f = Fixture::new(&[("assets/hero.txt", b"Once upon a time.\n")]);
    // Processing takes 1.2 s, so that the build's progress and the cancel
    // below land where they would in a large build, the same way each run;
    // and the watches are still being placed throughout, so the summary
    // says `starting` each run (placing them races with the first answer).
    let s = Server::start_with_env(&[
        ("STUDIO_PACKER_TEST_PROCESS_DELAY_MS", "1200"),
        ("STUDIO_PACKER_TEST_WATCH_DELAY_MS", "600000"),
    ]);
    let mut x = Session { s, next_id: 1, sent: Vec::new(), steps: Vec::new() };
    let root = f.root().display().to_string();

    x.step("Initialize", "The client announces nothing; the server declares what it speaks.");
    x.call("initialize", json!({"processId": 4242, "capabilities": {}}));
    x.s.notify("initialized", json!({}));

    x.step("Open a project", "The answer says who owns it; the file not yet registered is divergence.");
    let opened = x.call("packer/openProject", json!({"root": root}));
    let pid = opened["result"]["projectId"].as_str().unwrap().to_string();

    x.step("Preview a change", "What registering the file would do, changing nothing.");
    let mutation = json!({"kind": "register", "paths": ["assets/hero.txt"]});
    let preview = x.call("packer/previewMutation", json!({"projectId": pid, "mutation": mutation}));

    x.step(
        "Apply it",
        "Against the preview's generation, with a progress token: the operation's events, the \
         new snapshot and the cleared divergence come before the answer.",
    );
    let applied = x.call(
        "packer/applyMutation",
        json!({"projectId": pid, "mutation": mutation, "expectedGeneration": preview["result"]["baseGeneration"], "workDoneToken": "apply-1"}),
    );
    assert_eq!(applied["result"]["outcome"], "applied", "{applied}");

    x.step("Build, with progress", "Progress as `packer/event` and as `$/progress` for the token.");
    let built = x.call("packer/build", json!({"projectId": pid, "workDoneToken": "build-1"}));
    assert_eq!(built["result"]["outcome"], "succeeded", "{built}");

    x.step(
        "Cancel a build",
        "Another build, cancelled with `packer/cancel` once it runs: the cancel answers at once, \
         the build stops at its next safe point and answers its result, `cancelled`.",
    );
    let mark = x.s.mark();
    let clean = x.send("packer/build", json!({"projectId": pid, "clean": true}));
    let started = x.s.wait_for_after(mark, "the clean build's first progress", |m| m["params"]["kind"] == "progress");
    // The first progress comes as processing is handed to the workers; a
    // cancel before a worker takes the asset skips it (no second progress).
    // A third of the processing time later, the worker is surely inside it,
    // as it would be in a large build, however loaded the machine.
    std::thread::sleep(std::time::Duration::from_millis(400));
    let op = started["params"]["operationId"].clone();
    x.call("packer/cancel", json!({"operationId": op}));
    let cancelled = x.s.response(clean);
    assert_eq!(cancelled["result"]["outcome"], "cancelled", "{cancelled}");

    x.step("Replay the journal", "What a client that connects later reads back, by `seq`.");
    x.call("packer/replayEvents", json!({"projectId": pid, "after": 0, "limit": 4}));

    x.step("Shut down", "");
    x.call("shutdown", Value::Null);

    let mut p = Placeholders { root, seen: HashMap::new(), counts: HashMap::new() };
    let messages = x.messages();
    x.steps
        .iter()
        .enumerate()
        .map(|(n, (from, title, text))| {
            let until = x.steps.get(n + 1).map_or(usize::MAX, |s| s.0);
            let messages = messages
                .iter()
                .filter(|(i, _, _)| i >= from && *i < until)
                .map(|(_, to_server, m)| (*to_server, p.value("", m)))
                .collect();
            Step { title, text, messages }
        })
        .collect()
}

fn render(steps: &[Step]) -> String {
    let mut out = String::from(
        "# A session on the wire\n\n\
         What one client and `studio-packer serve` sent each other, message by message,\n\
         in the order they went: `→` to the server, `←` from it. Each message is one\n\
         LSP-framed JSON body (the `Content-Length` headers are left out).\n\n\
         Generated by `tests/transcript.rs` from a run of the binary; the test fails\n\
         when this file differs from what the binary sends (`UPDATE_TRANSCRIPT=1 cargo\n\
         test --all-features --test transcript` writes it again). Values that differ\n\
         from run to run are placeholders: `<project>`, `<operation N>`, `<asset N>`,\n\
         the root `/home/dev/game`, and 0 for times and process ids.\n",
    );
    for (n, step) in steps.iter().enumerate() {
        out.push_str(&format!("\n## {}. {}\n\n", n + 1, step.title));
        if !step.text.is_empty() {
            out.push_str(step.text);
            out.push_str("\n\n");
        }
        out.push_str("```\n");
        for (to_server, m) in &step.messages {
            out.push_str(if *to_server { "→ " } else { "← " });
            out.push_str(&m.to_string());
            out.push('\n');
        }
        out.push_str("```\n");
    }
    out
}

#[cfg(feature = "test-hooks")]
#[test]
fn the_committed_transcript_is_what_the_binary_sends() {
    let text = render(&run_session());
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("protocol/transcript.md");
    if std::env::var_os("UPDATE_TRANSCRIPT").is_some() {
        std::fs::write(&path, &text).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    if committed != text {
        let first = committed.lines().zip(text.lines()).position(|(a, b)| a != b).unwrap_or(0);
        panic!(
            "protocol/transcript.md differs from what the binary sends (first at line {}):\n  committed: {}\n  now:       {}\n\
             Run `UPDATE_TRANSCRIPT=1 cargo test --all-features --test transcript` and review the diff.",
            first + 1,
            committed.lines().nth(first).unwrap_or(""),
            text.lines().nth(first).unwrap_or(""),
        );
    }
}
