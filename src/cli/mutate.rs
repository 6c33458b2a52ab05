//! Preview, confirm, apply: the one way every verb changes a project.
//!
//! The preview is printed as the packer planned it. Blockers end the verb
//! (exit 1) without asking. Otherwise the person is asked on a terminal,
//! `--yes` applies without asking, and with neither nothing is applied
//! (exit 3). The apply carries the preview's `baseGeneration` as
//! `expectedGeneration`, so whatever changed in between makes the packer
//! refuse it rather than do something nobody saw.

use std::io::{BufRead, IsTerminal, Write};

use anyhow::{bail, Result};
use serde_json::{json, Value};

use super::exit;
use super::render;
use super::session::Session;

/// How a verb may apply what it previews.
#[derive(Clone, Copy)]
pub struct Confirm {
    /// `--yes`: apply without asking.
    pub yes: bool,
}

/// Previews `mutation`, asks, applies; returns the verb's exit code.
pub fn preview_and_apply(session: &mut Session, mutation: Value, confirm: Confirm) -> Result<u8> {
    let preview = session.request("packer/previewMutation", json!({ "mutation": mutation }))?;
    render::preview(&preview);
    if render::total(&preview, "blockers") > 0 {
        eprintln!("blocked: nothing was changed");
        return Ok(exit::BLOCKED);
    }
    if !render::changes_anything(&preview) {
        println!("nothing to change");
        return Ok(exit::OK);
    }
    if !confirm.yes {
        if !(std::io::stdin().is_terminal() && std::io::stderr().is_terminal()) {
            eprintln!("not applied: no terminal to ask on; run it again with --yes to apply");
            return Ok(exit::NOT_APPLIED);
        }
        if !ask("Apply? [y/N] ")? {
            eprintln!("not applied");
            return Ok(exit::NOT_APPLIED);
        }
    }
    let Some(base) = preview["baseGeneration"].as_u64() else {
        bail!("the packer's preview has no baseGeneration");
    };
    let result =
        session.request("packer/applyMutation", json!({ "mutation": mutation, "expectedGeneration": base }))?;
    Ok(applied(&result))
}

/// Prints an apply's result; its exit code.
fn applied(result: &Value) -> u8 {
    match result["outcome"].as_str() {
        Some("applied") => {
            println!(
                "applied ({}): {} registry change(s), {} file step(s); generation {}",
                result["operationId"].as_str().unwrap_or("?"),
                render::total(result, "registryMutations"),
                render::total(result, "filesystemMutations"),
                result["generation"]
            );
            exit::OK
        }
        Some(outcome) => {
            render::issues(result);
            eprintln!("{outcome}: nothing was changed (generation {})", result["generation"]);
            let stale = result["blockers"].as_array().into_iter().flatten().any(|b| b["code"] == "staleGeneration");
            if stale {
                eprintln!("the project changed after the preview: run the command again to see what it would do now");
            }
            exit::BLOCKED
        }
        None => {
            eprintln!("error: the packer answered without an outcome: {result}");
            exit::ERROR
        }
    }
}

/// Asks a yes/no question on the terminal; anything but `y`/`yes` is no.
fn ask(question: &str) -> Result<bool> {
    let mut err = std::io::stderr();
    write!(err, "{question}")?;
    err.flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    Ok(matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes"))
}
