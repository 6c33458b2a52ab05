//! The in-protocol half of the benchmark (`benches/run.sh` runs it): drives
//! `studio-packer serve` over stdio, as an editor would, on a workspace that
//! is already registered, and prints one `key value` line per figure:
//!
//! - read latency (`getAsset`, `listAssets`) idle, p50 and p99 in ms;
//! - the same while a clean build runs with 500 writes queued behind it;
//! - pipelined small reads per second;
//! - one asset changed on disk, then reconcile and build: milliseconds.
//!
//! Usage: bench_rpc PACKER_BIN WORKSPACE

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

struct Server {
    child: Child,
    stdin: ChildStdin,
    rx: Receiver<Value>,
    next_id: i64,
    /// Answers that arrived while waiting for another one.
    early: HashMap<i64, Value>,
}

fn frame(id: i64, method: &str, params: &Value) -> Vec<u8> {
    let body = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}).to_string();
    let mut v = format!("Content-Length: {}\r\n\r\n", body.len()).into_bytes();
    v.extend_from_slice(body.as_bytes());
    v
}

fn read_frames(out: impl Read, tx: mpsc::Sender<Value>) {
    let mut r = BufReader::with_capacity(1 << 20, out);
    loop {
        let mut len = None;
        loop {
            let mut line = String::new();
            if r.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some(v) = line.strip_prefix("Content-Length: ") {
                len = v.parse::<usize>().ok();
            }
        }
        let mut body = vec![0u8; len.expect("a length")];
        if r.read_exact(&mut body).is_err() {
            return;
        }
        // Answers are passed on, and of the notifications only what the
        // one-change measure waits for.
        let v: Value = serde_json::from_slice(&body).expect("JSON");
        let wanted = v.get("id").is_some() || v["params"]["kind"] == "divergenceDetected";
        if wanted && tx.send(v).is_err() {
            return;
        }
    }
}

impl Server {
    fn start(bin: &str) -> Server {
        let mut child = Command::new(bin)
            .arg("serve")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("the server starts");
        let out = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || read_frames(out, tx));
        let stdin = child.stdin.take().unwrap();
        let mut s = Server { child, stdin, rx, next_id: 1, early: HashMap::new() };
        s.call("initialize", json!({"capabilities": {}}));
        s
    }

    fn send(&mut self, method: &str, params: &Value) -> i64 {
        let id = self.next_id;
        self.next_id += 1;
        self.stdin.write_all(&frame(id, method, params)).unwrap();
        id
    }

    fn wait(&mut self, id: i64) -> Value {
        let v = match self.early.remove(&id) {
            Some(v) => v,
            None => loop {
                let v = self.rx.recv_timeout(Duration::from_secs(600)).expect("an answer");
                let got = v["id"].as_i64().unwrap_or(-1);
                if got == id {
                    break v;
                }
                self.early.insert(got, v);
            },
        };
        if let Some(e) = v.get("error") {
            panic!("request {id} failed: {e}");
        }
        v["result"].clone()
    }

    /// Waits for a `packer/event` of `kind` whose JSON mentions `needle`;
    /// answers that arrive meanwhile are kept for `wait`.
    fn wait_event(&mut self, kind: &str, needle: &str) {
        loop {
            let v = self.rx.recv_timeout(Duration::from_secs(60)).expect("an event");
            match v["id"].as_i64() {
                Some(id) => {
                    self.early.insert(id, v);
                }
                None if v["params"]["kind"] == kind && v["params"].to_string().contains(needle) => return,
                None => {}
            }
        }
    }

    fn call(&mut self, method: &str, params: Value) -> Value {
        let id = self.send(method, &params);
        self.wait(id)
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// Round trips of alternating `getAsset` and `listAssets`, in ms, sorted.
fn read_latencies(s: &mut Server, pid: &str, ids: &[String], n: usize, while_running: Option<i64>) -> Vec<f64> {
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        if let Some(build) = while_running {
            if s.early.contains_key(&build) {
                break; // the build ended: the rest would not be "during a build"
            }
        }
        let (method, params) = if i % 2 == 0 {
            ("packer/getAsset", json!({"projectId": pid, "assetId": ids[i % ids.len()]}))
        } else {
            ("packer/listAssets", json!({"projectId": pid, "limit": 50}))
        };
        let t = Instant::now();
        let id = s.send(method, &params);
        s.wait(id);
        out.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    out.sort_by(|a, b| a.partial_cmp(b).unwrap());
    out
}

/// `packer/references` on every `step`-th asset: round trip p50 and p99 in
/// ms, and the mean number of items answered (uses + usedBy), so that runs
/// at two sizes show whether its cost follows the answer or the project.
fn references_latencies(s: &mut Server, pid: &str, ids: &[String]) {
    let step = (ids.len() / 2000).max(1);
    let (mut times, mut items) = (Vec::new(), 0usize);
    for id in ids.iter().step_by(step) {
        let t = Instant::now();
        let r = s.call("packer/references", json!({"projectId": pid, "assetId": id}));
        times.push(t.elapsed().as_secs_f64() * 1000.0);
        items += r["uses"].as_array().map_or(0, Vec::len) + r["usedBy"].as_array().map_or(0, Vec::len);
    }
    times.sort_by(|a, b| a.partial_cmp(b).unwrap());
    println!("references_p50_ms {:.3}", percentile(&times, 0.5));
    println!("references_p99_ms {:.3}", percentile(&times, 0.99));
    println!("references_items_mean {:.2}", items as f64 / times.len() as f64);
}

fn main() {
    let mut args: Vec<String> = std::env::args().collect();
    // `--references BIN WS`: only the `packer/references` measure.
    let references_only = args.get(1).is_some_and(|a| a == "--references");
    if references_only {
        args.remove(1);
    }
    let (bin, ws) = (&args[1], std::path::Path::new(&args[2]).canonicalize().unwrap());
    let mut s = Server::start(bin);
    let open = s.call("packer/openProject", json!({"root": ws}));
    let pid = open["projectId"].as_str().unwrap().to_string();
    let mut ids = Vec::new();
    let mut cursor = Value::Null;
    loop {
        let page = s.call("packer/listAssets", json!({"projectId": pid, "limit": 1000, "cursor": cursor}));
        ids.extend(page["items"].as_array().unwrap().iter().map(|a| a["id"].as_str().unwrap().to_string()));
        cursor = page["nextCursor"].clone();
        if cursor.is_null() {
            break;
        }
    }
    println!("assets {}", ids.len());
    if references_only {
        references_latencies(&mut s, &pid, &ids);
        return;
    }

    // Idle latency (after a warm-up).
    read_latencies(&mut s, &pid, &ids, 200, None);
    let idle = read_latencies(&mut s, &pid, &ids, 2000, None);
    println!("idle_p50_ms {:.3}", percentile(&idle, 0.5));
    println!("idle_p99_ms {:.3}", percentile(&idle, 0.99));

    // During a clean build with 500 writes queued behind it.
    let build = s.send("packer/build", &json!({"projectId": pid, "clean": true}));
    let mut writes = Vec::new();
    for i in 0..500 {
        let m = json!({"kind": "setMetadata", "assetId": ids[i % ids.len()], "tags": [format!("bench{i}")]});
        writes.push(s.send("packer/applyMutation", &json!({"projectId": pid, "mutation": m})));
    }
    std::thread::sleep(Duration::from_millis(50));
    let busy = read_latencies(&mut s, &pid, &ids, 2000, Some(build));
    let build_result = s.wait(build);
    assert_eq!(build_result["outcome"], "succeeded", "{build_result}");
    for w in writes {
        s.wait(w);
    }
    println!("busy_samples {}", busy.len());
    if !busy.is_empty() {
        println!("busy_p50_ms {:.3}", percentile(&busy, 0.5));
        println!("busy_p99_ms {:.3}", percentile(&busy, 0.99));
    }

    // Pipelined small reads: written all at once by one thread, answers
    // counted by the reader.
    let n = 100_000;
    let mut blob = Vec::with_capacity(n * 120);
    let first = s.next_id;
    for i in 0..n as i64 {
        blob.extend(frame(first + i, "packer/summary", &json!({"projectId": pid})));
    }
    s.next_id += n as i64;
    let mut stdin = dup_stdin(&s.stdin);
    let t = Instant::now();
    let writer = std::thread::spawn(move || stdin.write_all(&blob).unwrap());
    let mut answered = 0;
    while answered < n {
        let v = s.rx.recv_timeout(Duration::from_secs(600)).expect("an answer");
        if v["id"].as_i64().is_some_and(|id| id >= first) {
            answered += 1;
        }
    }
    let secs = t.elapsed().as_secs_f64();
    writer.join().unwrap();
    println!("pipelined_reads_per_s {:.0}", n as f64 / secs);

    // One asset changed on disk, seen by the packer (its watcher), then
    // reconciled and built: what an artist's save followed by a build
    // costs, from the save to the new pack, median of 5. Waiting for the
    // packer to report the change is part of it: a reconcile sent before
    // would find nothing to do.
    let mut times = Vec::new();
    let list = s.call("packer/listAssets", json!({"projectId": pid, "limit": 1, "filter": {"kind": "text"}}));
    let path = list["items"][0]["path"].as_str().expect("a text asset").to_string();
    for round in 0..5 {
        let file = ws.join(&path);
        let t = Instant::now();
        let mut text = std::fs::read_to_string(&file).unwrap();
        text.push_str(&format!("edit {round}\n"));
        std::fs::write(&file, text).unwrap();
        s.wait_event("divergenceDetected", &path);
        let detected = t.elapsed().as_secs_f64() * 1000.0;
        let r = s.call("packer/applyMutation", json!({"projectId": pid, "mutation": {"kind": "reconcile"}}));
        assert_eq!(r["outcome"], "applied", "{r}");
        let reconciled = t.elapsed().as_secs_f64() * 1000.0 - detected;
        let b = s.call("packer/build", json!({"projectId": pid}));
        assert_eq!(b["outcome"], "succeeded", "{b}");
        assert_eq!(b["stats"]["processed"], 1, "{b}");
        times.push((t.elapsed().as_secs_f64() * 1000.0, detected, reconciled));
    }
    times.sort_by(|a, b| a.0.partial_cmp(&b.0).unwrap());
    println!("one_change_build_ms {:.1}", times[2].0);
    println!("one_change_detect_ms {:.1}", times[2].1);
    println!("one_change_reconcile_ms {:.1}", times[2].2);

    s.call("shutdown", Value::Null);
    let exit = br#"{"jsonrpc":"2.0","method":"exit"}"#;
    let _ = s.stdin.write_all(format!("Content-Length: {}\r\n\r\n", exit.len()).as_bytes());
    let _ = s.stdin.write_all(exit);
    let _ = s.child.wait();
}

/// A second handle on the server's stdin (a dup of the descriptor), for a
/// writer thread.
fn dup_stdin(stdin: &ChildStdin) -> ChildStdin {
    use std::os::fd::AsFd;
    ChildStdin::from(stdin.as_fd().try_clone_to_owned().expect("dup"))
}
