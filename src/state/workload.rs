//! What runs in a node, as `status` and `exec` see it.

pub use crate::sys::procs::{ExecInfo, WorkloadStatus};
