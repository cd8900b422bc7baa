//! The processes netlab runs for a lab's nodes, and everything that starts, finds, reads and
//! stops them. They are this very binary re-executed (`__netlab-init`), because a process
//! that unshares pid and mount namespaces must be single-threaded and must outlive `up`.
//!
//! - `init`: the `__netlab-init` dispatch; `holder` and `supervisor`: the two programs it runs.
//! - `spawn`: starting and stopping them; `spawner`: `Procs`, the `backend::Spawner` on top.
//! - `store`: their runtime files under /run/netlab/LAB/; `status`: how workloads are doing;
//!   `teardown`: stopping all of a lab's processes for `down`.
//! - `exec`: `netlab exec`, entering a node and running a command there.

pub mod claim;
pub mod events;
pub mod exec;
pub mod holder;
pub mod init;
pub mod oneshot;
pub mod spawn;
pub mod spawner;
pub mod status;
pub mod store;
pub mod supervisor;
pub mod teardown;

pub use exec::run_in_node;
pub use spawner::Procs;
pub use status::workload_status;
pub use store::{fingerprints, Files};
pub use teardown::{kill_in_netns, pids_by_netns, teardown};

use nix::sys::signal::Signal;
use std::io;
use std::time::Duration;

/// How long a stopped workload's supervisor gets before SIGKILL (it gives its payload 2 s).
const STOP_GRACE: Duration = Duration::from_secs(4);

pub use crate::model::names::{lab_cgroup, node_cgroup};

/// Where supervisors live: outside the workloads' groups, inside the lab's, so that killing
/// the lab's group leaves nothing behind.
pub fn supervisor_cgroup(lab: &str) -> String {
    format!("netlab/{lab}/_supervise")
}

fn errno(e: nix::Error) -> io::Error {
    io::Error::from_raw_os_error(e as i32)
}

fn ctx<T>(what: &str, r: nix::Result<T>) -> io::Result<T> {
    r.map_err(|e| io::Error::new(errno(e).kind(), format!("{what}: {}", errno(e))))
}

/// Everything but stdio is closed when the next `execve` runs: a descriptor whoever started
/// `netlab up` or `netlab exec` left open (a directory of the host's, a socket) would hand a
/// confined program a way out. As runc does.
fn close_inherited_on_exec() {
    const CLOSE_RANGE_CLOEXEC: nix::libc::c_uint = 1 << 2;
    // SAFETY: close_range only changes this process's descriptor flags.
    let _ = unsafe { nix::libc::syscall(nix::libc::SYS_close_range, 3u32, u32::MAX, CLOSE_RANGE_CLOEXEC) };
}

/// Closes every descriptor above stdio now (for the holder, which never executes anything).
fn close_inherited_now() {
    // SAFETY: close_range only closes this process's own descriptors; nothing after uses them.
    let _ = unsafe { nix::libc::syscall(nix::libc::SYS_close_range, 3u32, u32::MAX, 0u32) };
}

/// Rust ignores SIGPIPE and an ignored signal stays ignored across `execve`: programs run
/// in a node get the default back, as from a shell.
fn default_sigpipe() {
    // SAFETY: restores the default disposition; no handler code is installed.
    let _ = unsafe { nix::sys::signal::signal(Signal::SIGPIPE, nix::sys::signal::SigHandler::SigDfl) };
}
