//! The kernel backend for node processes: cgroups, namespace holders, `exec` commands and
//! workload supervisors, with their runtime files under /run/netlab/LAB/.

use super::cgroup::{self, Layout};
use super::init::{HolderSpec, WorkloadSpec};
use super::spawn;
use crate::backend::Spawner;
use crate::error::SysError;
use crate::model::limits::Limits;
use crate::model::workload::{Isolation, Workload};
use crate::state::record::run_dir;
use std::io;
use std::path::PathBuf;
use std::time::Duration;

/// How long a stopped workload's supervisor gets before SIGKILL (it gives its payload 2 s).
const STOP_GRACE: Duration = Duration::from_secs(4);

/// Cgroup paths of a lab, relative to each hierarchy's root.
pub fn lab_cgroup(lab: &str) -> String {
    format!("netlab/{lab}")
}
pub fn node_cgroup(lab: &str, node: &str) -> String {
    format!("netlab/{lab}/{node}")
}
/// Where supervisors live: outside the workloads' groups, inside the lab's, so that killing
/// the lab's group leaves nothing behind.
pub fn supervisor_cgroup(lab: &str) -> String {
    format!("netlab/{lab}/_supervise")
}

/// Runtime files of a lab's nodes and workloads.
#[derive(Clone)]
pub struct Files {
    pub lab: String,
}

impl Files {
    pub fn dir(&self) -> PathBuf {
        run_dir().join(&self.lab)
    }
    pub fn node(&self, node: &str, ext: &str) -> PathBuf {
        self.dir().join("nodes").join(format!("{node}.{ext}"))
    }
    pub fn workload(&self, node: &str, name: &str, ext: &str) -> PathBuf {
        self.dir().join("workloads").join(format!("{node}.{name}.{ext}"))
    }
    pub fn read(&self, path: &PathBuf) -> Option<String> {
        std::fs::read_to_string(path).ok().map(|s| s.trim().to_string())
    }
    pub fn pid(&self, path: &PathBuf) -> Option<u32> {
        self.read(path)?.parse().ok()
    }
    fn write(&self, path: &PathBuf, text: &str) -> io::Result<()> {
        std::fs::create_dir_all(path.parent().expect("runtime files live in a directory"))?;
        std::fs::write(path, text)
    }
    /// The holder of a node, if it is running.
    pub fn holder(&self, node: &str) -> Option<u32> {
        self.pid(&self.node(node, "pid")).filter(|p| spawn::alive(*p, &self.dir()))
    }
}

/// The real `Spawner`.
pub struct Procs {
    pub files: Files,
    /// The namespace of each node (`None` for a host node).
    pub netns: std::collections::BTreeMap<String, Option<String>>,
    /// Fingerprints to store once an op has succeeded, by (node, what).
    pub fingerprints: std::collections::BTreeMap<(String, String), String>,
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
        blocking(move || teardown(&lab, recorded))
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
        let spec = HolderSpec {
            lab: self.files.lab.clone(),
            node: node.to_string(),
            netns,
            isolation: isolation.clone(),
            cgroup: format!("{}/_init", node_cgroup(&self.files.lab, node)),
        };
        let files = self.files.clone();
        let (n, fp) = (node.to_string(), self.fingerprint(node, "holder"));
        blocking(move || {
            let layout = Procs::layout()?;
            layout.create(&spec.cgroup, &Limits::default())?;
            // A holder orphaned by an interrupted `up` goes first.
            layout.kill_all(&spec.cgroup)?;
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

    async fn run_exec(&self, node: &str, commands: &[String]) -> Result<(), SysError> {
        let (lab, n, cmds) = (self.files.lab.clone(), node.to_string(), commands.to_vec());
        let files = self.files.clone();
        let fp = self.fingerprint(node, "exec");
        blocking(move || {
            for cmd in &cmds {
                let out = std::process::Command::new(spawn::netlab_exe())
                    .args(["exec", &n, "--lab", &lab, "--", "/bin/sh", "-c", cmd])
                    .stdin(std::process::Stdio::null())
                    .output()?;
                if !out.status.success() {
                    let text = format!(
                        "{}{}",
                        String::from_utf8_lossy(&out.stdout),
                        String::from_utf8_lossy(&out.stderr)
                    );
                    let code =
                        out.status.code().map(|c| format!("exit {c}")).unwrap_or_else(|| "killed".into());
                    return Err(io::Error::other(format!("`{cmd}` failed ({code}): {}", text.trim())));
                }
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
            // A supervisor of an earlier, interrupted `up` goes first.
            if let Some(old) = files.pid(&files.workload(&n, &name, "pid")) {
                spawn::stop(old, &files.dir(), STOP_GRACE);
            }
            let layout = Procs::layout()?;
            layout.create(&supervisor_cgroup(&lab), &Limits::default())?;
            layout.create(&spec.cgroup, &limits)?;
            layout.kill_all(&spec.cgroup)?;
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
            if let Some(pid) = files.pid(&files.workload(&n, &w, "pid")) {
                spawn::stop(pid, &files.dir(), STOP_GRACE);
            }
            let layout = Procs::layout()?;
            layout.kill_all(&rel)?;
            layout.remove(&rel)?;
            for ext in ["pid", "fp", "json", "status"] {
                let _ = std::fs::remove_file(files.workload(&n, &w, ext));
            }
            Ok(())
        })
        .await
        .map_err(sys(format!("stopping workload {node}/{name}")))
    }
}

/// What `netlab exec` needs to enter a node beyond its network namespace.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ExecInfo {
    pub seccomp: crate::model::seccomp::Seccomp,
    /// The cgroup `netlab exec` processes join (under the node's, so its limits hold).
    pub cgroup: Option<String>,
}

impl Files {
    /// Notes (or forgets) how to enter a node, for `netlab exec`.
    pub fn set_exec_info(&self, node: &str, info: Option<&ExecInfo>) -> io::Result<()> {
        let path = self.node(node, "exec.json");
        match info {
            Some(i) => self.write(&path, &serde_json::to_string(i).expect("exec info serializes")),
            None => match std::fs::remove_file(&path) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
                _ => Ok(()),
            },
        }
    }

    pub fn exec_info(&self, node: &str) -> Option<ExecInfo> {
        serde_json::from_str(&self.read(&self.node(node, "exec.json"))?).ok()
    }

    fn names_in(&self, sub: &str) -> Vec<String> {
        std::fs::read_dir(self.dir().join(sub))
            .map(|d| d.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect())
            .unwrap_or_default()
    }

    /// Every (node, workload) with runtime files.
    pub fn workloads(&self) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = self
            .names_in("workloads")
            .into_iter()
            .filter_map(|f| {
                let stem = f.strip_suffix(".json")?;
                let (node, name) = stem.split_once('.')?;
                Some((node.to_string(), name.to_string()))
            })
            .collect();
        out.sort();
        out.dedup();
        out
    }

    /// Every node with runtime files.
    pub fn nodes(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .names_in("nodes")
            .into_iter()
            .filter_map(|f| f.split_once('.').map(|(n, _)| n.to_string()))
            .collect();
        out.extend(self.workloads().into_iter().map(|(n, _)| n));
        out.sort();
        out.dedup();
        out
    }
}

/// What runs now for the lab's nodes, by fingerprint. A workload counts as present while its
/// supervisor runs, or when it ended as its restart policy allows (it ran as defined).
pub fn observe(files: &Files) -> crate::state::ProcsState {
    let mut out = crate::state::ProcsState::new();
    for node in files.nodes() {
        let e = out.entry(node.clone()).or_default();
        e.holder = files.holder(&node).and_then(|_| files.read(&files.node(&node, "fp")));
        e.limits = files.read(&files.node(&node, "limits"));
        e.exec = files.read(&files.node(&node, "exec.fp"));
    }
    for (node, name) in files.workloads() {
        let running =
            files.pid(&files.workload(&node, &name, "pid")).is_some_and(|p| spawn::alive(p, &files.dir()));
        let ended_as_defined = spawn::status(&files.workload(&node, &name, "status"))
            .is_some_and(|s| s.state == "exited" || s.state == "oom-killed");
        if running || ended_as_defined {
            if let Some(fp) = files.read(&files.workload(&node, &name, "fp")) {
                out.entry(node).or_default().workloads.insert(name, fp);
            }
        }
    }
    out.retain(|_, p| *p != crate::state::NodeProcs::default());
    out
}

/// Stops every process of a lab, found by its runtime files, by its command line (after a
/// crash lost the files) and by its cgroup; then removes the lab's cgroups. `recorded`: the
/// lab's record was found, so its runtime files are complete.
pub fn teardown(lab: &str, recorded: bool) -> io::Result<()> {
    let files = Files { lab: lab.to_string() };
    let had_processes = !files.nodes().is_empty();
    let supervisors: Vec<u32> =
        files.workloads().iter().filter_map(|(n, w)| files.pid(&files.workload(n, w, "pid"))).collect();
    let dir = files.dir();
    let handles: Vec<_> = supervisors
        .into_iter()
        .map(|pid| {
            let d = dir.clone();
            std::thread::spawn(move || spawn::stop(pid, &d, STOP_GRACE))
        })
        .collect();
    for h in handles {
        let _ = h.join();
    }
    for node in files.nodes() {
        if let Some(pid) = files.holder(&node) {
            spawn::stop(pid, &files.dir(), Duration::from_secs(1));
        }
    }
    // Whatever a crash left: netlab's own helpers for this lab, by command line. Reading every
    // process's command line costs; a recorded lab that never ran a process has none.
    let marker = format!("{}/", files.dir().display());
    let scan = had_processes || !recorded;
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten().filter(|_| scan) {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else { continue };
        let Ok(cmd) = std::fs::read(format!("/proc/{pid}/cmdline")) else { continue };
        let args: Vec<&[u8]> = cmd.split(|b| *b == 0).collect();
        if args.iter().any(|a| *a == b"__netlab-init")
            && args.iter().any(|a| a.starts_with(marker.as_bytes()))
        {
            spawn::stop(pid, &files.dir(), Duration::from_millis(500));
        }
    }
    let Ok(layout) = cgroup::detect() else { return Ok(()) };
    let rel = lab_cgroup(lab);
    layout.kill_all(&rel)?;
    layout.remove(&rel)?;
    remove_shared_parent(&layout);
    Ok(())
}

/// Removes `netlab/` itself when the last lab has left it: a plain rmdir, which the kernel
/// refuses while another lab's groups are inside.
fn remove_shared_parent(layout: &Layout) {
    let dirs: Vec<PathBuf> = match layout {
        Layout::V1 { root } => {
            ["memory", "cpu", "pids"].iter().map(|c| root.join(c).join("netlab")).collect()
        }
        Layout::V2 { root } => vec![root.join("netlab")],
    };
    for d in dirs {
        let _ = std::fs::remove_dir(d);
    }
}

/// A workload as `netlab status` shows it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct WorkloadStatus {
    pub name: String,
    pub supervisor: Option<u32>,
    pub pid: Option<u32>,
    /// starting, running, backoff, exited, failed, oom-killed, stopped, gone
    pub state: String,
    pub restarts: u32,
    pub last_exit: Option<String>,
    pub memory_bytes: Option<u64>,
    pub memory_limit: Option<u64>,
    pub pids: Option<u64>,
    pub pids_limit: Option<u64>,
    pub oom_kills: Option<u64>,
}

/// The workloads of a node, with what their cgroups hold.
pub fn workload_status(files: &Files, node: &str) -> Vec<WorkloadStatus> {
    let layout = cgroup::detect().ok();
    files
        .workloads()
        .into_iter()
        .filter(|(n, _)| n == node)
        .map(|(_, name)| {
            let st = spawn::status(&files.workload(node, &name, "status")).unwrap_or_default();
            let spec: Option<WorkloadSpec> =
                files.read(&files.workload(node, &name, "json")).and_then(|t| serde_json::from_str(&t).ok());
            let supervisor = files.pid(&files.workload(node, &name, "pid"));
            let running = supervisor.is_some_and(|p| spawn::alive(p, &files.dir()));
            let usage = match (&layout, &spec) {
                (Some(l), Some(s)) => l.usage(&s.cgroup).ok(),
                _ => None,
            };
            // A workload is held by its own limits and by its node's, whichever is set.
            let node_limits: Limits = files
                .read(&files.node(node, "limits"))
                .and_then(|t| serde_json::from_str(&t).ok())
                .unwrap_or_default();
            let limits = node_limits.overlay(&spec.as_ref().map(|s| s.workload.limits).unwrap_or_default());
            let state = if running || matches!(st.state.as_str(), "exited" | "oom-killed" | "failed") {
                st.state.clone()
            } else {
                "gone".to_string()
            };
            WorkloadStatus {
                name,
                supervisor: supervisor.filter(|_| running),
                pid: st.pid.filter(|_| running),
                state,
                restarts: st.restarts,
                last_exit: st.last_exit,
                memory_bytes: usage.and_then(|u| u.memory_bytes),
                memory_limit: limits.memory,
                pids: usage.and_then(|u| u.pids),
                pids_limit: limits.pids,
                oom_kills: usage.and_then(|u| u.oom_kills),
            }
        })
        .collect()
}
