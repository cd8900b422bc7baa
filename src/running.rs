//! The synchronous library API for tests: a lab that is up, torn down when dropped.
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

use crate::checks::{run_checks, CheckResult};
use crate::error::{Error, Result, SysError};
use crate::model::NsRef;
use crate::sys::netns;
use crate::Lab;
use std::process::{Child, Output, Stdio};

/// A lab that is up. Dropping it tears the lab down.
pub struct Running {
    lab: Lab,
    rt: tokio::runtime::Runtime,
    done: bool,
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Error::Usage(format!("starting the runtime: {e}")))
}

impl Lab {
    /// Brings the lab up (`netlab up`) and returns a guard that takes it down again.
    pub fn up(&self) -> Result<Running> {
        let rt = runtime()?;
        let running = Running { lab: self.clone(), rt, done: false };
        // Even a failed `up` may have made something: the guard removes it on the way out.
        running.rt.block_on(self.reconcile(None))?;
        Ok(running)
    }
}

impl Running {
    pub fn lab(&self) -> &Lab {
        &self.lab
    }

    /// The network namespace of `node` (`None` for a host node).
    pub fn netns(&self, node: &str) -> Result<Option<String>> {
        match self.lab.model.nodes.get(node).map(|n| &n.ns) {
            Some(NsRef::Named(n)) => Ok(Some(n.clone())),
            Some(NsRef::Host) => Ok(None),
            None => Err(Error::NotFound(format!("lab {} has no node {node}", self.lab.name()))),
        }
    }

    fn command(&self, node: &str, cmd: &[&str]) -> Result<std::process::Command> {
        let (program, args) = cmd.split_first().ok_or_else(|| Error::Usage("an empty command".into()))?;
        let mut c = match self.netns(node)? {
            Some(ns) => netns::command_in(&ns, program)
                .map_err(|e| Error::Sys(SysError::new(format!("entering node {node}"), e)))?,
            None => std::process::Command::new(program),
        };
        c.args(args);
        Ok(c)
    }

    /// Runs a command in the node's network namespace and waits for it.
    pub fn exec(&self, node: &str, cmd: &[&str]) -> Result<Output> {
        self.command(node, cmd)?
            .stdin(Stdio::null())
            .output()
            .map_err(|e| Error::Sys(SysError::new(format!("running {} in node {node}", cmd[0]), e)))
    }

    /// Starts a command in the node's network namespace; the caller owns (and must end) it.
    pub fn spawn(&self, node: &str, cmd: &[&str]) -> Result<Child> {
        self.command(node, cmd)?
            .spawn()
            .map_err(|e| Error::Sys(SysError::new(format!("starting {} in node {node}", cmd[0]), e)))
    }

    /// Runs the file's checks.
    pub fn check_all(&self) -> Vec<CheckResult> {
        run_checks(&self.lab.model)
    }

    /// Takes the lab down now, reporting what could not be removed.
    pub fn down(mut self) -> Result<()> {
        self.done = true;
        self.rt.block_on(crate::teardown::down(self.lab.name())).map(drop)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if !self.done {
            if let Err(e) = self.rt.block_on(crate::teardown::down(self.lab.name())) {
                eprintln!("netlab: tearing down lab {}: {e}", self.lab.name());
            }
        }
    }
}
