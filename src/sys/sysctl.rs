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
pub fn lab_defaults() {
    for scope in ["all", "default"] {
        lab_knobs(scope);
    }
}

/// The same for one lab interface of the host namespace, whose defaults are not ours to change.
pub fn lab_knobs(iface: &str) {
    for (family, knob, value) in LAB_KNOBS {
        let _ = std::fs::write(format!("/proc/sys/net/{family}/conf/{iface}/{knob}"), value);
    }
}
