//! Request handlers: plain functions from a snapshot and typed params to a
//! typed result of the protocol model (`protocol::model`), made JSON here
//! and only here. None of them writes anything; writes go through the lane.

use std::ops::Bound;
use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{json, Value};

use super::connection::Connection;
use super::{ownership, root_path, ProjectHandle, Server};
use crate::project::external::EndedBy;
use crate::project::model::Asset;
use crate::project::snapshot::Snapshot;
use crate::project::write::mutation;
use crate::protocol::model::{
    BeginExternalChangeResult, CancelResult, DiagnosticsResult, DivergenceResult, ExperimentalCapabilities,
    GetAssetResult, InitializeResult, ListAssetsResult, ListProjectsResult, OpenProjectResult, OperationsResult,
    PackerCapabilities, ProjectInfo, ReplayEventsResult, ServerCapabilities, ServerInfo,
};
use crate::protocol::{
    self, BeginExternalChangeParams, CancelParams, EndExternalChangeParams, ListAssetsParams, OpenProjectParams,
    Request,
};
use crate::transport::message::code;
use crate::transport::RpcError;

/// Default and largest page of `packer/listAssets`.
pub const DEFAULT_PAGE: usize = 100;
pub const MAX_PAGE: usize = 1000;
/// Default and largest page of `packer/replayEvents`.
pub const DEFAULT_REPLAY: usize = 1000;
pub const MAX_REPLAY: usize = 10_000;

/// A typed result as the wire carries it.
fn answer<T: Serialize>(result: T) -> Result<Value, RpcError> {
    serde_json::to_value(result).map_err(|e| RpcError::internal(format!("a result did not serialise: {e}")))
}

/// A typed value from a JSON answer (another process's).
fn typed<T: DeserializeOwned>(value: Value, what: &str) -> Result<T, RpcError> {
    serde_json::from_value(value)
        .map_err(|e| RpcError::internal(format!("the owner answered {what} that is not one: {e}")))
}

pub fn initialize() -> Value {
    let strings = |list: &[&str]| list.iter().map(|s| s.to_string()).collect();
    let result = InitializeResult {
        capabilities: ServerCapabilities {
            experimental: ExperimentalCapabilities {
                packer: PackerCapabilities {
                    protocol_version: protocol::PROTOCOL_VERSION,
                    methods: strings(&protocol::method_names()),
                    notifications: strings(protocol::NOTIFICATIONS),
                    mutation_kinds: strings(mutation::KINDS),
                    event_kinds: strings(protocol::EVENT_KINDS),
                },
            },
        },
        server_info: ServerInfo { name: "studio-packer".into(), version: env!("CARGO_PKG_VERSION").into() },
    };
    serde_json::to_value(result).expect("initialize's result serialises")
}

/// Answers a read (any request that is not commit-bearing) from the
/// project's current snapshot.
pub fn read(conn: &Arc<Connection>, request: Request) -> Result<Value, RpcError> {
    let server = &conn.server;
    match request {
        Request::OpenProject(p) => open_project(conn, p),
        Request::CloseProject(p) => {
            server.project(&p.project_id)?;
            conn.unsubscribe(&p.project_id);
            Ok(Value::Null)
        }
        Request::ListProjects => {
            let mut projects: Vec<ProjectInfo> = server.handles().iter().map(describe_project).collect();
            projects.sort_by(|a, b| a.root.cmp(&b.root));
            answer(ListProjectsResult { projects })
        }
        Request::Summary(p) => {
            let project = server.project(&p.project_id)?;
            answer(project.summary(&project.snapshot()))
        }
        Request::ListAssets(p) => list_assets(server, p),
        Request::GetAsset(p) => {
            let snap = server.project(&p.project_id)?.snapshot();
            let asset = find_asset(&snap, &p.asset_id)?.clone();
            answer(GetAssetResult { generation: snap.generation, asset })
        }
        Request::Diagnostics(p) => {
            let snap = server.project(&p.project_id)?.snapshot();
            let items = match &p.asset_id {
                Some(id) => find_asset(&snap, id)?.diagnostics.clone(),
                None => snap.diagnostics(),
            };
            answer(DiagnosticsResult { generation: snap.generation, items })
        }
        Request::PreviewMutation(p) => {
            let project = server.project(&p.project_id)?;
            // The snapshot is taken inside the gate: it and the disk agree.
            let _gate = project.disk_gate.read().unwrap_or_else(|e| e.into_inner());
            let snap = project.snapshot();
            Ok(mutation::plan(&project.root, &snap, &p.mutation, None).preview_json())
        }
        Request::Divergence(p) => {
            let snap = server.project(&p.project_id)?.snapshot();
            let state = snap.divergence_state();
            answer(DivergenceResult { generation: snap.generation, state, items: snap.divergence.clone() })
        }
        Request::Operations(p) => answer(OperationsResult { items: server.project(&p.project_id)?.ops.list() }),
        Request::CacheStats(p) => {
            let project = server.project(&p.project_id)?;
            Ok(crate::build::cache_stats(&project))
        }
        Request::ReplayEvents(p) => {
            let project = server.project(&p.project_id)?;
            let limit = page_size(p.limit, DEFAULT_REPLAY, MAX_REPLAY)?;
            let (events, last_seq) = project
                .bus
                .replay(p.after, limit)
                .map_err(|e| RpcError::failed("io", format!("reading the event journal: {e}")))?;
            answer(ReplayEventsResult { events, last_seq })
        }
        Request::Cancel(p) => cancel(server, p),
        Request::BeginExternalChange(p) => begin_change(conn, p),
        Request::EndExternalChange(p) => end_change(conn, p),
        #[cfg(feature = "test-hooks")]
        Request::TestBreakWatch(p) => {
            server.project(&p.project_id)?.break_watch_for_test(std::time::Duration::from_millis(p.hold_ms));
            Ok(Value::Null)
        }
        Request::ApplyMutation(_) | Request::Build(_) | Request::PruneCache(_) => {
            Err(RpcError::internal("a commit-bearing request reached the read path (a bug)"))
        }
    }
}

fn open_project(conn: &Arc<Connection>, p: OpenProjectParams) -> Result<Value, RpcError> {
    let root = root_path(&p.root)?;
    let handle = conn.server.open_project(&root, p.create, &conn.outbox)?;
    conn.note_opened(&handle);
    let (root, summary, scan) = match &handle {
        ProjectHandle::Local(owned) => {
            let p = &owned.project;
            (p.root.clone(), p.summary(&p.snapshot()), Some(p.open_stats))
        }
        ProjectHandle::Attached(remote) => {
            // The summary is the owner's: this process holds no snapshot.
            let summary = remote.call("packer/summary", json!({ "projectId": remote.project_id }))?;
            (remote.root.clone(), typed(summary, "a summary")?, None)
        }
    };
    answer(OpenProjectResult {
        project_id: handle.id().to_string(),
        root: root.display().to_string(),
        generation: summary.generation,
        summary,
        ownership: ownership(&handle),
        scan,
    })
}

/// An entry of `packer/listProjects`.
fn describe_project(handle: &ProjectHandle) -> ProjectInfo {
    match handle {
        ProjectHandle::Local(owned) => {
            let p = &owned.project;
            let snap = p.snapshot();
            ProjectInfo {
                project_id: p.id.clone(),
                root: p.root.display().to_string(),
                name: Some(snap.manifest.name.clone()),
                generation: Some(snap.generation),
                ownership: ownership(handle),
            }
        }
        ProjectHandle::Attached(remote) => {
            let listed = remote.call("packer/listProjects", json!({})).ok();
            let entry = listed.as_ref().and_then(|l| {
                l["projects"].as_array()?.iter().find(|e| e["projectId"] == remote.project_id.as_str()).cloned()
            });
            ProjectInfo {
                project_id: remote.project_id.clone(),
                root: remote.root.display().to_string(),
                name: entry.as_ref().and_then(|e| e["name"].as_str()).map(str::to_string),
                generation: entry.as_ref().and_then(|e| e["generation"].as_u64()),
                ownership: ownership(handle),
            }
        }
    }
}

fn find_asset<'a>(snap: &'a Snapshot, asset_id: &str) -> Result<&'a Arc<Asset>, RpcError> {
    snap.asset(asset_id).ok_or_else(|| {
        RpcError::invalid_params(
            "assetId",
            format!("no asset has the id `{asset_id}` at generation {}", snap.generation),
        )
    })
}

fn page_size(limit: Option<usize>, default: usize, max: usize) -> Result<usize, RpcError> {
    match limit {
        None => Ok(default),
        Some(0) => Err(RpcError::invalid_params("limit", "invalid params: `limit` must be at least 1")),
        Some(n) => Ok(n.min(max)),
    }
}

/// Cursors are `<generation>:<last path>`; clients treat them as opaque.
fn list_assets(server: &Server, p: ListAssetsParams) -> Result<Value, RpcError> {
    let snap = server.project(&p.project_id)?.snapshot();
    let limit = page_size(p.limit, DEFAULT_PAGE, MAX_PAGE)?;
    let start = match &p.cursor {
        None => Bound::Unbounded,
        Some(c) => {
            let (generation, last) =
                c.split_once(':').and_then(|(g, rest)| Some((g.parse::<u64>().ok()?, rest))).ok_or_else(|| {
                    RpcError::invalid_params("cursor", format!("`{c}` is not a cursor from packer/listAssets"))
                })?;
            if generation != snap.generation {
                return Err(RpcError::new(
                    code::CONTENT_MODIFIED,
                    format!(
                        "the cursor is for generation {generation}, the project is now at {}: list again",
                        snap.generation
                    ),
                )
                .with_data(json!({ "generation": snap.generation })));
            }
            Bound::Excluded(last)
        }
    };
    let f = &p.filter;
    let text = f.text.as_ref().map(|t| t.to_lowercase());
    let matches = |a: &Asset| {
        f.kind.is_none_or(|k| a.entry.kind == k)
            && f.status.is_none_or(|s| a.status == s)
            && f.path_prefix.as_ref().is_none_or(|pre| a.path().starts_with(pre.as_str()))
            && f.tag.as_ref().is_none_or(|t| a.entry.tags.iter().any(|x| x == t))
            && text.as_ref().is_none_or(|t| a.path().to_lowercase().contains(t.as_str()))
    };
    let mut items = Vec::with_capacity(limit);
    let mut next_cursor = None;
    for (_, id) in snap.contents.by_path.range::<_, str>((start, Bound::Unbounded)) {
        let Some(asset) = snap.contents.assets.get(id) else {
            continue;
        };
        if !matches(asset) {
            continue;
        }
        if items.len() == limit {
            next_cursor = Some(format!("{}:{}", snap.generation, items_last_path(&items)));
            break;
        }
        items.push(asset.clone());
    }
    answer(ListAssetsResult { generation: snap.generation, items, next_cursor })
}

fn items_last_path(items: &[Arc<Asset>]) -> &str {
    items.last().map_or("", |a| a.path())
}

fn begin_change(conn: &Arc<Connection>, p: BeginExternalChangeParams) -> Result<Value, RpcError> {
    use crate::project::external::{DEFAULT_TIMEOUT, MAX_TIMEOUT};
    let timeout = match p.timeout_ms {
        None => DEFAULT_TIMEOUT,
        Some(ms) if ms >= 1 && ms <= MAX_TIMEOUT.as_millis() as u64 => std::time::Duration::from_millis(ms),
        Some(ms) => {
            let max = MAX_TIMEOUT.as_millis();
            return Err(RpcError::invalid_params("timeoutMs", format!("{ms} is not between 1 and {max}")));
        }
    };
    let change_id = match conn.server.handle(&p.project_id) {
        Some(ProjectHandle::Attached(remote)) => {
            let params =
                json!({ "projectId": p.project_id, "reason": p.reason, "timeoutMs": timeout.as_millis() as u64 });
            let answer = remote.call("packer/beginExternalChange", params)?;
            answer["changeId"]
                .as_str()
                .map(str::to_string)
                .ok_or_else(|| RpcError::internal(format!("the owner answered {answer}")))?
        }
        _ => conn.server.project(&p.project_id)?.begin_external_change(&p.reason, timeout),
    };
    conn.note_change(&p.project_id, &change_id);
    answer(BeginExternalChangeResult { change_id })
}

fn end_change(conn: &Arc<Connection>, p: EndExternalChangeParams) -> Result<Value, RpcError> {
    let mine = conn.forget_change(&p.change_id);
    let ended = match &mine {
        Some(project_id) => end_change_of(&conn.server, project_id, &p.change_id, EndedBy::Client),
        // Another connection's change (a script ending what a hook began):
        // only the projects this process owns. Asking the owners it attaches
        // to would let two processes, each owning a project the other
        // attaches to, pass an unknown id back and forth for ever.
        None => conn.server.handles().iter().any(|h| match h {
            ProjectHandle::Local(owned) => owned.project.end_external_change(&p.change_id, EndedBy::Client),
            ProjectHandle::Attached(_) => false,
        }),
    };
    if !ended {
        return Err(RpcError::invalid_params(
            "changeId",
            format!("no open change has the id `{}` (it may have ended or timed out)", p.change_id),
        ));
    }
    Ok(Value::Null)
}

/// Ends a change of one project, here or at its owner; false when it is
/// not open there.
pub(super) fn end_change_of(server: &Server, project_id: &str, change_id: &str, by: EndedBy) -> bool {
    match server.handle(project_id) {
        Some(ProjectHandle::Local(owned)) => owned.project.end_external_change(change_id, by),
        // The owner ends it as its client's (this process's link) doing.
        Some(ProjectHandle::Attached(remote)) => {
            remote.call("packer/endExternalChange", json!({ "changeId": change_id })).is_ok()
        }
        None => false,
    }
}

pub fn cancel(server: &Server, p: CancelParams) -> Result<Value, RpcError> {
    let Some(op) = server.operation(&p.operation_id) else {
        // Not ours: perhaps an operation of a project another process owns.
        for remote in server.attached() {
            if let Ok(answer) = remote.call("packer/cancel", json!({ "operationId": p.operation_id })) {
                return Ok(answer);
            }
        }
        return Err(RpcError::invalid_params("operationId", format!("no operation has the id `{}`", p.operation_id)));
    };
    let before = if op.state().is_terminal() { op.state() } else { op.request_cancel(false) };
    answer(CancelResult { operation_id: op.id.clone(), previous_state: before, state: op.state() })
}
