//! `netlab __netlab-init`: the processes that outlive `netlab up`. Dispatched from `main`
//! before any thread exists, because `unshare` of mount and pid namespaces and `setns` of a
//! pid namespace need a single-threaded process.
//!
//! - `hold SPEC`: a node's namespace holder. It enters the node's network namespace, unshares
//!   the pid/mount/uts/ipc namespaces the node asks for and forks a pid 1 that mounts /proc
//!   and /sys, sets the hostname, pivots into the rootfs, then only reaps orphans until it is
//!   told to stop. Workloads and `netlab exec` join its namespaces.
//! - `run SPEC`: a workload's supervisor. It forks the payload into the node (cgroup first,
//!   then namespaces, seccomp last), pumps its output into a bounded log, restarts it as its
//!   policy says, and on SIGTERM stops everything in the workload's cgroup.

use super::cgroup::Layout;
use crate::model::workload::{Isolation, Restart, Workload};
use nix::mount::{mount, umount2, MntFlags, MsFlags};
use nix::sched::{setns, unshare, CloneFlags};
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

/// What a namespace holder needs to know.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HolderSpec {
    pub lab: String,
    pub node: String,
    pub netns: String,
    pub isolation: Isolation,
    /// The holder's own cgroup, relative: netlab/LAB/NODE/init.
    pub cgroup: String,
}

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

/// A workload's state, as its supervisor last wrote it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Status {
    pub supervisor: u32,
    pub pid: Option<u32>,
    /// starting, running, exited, failed, oom-killed, backoff, stopped
    pub state: String,
    pub restarts: u32,
    pub last_exit: Option<String>,
}

/// Entry point of `__netlab-init`; never returns.
pub fn main(args: &[String]) -> ! {
    let result = match (args.first().map(String::as_str), args.get(1)) {
        (Some("hold"), Some(spec)) => read_spec(spec).and_then(|s| hold(&s)),
        (Some("run"), Some(spec)) => read_spec(spec).and_then(|s| supervise(&s)),
        _ => Err(io::Error::other("usage: __netlab-init hold|run SPEC")),
    };
    match result {
        Ok(()) => std::process::exit(0),
        Err(e) => {
            eprintln!("netlab-init: {e}");
            std::process::exit(1)
        }
    }
}

fn read_spec<T: for<'de> Deserialize<'de>>(path: &str) -> io::Result<T> {
    let text = std::fs::read(path)?;
    serde_json::from_slice(&text).map_err(|e| io::Error::other(format!("reading {path}: {e}")))
}

fn errno(e: nix::Error) -> io::Error {
    io::Error::from_raw_os_error(e as i32)
}

fn ctx<T>(what: &str, r: nix::Result<T>) -> io::Result<T> {
    r.map_err(|e| io::Error::new(errno(e).kind(), format!("{what}: {}", errno(e))))
}

fn enter_netns(netns: &str) -> io::Result<()> {
    let f = File::open(super::netns::path(netns))
        .map_err(|e| io::Error::new(e.kind(), format!("opening netns {netns}: {e}")))?;
    ctx(&format!("entering netns {netns}"), setns(f.as_fd(), CloneFlags::CLONE_NEWNET))
}

fn flags(iso: &Isolation) -> CloneFlags {
    let mut f = CloneFlags::empty();
    f.set(CloneFlags::CLONE_NEWNS, iso.mount);
    f.set(CloneFlags::CLONE_NEWUTS, iso.uts);
    f.set(CloneFlags::CLONE_NEWIPC, iso.ipc);
    f.set(CloneFlags::CLONE_NEWPID, iso.pid);
    f
}

fn holder(spec: &HolderSpec) -> io::Result<()> {
    let layout = super::cgroup::detect()?;
    layout.join(&spec.cgroup, std::process::id())?;
    enter_netns(&spec.netns)?;
    ctx("unsharing namespaces", unshare(flags(&spec.isolation)))?;
    if spec.isolation.mount {
        // Nothing the node mounts may leak back to the host.
        ctx(
            "making / private",
            mount(None::<&str>, "/", None::<&str>, MsFlags::MS_REC | MsFlags::MS_PRIVATE, None::<&str>),
        )?;
    }
    Ok(())
}

/// Sets up the node's view inside its new namespaces: runs as the new pid 1.
fn pid1_setup(iso: &Isolation) -> io::Result<()> {
    if let Some(h) = &iso.hostname {
        ctx("setting the hostname", nix::unistd::sethostname(h))?;
    }
    if let Some(root) = &iso.rootfs {
        enter_rootfs(root)?;
    } else if iso.mount {
        mount_proc_sys(Path::new("/"), iso.pid)?;
    }
    Ok(())
}

fn mount_proc_sys(root: &Path, proc_too: bool) -> io::Result<()> {
    let nosuid = MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC;
    if proc_too {
        let p = root.join("proc");
        std::fs::create_dir_all(&p)?;
        ctx("mounting /proc", mount(Some("proc"), &p, Some("proc"), nosuid, None::<&str>))?;
    }
    let s = root.join("sys");
    std::fs::create_dir_all(&s)?;
    // sysfs shows the mounting process's network namespace: the node's interfaces.
    let _ = umount2(&s, MntFlags::MNT_DETACH);
    ctx("mounting /sys", mount(Some("sysfs"), &s, Some("sysfs"), nosuid | MsFlags::MS_RDONLY, None::<&str>))
}

/// `pivot_root` into `root` (as `runc run` does) with /proc, /sys and a minimal /dev.
fn enter_rootfs(root: &Path) -> io::Result<()> {
    ctx(
        "binding the rootfs",
        mount(Some(root), root, None::<&str>, MsFlags::MS_BIND | MsFlags::MS_REC, None::<&str>),
    )?;
    let dev = root.join("dev");
    std::fs::create_dir_all(&dev)?;
    ctx(
        "mounting /dev",
        mount(Some("tmpfs"), &dev, Some("tmpfs"), MsFlags::MS_NOSUID, Some("mode=755,size=65536k")),
    )?;
    for name in ["null", "zero", "full", "random", "urandom", "tty"] {
        let target = dev.join(name);
        File::create(&target)?;
        ctx(
            &format!("binding /dev/{name}"),
            mount(Some(&Path::new("/dev").join(name)), &target, None::<&str>, MsFlags::MS_BIND, None::<&str>),
        )?;
    }
    for (link, to) in [
        ("fd", "/proc/self/fd"),
        ("stdin", "/proc/self/fd/0"),
        ("stdout", "/proc/self/fd/1"),
        ("stderr", "/proc/self/fd/2"),
    ] {
        let _ = std::os::unix::fs::symlink(to, dev.join(link));
    }
    mount_proc_sys(root, true)?;
    ctx("entering the rootfs", nix::unistd::chdir(root))?;
    // pivot_root(".", "."): the old root ends up on top of the new one, then goes away.
    ctx("pivot_root", nix::unistd::pivot_root(".", "."))?;
    ctx("detaching the old root", umount2(".", MntFlags::MNT_DETACH))?;
    ctx("entering /", nix::unistd::chdir("/"))
}

/// Points stdin, stdout and stderr at /dev/null.
fn detach_stdio() {
    if let Ok(null) = std::fs::OpenOptions::new().read(true).write(true).open("/dev/null") {
        let _ = nix::unistd::dup2_stdin(&null);
        let _ = nix::unistd::dup2_stdout(&null);
        let _ = nix::unistd::dup2_stderr(&null);
    }
}

/// Blocks the signals pid 1 handles synchronously.
fn block(signals: &[Signal]) -> SigSet {
    let mut set = SigSet::empty();
    for s in signals {
        set.add(*s);
    }
    let _ = set.thread_block();
    set
}

fn hold(spec: &HolderSpec) -> io::Result<()> {
    ctx("setsid", nix::unistd::setsid())?;
    holder(spec)?;
    let (rd, wr) = ctx("pipe", nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC))?;
    // SAFETY: this process is single-threaded (dispatched before any thread is started).
    match unsafe { fork() }.map_err(errno)? {
        ForkResult::Child => {
            drop(rd);
            let set = block(&[Signal::SIGCHLD, Signal::SIGTERM, Signal::SIGINT, Signal::SIGHUP]);
            let mut report = File::from(wr);
            match pid1_setup(&spec.isolation) {
                Ok(()) => {
                    drop(report);
                    // `up` reads the parent's output to its end: pid 1 must not hold it open.
                    detach_stdio();
                }
                Err(e) => {
                    let _ = write!(report, "{e}");
                    std::process::exit(1);
                }
            }
            // pid 1: reap whatever ends up here, leave on a stop signal (the kernel then
            // kills every process left in the pid namespace).
            loop {
                match set.wait() {
                    Ok(Signal::SIGCHLD) => {
                        while let Ok(s) = waitpid(None, Some(WaitPidFlag::WNOHANG)) {
                            if s == WaitStatus::StillAlive {
                                break;
                            }
                        }
                    }
                    Ok(_) => std::process::exit(0),
                    Err(_) => {}
                }
            }
        }
        ForkResult::Parent { child } => {
            drop(wr);
            let mut msg = String::new();
            File::from(rd).read_to_string(&mut msg)?;
            if !msg.is_empty() {
                return Err(io::Error::other(format!("setting up node {}: {msg}", spec.node)));
            }
            // `up` reads the holder's pid (as the host sees it) from here.
            println!("{}", child.as_raw());
            Ok(())
        }
    }
}

/// Rust ignores SIGPIPE and an ignored signal stays ignored across `execve`: programs run
/// in a node get the default back, as from a shell.
pub fn default_sigpipe() {
    // SAFETY: restores the default disposition; no handler code is installed.
    let _ = unsafe { nix::sys::signal::signal(Signal::SIGPIPE, nix::sys::signal::SigHandler::SigDfl) };
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
    let tmp = path.with_extension("tmp");
    if std::fs::write(&tmp, serde_json::to_vec(st).unwrap_or_default()).is_ok() {
        let _ = std::fs::rename(&tmp, path);
    }
}

struct Log {
    path: PathBuf,
    file: File,
}

impl Log {
    fn open(path: &Path) -> io::Result<Log> {
        let file = std::fs::OpenOptions::new().create(true).append(true).open(path)?;
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
        early.push((open(super::netns::path(n))?, CloneFlags::CLONE_NEWNET));
    }
    Ok(Joins { early, mnt })
}

/// Runs in the forked payload: cgroup, mount namespace, cwd, stdio, env, seccomp, exec.
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
    let wl = &spec.workload;
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
    if let Some(p) = bpf {
        super::seccomp::apply(p)?;
    }
    let e = nix::unistd::execvp(&args[0], &args).expect_err("execvp returns only on failure");
    Err(io::Error::new(errno(e).kind(), format!("running {}: {}", wl.cmd[0], errno(e))))
}

fn describe(status: WaitStatus) -> (String, bool) {
    match status {
        WaitStatus::Exited(_, 0) => ("exit 0".into(), true),
        WaitStatus::Exited(_, c) => (format!("exit {c}"), false),
        WaitStatus::Signaled(_, s, _) => (format!("killed by {s:?}"), false),
        other => (format!("{other:?}"), false),
    }
}

fn supervise(spec: &WorkloadSpec) -> io::Result<()> {
    ctx("setsid", nix::unistd::setsid())?;
    let layout = super::cgroup::detect()?;
    // In the lab's group, so that `down` finds it even when every file is lost.
    layout.join(&super::procs::supervisor_cgroup(&spec.lab), std::process::id())?;
    let bpf = super::seccomp::compile(&spec.workload.seccomp)?;
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
    let mut st = Status { supervisor: std::process::id(), state: "starting".into(), ..Default::default() };
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
            st.state = "failed".into();
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
        st.state = if setup_error.is_empty() { "running".into() } else { "failed".into() };
        write_status(&spec.status, &st);
        if !setup_error.is_empty() {
            log.write(format!("netlab: {setup_error}\n").as_bytes());
        }
        let status = pump(child, &out_r, &mut log, &layout, &spec.cgroup)?;
        let (what, success) = describe(status);
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
            "stopped"
        } else if oom {
            "oom-killed"
        } else if !setup_error.is_empty() {
            "failed"
        } else {
            "exited"
        }
        .into();
        log.write(
            format!("netlab: {} {}\n", spec.workload.name, st.last_exit.as_deref().unwrap_or("")).as_bytes(),
        );
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
        st.state = "backoff".into();
        st.restarts += 1;
        write_status(&spec.status, &st);
        let until = Instant::now() + backoff;
        while Instant::now() < until && !STOP.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(20));
        }
        backoff = (backoff * 2).min(Duration::from_secs(5));
        if STOP.load(Ordering::SeqCst) {
            st.state = "stopped".into();
            write_status(&spec.status, &st);
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
