//! `net.*` sysctls, read and written on the calling thread, whose network namespace
//! decides which copy /proc/sys/net shows.

use std::io;
use std::path::PathBuf;

/// /proc/sys path of a dotted `net.*` key; never anywhere else, whatever the key says.
pub fn path(key: &str) -> io::Result<PathBuf> {
    if !crate::state::record::is_sysctl_key(key) {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, format!("{key:?} is not a net.* sysctl")));
    }
    Ok(PathBuf::from("/proc/sys").join(crate::model::sysctl::key_path(key)))
}

/// Which of `keys` have no file under /proc/sys: looked up on a thread in a new network
/// namespace of its own when `fresh` (what a lab namespace will have), else here.
pub fn missing(keys: Vec<String>, fresh: bool) -> io::Result<Vec<String>> {
    let look = move || -> io::Result<Vec<String>> {
        Ok(keys.into_iter().filter(|k| path(k).map(|p| !p.exists()).unwrap_or(true)).collect())
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

pub fn read(key: &str) -> io::Result<String> {
    Ok(std::fs::read_to_string(path(key)?)?.trim().to_string())
}

/// Writes a value and returns the one it replaced.
pub fn swap(key: &str, value: &str) -> io::Result<String> {
    let old = read(key)?;
    std::fs::write(path(key)?, value)?;
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
/// Each knob is opened relative to its family's `conf` directory, opened once: the kernel
/// keeps a `/proc/sys/net/ipv6` entry per namespace in one hash chain, so looking a full path
/// up costs a walk of that chain, as long as the number of namespaces. Twelve full paths a
/// namespace made creating 10 000 namespaces quadratic (minutes); two keep it near linear.
pub fn lab_defaults() {
    use nix::fcntl::{open, openat, OFlag};
    use nix::sys::stat::Mode;
    for family in ["ipv6", "ipv4"] {
        let dir = format!("/proc/sys/net/{family}/conf");
        let Ok(conf) =
            open(dir.as_str(), OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC, Mode::empty())
        else {
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

/// The same for one lab interface of the host namespace, whose defaults are not ours to change.
pub fn lab_knobs(iface: &str) {
    for (family, knob, value) in LAB_KNOBS {
        let _ = std::fs::write(format!("/proc/sys/net/{family}/conf/{iface}/{knob}"), value);
    }
}
