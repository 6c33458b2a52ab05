//! One packer per project across processes: several real `serve` processes
//! (and the CLI) on one project share one owner, its lane and its events.

mod common;

use std::collections::{BTreeMap, HashMap};
use std::process::Command;
use std::time::{Duration, Instant};

use common::{register_all, Fixture, Server, BIN};
use serde_json::{json, Value};

fn open(s: &mut Server, f: &Fixture) -> (String, Value) {
    let r = s.call("packer/openProject", json!({"root": f.root()}));
    (r["projectId"].as_str().unwrap().to_string(), r["ownership"].clone())
}

#[test]
fn the_second_process_attaches_and_sees_the_same_project() {
    let f = Fixture::with_text_files(3);
    let mut a = Server::ready();
    let (pid, own_a) = open(&mut a, &f);
    assert_eq!(own_a, json!({"mode": "owner", "ownerPid": a.child.id()}));
    let mut b = Server::ready();
    let (pid_b, own_b) = open(&mut b, &f);
    assert_eq!(pid_b, pid);
    assert_eq!(own_b, json!({"mode": "attached", "ownerPid": a.child.id()}));
    let ids = register_all(&mut b, &pid, &f);
    let sa = a.call("packer/summary", json!({"projectId": pid}));
    let sb = b.call("packer/summary", json!({"projectId": pid}));
    assert_eq!(sa, sb);
    assert_eq!(sa["assets"]["total"], 3);
    let listed = b.call("packer/listProjects", json!({}));
    assert_eq!(listed["projects"][0]["ownership"]["mode"], "attached");
    assert_eq!(listed["projects"][0]["name"], "fixture");
    // An error from the owner comes back unchanged.
    let e = b.request("packer/getAsset", json!({"projectId": pid, "assetId": "nope"})).unwrap_err();
    assert_eq!(e["code"], -32602);
    let a_asset = a.call("packer/getAsset", json!({"projectId": pid, "assetId": ids["assets/f000.txt"]}));
    assert_eq!(a_asset["asset"]["path"], "assets/f000.txt");
}

#[test]
fn two_processes_sending_200_moves_each_share_one_total_order() {
    // Ten assets move; the last two (f010, f011) never do, so a move onto
    // their paths is refused whatever order the two clients' moves arrive in.
    let f = Fixture::with_text_files(12);
    let mut a = Server::ready();
    let (pid, _) = open(&mut a, &f);
    let mut b = Server::ready();
    open(&mut b, &f);
    let ids = register_all(&mut a, &pid, &f);
    let assets: Vec<String> = ids.values().take(10).cloned().collect();
    // Wait until B has relayed the registration, so both logs start together.
    b.wait_for("the registration's terminal event", |m| m["params"]["kind"] == "succeeded");
    a.log.clear();
    b.log.clear();

    // Interleaved, without waiting; both clients move the same assets over
    // a small pool of paths, so the order decides the outcomes.
    let mut sent: Vec<(char, i64, String, String)> = Vec::new();
    for i in 0..200usize {
        for (who, s) in [('a', &mut a), ('b', &mut b)] {
            let asset = assets[(i * 7 + if who == 'a' { 1 } else { 4 }) % 10].clone();
            let to = if i % 5 == 4 {
                format!("assets/f{:03}.txt", if who == 'a' { 10 } else { 11 })
            } else {
                format!("assets/p{:02}.txt", (i * 13 + if who == 'a' { 0 } else { 5 }) % 12)
            };
            let mutation = json!({"kind": "move", "assetId": asset, "to": to});
            let id = s.send("packer/applyMutation", json!({"projectId": pid, "mutation": mutation}));
            sent.push((who, id, asset, to));
        }
    }
    let mut op_of: HashMap<String, (char, String, String, String)> = HashMap::new();
    for (who, id, asset, to) in &sent {
        let s = if *who == 'a' { &mut a } else { &mut b };
        let r = s.response(*id);
        let result = &r["result"];
        let op = result["operationId"].as_str().unwrap_or_else(|| panic!("{r}")).to_string();
        op_of.insert(op, (*who, asset.clone(), to.clone(), result["outcome"].as_str().unwrap().to_string()));
    }
    // Every client receives every event, in the same seq order.
    let last_op = a.response(sent.iter().rev().find(|s| s.0 == 'a').unwrap().1)["result"]["operationId"].clone();
    let last_op_b = b.response(sent.iter().rev().find(|s| s.0 == 'b').unwrap().1)["result"]["operationId"].clone();
    for s in [&mut a, &mut b] {
        for op in [&last_op, &last_op_b] {
            s.wait_for("the last terminal events", |m| {
                m["params"]["operationId"] == *op
                    && ["succeeded", "rejected"].contains(&m["params"]["kind"].as_str().unwrap_or(""))
            });
        }
    }
    let ea = a.events();
    let eb = b.events();
    assert_eq!(ea, eb, "both clients saw the same events in the same order");
    let terminals = ea.iter().filter(|e| ["succeeded", "rejected"].contains(&e["kind"].as_str().unwrap())).count();
    assert_eq!(terminals, 400, "every operation's terminal event reached both clients");
    let seqs: Vec<u64> = ea.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
    assert!(seqs.windows(2).all(|w| w[1] == w[0] + 1));

    // The total order is the order of `queued` events; it keeps each client's own order.
    let order: Vec<String> =
        ea.iter().filter(|e| e["kind"] == "queued").map(|e| e["operationId"].as_str().unwrap().to_string()).collect();
    assert_eq!(order.len(), 400);
    for who in ['a', 'b'] {
        let mine: Vec<(String, String)> =
            sent.iter().filter(|s| s.0 == who).map(|s| (s.2.clone(), s.3.clone())).collect();
        let seen: Vec<(String, String)> = order
            .iter()
            .filter(|op| op_of[*op].0 == who)
            .map(|op| (op_of[op].1.clone(), op_of[op].2.clone()))
            .collect();
        assert_eq!(seen, mine, "client {who}'s own order is kept");
    }
    // Replaying that order gives every outcome and the final registry.
    let mut model: BTreeMap<String, String> = ids.iter().map(|(p, id)| (id.clone(), p.clone())).collect();
    let mut applied = 0;
    for op in &order {
        let (_, asset, to, outcome) = &op_of[op];
        let taken = model.iter().any(|(other, p)| p == to && other != asset);
        assert_eq!(outcome, if taken { "rejected" } else { "applied" }, "operation {op}");
        if !taken {
            model.insert(asset.clone(), to.clone());
            applied += 1;
        }
    }
    // At least the 80 moves onto f010/f011 are refused, and the first move
    // into the pool in the total order finds its path free, in any order.
    assert!((1..=320).contains(&applied), "the test must exercise both outcomes ({applied} applied)");
    assert_eq!(f.registry_paths(), model);
}

#[test]
fn the_cli_goes_through_the_owner() {
    let f = Fixture::with_text_files(2);
    let mut a = Server::ready();
    let (pid, _) = open(&mut a, &f);
    register_all(&mut a, &pid, &f);
    let out = Command::new(BIN).args(["status", f.root().to_str().unwrap(), "--json"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary, a.call("packer/summary", json!({"projectId": pid})));
    // A mutation from the CLI runs in the owner's lane: the owner's client sees its events.
    let out = Command::new(BIN)
        .args(["call", "packer/applyMutation", r#"{"mutation":{"kind":"unregister","assetIds":[]}}"#, "--root"])
        .arg(f.root())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let result: Value = serde_json::from_slice(&out.stdout).unwrap();
    let op = result["operationId"].as_str().unwrap().to_string();
    a.wait_for("the CLI's operation", |m| {
        m["params"]["operationId"] == op.as_str() && m["params"]["kind"] == "succeeded"
    });
    // The CLI did not take the project: A still owns it.
    assert_eq!(a.call("packer/listProjects", json!({}))["projects"][0]["ownership"]["mode"], "owner");
}

#[cfg(feature = "test-hooks")]
#[test]
fn killing_the_owner_hands_the_project_to_an_attached_process() {
    let f = Fixture::with_text_files(4);
    let mut a = Server::ready();
    let (pid, _) = open(&mut a, &f);
    let ids = register_all(&mut a, &pid, &f);
    let mut b = Server::ready();
    open(&mut b, &f);
    let done = b.call("packer/applyMutation", json!({"projectId": pid, "mutation": {"kind": "setMetadata", "assetId": ids["assets/f000.txt"], "tags": ["before"]}}));
    assert_eq!(done["outcome"], "applied");
    // The lane is busy; B queues writes behind it; then the owner dies.
    let slow =
        b.send("packer/applyMutation", json!({"projectId": pid, "mutation": {"kind": "testSleep", "ms": 30000}}));
    b.wait_for("the slow operation to start", |m| {
        m["params"]["kind"] == "started"
            && m["params"]["operation"].is_null()
            && m["params"]["sequence"] == 2
            && m["params"]["operationId"] != done["operationId"]
    });
    let queued_ops = |b: &Server| b.events().iter().filter(|e| e["kind"] == "queued").count();
    let before = queued_ops(&b);
    let queued: Vec<i64> = (0..5)
        .map(|i| {
            let mutation = json!({"kind": "move", "assetId": ids["assets/f001.txt"], "to": format!("assets/m{i}.txt")});
            b.send("packer/applyMutation", json!({"projectId": pid, "mutation": mutation}))
        })
        .collect();
    // Wait until the owner has queued them all: they are in flight there.
    let deadline = Instant::now() + Duration::from_secs(30);
    while queued_ops(&b) < before + 5 {
        assert!(Instant::now() < deadline, "the owner never queued the writes");
        b.drain_for(Duration::from_millis(20));
    }
    let before_kill = f.registry_text();
    let owner_pid = a.child.id();
    a.kill();

    // Every request in flight is answered: ownerLost, with its operation id.
    for id in std::iter::once(slow).chain(queued.iter().copied()) {
        let r = b.response(id);
        assert_eq!(r["error"]["code"], -32803, "{r}");
        assert_eq!(r["error"]["data"]["reason"], "ownerLost");
        assert!(r["error"]["data"]["operationId"].as_str().unwrap().starts_with("op-"));
    }
    let changed = b.wait_for("ownerChanged", |m| m["params"]["kind"] == "ownerChanged");
    assert_eq!(changed["params"]["ownerPid"], b.child.id());
    assert_ne!(b.child.id(), owner_pid);
    // The registry is whole and unchanged by the lost operations.
    assert_eq!(f.registry_text(), before_kill);
    // The operation that completed before the kill has its terminal event in the journal.
    let journal = b.call("packer/replayEvents", json!({"projectId": pid}));
    let events = journal["events"].as_array().unwrap();
    assert!(events.iter().any(|e| e["operationId"] == done["operationId"] && e["kind"] == "succeeded"));
    // And B now serves writes itself.
    let r = b.call("packer/applyMutation", json!({"projectId": pid, "mutation": {"kind": "move", "assetId": ids["assets/f001.txt"], "to": "assets/after.txt"}}));
    assert_eq!(r["outcome"], "applied");
    let listed = b.call("packer/listProjects", json!({}));
    assert_eq!(listed["projects"][0]["ownership"], json!({"mode": "owner", "ownerPid": b.child.id()}));
}

#[test]
fn when_every_client_exits_no_packer_process_is_left() {
    let f = Fixture::with_text_files(1);
    let mut a = Server::ready();
    open(&mut a, &f);
    let mut b = Server::ready();
    let (pid, own) = open(&mut b, &f);
    assert_eq!(own["mode"], "attached");
    let pids = [a.child.id(), b.child.id()];
    // The owner's client leaves: B takes over.
    a.close_stdin();
    assert_eq!(a.wait_exit(), 1);
    b.wait_for("ownerChanged", |m| m["params"]["kind"] == "ownerChanged");
    assert_eq!(b.call("packer/summary", json!({"projectId": pid}))["assets"]["total"], 0);
    b.close_stdin();
    assert_eq!(b.wait_exit(), 1);
    let deadline = Instant::now() + Duration::from_secs(10);
    for p in pids {
        while std::path::Path::new(&format!("/proc/{p}")).exists() && !is_zombie(p) {
            assert!(Instant::now() < deadline, "process {p} is still running");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    assert!(!f.path(".packer/owner/owner.sock").exists(), "the socket is removed");
    // The lock is free: a new process owns the project at once.
    let mut c = Server::ready();
    assert_eq!(open(&mut c, &f).1["mode"], "owner");
}

fn is_zombie(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).map_or(true, |s| s.contains(") Z "))
}

/// An owner and its socket, checked private (the folder 0700, the socket
/// open to nobody else).
fn owner_with_private_socket(f: &Fixture) -> (Server, std::path::PathBuf, std::path::PathBuf) {
    use std::os::unix::fs::PermissionsExt;
    let mut a = Server::ready();
    open(&mut a, f);
    let dir = f.path(".packer/owner");
    let sock = dir.join("owner.sock");
    assert_eq!(std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777, 0o700);
    assert_eq!(std::fs::metadata(&sock).unwrap().permissions().mode() & 0o077, 0);
    (a, dir, sock)
}

#[test]
fn the_socket_is_private() {
    let f = Fixture::with_text_files(1);
    owner_with_private_socket(&f);
}

#[test]
#[ignore = "needs root: runs a client as `nobody` (scripts/test.sh runs it as root)"]
fn other_users_are_refused_at_the_socket() {
    use std::os::unix::fs::PermissionsExt;
    common::require_root("to switch a child to `nobody`");
    common::require_python3("for the client run as `nobody`");
    let f = Fixture::with_text_files(1);
    let (mut a, dir, sock) = owner_with_private_socket(&f);
    let client = r#"
import socket, sys
s = socket.socket(socket.AF_UNIX)
try:
    s.connect(sys.argv[1])
except OSError as e:
    print("connect-refused", e.errno); sys.exit(0)
body = b'{"jsonrpc":"2.0","id":1,"method":"initialize","params":{}}'
s.settimeout(5)
try:
    s.sendall(b"Content-Length: %d\r\n\r\n" % len(body) + body)
except OSError:
    print("closed"); sys.exit(0)
try:
    data = s.recv(4096)
    print("closed" if data == b"" else "answer %r" % data)
except socket.timeout:
    print("timeout")
except OSError:
    print("closed")
"#;
    let run_as_nobody = || {
        use std::os::unix::process::CommandExt;
        let out = Command::new("python3").arg("-c").arg(client).arg(&sock).uid(65534).gid(65534).output().unwrap();
        String::from_utf8_lossy(&out.stdout).to_string()
    };
    // The private folder keeps other users from even reaching the socket.
    assert!(run_as_nobody().starts_with("connect-refused"), "another user reached the socket");
    // Even with the folders and socket opened up, the owner checks who connects.
    std::fs::set_permissions(f.path(".packer"), std::fs::Permissions::from_mode(0o711)).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o711)).unwrap();
    std::fs::set_permissions(&sock, std::fs::Permissions::from_mode(0o777)).unwrap();
    let out = run_as_nobody();
    assert_eq!(out.trim(), "closed", "the owner must close a connection from another user without answering");
    // The owner still serves its own user.
    assert_eq!(a.call("packer/listProjects", json!({}))["projects"].as_array().unwrap().len(), 1);
}

#[test]
fn a_build_from_the_shell_runs_in_the_owners_lane_and_the_pack_is_written_once() {
    let f = Fixture::new(&[("assets/a.txt", b"a\n"), ("assets/b.json", b"{ \"x\": 1 }"), ("assets/c.txt", b"c\n")]);
    let mut a = Server::ready();
    let (pid, _) = open(&mut a, &f);
    register_all(&mut a, &pid, &f);
    a.log.clear();
    // The owner's client and a terminal build at the same time.
    let from_client = a.send("packer/build", json!({"projectId": pid}));
    let cli = Command::new(BIN).args(["build", f.root().to_str().unwrap(), "--json"]).output().unwrap();
    assert!(cli.status.success(), "{}", String::from_utf8_lossy(&cli.stderr));
    let cli_result: Value = serde_json::from_slice(&cli.stdout).unwrap();
    let client_result = a.response(from_client)["result"].clone();
    assert_eq!(cli_result["outcome"], "succeeded");
    assert_eq!(client_result["outcome"], "succeeded");
    let written = [&cli_result, &client_result].iter().filter(|r| r["packs"][0]["written"] == true).count();
    assert_eq!(written, 1, "one writer: the second build found the pack already up to date");
    // The owner's client saw the terminal build's whole life.
    let op = cli_result["operationId"].as_str().unwrap().to_string();
    a.wait_for("the CLI build's terminal event", |m| {
        m["params"]["operationId"] == op.as_str() && m["params"]["kind"] == "succeeded"
    });
    let kinds: Vec<String> = a
        .events()
        .iter()
        .filter(|e| e["operationId"] == op.as_str())
        .map(|e| e["kind"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(kinds.first().map(String::as_str), Some("queued"));
    assert!(kinds.iter().any(|k| k == "progress"), "{kinds:?}");
    assert_eq!(kinds.last().map(String::as_str), Some("succeeded"));
    assert_eq!(a.call("packer/listProjects", json!({}))["projects"][0]["ownership"]["mode"], "owner");
}

#[test]
fn an_attached_process_answers_every_request_sent_before_shutdown() {
    let f = Fixture::with_text_files(2);
    let mut a = Server::ready();
    open(&mut a, &f);
    let mut b = Server::ready();
    let (pid, own) = open(&mut b, &f);
    assert_eq!(own["mode"], "attached");
    let mut blob = Vec::new();
    for i in 0..500 {
        let body = json!({"jsonrpc": "2.0", "id": 1000 + i, "method": "packer/summary", "params": {"projectId": pid}})
            .to_string();
        blob.extend(format!("Content-Length: {}\r\n\r\n{body}", body.len()).into_bytes());
    }
    for body in [r#"{"jsonrpc":"2.0","id":99999,"method":"shutdown"}"#, r#"{"jsonrpc":"2.0","method":"exit"}"#] {
        blob.extend(format!("Content-Length: {}\r\n\r\n{body}", body.len()).into_bytes());
    }
    b.send_raw(&blob);
    assert_eq!(b.wait_exit(), 0);
    b.drain_for(Duration::from_millis(200));
    let answered = b.log.iter().filter(|m| m["id"].as_i64().is_some_and(|id| (1000..1500).contains(&id))).count();
    assert_eq!(answered, 500, "forwarded reads are answered before shutdown is");
    assert_eq!(b.position_of_response(99999), Some(b.log.len() - 1));
}

#[test]
fn a_one_shot_command_does_not_watch() {
    let f = Fixture::with_text_files(2);
    let out = Command::new(BIN).args(["call", "packer/summary", "{}", "--root"]).arg(f.root()).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["watch"], json!({"state": "off"}));
}

#[cfg(feature = "test-hooks")]
#[test]
fn a_one_shot_owner_watches_once_another_process_attaches() {
    let f = Fixture::with_text_files(2);
    // A terminal command owns the project and holds its lane for a while.
    let mut cli = Command::new(BIN)
        .args(["call", "packer/applyMutation", r#"{"mutation":{"kind":"testSleep","ms":4000}}"#, "--root"])
        .arg(f.root())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let socket = f.root().join(".packer/owner/owner.sock");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !socket.exists() {
        assert!(Instant::now() < deadline, "the command never came to own the project");
        std::thread::sleep(Duration::from_millis(10));
    }
    let mut b = Server::ready();
    let (pid, _) = open(&mut b, &f);
    assert_eq!(b.call("packer/listProjects", json!({}))["projects"][0]["ownership"]["mode"], "attached");
    // The owner watches now that someone else relies on it.
    let state = b.call("packer/summary", json!({"projectId": pid}))["watch"]["state"].clone();
    assert!(state == "starting" || state == "ok", "{state}");
    // A file added while the command's lane is busy is not lost when the
    // command exits: the process that takes over finds it on the disk.
    f.write("assets/added.txt", b"new\n");
    assert!(cli.wait().unwrap().success());
    b.wait_for("the takeover", |m| m["params"]["kind"] == "ownerChanged");
    let divergence = b.call("packer/divergence", json!({"projectId": pid}));
    assert!(divergence["items"].to_string().contains("assets/added.txt"), "{divergence}");
    // And watches it: its own client needs that.
    let deadline = Instant::now() + Duration::from_secs(10);
    while b.call("packer/summary", json!({"projectId": pid}))["watch"]["state"] != "ok" {
        assert!(Instant::now() < deadline, "the process that took over never watched the project");
        std::thread::sleep(Duration::from_millis(20));
    }
}
