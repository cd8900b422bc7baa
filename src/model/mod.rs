//! The validated lab: every name checked, every address parsed, every derived name computed.
//! Nothing downstream re-parses strings or re-checks what `resolve` guaranteed.

pub mod caps;
pub mod firewall;
pub mod limits;
pub mod names;
pub mod resolve;
pub mod seccomp;
pub mod shape;
mod types;
pub mod workload;

pub use resolve::resolve;
pub use types::*;
