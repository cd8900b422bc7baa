//! `net.*` sysctls, read and written on the calling thread, whose network namespace
//! decides which copy /proc/sys/net shows.

use nix::fcntl::{openat, OFlag};
use nix::sys::stat::Mode;
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};

/// The path of a dotted `net.*` key below a procfs root (`sys/net/...`); never anywhere
/// else, whatever the key says.
fn rel_path(key: &str) -> io::Result<PathBuf> {
    if !crate::state::record::is_sysctl_key(key) {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, format!("{key:?} is not a net.* sysctl")));
    }
    Ok(PathBuf::from("sys").join(crate::model::sysctl::key_path(key)))
}

/// The key's file in the calling thread's namespace.
fn open(key: &str, flags: OFlag) -> io::Result<std::fs::File> {
    let rel = rel_path(key)?;
    let fd = with_proc(|proc| Ok(openat(proc, rel.as_path(), flags | OFlag::O_CLOEXEC, Mode::empty())?))?;
    Ok(std::fs::File::from(fd))
}

/// Which of `keys` have no file under /proc/sys: looked up on a thread in a new network
/// namespace of its own when `fresh` (what a lab namespace will have), else here.
pub fn missing(keys: Vec<String>, fresh: bool) -> io::Result<Vec<String>> {
    let look = move || -> io::Result<Vec<String>> {
        let there = |k: &str| {
            rel_path(k).is_ok_and(|rel| {
                with_proc(|proc| {
                    Ok(nix::sys::stat::fstatat(proc, rel.as_path(), nix::fcntl::AtFlags::empty()).is_ok())
                })
                .unwrap_or(false)
            })
        };
        Ok(keys.into_iter().filter(|k| !there(k)).collect())
    };
    if fresh {
        super::netns::in_scratch_netns(look)
    } else {
        std::thread::spawn(look).join().unwrap_or_else(|_| Err(io::Error::other("probe thread panicked")))
    }
}

/// The PATH a workload runs with (set by the supervisor).
pub const WORKLOAD_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Whether a workload's `program` is there to exec: a path, or a name on `WORKLOAD_PATH`,
/// looked up inside `root` when the node has a rootfs (a symlink counts as there: it is
/// resolved inside the rootfs only at exec time).
pub fn finds_program(root: Option<&std::path::Path>, program: &str) -> bool {
    let at = |p: &str| -> bool {
        let rel = p.trim_start_matches('/');
        let full = match root {
            Some(r) => r.join(rel),
            None => std::path::Path::new("/").join(rel),
        };
        std::fs::symlink_metadata(&full).is_ok_and(|m| !m.is_dir())
    };
    if program.contains('/') {
        return at(program);
    }
    WORKLOAD_PATH.split(':').any(|dir| at(&format!("{dir}/{program}")))
}

/// The value of a `net.*` sysctl in the calling thread's namespace.
pub fn read(key: &str) -> io::Result<String> {
    let mut text = String::new();
    open(key, OFlag::O_RDONLY)?.read_to_string(&mut text)?;
    Ok(text.trim().to_string())
}

/// Writes a value and returns the one it replaced.
pub fn swap(key: &str, value: &str) -> io::Result<String> {
    let old = read(key)?;
    open(key, OFlag::O_WRONLY)?.write_all(value.as_bytes())?;
    Ok(old)
}

/// What every lab interface is set to, as (family, knob, value):
/// - IPv6 neither solicits routers, nor autoconfigures addresses, nor waits for DAD, so a
///   lab address is usable the moment `up` returns;
/// - deleting a primary IPv4 address promotes a secondary of its subnet instead of taking
///   them all (and their routes) with it;
/// - an interface made anew announces itself (gratuitous ARP, unsolicited NA), so that peers
///   on a switch do not keep its old MAC.
const LAB_KNOBS: [(&str, &str, &str); 6] = [
    ("ipv6", "accept_ra", "0"),
    ("ipv6", "autoconf", "0"),
    ("ipv6", "accept_dad", "0"),
    ("ipv6", "ndisc_notify", "1"),
    ("ipv4", "promote_secondaries", "1"),
    ("ipv4", "arp_notify", "1"),
];

/// In a new namespace: interfaces made later inherit the lab's knobs. Best effort: a kernel
/// without IPv6 has none of its knobs.
///
/// Every sysctl is looked up in a procfs instance of the calling thread's own (see
/// [`with_proc`]): the kernel keeps the `/proc/sys/net/ipv6` (and `ipv4`) entry of every
/// namespace in one dentry hash chain of the procfs instance that looked it up, so each
/// lookup walks as many entries as namespaces have looked there before. Through `/proc`,
/// creating 10 000 namespaces was quadratic (half of `up` in `proc_sys_compare`), and so
/// was setting `forward` in each. A detached instance, replaced every `PROC_REUSE` lookups,
/// keeps that chain short; `/proc` is the fallback where the new mount API is refused.
pub fn lab_defaults() {
    for family in ["ipv6", "ipv4"] {
        let dir = format!("sys/net/{family}/conf");
        let flags = OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC;
        let Ok(conf) = with_proc(|proc| Ok(openat(proc, dir.as_str(), flags, Mode::empty())?)) else {
            continue;
        };
        for scope in ["all", "default"] {
            for (_, knob, value) in LAB_KNOBS.iter().filter(|(f, _, _)| *f == family) {
                let rel = format!("{scope}/{knob}");
                if let Ok(fd) = openat(&conf, rel.as_str(), OFlag::O_WRONLY | OFlag::O_CLOEXEC, Mode::empty())
                {
                    let _ = nix::unistd::write(&fd, value.as_bytes());
                }
            }
        }
    }
}

/// Lookups one detached procfs instance serves before it is replaced: its sysctl lookups
/// walk at most about this many entries, and a new instance costs about as much as a few
/// lookups in a long chain.
const PROC_REUSE: u32 = 64;

thread_local! {
    static PROC: std::cell::RefCell<Option<(OwnedFd, u32)>> = const { std::cell::RefCell::new(None) };
}

/// Set once a detached procfs instance was refused: `/proc` from then on.
static REFUSED: AtomicBool = AtomicBool::new(false);

/// Runs `f` with the root of a procfs instance private to this thread (or of `/proc`), in
/// which `sys/net` shows the thread's network namespace.
fn with_proc<T>(f: impl FnOnce(BorrowedFd) -> io::Result<T>) -> io::Result<T> {
    PROC.with_borrow_mut(|slot| {
        if slot.as_ref().is_none_or(|(_, used)| *used >= PROC_REUSE) && !REFUSED.load(Relaxed) {
            // The old instance goes first: closing its last fd unmounts it, and its dentries
            // go with it.
            *slot = None;
            match detached_proc() {
                Ok(fd) => *slot = Some((fd, 0)),
                // Where the mount API is refused (a container's seccomp, a kernel before
                // 5.2), it is not asked again at every lookup.
                Err(_) => REFUSED.store(true, Relaxed),
            }
        }
        match slot {
            Some((fd, used)) => {
                *used += 1;
                f(fd.as_fd())
            }
            None => {
                let flags = OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC;
                f(nix::fcntl::open("/proc", flags, Mode::empty())?.as_fd())
            }
        }
    })
}

/// A procfs instance mounted nowhere (`fsopen`/`fsmount`): seen by no one else, gone with
/// its last fd.
fn detached_proc() -> io::Result<OwnedFd> {
    use nix::libc;
    use std::os::fd::{AsRawFd, FromRawFd};
    let check = |r: libc::c_long| if r < 0 { Err(io::Error::last_os_error()) } else { Ok(r) };
    // SAFETY: plain syscalls on a C string literal and fds this function owns; each fd
    // returned is wrapped at once so it is closed on every path.
    unsafe {
        let fs = check(libc::syscall(libc::SYS_fsopen, c"proc".as_ptr(), libc::FSOPEN_CLOEXEC))?;
        let fs = OwnedFd::from_raw_fd(fs as i32);
        let none = std::ptr::null::<libc::c_char>();
        check(libc::syscall(libc::SYS_fsconfig, fs.as_raw_fd(), libc::FSCONFIG_CMD_CREATE, none, none, 0))?;
        let mnt = check(libc::syscall(libc::SYS_fsmount, fs.as_raw_fd(), libc::FSMOUNT_CLOEXEC, 0))?;
        Ok(OwnedFd::from_raw_fd(mnt as i32))
    }
}

/// The same for one lab interface of the host namespace, whose defaults are not ours to change.
pub fn lab_knobs(iface: &str) {
    for (family, knob, value) in LAB_KNOBS {
        let _ = std::fs::write(format!("/proc/sys/net/{family}/conf/{iface}/{knob}"), value);
    }
}
