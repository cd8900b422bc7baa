//! `net.*` sysctls, read and written on the calling thread, whose network namespace
//! decides which copy /proc/sys/net shows.

use std::io;
use std::path::PathBuf;

/// /proc/sys path of a dotted key.
pub fn path(key: &str) -> PathBuf {
    PathBuf::from("/proc/sys").join(key.replace('.', "/"))
}

pub fn read(key: &str) -> io::Result<String> {
    Ok(std::fs::read_to_string(path(key))?.trim().to_string())
}

/// Writes a value and returns the one it replaced.
pub fn swap(key: &str, value: &str) -> io::Result<String> {
    let old = read(key)?;
    std::fs::write(path(key), value)?;
    Ok(old)
}

const QUIET: [&str; 3] = ["accept_ra", "autoconf", "accept_dad"];

/// In a new namespace: interfaces made later neither solicit routers, nor autoconfigure
/// addresses, nor wait for DAD. Best effort: a kernel without IPv6 has none of these.
pub fn quiet_ipv6_defaults() {
    for scope in ["all", "default"] {
        for knob in QUIET {
            let _ = std::fs::write(format!("/proc/sys/net/ipv6/conf/{scope}/{knob}"), "0");
        }
    }
}

/// The same for one interface of the host namespace (best effort, as above).
pub fn quiet_ipv6_iface(iface: &str) {
    for knob in QUIET {
        let _ = std::fs::write(format!("/proc/sys/net/ipv6/conf/{iface}/{knob}"), "0");
    }
}
