//! `netlab exec`: moves this (single-threaded) process into a node, its cgroup and either
//! every namespace of the node's holder or, for a node without one, its network namespace,
//! then replaces it with the command, so exit code, stdin/stdout/stderr and the tty pass
//! through untouched. The CLI only finds the node; everything that forks, handles signals or
//! execs is here, with the rest of the `unsafe`.
//!
//! In a container-like node (and in any node with a pid namespace) the command runs in a
//! child in a process group of its own, made the terminal's foreground group when netlab's
//! was: `kill 0` and, inside the node's pid namespace, `kill -1` reach only the node, while
//! ^C, ^Z and `fg` work as for any job. The child enters the node's profile
//! (`sys::confine`) before its seccomp filter and `execve`.

use super::store::Files;
use super::{close_inherited_on_exec, default_sigpipe};
use crate::error::{Error, SysError};
use crate::model::limits::Limits;
use crate::sys::cgroup::{self, Layout};
use crate::sys::{confine, seccomp};
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
    let confined = info.as_ref().and_then(|i| i.confine);
    let cgroup_rel = exec_cgroup(lab).or_else(|| info.as_ref().and_then(|i| i.cgroup.clone()));
    // Not passed on to the command: a `netlab exec` it runs goes where its node says.
    std::env::remove_var(super::oneshot::CGROUP_ENV);
    let holder = files.holder(node);
    // Without its holder the node's pid, mount and uts namespaces (and its rootfs) are gone:
    // what is left would be the host's. Refuse rather than run there.
    if confined.is_some_and(|c| c.holder_view) && holder.is_none() {
        return Err(Error::NotFound(format!(
            "node {node} of lab {lab} has lost its namespaces (its holder is gone); run `netlab up` on the lab's file to start it again"
        )));
    }
    let (in_pid_ns, layout) =
        enter_node(netns, holder, cgroup_rel.as_deref(), confined.is_some()).map_err(fail)?;
    let keep = match (&confined, &layout) {
        (Some(c), Some(l)) => confine::effective_caps(&c.caps, l),
        _ => 0,
    };
    if !in_pid_ns && confined.is_none() {
        return Ok(exec(node, &args, bpf.as_ref()));
    }
    let terminal = foreground_terminal();
    // SAFETY: netlab exec is single-threaded: it runs before any runtime or thread starts.
    match unsafe { nix::unistd::fork() } {
        Ok(nix::unistd::ForkResult::Child) => {
            let me = nix::unistd::Pid::from_raw(0);
            let _ = nix::unistd::setpgid(me, me);
            if terminal {
                take_terminal(nix::unistd::getpgrp());
            }
            if let (Some(c), Some(l), Some(rel)) = (&confined, &layout, &cgroup_rel) {
                // A node whose view its holder makes has one (refused above otherwise).
                if let Err(e) = confine::enter(c, c.holder_view, l, rel, keep) {
                    eprintln!("netlab: confining the command in node {node}: {e}");
                    std::process::exit(126);
                }
            }
            std::process::exit(exec(node, &args, bpf.as_ref()))
        }
        Ok(nix::unistd::ForkResult::Parent { child }) => {
            // Also here: whichever of the two runs first, the group exists before it is used.
            let _ = nix::unistd::setpgid(child, child);
            if terminal {
                take_terminal(child);
            }
            Ok(wait_passing_signals(child, terminal))
        }
        Err(e) => Err(fail(io::Error::from_raw_os_error(e as i32))),
    }
}

/// The cgroup `up` asks an `exec` command to run in (so it can kill all of it at the
/// deadline), if it names one under the lab's own group.
fn exec_cgroup(lab: &str) -> Option<String> {
    let rel = std::env::var(super::oneshot::CGROUP_ENV).ok()?;
    let inside = rel.strip_prefix(&format!("{}/", super::lab_cgroup(lab)))?;
    let clean = !inside.is_empty() && inside.split('/').all(|c| !c.is_empty() && c != "." && c != "..");
    clean.then_some(rel)
}

/// Whether stdin is a terminal whose foreground process group is netlab's: then the
/// command's group gets the terminal, and netlab takes it back afterwards.
fn foreground_terminal() -> bool {
    let stdin = io::stdin();
    nix::unistd::isatty(&stdin).unwrap_or(false)
        && nix::unistd::tcgetpgrp(&stdin).is_ok_and(|g| g == nix::unistd::getpgrp())
}

/// Makes `pgrp` the terminal's foreground group. A background group that does this gets
/// SIGTTOU unless it ignores it, so it is ignored meanwhile.
fn take_terminal(pgrp: nix::unistd::Pid) {
    use nix::sys::signal::{signal, SigHandler, Signal};
    // SAFETY: ignoring a signal and restoring the default install no handler code.
    let old = unsafe { signal(Signal::SIGTTOU, SigHandler::SigIgn) };
    let _ = nix::unistd::tcsetpgrp(io::stdin(), pgrp);
    if let Ok(h) = old {
        // SAFETY: as above; `h` is the disposition that was in place.
        let _ = unsafe { signal(Signal::SIGTTOU, h) };
    }
}

/// Replaces this process with the command; returns only on failure, with a shell's code.
fn exec(node: &str, args: &[CString], bpf: Option<&seccompiler::BpfProgram>) -> i32 {
    default_sigpipe();
    close_inherited_on_exec();
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
    // The command's process group (a negative pid), once there is one.
    let pid = CHILD.load(std::sync::atomic::Ordering::SeqCst);
    if pid < 0 {
        // SAFETY: kill is async-signal-safe.
        unsafe { nix::libc::kill(pid, sig) };
    }
}

/// Waits for the command, whose process group the terminal's signals reach directly when it
/// has the terminal; a SIGINT, SIGQUIT, SIGTERM or SIGHUP sent to netlab itself is passed on
/// to that group. When the command stops (^Z), netlab takes the terminal back and stops too,
/// so the shell sees the job stopped; on `fg` the command gets the terminal and SIGCONT.
/// Returns the command's exit code, or 128 + the signal that killed it.
fn wait_passing_signals(child: nix::unistd::Pid, terminal: bool) -> i32 {
    use nix::sys::signal::{kill, signal, SigHandler, Signal};
    use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
    CHILD.store(-child.as_raw(), std::sync::atomic::Ordering::SeqCst);
    for s in [Signal::SIGTERM, Signal::SIGHUP, Signal::SIGINT, Signal::SIGQUIT] {
        // SAFETY: the handler only reads an atomic and calls kill.
        let _ = unsafe { signal(s, SigHandler::Handler(forward)) };
    }
    let me = nix::unistd::getpgrp();
    let flags = terminal.then_some(WaitPidFlag::WUNTRACED);
    let code = loop {
        match waitpid(child, flags) {
            Ok(WaitStatus::Exited(_, code)) => break code,
            Ok(WaitStatus::Signaled(_, sig, _)) => break 128 + sig as i32,
            Ok(WaitStatus::Stopped(..)) => {
                take_terminal(me);
                let _ = kill(nix::unistd::getpid(), Signal::SIGSTOP);
                // Resumed (`fg`): the command gets the terminal back and goes on.
                take_terminal(child);
                let _ = kill(nix::unistd::Pid::from_raw(-child.as_raw()), Signal::SIGCONT);
            }
            Ok(_) | Err(nix::Error::EINTR) => continue,
            Err(_) => break 1,
        }
    };
    if terminal {
        take_terminal(me);
    }
    code
}

/// Enters the node (`confined`: limiting the cgroup to the node's devices). Returns whether a
/// pid namespace was joined, in which case the command must run in a child: a pid namespace
/// applies to the children of whoever joins it; and the cgroup layout, when a group was
/// joined.
fn enter_node(
    netns: Option<&str>,
    holder: Option<u32>,
    cgroup_rel: Option<&str>,
    confined: bool,
) -> io::Result<(bool, Option<Layout>)> {
    let mut layout = None;
    if let Some(rel) = cgroup_rel {
        // Before the mount namespace changes: the cgroup files are the host's.
        let l = cgroup::detect()?;
        l.create(rel, &Limits::default())?;
        if confined {
            l.restrict_devices(rel)?;
        }
        l.join(rel, std::process::id())?;
        layout = Some(l);
    }
    let Some(h) = holder else {
        match netns {
            // The confined command makes a mount view of its own, with the node's /sys.
            Some(n) if confined => crate::sys::netns::enter_net(n)?,
            Some(n) => crate::sys::netns::enter_for_exec(n)?,
            None => {}
        }
        return Ok((false, layout));
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
    Ok((pid, layout))
}
