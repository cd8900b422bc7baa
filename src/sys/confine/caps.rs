//! Dropping capabilities for good, as `capsh --drop` and runc do: the bounding set first
//! (`PR_CAPBSET_DROP` needs `CAP_SETPCAP`, which may itself be dropped), ambient cleared, then
//! effective, permitted and inheritable set with `capset(2)`, and `no_new_privs`. A root
//! process that then calls `execve` gets exactly the kept set back (permitted = inheritable |
//! bounding for uid 0), and nothing setuid or file capabilities can add to it.

use nix::libc;
use std::io;

/// `_LINUX_CAPABILITY_VERSION_3`: two 32-bit words per set.
const VERSION_3: u32 = 0x2008_0522;

#[repr(C)]
struct Header {
    version: u32,
    pid: i32,
}

#[repr(C)]
#[derive(Clone, Copy)]
struct Data {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

fn last_error(what: &str) -> io::Error {
    let e = io::Error::last_os_error();
    io::Error::new(e.kind(), format!("{what}: {e}"))
}

fn prctl(op: libc::c_int, a: libc::c_ulong, b: libc::c_ulong) -> libc::c_int {
    // SAFETY: prctl with integer arguments only; no memory is passed.
    unsafe { libc::prctl(op, a, b, 0 as libc::c_ulong, 0 as libc::c_ulong) }
}

/// Keeps only the capabilities in `keep` (bit N = capability N) in every set, and sets
/// `no_new_privs`. For the calling thread; call it single-threaded, before `execve`.
pub fn drop_to(keep: u64) -> io::Result<()> {
    for cap in 0..64u64 {
        if keep & (1 << cap) != 0 {
            continue;
        }
        if prctl(libc::PR_CAPBSET_DROP, cap as libc::c_ulong, 0) != 0 {
            // EINVAL: past the last capability this kernel knows.
            if io::Error::last_os_error().raw_os_error() == Some(libc::EINVAL) {
                break;
            }
            return Err(last_error(&format!("dropping capability {cap} from the bounding set")));
        }
    }
    // EINVAL: a kernel without ambient capabilities (< 4.3) has none to clear.
    if prctl(libc::PR_CAP_AMBIENT, libc::PR_CAP_AMBIENT_CLEAR_ALL as libc::c_ulong, 0) != 0
        && io::Error::last_os_error().raw_os_error() != Some(libc::EINVAL)
    {
        return Err(last_error("clearing the ambient capabilities"));
    }
    let word = |i: u32| (keep >> (32 * i)) as u32;
    let data = [0, 1].map(|i| Data { effective: word(i), permitted: word(i), inheritable: word(i) });
    let mut header = Header { version: VERSION_3, pid: 0 };
    // SAFETY: capset reads one header and two data structs (version 3), which live on this
    // stack frame for the whole call.
    let r = unsafe { libc::syscall(libc::SYS_capset, &mut header as *mut Header, data.as_ptr()) };
    if r != 0 {
        return Err(last_error("setting the capabilities (capset)"));
    }
    if prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0) != 0 {
        return Err(last_error("setting no_new_privs"));
    }
    Ok(())
}

/// Makes the process not dumpable: no core dumps, and `/proc/PID/mem`, `environ` and
/// `ptrace` are refused to anyone without `CAP_SYS_PTRACE`.
pub fn not_dumpable() -> io::Result<()> {
    if prctl(libc::PR_SET_DUMPABLE, 0, 0) != 0 {
        return Err(last_error("making the process not dumpable"));
    }
    Ok(())
}
