//! Request handlers: functions from typed params to a typed result of the
//! protocol model (`protocol::model`), made JSON here and only here. Reads
//! of one snapshot are in [`snapshot`]; requests about the connection and
//! the server (open, external changes, cancel) in [`session`]. None of them
//! writes a project's files; writes go through the lane.

pub mod session;
pub mod snapshot;

pub use session::end_change_of;

use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

use super::connection::Connection;
use crate::project::format::manifest::Profile;
use crate::project::write::mutation;
use crate::protocol::model::{
    ExperimentalCapabilities, InitializeResult, ListProjectsResult, OperationsResult, PackerCapabilities, ProjectInfo,
    ReplayEventsResult, ServerCapabilities, ServerInfo,
};
use crate::protocol::{self, Request};
use crate::transport::RpcError;

/// Default and largest page of `packer/listAssets`.
pub const DEFAULT_PAGE: usize = 100;
pub const MAX_PAGE: usize = 1000;
/// Default and largest page of `packer/replayEvents`.
pub const DEFAULT_REPLAY: usize = 1000;
pub const MAX_REPLAY: usize = 10_000;

/// A typed result as the wire carries it.
pub(super) fn answer<T: Serialize>(result: T) -> Result<Value, RpcError> {
    serde_json::to_value(result).map_err(|e| RpcError::internal(format!("a result did not serialise: {e}")))
}

/// A typed value from a JSON answer (another process's).
pub(super) fn typed<T: DeserializeOwned>(value: Value, what: &str) -> Result<T, RpcError> {
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
                    profiles: Profile::ALL.to_vec(),
                    texture_formats: Profile::ALL
                        .iter()
                        .map(|p| (p.as_str().to_string(), crate::build::settings::format_names(*p)))
                        .collect(),
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
        Request::OpenProject(p) => session::open_project(conn, p),
        Request::CloseProject(p) => {
            server.project(&p.project_id)?;
            conn.unsubscribe(&p.project_id);
            Ok(Value::Null)
        }
        Request::ListProjects => {
            let mut projects: Vec<ProjectInfo> = server.handles().iter().map(session::describe_project).collect();
            projects.sort_by(|a, b| a.root.cmp(&b.root));
            answer(ListProjectsResult { projects })
        }
        Request::Summary(p) => {
            let project = server.project(&p.project_id)?;
            answer(project.summary(&project.snapshot()))
        }
        Request::ListAssets(p) => answer(snapshot::list_assets(&server.project(&p.project_id)?.snapshot(), &p)?),
        Request::GetAsset(p) => {
            let project = server.project(&p.project_id)?;
            let snap = project.snapshot();
            let mut result = snapshot::get_asset(&snap, &p)?;
            result.cooked = crate::build::cooked::of_asset(&project.cooked, &project.state_dir(), &snap, &result.asset);
            answer(result)
        }
        Request::Thumbnail(p) => {
            let project = server.project(&p.project_id)?;
            let snap = project.snapshot();
            let asset = snapshot::find_asset(&snap, &p.asset_id)?;
            if !(1..=crate::build::cooked::MAX_THUMBNAIL).contains(&p.size) {
                let msg = format!("invalid params: `size`: {} is not from 1 to 1024", p.size);
                return Err(RpcError::invalid_params("size", msg));
            }
            answer(crate::build::cooked::thumbnail(
                &project.cooked,
                &project.state_dir(),
                &snap,
                asset,
                p.size,
                p.target.as_deref(),
            )?)
        }
        Request::References(p) => answer(snapshot::references(&server.project(&p.project_id)?.snapshot(), &p)?),
        Request::Diagnostics(p) => answer(snapshot::diagnostics(&server.project(&p.project_id)?.snapshot(), &p)?),
        Request::PreviewMutation(p) => {
            let project = server.project(&p.project_id)?;
            // The snapshot is taken inside the gate: it and the disk agree.
            let _gate = project.disk_gate.read().unwrap_or_else(|e| e.into_inner());
            let snap = project.snapshot();
            let plan = mutation::plan(&project.root, &snap, &p.mutation, None);
            answer(plan.preview().map_err(|e| RpcError::internal(e.to_string()))?)
        }
        Request::Divergence(p) => answer(snapshot::divergence(&server.project(&p.project_id)?.snapshot())),
        Request::Operations(p) => answer(OperationsResult { items: server.project(&p.project_id)?.ops.list() }),
        Request::CacheStats(p) => {
            let project = server.project(&p.project_id)?;
            answer(crate::build::cache_stats(&project))
        }
        Request::ReplayEvents(p) => {
            let project = server.project(&p.project_id)?;
            let limit = snapshot::page_size(p.limit, DEFAULT_REPLAY, MAX_REPLAY)?;
            let (events, last_seq) = project
                .bus
                .replay(p.after, limit)
                .map_err(|e| RpcError::failed("io", format!("reading the event journal: {e}")))?;
            answer(ReplayEventsResult { events, last_seq })
        }
        Request::Cancel(p) => session::cancel(server, p),
        Request::BeginExternalChange(p) => session::begin_change(conn, p),
        Request::EndExternalChange(p) => session::end_change(conn, p),
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
