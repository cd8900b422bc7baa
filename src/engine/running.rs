//! A lab that is up, for Rust tests: commands in its nodes, its checks, and teardown when
//! dropped (also when the test panics).

use crate::backend::System;
use crate::engine::test::{run_checks, CheckResult};
use crate::error::{Error, Result, SysError};
use crate::model::{Lab, NsRef};
use std::process::{Child, Command, Output, Stdio};

/// A lab that is up. Dropping it tears the lab down.
pub struct Running<S: System> {
    lab: Lab,
    sys: S,
    rt: tokio::runtime::Runtime,
    done: bool,
}

impl<S: System> Running<S> {
    /// Brings `lab` up on `sys` (`netlab up`); even a failed `up` may have made something,
    /// so the guard exists before it starts and removes it on the way out.
    pub fn up(lab: &Lab, sys: S, rt: tokio::runtime::Runtime) -> Result<Running<S>> {
        let running = Running { lab: lab.clone(), sys, rt, done: false };
        running.rt.block_on(super::up::up(&running.sys, lab, Default::default(), &|_| {}, &|| {}))?;
        Ok(running)
    }

    pub fn lab(&self) -> &Lab {
        &self.lab
    }

    /// The network namespace of `node` (`None` for a host node).
    pub fn netns(&self, node: &str) -> Result<Option<String>> {
        match self.lab.nodes.get(node).map(|n| &n.ns) {
            Some(NsRef::Named(n)) => Ok(Some(n.clone())),
            Some(NsRef::Host) => Ok(None),
            None => Err(Error::NotFound(format!("lab {} has no node {node}", self.lab.name))),
        }
    }

    fn command(&self, node: &str, cmd: &[&str]) -> Result<Command> {
        let (program, args) = cmd.split_first().ok_or_else(|| Error::Usage("an empty command".into()))?;
        let ns = self.lab.nodes.get(node).map(|n| n.ns.clone());
        let ns = ns.ok_or_else(|| Error::NotFound(format!("lab {} has no node {node}", self.lab.name)))?;
        let mut c = self
            .sys
            .command_in(&ns, program)
            .map_err(|e| Error::Sys(SysError::new(format!("entering node {node}"), e)))?;
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

    /// Starts capturing on `target` (`NODE:IFACE`, or `NODE:*` for every interface of the
    /// node) into `out` (pcapng unless `opts` says pcap), as `netlab capture` does: packets are
    /// kept from the moment this returns until `opts`' count or duration, or
    /// [`Capturing::stop`](super::capture::Capturing::stop), which hands `out` back.
    ///
    /// ```no_run
    /// # fn f(up: &netlab::Running) -> netlab::Result<()> {
    /// let cap = up.capture("a:eth0", &Default::default(), Vec::new())?;
    /// up.exec("a", &["ping", "-c", "1", "10.0.0.2"])?;
    /// let (summary, pcapng) = cap.stop()?;
    /// # Ok(()) }
    /// ```
    pub fn capture<W: std::io::Write + Send + 'static>(
        &self,
        target: &str,
        opts: &super::capture::Options,
        out: W,
    ) -> Result<super::capture::Capturing<W>> {
        use super::capture as cap;
        let (node, iface) = cap::split(target)?;
        let ns = self.lab.nodes.get(node).map(|n| n.ns.clone()).ok_or_else(|| {
            let names: Vec<&str> = self.lab.nodes.keys().map(String::as_str).collect();
            Error::NotFound(format!("lab {} has no node {node}; nodes: {}", self.lab.name, names.join(", ")))
        })?;
        let ifaces = cap::interfaces(&self.sys, node, &ns, iface)?;
        let t = cap::Target { lab: self.lab.name.clone(), node: node.to_string(), ns, ifaces };
        let (tap, writer) = cap::open(&self.sys, &t, &t.ifaces, opts, out)?;
        Ok(cap::Capturing::start(vec![(tap, 0)], writer, opts))
    }

    /// Runs the file's checks.
    pub fn check_all(&self) -> Vec<CheckResult> {
        self.rt.block_on(run_checks(&self.sys, &self.lab))
    }

    /// Takes the lab down now, reporting what could not be removed.
    pub fn down(mut self) -> Result<()> {
        self.done = true;
        self.rt.block_on(super::down::down(&self.sys, &self.lab.name)).map(drop)
    }
}

impl<S: System> Drop for Running<S> {
    fn drop(&mut self) {
        if !self.done {
            if let Err(e) = self.rt.block_on(super::down::down(&self.sys, &self.lab.name)) {
                eprintln!("netlab: tearing down lab {}: {e}", self.lab.name);
            }
        }
    }
}
