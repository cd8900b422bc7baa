//! Linux capabilities of a container-like node's processes, as data: Docker's default set plus
//! `NET_ADMIN` (a router must add routes and run a routing daemon in its own namespace), with
//! the file's `caps = { add = [...], drop = [...] }` on top. `sys::confine` applies the set
//! (bounding, effective, permitted, inheritable; ambient cleared) before `execve`.

use crate::error::SpecError;
use crate::spec::raw::{RawCaps, S};
use crate::spec::Source;
use serde::{Deserialize, Serialize};

/// Every capability Linux 6.x knows, by number (`capabilities(7)`, without `CAP_`).
pub const NAMES: [&str; 41] = [
    "CHOWN",
    "DAC_OVERRIDE",
    "DAC_READ_SEARCH",
    "FOWNER",
    "FSETID",
    "KILL",
    "SETGID",
    "SETUID",
    "SETPCAP",
    "LINUX_IMMUTABLE",
    "NET_BIND_SERVICE",
    "NET_BROADCAST",
    "NET_ADMIN",
    "NET_RAW",
    "IPC_LOCK",
    "IPC_OWNER",
    "SYS_MODULE",
    "SYS_RAWIO",
    "SYS_CHROOT",
    "SYS_PTRACE",
    "SYS_PACCT",
    "SYS_ADMIN",
    "SYS_BOOT",
    "SYS_NICE",
    "SYS_RESOURCE",
    "SYS_TIME",
    "SYS_TTY_CONFIG",
    "MKNOD",
    "LEASE",
    "AUDIT_WRITE",
    "AUDIT_CONTROL",
    "SETFCAP",
    "MAC_OVERRIDE",
    "MAC_ADMIN",
    "SYSLOG",
    "WAKE_ALARM",
    "BLOCK_SUSPEND",
    "AUDIT_READ",
    "PERFMON",
    "BPF",
    "CHECKPOINT_RESTORE",
];

/// Docker's default 14 (moby `oci/caps/defaults.go`) and `NET_ADMIN`.
pub const DEFAULT: [&str; 15] = [
    "CHOWN",
    "DAC_OVERRIDE",
    "FSETID",
    "FOWNER",
    "MKNOD",
    "NET_RAW",
    "SETGID",
    "SETUID",
    "SETFCAP",
    "SETPCAP",
    "NET_BIND_SERVICE",
    "SYS_CHROOT",
    "KILL",
    "AUDIT_WRITE",
    "NET_ADMIN",
];

/// The bit of `MKNOD`, which `sys::confine` drops where no device cgroup guards it.
pub const MKNOD: u8 = 27;

/// A set of capabilities, one bit per number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Caps {
    /// What the processes keep.
    pub keep: u64,
    /// What the file added explicitly (kept even where netlab would drop it, e.g. `MKNOD` on
    /// cgroup v2 without a device controller).
    pub added: u64,
}

/// The number of a capability name: "NET_ADMIN", "cap_net_admin" and "net_admin" alike.
pub fn number(name: &str) -> Option<u8> {
    let upper = name.to_ascii_uppercase();
    let bare = upper.strip_prefix("CAP_").unwrap_or(&upper);
    NAMES.iter().position(|n| *n == bare).map(|i| i as u8)
}

fn all() -> u64 {
    (1u64 << NAMES.len()) - 1
}

impl Default for Caps {
    fn default() -> Self {
        let keep = DEFAULT.iter().map(|n| 1u64 << number(n).expect("a known name")).fold(0, |a, b| a | b);
        Caps { keep, added: 0 }
    }
}

impl Caps {
    /// The names of the kept capabilities, in number order.
    pub fn names(&self) -> Vec<&'static str> {
        NAMES.iter().enumerate().filter(|(i, _)| self.keep & (1 << i) != 0).map(|(_, n)| *n).collect()
    }

    pub fn has(&self, cap: u8) -> bool {
        self.keep & (1u64 << cap) != 0
    }

    /// `add` then `drop` of the file on top of `self` ("ALL" names every capability).
    pub fn apply(&self, src: &Source, raw: &S<RawCaps>) -> Result<Caps, SpecError> {
        let mask = |list: &[S<String>]| -> Result<u64, SpecError> {
            let mut m = 0;
            for n in list {
                if n.get_ref().eq_ignore_ascii_case("all") {
                    m |= all();
                    continue;
                }
                let bit = number(n.get_ref()).ok_or_else(|| {
                    src.error(n.span(), format!("unknown capability \"{}\"", n.get_ref()), hint(n.get_ref()))
                })?;
                m |= 1u64 << bit;
            }
            Ok(m)
        };
        let r = raw.get_ref();
        let (add, drop) = (mask(&r.add)?, mask(&r.drop)?);
        Ok(Caps { keep: (self.keep | add) & !drop, added: (self.added | add) & !drop })
    }
}

/// "did you mean NET_ADMIN?" for a near miss, else how names are written.
fn hint(name: &str) -> String {
    let upper = name.to_ascii_uppercase().replace('-', "_");
    let bare = upper.strip_prefix("CAP_").unwrap_or(&upper).to_string();
    let close = NAMES.iter().find(|n| n.contains(bare.as_str()) || distance(n, &bare) <= 2);
    match close {
        Some(n) => format!("did you mean \"{n}\"? (names as in capabilities(7), without CAP_)"),
        None => "write names as in capabilities(7) without CAP_, such as \"NET_ADMIN\" or \"SYS_PTRACE\", or \"ALL\""
            .to_string(),
    }
}

/// Levenshtein distance, for near misses.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            cur.push((prev[j] + usize::from(ca != *cb)).min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_is_dockers_fourteen_and_net_admin() {
        let c = Caps::default();
        assert_eq!(c.keep, 0xa804_35fb, "{:?}", c.names());
        assert_eq!(c.names().len(), 15);
        assert!(c.has(12) && c.has(13) && c.has(MKNOD) && !c.has(21));
    }

    #[test]
    fn names_are_case_and_prefix_insensitive() {
        assert_eq!(number("NET_ADMIN"), Some(12));
        assert_eq!(number("cap_sys_admin"), Some(21));
        assert_eq!(number("checkpoint_restore"), Some(40));
        assert_eq!(number("NET_FOO"), None);
    }

    #[test]
    fn hints_name_the_near_miss() {
        assert!(hint("NET_ADMN").contains("NET_ADMIN"), "{}", hint("NET_ADMN"));
        assert!(hint("frobnicate").contains("capabilities(7)"));
    }
}
