//! Cgroups that limit workloads: one group per node (and per workload) under `netlab/LAB`, in
//! the single cgroup v2 tree or, on v1 and hybrid machines, in the v1 `memory`, `cpu` and `pids`
//! hierarchies. The layout is detected at run time with statfs(2).
//!
//! Shell equivalents: `mkdir -p /sys/fs/cgroup/netlab/LAB/NODE`,
//! `echo 268435456 > .../memory.max`, `echo PID > .../cgroup.procs`, `rmdir`.

mod files;
mod fsops;
#[cfg(test)]
mod kernel_tests;
#[cfg(test)]
mod tests;
mod v2;

use std::io;
use std::path::{Component, Path, PathBuf};
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::sys::statfs::{statfs, CGROUP2_SUPER_MAGIC, CGROUP_SUPER_MAGIC};
use nix::unistd::Pid;

use crate::model::limits::Limits;
use files::{parse_oom_kills, parse_u64, v1_limit_files};
use fsops::{ctx, mkdir_all, read_opt, write};

/// Where cgroupfs is mounted on every distribution netlab targets.
pub const CGROUP_ROOT: &str = "/sys/fs/cgroup";

/// The v1 hierarchies netlab uses, by directory under the root. `cpu` is often a symlink to
/// `cpu,cpuacct`, which path resolution follows.
const V1_HIERARCHIES: [&str; 3] = ["memory", "cpu", "pids"];

/// The v1 `devices` hierarchy, used where it is mounted: container-like nodes are limited to
/// the devices in their `/dev` through it (`devices.deny`, `devices.allow`).
const V1_DEVICES: &str = "devices";

/// What a container-like node may open and `mknod` (Docker's list, without the console):
/// null, zero, full, random, urandom, tty, ptmx, and the ptys of its own devpts.
pub const ALLOWED_DEVICES: [&str; 8] = [
    "c 1:3 rwm",
    "c 1:5 rwm",
    "c 1:7 rwm",
    "c 1:8 rwm",
    "c 1:9 rwm",
    "c 5:0 rwm",
    "c 5:2 rwm",
    "c 136:* rwm",
];

/// How long `kill_all` waits for a group to empty before naming the survivors.
const KILL_TIMEOUT: Duration = Duration::from_secs(2);

/// Which cgroup interface the kernel offers. Hybrid machines (v1 controllers plus an empty
/// cgroup2 at `unified/`) count as v1: the controllers are where the limits are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Layout {
    /// One hierarchy per controller at `root/memory`, `root/cpu`, `root/pids`.
    V1 { root: PathBuf },
    /// The unified tree at `root`.
    V2 { root: PathBuf },
}

/// What a group (with everything below it) uses right now. `None`: the kernel does not say.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    pub memory_bytes: Option<u64>,
    pub pids: Option<u64>,
    /// Processes the OOM killer took in this group.
    pub oom_kills: Option<u64>,
}

/// Detects the layout at /sys/fs/cgroup.
pub fn detect() -> io::Result<Layout> {
    detect_at(Path::new(CGROUP_ROOT))
}

/// Detects the layout of a cgroupfs mounted at `root`: cgroup2 there means v2; otherwise
/// the `memory`, `cpu` and `pids` v1 hierarchies must all be mounted below it.
pub fn detect_at(root: &Path) -> io::Result<Layout> {
    let fs_type = |p: &Path| statfs(p).map(|s| s.filesystem_type());
    match fs_type(root) {
        Ok(t) if t == CGROUP2_SUPER_MAGIC => return Ok(Layout::V2 { root: root.into() }),
        Ok(_) => {}
        Err(e) => return Err(ctx(e.into(), format!("looking for cgroups at {}", root.display()))),
    }
    let missing: Vec<String> = V1_HIERARCHIES
        .iter()
        .map(|h| root.join(h))
        .filter(|p| fs_type(p).ok() != Some(CGROUP_SUPER_MAGIC))
        .map(|p| p.display().to_string())
        .collect();
    if missing.is_empty() {
        return Ok(Layout::V1 { root: root.into() });
    }
    Err(io::Error::new(
        io::ErrorKind::NotFound,
        format!(
            "no usable cgroups at {}: it is not a cgroup2 mount, and these cgroup v1 hierarchies \
             are not mounted: {}; mount them (e.g. `mount -t cgroup -o memory cgroup {}/memory`) \
             or boot with cgroup v2",
            root.display(),
            missing.join(", "),
            root.display()
        ),
    ))
}

impl Layout {
    /// Creates the group `rel` (e.g. "netlab/LAB/NODE") with its parents, and writes all three
    /// limits; an unset one is written as "no limit", so calling it again with fewer limits
    /// lifts the others. Idempotent.
    pub fn create(&self, rel: &str, limits: &Limits) -> io::Result<()> {
        let rel = check_rel(rel)?;
        match self {
            Layout::V1 { root } => {
                for dir in self.group_dirs(rel.to_str().expect("checked"))? {
                    mkdir_all(&dir)?;
                }
                for f in v1_limit_files(limits) {
                    write(&root.join(f.controller).join(rel).join(f.file), &f.value)?;
                }
                Ok(())
            }
            Layout::V2 { root } => v2::create(root, rel, limits),
        }
    }

    /// Moves process `pid` (all its threads) into the group: `echo PID > cgroup.procs`.
    pub fn join(&self, rel: &str, pid: u32) -> io::Result<()> {
        for dir in self.group_dirs(rel)? {
            let procs = dir.join("cgroup.procs");
            std::fs::write(&procs, pid.to_string())
                .map_err(|e| ctx(e, format!("moving pid {pid} into {}", procs.display())))?;
        }
        Ok(())
    }

    /// Every pid in the group and the groups below it, sorted; empty when the group is missing.
    /// On v1 the union over the three hierarchies, so a half-joined process is not missed.
    pub fn procs(&self, rel: &str) -> io::Result<Vec<u32>> {
        let mut pids = Vec::new();
        for dir in self.group_dirs(rel)? {
            fsops::procs_under(&dir, &mut pids)?;
        }
        pids.sort_unstable();
        pids.dedup();
        Ok(pids)
    }

    /// Kills every process in the group and below, grandchildren included, and returns once
    /// none is left. v2 kernels with `cgroup.kill` (5.14+) kill the subtree atomically;
    /// otherwise SIGKILL every member until the group stays empty, which also catches children
    /// forked while we were reading. Fails after 2 s, naming the survivors.
    pub fn kill_all(&self, rel: &str) -> io::Result<()> {
        let me = std::process::id();
        if self.procs(rel)?.contains(&me) {
            return Err(io::Error::new(
                io::ErrorKind::PermissionDenied,
                format!("refusing to kill cgroup {rel}: netlab itself (pid {me}) is in it"),
            ));
        }
        if let Layout::V2 { root } = self {
            let cgroup_kill = root.join(rel).join("cgroup.kill");
            if cgroup_kill.exists() {
                write(&cgroup_kill, "1")?;
            }
        }
        let deadline = Instant::now() + KILL_TIMEOUT;
        loop {
            let pids = self.procs(rel)?;
            if pids.is_empty() {
                return Ok(());
            }
            if Instant::now() >= deadline {
                let names: Vec<String> = pids.iter().map(|&p| describe(p)).collect();
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!(
                        "killing cgroup {rel}: still running after {KILL_TIMEOUT:?}: {}",
                        names.join(", ")
                    ),
                ));
            }
            for pid in pids.into_iter().filter(|&p| p != me) {
                // ESRCH: it died meanwhile. Any other failure shows up as a survivor.
                let _ = kill(Pid::from_raw(pid as i32), Signal::SIGKILL);
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Removes the group and the groups below it, children first, in every hierarchy. A group
    /// that is already gone counts as removed; one with processes left is an error naming it.
    pub fn remove(&self, rel: &str) -> io::Result<()> {
        // Keep going past a failing hierarchy so as much as possible is removed.
        let errors: Vec<io::Error> =
            self.group_dirs(rel)?.iter().filter_map(|dir| fsops::rmdir_tree(dir).err()).collect();
        match errors.len() {
            0 => Ok(()),
            1 => Err(errors.into_iter().next().expect("one error")),
            _ => {
                let kind = errors[0].kind();
                let all: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
                Err(io::Error::new(kind, all.join("; ")))
            }
        }
    }

    /// Current memory, process count and OOM kills of the group (with its descendants).
    pub fn usage(&self, rel: &str) -> io::Result<Usage> {
        let rel_path = check_rel(rel)?;
        let (mem_dir, pids_dir, memory_file, oom_file) = match self {
            Layout::V1 { root } => (
                root.join("memory").join(rel_path),
                root.join("pids").join(rel_path),
                "memory.usage_in_bytes",
                "memory.oom_control",
            ),
            Layout::V2 { root } => {
                let dir = root.join(rel_path);
                (dir.clone(), dir, "memory.current", "memory.events")
            }
        };
        if !mem_dir.is_dir() {
            return Err(io::Error::new(
                io::ErrorKind::NotFound,
                format!("reading usage of cgroup {rel}: {} does not exist", mem_dir.display()),
            ));
        }
        let number = |path: PathBuf| Ok::<_, io::Error>(read_opt(&path)?.as_deref().and_then(parse_u64));
        Ok(Usage {
            memory_bytes: number(mem_dir.join(memory_file))?,
            pids: number(pids_dir.join("pids.current"))?,
            oom_kills: read_opt(&mem_dir.join(oom_file))?.as_deref().and_then(parse_oom_kills),
        })
    }

    /// The group's directory in each hierarchy netlab uses.
    fn group_dirs(&self, rel: &str) -> io::Result<Vec<PathBuf>> {
        Ok(self.node_dirs(rel)?.into_iter().map(|(_, d)| d).collect())
    }

    /// The group's directory in each hierarchy netlab uses, by hierarchy name (`""` for the
    /// single v2 tree): how a container-like node sees them under `/sys/fs/cgroup`.
    pub fn node_dirs(&self, rel: &str) -> io::Result<Vec<(String, PathBuf)>> {
        let rel = check_rel(rel)?;
        Ok(match self {
            Layout::V1 { root } => V1_HIERARCHIES
                .iter()
                .copied()
                .chain(self.has_devices().then_some(V1_DEVICES))
                .map(|h| (h.to_string(), root.join(h).join(rel)))
                .collect(),
            Layout::V2 { root } => vec![(String::new(), root.join(rel))],
        })
    }

    /// Whether device access can be limited per group: the v1 `devices` hierarchy is mounted.
    /// (cgroup v2 does it with a BPF program, which netlab does not load: there a
    /// container-like node loses `CAP_MKNOD` instead.)
    pub fn has_devices(&self) -> bool {
        match self {
            Layout::V1 { root } => root.join(V1_DEVICES).join("devices.allow").is_file(),
            Layout::V2 { .. } => false,
        }
    }

    /// Limits the group to `ALLOWED_DEVICES`: `echo a > devices.deny`, then one allow line
    /// each. Returns false (changing nothing) where the layout cannot limit devices.
    pub fn restrict_devices(&self, rel: &str) -> io::Result<bool> {
        let Layout::V1 { root } = self else { return Ok(false) };
        if !self.has_devices() {
            return Ok(false);
        }
        let dir = root.join(V1_DEVICES).join(check_rel(rel)?);
        mkdir_all(&dir)?;
        write(&dir.join("devices.deny"), "a")?;
        for rule in ALLOWED_DEVICES {
            write(&dir.join("devices.allow"), rule)?;
        }
        Ok(true)
    }
}

/// Checks that `rel` stays below the root: relative, no "..", not empty.
fn check_rel(rel: &str) -> io::Result<&Path> {
    let path = Path::new(rel);
    let mut parts = path.components().peekable();
    let below_root = parts.peek().is_some() && parts.all(|c| matches!(c, Component::Normal(_)));
    if below_root {
        return Ok(path);
    }
    Err(io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("cgroup path {rel:?} must be relative and without \"..\", e.g. \"netlab/LAB/NODE\""),
    ))
}

/// "pid 123 (sleep)", for naming survivors.
fn describe(pid: u32) -> String {
    match std::fs::read_to_string(format!("/proc/{pid}/comm")) {
        Ok(comm) => format!("pid {pid} ({})", comm.trim()),
        Err(_) => format!("pid {pid}"),
    }
}
