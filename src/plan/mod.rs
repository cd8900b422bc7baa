//! The plan: what `up` must do to turn the kernel's state into the file's, as a value.

pub mod desired;
pub mod diff;
pub mod op;
pub mod procs;
pub mod reach;
pub mod teardown;

pub use diff::{diff, prune};
pub use op::{Op, Plan};
