//! netlab: declarative network labs on one Linux machine.
//!
//! A topology file names network namespaces (nodes), veth pairs (links), bridges (switches),
//! addresses, routes, sysctls, firewall rules and workloads. [`Lab::load`] validates it
//! without touching anything; [`Lab::up`] reconciles the kernel to it and returns a guard that
//! takes the lab down again.
//!
//! The data flows one way: `spec` (the file as written) → `model` (validated) → `plan` (a
//! diff against what the observer reads into `state`) → `engine`, which applies it through the
//! `backend` traits; `sys` implements them on the kernel, `backend::fake` in memory.
//!
//! ```no_run
//! // In a test of your own crate (as root, like netlab itself):
//! let lab = netlab::Lab::from_str(r#"
//!     [nodes.a]
//!     [nodes.b]
//!     [[links]]
//!     endpoints = ["a:eth0", "b:eth0"]
//!     addresses = ["10.0.0.1/24", "10.0.0.2/24"]
//!     [[check]]
//!     from = "a"
//!     ping = "10.0.0.2"
//! "#)?;
//! let up = lab.up()?;                       // torn down when `up` is dropped, panic or not
//! let out = up.exec("a", &["ip", "-br", "addr"])?;
//! assert!(String::from_utf8_lossy(&out.stdout).contains("10.0.0.1/24"));
//! assert!(up.check_all().iter().all(|c| c.passed()));
//! up.down()?;
//! # Ok::<(), netlab::Error>(())
//! ```
//!
//! [`Running::events`](engine::running::Running::events) follows a lab that is up as an
//! iterator of [`Event`]s (links, addresses, routes, workloads), like `netlab events`:
//!
//! ```no_run
//! use std::time::{Duration, Instant};
//! let up = netlab::Lab::load(std::path::Path::new("lab.toml"))?.up()?;
//! // What is there now, then every change for up to ten seconds.
//! for event in up.events(true)?.until(Instant::now() + Duration::from_secs(10)) {
//!     println!("{event}"); // or event.to_json()
//! }
//! # Ok::<(), netlab::Error>(())
//! ```

pub mod backend;
pub mod capture;
pub mod cli;
pub mod engine;
pub mod error;
pub mod graph;
pub mod model;
pub mod plan;
pub mod profile;
pub mod spec;
pub mod state;
pub mod sys;

pub use engine::test::CheckResult;
pub use error::{Error, Result};
pub use model::Lab;
pub use state::event::Event;

/// A lab that is up on this machine; dropping it tears the lab down.
pub type Running = engine::running::Running<sys::Real>;

impl Lab {
    /// Brings the lab up on this machine (`netlab up`) and returns a guard that takes it down.
    pub fn up(&self) -> Result<Running> {
        Running::up(self, sys::Real::new(), sys::runtime::runtime()?)
    }
}

pub use capture::{Format as CaptureFormat, Packet};
pub use engine::capture::{Capturing, Options as CaptureOptions, Summary as CaptureSummary};
