//! `__netlab-init run SPEC`: a workload's supervisor. It forks the payload into the node
//! (cgroup first, then namespaces, seccomp last), pumps its output into a bounded log,
//! restarts it as its policy says, and on SIGTERM stops everything in the workload's cgroup.
//! It writes the workload's state to the status file, which `up` and `status` read.

use super::status::Status;
use super::{close_inherited_on_exec, ctx, default_sigpipe, errno};
use crate::model::workload::{Restart, Workload};
use crate::state::event::{epoch_ms, WorkloadAction, WorkloadEvent};
use crate::state::WorkloadState;
use crate::sys::cgroup::{self, Layout};
use crate::sys::{netns, seccomp};
use nix::sched::{setns, CloneFlags};
use nix::sys::signal::{kill, SigSet, Signal};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::{fork, ForkResult, Pid};
use serde::{Deserialize, Serialize};
use std::ffi::CString;
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// What a workload supervisor needs to know.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkloadSpec {
    pub lab: String,
    pub node: String,
    /// `None` for a workload of a host node.
    pub netns: Option<String>,
    /// The node's holder, whose namespaces the payload joins.
    pub holder: Option<u32>,
    pub workload: Workload,
    /// The workload's cgroup, relative: netlab/LAB/NODE/WORKLOAD.
    pub cgroup: String,
    pub log: PathBuf,
    pub status: PathBuf,
}

static STOP: AtomicBool = AtomicBool::new(false);

extern "C" fn on_stop(_: i32) {
    STOP.store(true, Ordering::SeqCst);
}

/// Largest log before it is rotated to `.1`.
const LOG_MAX: u64 = 1 << 20;
/// How long a stopped payload has between SIGTERM and SIGKILL.
const GRACE: Duration = Duration::from_secs(2);

fn write_status(path: &Path, st: &Status) {
    let _ = crate::sys::private::write(path, &serde_json::to_vec(st).unwrap_or_default());
}

struct Log {
    path: PathBuf,
    file: File,
}

impl Log {
    fn open(path: &Path) -> io::Result<Log> {
        let file = crate::sys::private::create(path, true)?;
        Ok(Log { path: path.to_path_buf(), file })
    }
    fn write(&mut self, data: &[u8]) {
        if self.file.metadata().map(|m| m.len()).unwrap_or(0) + data.len() as u64 > LOG_MAX {
            let _ = std::fs::rename(&self.path, self.path.with_extension("log.1"));
            if let Ok(l) = Log::open(&self.path) {
                *self = l;
            }
        }
        let _ = self.file.write_all(data);
    }
}

/// The namespaces a payload joins, opened while the supervisor still sees the host.
struct Joins {
    /// Joined by the supervisor itself (children inherit them): pid, ipc, uts, net.
    early: Vec<(OwnedFd, CloneFlags)>,
    /// Joined by each payload after it has entered its cgroup.
    mnt: Option<OwnedFd>,
    /// The capabilities a confined payload keeps, decided while the host's /sys is in view.
    keep: u64,
}

fn open_joins(spec: &WorkloadSpec) -> io::Result<Joins> {
    let open = |p: PathBuf| -> io::Result<OwnedFd> {
        File::open(&p)
            .map(OwnedFd::from)
            .map_err(|e| io::Error::new(e.kind(), format!("opening {}: {e}", p.display())))
    };
    let mut early = Vec::new();
    let mut mnt = None;
    if let Some(h) = spec.holder {
        let ns = |n: &str| PathBuf::from(format!("/proc/{h}/ns/{n}"));
        for (name, flag) in [
            ("ipc", CloneFlags::CLONE_NEWIPC),
            ("uts", CloneFlags::CLONE_NEWUTS),
            ("net", CloneFlags::CLONE_NEWNET),
            ("pid", CloneFlags::CLONE_NEWPID),
        ] {
            early.push((open(ns(name))?, flag));
        }
        mnt = Some(open(ns("mnt"))?);
    } else if let Some(n) = &spec.netns {
        early.push((open(netns::path(n))?, CloneFlags::CLONE_NEWNET));
    }
    let layout = cgroup::detect()?;
    let keep = spec.workload.confine.map_or(0, |c| crate::sys::confine::effective_caps(&c.caps, &layout));
    Ok(Joins { early, mnt, keep })
}

/// Runs in the forked payload: cgroup, mount namespace, a session of its own (so that `kill
/// 0` cannot reach the supervisor), the node's profile, cwd, stdio, env, seccomp, exec.
fn payload(
    spec: &WorkloadSpec,
    layout: &Layout,
    joins: &Joins,
    out: &OwnedFd,
    devnull: &OwnedFd,
    bpf: Option<&seccompiler::BpfProgram>,
) -> io::Result<()> {
    layout.join(&spec.cgroup, std::process::id())?;
    if let Some(m) = &joins.mnt {
        ctx("entering the node's mount namespace", setns(m.as_fd(), CloneFlags::CLONE_NEWNS))?;
    }
    ctx("setsid", nix::unistd::setsid())?;
    let wl = &spec.workload;
    if let Some(c) = &wl.confine {
        // Without a holder (gone, or none), the payload makes the view itself.
        let holder_view = c.holder_view && joins.mnt.is_some();
        crate::sys::confine::enter(c, holder_view, layout, &spec.cgroup, joins.keep)?;
    }
    ctx("changing directory", nix::unistd::chdir(Path::new(wl.cwd.as_deref().unwrap_or("/"))))?;
    ctx("stdin", nix::unistd::dup2_stdin(devnull))?;
    ctx("stdout", nix::unistd::dup2_stdout(out))?;
    ctx("stderr", nix::unistd::dup2_stderr(out))?;
    // SAFETY: single-threaded child between fork and exec; nothing else reads the environment.
    unsafe {
        for (k, _) in std::env::vars_os() {
            std::env::remove_var(k);
        }
        std::env::set_var("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
        std::env::set_var("HOME", "/root");
        for (k, v) in &wl.env {
            std::env::set_var(k, v);
        }
    }
    let args: Vec<CString> =
        wl.cmd.iter().map(|a| CString::new(a.as_bytes()).expect("resolve rejects NUL bytes")).collect();
    default_sigpipe();
    close_inherited_on_exec();
    if let Some(p) = bpf {
        seccomp::apply(p)?;
    }
    let e = nix::unistd::execvp(&args[0], &args).expect_err("execvp returns only on failure");
    Err(io::Error::new(errno(e).kind(), format!("running {}: {}", wl.cmd[0], errno(e))))
}

/// Tells `netlab events` what became of the payload; a lost line costs only the event.
fn report(
    spec: &WorkloadSpec,
    action: WorkloadAction,
    pid: Option<Pid>,
    status: Option<WaitStatus>,
    restarts: u32,
) {
    let (code, signal) = match status {
        Some(WaitStatus::Exited(_, c)) => (Some(c), None),
        Some(WaitStatus::Signaled(_, s, _)) => (None, Some(s.as_str().to_string())),
        _ => (None, None),
    };
    let event = WorkloadEvent {
        time_ms: epoch_ms(std::time::SystemTime::now()),
        node: spec.node.clone(),
        name: spec.workload.name.clone(),
        action,
        pid: pid.map(|p| p.as_raw() as u32),
        code,
        signal,
        restarts,
        state: None,
    };
    let _ = super::events::append(&spec.lab, &event);
}

fn describe(status: WaitStatus) -> (String, bool) {
    match status {
        WaitStatus::Exited(_, 0) => ("exit 0".into(), true),
        WaitStatus::Exited(_, c) => (format!("exit {c}"), false),
        WaitStatus::Signaled(_, s, _) => (format!("killed by {s:?}"), false),
        other => (format!("{other:?}"), false),
    }
}

pub(super) fn supervise(spec: &WorkloadSpec) -> io::Result<()> {
    // The workload is this supervisor's before anything else happens, for as long as it runs.
    let _claim = super::claim::take(&spec.status.with_extension("lock"))?;
    ctx("setsid", nix::unistd::setsid())?;
    let layout = cgroup::detect()?;
    // In the lab's group, so that `down` finds it even when every file is lost.
    layout.join(&super::supervisor_cgroup(&spec.lab), std::process::id())?;
    let bpf = seccomp::compile(&spec.workload.seccomp)?;
    let joins = open_joins(spec)?;
    let devnull: OwnedFd = File::open("/dev/null")?.into();
    let mut log = Log::open(&spec.log)?;
    for (fd, flag) in &joins.early {
        ctx("joining the node's namespaces", setns(fd.as_fd(), *flag))?;
    }
    // SAFETY: the handler only stores to an atomic.
    unsafe {
        let act = nix::sys::signal::SigAction::new(
            nix::sys::signal::SigHandler::Handler(on_stop),
            nix::sys::signal::SaFlags::empty(),
            SigSet::empty(),
        );
        let _ = nix::sys::signal::sigaction(Signal::SIGTERM, &act);
        let _ = nix::sys::signal::sigaction(Signal::SIGINT, &act);
    }
    let mut st =
        Status { supervisor: std::process::id(), state: WorkloadState::Starting, ..Default::default() };
    let mut backoff = Duration::from_millis(100);
    loop {
        let oom_before = layout.usage(&spec.cgroup).ok().and_then(|u| u.oom_kills).unwrap_or(0);
        let (out_r, out_w) = ctx("pipe", nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC))?;
        let (err_r, err_w) = ctx("pipe", nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC))?;
        let started = Instant::now();
        // A payload that daemonized leaves copies behind: the new one starts alone.
        let _ = layout.kill_all(&spec.cgroup);
        // SAFETY: the supervisor is single-threaded.
        let forked = unsafe { fork() };
        let Ok(forked) = forked else {
            // The node's pid namespace is gone with its holder: nothing can run there now.
            st.pid = None;
            st.state = WorkloadState::Failed;
            st.last_exit = Some(format!(
                "cannot start in node {}: {} (its namespaces are gone; run netlab up)",
                spec.node,
                errno(forked.expect_err("checked"))
            ));
            write_status(&spec.status, &st);
            return Ok(());
        };
        let child = match forked {
            ForkResult::Child => {
                drop((out_r, err_r));
                let e = payload(spec, &layout, &joins, &out_w, &devnull, bpf.as_ref())
                    .expect_err("payload returns only on failure");
                let _ = File::from(err_w).write_all(e.to_string().as_bytes());
                std::process::exit(127);
            }
            ForkResult::Parent { child } => child,
        };
        drop((out_w, err_w));
        let mut setup_error = String::new();
        File::from(err_r).read_to_string(&mut setup_error)?;
        st.pid = Some(child.as_raw() as u32);
        st.state = if setup_error.is_empty() { WorkloadState::Running } else { WorkloadState::Failed };
        write_status(&spec.status, &st);
        if !setup_error.is_empty() {
            log.write(format!("netlab: {setup_error}\n").as_bytes());
        }
        let began = match (setup_error.is_empty(), st.restarts) {
            (false, _) => WorkloadAction::Failed,
            (true, 0) => WorkloadAction::Started,
            (true, _) => WorkloadAction::Restarted,
        };
        report(spec, began, Some(child), None, st.restarts);
        let status = pump(child, &out_r, &mut log, &layout, &spec.cgroup)?;
        let (what, success) = describe(status);
        // The cgroup's OOM counter (v1 memory.oom_control, v2 memory.events oom_kill) says
        // whether the kernel killed something of the payload's: the payload itself (SIGKILL),
        // or a child it then exited for (a shell's 137).
        let oom = layout.usage(&spec.cgroup).ok().and_then(|u| u.oom_kills).unwrap_or(0) > oom_before;
        st.pid = None;
        st.last_exit = Some(if oom {
            format!("{what} (out of memory)")
        } else if !setup_error.is_empty() {
            setup_error.clone()
        } else {
            what
        });
        st.state = if STOP.load(Ordering::SeqCst) {
            WorkloadState::Stopped
        } else if oom {
            WorkloadState::OomKilled
        } else if !setup_error.is_empty() {
            WorkloadState::Failed
        } else {
            WorkloadState::Exited
        };
        log.write(
            format!("netlab: {} {}\n", spec.workload.name, st.last_exit.as_deref().unwrap_or("")).as_bytes(),
        );
        if setup_error.is_empty() {
            let ended = match st.state {
                WorkloadState::Stopped => WorkloadAction::Stopped,
                WorkloadState::OomKilled => WorkloadAction::OomKilled,
                _ => WorkloadAction::Exited,
            };
            report(spec, ended, Some(child), Some(status), st.restarts);
        }
        let again = !STOP.load(Ordering::SeqCst)
            && setup_error.is_empty()
            && match spec.workload.restart {
                Restart::No => false,
                Restart::OnFailure => !success,
                Restart::Always => true,
            };
        if !again {
            write_status(&spec.status, &st);
            let _ = layout.kill_all(&spec.cgroup);
            return Ok(());
        }
        // A payload that ran a while starts over with a short backoff.
        if started.elapsed() > Duration::from_secs(10) {
            backoff = Duration::from_millis(100);
        }
        st.state = WorkloadState::Backoff;
        st.restarts += 1;
        write_status(&spec.status, &st);
        let until = Instant::now() + backoff;
        while Instant::now() < until && !STOP.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(20));
        }
        backoff = (backoff * 2).min(Duration::from_secs(5));
        if STOP.load(Ordering::SeqCst) {
            st.state = WorkloadState::Stopped;
            write_status(&spec.status, &st);
            report(spec, WorkloadAction::Stopped, None, None, st.restarts);
            return Ok(());
        }
    }
}

/// Copies the payload's output to the log until it exits; on a stop request, SIGTERM, then
/// after the grace period SIGKILL to everything in its cgroup (grandchildren too).
fn pump(child: Pid, out: &OwnedFd, log: &mut Log, layout: &Layout, cgroup: &str) -> io::Result<WaitStatus> {
    use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
    let flags = nix::fcntl::fcntl(out, nix::fcntl::FcntlArg::F_GETFL).map_err(errno)?;
    let nonblock = nix::fcntl::OFlag::from_bits_truncate(flags) | nix::fcntl::OFlag::O_NONBLOCK;
    nix::fcntl::fcntl(out, nix::fcntl::FcntlArg::F_SETFL(nonblock)).map_err(errno)?;
    let mut buf = [0u8; 8192];
    let mut open = true;
    let mut term_sent: Option<Instant> = None;
    loop {
        if STOP.load(Ordering::SeqCst) {
            match term_sent {
                None => {
                    for pid in layout.procs(cgroup).unwrap_or_default() {
                        let _ = kill(Pid::from_raw(pid as i32), Signal::SIGTERM);
                    }
                    let _ = kill(child, Signal::SIGTERM);
                    term_sent = Some(Instant::now());
                }
                Some(t) if t.elapsed() > GRACE => {
                    let _ = layout.kill_all(cgroup);
                    let _ = kill(child, Signal::SIGKILL);
                }
                _ => {}
            }
        }
        if open {
            let mut fds = [PollFd::new(out.as_fd(), PollFlags::POLLIN)];
            match poll(&mut fds, PollTimeout::from(100u16)) {
                Ok(n) if n > 0 => match nix::unistd::read(out, &mut buf) {
                    Ok(0) => open = false,
                    Ok(n) => log.write(&buf[..n]),
                    Err(nix::Error::EINTR) | Err(nix::Error::EAGAIN) => {}
                    Err(_) => open = false,
                },
                _ => {}
            }
        } else {
            std::thread::sleep(Duration::from_millis(50));
        }
        match waitpid(child, Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::StillAlive) | Err(nix::Error::EINTR) => {}
            Ok(s) => {
                // Drain what the payload wrote last. A grandchild may still hold the pipe
                // open: the read end is non-blocking, so this stops at what is there.
                while open {
                    match nix::unistd::read(out, &mut buf) {
                        Ok(n) if n > 0 => log.write(&buf[..n]),
                        _ => open = false,
                    }
                }
                return Ok(s);
            }
            Err(e) => return Err(errno(e)),
        }
    }
}
