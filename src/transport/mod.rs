//! The JSON-RPC transport: framing ([`codec`]), message shapes
//! ([`message`]) and the ordered, bounded output queue ([`outbox`]).
//!
//! This is the project's own rather than a framework's: see ARCHITECTURE.md
//! for the measurements that decided it.

pub mod codec;
pub mod message;
pub mod outbox;

pub use message::{Id, RpcError};
pub use outbox::Outbox;
