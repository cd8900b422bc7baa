//! Reading how a lab's workloads are doing: the status file each supervisor keeps, and the
//! view `netlab status` prints, which adds what the workload's cgroup holds.

use super::spawn;
use super::store::Files;
use super::supervisor::WorkloadSpec;
use crate::model::limits::Limits;
use crate::state::workload::WorkloadStatus;
use crate::state::WorkloadState;
use crate::sys::cgroup;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// A workload's state, as its supervisor last wrote it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Status {
    pub supervisor: u32,
    pub pid: Option<u32>,
    pub state: WorkloadState,
    pub restarts: u32,
    pub last_exit: Option<String>,
}

/// Reads a workload's status file.
pub fn read(path: &Path) -> Option<Status> {
    serde_json::from_slice(&crate::sys::private::read(path, 1 << 20).ok()?).ok()
}

/// The workloads of a node, with what their cgroups hold.
pub fn workload_status(files: &Files, node: &str) -> Vec<WorkloadStatus> {
    let layout = cgroup::detect().ok();
    files
        .workloads()
        .into_iter()
        .filter(|(n, _)| n == node)
        .map(|(_, name)| {
            let st = read(&files.workload(node, &name, "status")).unwrap_or_default();
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
            let ended =
                matches!(st.state, WorkloadState::Exited | WorkloadState::OomKilled | WorkloadState::Failed);
            let state = if running || ended { st.state } else { WorkloadState::Gone };
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
