//! `__netlab-init hold SPEC`: a node's namespace holder. It enters the node's network
//! namespace, unshares the pid/mount/uts/ipc namespaces the node asks for and forks a pid 1
//! that mounts /proc and /sys, sets the hostname, pivots into the rootfs, then only reaps
//! orphans until it is told to stop. Workloads and `netlab exec` join its namespaces, so they
//! share one view of the node however many there are. In a container-like node (every node
//! with a holder is one) the view is Docker's (`sys::confine::view`), and pid 1 drops to the
//! node's profile once it is set up: capabilities, `no_new_privs`, not dumpable (so
//! `/proc/1/mem` cannot be opened from inside), the node's seccomp filter.

use super::{close_inherited_now, ctx, errno};
use crate::model::seccomp::Seccomp;
use crate::model::workload::{Confinement, Isolation};
use crate::sys::cgroup::{self, Layout};
use crate::sys::confine;
use nix::mount::{mount, umount2, MntFlags, MsFlags};
use nix::sched::{setns, unshare, CloneFlags};
use nix::sys::signal::{SigSet, Signal};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::{fork, ForkResult};
use serde::{Deserialize, Serialize};
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::AsFd;
use std::path::Path;

/// What a namespace holder needs to know.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HolderSpec {
    pub lab: String,
    pub node: String,
    pub netns: String,
    pub isolation: Isolation,
    /// The holder's own cgroup, relative: netlab/LAB/NODE/init.
    pub cgroup: String,
    /// The node's profile, which pid 1 drops to after setup (`None`: stays root).
    #[serde(default)]
    pub confine: Option<Confinement>,
    #[serde(default = "unconfined")]
    pub seccomp: Seccomp,
}

fn unconfined() -> Seccomp {
    Seccomp::Unconfined
}

fn enter_netns(netns: &str) -> io::Result<()> {
    let f = File::open(crate::sys::netns::path(netns))
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

fn holder(spec: &HolderSpec, layout: &Layout) -> io::Result<()> {
    layout.join(&spec.cgroup, std::process::id())?;
    enter_netns(&spec.netns)?;
    let mut flags = flags(&spec.isolation);
    // After joining the group, so that the namespace is rooted there.
    flags.set(CloneFlags::CLONE_NEWCGROUP, spec.confine.is_some());
    ctx("unsharing namespaces", unshare(flags))?;
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
fn pid1_setup(spec: &HolderSpec, layout: &Layout) -> io::Result<()> {
    let iso = &spec.isolation;
    if let Some(h) = &iso.hostname {
        ctx("setting the hostname", nix::unistd::sethostname(h))?;
    }
    let root = iso.rootfs.as_deref().unwrap_or(Path::new("/"));
    let view = confine::view::View {
        root,
        fresh_proc: iso.pid,
        net_sysctls: spec.confine.is_none_or(|c| c.net_sysctls),
        node_cgroup: confine::node_of(&spec.cgroup),
        layout,
    };
    if iso.rootfs.is_some() {
        enter_rootfs(root, &view)?;
    } else if iso.mount {
        confine::view::build(&view)?;
    }
    Ok(())
}

/// `pivot_root` into `root` (as `runc run` does) with the node's /proc, /sys and /dev.
fn enter_rootfs(root: &Path, view: &confine::view::View) -> io::Result<()> {
    ctx(
        "binding the rootfs",
        mount(Some(root), root, None::<&str>, MsFlags::MS_BIND | MsFlags::MS_REC, None::<&str>),
    )?;
    confine::view::build(view)?;
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

/// Drops pid 1 to the node's profile once its setup is done.
fn drop_privileges(spec: &HolderSpec, keep: u64, bpf: Option<&seccompiler::BpfProgram>) -> io::Result<()> {
    if spec.confine.is_none() {
        return Ok(());
    }
    confine::caps::not_dumpable()?;
    confine::caps::drop_to(keep)?;
    if let Some(p) = bpf {
        crate::sys::seccomp::apply(p)?;
    }
    Ok(())
}

pub(super) fn hold(spec: &HolderSpec) -> io::Result<()> {
    ctx("setsid", nix::unistd::setsid())?;
    let layout = cgroup::detect()?;
    let bpf = match spec.confine {
        Some(_) => crate::sys::seccomp::compile(&spec.seccomp)?,
        None => None,
    };
    let keep = spec.confine.map_or(0, |c| confine::effective_caps(&c.caps, &layout));
    holder(spec, &layout)?;
    let (rd, wr) = ctx("pipe", nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC))?;
    // SAFETY: this process is single-threaded (dispatched before any thread is started).
    match unsafe { fork() }.map_err(errno)? {
        ForkResult::Child => {
            drop(rd);
            let set = block(&[Signal::SIGCHLD, Signal::SIGTERM, Signal::SIGINT, Signal::SIGHUP]);
            let mut report = File::from(wr);
            let setup = pid1_setup(spec, &layout).and_then(|()| {
                // `up` reads the parent's output to its end: pid 1 must not hold it open.
                detach_stdio();
                drop_privileges(spec, keep, bpf.as_ref())
            });
            match setup {
                Ok(()) => {
                    drop(report);
                    // pid 1 lives as long as the node: nothing its starter had open stays.
                    close_inherited_now();
                }
                Err(e) => {
                    let _ = write!(report, "{e}");
                    std::process::exit(1);
                }
            }
            // pid 1: reap whatever ends up here, leave on a stop signal (the kernel then
            // kills every process left in the pid namespace).
            loop {
                match wait_signal(&set) {
                    Some((Signal::SIGCHLD, _)) => {
                        while let Ok(s) = waitpid(None, Some(WaitPidFlag::WNOHANG)) {
                            if s == WaitStatus::StillAlive {
                                break;
                            }
                        }
                    }
                    // Only netlab, outside the node, stops the node: a process inside has a
                    // pid here, and its signal to pid 1 would take the whole node down.
                    Some((_, 0)) => std::process::exit(0),
                    Some(_) | None => {}
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

/// The next of `set`'s signals, with the sender's pid as this pid namespace sees it (0 for a
/// sender outside it, or the kernel).
fn wait_signal(set: &nix::sys::signal::SigSet) -> Option<(Signal, i32)> {
    // SAFETY: siginfo_t is plain data that sigwaitinfo fills in.
    let mut info: nix::libc::siginfo_t = unsafe { std::mem::zeroed() };
    // SAFETY: `set` is a valid signal set and `info` a valid siginfo_t to write.
    let n = unsafe { nix::libc::sigwaitinfo(set.as_ref(), &mut info) };
    let sig = Signal::try_from(n).ok()?;
    // SAFETY: si_pid is defined for the signals waited for here (SIGCHLD and kill's).
    let pid = unsafe { info.si_pid() };
    Some((sig, pid))
}
