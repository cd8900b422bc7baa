//! `Procs`, the kernel implementation of `backend::Spawner`: each operation of the plan that
//! starts or stops a process, sets limits or runs `exec` commands, done on a blocking thread
//! (cgroup files and `fork` must not stall the runtime) and noted in the lab's runtime files.

use super::claim;
use super::holder::HolderSpec;
use super::store::Files;
use super::supervisor::WorkloadSpec;
use super::{node_cgroup, spawn, supervisor_cgroup, STOP_GRACE};
use crate::backend::Spawner;
use crate::error::SysError;
use crate::model::limits::Limits;
use crate::model::seccomp::Seccomp;
use crate::model::workload::{Confinement, Isolation, Workload};
use crate::sys::cgroup::{self, Layout};
use std::io;
use std::time::Duration;

/// The real `Spawner`.
pub struct Procs {
    pub files: Files,
    /// The namespace of each node (`None` for a host node).
    pub netns: std::collections::BTreeMap<String, Option<String>>,
    /// Fingerprints to store once an op has succeeded, by (node, what).
    pub fingerprints: std::collections::BTreeMap<(String, String), String>,
    /// The profile and filter of each node's holder (`None`: a plain node).
    pub profiles: std::collections::BTreeMap<String, (Option<Confinement>, Seccomp)>,
}

fn sys(op: String) -> impl FnOnce(io::Error) -> SysError {
    move |e| SysError::new(op, e)
}

impl Procs {
    fn layout() -> io::Result<Layout> {
        cgroup::detect()
    }

    fn fingerprint(&self, node: &str, what: &str) -> String {
        self.fingerprints.get(&(node.to_string(), what.to_string())).cloned().unwrap_or_default()
    }

    fn netns_of(&self, node: &str) -> io::Result<Option<String>> {
        self.netns.get(node).cloned().ok_or_else(|| io::Error::other(format!("no node {node} in this lab")))
    }
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> io::Result<T> + Send + 'static) -> io::Result<T> {
    tokio::task::spawn_blocking(f).await.map_err(io::Error::other)?
}

impl Spawner for Procs {
    async fn stop_all(&self, recorded: bool) -> Result<(), SysError> {
        let lab = self.files.lab.clone();
        blocking(move || super::teardown(&lab, recorded))
            .await
            .map_err(sys(format!("stopping the processes of lab {}", self.files.lab)))
    }

    async fn set_limits(&self, node: &str, limits: &Limits) -> Result<(), SysError> {
        let (rel, l) = (node_cgroup(&self.files.lab, node), *limits);
        let fp = self.fingerprint(node, "limits");
        let path = self.files.node(node, "limits");
        let files = self.files.clone();
        blocking(move || {
            Procs::layout()?.create(&rel, &l)?;
            if l.is_empty() {
                return match std::fs::remove_file(&path) {
                    Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
                    _ => Ok(()),
                };
            }
            files.write(&path, &fp)
        })
        .await
        .map_err(sys(format!("setting the limits of node {node}")))
    }

    async fn start_holder(&self, node: &str, isolation: &Isolation) -> Result<(), SysError> {
        let op = format!("starting node {node}");
        let netns = self
            .netns_of(node)
            .map_err(sys(op.clone()))?
            .ok_or_else(|| sys(op.clone())(io::Error::other("a host node cannot be isolated")))?;
        let (confine, seccomp) = self.profiles.get(node).cloned().unwrap_or((None, Seccomp::Unconfined));
        let spec = HolderSpec {
            lab: self.files.lab.clone(),
            node: node.to_string(),
            netns,
            isolation: isolation.clone(),
            cgroup: format!("{}/_init", node_cgroup(&self.files.lab, node)),
            confine,
            seccomp,
        };
        let files = self.files.clone();
        let (n, fp) = (node.to_string(), self.fingerprint(node, "holder"));
        blocking(move || {
            let layout = Procs::layout()?;
            layout.create(&spec.cgroup, &Limits::default())?;
            // A holder orphaned by an interrupted `up` goes first.
            layout.kill_all(&spec.cgroup)?;
            if spec.confine.is_some() {
                layout.restrict_devices(&spec.cgroup)?;
            }
            let pid = spawn::start_holder(&spec, &files.node(&n, "holder.json"))?;
            files.write(&files.node(&n, "pid"), &pid.to_string())?;
            files.write(&files.node(&n, "fp"), &fp)
        })
        .await
        .map_err(sys(op))
    }

    async fn stop_holder(&self, node: &str) -> Result<(), SysError> {
        let files = self.files.clone();
        let (n, rel) = (node.to_string(), format!("{}/_init", node_cgroup(&self.files.lab, node)));
        blocking(move || {
            if let Some(pid) = files.pid(&files.node(&n, "pid")) {
                spawn::stop(pid, &files.dir(), Duration::from_secs(1));
            }
            let layout = Procs::layout()?;
            layout.kill_all(&rel)?;
            layout.remove(&rel)?;
            for ext in ["pid", "fp", "holder.json"] {
                let _ = std::fs::remove_file(files.node(&n, ext));
            }
            Ok(())
        })
        .await
        .map_err(sys(format!("stopping node {node}")))
    }

    async fn run_exec(&self, node: &str, commands: &[String], timeout: Duration) -> Result<(), SysError> {
        let (lab, n, cmds) = (self.files.lab.clone(), node.to_string(), commands.to_vec());
        let files = self.files.clone();
        let fp = self.fingerprint(node, "exec");
        blocking(move || {
            for (i, cmd) in cmds.iter().enumerate() {
                super::oneshot::run(&lab, &n, i, cmd, timeout)?;
            }
            files.write(&files.node(&n, "exec.fp"), &fp)
        })
        .await
        .map_err(sys(format!("running exec in node {node}")))
    }

    async fn start_workload(&self, node: &str, workload: &Workload) -> Result<(), SysError> {
        let op = format!("starting workload {node}/{}", workload.name);
        let netns = self.netns_of(node).map_err(sys(op.clone()))?;
        let f = &self.files;
        let spec = WorkloadSpec {
            lab: f.lab.clone(),
            node: node.to_string(),
            netns,
            holder: f.holder(node),
            workload: workload.clone(),
            cgroup: format!("{}/{}", node_cgroup(&f.lab, node), workload.name),
            log: f.workload(node, &workload.name, "log"),
            status: f.workload(node, &workload.name, "status"),
        };
        let files = f.clone();
        let (n, name, fp, lab) = (
            node.to_string(),
            workload.name.clone(),
            self.fingerprint(node, &format!("workload:{}", workload.name)),
            f.lab.clone(),
        );
        let limits = workload.limits;
        blocking(move || {
            // A supervisor of an earlier, interrupted `up` goes first: one holds the claim,
            // whether or not its pid file was written.
            if let Some(old) = files.pid(&files.workload(&n, &name, "pid")) {
                spawn::stop(old, &files.dir(), STOP_GRACE);
            }
            let (claim, spec_path) = (files.workload(&n, &name, "lock"), files.workload(&n, &name, "json"));
            claim::release(&claim, &spec_path, &files.dir(), STOP_GRACE)?;
            // The old supervisor is gone: a stop note of it no longer applies.
            let _ = std::fs::remove_file(files.workload(&n, &name, "stop"));
            let layout = Procs::layout()?;
            layout.create(&supervisor_cgroup(&lab), &Limits::default())?;
            layout.create(&spec.cgroup, &limits)?;
            layout.kill_all(&spec.cgroup)?;
            if spec.workload.confine.is_some() {
                layout.restrict_devices(&spec.cgroup)?;
            }
            std::fs::create_dir_all(files.dir().join("workloads"))?;
            let pid = spawn::start_workload(&spec, &files.workload(&n, &name, "json"))?;
            files.write(&files.workload(&n, &name, "pid"), &pid.to_string())?;
            files.write(&files.workload(&n, &name, "fp"), &fp)
        })
        .await
        .map_err(sys(op))
    }

    async fn stop_workload(&self, node: &str, name: &str) -> Result<(), SysError> {
        let files = self.files.clone();
        let (n, w, rel) =
            (node.to_string(), name.to_string(), format!("{}/{name}", node_cgroup(&self.files.lab, node)));
        blocking(move || {
            let _ = files.mark_stopping(&n, &w);
            if let Some(pid) = files.pid(&files.workload(&n, &w, "pid")) {
                spawn::stop(pid, &files.dir(), STOP_GRACE);
            }
            let (claim, spec_path) = (files.workload(&n, &w, "lock"), files.workload(&n, &w, "json"));
            claim::release(&claim, &spec_path, &files.dir(), STOP_GRACE)?;
            let layout = Procs::layout()?;
            layout.kill_all(&rel)?;
            layout.remove(&rel)?;
            for ext in ["pid", "fp", "json", "status", "stop"] {
                let _ = std::fs::remove_file(files.workload(&n, &w, ext));
            }
            Ok(())
        })
        .await
        .map_err(sys(format!("stopping workload {node}/{name}")))
    }
}
