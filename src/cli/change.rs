//! `mv`, `rm` and `reconcile`: one mutation each, previewed and applied
//! through [`mutate`](super::mutate).

use std::path::Path;

use anyhow::Result;
use serde_json::json;

use super::mutate::{self, Confirm};
use super::session::Session;

/// Runs `verb` on the project of `root`, closing the session however it ends.
fn with_session(root: Option<&Path>, verb: impl FnOnce(&mut Session) -> Result<u8>) -> Result<u8> {
    let mut session = Session::open(root)?;
    let code = verb(&mut session);
    session.close();
    code
}

/// `mv ASSET DEST`: a `move`. A DEST that ends with `/` or is a folder
/// receives the asset under its own file name, as `mv` does.
pub fn mv(root: Option<&Path>, asset: &str, dest: &str, confirm: Confirm) -> Result<u8> {
    with_session(root, |s| {
        let asset = s.asset(asset)?;
        let mut to = s.project_path(dest)?;
        if dest.ends_with('/') || to.is_empty() || s.root.join(&to).is_dir() {
            let path = asset.path();
            let name = path.rsplit('/').next().unwrap_or(path);
            to = if to.is_empty() { name.to_string() } else { format!("{to}/{name}") };
        }
        mutate::preview_and_apply(s, json!({ "kind": "move", "assetId": asset.id(), "to": to }), confirm)
    })
}

/// `rm ASSET…`: a `delete` of the assets (their files and entries), or
/// with `keep_file` an `unregister` (the entries only).
pub fn rm(root: Option<&Path>, assets: &[String], keep_file: bool, confirm: Confirm) -> Result<u8> {
    with_session(root, |s| {
        let mut ids = Vec::new();
        for arg in assets {
            let id = s.asset(arg)?.id().to_string();
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
        let kind = if keep_file { "unregister" } else { "delete" };
        mutate::preview_and_apply(s, json!({ "kind": kind, "assetIds": ids }), confirm)
    })
}

/// `reconcile`: the packer's proposal for the project's divergence (every
/// item with its default resolution), applied against the generation it
/// was previewed at, so that only what was shown is resolved.
pub fn reconcile(root: Option<&Path>, confirm: Confirm) -> Result<u8> {
    with_session(root, |s| mutate::preview_and_apply(s, json!({ "kind": "reconcile" }), confirm))
}
