//! The write path: a mutation's `plan` and `execute` (`mutation`), the
//! `reconcile` mutation's planning (`reconcile`) and the intent record that
//! settles an apply a crash interrupted (`intent`).
//!
//! A layer above `snapshot`: a plan is made against a snapshot. The lane
//! that runs these is the open project's (`project::lane`), one layer up.

pub mod intent;
pub mod mutation;
pub mod reconcile;
