//! Named network namespaces, made the way iproute2 makes them, and scoped entry into one.
//! The only module that calls `setns`/`unshare(CLONE_NEWNET)`.

use crate::error::SysError;
use nix::mount::{mount, umount2, MntFlags, MsFlags};
use nix::sched::{setns, unshare, CloneFlags};
use std::fs::File;
use std::io;
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;

/// Where `ip netns` keeps its names.
pub const NETNS_RUN_DIR: &str = "/run/netns";
const NSFS_MAGIC: i64 = 0x6e73_6673;

pub fn path(name: &str) -> PathBuf {
    PathBuf::from(NETNS_RUN_DIR).join(name)
}

fn io_err(e: nix::Error) -> io::Error {
    io::Error::from_raw_os_error(e as i32)
}

/// Whether `/run/netns/NAME` holds a mounted namespace (and not a bare file left by a crash).
pub fn is_mounted(name: &str) -> bool {
    nix::sys::statfs::statfs(&path(name)).is_ok_and(|s| s.filesystem_type().0 as i64 == NSFS_MAGIC)
}

/// Whether the name exists at all under /run/netns.
pub fn exists(name: &str) -> bool {
    path(name).symlink_metadata().is_ok()
}

/// Names under /run/netns, sorted.
pub fn list() -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(NETNS_RUN_DIR)
        .map(|d| d.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect())
        .unwrap_or_default();
    v.sort();
    v
}

/// Refuses to work from a private copy of the mount namespace (as under `ip netns exec`):
/// namespaces mounted there would be invisible to everyone else.
pub fn check_mount_propagation() -> Result<(), SysError> {
    let Ok(info) = std::fs::read_to_string("/proc/self/mountinfo") else { return Ok(()) };
    let mut best: Option<(usize, &str)> = None;
    for line in info.lines() {
        let fields: Vec<&str> = line.split(' ').collect();
        let Some(mp) = fields.get(4) else { continue };
        let covers = *mp == "/" || NETNS_RUN_DIR == *mp || NETNS_RUN_DIR.starts_with(&format!("{mp}/"));
        if covers && best.is_none_or(|(len, _)| mp.len() >= len) {
            best = Some((mp.len(), line));
        }
    }
    let Some((_, line)) = best else { return Ok(()) };
    let optional: Vec<&str> = line.split(' ').skip(6).take_while(|f| *f != "-").collect();
    let slave_only = optional.iter().any(|f| f.starts_with("master:")) && !optional.iter().any(|f| f.starts_with("shared:"));
    if slave_only {
        return Err(SysError::new(
            "checking /run/netns",
            io::Error::other("netlab runs in a private copy of the mount namespace (as under `ip netns exec`), where the namespaces it makes would be invisible to everyone else; run it from the host's mount namespace, e.g. with `nsenter --net=/run/netns/NAME netlab ...`"),
        ));
    }
    Ok(())
}

/// Makes /run/netns a shared mount point, as `ip netns add` does, so that namespace mounts
/// under it propagate to every mount namespace that shares it.
fn ensure_run_dir() -> Result<(), SysError> {
    let op = |e| SysError::new("preparing /run/netns", e);
    std::fs::create_dir_all(NETNS_RUN_DIR).map_err(op)?;
    let flags = MsFlags::MS_SHARED | MsFlags::MS_REC;
    if mount(None::<&str>, NETNS_RUN_DIR, None::<&str>, flags, None::<&str>).is_ok() {
        return Ok(());
    }
    // Not a mount point yet: bind it on itself first.
    mount(Some(NETNS_RUN_DIR), NETNS_RUN_DIR, None::<&str>, MsFlags::MS_BIND | MsFlags::MS_REC, None::<&str>).map_err(|e| op(io_err(e)))?;
    mount(None::<&str>, NETNS_RUN_DIR, None::<&str>, flags, None::<&str>).map_err(|e| op(io_err(e)))
}

/// Creates `/run/netns/NAME` holding a new network namespace, then runs `init` on a thread
/// inside it and returns its result. Fails with EEXIST when the name is taken.
pub fn create<T: Send + 'static>(name: &str, init: impl FnOnce() -> io::Result<T> + Send + 'static) -> Result<T, SysError> {
    let op = format!("creating netns {name}");
    ensure_run_dir()?;
    check_mount_propagation()?;
    let target = path(name);
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o444)
        .open(&target)
        .map_err(|e| SysError::new(op.clone(), e))?;
    let t = target.clone();
    let result = std::thread::spawn(move || -> io::Result<T> {
        // This thread alone moves into the new namespace; it ends when `init` returns.
        unshare(CloneFlags::CLONE_NEWNET).map_err(io_err)?;
        mount(Some("/proc/thread-self/ns/net"), &t, None::<&str>, MsFlags::MS_BIND, None::<&str>).map_err(io_err)?;
        init()
    })
    .join()
    .unwrap_or_else(|_| Err(io::Error::other("namespace thread panicked")));
    result.map_err(|e| {
        let _ = umount2(&target, MntFlags::MNT_DETACH);
        let _ = std::fs::remove_file(&target);
        SysError::new(op, e)
    })
}

/// Removes a namespace name (`ip netns del`): detach the mount, unlink the file. Missing is done.
pub fn delete(name: &str) -> Result<(), SysError> {
    let target = path(name);
    match umount2(&target, MntFlags::MNT_DETACH) {
        Ok(()) | Err(nix::Error::EINVAL) | Err(nix::Error::ENOENT) => {}
        Err(e) => return Err(SysError::new(format!("deleting netns {name}"), io_err(e))),
    }
    match std::fs::remove_file(&target) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(SysError::new(format!("deleting netns {name}"), e)),
    }
}

/// Runs `f` on a fresh thread that has entered namespace `name` (or the caller's own network
/// namespace for `None`), and returns its result. The thread ends with `f`, so no pooled
/// thread ever changes namespace.
pub fn run_in<T: Send + 'static>(name: Option<&str>, f: impl FnOnce() -> io::Result<T> + Send + 'static) -> io::Result<T> {
    let file = match name {
        Some(n) => Some(File::open(path(n))?),
        None => None,
    };
    std::thread::spawn(move || {
        if let Some(file) = file {
            setns(&file, CloneFlags::CLONE_NEWNET).map_err(io_err)?;
        }
        f()
    })
    .join()
    .unwrap_or_else(|_| Err(io::Error::other("namespace thread panicked")))
}

/// Moves the calling process into namespace `name` for good, as `ip netns exec` does: the
/// network namespace, then a private mount namespace with the namespace's own /sys, so that
/// tools reading /sys/class/net see the node's interfaces. For `netlab exec` only, which
/// replaces the process right after; it must still be single-threaded.
pub fn enter_for_exec(name: &str) -> io::Result<()> {
    let file = File::open(path(name))?;
    setns(&file, CloneFlags::CLONE_NEWNET).map_err(io_err)?;
    unshare(CloneFlags::CLONE_NEWNS).map_err(io_err)?;
    mount(None::<&str>, "/", None::<&str>, MsFlags::MS_SLAVE | MsFlags::MS_REC, None::<&str>).map_err(io_err)?;
    // A /sys that cannot be replaced leaves the host's view there, as with `ip netns exec`.
    if umount2("/sys", MntFlags::MNT_DETACH).is_ok() {
        let _ = mount(Some(name), "/sys", Some("sysfs"), MsFlags::empty(), None::<&str>);
    }
    Ok(())
}
