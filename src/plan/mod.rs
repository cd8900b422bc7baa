//! The plan: what `up` must do to turn the kernel's state into the file's, as a value.

pub mod diff;
pub mod op;
pub mod procs;
pub mod shape;

pub use diff::diff;
pub use op::{Op, Plan};
pub use shape::{desired, IfKind, IfState, NetState, NsState, RouteState};
