//! One verb's conversation with the packer: the project found from the
//! current folder upwards (as `vcs` finds it) or from `--root`, opened
//! through an in-process server that attaches to the project's owner when
//! one runs; paths read the way a shell reads them; assets named by id or
//! by path and resolved by the packer, never by reading the registry.

use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use anyhow::{anyhow, bail, Context, Result};
use serde::de::DeserializeOwned;
use serde_json::{json, Value};
use studio_packer::client::Client;
use studio_packer::project::format::manifest::MANIFEST_FILE;
use studio_packer::project::model::Asset;
use studio_packer::protocol::model::{GetAssetResult, ListAssetsResult};
use studio_packer::transport::message::code;
use studio_packer::transport::RpcError;

use super::rpc;

pub struct Session {
    client: Client,
    pub project_id: String,
    /// The project's canonical root, as the packer answered it.
    pub root: PathBuf,
    /// The current folder, canonical.
    cwd: Option<PathBuf>,
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
        let cwd = std::env::current_dir().ok().and_then(|d| d.canonicalize().ok());
        Ok(Session { client, project_id, root, cwd })
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

    /// A request about this project, its answer read as the model's type.
    pub fn call<T: DeserializeOwned>(&mut self, method: &str, params: Value) -> Result<T> {
        let answer = self.request(method, params)?;
        super::typed(method, answer)
    }

    /// [`Session::call`], with the packer's error as it came.
    pub fn try_call<T: DeserializeOwned>(&mut self, method: &str, params: Value) -> Result<Result<T>, RpcError> {
        Ok(super::typed(method, self.try_request(method, params)?))
    }

    pub fn close(self) {
        self.client.close();
    }

    /// `arg` as a path of the project, read as a shell reads it: relative to
    /// the current folder; when that leads out of the project (a `--root`
    /// named from elsewhere), relative to the root. An absolute
    /// path must lead into the project. `""` is the root itself. Whether the
    /// path is acceptable is the packer's call.
    pub fn project_path(&self, arg: &str) -> Result<String> {
        self.readings(arg)?.into_iter().next().ok_or_else(|| self.outside(arg))
    }

    /// The paths of the project `arg` may mean, most likely first: from the
    /// current folder, then from the root.
    fn readings(&self, arg: &str) -> Result<Vec<String>> {
        let path = Path::new(arg);
        let mut readings = Vec::new();
        let mut from = |path: &Path| -> Result<()> {
            if let Some(p) = self.path_from(arg, path)? {
                if !readings.contains(&p) {
                    readings.push(p);
                }
            }
            Ok(())
        };
        if path.is_absolute() {
            from(path)?;
        } else {
            if let Some(cwd) = &self.cwd {
                from(&cwd.join(path))?;
            }
            from(path)?;
        }
        Ok(readings)
    }

    fn outside(&self, arg: &str) -> anyhow::Error {
        anyhow!("`{arg}` is outside the project at {}", self.root.display())
    }

    /// `path` (absolute, or relative to the root) as a project path; `None`
    /// when it leads out of the project. `..` is read lexically and the
    /// path's own symlinks are left alone: the packer is sent the path as
    /// typed, and judges it.
    fn path_from(&self, arg: &str, path: &Path) -> Result<Option<String>> {
        let rest = if path.is_absolute() {
            let abs = lexical(path);
            match abs.strip_prefix(&self.root) {
                Ok(rel) => rel.to_path_buf(),
                // Another spelling of the root's folders (a symlink to it)?
                Err(_) => match canonical_prefix(&abs).strip_prefix(&self.root) {
                    Ok(rel) => rel.to_path_buf(),
                    Err(_) => return Ok(None),
                },
            }
        } else {
            path.to_path_buf()
        };
        let mut parts = Vec::new();
        for c in rest.components() {
            match c {
                Component::Normal(s) => parts.push(s.to_str().ok_or_else(|| anyhow!("`{arg}`: a path must be UTF-8"))?),
                // `..` takes the last part off; with none left, it leads out.
                Component::ParentDir if parts.pop().is_none() => return Ok(None),
                _ => {}
            }
        }
        Ok(Some(parts.join("/")))
    }

    /// The asset `arg` names: its id, or its path (relative to the current
    /// folder, or to the root). Resolved by the packer.
    pub fn asset(&mut self, arg: &str) -> Result<Arc<Asset>> {
        if studio_packer::ids::is_asset_id(arg) {
            match self.try_call::<GetAssetResult>("packer/getAsset", json!({ "assetId": arg })) {
                Ok(r) => return Ok(r?.asset),
                Err(e) if e.code == code::INVALID_PARAMS => {}
                Err(e) => return Err(rpc(e)),
            }
        }
        let mut tried: Vec<String> = Vec::new();
        for path in self.readings(arg)? {
            if path.is_empty() {
                continue;
            }
            let params = json!({ "filter": { "pathPrefix": path }, "limit": 1 });
            let page: ListAssetsResult = self.call("packer/listAssets", params)?;
            // Sorted by path: the asset at exactly `path`, when there is one, comes first.
            if let Some(asset) = page.items.into_iter().next().filter(|a| a.path() == path) {
                return Ok(asset);
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

/// An absolute path with its `.` and `..` read lexically.
fn lexical(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            c => out.push(c),
        }
    }
    out
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
