//! A project this process owns: the project itself, the owner lock, and the
//! socket other processes attach through.

use std::os::unix::net::{UnixListener, UnixStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::thread::JoinHandle;
use std::time::Duration;

use super::Server;
use crate::owner::{socket, OwnerLock};
use crate::project::Project;

/// Attached processes' connections: a clone of each stream (to end it) and
/// the thread serving it.
type Peers = Arc<Mutex<Vec<(UnixStream, JoinHandle<()>)>>>;

pub struct Owned {
    pub project: Arc<Project>,
    lock: Mutex<Option<OwnerLock>>,
    socket: socket::Address,
    stopping: Arc<AtomicBool>,
    listener: Mutex<Option<JoinHandle<()>>>,
    peers: Peers,
}

impl Owned {
    /// Starts listening for attached processes. The lock must be held.
    pub fn start(server: &Arc<Server>, project: Arc<Project>, lock: OwnerLock) -> std::io::Result<Arc<Owned>> {
        // We hold the lock, so a socket file there is a dead owner's: replaced.
        let (listener, socket) = socket::listen(&project.root)?;
        let stopping = Arc::new(AtomicBool::new(false));
        let peers: Peers = Arc::default();
        let thread = {
            let server = Arc::downgrade(server);
            let stopping = stopping.clone();
            let peers = peers.clone();
            let project = Arc::downgrade(&project);
            std::thread::Builder::new()
                .name("packer-owner".into())
                .spawn(move || accept_loop(listener, server, stopping, peers, project))?
        };
        tracing::info!(project = %project.id, socket = %socket.shown().display(), "owning the project");
        Ok(Arc::new(Owned {
            project,
            lock: Mutex::new(Some(lock)),
            socket,
            stopping,
            listener: Mutex::new(Some(thread)),
            peers,
        }))
    }

    /// Stops owning: cancels the project's operations, stops accepting,
    /// ends attached connections (they take over) and releases the lock.
    /// With `join_peers`, waits for attached connections to flush their answers.
    pub fn stop(&self, join_peers: bool) {
        self.project.close();
        if !self.stopping.swap(true, Ordering::SeqCst) {
            // Wake the accept loop so it sees `stopping`.
            self.socket.poke();
            if let Some(t) = self.listener.lock().expect("listener lock").take() {
                let _ = t.join();
            }
            self.socket.remove();
        }
        let peers: Vec<(UnixStream, JoinHandle<()>)> = std::mem::take(&mut *self.peers.lock().expect("peers lock"));
        for (stream, thread) in peers {
            // Ending the read side lets the peer's connection finish what it
            // has queued, then close.
            let _ = stream.shutdown(std::net::Shutdown::Read);
            if join_peers {
                let _ = thread.join();
            }
        }
        if let Some(lock) = self.lock.lock().expect("lock lock").take() {
            lock.release();
        }
    }
}

fn accept_loop(
    listener: UnixListener,
    server: Weak<Server>,
    stopping: Arc<AtomicBool>,
    peers: Peers,
    project: Weak<Project>,
) {
    for stream in listener.incoming() {
        if stopping.load(Ordering::SeqCst) {
            return;
        }
        let stream = match stream {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(error = %e, "accepting an attached process failed");
                std::thread::sleep(Duration::from_millis(10));
                continue;
            }
        };
        let Some(project) = project.upgrade() else { return };
        if !socket::same_user(&stream) {
            tracing::warn!(project = %project.id, peer_uid = ?socket::peer_uid(&stream), "refused a connection from another user");
            continue;
        }
        let Some(server) = server.upgrade() else { return };
        // Someone else relies on this process's view of the disk now.
        project.ensure_watching();
        drop(project);
        let (Ok(read), Ok(keep)) = (stream.try_clone(), stream.try_clone()) else { continue };
        let thread = std::thread::Builder::new().name("packer-peer".into()).spawn(move || {
            super::serve(server, read, stream);
        });
        match thread {
            Ok(t) => {
                let mut peers = peers.lock().expect("peers lock");
                peers.retain(|(_, t)| !t.is_finished());
                peers.push((keep, t));
            }
            Err(e) => tracing::warn!(error = %e, "cannot start a thread for an attached process"),
        }
    }
}
