//! `netlab exec NODE [--lab NAME] -- CMD ARGS...`: replaces netlab with the command, inside
//! the node, so exit code, stdin/stdout/stderr and the tty pass through untouched.

use crate::engine::exec::locate;
use crate::error::{Error, Result, SysError};
use crate::sys::enter::enter_node;
use crate::sys::procs::Files;
use crate::sys::seccomp;
use crate::sys::Real;
use std::ffi::CString;

pub fn run(node: &str, lab: Option<&str>, cmd: &[String]) -> Result<i32> {
    let (lab, ns) = locate(&Real::new(), node, lab)?;
    let files = Files { lab };
    let info = files.exec_info(node);
    let fail = |e: std::io::Error| Error::Sys(SysError::new(format!("entering node {node}"), e));
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
        .collect::<Result<_>>()?;
    let in_pid_ns =
        enter_node(ns.as_deref(), files.holder(node), info.as_ref().and_then(|i| i.cgroup.as_deref()))
            .map_err(fail)?;
    if !in_pid_ns {
        return Ok(exec(node, &args, bpf.as_ref()));
    }
    // SAFETY: netlab exec is single-threaded: it runs before any runtime or thread starts.
    match unsafe { nix::unistd::fork() } {
        Ok(nix::unistd::ForkResult::Child) => std::process::exit(exec(node, &args, bpf.as_ref())),
        Ok(nix::unistd::ForkResult::Parent { child }) => Ok(wait_passing_signals(child)),
        Err(e) => Err(fail(std::io::Error::from_raw_os_error(e as i32))),
    }
}

/// Replaces this process with the command; returns only on failure, with a shell's code.
fn exec(node: &str, args: &[CString], bpf: Option<&seccompiler::BpfProgram>) -> i32 {
    crate::sys::init::default_sigpipe();
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
        std::io::Error::from_raw_os_error(err as i32)
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
