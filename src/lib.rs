//! studio-packer: the owner of a game project's asset semantics, served over
//! JSON-RPC on stdio. See ARCHITECTURE.md for the map of this crate.

pub mod binary;
pub mod build;
pub mod check;
pub mod client;
pub mod events;
pub mod fault;
pub mod fsutil;
#[cfg(feature = "test-hooks")]
pub mod fuzz_checks;
pub mod git;
pub mod hash;
pub mod ids;
pub mod limits;
pub mod operations;
pub mod owner;
pub mod project;
pub mod protocol;
pub mod server;
pub mod transport;
pub mod vcs;
