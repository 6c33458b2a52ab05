//! The everyday verbs (`add`, `mv`, `rm`, `ls`, `show`, `reconcile`,
//! `events`) and what the other commands share with them: opening a project
//! through an in-process server (which attaches to the project's owner when
//! one runs), reading paths and assets the way a person types them, and
//! rendering what the packer answers. Every count, blocker and outcome is
//! the packer's; this module only asks and lays the answers out.
//!
//! - [`session`]: the project found from the current folder or `--root`, its
//!   client, and paths and assets resolved through the packer;
//! - [`render`]: the one renderer of diagnostics, previews, results, assets
//!   and events;
//! - [`mutate`]: preview, confirm, apply, shared by every verb that changes
//!   something;
//! - [`add`], [`change`], [`assets`], [`events`]: the verbs.

pub mod add;
pub mod assets;
pub mod change;
pub mod events;
pub mod mutate;
pub mod render;
pub mod session;

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde_json::json;
use studio_packer::client::Client;

/// Exit codes of the verbs (documented in the README and in `--help`).
pub mod exit {
    /// Done: applied, listed, or nothing to change.
    pub const OK: u8 = 0;
    /// The packer blocked or rejected the change: nothing was changed.
    pub const BLOCKED: u8 = 1;
    /// Bad input, no project, or the packer could not answer.
    pub const ERROR: u8 = 2;
    /// Previewed only: no `--yes` and no terminal to ask on, or the answer was no.
    pub const NOT_APPLIED: u8 = 3;
}

pub fn absolute(dir: &Path) -> Result<PathBuf> {
    std::path::absolute(dir).with_context(|| format!("{}: not a usable path", dir.display()))
}

/// Opens `dir` through a client and returns the client and the project id.
pub fn open(dir: &Path, events: bool) -> Result<(Client, String)> {
    let (client, opened) = open_with(dir, events)?;
    let id = opened["projectId"].as_str().context("openProject answered without a projectId")?.to_string();
    Ok((client, id))
}

/// Opens `dir` and returns the client and the packer's whole answer.
pub fn open_with(dir: &Path, events: bool) -> Result<(Client, serde_json::Value)> {
    let mut client = Client::in_process().context("cannot start the packer")?;
    if events {
        client.on_notification = Box::new(|n| {
            if n["method"] == "packer/event" {
                eprintln!("{}", n["params"]);
            }
        });
    }
    client.request("initialize", json!({ "processId": std::process::id(), "capabilities": {} })).map_err(rpc)?;
    let root = absolute(dir)?;
    let opened = client.request("packer/openProject", json!({ "root": root })).map_err(rpc)?;
    Ok((client, opened))
}

/// An answer read as the protocol model's type; an answer that does not
/// fit says which method and why, rather than printing nothing.
pub fn typed<T: serde::de::DeserializeOwned>(method: &str, answer: serde_json::Value) -> Result<T> {
    serde_json::from_value(answer)
        .with_context(|| format!("the packer's answer to {method} is not what this CLI reads"))
}

/// The packer's error, as it said it.
pub fn rpc(e: studio_packer::transport::RpcError) -> anyhow::Error {
    match e.data {
        Some(data) => anyhow::anyhow!("{} (code {}, {})", e.message, e.code, data),
        None => anyhow::anyhow!("{} (code {})", e.message, e.code),
    }
}
