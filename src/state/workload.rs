//! What runs in a node as `status` and `exec` see it. The state of a workload, as its
//! supervisor writes it to the status file and as `netlab status` shows it. One enum rather than strings so every place that produces or tests a
//! state names the same set; serde and Display keep the words the status file and
//! `status --json` have always used.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Where a workload is in its life.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum WorkloadState {
    /// The supervisor runs; its payload has not been started yet.
    #[default]
    Starting,
    Running,
    /// Waiting to be restarted, as its restart policy says.
    Backoff,
    /// Ended, and its restart policy does not start it again.
    Exited,
    /// Could not be set up or started.
    Failed,
    /// Killed by the kernel for going over its memory limit.
    OomKilled,
    /// Stopped on request.
    Stopped,
    /// Its supervisor is gone without having reported an end (`netlab status` only).
    Gone,
}

impl WorkloadState {
    /// The word for the state: the same as its serde name.
    pub fn as_str(self) -> &'static str {
        match self {
            WorkloadState::Starting => "starting",
            WorkloadState::Running => "running",
            WorkloadState::Backoff => "backoff",
            WorkloadState::Exited => "exited",
            WorkloadState::Failed => "failed",
            WorkloadState::OomKilled => "oom-killed",
            WorkloadState::Stopped => "stopped",
            WorkloadState::Gone => "gone",
        }
    }
}

impl fmt::Display for WorkloadState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

/// What `netlab exec` needs to enter a node beyond its network namespace.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ExecInfo {
    pub seccomp: crate::model::seccomp::Seccomp,
    /// The cgroup `netlab exec` processes join (under the node's, so its limits hold).
    pub cgroup: Option<String>,
    /// The profile of a container-like node; `None` for a plain node.
    #[serde(default)]
    pub confine: Option<crate::model::workload::Confinement>,
}

/// A workload as `netlab status` shows it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct WorkloadStatus {
    pub name: String,
    pub supervisor: Option<u32>,
    pub pid: Option<u32>,
    pub state: WorkloadState,
    pub restarts: u32,
    pub last_exit: Option<String>,
    pub memory_bytes: Option<u64>,
    pub memory_limit: Option<u64>,
    pub pids: Option<u64>,
    pub pids_limit: Option<u64>,
    pub oom_kills: Option<u64>,
}
