//! `netlab exec`: moves this (single-threaded) process into a node: its cgroup, and either
//! every namespace of the node's holder or, for a node without one, its network namespace.

use super::cgroup;
use crate::model::limits::Limits;
use nix::sched::{setns, CloneFlags};
use std::fs::File;
use std::io;
use std::os::fd::AsFd;

/// Enters the node. Returns whether a pid namespace was joined, in which case the command
/// must run in a child: a pid namespace applies to the children of whoever joins it.
pub fn enter_node(netns: Option<&str>, holder: Option<u32>, cgroup_rel: Option<&str>) -> io::Result<bool> {
    if let Some(rel) = cgroup_rel {
        // Before the mount namespace changes: the cgroup files are the host's.
        let layout = cgroup::detect()?;
        layout.create(rel, &Limits::default())?;
        layout.join(rel, std::process::id())?;
    }
    let Some(h) = holder else {
        if let Some(n) = netns {
            super::netns::enter_for_exec(n)?;
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
