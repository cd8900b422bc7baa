//! netlab: declarative network labs on one Linux machine.
//!
//! A topology file names network namespaces (nodes), veth pairs (links), bridges (switches),
//! addresses, routes and sysctls. [`Lab::load`] validates it without touching anything;
//! [`Lab::up`] reconciles the kernel to it through netlink, and [`teardown::down`] removes
//! everything the lab owns, found by its record and its marks.
//!
//! The data flows one way: `spec` (the file as written) → `model` (validated) →
//! `plan` (a diff against what `sys::netlink::observe` reads) → `apply` through the `backend` traits.

pub mod apply;
pub mod backend;
pub mod checks;
pub mod cli;
pub mod error;
pub mod graph;
pub mod junit;
pub mod lab;
pub mod model;
pub mod plan;
pub mod running;
pub mod spec;
pub mod state;
pub mod sys;
pub mod teardown;

pub use checks::CheckResult;
pub use error::{Error, Result};
pub use lab::Lab;
pub use running::Running;
