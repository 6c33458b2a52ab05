//! `studio-packer add PATH…`: one `register` of the files named.
//!
//! A file is sent as named. A folder (recursively) or a glob stands for
//! the files the packer reports as unregistered there, its `untracked`
//! divergence items: the packer decides what is registrable (under the
//! asset roots, not excluded, not yet an asset), as `git add` skips what
//! is ignored. Anything else the packer says about the paths comes back in
//! the preview. The paths travel in the JSON-RPC request, so ten thousand
//! files are one mutation.

use std::path::Path;

use anyhow::{anyhow, Result};
use serde_json::json;
use studio_packer::project::snapshot::divergence::ItemKind;
use studio_packer::protocol::model::DivergenceResult;

use super::exit;
use super::mutate::{self, Confirm};
use super::session::Session;

/// What one argument names.
enum Pattern {
    /// A file (or anything that is not a folder or a glob): sent as is.
    File(String),
    /// Every unregistered file under this folder (`""`: the whole project).
    Folder(String),
    /// Every unregistered file whose path matches.
    Glob(globset::GlobMatcher),
}

fn is_glob(arg: &str) -> bool {
    arg.contains(['*', '?', '[', '{'])
}

pub fn run(root: Option<&Path>, args: &[String], confirm: Confirm) -> Result<u8> {
    let mut session = Session::open(root)?;
    let code = add(&mut session, args, confirm);
    session.close();
    code
}

fn add(session: &mut Session, args: &[String], confirm: Confirm) -> Result<u8> {
    let mut patterns = Vec::new();
    for arg in args {
        let path = session.project_path(arg)?;
        let pattern = if is_glob(arg) {
            let glob = globset::GlobBuilder::new(&path)
                .literal_separator(true)
                .build()
                .map_err(|e| anyhow!("`{arg}` is not a glob: {e}"))?;
            Pattern::Glob(glob.compile_matcher())
        } else if session.root.join(&path).is_dir() {
            Pattern::Folder(path)
        } else {
            Pattern::File(path)
        };
        patterns.push((arg, pattern));
    }
    let untracked =
        if patterns.iter().any(|(_, p)| !matches!(p, Pattern::File(_))) { untracked(session)? } else { Vec::new() };
    let mut paths: Vec<String> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for (arg, pattern) in &patterns {
        let found: Vec<&String> = match pattern {
            Pattern::File(path) => vec![path],
            Pattern::Folder(dir) => untracked
                .iter()
                .filter(|p| dir.is_empty() || p.strip_prefix(dir.as_str()).is_some_and(|r| r.starts_with('/')))
                .collect(),
            Pattern::Glob(glob) => untracked.iter().filter(|p| glob.is_match(p.as_str())).collect(),
        };
        if found.is_empty() {
            eprintln!(
                "note: nothing to add for `{arg}`: the packer reports no unregistered file there \
                 (a file outside the asset roots or excluded is added by naming it)"
            );
        }
        for p in found {
            if seen.insert(p.clone()) {
                paths.push(p.clone());
            }
        }
    }
    if paths.is_empty() {
        println!("nothing to add");
        return Ok(exit::OK);
    }
    mutate::preview_and_apply(session, json!({ "kind": "register", "paths": paths }), confirm)
}

/// The paths of the project's `untracked` divergence items, as the packer reports them.
fn untracked(session: &mut Session) -> Result<Vec<String>> {
    let divergence: DivergenceResult = session.call("packer/divergence", json!({}))?;
    Ok(divergence.items.iter().filter(|i| i.kind == ItemKind::Untracked).map(|i| i.path.clone()).collect())
}
