//! `netlab exec`: moves this (single-threaded) process into a node, its cgroup and either
//! every namespace of the node's holder or, for a node without one, its network namespace,
//! then replaces it with the command, so exit code, stdin/stdout/stderr and the tty pass
//! through untouched. The CLI only finds the node; everything that forks, handles signals or
//! execs is here, with the rest of the `unsafe`.

use super::default_sigpipe;
use super::store::Files;
use crate::error::{Error, SysError};
use crate::model::limits::Limits;
use crate::sys::{cgroup, seccomp};
use nix::sched::{setns, CloneFlags};
use std::ffi::CString;
use std::fs::File;
use std::io;
use std::os::fd::AsFd;

/// Runs `cmd` inside `node` of `lab` (`netns`: the node's namespace, `None` for a host node),
/// like `nsenter --net=/run/netns/NS -- CMD` plus the node's holder namespaces, cgroup and
/// seccomp filter. Returns the command's exit code; without a pid namespace to join this
/// process becomes the command and returns only when it cannot start (126/127, as a shell).
pub fn run_in_node(lab: &str, node: &str, netns: Option<&str>, cmd: &[String]) -> Result<i32, Error> {
    let files = Files { lab: lab.to_string() };
    let info = files.exec_info(node);
    let fail = |e: io::Error| Error::Sys(SysError::new(format!("entering node {node}"), e));
    let bpf = match &info {
        Some(i) => seccomp::compile(&i.seccomp).map_err(fail)?,
        None => None,
    };
    let args: Vec<CString> = cmd
        .iter()
        .map(|a| {
            CString::new(a.as_bytes())
                .map_err(|_| Error::Usage(format!("argument {a:?} contains a NUL byte")))
        })
        .collect::<Result<_, Error>>()?;
    let in_pid_ns = enter_node(netns, files.holder(node), info.as_ref().and_then(|i| i.cgroup.as_deref()))
        .map_err(fail)?;
    if !in_pid_ns {
        return Ok(exec(node, &args, bpf.as_ref()));
    }
    // SAFETY: netlab exec is single-threaded: it runs before any runtime or thread starts.
    match unsafe { nix::unistd::fork() } {
        Ok(nix::unistd::ForkResult::Child) => std::process::exit(exec(node, &args, bpf.as_ref())),
        Ok(nix::unistd::ForkResult::Parent { child }) => Ok(wait_passing_signals(child)),
        Err(e) => Err(fail(io::Error::from_raw_os_error(e as i32))),
    }
}

/// Replaces this process with the command; returns only on failure, with a shell's code.
fn exec(node: &str, args: &[CString], bpf: Option<&seccompiler::BpfProgram>) -> i32 {
    default_sigpipe();
    if let Some(p) = bpf {
        if let Err(e) = seccomp::apply(p) {
            eprintln!("netlab: applying the seccomp filter of node {node}: {e}");
            return 126;
        }
    }
    let err = nix::unistd::execvp(&args[0], args).expect_err("execvp returns only on failure");
    eprintln!(
        "netlab: running {} in node {node}: {}",
        args[0].to_string_lossy(),
        io::Error::from_raw_os_error(err as i32)
    );
    // As a shell does: 127 for a command that is not there, 126 for one that cannot run.
    if err == nix::Error::ENOENT {
        127
    } else {
        126
    }
}

static CHILD: std::sync::atomic::AtomicI32 = std::sync::atomic::AtomicI32::new(0);

extern "C" fn forward(sig: i32) {
    let pid = CHILD.load(std::sync::atomic::Ordering::SeqCst);
    if pid > 0 {
        // SAFETY: kill is async-signal-safe.
        unsafe { nix::libc::kill(pid, sig) };
    }
}

/// Waits for the command, which the terminal's signals reach directly (same process group);
/// a SIGTERM or SIGHUP sent to netlab itself is passed on. Returns the command's exit code,
/// or 128 + the signal that killed it.
fn wait_passing_signals(child: nix::unistd::Pid) -> i32 {
    use nix::sys::signal::{signal, SigHandler, Signal};
    use nix::sys::wait::{waitpid, WaitStatus};
    CHILD.store(child.as_raw(), std::sync::atomic::Ordering::SeqCst);
    for s in [Signal::SIGTERM, Signal::SIGHUP] {
        // SAFETY: the handler only reads an atomic and calls kill.
        let _ = unsafe { signal(s, SigHandler::Handler(forward)) };
    }
    // The terminal's ^C and ^\ are the command's to handle; ^Z stops both, and `fg` resumes both.
    for s in [Signal::SIGINT, Signal::SIGQUIT] {
        // SAFETY: ignoring a signal installs no handler code.
        let _ = unsafe { signal(s, SigHandler::SigIgn) };
    }
    loop {
        match waitpid(child, None) {
            Ok(WaitStatus::Exited(_, code)) => return code,
            Ok(WaitStatus::Signaled(_, sig, _)) => return 128 + sig as i32,
            Ok(_) | Err(nix::Error::EINTR) => continue,
            Err(_) => return 1,
        }
    }
}

/// Enters the node. Returns whether a pid namespace was joined, in which case the command
/// must run in a child: a pid namespace applies to the children of whoever joins it.
fn enter_node(netns: Option<&str>, holder: Option<u32>, cgroup_rel: Option<&str>) -> io::Result<bool> {
    if let Some(rel) = cgroup_rel {
        // Before the mount namespace changes: the cgroup files are the host's.
        let layout = cgroup::detect()?;
        layout.create(rel, &Limits::default())?;
        layout.join(rel, std::process::id())?;
    }
    let Some(h) = holder else {
        if let Some(n) = netns {
            crate::sys::netns::enter_for_exec(n)?;
        }
        return Ok(false);
    };
    let open = |name: &str| {
        File::open(format!("/proc/{h}/ns/{name}")).map_err(|e| {
            io::Error::new(e.kind(), format!("opening the {name} namespace of the node's holder {h}: {e}"))
        })
    };
    // All opened first: entering the mount namespace changes what /proc shows.
    let fds = [
        ("ipc", CloneFlags::CLONE_NEWIPC),
        ("uts", CloneFlags::CLONE_NEWUTS),
        ("net", CloneFlags::CLONE_NEWNET),
        ("pid", CloneFlags::CLONE_NEWPID),
        ("mnt", CloneFlags::CLONE_NEWNS),
    ]
    .into_iter()
    .map(|(n, f)| Ok((open(n)?, f, n)))
    .collect::<io::Result<Vec<_>>>()?;
    let mut pid = false;
    for (fd, flag, name) in &fds {
        // A node may not have every namespace of its own; joining the host's copy is a no-op.
        setns(fd.as_fd(), *flag)
            .map_err(|e| io::Error::other(format!("entering the node's {name} namespace: {e}")))?;
        pid |= *flag == CloneFlags::CLONE_NEWPID;
    }
    nix::unistd::chdir("/").map_err(|e| io::Error::other(format!("entering /: {e}")))?;
    Ok(pid)
}
