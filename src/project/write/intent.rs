//! The intent record: what an apply is about to do, written (and synced)
//! before its first step and removed after its commit. A process that dies
//! in between leaves it behind, and the next open settles it: the registry
//! file tells whether the commit point was reached. Reached: the apply
//! happened, and only its trash is emptied. Not reached: every file step
//! that was done is undone. Either way the outcome is announced, not guessed.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::project::disk::sandbox::{Entry, Sandbox};
use crate::project::format::registry;

const INTENT_FILE: &str = "intent.json";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "camelCase")]
pub enum IntentStep {
    Move {
        from: String,
        to: String,
    },
    /// The k-th delete of the apply parks its file at `trash/<operation>/<k>`.
    Delete {
        path: String,
        parked: u32,
    },
    WriteManifest {
        before: String,
        after_hash: String,
    },
    /// An asset's file written again with references changed: its old
    /// bytes are parked at `trash/<operation>/<parked>` (numbered with the
    /// deletes), the new ones written at `<parked>.new` and renamed over it.
    #[serde(rename_all = "camelCase")]
    Rewrite {
        path: String,
        parked: u32,
        before_hash: String,
        after_hash: String,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Intent {
    pub operation_id: String,
    pub registry_before: String,
    pub registry_after: String,
    pub steps: Vec<IntentStep>,
}

/// Records an intent durably (temp file, fsync, rename, fsync of the folder).
pub fn write(state_dir: &Path, intent: &Intent) -> std::io::Result<()> {
    let bytes = serde_json::to_vec(intent).expect("an intent serialises");
    crate::fsutil::write_atomic_new_mode(&state_dir.join(INTENT_FILE), &bytes, crate::project::disk::state::FILE_MODE)
}

pub fn clear(state_dir: &Path) {
    let path = state_dir.join(INTENT_FILE);
    if let Err(e) = std::fs::remove_file(&path) {
        if e.kind() != std::io::ErrorKind::NotFound {
            tracing::warn!(error = %e, "cannot remove the intent record");
        }
    }
}

/// The trash folder of an apply, relative to the project root: its k-th
/// delete parks the file at `<trash>/<k>`.
pub fn trash_rel(operation_id: &str) -> String {
    format!("{}/trash/{operation_id}", crate::project::disk::state::STATE_DIR)
}

/// Moves an apply's trash (which open empties) into
/// `.packer/recovered/<operation>/`, durably. Answers where it went, or
/// `None` when the apply had parked nothing.
pub fn keep_trash_of(state_dir: &Path, operation: &str) -> std::io::Result<Option<std::path::PathBuf>> {
    let trash = state_dir.join("trash");
    let from = trash.join(operation);
    if std::fs::symlink_metadata(&from).is_err() {
        return Ok(None);
    }
    let recovered = state_dir.join("recovered");
    crate::project::disk::state::create_dir_all(&recovered)?;
    let to = recovered.join(operation);
    std::fs::rename(&from, &to)?;
    crate::fsutil::sync_dir(&recovered)?;
    crate::fsutil::sync_dir(&trash)?;
    Ok(Some(to))
}

/// Moves the whole trash (which open empties) into `.packer/recovered/`,
/// when no readable intent says whose it is.
fn keep_all_trash(state_dir: &Path) {
    let recovered = state_dir.join("recovered");
    let _ = crate::project::disk::state::create_dir_all(&recovered);
    let from = state_dir.join("trash");
    if from.exists() {
        let _ = std::fs::rename(&from, recovered.join(format!("trash-{}", std::process::id())));
    }
}

/// What settling a left-over intent did.
#[derive(Debug, Clone, PartialEq)]
pub struct Settled {
    pub operation_id: String,
    pub committed: bool,
    /// Steps undone (not committed) or finished (committed).
    pub steps: usize,
    pub problems: Vec<String>,
}

/// Settles the intent a dead process left, if any. Runs on open, before
/// anything reads the registry or the files.
pub fn settle(sandbox: &Sandbox, state_dir: &Path) -> Option<Settled> {
    let root = sandbox.path();
    let text = std::fs::read(state_dir.join(INTENT_FILE)).ok()?;
    // The operation id names folders under `.packer/`: only a real one.
    let parsed = serde_json::from_slice::<Intent>(&text).ok().filter(|i| crate::ids::is_operation_id(&i.operation_id));
    let Some(intent) = parsed else {
        // Kept aside (the next apply writes a new intent), with the trash it may name.
        let aside = state_dir.join(format!("intent.unreadable.{}.json", std::process::id()));
        let _ = std::fs::rename(state_dir.join(INTENT_FILE), &aside);
        keep_all_trash(state_dir);
        tracing::error!(kept = %aside.display(), "the intent record is unreadable; kept aside with the trash for a person to look at");
        return None;
    };
    let registry_now = registry::content_hash(&std::fs::read(root.join(registry::REGISTRY_FILE)).unwrap_or_default());
    // The commit point is the registry write; an apply that changes no
    // registry (it only rewrites the manifest) has its manifest write as
    // its last step and commit point.
    let manifest_now = || {
        registry::content_hash(
            &std::fs::read(root.join(crate::project::format::manifest::MANIFEST_FILE)).unwrap_or_default(),
        )
    };
    let committed = if intent.registry_after != intent.registry_before {
        registry_now == intent.registry_after
    } else {
        let mut writes = intent
            .steps
            .iter()
            .filter_map(|s| match s {
                IntentStep::WriteManifest { after_hash, .. } => Some(after_hash),
                _ => None,
            })
            .peekable();
        writes.peek().is_some() && writes.all(|h| *h == manifest_now())
    };
    let trash = state_dir.join("trash").join(&intent.operation_id);
    let trash_rel = trash_rel(&intent.operation_id);
    let mut problems = Vec::new();
    let mut steps = 0;
    // Undo a rename when its source is still a file and its target free;
    // through the sandbox, so an edited intent cannot reach outside the root.
    let undo = |src: &str, dst: &str| -> std::io::Result<bool> {
        if sandbox.entry(src)? != Some(Entry::File) || sandbox.entry(dst)?.is_some() {
            return Ok(false);
        }
        sandbox.create_parent_dirs(dst)?;
        sandbox.rename(src, dst, false).map(|()| true).map_err(Into::into)
    };
    if committed {
        // Moves are done; deletes only need their parked files gone.
        steps = intent.steps.len();
        let _ = std::fs::remove_dir_all(&trash);
    } else {
        for step in intent.steps.iter().rev() {
            let undone = match step {
                IntentStep::Move { from, to } => undo(to, from),
                IntentStep::Delete { path, parked } => undo(&format!("{trash_rel}/{parked}"), path),
                IntentStep::Rewrite { path, parked, before_hash, after_hash } => {
                    let parked = format!("{trash_rel}/{parked}");
                    // New bytes not yet renamed over the file: never used.
                    let _ = sandbox.remove_file(&format!("{parked}.new"));
                    let now = sandbox.read(path).map(|b| registry::content_hash(&b));
                    match (sandbox.entry(&parked), now) {
                        (Ok(Some(Entry::File)), Ok(now)) if now == *after_hash => {
                            sandbox.rename(&parked, path, true).map(|()| true).map_err(Into::into)
                        }
                        // Never written over: the parked copy is not needed.
                        (Ok(Some(Entry::File)), Ok(now)) if now == *before_hash => {
                            sandbox.remove_file(&parked).map(|()| false)
                        }
                        // Anything else is someone's: the parked bytes are kept aside.
                        _ => Ok(false),
                    }
                }
                IntentStep::WriteManifest { before, after_hash } => {
                    let path = root.join(crate::project::format::manifest::MANIFEST_FILE);
                    let now = registry::content_hash(&std::fs::read(&path).unwrap_or_default());
                    if &now == after_hash {
                        crate::fsutil::write_atomic(&path, before.as_bytes()).map(|()| true)
                    } else {
                        Ok(false)
                    }
                }
            };
            match undone {
                Ok(true) => steps += 1,
                Ok(false) => {}
                Err(e) => problems.push(format!("{step:?}: {e}")),
            }
        }
        // Never delete a file that was neither restored nor committed as
        // deleted: whatever is still parked is kept aside for a person.
        if std::fs::read_dir(&trash).is_ok_and(|mut d| d.next().is_some()) {
            // Left in the trash if the move fails: open keeps the trash
            // when settling had problems.
            let kept = keep_trash_of(state_dir, &intent.operation_id).ok().flatten().unwrap_or(trash.clone());
            problems.push(format!("files that could not be put back are kept in {}", kept.display()));
        } else {
            let _ = std::fs::remove_dir_all(&trash);
        }
    }
    clear(state_dir);
    Some(Settled { operation_id: intent.operation_id, committed, steps, problems })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setup() -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join(".packer");
        std::fs::create_dir_all(state.join("trash/op-1")).unwrap();
        std::fs::write(dir.path().join(registry::REGISTRY_FILE), "before").unwrap();
        (dir, state)
    }

    fn intent(steps: Vec<IntentStep>) -> Intent {
        Intent {
            operation_id: "op-1".into(),
            registry_before: registry::content_hash(b"before"),
            registry_after: registry::content_hash(b"after"),
            steps,
        }
    }

    #[test]
    fn an_uncommitted_apply_is_undone() {
        let (dir, state) = setup();
        std::fs::create_dir_all(dir.path().join("assets/new")).unwrap();
        std::fs::write(dir.path().join("assets/new/a.txt"), "a").unwrap();
        std::fs::write(state.join("trash/op-1/0"), "b").unwrap();
        let steps = vec![
            IntentStep::Move { from: "assets/a.txt".into(), to: "assets/new/a.txt".into() },
            IntentStep::Delete { path: "assets/b.txt".into(), parked: 0 },
        ];
        write(&state, &intent(steps)).unwrap();
        let s = settle(&Sandbox::open(&dir.path().canonicalize().unwrap()).unwrap(), &state).unwrap();
        assert!(!s.committed);
        assert_eq!(s.steps, 2);
        assert!(s.problems.is_empty());
        assert_eq!(std::fs::read(dir.path().join("assets/a.txt")).unwrap(), b"a");
        assert_eq!(std::fs::read(dir.path().join("assets/b.txt")).unwrap(), b"b");
        assert!(!state.join(INTENT_FILE).exists());
    }

    #[test]
    fn a_committed_apply_is_finished() {
        let (dir, state) = setup();
        std::fs::write(dir.path().join(registry::REGISTRY_FILE), "after").unwrap();
        std::fs::write(state.join("trash/op-1/0"), "b").unwrap();
        write(&state, &intent(vec![IntentStep::Delete { path: "assets/b.txt".into(), parked: 0 }])).unwrap();
        let s = settle(&Sandbox::open(&dir.path().canonicalize().unwrap()).unwrap(), &state).unwrap();
        assert!(s.committed);
        assert!(!dir.path().join("assets/b.txt").exists());
        assert!(!state.join("trash/op-1").exists());
    }

    #[test]
    fn a_manifest_only_apply_whose_manifest_was_written_is_committed() {
        let (dir, state) = setup();
        std::fs::write(dir.path().join("packer.toml"), "after").unwrap();
        let steps =
            vec![IntentStep::WriteManifest { before: "before".into(), after_hash: registry::content_hash(b"after") }];
        let same = Intent { registry_after: registry::content_hash(b"before"), ..intent(steps) };
        write(&state, &same).unwrap();
        let s = settle(&Sandbox::open(&dir.path().canonicalize().unwrap()).unwrap(), &state).unwrap();
        assert!(s.committed, "{s:?}");
        assert_eq!(std::fs::read(dir.path().join("packer.toml")).unwrap(), b"after");
    }

    #[test]
    fn an_uncommitted_rewrite_is_put_back_and_one_never_written_leaves_the_file_alone() {
        let (dir, state) = setup();
        std::fs::create_dir_all(dir.path().join("assets")).unwrap();
        // a.json was written over; b.json's new bytes were never renamed over it;
        // c.json was changed by someone else since.
        for (name, now, parked) in [("a", "new a", "old a"), ("b", "old b", "old b"), ("c", "theirs", "old c")] {
            std::fs::write(dir.path().join(format!("assets/{name}.json")), now).unwrap();
            let k = (name.as_bytes()[0] - b'a') as u32;
            std::fs::write(state.join(format!("trash/op-1/{k}")), parked).unwrap();
        }
        std::fs::write(state.join("trash/op-1/1.new"), "new b").unwrap();
        let step = |name: &str, parked: u32| IntentStep::Rewrite {
            path: format!("assets/{name}.json"),
            parked,
            before_hash: registry::content_hash(format!("old {name}").as_bytes()),
            after_hash: registry::content_hash(format!("new {name}").as_bytes()),
        };
        write(&state, &intent(vec![step("a", 0), step("b", 1), step("c", 2)])).unwrap();
        let s = settle(&Sandbox::open(&dir.path().canonicalize().unwrap()).unwrap(), &state).unwrap();
        assert!(!s.committed);
        assert_eq!(s.steps, 1, "{s:?}");
        let read = |name: &str| std::fs::read_to_string(dir.path().join(format!("assets/{name}.json"))).unwrap();
        assert_eq!((read("a"), read("b"), read("c")), ("old a".into(), "old b".into(), "theirs".into()));
        // Only what could not be settled is kept, for a person to look at.
        assert_eq!(std::fs::read_to_string(state.join("recovered/op-1/2")).unwrap(), "old c");
        assert!(!state.join("recovered/op-1/1.new").exists() && !state.join("recovered/op-1/1").exists());
        assert_eq!(s.problems.len(), 1, "{:?}", s.problems);
    }

    #[test]
    fn a_parked_file_that_cannot_go_back_is_kept_not_deleted() {
        let (dir, state) = setup();
        std::fs::create_dir_all(dir.path().join("assets")).unwrap();
        std::fs::write(dir.path().join("assets/b.txt"), "someone else's new file").unwrap();
        std::fs::write(state.join("trash/op-1/0"), "the deleted asset").unwrap();
        write(&state, &intent(vec![IntentStep::Delete { path: "assets/b.txt".into(), parked: 0 }])).unwrap();
        let s = settle(&Sandbox::open(&dir.path().canonicalize().unwrap()).unwrap(), &state).unwrap();
        assert_eq!(s.problems.len(), 1, "{:?}", s.problems);
        assert_eq!(std::fs::read(state.join("recovered/op-1/0")).unwrap(), b"the deleted asset");
        assert_eq!(std::fs::read(dir.path().join("assets/b.txt")).unwrap(), b"someone else's new file");
    }
}
