//! One `exec` command of a node, run for `up` with a deadline: `netlab exec NODE -- /bin/sh
//! -c CMD` in a process group and a cgroup of its own (`NODE/_up-exec-N`, under the node's,
//! so its limits hold). `up` waits for that process, not for its output pipe: the output goes
//! to an anonymous file (memfd), so a background child that keeps it open (`sleep 300 &`)
//! does not hold `up`. Past the deadline every process in the group and the cgroup is killed.

use super::node_cgroup;
use super::spawn;
use crate::model::duration;
use crate::model::limits::Limits;
use crate::sys::cgroup;
use std::fs::File;
use std::io::{self, Read, Seek};
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The most of a failed command's output that goes into the error.
const MAX_OUTPUT: u64 = 16 << 10;

/// The environment variable that tells `netlab exec` which cgroup to join instead of the
/// node's `_exec` one; it must lie under the lab's cgroup.
pub const CGROUP_ENV: &str = "NETLAB_EXEC_CGROUP";

/// The cgroup of command `index` of a node's `exec` list.
pub fn cgroup_of(lab: &str, node: &str, index: usize) -> String {
    format!("{}/_up-exec-{index}", node_cgroup(lab, node))
}

/// Runs command `index` (`cmd`) of `node`; an error says what went wrong, with its output.
pub fn run(lab: &str, node: &str, index: usize, cmd: &str, timeout: Duration) -> io::Result<()> {
    let layout = cgroup::detect()?;
    let rel = cgroup_of(lab, node, index);
    layout.create(&rel, &Limits::default())?;
    // Left by an earlier `up` that was interrupted while this command ran.
    layout.kill_all(&rel)?;
    let out = output_file()?;
    let mut child = Command::new(spawn::netlab_exe())
        .args(["exec", node, "--lab", lab, "--", "/bin/sh", "-c", cmd])
        .env(CGROUP_ENV, &rel)
        .stdin(Stdio::null())
        .stdout(out.try_clone()?)
        .stderr(out.try_clone()?)
        .process_group(0)
        .spawn()?;
    let deadline = Instant::now() + timeout;
    let status = loop {
        if let Some(s) = child.try_wait()? {
            break Some(s);
        }
        if Instant::now() >= deadline {
            break None;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let Some(status) = status else {
        let pgid = nix::unistd::Pid::from_raw(-(child.id() as i32));
        let _ = nix::sys::signal::kill(pgid, nix::sys::signal::Signal::SIGKILL);
        let _ = child.kill();
        let _ = child.wait();
        layout.kill_all(&rel)?;
        let _ = layout.remove(&rel);
        return Err(io::Error::new(
            io::ErrorKind::TimedOut,
            format!(
                "`{cmd}` timed out after {} (exec_timeout); killed it and what it started{}",
                duration::show(timeout),
                tail(&out)
            ),
        ));
    };
    // Nothing left in it (no background child): the group goes.
    if layout.procs(&rel).is_ok_and(|p| p.is_empty()) {
        let _ = layout.remove(&rel);
    }
    if status.success() {
        return Ok(());
    }
    let code = status.code().map(|c| format!("exit {c}")).unwrap_or_else(|| "killed".into());
    Err(io::Error::other(format!("`{cmd}` failed ({code}){}", tail(&out))))
}

/// An anonymous file for the command's stdout and stderr.
fn output_file() -> io::Result<File> {
    use nix::sys::memfd::{memfd_create, MFdFlags};
    let fd = memfd_create(c"netlab-exec", MFdFlags::MFD_CLOEXEC).map_err(super::errno)?;
    Ok(File::from(fd))
}

/// ": OUTPUT" of what the command wrote (at most `MAX_OUTPUT`), or nothing.
fn tail(out: &File) -> String {
    let mut f = out;
    let mut bytes = Vec::new();
    if f.rewind().is_err() || f.take(MAX_OUTPUT).read_to_end(&mut bytes).is_err() {
        return String::new();
    }
    let text = String::from_utf8_lossy(&bytes);
    let text = text.trim();
    if text.is_empty() {
        String::new()
    } else {
        format!(": {text}")
    }
}
