//! The validated lab: every name checked, every address parsed, every derived name computed.
//! Nothing downstream re-parses strings or re-checks what `resolve` guaranteed.

pub mod addr_class;
pub mod caps;
pub mod duration;
pub mod firewall;
pub mod limits;
pub mod names;
pub mod resolve;
pub mod route_metric;
pub mod scenario;
pub mod seccomp;
pub mod shape;
pub mod sysctl;
mod types;
pub mod workload;

pub use resolve::resolve;
pub use types::*;
