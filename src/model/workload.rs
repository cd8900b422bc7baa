//! What runs in a node: its isolation (namespaces, hostname, rootfs), its cgroup limits and
//! seccomp filter, the commands run once after wiring, and the supervised workloads.

use super::caps::Caps;
use super::limits::Limits;
use super::seccomp::Seccomp;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// The namespaces a node's processes share besides its network namespace.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Isolation {
    pub pid: bool,
    pub mount: bool,
    pub uts: bool,
    pub ipc: bool,
    pub hostname: Option<String>,
    /// Absolute path of the directory the node's processes see as `/`.
    pub rootfs: Option<PathBuf>,
}

impl Isolation {
    /// Whether the node needs a process of its own to hold namespaces.
    pub fn needs_holder(&self) -> bool {
        self.pid || self.mount || self.uts || self.ipc
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Restart {
    No,
    OnFailure,
    Always,
}

/// How a process of a container-like node is confined (`None` for a plain node's, which runs
/// as full root on the host's filesystem, like `ip netns exec`): capabilities, `no_new_privs`,
/// the Docker-like mount view (read-only `/proc/sys` and `/sys`, masked `/proc` files, a
/// private `/dev`, a read-only cgroup mount), a cgroup namespace and the device cgroup. Its
/// seccomp filter is the workload's or node's `seccomp`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Confinement {
    pub caps: Caps,
    /// The node's holder has a mount namespace of its own, whose pid 1 set the view up once;
    /// otherwise every process makes a private mount namespace with the view for itself.
    pub holder_view: bool,
    /// `/proc/sys/net` stays writable: the node has a network namespace of its own (a host
    /// node's would be the host's).
    pub net_sysctls: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Workload {
    pub name: String,
    pub cmd: Vec<String>,
    pub env: BTreeMap<String, String>,
    pub cwd: Option<String>,
    /// The workload's own limits, inside the node's.
    pub limits: Limits,
    pub seccomp: Seccomp,
    pub restart: Restart,
    /// `None`: a plain node's workload, unconfined.
    #[serde(default)]
    pub confine: Option<Confinement>,
}

/// How long an `exec` command may run when the file does not say (`exec_timeout`).
pub const EXEC_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);
/// The bounds of `exec_timeout`.
pub const EXEC_TIMEOUT_MIN: std::time::Duration = std::time::Duration::from_millis(100);
pub const EXEC_TIMEOUT_MAX: std::time::Duration = std::time::Duration::from_secs(3600);

/// Everything about a node's processes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Processes {
    pub isolation: Isolation,
    pub limits: Limits,
    /// The filter of `netlab exec`, `exec` commands and workloads without one of their own.
    pub seccomp: Seccomp,
    pub exec: Vec<String>,
    /// How long each `exec` command may run before `up` kills it and fails.
    pub exec_timeout: std::time::Duration,
    pub run: Vec<Workload>,
    /// The profile of the holder, `netlab exec` and `exec` commands; `None` on a plain node.
    pub confine: Option<Confinement>,
}

impl Default for Processes {
    fn default() -> Self {
        Processes {
            isolation: Isolation::default(),
            confine: None,
            limits: Limits::default(),
            seccomp: Seccomp::Unconfined,
            exec: Vec::new(),
            exec_timeout: EXEC_TIMEOUT,
            run: Vec::new(),
        }
    }
}

impl Processes {
    /// No processes of its own (a timeout alone, without commands, runs nothing).
    pub fn is_empty(&self) -> bool {
        Processes { exec_timeout: EXEC_TIMEOUT, ..self.clone() } == Processes::default()
    }
}

mod resolve;

pub use resolve::resolve;
