//! `studio-packer vcs -- CMD`: a source-control command run as one external
//! change of the project's owner (`packer/beginExternalChange` before it,
//! `packer/endExternalChange` after), so that a `git checkout` is published
//! as one net difference rather than as the many states it passes through.
//!
//! This process never opens the project: it talks to the owner over the
//! owner's socket, as any attached process does. With no owner running the
//! command simply runs (the next packer to open the project compares the
//! files with what it last saw, so nothing is missed).

use std::path::{Path, PathBuf};

use serde_json::json;

use crate::client::Client;

/// How long the owner has to answer: beginning and ending a change are
/// immediate for a running owner, and a git hook must never hang git.
const ANSWER_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);
use crate::project::format::manifest::MANIFEST_FILE;

/// The project holding `start`: the nearest folder, from `start` upwards,
/// with a `packer.toml` (as git finds a repository).
pub fn find_root(start: &Path) -> Option<PathBuf> {
    let start = start.canonicalize().ok()?;
    start.ancestors().find(|d| d.join(MANIFEST_FILE).is_file()).map(Path::to_path_buf)
}

/// An external change open at the project's owner. This process ending,
/// however it ends, closes the connection, which ends the change too.
pub struct Change {
    client: Client,
    pub change_id: String,
}

/// Why no change could be opened.
#[derive(Debug)]
pub enum NoChange {
    /// No process owns the project now.
    NoOwner,
    /// An owner seems to run but did not take the change.
    Failed(String),
}

/// Opens a change at the owner of the project at `root` (canonical).
/// `timeout`: how long the owner keeps the change open if nobody ends it.
pub fn begin(root: &Path, reason: &str, timeout: Option<std::time::Duration>) -> Result<Change, NoChange> {
    let stream = match crate::owner::socket::connect(root) {
        Ok(s) => s,
        // No socket, or one that nobody listens on (an owner that died).
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::NotFound
                    | std::io::ErrorKind::ConnectionRefused
                    | std::io::ErrorKind::NotADirectory
            ) =>
        {
            return Err(NoChange::NoOwner)
        }
        Err(e) => return Err(NoChange::Failed(e.to_string())),
    };
    let failed = |what: &str, e: &dyn std::fmt::Display| NoChange::Failed(format!("{what}: {e}"));
    let reader = stream.try_clone().map_err(|e| failed("the owner's socket", &e))?;
    let mut client = Client::over(reader, stream);
    client
        .request_within(
            "initialize",
            json!({ "processId": std::process::id(), "capabilities": {} }),
            Some(ANSWER_TIMEOUT),
        )
        .map_err(|e| failed("initialize", &e.message))?;
    let project_id = crate::ids::project_id(root);
    let mut params = json!({ "projectId": project_id, "reason": reason });
    if let Some(t) = timeout {
        params["timeoutMs"] = json!(t.as_millis() as u64);
    }
    let began = client
        .request_within("packer/beginExternalChange", params, Some(ANSWER_TIMEOUT))
        .map_err(|e| failed("packer/beginExternalChange", &e.message))?;
    let change_id = began["changeId"].as_str().ok_or_else(|| failed("the owner answered", &began))?.to_string();
    Ok(Change { client, change_id })
}

impl Change {
    /// Ends the change: the owner looks at the project once and publishes
    /// the net difference.
    pub fn end(mut self) -> Result<(), String> {
        let ended = self.client.request_within(
            "packer/endExternalChange",
            json!({ "changeId": self.change_id }),
            Some(ANSWER_TIMEOUT),
        );
        // No `shutdown`: the connection closes when this process exits.
        drop(self.client);
        ended.map(drop).map_err(|e| e.message)
    }
}

/// Runs `command` inside a change of the project at `root` (found from the
/// current folder when `None`); with no command, opens and ends a change,
/// which asks the owner to look at the project now (what the git hooks
/// do). Returns the command's exit code.
pub fn run(root: Option<&Path>, command: &[String], quiet: bool) -> i32 {
    let say = |msg: &str| {
        if !quiet {
            eprintln!("studio-packer vcs: {msg}");
        }
    };
    let found = match root {
        Some(r) => r.canonicalize().ok().filter(|r| r.join(MANIFEST_FILE).is_file()),
        None => std::env::current_dir().ok().and_then(|d| find_root(&d)),
    };
    let change = match &found {
        None => {
            say("no packer project here; running the command as it is");
            None
        }
        // A rebase may take a person a while: the change lasts as long as
        // the command (this process ends it, or its exit does), up to the
        // longest timeout the packer allows.
        Some(root) => match begin(root, &reason(command), Some(crate::project::external::MAX_TIMEOUT)) {
            Ok(c) => Some(c),
            Err(NoChange::NoOwner) => None,
            Err(NoChange::Failed(e)) => {
                say(&format!("the project's packer did not take the change ({e}); running the command as it is"));
                None
            }
        },
    };
    let code = match command.split_first() {
        None => 0,
        Some((program, args)) => match std::process::Command::new(program).args(args).status() {
            Ok(status) => exit_code(status),
            Err(e) => {
                eprintln!("studio-packer vcs: cannot run `{program}`: {e}");
                127
            }
        },
    };
    if let Some(change) = change {
        if let Err(e) = change.end() {
            say(&format!("ending the change: {e} (it ends by itself when this process exits)"));
        }
    }
    code
}

/// What the change is, for people: the command line.
fn reason(command: &[String]) -> String {
    if command.is_empty() {
        "a look at the project (studio-packer vcs)".into()
    } else {
        command.join(" ")
    }
}

/// A shell's way: the code, or 128 and the signal.
fn exit_code(status: std::process::ExitStatus) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    status.code().unwrap_or_else(|| 128 + status.signal().unwrap_or(0))
}
