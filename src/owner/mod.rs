//! One packer per project across processes.
//!
//! The first process to open a project becomes its **owner**: it holds an
//! exclusive lock on `.packer/owner.lock` (released by the kernel when the
//! process dies, so a crash never leaves a stale owner) and listens on a Unix
//! socket. Every other process that opens the project **attaches**: it
//! forwards that project's requests over the socket and relays the owner's
//! answers and events (see `server::attached`). When the owner goes away, one
//! attached process takes the lock over and opens the project from disk.
//!
//! Nobody else gets in: the socket lives in a folder only its user can enter,
//! the owner checks the peer's user id on every connection, and no TCP port
//! is ever opened.

pub mod lock;
pub mod socket;

pub use lock::OwnerLock;
