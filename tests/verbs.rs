//! The everyday verbs (`add`, `mv`, `rm`, `ls`, `show`, `reconcile`,
//! `events`) driven as a new user drives them: the real binary, in a
//! project made by `studio-packer init`, from a shell's current folder.
//! Where a line is the packer's words, it is asserted exactly.

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use common::{png, BIN};
use serde_json::Value;

struct Out {
    code: i32,
    out: String,
    err: String,
}

impl std::fmt::Debug for Out {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "exit {}\n--- stdout\n{}--- stderr\n{}", self.code, self.out, self.err)
    }
}

/// `studio-packer ARGS` run in `cwd`, with no terminal (stdin is empty).
fn sp(cwd: &Path, args: &[&str]) -> Out {
    let out = Command::new(BIN).args(args).current_dir(cwd).stdin(Stdio::null()).output().unwrap();
    Out {
        code: out.status.code().expect("an exit code"),
        out: String::from_utf8(out.stdout).unwrap(),
        err: String::from_utf8(out.stderr).unwrap(),
    }
}

/// A project made by `studio-packer init`, in a temporary folder.
struct Project {
    _dir: tempfile::TempDir,
    root: PathBuf,
}

impl Project {
    fn init() -> Project {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap().join("game");
        let r = sp(dir.path(), &["init", "game"]);
        assert_eq!(r.code, 0, "{r:?}");
        Project { _dir: dir, root }
    }

    fn write(&self, rel: &str, bytes: &[u8]) {
        let p = self.root.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, bytes).unwrap();
    }

    fn at(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }

    /// Runs a verb from the project's root folder.
    fn sp(&self, args: &[&str]) -> Out {
        sp(&self.root, args)
    }

    /// `ls --json`: the packer's listing.
    fn ls_json(&self, filters: &[&str]) -> Vec<Value> {
        let mut args = vec!["ls", "--json"];
        args.extend_from_slice(filters);
        let r = self.sp(&args);
        assert_eq!(r.code, 0, "{r:?}");
        let v: Value = serde_json::from_str(&r.out).unwrap();
        v["items"].as_array().unwrap().clone()
    }

    fn paths(&self, filters: &[&str]) -> Vec<String> {
        self.ls_json(filters).iter().map(|a| a["path"].as_str().unwrap().to_string()).collect()
    }

    fn id_of(&self, path: &str) -> String {
        let items = self.ls_json(&["--prefix", path]);
        let a = items.iter().find(|a| a["path"] == path).unwrap_or_else(|| panic!("no asset at {path}"));
        a["id"].as_str().unwrap().to_string()
    }

    fn events(&self) -> Vec<Value> {
        let r = self.sp(&["events", "--json"]);
        assert_eq!(r.code, 0, "{r:?}");
        r.out.lines().map(|l| serde_json::from_str(l).unwrap()).collect()
    }
}

/// The lines of one section of a preview (`registry:`, `files:`, …),
/// sorted: the packer lists registry changes by asset id, which is random.
fn section(out: &str, name: &str) -> Vec<String> {
    let mut lines: Vec<String> = out
        .lines()
        .skip_while(|l| *l != name)
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .map(|l| l.trim().to_string())
        .collect();
    lines.sort();
    lines
}

/// The operation id an applied verb printed: `applied (op-…): …`.
fn applied_op(r: &Out) -> String {
    let line = r.out.lines().find(|l| l.starts_with("applied (")).unwrap_or_else(|| panic!("not applied: {r:?}"));
    line["applied (".len()..line.find(')').unwrap()].to_string()
}

#[test]
fn a_new_user_adds_a_folder_lists_shows_moves_and_removes_assets() {
    let p = Project::init();
    p.write("assets/sprites/hero.png", &png(2, 3));
    p.write("assets/sprites/enemies/slime.png", &png(4, 4));
    p.write("assets/data/levels/one.json", b"{\"tiles\": [1, 2]}");
    p.write("assets/readme.txt", b"hello\n");

    // From inside the project, a folder relative to the current folder.
    let r = sp(&p.at("assets"), &["add", "sprites", "data/", "--yes"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(
        section(&r.out, "registry:"),
        [
            "+ assets/data/levels/one.json (data)",
            "+ assets/sprites/enemies/slime.png (image)",
            "+ assets/sprites/hero.png (image)"
        ]
    );
    assert_eq!(section(&r.out, "files:"), ["write packer.registry.jsonl"]);
    assert!(r.out.contains(": 3 registry change(s), 1 file step(s), 0 blocker(s), 0 warning(s)\n"), "{r:?}");
    let add_op = applied_op(&r);
    assert_eq!(
        p.paths(&[]),
        ["assets/data/levels/one.json", "assets/sprites/enemies/slime.png", "assets/sprites/hero.png"]
    );
    // The readme was not under the folders named: still untracked.
    let status = p.sp(&["status", ".", "--json"]);
    let summary: Value = serde_json::from_str(&status.out).unwrap();
    assert_eq!(summary["divergence"]["count"], 1, "{status:?}");

    // ls and its filters, as the packer applies them.
    let r = p.sp(&["ls"]);
    assert_eq!(r.code, 0, "{r:?}");
    let hero = p.id_of("assets/sprites/hero.png");
    let slime = p.id_of("assets/sprites/enemies/slime.png");
    let level = p.id_of("assets/data/levels/one.json");
    assert_eq!(
        r.out,
        format!(
            "{level}  data    ok        assets/data/levels/one.json\n\
             {slime}  image   ok        assets/sprites/enemies/slime.png\n\
             {hero}  image   ok        assets/sprites/hero.png\n"
        )
    );
    assert_eq!(p.paths(&["--kind", "data"]), ["assets/data/levels/one.json"]);
    assert_eq!(p.paths(&["--status", "ok", "--kind", "image"]).len(), 2);
    assert_eq!(p.paths(&["--text", "SLIME"]), ["assets/sprites/enemies/slime.png"]);
    assert_eq!(p.paths(&["--tag", "ui"]), Vec::<String>::new());
    let r = sp(&p.at("assets/sprites"), &["ls", "--prefix", "enemies/"]);
    assert_eq!(r.out, format!("{slime}  image   ok        assets/sprites/enemies/slime.png\n"), "{r:?}");
    let r = p.sp(&["ls", "--kind", "sprite"]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.err.contains("`filter.kind`: unknown variant `sprite`"), "{r:?}");

    // show, by path (relative to the current folder) and by id: the same asset.
    let by_path = sp(&p.at("assets/sprites"), &["show", "hero.png"]);
    assert_eq!(by_path.code, 0, "{by_path:?}");
    let by_id = p.sp(&["show", &hero]);
    assert_eq!(by_path.out, by_id.out);
    assert!(
        by_id.out.starts_with(&format!("assets/sprites/hero.png\n  id:       {hero}\n  kind:     image\n")),
        "{by_id:?}"
    );
    assert!(by_id.out.contains("\n  metadata: format png, height 3, width 2\n"), "{by_id:?}");
    let json = p.sp(&["show", "assets/sprites/hero.png", "--json"]);
    let asset: Value = serde_json::from_str(&json.out).unwrap();
    assert_eq!(asset["id"], hero.as_str());
    assert_eq!(asset["metadata"]["width"], 2);

    // mv by path, into a folder: the asset keeps its id.
    let r = sp(&p.at("assets"), &["mv", "sprites/hero.png", "characters/", "--yes"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.out.starts_with(
            "registry:\n  ~ assets/sprites/hero.png -> assets/characters/hero.png\nfiles:\n  \
             move assets/sprites/hero.png -> assets/characters/hero.png\n  write packer.registry.jsonl\n"
        ),
        "{r:?}"
    );
    let mv_op = applied_op(&r);
    assert_eq!(p.id_of("assets/characters/hero.png"), hero);
    assert!(p.at("assets/characters/hero.png").is_file() && !p.at("assets/sprites/hero.png").exists());

    // rm: the file and the entry go.
    let r = p.sp(&["rm", "assets/data/levels/one.json", "--yes"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r
        .out
        .starts_with("registry:\n  - assets/data/levels/one.json\nfiles:\n  delete assets/data/levels/one.json\n"));
    let rm_op = applied_op(&r);
    assert!(!p.at("assets/data/levels/one.json").exists());

    // rm --keep-file: the entry goes, the file stays (and is untracked again).
    let r = p.sp(&["rm", &slime, "--keep-file", "--yes"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r
        .out
        .starts_with("registry:\n  - assets/sprites/enemies/slime.png\nfiles:\n  write packer.registry.jsonl\n"));
    let keep_op = applied_op(&r);
    assert!(p.at("assets/sprites/enemies/slime.png").is_file());
    assert_eq!(p.paths(&[]), ["assets/characters/hero.png"]);

    // The journal holds what was done, in order, each operation's events together.
    let events = p.events();
    let seqs: Vec<u64> = events.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
    assert_eq!(seqs, (seqs[0]..seqs[0] + seqs.len() as u64).collect::<Vec<_>>());
    let done: Vec<(String, String)> = events
        .iter()
        .map(|e| (e["operationId"].as_str().unwrap_or("-").to_string(), e["kind"].as_str().unwrap().to_string()))
        .collect();
    let op = |id: &str, kinds: &[&str]| kinds.iter().map(|k| (id.to_string(), k.to_string())).collect::<Vec<_>>();
    let expected = [
        op(&add_op, &["queued", "started", "snapshotPublished", "divergenceCleared", "succeeded"]),
        op(&mv_op, &["queued", "started", "snapshotPublished", "succeeded"]),
        op(&rm_op, &["queued", "started", "snapshotPublished", "succeeded"]),
        op(&keep_op, &["queued", "started", "snapshotPublished", "divergenceDetected", "succeeded"]),
    ]
    .concat();
    assert_eq!(done, expected);
    let detected = events.iter().find(|e| e["kind"] == "divergenceDetected").unwrap();
    assert_eq!(detected["items"][0]["path"], "assets/sprites/enemies/slime.png");
    assert_eq!(detected["items"][0]["kind"], "untracked");

    // The readable form says the same, one line per event.
    let r = p.sp(&["events"]);
    assert_eq!(r.out.lines().count(), events.len(), "{r:?}");
    let last = &events[events.len() - 1];
    assert_eq!(
        r.out.lines().last().unwrap(),
        format!("{} {keep_op} succeeded applied, generation {}", last["seq"], last["result"]["generation"])
    );
    let r = p.sp(&["events", "--after", &seqs[seqs.len() - 2].to_string()]);
    assert_eq!(r.out.lines().count(), 1, "{r:?}");
}

#[test]
fn a_glob_adds_only_the_files_it_matches() {
    let p = Project::init();
    p.write("assets/ui/button.png", &png(1, 1));
    p.write("assets/ui/icons/close.png", &png(1, 1));
    p.write("assets/ui/notes.txt", b"not a png");
    p.write("assets/top.png", &png(1, 1));
    let r = p.sp(&["add", "assets/ui/**/*.png", "--yes"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(p.paths(&[]), ["assets/ui/button.png", "assets/ui/icons/close.png"]);
    // `*` stays inside one folder.
    let r = sp(&p.at("assets"), &["add", "*.png", "-y"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(p.paths(&[]), ["assets/top.png", "assets/ui/button.png", "assets/ui/icons/close.png"]);
    // Nothing left to add there: said, and nothing is asked of the packer.
    let r = p.sp(&["add", "assets/ui/**/*.png", "--yes"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(r.out, "nothing to add\n");
    assert!(r.err.contains("nothing to add for `assets/ui/**/*.png`"), "{r:?}");
}

#[test]
fn without_a_terminal_and_without_yes_nothing_is_applied() {
    let p = Project::init();
    p.write("assets/a.txt", b"a");
    let before = std::fs::read_to_string(p.at("packer.registry.jsonl")).unwrap();
    let r = p.sp(&["add", "assets"]);
    assert_eq!(r.code, 3, "{r:?}");
    assert!(r.out.starts_with("registry:\n  + assets/a.txt (text)\n"), "{r:?}");
    assert_eq!(r.err, "not applied: no terminal to ask on; run it again with --yes to apply\n");
    assert_eq!(std::fs::read_to_string(p.at("packer.registry.jsonl")).unwrap(), before);
    assert!(p.events().is_empty());
}

/// A pseudo-terminal: (the side a person types on, the side a program sees).
fn pty() -> (std::fs::File, std::os::fd::OwnedFd) {
    use std::os::fd::FromRawFd;
    let (mut master, mut slave) = (0, 0);
    // SAFETY: openpty writes two new descriptors, which are owned from here on.
    let rc =
        unsafe { libc::openpty(&mut master, &mut slave, std::ptr::null_mut(), std::ptr::null(), std::ptr::null()) };
    assert_eq!(rc, 0, "openpty: {}", std::io::Error::last_os_error());
    // SAFETY: both descriptors were just opened and nothing else owns them.
    unsafe { (std::fs::File::from_raw_fd(master), std::os::fd::OwnedFd::from_raw_fd(slave)) }
}

/// `studio-packer ARGS` in `cwd` with its stdin and stderr on a terminal,
/// once it has asked its question: the terminal, and the process.
fn asking(cwd: &Path, args: &[&str]) -> (std::fs::File, std::process::Child) {
    use std::io::Read;
    let (mut terminal, seen_by_program) = pty();
    let child = Command::new(BIN)
        .args(args)
        .current_dir(cwd)
        .stdin(Stdio::from(seen_by_program.try_clone().unwrap()))
        .stderr(Stdio::from(seen_by_program))
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut said = Vec::new();
    let mut buf = [0u8; 256];
    while !String::from_utf8_lossy(&said).contains("Apply? [y/N] ") {
        let n = terminal.read(&mut buf).expect("the question on the terminal");
        assert!(n > 0, "the terminal closed: {}", String::from_utf8_lossy(&said));
        said.extend_from_slice(&buf[..n]);
    }
    (terminal, child)
}

/// What a program wrote on the terminal after the question, once it exited.
fn rest_of(mut terminal: std::fs::File) -> String {
    use std::io::Read;
    let mut said = Vec::new();
    let mut buf = [0u8; 1024];
    // Once the program has exited, reading the terminal ends (EIO on Linux).
    while let Ok(n @ 1..) = terminal.read(&mut buf) {
        said.extend_from_slice(&buf[..n]);
    }
    String::from_utf8_lossy(&said).replace("\r\n", "\n")
}

#[test]
fn on_a_terminal_it_asks_before_applying() {
    use std::io::Write;
    let p = Project::init();
    p.write("assets/a.txt", b"a");
    for (answer, code, assets) in [("n\n", 3, 0), ("y\n", 0, 1)] {
        let (mut terminal, child) = asking(&p.root, &["add", "assets"]);
        terminal.write_all(answer.as_bytes()).unwrap();
        let out = child.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(code), "{}", String::from_utf8_lossy(&out.stdout));
        assert!(String::from_utf8_lossy(&out.stdout).starts_with("registry:\n  + assets/a.txt (text)\n"));
        assert_eq!(p.paths(&[]).len(), assets);
    }
}

#[test]
fn a_change_made_while_a_person_reads_the_preview_is_refused() {
    use std::io::Write;
    let p = Project::init();
    p.write("assets/a.txt", b"a");
    p.write("other/b.txt", b"b");
    let (mut terminal, child) = asking(&p.root, &["add", "assets"]);
    // Meanwhile another process changes the project, through the same packer.
    let r = p.sp(&["add", "other/b.txt", "--yes"]);
    assert_eq!(r.code, 0, "{r:?}");
    let generation = r.out.lines().last().unwrap().rsplit(' ').next().unwrap().to_string();
    terminal.write_all(b"y\n").unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stdout));
    let said = rest_of(terminal);
    assert!(
        said.ends_with(&format!(
            "error[staleGeneration]: expected generation {}, but the project is at generation {generation}\n\
             rejected: nothing was changed (generation {generation})\n\
             the project changed after the preview: run the command again to see what it would do now\n",
            generation.parse::<u64>().unwrap() - 1
        )),
        "{said:?}"
    );
    assert_eq!(p.paths(&[]), ["other/b.txt"]);
}

#[test]
fn a_blocked_change_exits_1_naming_the_blocker() {
    let p = Project::init();
    p.write("assets/a.txt", b"a");
    p.write("assets/b.txt", b"b");
    assert_eq!(p.sp(&["add", "assets", "--yes"]).code, 0);
    let b = p.id_of("assets/b.txt");
    let r = p.sp(&["mv", "assets/a.txt", "assets/b.txt", "--yes"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert_eq!(
        r.err,
        format!(
            "error[targetExists]: assets/b.txt: `assets/b.txt` is already the path of asset `{b}`\n\
             blocked: nothing was changed\n"
        )
    );
    assert!(r.out.contains("1 blocker(s)"), "{r:?}");
    let r = p.sp(&["add", "assets/gone.txt", "--yes"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.err.starts_with("error[notFound]: assets/gone.txt: there is no file at `assets/gone.txt`\n"), "{r:?}");
    assert_eq!(p.paths(&[]), ["assets/a.txt", "assets/b.txt"]);
}

#[test]
fn bad_input_is_named() {
    let p = Project::init();
    p.write("assets/a.txt", b"a");
    let r = p.sp(&["show", "nope"]);
    assert_eq!(r.code, 2, "{r:?}");
    assert_eq!(
        r.err,
        format!(
            "error: no asset `nope` in the project at {}: no asset has this id, and none is registered at `nope`\n",
            p.root.display()
        )
    );
    let r = sp(&p.at("assets"), &["rm", "a.txt", "--yes"]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.err.contains("none is registered at `assets/a.txt` or `a.txt`"), "{r:?}");
    let r = p.sp(&["add", "../elsewhere.txt"]);
    assert_eq!(r.code, 2, "{r:?}");
    assert_eq!(r.err, format!("error: `../elsewhere.txt` is outside the project at {}\n", p.root.display()));

    let nowhere = tempfile::tempdir().unwrap();
    let nowhere = nowhere.path().canonicalize().unwrap();
    let r = sp(&nowhere, &["ls"]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(
        r.err.starts_with(&format!(
            "error: no packer project here: no packer.toml in {} or in any folder above it",
            nowhere.display()
        )),
        "{r:?}"
    );
    // --root names the project from anywhere; paths are then the project's.
    let r = sp(&nowhere, &["add", "assets/a.txt", "--root", p.root.to_str().unwrap(), "--yes"]);
    assert_eq!(r.code, 0, "{r:?}");
    let r = sp(&nowhere, &["ls", "--root", p.root.to_str().unwrap()]);
    assert!(r.out.ends_with("  text    ok        assets/a.txt\n"), "{r:?}");
    // ... or relative to the current folder, when they lead into the project from there.
    let r = sp(p.root.parent().unwrap(), &["show", "game/assets/a.txt", "--root", "game"]);
    assert!(r.out.starts_with("assets/a.txt\n"), "{r:?}");
}

#[test]
fn reconcile_adopts_what_changed_behind_the_packers_back() {
    let p = Project::init();
    p.write("assets/a.txt", b"one");
    assert_eq!(p.sp(&["add", "assets", "--yes"]).code, 0);
    p.write("assets/a.txt", b"two");
    p.write("assets/new.txt", b"new");
    let r = p.sp(&["reconcile"]);
    assert_eq!(r.code, 3, "{r:?}");
    let r = p.sp(&["reconcile", "--yes"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(section(&r.out, "resolutions:"), ["modified assets/a.txt: adopt", "untracked assets/new.txt: register"]);
    assert_eq!(section(&r.out, "registry:"), ["+ assets/new.txt (text)", "~ assets/a.txt (content)"]);
    assert!(r.out.contains(": 2 registry change(s), 1 file step(s), 2 resolution(s), 0 blocker(s), 0 warning(s)\n"));
    let show = p.sp(&["show", "assets/a.txt", "--json"]);
    let a: Value = serde_json::from_str(&show.out).unwrap();
    assert_eq!(a["status"], "ok");
    assert_eq!(a["size"], 3);
    // Clean now: the packer says there is nothing to do.
    let r = p.sp(&["reconcile", "--yes"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(r.err, "warning[noChange]: the project is clean: nothing to reconcile\n");
    assert!(r.out.ends_with("nothing to change\n"), "{r:?}");
}

#[test]
fn events_follow_prints_an_apply_made_by_another_process() {
    let p = Project::init();
    p.write("assets/a.txt", b"a");
    assert_eq!(p.sp(&["add", "assets", "--yes"]).code, 0);
    let mut follow = Command::new(BIN)
        .args(["events", "--follow", "--root", p.root.to_str().unwrap()])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, lines) = mpsc::channel::<(bool, String)>();
    let err_tx = tx.clone();
    let stdout = follow.stdout.take().unwrap();
    let stderr = follow.stderr.take().unwrap();
    std::thread::spawn(move || {
        BufReader::new(stdout).lines().map_while(Result::ok).try_for_each(|l| tx.send((true, l)))
    });
    std::thread::spawn(move || {
        BufReader::new(stderr).lines().map_while(Result::ok).try_for_each(|l| err_tx.send((false, l)))
    });
    let next = |what: &str| {
        lines.recv_timeout(Duration::from_secs(60)).unwrap_or_else(|_| panic!("no line while waiting for {what}"))
    };
    let (on_stdout, ready) = next("the follow to start");
    assert!(!on_stdout && ready.starts_with("following the events of "), "{ready}");

    // Another process applies a change: it goes through the follower's packer.
    let r = p.sp(&["rm", "assets/a.txt", "--yes"]);
    assert_eq!(r.code, 0, "{r:?}");
    let op = applied_op(&r);
    let mut seen = Vec::new();
    while !seen.last().is_some_and(|l: &String| l.contains(" succeeded ")) {
        let (on_stdout, line) = next("the apply's events");
        if on_stdout && line.contains(&op) {
            seen.push(line);
        }
    }
    follow.kill().unwrap();
    follow.wait().unwrap();
    let first: u64 = seen[0].split(' ').next().unwrap().parse().unwrap();
    let generation = r.out.lines().last().unwrap().rsplit(' ').next().unwrap().to_string();
    assert_eq!(
        seen,
        [
            format!("{first} {op} queued applyMutation"),
            format!("{} {op} started", first + 1),
            format!("{} {op} snapshotPublished generation {generation}", first + 2),
            format!("{} {op} succeeded applied, generation {generation}", first + 3),
        ]
    );
}

#[test]
fn ten_thousand_files_are_added_in_one_go() {
    let p = Project::init();
    for i in 0..10_000 {
        p.write(&format!("assets/many/{:02}/f{i:05}.txt", i % 100), i.to_string().as_bytes());
    }
    let r = sp(&p.at("assets"), &["add", "many", "--yes"]);
    assert_eq!(r.code, 0, "{}", r.err);
    assert!(
        r.out.contains("\n  … and 9000 more registry changes (the packer listed 1000 of 10000)\n"),
        "{}",
        &r.out[r.out.len().saturating_sub(500)..]
    );
    assert!(r.out.contains(": 10000 registry change(s), 1 file step(s)"));
    assert_eq!(p.ls_json(&["--prefix", "assets/many/"]).len(), 10_000);
    let status = p.sp(&["status", ".", "--json"]);
    let summary: Value = serde_json::from_str(&status.out).unwrap();
    assert_eq!(summary["assets"]["total"], 10_000);
    assert_eq!(summary["divergence"]["state"], "clean");
}
