//! A small test client that drives the real `studio-packer serve` binary
//! over stdio, as any client would, and builds project fixtures in code.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

/// The KTX2 spec checker, shared with the texture module's unit tests. Only
/// `tests/textures.rs` uses it (this module's `allow(dead_code)` covers the rest).
pub mod ktxcheck;

pub const BIN: &str = env!("CARGO_BIN_EXE_studio-packer");
pub const TIMEOUT: Duration = Duration::from_secs(60);

/// A running server and everything it has sent so far.
pub struct Server {
    pub child: Child,
    stdin: Option<ChildStdin>,
    rx: Receiver<Value>,
    next_id: i64,
    /// Every message received, in order.
    pub log: Vec<Value>,
}

impl Server {
    pub fn start() -> Server {
        Server::start_with_env(&[])
    }

    pub fn start_with_env(env: &[(&str, &str)]) -> Server {
        Server::start_gated(env, None)
    }

    /// Started, but its output is not read until `gate` receives a message
    /// (or is dropped): a client that stops reading.
    pub fn start_paused(env: &[(&str, &str)]) -> (Server, mpsc::Sender<()>) {
        let (tx, rx) = mpsc::channel();
        (Server::start_gated(env, Some(rx)), tx)
    }

    /// Stdin, for a test that writes from a thread of its own (the server
    /// may stop reading it while its output is not read).
    pub fn take_stdin(&mut self) -> ChildStdin {
        self.stdin.take().expect("stdin open")
    }

    /// Gives back what [`Server::take_stdin`] took.
    pub fn give_stdin(&mut self, stdin: ChildStdin) {
        self.stdin = Some(stdin);
    }

    fn start_gated(env: &[(&str, &str)], gate: Option<Receiver<()>>) -> Server {
        let mut cmd = Command::new(BIN);
        cmd.arg("serve").stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::inherit());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("the server starts");
        let stdout = child.stdout.take().unwrap();
        let stdin = child.stdin.take();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            if let Some(gate) = gate {
                let _ = gate.recv();
            }
            read_frames(stdout, tx)
        });
        Server { child, stdin, rx, next_id: 1, log: Vec::new() }
    }

    /// Started and initialized.
    pub fn ready() -> Server {
        Server::ready_with_env(&[])
    }

    /// Started with more environment variables, and initialized.
    pub fn ready_with_env(env: &[(&str, &str)]) -> Server {
        let mut s = Server::start_with_env(env);
        s.call("initialize", json!({"processId": null, "capabilities": {}}));
        s.notify("initialized", json!({}));
        s
    }

    pub fn send_raw(&mut self, bytes: &[u8]) {
        let stdin = self.stdin.as_mut().expect("stdin open");
        stdin.write_all(bytes).unwrap();
        stdin.flush().unwrap();
    }

    pub fn send_body(&mut self, body: &str) {
        self.send_raw(format!("Content-Length: {}\r\n\r\n{body}", body.len()).as_bytes());
    }

    /// Sends a request without waiting; returns its id.
    pub fn send(&mut self, method: &str, params: Value) -> i64 {
        let id = self.next_id;
        self.next_id += 1;
        let body = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}).to_string();
        self.send_body(&body);
        id
    }

    pub fn notify(&mut self, method: &str, params: Value) {
        let body = json!({"jsonrpc": "2.0", "method": method, "params": params}).to_string();
        self.send_body(&body);
    }

    pub fn close_stdin(&mut self) {
        self.stdin.take();
    }

    fn recv(&mut self, deadline: Instant) -> Option<Value> {
        let left = deadline.saturating_duration_since(Instant::now());
        match self.rx.recv_timeout(left) {
            Ok(v) => {
                self.log.push(v.clone());
                Some(v)
            }
            Err(RecvTimeoutError::Timeout) => None,
            Err(RecvTimeoutError::Disconnected) => None,
        }
    }

    /// The log's length now: a position to wait from (see
    /// [`Server::wait_for_after`]), taken just before the action waited on.
    pub fn mark(&self) -> usize {
        self.log.len()
    }

    /// Waits for the first message matching `pred` anywhere in the log
    /// (since the last `log.clear()`), already received or new. Only for a
    /// message that nothing before the action waited on can have produced:
    /// the answer to a request id, an event naming an operation id, the one
    /// event of its kind in a log cleared just before the action. Anywhere
    /// else an earlier message would satisfy it: use
    /// [`Server::wait_for_after`].
    pub fn wait_for(&mut self, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
        self.wait_for_after(0, what, pred)
    }

    /// Waits for the first message matching `pred` at or after log position
    /// `from` (a [`Server::mark`] taken before the action waited on), so a
    /// message received before that action cannot satisfy it.
    pub fn wait_for_after(&mut self, from: usize, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
        assert!(
            from <= self.log.len(),
            "waiting for {what} from position {from}, past the log's end: was it cleared since?"
        );
        if let Some(v) = self.log[from..].iter().find(|v| pred(v)) {
            return v.clone();
        }
        let deadline = Instant::now() + TIMEOUT;
        loop {
            match self.recv(deadline) {
                Some(v) if pred(&v) => return v,
                Some(_) => {}
                None => panic!("timed out (or the server exited) waiting for {what}; got {} messages", self.log.len()),
            }
        }
    }

    /// The whole response message to request `id`.
    pub fn response(&mut self, id: i64) -> Value {
        self.wait_for(&format!("the response to request {id}"), |v| {
            v.get("id") == Some(&json!(id)) && v.get("method").is_none()
        })
    }

    /// Sends a request and returns its result, or its error object.
    pub fn request(&mut self, method: &str, params: Value) -> Result<Value, Value> {
        let id = self.send(method, params);
        let r = self.response(id);
        match r.get("error") {
            Some(e) => Err(e.clone()),
            None => Ok(r["result"].clone()),
        }
    }

    /// Sends a request and returns its result; panics on an error.
    pub fn call(&mut self, method: &str, params: Value) -> Value {
        match self.request(method, params.clone()) {
            Ok(v) => v,
            Err(e) => panic!("{method} {params} failed: {e}"),
        }
    }

    /// Reads whatever arrives within `d`.
    pub fn drain_for(&mut self, d: Duration) {
        let deadline = Instant::now() + d;
        while self.recv(deadline).is_some() {}
    }

    /// Polls `packer/divergence` until `done` holds (the watcher is
    /// asynchronous) and returns that answer.
    pub fn divergence_until(&mut self, pid: &str, done: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let d = self.call("packer/divergence", json!({"projectId": pid}));
            if done(&d) {
                return d;
            }
            assert!(Instant::now() < deadline, "divergence never got there: {d}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The `packer/event` params received so far.
    pub fn events(&self) -> Vec<Value> {
        self.log.iter().filter(|m| m["method"] == "packer/event").map(|m| m["params"].clone()).collect()
    }

    /// Index in the log of the response to `id`.
    pub fn position_of_response(&self, id: i64) -> Option<usize> {
        self.log.iter().position(|v| v.get("id") == Some(&json!(id)) && v.get("method").is_none())
    }

    /// Opens a project and returns its id.
    pub fn open(&mut self, root: &Path) -> String {
        let r = self.call("packer/openProject", json!({"root": root}));
        r["projectId"].as_str().unwrap().to_string()
    }

    pub fn apply(&mut self, pid: &str, mutation: Value) -> Value {
        self.call("packer/applyMutation", json!({"projectId": pid, "mutation": mutation}))
    }

    /// Shuts down politely and returns the exit code.
    pub fn shutdown(mut self) -> i32 {
        self.call("shutdown", Value::Null);
        self.notify("exit", Value::Null);
        self.wait_exit()
    }

    pub fn wait_exit(&mut self) -> i32 {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code().unwrap_or(-1);
            }
            assert!(Instant::now() < deadline, "the server did not exit");
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn read_frames(mut out: impl Read, tx: mpsc::Sender<Value>) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 65536];
    loop {
        let n = match out.read(&mut chunk) {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        buf.extend_from_slice(&chunk[..n]);
        while let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let header = String::from_utf8_lossy(&buf[..end]).to_string();
            let len: usize = header
                .lines()
                .find_map(|l| l.strip_prefix("Content-Length: "))
                .expect("the server always sends Content-Length")
                .trim()
                .parse()
                .unwrap();
            if buf.len() < end + 4 + len {
                break;
            }
            let body: Value = serde_json::from_slice(&buf[end + 4..end + 4 + len]).expect("the server sends JSON");
            buf.drain(..end + 4 + len);
            if tx.send(body).is_err() {
                return;
            }
        }
    }
}

/// A project folder built by code.
pub struct Fixture {
    pub dir: tempfile::TempDir,
}

impl Fixture {
    /// A project with the given files (paths relative to the root).
    pub fn new(files: &[(&str, &[u8])]) -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let status = Command::new(BIN).arg("init").arg(dir.path()).arg("--name").arg("fixture").output().unwrap();
        assert!(status.status.success(), "init failed: {}", String::from_utf8_lossy(&status.stderr));
        let f = Fixture { dir };
        for (path, bytes) in files {
            f.write(path, bytes);
        }
        f
    }

    /// A project with `n` small text assets `assets/f000.txt`...
    pub fn with_text_files(n: usize) -> Fixture {
        let names: Vec<(String, Vec<u8>)> =
            (0..n).map(|i| (format!("assets/f{i:03}.txt"), format!("file {i}\n").into_bytes())).collect();
        let refs: Vec<(&str, &[u8])> = names.iter().map(|(p, b)| (p.as_str(), b.as_slice())).collect();
        Fixture::new(&refs)
    }

    pub fn root(&self) -> PathBuf {
        self.dir.path().canonicalize().unwrap()
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.root().join(rel)
    }

    pub fn write(&self, rel: &str, bytes: &[u8]) {
        let p = self.dir.path().join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, bytes).unwrap();
    }

    pub fn registry_text(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("packer.registry.jsonl")).unwrap()
    }

    /// The registry as `id -> path`, checking that it parses line by line.
    pub fn registry_paths(&self) -> BTreeMap<String, String> {
        let text = self.registry_text();
        let mut lines = text.lines();
        let header: Value = serde_json::from_str(lines.next().expect("a header line")).expect("the header parses");
        assert_eq!(header, json!({"format": "studio-packer.registry", "version": 1}));
        lines
            .map(|l| {
                let v: Value = serde_json::from_str(l).unwrap_or_else(|e| panic!("registry line {l:?}: {e}"));
                (v["id"].as_str().unwrap().to_string(), v["path"].as_str().unwrap().to_string())
            })
            .collect()
    }

    /// Every file under the root except `.packer/`, with its bytes.
    pub fn tree(&self) -> BTreeMap<String, Vec<u8>> {
        let mut out = BTreeMap::new();
        for e in walk(&self.root()) {
            let rel = e.strip_prefix(self.root()).unwrap().to_string_lossy().to_string();
            if !rel.starts_with(".packer") {
                out.insert(rel, std::fs::read(&e).unwrap());
            }
        }
        out
    }
}

/// Regular files under `dir`; symlinks are neither followed nor listed.
fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let e = e.unwrap();
        let t = e.file_type().unwrap();
        if t.is_dir() {
            out.extend(walk(&e.path()));
        } else if t.is_file() {
            out.push(e.path());
        }
    }
    out
}

/// Registers every file under `assets/` and returns `path -> id`.
pub fn register_all(s: &mut Server, pid: &str, fixture: &Fixture) -> BTreeMap<String, String> {
    let paths: Vec<String> = fixture.tree().keys().filter(|p| p.starts_with("assets/")).cloned().collect();
    let r = s.apply(pid, json!({"kind": "register", "paths": paths}));
    assert_eq!(r["outcome"], "applied", "{r}");
    fixture.registry_paths().into_iter().map(|(id, path)| (path, id)).collect()
}

/// The operation events of one operation, in arrival order.
pub fn op_events(events: &[Value], op: &str) -> Vec<Value> {
    events.iter().filter(|e| e["operationId"] == op).cloned().collect()
}

impl Server {
    /// The response to `id`, or `None` if the server exits first (a crash
    /// test's injected fault).
    pub fn response_or_exit(&mut self, id: i64) -> Option<Value> {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            if let Some(v) = self.log.iter().find(|v| v.get("id") == Some(&json!(id)) && v.get("method").is_none()) {
                return Some(v.clone());
            }
            match self.rx.recv_timeout(Duration::from_millis(20)) {
                Ok(v) => self.log.push(v),
                Err(RecvTimeoutError::Disconnected) => return None,
                Err(RecvTimeoutError::Timeout) => {
                    if self.child.try_wait().unwrap().is_some() {
                        // Take what was written before the exit, then stop.
                        while let Ok(v) = self.rx.recv_timeout(Duration::from_millis(50)) {
                            self.log.push(v);
                        }
                        return self.log.iter().find(|v| v.get("id") == Some(&json!(id))).cloned();
                    }
                    assert!(Instant::now() < deadline, "neither a response to {id} nor an exit");
                }
            }
        }
    }
}

/// Copies a folder tree (files and folders only).
/// `git` in `dir` with a fixed identity and no system config, however it ends.
pub fn git_output(dir: &Path, args: &[&str]) -> std::process::Output {
    Command::new("git")
        .current_dir(dir)
        .args(args)
        .env("GIT_AUTHOR_NAME", "Test")
        .env("GIT_AUTHOR_EMAIL", "test@example.com")
        .env("GIT_COMMITTER_NAME", "Test")
        .env("GIT_COMMITTER_EMAIL", "test@example.com")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .output()
        .unwrap()
}

/// `git` in `dir`, which must succeed.
pub fn git(dir: &Path, args: &[&str]) -> std::process::Output {
    let out = git_output(dir, args);
    assert!(
        out.status.success(),
        "git {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

pub fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_tree(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), &target).unwrap();
        }
    }
}

/// A copy of `examples/sample-game` as a fresh clone has it: without what
/// its `.gitignore` names (`.packer/`, `build/`), which the README's own
/// commands leave in the checkout.
pub fn sample_copy() -> tempfile::TempDir {
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/sample-game");
    let ignored: Vec<String> = std::fs::read_to_string(sample.join(".gitignore"))
        .unwrap()
        .lines()
        .map(|l| l.trim().trim_matches('/').to_string())
        .filter(|l| !l.is_empty())
        .collect();
    let dir = tempfile::tempdir().unwrap();
    for e in std::fs::read_dir(&sample).unwrap() {
        let e = e.unwrap();
        let name = e.file_name().to_string_lossy().into_owned();
        if ignored.contains(&name) {
            continue;
        }
        if e.file_type().unwrap().is_dir() {
            copy_tree(&e.path(), &dir.path().join(&name));
        } else {
            std::fs::copy(e.path(), dir.path().join(&name)).unwrap();
        }
    }
    dir
}

/// Every file under `dir` whose name starts with the packer's temporary prefix.
/// Resident memory of a process now and at its peak, in KiB (Linux).
pub fn memory_kib(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// A framed request.
pub fn frame_request(id: i64, method: &str, params: Value) -> Vec<u8> {
    let body = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}).to_string();
    let mut v = format!("Content-Length: {}\r\n\r\n", body.len()).into_bytes();
    v.extend_from_slice(body.as_bytes());
    v
}

pub fn temp_files(dir: &Path) -> Vec<PathBuf> {
    walk(dir)
        .into_iter()
        .filter(|p| p.file_name().is_some_and(|n| n.to_string_lossy().starts_with(".packer-tmp-")))
        .collect()
}

// ---- Prerequisites ------------------------------------------------------
//
// A test never passes without doing its work. A test that needs what a
// plain `cargo test` may lack (root, to mount or to act as another user) is
// `#[ignore = "needs root: ..."]`, so the runner counts it as ignored and
// names it with its reason; `scripts/test.sh` runs it (`--include-ignored`)
// as root, as CI does. Once running, a missing prerequisite fails it.

/// The effective user id of this process (from /proc: no libc in the tests).
pub fn euid() -> u32 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("Uid:")).unwrap();
    line.split_whitespace().nth(2).unwrap().parse().unwrap()
}

/// Fails the test unless it runs as root. For the body of a test that is
/// `#[ignore]`d because it needs root: run without root, it must not pass.
pub fn require_root(why: &str) {
    assert_eq!(
        euid(),
        0,
        "this test needs root ({why}) and is #[ignore]d for that: run it with --include-ignored only as root \
         (scripts/test.sh does, as CI does)"
    );
}

/// Fails the test unless `python3` runs (scripts/test.sh installs it).
pub fn require_python3(why: &str) {
    let ok = Command::new("python3").arg("--version").output().is_ok_and(|o| o.status.success());
    assert!(ok, "python3 is needed ({why}) and does not run: install it (scripts/test.sh does)");
}

/// A blank RGBA PNG of that size.
pub fn png(width: u32, height: u32) -> Vec<u8> {
    let mut bytes = Vec::new();
    image::RgbaImage::new(width, height)
        .write_to(&mut std::io::Cursor::new(&mut bytes), image::ImageFormat::Png)
        .unwrap();
    bytes
}
