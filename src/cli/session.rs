//! One verb's conversation with the packer: the project found from the
//! current folder upwards (as `vcs` finds it) or from `--root`, opened
//! through an in-process server that attaches to the project's owner when
//! one runs; paths read the way a shell reads them; assets named by id or
//! by path and resolved by the packer, never by reading the registry.

use std::path::{Component, Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};
use serde_json::{json, Value};
use studio_packer::client::Client;
use studio_packer::project::format::manifest::MANIFEST_FILE;
use studio_packer::transport::message::code;
use studio_packer::transport::RpcError;

use super::rpc;

pub struct Session {
    client: Client,
    pub project_id: String,
    /// The project's canonical root, as the packer answered it.
    pub root: PathBuf,
    /// The current folder relative to the root, when it is inside the project.
    here: Option<String>,
}

/// The folder whose project a verb works on: `--root`, or the nearest
/// folder from the current one upwards that holds a `packer.toml`.
pub fn project_folder(root: Option<&Path>) -> Result<PathBuf> {
    if let Some(root) = root {
        return Ok(root.to_path_buf());
    }
    let cwd = std::env::current_dir().context("cannot read the current folder")?;
    studio_packer::vcs::find_root(&cwd).ok_or_else(|| {
        anyhow!(
            "no packer project here: no {MANIFEST_FILE} in {} or in any folder above it \
             (run the command inside a project, or name one with --root DIR)",
            cwd.display()
        )
    })
}

impl Session {
    /// Opens the project of `root` (see [`project_folder`]).
    pub fn open(root: Option<&Path>) -> Result<Session> {
        let folder = project_folder(root)?;
        let (client, opened) = super::open_with(&folder, false)?;
        let project_id = opened["projectId"].as_str().context("openProject answered without a projectId")?.to_string();
        let root = PathBuf::from(opened["root"].as_str().context("openProject answered without a root")?);
        let here = std::env::current_dir()
            .ok()
            .and_then(|d| d.canonicalize().ok())
            .and_then(|d| d.strip_prefix(&root).ok().map(slashed))
            .transpose()
            .ok()
            .flatten();
        Ok(Session { client, project_id, root, here })
    }

    pub fn client(&mut self) -> &mut Client {
        &mut self.client
    }

    /// A request about this project (`projectId` filled in), as the packer answers it.
    pub fn try_request(&mut self, method: &str, mut params: Value) -> Result<Value, RpcError> {
        if let Some(obj) = params.as_object_mut() {
            obj.entry("projectId").or_insert(json!(self.project_id));
        }
        self.client.request(method, params)
    }

    /// A request about this project; the packer's error as an error.
    pub fn request(&mut self, method: &str, params: Value) -> Result<Value> {
        self.try_request(method, params).map_err(rpc)
    }

    pub fn close(self) {
        self.client.close();
    }

    /// Where relative paths start: the current folder when it is inside the
    /// project, else the root.
    fn base(&self) -> &str {
        self.here.as_deref().unwrap_or("")
    }

    /// `arg` as a path of the project, read as a shell reads it: relative to
    /// the current folder (or to the root when the current folder is not in
    /// the project); an absolute path must lead into the project. `""` is
    /// the root itself. Whether the path is acceptable is the packer's call.
    pub fn project_path(&self, arg: &str) -> Result<String> {
        self.path_from(arg, self.base())
    }

    fn path_from(&self, arg: &str, base: &str) -> Result<String> {
        let outside = || anyhow!("`{arg}` is outside the project at {}", self.root.display());
        let path = Path::new(arg);
        let (mut parts, rest): (Vec<String>, PathBuf) = if path.is_absolute() {
            let abs = canonical_prefix(path);
            (Vec::new(), abs.strip_prefix(&self.root).map_err(|_| outside())?.to_path_buf())
        } else {
            (base.split('/').filter(|s| !s.is_empty()).map(str::to_string).collect(), path.to_path_buf())
        };
        for c in rest.components() {
            match c {
                Component::Normal(s) => {
                    parts.push(s.to_str().ok_or_else(|| anyhow!("`{arg}`: a path must be UTF-8"))?.to_string())
                }
                Component::ParentDir => {
                    parts.pop().ok_or_else(outside)?;
                }
                _ => {}
            }
        }
        Ok(parts.join("/"))
    }

    /// The asset `arg` names: its id, or its path (relative to the current
    /// folder, or to the root). Resolved by the packer.
    pub fn asset(&mut self, arg: &str) -> Result<Value> {
        if studio_packer::ids::is_asset_id(arg) {
            match self.try_request("packer/getAsset", json!({ "assetId": arg })) {
                Ok(r) => return Ok(r["asset"].clone()),
                Err(e) if e.code == code::INVALID_PARAMS => {}
                Err(e) => return Err(rpc(e)),
            }
        }
        let mut tried: Vec<String> = Vec::new();
        let bases = [self.base().to_string(), String::new()];
        for base in &bases {
            let Ok(path) = self.path_from(arg, base) else { continue };
            if path.is_empty() || tried.contains(&path) {
                continue;
            }
            let page = self.request("packer/listAssets", json!({ "filter": { "pathPrefix": path }, "limit": 1 }))?;
            // Sorted by path: the asset at exactly `path`, when there is one, comes first.
            if let Some(asset) = page["items"].get(0).filter(|a| a["path"] == path.as_str()) {
                return Ok(asset.clone());
            }
            tried.push(path);
        }
        if tried.is_empty() {
            bail!("no asset `{arg}` in the project at {}: no asset has this id", self.root.display());
        }
        let at: Vec<String> = tried.iter().map(|p| format!("`{p}`")).collect();
        bail!(
            "no asset `{arg}` in the project at {}: no asset has this id, and none is registered at {}",
            self.root.display(),
            at.join(" or ")
        )
    }
}

/// A relative path with `/` separators.
fn slashed(p: &Path) -> Result<String, ()> {
    let parts: Option<Vec<&str>> = p.components().map(|c| c.as_os_str().to_str()).collect();
    parts.map(|p| p.join("/")).ok_or(())
}

/// `path` with its longest existing ancestor canonical (symlinks resolved,
/// as the packer's root is), the rest as written.
fn canonical_prefix(path: &Path) -> PathBuf {
    for ancestor in path.ancestors() {
        if let Ok(canonical) = ancestor.canonicalize() {
            let rest = path.strip_prefix(ancestor).unwrap_or(Path::new(""));
            return canonical.join(rest);
        }
    }
    path.to_path_buf()
}
