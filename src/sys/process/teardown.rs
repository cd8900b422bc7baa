//! Stopping every process of a lab for `down`, including what a crash left without runtime
//! files, and removing the lab's cgroups. Best effort: whatever is already gone counts as done.

use super::store::Files;
use super::{lab_cgroup, spawn, STOP_GRACE};
use crate::sys::cgroup::{self, Layout};
use std::io;
use std::path::PathBuf;
use std::time::Duration;

/// Stops every process of a lab, found by its runtime files, by its command line (after a
/// crash lost the files) and by its cgroup; then removes the lab's cgroups. `recorded`: the
/// lab's record was found, so its runtime files are complete.
pub fn teardown(lab: &str, recorded: bool) -> io::Result<()> {
    let files = Files { lab: lab.to_string() };
    let had_processes = !files.nodes().is_empty();
    for (n, w) in files.workloads() {
        let _ = files.mark_stopping(&n, &w);
    }
    let supervisors: Vec<u32> =
        files.workloads().iter().filter_map(|(n, w)| files.pid(&files.workload(n, w, "pid"))).collect();
    let dir = files.dir();
    let handles: Vec<_> = supervisors
        .into_iter()
        .map(|pid| {
            let d = dir.clone();
            std::thread::spawn(move || spawn::stop(pid, &d, STOP_GRACE))
        })
        .collect();
    for h in handles {
        let _ = h.join();
    }
    for node in files.nodes() {
        if let Some(pid) = files.holder(&node) {
            spawn::stop(pid, &files.dir(), Duration::from_secs(1));
        }
    }
    // Whatever a crash left: netlab's own helpers for this lab, by command line. Reading every
    // process's command line costs; a recorded lab that never ran a process has none.
    let marker = format!("{}/", files.dir().display());
    let scan = had_processes || !recorded;
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten().filter(|_| scan) {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else { continue };
        let Ok(cmd) = std::fs::read(format!("/proc/{pid}/cmdline")) else { continue };
        let args: Vec<&[u8]> = cmd.split(|b| *b == 0).collect();
        if args.iter().any(|a| *a == b"__netlab-init")
            && args.iter().any(|a| a.starts_with(marker.as_bytes()))
        {
            spawn::stop(pid, &files.dir(), Duration::from_millis(500));
        }
    }
    let Ok(layout) = cgroup::detect() else { return Ok(()) };
    let rel = lab_cgroup(lab);
    layout.kill_all(&rel)?;
    layout.remove(&rel)?;
    remove_shared_parent(&layout);
    Ok(())
}

/// Kills every process that still sits in the network namespace bound at `path` (a lab's
/// `/run/netns/NAME`), found by namespace identity: the (device, inode) of each process's
/// `/proc/PID/ns/net` against the namespace's. A `setsid` child that left its cgroup, or a
/// shell someone started with `ip netns exec`, would otherwise keep the namespace alive,
/// nameless, after `down`. Waits (at most 2 s) until none is left; returns the pids killed.
pub fn kill_in_netns(path: &std::path::Path) -> Vec<u32> {
    use std::os::unix::fs::MetadataExt;
    let Ok(ns) = std::fs::metadata(path) else { return Vec::new() };
    let id = (ns.dev(), ns.ino());
    let me = std::process::id();
    let mut killed = Vec::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(2);
    loop {
        let inside: Vec<u32> = std::fs::read_dir("/proc")
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
            .filter(|&pid| pid != me)
            .filter(|pid| {
                std::fs::metadata(format!("/proc/{pid}/ns/net")).is_ok_and(|m| (m.dev(), m.ino()) == id)
            })
            .collect();
        if inside.is_empty() || std::time::Instant::now() > deadline {
            return killed;
        }
        for pid in inside {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid as i32),
                nix::sys::signal::Signal::SIGKILL,
            );
            if !killed.contains(&pid) {
                killed.push(pid);
            }
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Every process but this one, by the identity (nsfs device, inode) of the network namespace
/// it is in: one pass over /proc, so that `down` of a large lab scans /proc once rather than
/// once per namespace.
pub fn pids_by_netns() -> std::collections::HashMap<(u64, u64), Vec<u32>> {
    use std::os::unix::fs::MetadataExt;
    let me = std::process::id();
    let mut by_ns: std::collections::HashMap<(u64, u64), Vec<u32>> = Default::default();
    for pid in std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&pid| pid != me)
    {
        if let Ok(m) = std::fs::metadata(format!("/proc/{pid}/ns/net")) {
            by_ns.entry((m.dev(), m.ino())).or_default().push(pid);
        }
    }
    by_ns
}

/// Removes `netlab/` itself when the last lab has left it: a plain rmdir, which the kernel
/// refuses while another lab's groups are inside.
fn remove_shared_parent(layout: &Layout) {
    let dirs: Vec<PathBuf> = match layout {
        Layout::V1 { root } => {
            ["memory", "cpu", "pids", "devices"].iter().map(|c| root.join(c).join("netlab")).collect()
        }
        Layout::V2 { root } => vec![root.join("netlab")],
    };
    for d in dirs {
        let _ = std::fs::remove_dir(d);
    }
}
