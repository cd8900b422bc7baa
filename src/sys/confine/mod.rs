//! Confining the processes of a container-like node as Docker confines a container's: a
//! cgroup namespace, the mount view (`view`), the device cgroup, capabilities and
//! `no_new_privs` (`caps`); the seccomp filter (`sys::seccomp`) comes last, by the caller.
//! A plain node's processes get none of it: full root on the host's filesystem, like
//! `ip netns exec`.

pub mod caps;
pub mod view;

use crate::model::caps::{Caps, MKNOD};
use crate::model::workload::Confinement;
use crate::sys::cgroup::Layout;
use nix::mount::{mount, MsFlags};
use nix::sched::{unshare, CloneFlags};
use std::io;
use std::path::Path;

/// The capabilities a confined process keeps here. Without a device cgroup (cgroup v2, where
/// netlab loads no BPF device program, or v1 without the `devices` hierarchy) `MKNOD` goes,
/// unless the file added it by name: a device node made on a writable filesystem would open
/// whatever device it names.
pub fn effective_caps(c: &Caps, layout: &Layout) -> u64 {
    let bit = 1u64 << MKNOD;
    if layout.has_devices() || c.added & bit != 0 {
        c.keep
    } else {
        c.keep & !bit
    }
}

/// The parent of a process's own group (`netlab/LAB/NODE/WORKLOAD`): the node's group.
pub fn node_of(rel: &str) -> &str {
    rel.rsplit_once('/').map_or(rel, |(parent, _)| parent)
}

fn ctx(what: &str, r: nix::Result<()>) -> io::Result<()> {
    r.map_err(|e| {
        let e = io::Error::from_raw_os_error(e as i32);
        io::Error::new(e.kind(), format!("{what}: {e}"))
    })
}

/// A cgroup namespace rooted at the group the caller is in now: `/proc/self/cgroup` shows `/`
/// and the rest of the host's tree is out of sight. Call after joining the group.
pub fn cgroup_namespace() -> io::Result<()> {
    ctx("unsharing the cgroup namespace", unshare(CloneFlags::CLONE_NEWCGROUP))
}

/// For a process about to run in a container-like node (a workload's payload, `netlab
/// exec`'s command), once it is in its cgroup (`own_cgroup`) and the node's namespaces: a
/// cgroup namespace, a private mount namespace with the node's view unless the node's holder
/// made one for all (`holder_view`), then the capabilities (`keep`, from `effective_caps`
/// while the host's /sys was still in view) and `no_new_privs`. Single-threaded only.
pub fn enter(
    c: &Confinement,
    holder_view: bool,
    layout: &Layout,
    own_cgroup: &str,
    keep: u64,
) -> io::Result<()> {
    cgroup_namespace()?;
    if !holder_view {
        ctx("unsharing the mount namespace", unshare(CloneFlags::CLONE_NEWNS))?;
        // Host mounts still reach the node; the node's never reach the host.
        ctx(
            "making / a slave mount",
            mount(None::<&str>, "/", None::<&str>, MsFlags::MS_REC | MsFlags::MS_SLAVE, None::<&str>),
        )?;
        view::build(&view::View {
            root: Path::new("/"),
            fresh_proc: false,
            net_sysctls: c.net_sysctls,
            node_cgroup: node_of(own_cgroup),
            layout,
        })?;
    }
    caps::drop_to(keep)
}
