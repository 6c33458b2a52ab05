//! The workspace on disk: the root as an open handle (`sandbox`), the
//! packer's state folder `.packer/` (`state`), what the asset files are
//! (`workspace`: kinds, inspect, scan) and the stat cache that spares
//! reading unchanged files (`statcache`).
//!
//! A layer above `format`: these files read the manifest's asset roots but
//! know nothing of snapshots, divergence or the write path.

pub mod sandbox;
pub mod statcache;
pub mod state;
pub mod workspace;
