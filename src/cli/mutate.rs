//! Preview, confirm, apply: the one way every verb changes a project.
//!
//! The preview is printed as the packer planned it. Blockers end the verb
//! (exit 1) without asking. Otherwise the person is asked on a terminal,
//! `--yes` applies without asking, and with neither nothing is applied
//! (exit 3). The apply carries the preview's `baseGeneration` as
//! `expectedGeneration`, so whatever changed in between makes the packer
//! refuse it rather than do something nobody saw.

use std::io::{BufRead, IsTerminal, Write};

use anyhow::Result;
use serde_json::{json, Value};
use studio_packer::protocol::model::{ApplyOutcome, ApplyResult, BlockerCode, PreviewResult};

use super::exit;
use super::render::{self, List};
use super::session::Session;

/// How a verb may apply what it previews.
#[derive(Clone, Copy)]
pub struct Confirm {
    /// `--yes`: apply without asking.
    pub yes: bool,
}

/// Previews `mutation`, asks, applies; returns the verb's exit code.
pub fn preview_and_apply(session: &mut Session, mutation: Value, confirm: Confirm) -> Result<u8> {
    let preview: PreviewResult = session.call("packer/previewMutation", json!({ "mutation": mutation }))?;
    render::preview(&preview);
    let lists = render::Lists::from(&preview);
    if lists.total(List::Blockers) > 0 {
        eprintln!("blocked: nothing was changed");
        return Ok(exit::BLOCKED);
    }
    if !lists.changes_anything() {
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
    let base = preview.base_generation;
    let result: ApplyResult =
        session.call("packer/applyMutation", json!({ "mutation": mutation, "expectedGeneration": base }))?;
    Ok(applied(&result))
}

/// Prints an apply's result; its exit code.
fn applied(result: &ApplyResult) -> u8 {
    let lists = render::Lists::from(result);
    match result.outcome {
        ApplyOutcome::Applied => {
            println!(
                "applied ({}): {} registry change(s), {} file step(s); generation {}",
                result.operation_id,
                lists.total(List::Registry),
                lists.total(List::Files),
                result.generation
            );
            exit::OK
        }
        outcome => {
            lists.issues();
            eprintln!("{}: nothing was changed (generation {})", render::name(&outcome), result.generation);
            if result.blockers.iter().any(|b| b.code == BlockerCode::StaleGeneration) {
                eprintln!("the project changed after the preview: run the command again to see what it would do now");
            }
            exit::BLOCKED
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
