//! What the packer does for git: the registry's merge driver (git runs
//! `studio-packer merge-registry %O %A %B %P` for `packer.registry.jsonl`)
//! and `git-setup`, which tells a repository to use it.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::project::merge::{self, Conflict};
use crate::project::registry::{self, Entry};

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
}

/// Tells the repository holding the project at `root` to merge its
/// registry with this binary: a line in the project's `.gitattributes`
/// (added once; attributes apply to their folder and below, so nothing
/// outside the project is written) and the driver in the repository's
/// local config (through git, never the user's config).
pub fn setup(root: &Path) -> Result<Setup, String> {
    let top = PathBuf::from(git(root, &["rev-parse", "--show-toplevel"])?);
    let exe = std::env::current_exe().map_err(|e| format!("cannot find this program's path: {e}"))?;
    let exe = exe.to_str().ok_or("this program's path is not UTF-8")?;
    // git runs the driver through the shell: quoted as one word.
    let quoted = format!("'{}'", exe.replace('\'', r"'\''"));
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
    Ok(Setup { repository: top, attributes_added })
}

/// Whether `dir` is inside a git work tree.
pub fn in_repository(dir: &Path) -> bool {
    git(dir, &["rev-parse", "--is-inside-work-tree"]).is_ok_and(|s| s == "true")
}
