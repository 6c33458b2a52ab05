//! Putting a build's packs in place together.
//!
//! A build that changes several packs stages each one, whole and synced, as a
//! temporary file beside its target. Renaming them one by one is not atomic
//! as a set: a crash between two renames would leave a new pack beside an old
//! one of the same build. So before the first rename, the list of renames is
//! written (atomically) to `.packer/build-commit.json`; that write is the
//! build's commit point. Once the build's terminal event is journaled, after
//! the last rename, the file is removed. Opening
//! a project with the file still there finishes the renames whose temporary
//! file still exists ([`finish`]): every staged pack is whole, so rolling
//! forward is always safe, and the game then finds one build's packs.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::project::disk::sandbox::{Entry, Sandbox};
use crate::project::model::paths;

pub const COMMIT_FILE: &str = "build-commit.json";

/// The renames that put one build's packs in place.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Commit {
    pub operation_id: String,
    /// The output folder, relative to the project root.
    pub output: String,
    /// `(temporary file name, pack file name)`, both in `output`.
    pub renames: Vec<(String, String)>,
}

/// Records the renames durably: the build's commit point.
pub fn write(state_dir: &Path, commit: &Commit) -> std::io::Result<()> {
    crate::project::disk::state::create_dir_all(state_dir)?;
    let text = serde_json::to_vec_pretty(commit).map_err(std::io::Error::other)?;
    crate::fsutil::write_atomic_new_mode(&state_dir.join(COMMIT_FILE), &text, crate::project::disk::state::FILE_MODE)
}

/// Forgets the renames once all are done (or abandoned).
pub fn clear(state_dir: &Path) {
    let path = state_dir.join(COMMIT_FILE);
    if std::fs::remove_file(&path).is_ok() {
        let _ = crate::fsutil::sync_dir(state_dir);
    }
}

/// What [`finish`] did with a build a dead process left half in place.
#[derive(Debug)]
pub struct Finished {
    pub operation_id: String,
    /// Renames done now (the others had been done before the crash).
    pub renamed: usize,
    /// Renames that could not be done, with why; those packs are the old ones.
    pub problems: Vec<String>,
}

/// Finishes the renames of an interrupted build commit, if there is one,
/// through the project's sandbox (the record is a file under `.packer/`;
/// whatever it says, nothing outside the root is touched).
pub fn finish(sandbox: &Sandbox, state_dir: &Path) -> Option<Finished> {
    let path = state_dir.join(COMMIT_FILE);
    let bytes = std::fs::read(&path).ok()?;
    let commit: Commit = match serde_json::from_slice(&bytes) {
        Ok(c) => c,
        Err(e) => {
            // Written atomically, so this is not a torn write: someone
            // edited it. Nothing is renamed on its say-so.
            tracing::error!(error = %e, "ignoring an unreadable {COMMIT_FILE}");
            clear(state_dir);
            return None;
        }
    };
    let mut done = Finished { operation_id: commit.operation_id.clone(), renamed: 0, problems: Vec::new() };
    let output = match paths::normalize(&commit.output) {
        Ok(o) => o,
        Err(e) => {
            done.problems.push(format!("output folder: {}", e.message));
            clear(state_dir);
            return Some(done);
        }
    };
    for (tmp, pack) in &commit.renames {
        let plain = |n: &str| !n.is_empty() && !n.contains('/') && n != "." && n != "..";
        if !plain(tmp) || !plain(pack) || !tmp.starts_with(crate::fsutil::TEMP_PREFIX) {
            done.problems.push(format!("`{tmp}` -> `{pack}` is not a rename inside the output folder"));
            continue;
        }
        let from = format!("{output}/{tmp}");
        match sandbox.entry(&from) {
            Ok(Some(Entry::File)) => {}
            _ => continue, // renamed before the crash
        }
        match sandbox.rename(&from, &format!("{output}/{pack}"), true) {
            Ok(()) => done.renamed += 1,
            Err(e) => done.problems.push(format!("renaming `{tmp}` to `{pack}`: {}", std::io::Error::from(e))),
        }
    }
    clear(state_dir);
    Some(done)
}
