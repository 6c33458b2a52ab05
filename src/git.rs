//! What the packer does for git: the registry's merge driver (git runs
//! `studio-packer merge-registry %O %A %B %P` for `packer.registry.jsonl`)
//! and `git-setup`, which tells a repository to use it.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::project::format::merge;
use crate::project::format::registry::{self, Conflict};
use crate::project::model::Entry;

/// The name of the merge driver in `.gitattributes` and git's config.
pub const DRIVER: &str = "studio-packer-registry";

/// How a merge ended, as git wants to hear it.
#[derive(Debug)]
pub enum MergeOutcome {
    /// Merged; `ours` holds the result (exit 0).
    Clean { entries: usize },
    /// Merged with conflicts recorded in `ours` (exit 1: git reports a conflict).
    Conflicts(Vec<Conflict>),
}

/// Reads one of git's three versions: a missing or empty file is an empty
/// registry (no common ancestor, or a side that deleted the file).
fn read_side(path: &Path, shown_as: &str) -> Result<Vec<Entry>, String> {
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(format!("{shown_as}: {e}")),
    };
    let registry::Parsed { entries, conflicts } = registry::parse_bytes(&bytes, shown_as).map_err(|e| e.to_string())?;
    if !conflicts.is_empty() {
        return Err(format!(
            "{shown_as} holds {} unresolved conflict(s) from an earlier merge: resolve them first",
            conflicts.len()
        ));
    }
    Ok(entries)
}

/// The merge driver: merges `theirs` into `ours` (whose file receives the
/// result, atomically), both descended from `base`. `name` is the
/// registry's path in the repository (git's `%P`), for messages. An error
/// leaves `ours` as it was.
pub fn merge_registry(base: &Path, ours: &Path, theirs: &Path, name: &str) -> Result<MergeOutcome, String> {
    let b = read_side(base, &format!("{name} (the common ancestor)"))?;
    let o = read_side(ours, &format!("{name} (ours)"))?;
    let t = read_side(theirs, &format!("{name} (theirs)"))?;
    let merged = merge::merge(&b, &o, &t);
    let text = registry::render_merged(&merged.entries, &merged.conflicts);
    crate::fsutil::write_atomic(ours, text.as_bytes()).map_err(|e| format!("writing {}: {e}", ours.display()))?;
    Ok(if merged.conflicts.is_empty() {
        MergeOutcome::Clean { entries: merged.entries.len() }
    } else {
        MergeOutcome::Conflicts(merged.conflicts)
    })
}

fn git(dir: &Path, args: &[&str]) -> Result<String, String> {
    let out = Command::new("git").arg("-C").arg(dir).args(args).output().map_err(|e| format!("cannot run git: {e}"))?;
    if !out.status.success() {
        return Err(format!("git {}: {}", args.join(" "), String::from_utf8_lossy(&out.stderr).trim()));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// What `git-setup` did.
#[derive(Debug)]
pub struct Setup {
    pub repository: PathBuf,
    pub attributes_added: bool,
    /// Each hook asked for, and what became of it.
    pub hooks: Vec<(&'static str, Hook)>,
}

/// What `git-setup` did with one hook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Hook {
    /// Written, or this project's line added to our hook.
    Installed,
    /// This project's line was there already.
    Present,
    /// A hook that is not ours is there: left alone; the line to add by hand.
    Foreign { path: PathBuf, line: String },
}

/// The second line of every hook `git-setup` writes: how it knows its own.
const HOOK_MARK: &str = "# Installed by studio-packer git-setup";

/// The hooks after which git has changed the work tree: a running packer
/// is asked to look at the project at once (`vcs` with no command).
const LOOK_HOOKS: [&str; 3] = ["post-checkout", "post-merge", "post-rewrite"];

/// A path or program as one word of a POSIX shell.
fn shell_word(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// Adds `line` to the hook `name` in `hooks_dir`: creates the hook (as
/// ours, executable) when there is none, adds the line to ours, and never
/// changes a hook someone else wrote.
fn install_hook(hooks_dir: &Path, name: &'static str, line: &str) -> Result<Hook, String> {
    use std::os::unix::fs::PermissionsExt;
    let path = hooks_dir.join(name);
    let existing = match std::fs::read_to_string(&path) {
        Ok(t) => Some(t),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(format!("{}: {e}", path.display())),
    };
    let text = match existing {
        Some(t) if !t.lines().any(|l| l.starts_with(HOOK_MARK)) => {
            return Ok(Hook::Foreign { path, line: line.to_string() });
        }
        Some(t) if t.lines().any(|l| l == line) => return Ok(Hook::Present),
        Some(mut t) => {
            if !t.ends_with('\n') {
                t.push('\n');
            }
            t + line + "\n"
        }
        None => format!("#!/bin/sh\n{HOOK_MARK}: one line per project.\n{line}\n"),
    };
    std::fs::create_dir_all(hooks_dir).map_err(|e| format!("{}: {e}", hooks_dir.display()))?;
    crate::fsutil::write_atomic(&path, text.as_bytes()).map_err(|e| format!("{}: {e}", path.display()))?;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))
        .map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(Hook::Installed)
}

/// Tells the repository holding the project at `root` to merge its
/// registry with this binary: a line in the project's `.gitattributes`
/// (added once; attributes apply to their folder and below, so nothing
/// outside the project is written) and the driver in the repository's
/// local config (through git, never the user's config).
///
/// Also installs the `post-checkout`, `post-merge` and `post-rewrite`
/// hooks (which never fail: a packer that does not run, or does not
/// answer, changes nothing for git) and, with `pre_commit`, a pre-commit
/// hook that runs `check` on the project and stops a commit it finds
/// problems in.
pub fn setup(root: &Path, pre_commit: bool) -> Result<Setup, String> {
    let top = PathBuf::from(git(root, &["rev-parse", "--show-toplevel"])?);
    let exe = std::env::current_exe().map_err(|e| format!("cannot find this program's path: {e}"))?;
    let exe = exe.to_str().ok_or("this program's path is not UTF-8")?;
    // git runs the driver through the shell: quoted as one word.
    let quoted = shell_word(exe);
    git(&top, &["config", "--local", &format!("merge.{DRIVER}.name"), "studio-packer: registries merged by asset id"])?;
    git(
        &top,
        &["config", "--local", &format!("merge.{DRIVER}.driver"), &format!("{quoted} merge-registry %O %A %B %P")],
    )?;
    let attributes = root.join(".gitattributes");
    let line = format!("{} merge={DRIVER}", registry::REGISTRY_FILE);
    let existing = match std::fs::read_to_string(&attributes) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(format!("{}: {e}", attributes.display())),
    };
    let attributes_added = !existing.lines().any(|l| l.trim() == line);
    if attributes_added {
        let mut text = existing;
        if !text.is_empty() && !text.ends_with('\n') {
            text.push('\n');
        }
        text.push_str(&line);
        text.push('\n');
        crate::fsutil::write_atomic(&attributes, text.as_bytes())
            .map_err(|e| format!("{}: {e}", attributes.display()))?;
    }
    let canonical = root.canonicalize().map_err(|e| format!("{}: {e}", root.display()))?;
    let project = shell_word(canonical.to_str().ok_or("the project's path is not UTF-8")?);
    // `--git-path` follows core.hooksPath and linked work trees.
    let hooks_dir = PathBuf::from(git(root, &["rev-parse", "--git-path", "hooks"])?);
    let hooks_dir = if hooks_dir.is_absolute() { hooks_dir } else { root.join(hooks_dir) };
    let mut hooks = Vec::new();
    let look = format!("{quoted} vcs --quiet --root {project} </dev/null >/dev/null 2>&1 || true");
    for name in LOOK_HOOKS {
        hooks.push((name, install_hook(&hooks_dir, name, &look)?));
    }
    if pre_commit {
        // Checks the work tree (what `git add -A` would commit). A packer
        // that is gone (moved, uninstalled) does not block every commit.
        let check = format!("if [ -x {quoted} ]; then {quoted} check {project} || exit 1; fi");
        hooks.push(("pre-commit", install_hook(&hooks_dir, "pre-commit", &check)?));
    }
    Ok(Setup { repository: top, attributes_added, hooks })
}

/// Whether `dir` is inside a git work tree.
pub fn in_repository(dir: &Path) -> bool {
    git(dir, &["rev-parse", "--is-inside-work-tree"]).is_ok_and(|s| s == "true")
}
