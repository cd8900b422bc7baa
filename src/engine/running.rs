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

    /// What happens in the lab from now on (`netlab events --lab LAB`): links, addresses,
    /// routes and workloads, as an iterator that ends when the lab goes down. With
    /// `initial`, first what is there now.
    pub fn events(&self, initial: bool) -> Result<super::events::Events<'_, S>> {
        let opts = super::events::Options { lab: Some(self.lab.name.clone()), initial };
        super::events::events(&self.sys, opts)
    }

    /// Takes interface `target` (`"NODE:IFACE"`, a switch's port too) down like pulling its
    /// cable: the far end loses its carrier. The change is a runtime override recorded with
    /// the lab, so `plan` shows no drift and `up` keeps it down, until [`Running::link_up`]
    /// (or `netlab up --reset`, or the lab going down). Errors name the nodes or interfaces
    /// there are when `target` is none of them.
    pub fn link_down(&self, target: &str) -> Result<()> {
        self.rt.block_on(super::live::set(&self.sys, &self.lab, target, super::live::Change::Down)).map(drop)
    }

    /// Lets interface `target` (`"NODE:IFACE"`) up again after [`Running::link_down`]: the
    /// routes the file gives through it come back with it.
    pub fn link_up(&self, target: &str) -> Result<()> {
        self.rt.block_on(super::live::set(&self.sys, &self.lab, target, super::live::Change::Up)).map(drop)
    }

    /// Sets the egress impairment of interface `target` (`"NODE:IFACE"`) to `shape` in place
    /// of the file's, as a recorded runtime override like [`Running::link_down`]; `None` goes
    /// back to the file's. A shape this kernel has no qdisc for (netem for delay, jitter and
    /// loss) is refused before anything changes.
    pub fn impair(&self, target: &str, shape: Option<crate::model::shape::Shape>) -> Result<()> {
        let change = shape.map_or(super::live::Change::Clear, super::live::Change::Impair);
        self.rt.block_on(super::live::set(&self.sys, &self.lab, target, change)).map(drop)
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

    /// Runs the file's scenario `name` (see `[[scenario]]`): its steps in order, then every
    /// override it made undone, passed or failed.
    pub fn run_scenario(&self, name: &str) -> Result<super::scenario::ScenarioResult> {
        let s = self.lab.scenarios.iter().find(|s| s.name == name);
        let s =
            s.ok_or_else(|| Error::NotFound(format!("lab {} has no scenario {name:?}", self.lab.name)))?;
        Ok(self.rt.block_on(super::scenario::run(&self.sys, &self.lab, s)))
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
