//! The server: the projects this process has open, owned here or attached
//! to another process's ([`Server`]), and the connections that use them
//! ([`connection`]).
//!
//! A process owns a project when it holds the project's owner lock; then it
//! also serves attached processes on the project's socket, with the same
//! connection code as stdin. Otherwise it attaches and forwards (`remote`).

mod attached;
mod connection;
mod handlers;
mod owned;

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use dashmap::DashMap;
use serde_json::json;

use attached::Attached;
pub use connection::{root_path, serve};
use owned::Owned;

use crate::operations::Operation;
use crate::owner::OwnerLock;
use crate::project::disk::state::StateDir;
use crate::project::format::manifest::{Manifest, ManifestError, MANIFEST_FILE};
use crate::project::{OpenError, Project};
use crate::protocol::model::Ownership;
use crate::transport::message::code;
use crate::transport::{Outbox, RpcError};

/// How long opening waits for an owner that is starting or going away.
const OPEN_TIMEOUT: Duration = Duration::from_secs(15);

/// An open project as this process sees it.
#[derive(Clone)]
pub enum ProjectHandle {
    Local(Arc<Owned>),
    Attached(Arc<Attached>),
}

impl ProjectHandle {
    pub fn id(&self) -> &str {
        match self {
            ProjectHandle::Local(o) => &o.project.id,
            ProjectHandle::Attached(r) => &r.project_id,
        }
    }
}

/// State shared by every connection of this process.
pub struct Server {
    projects: DashMap<String, ProjectHandle>,
    /// Opening is rare and may scan a large folder; one at a time keeps two
    /// clients opening the same root from creating two projects.
    open_lock: Mutex<()>,
    runtime: tokio::runtime::Handle,
}

impl Server {
    pub fn new(runtime: tokio::runtime::Handle) -> Arc<Server> {
        Arc::new(Server { projects: DashMap::new(), open_lock: Mutex::new(()), runtime })
    }

    pub fn handle(&self, project_id: &str) -> Option<ProjectHandle> {
        self.projects.get(project_id).map(|h| h.clone())
    }

    /// A project this process owns, by id.
    pub fn project(&self, project_id: &str) -> Result<Arc<Project>, RpcError> {
        match self.handle(project_id) {
            Some(ProjectHandle::Local(o)) => Ok(o.project.clone()),
            Some(ProjectHandle::Attached(_)) => Err(RpcError::failed(
                "attached",
                format!("project `{project_id}` is owned by another process; this request cannot be forwarded"),
            )),
            None => Err(RpcError::invalid_params(
                "projectId",
                format!("no open project has the id `{project_id}`: call packer/openProject first"),
            )),
        }
    }

    pub fn handles(&self) -> Vec<ProjectHandle> {
        self.projects.iter().map(|h| h.clone()).collect()
    }

    pub fn attached(&self) -> Vec<Arc<Attached>> {
        self.handles()
            .into_iter()
            .filter_map(|h| match h {
                ProjectHandle::Attached(r) => Some(r),
                ProjectHandle::Local(_) => None,
            })
            .collect()
    }

    /// Opens `root`: owns it when no live process does, attaches otherwise,
    /// or returns the handle this process already has.
    /// `subscriber` receives the project's events from now on: subscribed
    /// under the open lock, so that a concurrent release by the last other
    /// client cannot close the project between the open and the subscription.
    pub fn open_project(
        self: &Arc<Self>,
        root: &Path,
        create: bool,
        subscriber: &Arc<Outbox>,
    ) -> Result<ProjectHandle, RpcError> {
        let _guard = self.open_lock.lock().expect("open lock");
        let handle = self.open_locked(root, create)?;
        match &handle {
            ProjectHandle::Local(owned) => owned.project.bus.subscribe(subscriber.clone()),
            ProjectHandle::Attached(remote) => remote.subscribe(subscriber.clone()),
        }
        Ok(handle)
    }

    fn open_locked(self: &Arc<Self>, root: &Path, create: bool) -> Result<ProjectHandle, RpcError> {
        if create && !root.join(MANIFEST_FILE).exists() {
            crate::project::create(root, None).map_err(open_error)?;
        }
        let canonical = root.canonicalize().map_err(|_| open_error(OpenError::NoFolder(root.display().to_string())))?;
        let id = crate::ids::project_id(&canonical);
        if let Some(h) = self.handle(&id) {
            return Ok(h);
        }
        // Refuse a folder that is not a project before creating anything in it.
        Manifest::load(&canonical).map_err(|e| open_error(OpenError::Manifest(e)))?;
        // The lock file is the first thing written in `.packer/`: the folder
        // is checked before it (a link there would be written through).
        let state = crate::project::disk::state::prepare(&canonical).map_err(|e| open_error(e.into()))?;
        let lock_path = state.path().join("owner.lock");
        let deadline = Instant::now() + OPEN_TIMEOUT;
        loop {
            match OwnerLock::try_acquire(&lock_path) {
                Ok(Some(lock)) => {
                    let project = Project::open(&canonical, state).map_err(open_error)?;
                    let owned = Owned::start(self, project, lock)
                        .map_err(|e| RpcError::failed("io", format!("cannot listen for other processes: {e}")))?;
                    let handle = ProjectHandle::Local(owned);
                    self.projects.insert(id, handle.clone());
                    return Ok(handle);
                }
                Ok(None) => {}
                Err(e) => {
                    let shown = canonical.join(crate::project::disk::state::STATE_DIR).join("owner.lock");
                    return Err(RpcError::failed("io", format!("{}: {e}", shown.display())));
                }
            }
            match Attached::attach(self, &canonical, &id) {
                Ok(remote) => {
                    let handle = ProjectHandle::Attached(remote);
                    self.projects.insert(id, handle.clone());
                    return Ok(handle);
                }
                Err(e) if Instant::now() > deadline => {
                    return Err(RpcError::failed(
                        "ownerUnreachable",
                        format!("another process owns {} but does not answer: {e}", canonical.display()),
                    ));
                }
                // The owner is starting (lock taken, socket not yet bound) or leaving.
                Err(_) => std::thread::sleep(Duration::from_millis(20)),
            }
        }
    }

    /// Called by an attached project whose owner went away and whose lock
    /// this process now holds: open the project from disk and carry on.
    fn adopt(
        self: &Arc<Self>,
        root: &Path,
        lock: OwnerLock,
        state: StateDir,
        subscribers: Vec<Arc<Outbox>>,
        last_seq: u64,
    ) -> Result<(), RpcError> {
        let _guard = self.open_lock.lock().expect("open lock");
        let project = Project::open(root, state).map_err(open_error)?;
        // Events the old owner journaled but never delivered here (and any
        // the new project emitted since it opened), then live ones: one step.
        for s in subscribers {
            if let Err(e) = project.bus.subscribe_after(s.clone(), last_seq) {
                tracing::warn!(error = %e, "cannot replay the journal to a client; it may miss events");
                project.bus.subscribe(s);
            }
        }
        let owned = Owned::start(self, project.clone(), lock)
            .map_err(|e| RpcError::failed("io", format!("cannot listen for other processes: {e}")))?;
        self.projects.insert(project.id.clone(), ProjectHandle::Local(owned));
        let body = crate::protocol::events::EventBody::OwnerChanged { owner_pid: std::process::id() };
        project.bus.emit(body.into_fields(), None);
        tracing::info!(project = %project.id, "took the project over");
        Ok(())
    }

    /// Drops a connection's interest in a project; the last one closes it.
    pub fn release(&self, project_id: &str, outbox: &Arc<Outbox>) {
        let _guard = self.open_lock.lock().expect("open lock");
        let Some(handle) = self.handle(project_id) else { return };
        match handle {
            ProjectHandle::Local(owned) => {
                if owned.project.bus.others_than(outbox) == 0 {
                    // The last client: stop first, so that it still receives
                    // the terminal events of the operations this cancels.
                    self.projects.remove(project_id);
                    // Called from a connection's own thread: do not wait for peers.
                    owned.stop(false);
                    tracing::info!(project = %project_id, "closed project");
                }
                owned.project.bus.unsubscribe(outbox);
            }
            ProjectHandle::Attached(remote) => {
                if remote.unsubscribe(outbox) == 0 {
                    self.projects.remove(project_id);
                    remote.close();
                }
            }
        }
    }

    /// Closes everything before the process exits: owned projects stop
    /// (attached processes then take them over), attachments disconnect.
    pub fn shutdown(&self) {
        let handles: Vec<ProjectHandle> = {
            let _guard = self.open_lock.lock().expect("open lock");
            let handles = self.handles();
            self.projects.clear();
            handles
        };
        // Without the open lock: attached connections ending here release
        // their projects, which takes that lock.
        for handle in handles {
            match handle {
                ProjectHandle::Local(owned) => owned.stop(true),
                ProjectHandle::Attached(remote) => remote.close(),
            }
        }
    }

    /// The operation with this id, in whichever owned project it is.
    pub fn operation(&self, operation_id: &str) -> Option<Arc<Operation>> {
        self.handles().into_iter().find_map(|h| match h {
            ProjectHandle::Local(o) => o.project.ops.find(operation_id),
            ProjectHandle::Attached(_) => None,
        })
    }
}

fn open_error(e: OpenError) -> RpcError {
    let mut data = json!({ "reason": e.reason() });
    if let OpenError::Manifest(ManifestError::Invalid { file, line, column, key, .. }) = &e {
        data = json!({ "reason": e.reason(), "file": file, "line": line, "column": column, "key": key });
    }
    if let OpenError::StateFolder(refused) = &e {
        data = json!({ "reason": e.reason(), "path": refused.path });
    }
    RpcError::new(code::REQUEST_FAILED, e.to_string()).with_data(data)
}

/// Serves one client on `input`/`output` with a server of its own, then
/// closes every project: the whole life of a `serve` process.
pub fn run(input: impl std::io::Read, output: impl std::io::Write + Send + 'static) -> i32 {
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            tracing::error!(error = %e, "cannot start the async runtime");
            return 1;
        }
    };
    let server = Server::new(runtime.handle().clone());
    let code = serve(server.clone(), input, output);
    server.shutdown();
    // Spawned reads still running have nothing left to answer to.
    runtime.shutdown_background();
    code
}

/// A summary of a handle for `packer/listProjects` and `openProject`.
pub fn ownership(handle: &ProjectHandle) -> Ownership {
    use crate::protocol::model::OwnershipMode;
    match handle {
        ProjectHandle::Local(_) => Ownership { mode: OwnershipMode::Owner, owner_pid: Some(std::process::id()) },
        ProjectHandle::Attached(r) => Ownership { mode: OwnershipMode::Attached, owner_pid: r.owner_pid() },
    }
}
