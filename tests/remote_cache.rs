//! The shared remote cache against real storage servers: an S3 server
//! (s3s-fs) and an nginx WebDAV cache, both started here on free ports.
//! Two copies of one workspace, each with its own `.packer`, stand for two
//! machines sharing one bucket.
//!
//! The servers are installed by `scripts/test.sh` (run by `.ci/run`).

mod common;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{copy_tree, sample_copy, Server, BIN};
use serde_json::{json, Value};

/// A tool the tests need, from PATH or cargo's bin folder.
fn tool(name: &str, install: &str) -> PathBuf {
    let mut dirs: Vec<PathBuf> =
        std::env::var_os("PATH").map(|p| std::env::split_paths(&p).collect()).unwrap_or_default();
    if let Some(home) = std::env::var_os("CARGO_HOME") {
        dirs.push(Path::new(&home).join("bin"));
    }
    if let Some(home) = std::env::var_os("HOME") {
        dirs.push(Path::new(&home).join(".cargo/bin"));
    }
    dirs.extend(["/usr/sbin", "/usr/local/sbin"].map(PathBuf::from));
    dirs.into_iter()
        .map(|d| d.join(name))
        .find(|p| p.is_file())
        .unwrap_or_else(|| panic!("`{name}` is needed by these tests: {install} (scripts/test.sh does it)"))
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Starts a server on a free port: `start(port)` spawns it. The port is
/// free when chosen but could be taken before the server binds it: a
/// server that exits at start is started again on another port.
fn start_on_free_port(mut start: impl FnMut(u16) -> Child) -> (Child, u16) {
    for _ in 0..5 {
        let port = free_port();
        let mut child = start(port);
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if child.try_wait().unwrap().is_some() {
                break;
            }
            if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return (child, port);
            }
            assert!(Instant::now() < deadline, "the storage server did not listen on {port}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    panic!("the storage server exited at start, five times");
}

/// Every file under `dir`, by relative path.
fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    for e in walkdir(dir) {
        out.insert(e.strip_prefix(dir).unwrap().display().to_string(), std::fs::read(&e).unwrap());
    }
    out
}

fn walkdir(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else { return out };
    for e in entries {
        let e = e.unwrap();
        if e.file_type().unwrap().is_dir() {
            out.extend(walkdir(&e.path()));
        } else {
            out.push(e.path());
        }
    }
    out
}

/// An S3 server (s3s-fs) with one bucket, `cache`.
struct S3 {
    child: Child,
    dir: tempfile::TempDir,
    port: u16,
}

const KEY: &str = "studio-key";
const SECRET: &str = "studio-secret-0123456789";

impl S3 {
    fn start() -> S3 {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("cache")).unwrap();
        let bin = tool("s3s-fs", "cargo install s3s-fs@0.14.1 --features binary --locked");
        let (child, port) = start_on_free_port(|port| {
            Command::new(&bin)
                .args(["--host", "127.0.0.1", "--port", &port.to_string(), "--access-key", KEY, "--secret-key", SECRET])
                .arg(dir.path())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap()
        });
        S3 { child, dir, port }
    }

    fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The objects under `s3://cache/team/`, by key.
    fn objects(&self) -> BTreeMap<String, Vec<u8>> {
        files(&self.dir.path().join("cache/team"))
    }

    fn object_path(&self, key: &str) -> PathBuf {
        self.dir.path().join("cache/team").join(key)
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for S3 {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The `[cache.remote]` of a workspace on the S3 server.
fn s3_remote(endpoint: &str, extra: &str) -> String {
    format!("\n[cache.remote]\nurl = \"s3://cache/team\"\nendpoint = \"{endpoint}\"\nregion = \"us-east-1\"\n{extra}")
}

/// A registered workspace: the sample game and 24 text assets (two of
/// them with the same bytes), built for the sample's desktop target alone,
/// with `remote` appended to its packer.toml. Copies of it are the machines.
fn workspace(remote: &str) -> tempfile::TempDir {
    let dir = sample_copy();
    let manifest = dir.path().join("packer.toml");
    let text = std::fs::read_to_string(&manifest).unwrap();
    let one_target = text.replace("[[build.targets]]\nname = \"mobile\"\nprofile = \"mobile\"\n", "");
    assert_ne!(one_target, text, "the sample declares a mobile target");
    std::fs::write(&manifest, one_target).unwrap();
    for i in 0..24 {
        let text = if i == 23 { "text 0\n".repeat(40) } else { format!("text {i}\n").repeat(40) };
        std::fs::write(dir.path().join(format!("assets/t{i:02}.txt")), text).unwrap();
    }
    let mut manifest = std::fs::OpenOptions::new().append(true).open(dir.path().join("packer.toml")).unwrap();
    manifest.write_all(remote.as_bytes()).unwrap();
    let root = dir.path().canonicalize().unwrap();
    let (mut s, pid) = packer(&root, &[]);
    let r = s.apply(&pid, json!({"kind": "reconcile"}));
    assert_eq!(r["outcome"], "applied", "{r}");
    s.shutdown();
    std::fs::remove_dir_all(dir.path().join(".packer")).unwrap();
    dir
}

/// Assets in the workspace, and distinct processing units (two assets share bytes).
const ASSETS: u64 = 31;
const UNITS: u64 = 30;

/// A machine: a copy of the workspace with its own (empty) `.packer`.
fn machine(workspace: &Path) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    copy_tree(workspace, dir.path());
    let root = dir.path().canonicalize().unwrap();
    (dir, root)
}

/// The environment of a packer on a machine: nothing from the test's own
/// environment or home leaks in; `vars` adds to it.
fn isolated(home: &Path, vars: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut env: BTreeMap<String, String> = [
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_PROFILE",
        "AWS_ENDPOINT_URL",
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
        "AWS_ALLOW_HTTP",
        "STUDIO_PACKER_CACHE_MODE",
        "STUDIO_PACKER_CACHE_USERNAME",
        "STUDIO_PACKER_CACHE_PASSWORD",
    ]
    .into_iter()
    .map(|k| (k.to_string(), String::new()))
    .collect();
    env.insert("HOME".into(), home.join(".home").display().to_string());
    env.insert("XDG_CONFIG_HOME".into(), home.join(".home/config").display().to_string());
    for (k, v) in vars {
        env.insert(k.to_string(), v.to_string());
    }
    env.into_iter().collect()
}

fn packer(root: &Path, vars: &[(&str, &str)]) -> (Server, String) {
    let env = isolated(root, vars);
    let refs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let mut s = Server::ready_with_env(&refs);
    let pid = s.open(root);
    (s, pid)
}

fn s3_keys<'a>(extra: &'a [(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut v = vec![("AWS_ACCESS_KEY_ID", KEY), ("AWS_SECRET_ACCESS_KEY", SECRET)];
    v.extend_from_slice(extra);
    v
}

fn build(s: &mut Server, pid: &str) -> Value {
    let r = s.call("packer/build", json!({"projectId": pid}));
    assert_eq!(r["outcome"], "succeeded", "{r}");
    r
}

fn pack(root: &Path) -> Vec<u8> {
    std::fs::read(root.join("build/desktop/main.pack")).unwrap()
}

fn warnings(r: &Value) -> Vec<Value> {
    r["diagnostics"].as_array().unwrap().iter().filter(|d| d["severity"] == "warning").cloned().collect()
}

fn disabled_events(s: &Server) -> Vec<Value> {
    s.events().into_iter().filter(|e| e["kind"] == "remoteCacheDisabled").collect()
}

#[test]
fn machine_b_builds_everything_from_what_machine_a_uploaded_to_s3() {
    let server = S3::start();
    let ws = workspace(&s3_remote(&server.endpoint(), ""));
    let (_a, a_root) = machine(ws.path());
    let (_b, b_root) = machine(ws.path());

    // Machine A, in CI: read-write.
    let (mut a, a_pid) = packer(&a_root, &s3_keys(&[("STUDIO_PACKER_CACHE_MODE", "read-write")]));
    let r = build(&mut a, &a_pid);
    assert_eq!(r["stats"]["processed"], UNITS, "{r}");
    let remote = &r["stats"]["remote"];
    assert_eq!(
        (&remote["mode"], &remote["hits"], &remote["misses"], &remote["uploaded"], &remote["errors"]),
        (&json!("read-write"), &json!(0), &json!(UNITS), &json!(UNITS), &json!(0)),
        "{r}"
    );
    assert!(remote["bytesUp"].as_u64().unwrap() > 0);
    assert_eq!(warnings(&r), Vec::<Value>::new());
    // The layout: one action record per unit, naming a blob.
    let objects = server.objects();
    let records: Vec<&String> = objects.keys().filter(|k| k.starts_with("ac/")).collect();
    assert_eq!(records.len() as u64, UNITS);
    for name in records {
        let record: Value = serde_json::from_slice(&objects[name]).unwrap();
        assert_eq!(record["key"], name.trim_start_matches("ac/"));
        let blob = &objects[&format!("cas/{}", record["blob"].as_str().unwrap())];
        assert_eq!(blake3::hash(blob).to_hex().as_str(), record["blob"]);
    }
    a.shutdown();

    // Machine B, an artist: read (the default), processes nothing.
    let before = server.objects();
    let (mut b, b_pid) = packer(&b_root, &s3_keys(&[]));
    let r = build(&mut b, &b_pid);
    assert_eq!((&r["stats"]["processed"], &r["stats"]["assets"]), (&json!(0), &json!(ASSETS)), "{r}");
    let remote = &r["stats"]["remote"];
    assert_eq!(
        (&remote["mode"], &remote["hits"], &remote["misses"], &remote["corrupt"], &remote["uploaded"]),
        (&json!("read"), &json!(UNITS), &json!(0), &json!(0), &json!(0)),
        "{r}"
    );
    assert_eq!(remote["bytesUp"], 0);
    assert_eq!(pack(&b_root), pack(&a_root), "B's pack is byte-identical to A's");
    assert_eq!(server.objects(), before, "a reader changes nothing in the bucket");
    // What came from the remote is in B's local cache now: no request at all.
    std::fs::remove_dir_all(b_root.join("build")).unwrap();
    let r = build(&mut b, &b_pid);
    assert_eq!((&r["stats"]["processed"], &r["stats"]["remote"]["hits"]), (&json!(0), &json!(0)), "{r}");
    assert_eq!(pack(&b_root), pack(&a_root));
    // The summary carries the same statistics.
    let summary = b.call("packer/summary", json!({"projectId": b_pid}));
    assert_eq!(summary["lastBuild"]["desktop"]["stats"]["remote"]["mode"], "read", "{summary}");
    b.shutdown();

    // The CLI says it too.
    let (_c, c_root) = machine(ws.path());
    let env = isolated(&c_root, &s3_keys(&[]));
    let out = Command::new(BIN).arg("build").arg(&c_root).envs(env).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        stdout.contains(&format!("remote cache (read): {UNITS} hits, 0 misses, 0 corrupt, 0 uploaded, 0 errors")),
        "{stdout}"
    );
}

#[test]
fn a_tampered_blob_is_not_used_and_a_record_without_its_blob_is_a_miss() {
    let server = S3::start();
    let ws = workspace(&s3_remote(&server.endpoint(), ""));
    let (_a, a_root) = machine(ws.path());
    let (mut a, a_pid) = packer(&a_root, &s3_keys(&[("STUDIO_PACKER_CACHE_MODE", "read-write")]));
    build(&mut a, &a_pid);
    a.shutdown();

    // Two entries' records, by the blob each names.
    let objects = server.objects();
    let records: Vec<(String, String)> = objects
        .iter()
        .filter(|(k, _)| k.starts_with("ac/"))
        .map(|(k, v)| {
            let record: Value = serde_json::from_slice(v).unwrap();
            (k.trim_start_matches("ac/").to_string(), record["blob"].as_str().unwrap().to_string())
        })
        .collect();
    let (tampered_key, tampered_blob) = &records[0];
    let (_, deleted_blob) = &records[1];
    let path = server.object_path(&format!("cas/{tampered_blob}"));
    let mut bytes = std::fs::read(&path).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0x55;
    std::fs::write(&path, bytes).unwrap();
    std::fs::remove_file(server.object_path(&format!("cas/{deleted_blob}"))).unwrap();

    let (_b, b_root) = machine(ws.path());
    let (mut b, b_pid) = packer(&b_root, &s3_keys(&[]));
    let r = build(&mut b, &b_pid);
    let remote = &r["stats"]["remote"];
    assert_eq!(
        (&remote["hits"], &remote["misses"], &remote["corrupt"], &remote["errors"]),
        (&json!(UNITS - 2), &json!(1), &json!(1), &json!(0)),
        "{r}"
    );
    assert_eq!(r["stats"]["processed"], 2, "{r}");
    let w = warnings(&r);
    assert_eq!(w.len(), 1, "{r}");
    assert_eq!(w[0]["code"], "remoteCacheCorrupt");
    let message = w[0]["message"].as_str().unwrap();
    assert!(message.contains(&format!("ac/{tampered_key}")), "{message}");
    assert!(message.contains("do not match"), "{message}");
    // Processed locally, not taken from the tampered blob.
    assert_eq!(pack(&b_root), pack(&a_root));
    let verify = Command::new(BIN).arg("verify").arg(b_root.join("build/desktop/main.pack")).output().unwrap();
    assert!(verify.status.success(), "{}", String::from_utf8_lossy(&verify.stdout));
    b.shutdown();

    // A read-write machine that meets them repairs both (S3 writes are
    // conditional, but a corrupt entry is replaced), and the next reader
    // finds every entry whole.
    let (_c, c_root) = machine(ws.path());
    let (mut c, c_pid) = packer(&c_root, &s3_keys(&[("STUDIO_PACKER_CACHE_MODE", "read-write")]));
    let r = build(&mut c, &c_pid);
    let remote = &r["stats"]["remote"];
    assert_eq!((&remote["corrupt"], &remote["misses"], &remote["uploaded"]), (&json!(1), &json!(1), &json!(2)), "{r}");
    c.shutdown();
    let (_d, d_root) = machine(ws.path());
    let (mut d, d_pid) = packer(&d_root, &s3_keys(&[]));
    let r = build(&mut d, &d_pid);
    let remote = &r["stats"]["remote"];
    assert_eq!(
        (&remote["hits"], &remote["corrupt"], &r["stats"]["processed"]),
        (&json!(UNITS), &json!(0), &json!(0)),
        "{r}"
    );
    assert_eq!(pack(&d_root), pack(&a_root));
}

#[test]
fn wrong_credentials_are_one_configuration_warning_and_the_build_goes_on_locally() {
    let server = S3::start();
    let ws = workspace(&s3_remote(&server.endpoint(), ""));
    let (_a, a_root) = machine(ws.path());
    let wrong = "not-the-secret-but-long-enough";
    let (mut a, a_pid) = packer(&a_root, &[("AWS_ACCESS_KEY_ID", KEY), ("AWS_SECRET_ACCESS_KEY", wrong)]);
    let r = build(&mut a, &a_pid);
    assert_eq!(r["stats"]["processed"], UNITS);
    let remote = &r["stats"]["remote"];
    assert_eq!((&remote["hits"], &remote["errors"]), (&json!(0), &json!(1)), "{r}");
    let w = warnings(&r);
    assert_eq!(w.len(), 1, "{r}");
    assert_eq!(w[0]["code"], "remoteCacheRefused");
    let message = w[0]["message"].as_str().unwrap();
    assert!(message.contains("configuration error") && message.contains("s3://cache/team"), "{message}");
    assert!(message.contains("environment (AWS_ACCESS_KEY_ID"), "names the credential source: {message}");
    assert!(!message.contains(wrong), "never the secret: {message}");
    let events = disabled_events(&a);
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(
        (&events[0]["reason"], &events[0]["scope"], &events[0]["operationId"]),
        (&json!("refused"), &json!("all"), &r["operationId"])
    );
    assert!(server.objects().is_empty());
}

/// A port that accepts connections and never answers.
fn silent_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for c in listener.incoming() {
            held.push(c);
        }
    });
    port
}

#[test]
fn a_remote_that_never_answers_costs_one_timeout_and_one_warning() {
    let port = silent_port();
    let remote = s3_remote(&format!("http://127.0.0.1:{port}"), "connect_timeout_ms = 500\nrequest_timeout_ms = 500\n");
    let ws = workspace(&remote);
    let (_a, a_root) = machine(ws.path());
    let (mut a, a_pid) = packer(&a_root, &s3_keys(&[]));
    let started = Instant::now();
    let r = build(&mut a, &a_pid);
    // Generous: object_store's own defaults take minutes; the budget here
    // is about one request timeout (the first lookups are in flight together).
    assert!(started.elapsed() < Duration::from_secs(30), "took {:?}", started.elapsed());
    assert_eq!(r["stats"]["processed"], UNITS);
    let remote = &r["stats"]["remote"];
    assert_eq!((&remote["hits"], &remote["misses"], &remote["errors"]), (&json!(0), &json!(0), &json!(3)), "{r}");
    let w = warnings(&r);
    assert_eq!(w.len(), 1, "{r}");
    assert_eq!(w[0]["code"], "remoteCacheDisabled");
    assert!(w[0]["message"].as_str().unwrap().contains("3 failed requests in a row"), "{}", w[0]);
    let events = disabled_events(&a);
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0]["reason"], "failures");
}

#[test]
fn a_server_stopped_in_the_middle_of_a_build_leaves_a_whole_build_and_one_warning() {
    let mut server = S3::start();
    let ws = workspace(&s3_remote(&server.endpoint(), "request_timeout_ms = 2000\n"));
    let (_a, a_root) = machine(ws.path());
    // Each unit takes 150 ms to process, whatever the number of cores: the
    // server is stopped when processing starts, long before the uploads end.
    let (mut a, a_pid) = packer(
        &a_root,
        &s3_keys(&[("STUDIO_PACKER_CACHE_MODE", "read-write"), ("STUDIO_PACKER_TEST_PROCESS_DELAY_MS", "150")]),
    );
    let from = a.mark();
    let id = a.send("packer/build", json!({"projectId": a_pid, "workDoneToken": "b"}));
    a.wait_for_after(from, "processing started", |m| {
        m["method"] == "packer/event" && m["params"]["kind"] == "progress"
    });
    server.stop();
    let r = a.response(id)["result"].clone();
    assert_eq!(r["outcome"], "succeeded", "{r}");
    assert_eq!(r["stats"]["processed"], UNITS);
    let remote = &r["stats"]["remote"];
    let uploaded = remote["uploaded"].as_u64().unwrap();
    assert!(uploaded < UNITS, "{r}");
    assert!(remote["errors"].as_u64().unwrap() >= 1, "{r}");
    let w = warnings(&r);
    assert_eq!(w.len(), 1, "{r}");
    assert_eq!(w[0]["code"], "remoteCacheDisabled");
    assert_eq!(disabled_events(&a).len(), 1);
    let verify = Command::new(BIN).arg("verify").arg(a_root.join("build/desktop/main.pack")).output().unwrap();
    assert!(verify.status.success(), "{}", String::from_utf8_lossy(&verify.stdout));
}

/// nginx serving a WebDAV cache where `ci` may write and `artist` only read.
struct Nginx {
    child: Child,
    dir: tempfile::TempDir,
    port: u16,
}

impl Nginx {
    fn start() -> Nginx {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        for sub in ["data/cache", "tmp", "logs"] {
            std::fs::create_dir_all(d.join(sub)).unwrap();
        }
        // Started as root, nginx's workers run as `nobody`: they need the
        // folders they write in.
        use std::os::unix::fs::PermissionsExt;
        for sub in ["", "data", "data/cache", "tmp", "logs"] {
            std::fs::set_permissions(d.join(sub), std::fs::Permissions::from_mode(0o777)).unwrap();
        }
        std::fs::write(d.join("users"), "ci:{PLAIN}ci-password\nartist:{PLAIN}artist-password\n").unwrap();
        std::fs::set_permissions(d.join("users"), std::fs::Permissions::from_mode(0o644)).unwrap();
        let bin = tool("nginx", "apt-get install nginx");
        let (child, port) = start_on_free_port(|port| {
            let conf = format!(
                r#"daemon off;
master_process on;
worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/logs/error.log warn;
events {{ worker_connections 256; }}
http {{
    access_log {d}/logs/access.log combined;
    client_body_temp_path {d}/tmp;
    proxy_temp_path {d}/tmp;
    fastcgi_temp_path {d}/tmp;
    uwsgi_temp_path {d}/tmp;
    scgi_temp_path {d}/tmp;
    map "$request_method:$remote_user" $refused {{
        default 1;
        "~^(GET|HEAD):" 0;
        "~^(PUT|MKCOL|DELETE):ci$" 0;
    }}
    server {{
        listen 127.0.0.1:{port};
        location /cache/ {{
            root {d}/data;
            auth_basic "cache";
            auth_basic_user_file {d}/users;
            dav_methods PUT DELETE MKCOL;
            create_full_put_path on;
            client_max_body_size 0;
            if ($refused) {{ return 403; }}
        }}
    }}
}}
"#,
                d = d.display()
            );
            std::fs::write(d.join("nginx.conf"), conf).unwrap();
            Command::new(&bin)
                .arg("-e")
                .arg(d.join("logs/error.log"))
                .arg("-p")
                .arg(d)
                .arg("-c")
                .arg(d.join("nginx.conf"))
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap()
        });
        Nginx { child, dir, port }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}/cache/team", self.port)
    }

    fn objects(&self) -> BTreeMap<String, Vec<u8>> {
        files(&self.dir.path().join("data/cache/team"))
    }

    /// The access log: (user, method, status) per request.
    fn requests(&self) -> Vec<(String, String, u16)> {
        let log = std::fs::read_to_string(self.dir.path().join("logs/access.log")).unwrap_or_default();
        log.lines()
            .map(|l| {
                let user = l.split_whitespace().nth(2).unwrap_or("-").to_string();
                let request = l.split('"').nth(1).unwrap_or("");
                let method = request.split_whitespace().next().unwrap_or("").to_string();
                let status = l.split('"').nth(2).and_then(|s| s.split_whitespace().next()?.parse().ok()).unwrap_or(0);
                (user, method, status)
            })
            .collect()
    }

    /// A raw PUT as `user`, for checking the server's own rule.
    fn put_as(&self, user: &str, password: &str, path: &str) -> u16 {
        use base64::Engine;
        let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        let mut c = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        write!(
            c,
            "PUT {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Basic {token}\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi"
        )
        .unwrap();
        let mut answer = String::new();
        c.read_to_string(&mut answer).unwrap();
        answer.split_whitespace().nth(1).unwrap().parse().unwrap()
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        // SIGTERM, not SIGKILL: a killed master leaves its workers running,
        // still listening on the port a later test may be given.
        // SAFETY: kill(2) with a pid and a signal number touches no memory.
        unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM) };
        let _ = self.child.wait();
    }
}

#[test]
fn a_webdav_cache_where_ci_writes_and_artists_only_read() {
    let server = Nginx::start();
    // The server's own rule: the artist may not write.
    assert_eq!(server.put_as("artist", "artist-password", "/cache/probe"), 403);
    assert_eq!(server.put_as("ci", "ci-password", "/cache/probe"), 201);
    let ws = workspace(&format!("\n[cache.remote]\nurl = \"{}\"\n", server.url()));

    // CI: credentials from the environment, read-write.
    let (_a, a_root) = machine(ws.path());
    let (mut a, a_pid) = packer(
        &a_root,
        &[
            ("STUDIO_PACKER_CACHE_MODE", "read-write"),
            ("STUDIO_PACKER_CACHE_USERNAME", "ci"),
            ("STUDIO_PACKER_CACHE_PASSWORD", "ci-password"),
        ],
    );
    let r = build(&mut a, &a_pid);
    let remote = &r["stats"]["remote"];
    assert_eq!((&remote["uploaded"], &remote["errors"]), (&json!(UNITS), &json!(0)), "{r}");
    assert_eq!(server.objects().keys().filter(|k| k.starts_with("ac/")).count() as u64, UNITS);
    a.shutdown();

    // An artist: credentials from a private file under XDG_CONFIG_HOME.
    let (_b, b_root) = machine(ws.path());
    let config = b_root.join(".home/config/studio-packer");
    std::fs::create_dir_all(&config).unwrap();
    let file = config.join("credentials.toml");
    std::fs::write(
        &file,
        format!("[[remote]]\nurl = \"{}\"\nusername = \"artist\"\npassword = \"artist-password\"\n", server.url()),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
    let before = server.requests().len();
    let (mut b, b_pid) = packer(&b_root, &[]);
    let r = build(&mut b, &b_pid);
    assert_eq!(r["stats"]["processed"], 0, "{r}");
    let remote = &r["stats"]["remote"];
    assert_eq!((&remote["hits"], &remote["errors"]), (&json!(UNITS), &json!(0)), "{r}");
    assert_eq!(pack(&b_root), pack(&a_root));
    b.shutdown();
    // nginx logs a request once it has answered it: wait for the lines.
    let artist = || -> Vec<(String, String, u16)> {
        server.requests()[before..].iter().filter(|(u, _, _)| u == "artist").cloned().collect()
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    while (artist().len() as u64) < 2 * UNITS && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let artist = artist();
    assert_eq!(artist.len() as u64, 2 * UNITS, "{artist:?}");
    assert!(artist.iter().all(|(_, m, s)| m == "GET" && *s == 200), "the reader only reads: {artist:?}");

    // The same artist told to write is refused by the server: one
    // configuration warning, and the build goes on locally.
    let (_c, c_root) = machine(ws.path());
    copy_tree(&b_root.join(".home"), &c_root.join(".home"));
    std::fs::set_permissions(
        c_root.join(".home/config/studio-packer/credentials.toml"),
        std::fs::Permissions::from_mode(0o600),
    )
    .unwrap();
    std::fs::write(c_root.join("assets/new.txt"), "only on this machine\n").unwrap();
    let (mut c, c_pid) = packer(&c_root, &[("STUDIO_PACKER_CACHE_MODE", "read-write")]);
    let reg = c.apply(&c_pid, json!({"kind": "register", "paths": ["assets/new.txt"]}));
    assert_eq!(reg["outcome"], "applied", "{reg}");
    let r = build(&mut c, &c_pid);
    assert_eq!(r["stats"]["processed"], 1, "{r}");
    let w = warnings(&r);
    assert_eq!(w.len(), 1, "{r}");
    assert_eq!(w[0]["code"], "remoteCacheRefused");
    assert!(w[0]["message"].as_str().unwrap().contains("user `artist`"), "{}", w[0]);
    let events = disabled_events(&c);
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!((&events[0]["reason"], &events[0]["scope"]), (&json!("refused"), &json!("uploads")));
    assert_eq!(r["stats"]["remote"]["hits"], UNITS, "lookups go on after a refused upload: {r}");
    assert_eq!(
        server.objects().keys().filter(|k| k.starts_with("ac/")).count() as u64,
        UNITS,
        "the refused upload left nothing"
    );

    // A credentials file others can read is refused, with a warning.
    let (_d, d_root) = machine(ws.path());
    copy_tree(&b_root.join(".home"), &d_root.join(".home"));
    std::fs::set_permissions(
        d_root.join(".home/config/studio-packer/credentials.toml"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    let (mut d, d_pid) = packer(&d_root, &[]);
    let r = build(&mut d, &d_pid);
    assert!(warnings(&r).iter().any(|w| w["code"] == "remoteCacheConfig"), "{r}");
    assert!(r["diagnostics"].to_string().contains("chmod 600"), "{r}");
}
