//! `__netlab-init hold SPEC`: a node's namespace holder. It enters the node's network
//! namespace, unshares the pid/mount/uts/ipc namespaces the node asks for and forks a pid 1
//! that mounts /proc and /sys, sets the hostname, pivots into the rootfs, then only reaps
//! orphans until it is told to stop. Workloads and `netlab exec` join its namespaces, so they
//! share one view of the node however many there are.

use super::{ctx, errno};
use crate::model::workload::Isolation;
use crate::sys::cgroup;
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

fn holder(spec: &HolderSpec) -> io::Result<()> {
    let layout = cgroup::detect()?;
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

pub(super) fn hold(spec: &HolderSpec) -> io::Result<()> {
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
