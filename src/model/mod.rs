//! The validated lab: every name checked, every address parsed, every derived name computed.
//! Nothing downstream re-parses strings or re-checks what `resolve` guaranteed.

pub mod firewall;
pub mod limits;
pub mod names;
pub mod resolve;
pub mod shape;
pub mod workload;
pub mod seccomp;
mod types;

pub use resolve::resolve;
pub use types::*;
