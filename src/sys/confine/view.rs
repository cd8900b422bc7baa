//! The mount view of a container-like node, as Docker (runc) gives a container: `/proc/sys`
//! read-only but for `/proc/sys/net` (per network namespace), `/proc/kcore`, `/proc/keys`,
//! ... masked, `/sys` a fresh read-only sysfs with `/sys/firmware` masked, the node's own
//! cgroups mounted read-only at `/sys/fs/cgroup`, and `/dev` a fresh tmpfs with the harmless
//! devices, a new devpts instance and `shm`. Built in the caller's own (private) mount
//! namespace, under `root` (a rootfs before `pivot_root`, or `/`).
//!
//! Shell equivalents: `mount -o bind,ro /proc/sys /proc/sys`, `mount --bind /dev/null
//! /proc/kcore`, `mount -t tmpfs -o ro tmpfs /proc/acpi`, `mount -t devpts -o
//! newinstance,ptmxmode=0666 devpts /dev/pts`.

use crate::sys::cgroup::Layout;
use nix::fcntl::{open, OFlag};
use nix::mount::{mount, MsFlags};
use nix::sys::stat::Mode;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};

/// The devices a node gets in its `/dev`, bound from the host's.
const DEVICES: [&str; 6] = ["null", "zero", "full", "random", "urandom", "tty"];

/// `/proc` files hidden behind `/dev/null`, and directories behind an empty read-only tmpfs
/// (Docker's `maskedPaths`, with `sysrq-trigger` masked rather than read-only).
const MASKED_FILES: [&str; 7] =
    ["kcore", "keys", "timer_list", "latency_stats", "timer_stats", "sched_debug", "sysrq-trigger"];
const MASKED_DIRS: [&str; 3] = ["acpi", "scsi", "asound"];
/// `/proc` directories made read-only (Docker's `readonlyPaths`); `sys` keeps `sys/net`.
const READONLY: [&str; 4] = ["bus", "fs", "irq", "sys"];
/// `/sys` directories masked.
const SYS_MASKED: [&str; 2] = ["firmware", "devices/virtual/powercap"];

/// What the view needs to know.
pub struct View<'a> {
    /// Where the node's `/` is now: its rootfs, or `/`.
    pub root: &'a Path,
    /// Mount a fresh `/proc` (the node has a pid namespace of its own).
    pub fresh_proc: bool,
    /// Keep `/proc/sys/net` writable.
    pub net_sysctls: bool,
    /// The node's cgroup (`netlab/LAB/NODE`), shown read-only at `/sys/fs/cgroup`.
    pub node_cgroup: &'a str,
    pub layout: &'a Layout,
}

fn errno(e: nix::Error) -> io::Error {
    io::Error::from_raw_os_error(e as i32)
}

fn mnt(
    src: Option<&Path>,
    target: &Path,
    fstype: Option<&str>,
    flags: MsFlags,
    data: Option<&str>,
) -> io::Result<()> {
    mount(src, target, fstype, flags, data)
        .map_err(|e| io::Error::new(errno(e).kind(), format!("mounting {}: {}", target.display(), errno(e))))
}

const HARDEN: MsFlags = MsFlags::MS_NOSUID.union(MsFlags::MS_NODEV).union(MsFlags::MS_NOEXEC);

fn remount_ro(path: &Path) -> io::Result<()> {
    let flags = MsFlags::MS_BIND | MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY | HARDEN;
    mnt(None, path, None, flags, None)
}

/// An empty read-only tmpfs over a directory.
fn mask_dir(path: &Path) -> io::Result<()> {
    mnt(Some(Path::new("tmpfs")), path, Some("tmpfs"), MsFlags::MS_RDONLY | HARDEN, Some("size=0"))
}

/// `/proc/self/fd/N`: a path through which a file opened earlier (and hidden since) can still
/// be bound.
fn fd_path(fd: &OwnedFd) -> PathBuf {
    PathBuf::from(format!("/proc/self/fd/{}", fd.as_raw_fd()))
}

fn open_path(p: &Path) -> io::Result<OwnedFd> {
    open(p, OFlag::O_PATH | OFlag::O_CLOEXEC, Mode::empty())
        .map_err(|e| io::Error::new(errno(e).kind(), format!("opening {}: {}", p.display(), errno(e))))
}

/// The node's cgroup directories on the host, by the name they get under `/sys/fs/cgroup`
/// (`""`: cgroup v2, mounted there itself).
fn cgroup_sources(v: &View) -> io::Result<Vec<(String, OwnedFd)>> {
    let mut out = Vec::new();
    for (name, dir) in v.layout.node_dirs(v.node_cgroup)? {
        if dir.is_dir() {
            out.push((name, open_path(&dir)?));
        }
    }
    Ok(out)
}

/// Builds the view under `v.root`. The caller has a private mount namespace already (so none
/// of this reaches the host) and still holds `CAP_SYS_ADMIN`.
pub fn build(v: &View) -> io::Result<()> {
    // Opened before anything hides them: the host's devices and cgroup directories.
    let devices: Vec<(&str, OwnedFd)> = DEVICES
        .iter()
        .map(|d| Ok((*d, open_path(&Path::new("/dev").join(d))?)))
        .collect::<io::Result<_>>()?;
    let cgroups = cgroup_sources(v)?;
    let null = fd_path(&devices[0].1);
    let proc = v.root.join("proc");
    if v.fresh_proc {
        std::fs::create_dir_all(&proc)?;
        mnt(Some(Path::new("proc")), &proc, Some("proc"), HARDEN, None)?;
    }
    sysfs(v, &cgroups)?;
    dev(&v.root.join("dev"), &devices)?;
    for f in MASKED_FILES {
        let p = proc.join(f);
        if p.exists() {
            mnt(Some(&null), &p, None, MsFlags::MS_BIND, None)?;
        }
    }
    for d in MASKED_DIRS {
        let p = proc.join(d);
        if p.is_dir() {
            mask_dir(&p)?;
        }
    }
    for d in READONLY {
        let p = proc.join(d);
        if !p.is_dir() {
            continue;
        }
        mnt(Some(&p), &p, None, MsFlags::MS_BIND | MsFlags::MS_REC, None)?;
        if d == "sys" && v.net_sysctls {
            // Its own bind, so that it stays writable when the one above it turns read-only.
            let net = p.join("net");
            mnt(Some(&net), &net, None, MsFlags::MS_BIND | MsFlags::MS_REC, None)?;
        }
        remount_ro(&p)?;
    }
    Ok(())
}

/// A fresh read-only sysfs (it shows the mounting process's network namespace: the node's
/// interfaces), its firmware masked, and the node's cgroups read-only below it.
fn sysfs(v: &View, cgroups: &[(String, OwnedFd)]) -> io::Result<()> {
    let sys = v.root.join("sys");
    std::fs::create_dir_all(&sys)?;
    // On top of the host's sysfs, which with everything mounted below it (cgroupfs,
    // debugfs, ...) is out of reach underneath; not unmounted, because the node's cgroups
    // are bound from there (a bind source must be attached in this namespace).
    mnt(Some(Path::new("sysfs")), &sys, Some("sysfs"), HARDEN | MsFlags::MS_RDONLY, None)?;
    for d in SYS_MASKED {
        let p = sys.join(d);
        if p.is_dir() {
            mask_dir(&p)?;
        }
    }
    let cg = sys.join("fs/cgroup");
    if !cg.is_dir() {
        return Ok(());
    }
    if let [(name, fd)] = cgroups {
        if name.is_empty() {
            mnt(Some(&fd_path(fd)), &cg, None, MsFlags::MS_BIND, None)?;
            return remount_ro(&cg);
        }
    }
    mnt(Some(Path::new("tmpfs")), &cg, Some("tmpfs"), HARDEN, Some("mode=755,size=64k"))?;
    for (name, fd) in cgroups {
        let target = cg.join(name);
        std::fs::create_dir_all(&target)?;
        mnt(Some(&fd_path(fd)), &target, None, MsFlags::MS_BIND, None)?;
        remount_ro(&target)?;
    }
    mnt(None, &cg, None, MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY | HARDEN, Some("mode=755,size=64k"))
}

/// `/dev`: a tmpfs with the harmless devices bound from the host's, a devpts of its own
/// (`/dev/ptmx` pointing into it) and a `shm` tmpfs.
fn dev(dev: &Path, devices: &[(&str, OwnedFd)]) -> io::Result<()> {
    std::fs::create_dir_all(dev)?;
    mnt(Some(Path::new("tmpfs")), dev, Some("tmpfs"), MsFlags::MS_NOSUID, Some("mode=755,size=65536k"))?;
    for (name, fd) in devices {
        let target = dev.join(name);
        std::fs::File::create(&target)?;
        mnt(Some(&fd_path(fd)), &target, None, MsFlags::MS_BIND, None)?;
    }
    for (link, to) in [
        ("fd", "/proc/self/fd"),
        ("stdin", "/proc/self/fd/0"),
        ("stdout", "/proc/self/fd/1"),
        ("stderr", "/proc/self/fd/2"),
        ("ptmx", "pts/ptmx"),
    ] {
        std::os::unix::fs::symlink(to, dev.join(link))?;
    }
    let pts = dev.join("pts");
    std::fs::create_dir_all(&pts)?;
    mnt(
        Some(Path::new("devpts")),
        &pts,
        Some("devpts"),
        MsFlags::MS_NOSUID | MsFlags::MS_NOEXEC,
        Some("newinstance,ptmxmode=0666,mode=0620,gid=5"),
    )?;
    let shm = dev.join("shm");
    std::fs::create_dir_all(&shm)?;
    mnt(Some(Path::new("shm")), &shm, Some("tmpfs"), HARDEN, Some("mode=1777,size=65536k"))
}
