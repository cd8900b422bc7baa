//! Starting and stopping the processes of `__netlab-init` from `up` and `down`: node holders
//! and workload supervisors, re-executed from this very binary so they need no separate
//! install and always speak the same spec format.

use super::holder::HolderSpec;
use super::status;
use super::supervisor::WorkloadSpec;
use crate::state::WorkloadState;
use std::io;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn write_spec<T: serde::Serialize>(path: &Path, spec: &T) -> io::Result<()> {
    crate::sys::private::write(path, &serde_json::to_vec_pretty(spec).expect("spec serializes"))
}

/// The netlab binary, to re-execute for helper processes: this very program when it is
/// netlab, else (a program using the library) `$NETLAB_BIN` or `netlab` on the PATH.
pub fn netlab_exe() -> std::path::PathBuf {
    if let Some(p) = std::env::var_os("NETLAB_BIN") {
        return p.into();
    }
    let me = std::env::current_exe().ok();
    if me.as_ref().and_then(|p| p.file_name()).is_some_and(|n| n.to_string_lossy().starts_with("netlab")) {
        return "/proc/self/exe".into();
    }
    let on_path = std::env::var_os("PATH")
        .and_then(|paths| std::env::split_paths(&paths).map(|d| d.join("netlab")).find(|p| p.is_file()));
    on_path.unwrap_or_else(|| "/proc/self/exe".into())
}

fn init_command(kind: &str, spec_path: &Path) -> Command {
    let mut c = Command::new(netlab_exe());
    c.arg("__netlab-init").arg(kind).arg(spec_path);
    c
}

/// Starts a node's namespace holder; returns the pid of its pid 1 once the node's view
/// (hostname, /proc, rootfs) is set up, or the real reason it could not be.
pub fn start_holder(spec: &HolderSpec, spec_path: &Path) -> io::Result<u32> {
    write_spec(spec_path, spec)?;
    let out = init_command("hold", spec_path).stdin(Stdio::null()).output()?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        return Err(io::Error::other(stderr.trim().trim_start_matches("netlab-init: ").to_string()));
    }
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .map_err(|_| io::Error::other(format!("node holder gave no pid: {stderr}")))
}

/// Starts a workload's supervisor and waits (at most 3 s) until its first payload is running
/// or has failed; a payload that cannot start fails `up` with its reason.
pub fn start_workload(spec: &WorkloadSpec, spec_path: &Path) -> io::Result<u32> {
    write_spec(spec_path, spec)?;
    let _ = std::fs::remove_file(&spec.status);
    let log = crate::sys::private::create(&spec.log, true)?;
    let mut child =
        init_command("run", spec_path).stdin(Stdio::null()).stdout(Stdio::null()).stderr(log).spawn()?;
    let pid = child.id();
    let deadline = Instant::now() + Duration::from_secs(3);
    while Instant::now() < deadline {
        if let Some(st) = status::read(&spec.status) {
            match st.state {
                WorkloadState::Starting => {}
                WorkloadState::Failed => {
                    // Nothing of a workload that cannot start may stay behind.
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(io::Error::other(
                        st.last_exit.unwrap_or_else(|| "the workload could not start".into()),
                    ));
                }
                _ => break,
            }
        }
        if child.try_wait()?.is_some() {
            let tail = crate::sys::private::read(&spec.log, 1 << 20).unwrap_or_default();
            let tail = String::from_utf8_lossy(&tail);
            let last = tail.lines().rev().find(|l| !l.is_empty()).unwrap_or("the supervisor exited");
            return Err(io::Error::other(last.trim_start_matches("netlab-init: ").to_string()));
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    // Not waited for: the supervisor outlives `up`, which soon exits and leaves it to init.
    drop(child);
    Ok(pid)
}

/// Whether `pid` is one of netlab's own processes working for the lab whose runtime files
/// are under `lab_dir`, still running. A pid file that outlived its process cannot make
/// netlab stop a stranger, or another lab's helper, that got the same pid.
pub fn alive(pid: u32, lab_dir: &Path) -> bool {
    let Ok(cmdline) = std::fs::read(format!("/proc/{pid}/cmdline")) else { return false };
    let zombie = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .is_ok_and(|s| s.rsplit(')').next().is_some_and(|r| r.trim_start().starts_with('Z')));
    let marker = format!("{}/", lab_dir.display());
    let args: Vec<&[u8]> = cmdline.split(|b| *b == 0).collect();
    !zombie
        && args.iter().any(|a| *a == b"__netlab-init")
        && args.iter().any(|a| a.starts_with(marker.as_bytes()))
}

/// Stops one of netlab's processes: SIGTERM, then SIGKILL after `grace`. Gone counts as done.
pub fn stop(pid: u32, lab_dir: &Path, grace: Duration) {
    use nix::sys::signal::{kill, Signal};
    let p = nix::unistd::Pid::from_raw(pid as i32);
    if !alive(pid, lab_dir) {
        return;
    }
    let _ = kill(p, Signal::SIGTERM);
    let deadline = Instant::now() + grace;
    while Instant::now() < deadline {
        if !alive(pid, lab_dir) {
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let _ = kill(p, Signal::SIGKILL);
}
