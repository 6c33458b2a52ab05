//! Requests about the connection and the server rather than one snapshot:
//! opening and listing projects, external changes (which end with the
//! connection that began them), cancelling an operation. They change what
//! this connection is subscribed to or holds, never a project's files.

use std::sync::Arc;

use serde_json::{json, Value};

use super::super::connection::Connection;
use super::super::{ownership, root_path, ProjectHandle, Server};
use super::{answer, typed};
use crate::project::external::EndedBy;
use crate::protocol::model::{BeginExternalChangeResult, CancelResult, OpenProjectResult, ProjectInfo};
use crate::protocol::{BeginExternalChangeParams, CancelParams, EndExternalChangeParams, OpenProjectParams};
use crate::transport::RpcError;

pub fn open_project(conn: &Arc<Connection>, p: OpenProjectParams) -> Result<Value, RpcError> {
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
pub fn describe_project(handle: &ProjectHandle) -> ProjectInfo {
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

pub fn begin_change(conn: &Arc<Connection>, p: BeginExternalChangeParams) -> Result<Value, RpcError> {
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

pub fn end_change(conn: &Arc<Connection>, p: EndExternalChangeParams) -> Result<Value, RpcError> {
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
pub fn end_change_of(server: &Server, project_id: &str, change_id: &str, by: EndedBy) -> bool {
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
