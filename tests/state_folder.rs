//! The packer's own state folder (`.packer/`) and the owner's socket are
//! never a way out of the project: links planted there (as a repository or
//! an archive can carry them) are refused with the path named, and what
//! they point to is left byte-identical, with the same modes, through every
//! command and a takeover. The socket never lives in a folder another user
//! can prepare, and a process attaching talks only to an owner of its own
//! user.

mod common;

use std::collections::BTreeMap;
use std::os::unix::fs::{symlink, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::*;
use serde_json::{json, Value};

/// Where a link is planted, relative to the project root.
const PLANTED_AT: &[&str] = &[
    ".packer",
    ".packer/cache",
    ".packer/cache/segments",
    ".packer/events.jsonl",
    ".packer/owner.lock",
    ".packer/owner",
];

/// Every entry under `dir` (and `dir` itself): kind, mode, and bytes or
/// link target.
fn picture(dir: &Path) -> BTreeMap<String, (char, u32, Vec<u8>)> {
    let mut out = BTreeMap::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(path) = pending.pop() {
        let meta = std::fs::symlink_metadata(&path).unwrap();
        let rel = path.strip_prefix(dir).unwrap().display().to_string();
        let mode = meta.mode() & 0o7777;
        use std::os::unix::fs::FileTypeExt;
        let entry = if meta.file_type().is_socket() {
            ('s', mode, Vec::new())
        } else if meta.file_type().is_symlink() {
            ('l', mode, std::fs::read_link(&path).unwrap().into_os_string().into_encoded_bytes())
        } else if meta.is_dir() {
            for e in std::fs::read_dir(&path).unwrap() {
                pending.push(e.unwrap().path());
            }
            ('d', mode, Vec::new())
        } else {
            ('f', mode, std::fs::read(&path).unwrap())
        };
        out.insert(rel, entry);
    }
    out
}

/// A built project beside an `outside` folder holding a file and a folder
/// that a link in the state folder will point to.
struct Planted {
    _dir: tempfile::TempDir,
    root: PathBuf,
    outside: PathBuf,
}

impl Planted {
    fn new() -> Planted {
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path().canonicalize().unwrap();
        let (root, outside) = (base.join("project"), base.join("outside"));
        let out = Command::new(BIN).arg("init").arg(&root).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        std::fs::write(root.join("assets/a.txt"), b"a\n").unwrap();
        std::fs::write(root.join("assets/b.json"), b"{\"b\": 1}").unwrap();
        std::fs::create_dir_all(outside.join("folder")).unwrap();
        std::fs::write(outside.join("file.txt"), b"not the packer's").unwrap();
        std::fs::write(outside.join("folder/inside.txt"), b"neither").unwrap();
        std::fs::set_permissions(outside.join("file.txt"), std::fs::Permissions::from_mode(0o640)).unwrap();
        std::fs::set_permissions(outside.join("folder"), std::fs::Permissions::from_mode(0o755)).unwrap();
        let planted = Planted { _dir: dir, root, outside };
        // A build fills the state folder (journal, lock, owner folder, cache
        // and its segments) as a real one.
        let mut s = Server::ready();
        let pid = s.open(&planted.root);
        s.apply(&pid, json!({"kind": "register", "paths": ["assets/a.txt", "assets/b.json"]}));
        assert_eq!(s.call("packer/build", json!({"projectId": pid}))["outcome"], "succeeded");
        assert_eq!(s.shutdown(), 0);
        for at in PLANTED_AT {
            assert!(planted.root.join(at).exists(), "a build leaves {at}");
        }
        planted
    }

    /// Replaces `at` with a link to the outside file or folder.
    fn plant(&self, at: &str, to_folder: bool) -> PathBuf {
        let path = self.root.join(at);
        if std::fs::symlink_metadata(&path).is_ok_and(|m| m.is_dir()) {
            std::fs::remove_dir_all(&path).unwrap();
        } else {
            std::fs::remove_file(&path).unwrap();
        }
        let target = self.outside.join(if to_folder { "folder" } else { "file.txt" });
        symlink(&target, &path).unwrap();
        path
    }

    fn run(&self, args: &[&str]) -> std::process::Output {
        Command::new(BIN).args(args).arg(&self.root).output().unwrap()
    }
}

#[test]
fn a_link_in_the_state_folder_is_refused_by_every_command_and_its_target_is_untouched() {
    for at in PLANTED_AT {
        for to_folder in [false, true] {
            let case = format!("{at} -> {}", if to_folder { "a folder" } else { "a file" });
            let p = Planted::new();
            let link = p.plant(at, to_folder);
            let before = picture(&p.outside);

            // A client's open: refused with the path, and the server serves on.
            let mut s = Server::ready();
            let err = s.request("packer/openProject", json!({"root": p.root})).unwrap_err();
            assert_eq!(err["data"]["reason"], "stateFolderRefused", "{case}: {err}");
            assert_eq!(err["data"]["path"], link.display().to_string(), "{case}");
            let message = err["message"].as_str().unwrap();
            assert!(message.contains("is a symlink") && message.contains("remove it"), "{case}: {message}");
            assert_eq!(s.call("packer/listProjects", json!({}))["projects"], json!([]), "{case}");
            assert_eq!(s.shutdown(), 0);

            for args in [&["status"][..], &["build"], &["build", "--clean"]] {
                let out = p.run(args);
                assert!(!out.status.success(), "{case}: {args:?} succeeded");
                let stderr = String::from_utf8_lossy(&out.stderr);
                assert!(stderr.contains(&link.display().to_string()), "{case}: {args:?}: {stderr}");
            }
            let out = p.run(&["check", "--json"]);
            assert_eq!(out.status.code(), Some(1), "{case}: {}", String::from_utf8_lossy(&out.stderr));
            let report: Value = serde_json::from_slice(&out.stdout).unwrap();
            let finding = &report["findings"][0];
            assert_eq!(finding["code"], "stateFolderRefused", "{case}: {report}");
            assert_eq!(finding["path"], *at, "{case}");

            assert_eq!(picture(&p.outside), before, "{case}: something outside the project changed");
            assert!(
                std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink(),
                "{case}: the link was replaced"
            );
        }
    }
}

#[test]
fn a_link_planted_while_an_owner_runs_stops_the_takeover_until_it_is_removed() {
    // Every location at once, each in a project of its own: a takeover
    // keeps trying for 30 s, so the cases run side by side.
    let cases: Vec<_> = PLANTED_AT
        .iter()
        .enumerate()
        .map(|(i, at)| {
            std::thread::spawn(move || {
                let p = Planted::new();
                let mut owner = Server::ready();
                let pid = owner.open(&p.root);
                let mut attached = Server::ready();
                assert_eq!(attached.open(&p.root), pid);
                let link = p.plant(at, i % 2 == 0);
                let before = picture(&p.outside);
                owner.kill();
                // Once the attached process has seen the owner go (a request
                // forwarded before that is answered `ownerLost`), it tries to
                // take the project over, and a request naming it waits.
                std::thread::sleep(Duration::from_millis(500));
                let waiting = attached.send("packer/summary", json!({"projectId": pid}));
                std::thread::sleep(Duration::from_secs(2));
                assert_eq!(picture(&p.outside), before, "{at}: the takeover wrote outside the project");
                assert!(attached.log.iter().all(|m| m["id"] != waiting), "{at}: answered while the link stood");
                // Removed, the state folder is the packer's to rebuild.
                std::fs::remove_file(&link).unwrap();
                let answer = attached.response(waiting);
                assert_eq!(answer["result"]["assets"]["total"], 2, "{at}: {answer}");
                assert_eq!(picture(&p.outside), before, "{at}");
                assert_eq!(attached.shutdown(), 0);
            })
        })
        .collect();
    for case in cases {
        case.join().unwrap();
    }
}

#[test]
fn a_link_brought_in_while_an_owner_runs_is_not_written_through_by_its_next_build() {
    let p = Planted::new();
    let mut s = Server::ready();
    let pid = s.open(&p.root);
    // A checkout or an archive replaces the cache with a link while the
    // owner runs (it used to make the next build empty the target).
    let before = picture(&p.outside);
    let link = p.plant(".packer/cache", true);
    for clean in [false, true] {
        let r = s.call("packer/build", json!({"projectId": pid, "clean": clean}));
        assert_eq!(r["outcome"], "failed", "{r}");
        assert_eq!(r["diagnostics"][0]["code"], "stateFolderRefused", "{r}");
        assert_eq!(r["diagnostics"][0]["path"], ".packer/cache", "{r}");
    }
    let pruned = s.call("packer/pruneCache", json!({"projectId": pid, "maxSize": 0}));
    assert_eq!(pruned["outcome"], "failed", "{pruned}");
    assert_eq!(picture(&p.outside), before, "something outside the project changed");
    // Removed, the next build is the packer's own again.
    std::fs::remove_file(&link).unwrap();
    assert_eq!(s.call("packer/build", json!({"projectId": pid}))["outcome"], "succeeded");

    // `.packer` itself swapped for a link: the owner goes on with the folder
    // it checked, which it holds open, so nothing lands outside, and the
    // close writes its state there too.
    std::fs::rename(p.root.join(".packer"), p.root.join("packer-aside")).unwrap();
    symlink(p.outside.join("folder"), p.root.join(".packer")).unwrap();
    let before = picture(&p.outside);
    let r = s.call("packer/build", json!({"projectId": pid, "clean": true}));
    assert_eq!(r["outcome"], "succeeded", "{r}");
    s.call("packer/closeProject", json!({"projectId": pid}));
    assert_eq!(s.shutdown(), 0);
    assert_eq!(picture(&p.outside), before, "something outside the project changed");
    assert!(p.root.join("packer-aside/cache/index.bin").exists());
}

#[test]
fn the_state_folder_and_its_files_are_private_whatever_the_umask() {
    let p = Planted::new();
    std::fs::remove_dir_all(p.root.join(".packer")).unwrap();
    let mut cmd = Command::new("sh");
    cmd.arg("-c").arg(format!("umask 000; exec {BIN} build {}", p.root.display()));
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let state = picture(&p.root.join(".packer"));
    assert_eq!(state[""].1, 0o700);
    for (path, (kind, mode, _)) in &state {
        match kind {
            'd' => assert_eq!(*mode, 0o700, "{path}"),
            _ => assert_eq!(mode & 0o077, 0, "{path} is open to others: {mode:o}"),
        }
    }
    for file in ["events.jsonl", "owner.lock"] {
        assert_eq!(state[file].1, 0o600, "{file}");
    }
}

// ---- The owner's socket -------------------------------------------------

/// A project whose path is too long for a socket address, and the folders
/// where an earlier version put such a project's socket (the user's runtime
/// folder, or the temporary folder), given to the packer through the
/// environment so that the test prepares them the way another user would.
struct Deep {
    _dir: tempfile::TempDir,
    root: PathBuf,
    runtime: PathBuf,
    tmp: PathBuf,
}

impl Deep {
    fn new() -> Deep {
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path().canonicalize().unwrap();
        let root = base.join("d".repeat(60)).join("e".repeat(60));
        let (runtime, tmp) = (base.join("runtime"), base.join("tmp"));
        for d in [&runtime, &tmp] {
            std::fs::create_dir_all(d).unwrap();
        }
        let out = Command::new(BIN).arg("init").arg(&root).output().unwrap();
        assert!(out.status.success());
        std::fs::write(root.join("assets/a.txt"), b"a\n").unwrap();
        assert!(root.join(".packer/owner/owner.sock").as_os_str().len() > 108);
        Deep { _dir: dir, root, runtime, tmp }
    }

    fn env(&self) -> Vec<(&'static str, String)> {
        vec![("XDG_RUNTIME_DIR", self.runtime.display().to_string()), ("TMPDIR", self.tmp.display().to_string())]
    }

    /// The names an earlier version chose, in both places.
    fn squat_names(&self) -> [PathBuf; 2] {
        [self.runtime.join("studio-packer"), self.tmp.join(format!("studio-packer-{}", euid()))]
    }

    /// An owner, and a second process that attaches to it: both must work,
    /// and the second must be answered by the owner.
    fn owner_and_attached(&self) {
        let env = self.env();
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let mut owner = Server::ready_with_env(&env);
        let opened = owner.call("packer/openProject", json!({"root": self.root}));
        assert_eq!(opened["ownership"]["mode"], "owner");
        let mut attached = Server::ready_with_env(&env);
        let opened = attached.call("packer/openProject", json!({"root": self.root}));
        assert_eq!(opened["ownership"]["mode"], "attached", "{opened}");
        assert_eq!(opened["ownership"]["ownerPid"], owner.child.id(), "{opened}");
        let pid = opened["projectId"].clone();
        assert_eq!(attached.call("packer/summary", json!({"projectId": pid}))["divergence"]["count"], 1);
        assert_eq!(attached.shutdown(), 0);
        assert_eq!(owner.shutdown(), 0);
    }
}

#[test]
fn a_deep_projects_socket_is_in_its_own_state_folder_not_in_a_folder_another_user_can_prepare() {
    let d = Deep::new();
    d.owner_and_attached();
    for name in d.squat_names() {
        assert!(std::fs::symlink_metadata(&name).is_err(), "{} was created", name.display());
    }
    let sock = std::fs::symlink_metadata(d.root.join(".packer/owner/owner.sock"));
    assert!(sock.is_err(), "the owner removes its socket when it stops");
}

#[test]
fn a_squatted_socket_folder_linking_to_another_folder_is_neither_chmodded_nor_used() {
    let d = Deep::new();
    // A folder another user chose for us (root's, say): it must keep its mode.
    let decoy = d.runtime.parent().unwrap().join("decoy");
    std::fs::create_dir(&decoy).unwrap();
    std::fs::set_permissions(&decoy, std::fs::Permissions::from_mode(0o755)).unwrap();
    // And their listener, under the name an earlier version would have used.
    let hash = blake3::hash(d.root.as_os_str().as_encoded_bytes()).to_hex();
    let listener = std::os::unix::net::UnixListener::bind(decoy.join(format!("{}.sock", &hash[..24]))).unwrap();
    listener.set_nonblocking(true).unwrap();
    for name in d.squat_names() {
        symlink(&decoy, &name).unwrap();
    }
    let before = picture(&decoy);
    d.owner_and_attached();
    assert_eq!(picture(&decoy), before, "the squatted folder changed");
    assert!(listener.accept().is_err(), "a packer connected to the squatter's listener");
}

/// Folders already at the old fallback names (mode 0755, owned by `uid`
/// when given) neither keep the project from opening nor change.
fn squatted_folders_do_not_keep_a_project_from_opening(uid: Option<u32>) {
    let d = Deep::new();
    for name in d.squat_names() {
        std::fs::create_dir(&name).unwrap();
        std::fs::set_permissions(&name, std::fs::Permissions::from_mode(0o755)).unwrap();
        if let Some(uid) = uid {
            std::os::unix::fs::chown(&name, Some(uid), Some(uid)).unwrap();
        }
        let owner = std::fs::metadata(&name).unwrap().uid();
        assert_eq!(owner, uid.unwrap_or_else(euid), "{} is not squatted as meant", name.display());
    }
    let before: Vec<_> = d.squat_names().iter().map(|n| picture(n)).collect();
    d.owner_and_attached();
    let after: Vec<_> = d.squat_names().iter().map(|n| picture(n)).collect();
    assert_eq!(after, before);
}

#[test]
fn a_squatted_socket_folder_does_not_keep_a_project_from_opening() {
    squatted_folders_do_not_keep_a_project_from_opening(None);
}

#[test]
#[ignore = "needs root: chowns the squatted folders to another user (scripts/test.sh runs it as root)"]
fn a_squatted_socket_folder_of_another_user_does_not_keep_a_project_from_opening() {
    require_root("to chown the squatted folders to uid 12345");
    squatted_folders_do_not_keep_a_project_from_opening(Some(12345));
}

#[test]
#[ignore = "needs root: runs a listener as `nobody` (scripts/test.sh runs it as root)"]
fn an_owner_socket_served_by_another_user_is_not_talked_to() {
    require_root("to run a listener as another user");
    require_python3("to run a listener as another user");
    let f = Fixture::with_text_files(1);
    let root = f.root();
    // Holds the owner lock, binds the owner's socket as root, then becomes
    // `nobody` before listening: the credentials a client sees are those
    // of the listener. Counts the bytes any client sends it.
    let squatter = r#"
import fcntl, os, socket, sys, time
root = sys.argv[1]
os.makedirs(root + "/.packer/owner", mode=0o700, exist_ok=True)
lock = open(root + "/.packer/owner.lock", "w")
fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
s = socket.socket(socket.AF_UNIX)
s.bind(root + "/.packer/owner/owner.sock")
os.setgid(65534); os.setuid(65534)
s.listen(16)
s.settimeout(0.2)
print("ready", flush=True)
accepted, received, deadline = 0, 0, time.time() + float(sys.argv[2])
while time.time() < deadline:
    try:
        c, _ = s.accept()
    except socket.timeout:
        continue
    accepted += 1
    c.settimeout(0.5)
    try:
        while True:
            data = c.recv(4096)
            if not data:
                break
            received += len(data)
    except (socket.timeout, OSError):
        pass
    c.close()
print("accepted", accepted, "received", received, flush=True)
"#;
    let mut child = Command::new("python3")
        .arg("-c")
        .arg(squatter)
        .arg(&root)
        .arg("20")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    std::io::BufRead::read_line(&mut out, &mut line).unwrap();
    assert_eq!(line.trim(), "ready");
    // The project's lock is held, so the packer attaches: it must refuse
    // the listener and say why, without sending it a byte.
    let status = Command::new(BIN).arg("status").arg(&root).output().unwrap();
    assert!(!status.status.success());
    let stderr = String::from_utf8_lossy(&status.stderr);
    assert!(stderr.contains("another user (uid 65534)"), "{stderr}");
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut out, &mut rest).unwrap();
    child.wait().unwrap();
    let counts: Vec<&str> = rest.split_whitespace().collect();
    assert_eq!(counts[0], "accepted");
    assert!(counts[1].parse::<u32>().unwrap() >= 1, "the packer never tried: {rest}");
    assert_eq!(counts[3], "0", "the packer sent the other user's process something: {rest}");
}
