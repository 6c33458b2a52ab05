//! `ls` and `show`: the project's assets as the packer lists them.

use std::path::Path;
use std::sync::Arc;

use anyhow::{bail, Result};
use serde_json::{json, Map};
use studio_packer::project::model::Asset;
use studio_packer::protocol::model::ListAssetsResult;
use studio_packer::transport::message::code;

use super::render;
use super::session::Session;
use super::{exit, rpc};

/// The filters of `ls`, exactly those of `packer/listAssets`.
#[derive(Default)]
pub struct Filter {
    pub kind: Option<String>,
    pub status: Option<String>,
    pub tag: Option<String>,
    pub text: Option<String>,
    /// A path prefix as typed (relative to the current folder).
    pub prefix: Option<String>,
}

/// How many times a listing starts again when the project moves on under it.
const RESTARTS: usize = 5;

/// `ls`: every asset that passes the filter, page by page until done.
pub fn ls(root: Option<&Path>, filter: &Filter, as_json: bool) -> Result<u8> {
    let mut session = Session::open(root)?;
    let listed = list(&mut session, filter);
    session.close();
    let (generation, items) = listed?;
    if as_json {
        println!("{}", serde_json::to_string_pretty(&json!({ "generation": generation, "items": items }))?);
    } else {
        let mut out = String::new();
        for a in &items {
            out.push_str(&render::asset_line(a));
            out.push('\n');
        }
        print!("{out}");
    }
    Ok(exit::OK)
}

fn list(session: &mut Session, f: &Filter) -> Result<(u64, Vec<Arc<Asset>>)> {
    let mut filter = Map::new();
    for (key, value) in [("kind", &f.kind), ("status", &f.status), ("tag", &f.tag), ("text", &f.text)] {
        if let Some(v) = value {
            filter.insert(key.into(), json!(v));
        }
    }
    if let Some(prefix) = &f.prefix {
        // A prefix is a plain string prefix: keep a trailing `/` as typed.
        let mut p = session.project_path(prefix)?;
        if prefix.ends_with('/') && !p.is_empty() {
            p.push('/');
        }
        filter.insert("pathPrefix".into(), json!(p));
    }
    'again: for _ in 0..RESTARTS {
        let mut items = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let mut params = json!({ "filter": filter, "limit": 1000 });
            if let Some(c) = cursor.take() {
                params["cursor"] = json!(c);
            }
            let page: ListAssetsResult = match session.try_call("packer/listAssets", params) {
                Ok(page) => page?,
                // The project moved on: a listing is never drawn from two generations.
                Err(e) if e.code == code::CONTENT_MODIFIED => continue 'again,
                Err(e) => return Err(rpc(e)),
            };
            items.extend(page.items);
            cursor = page.next_cursor;
            if cursor.is_none() {
                return Ok((page.generation, items));
            }
        }
    }
    bail!("the project kept changing while it was listed ({RESTARTS} attempts); try again")
}

/// `show ASSET`: the asset with its metadata, settings and diagnostics.
pub fn show(root: Option<&Path>, asset: &str, as_json: bool) -> Result<u8> {
    let mut session = Session::open(root)?;
    let found = session.asset(asset);
    session.close();
    let asset = found?;
    if as_json {
        println!("{}", serde_json::to_string_pretty(&asset)?);
    } else {
        print!("{}", render::asset(&asset));
    }
    Ok(exit::OK)
}
