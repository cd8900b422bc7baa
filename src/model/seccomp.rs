//! Seccomp rules as data: which syscalls a node's workload may make. `sys::seccomp` compiles
//! them to BPF before forking and applies them in the workload's process just before `execve`.
//!
//! Names are Linux syscall names ("unshare", "mkdirat") as seccompiler's tables spell them,
//! checked against the table of the architecture netlab runs on.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use seccompiler::TargetArch;

/// What a syscall gets when neither `allow` nor `deny` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum DefaultAction {
    /// Let it through (a deny list).
    Allow,
    /// Fail it with `EPERM` (an allow list whose misses the program can survive).
    Errno,
    /// Kill the whole process with `SIGSYS` (a strict allow list).
    Kill,
}

/// The filter a workload runs under.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Seccomp {
    /// No filter at all.
    Unconfined,
    /// `deny` names fail with `EPERM`, `allow` names go through, anything else gets `default`.
    /// The filter is in force from the workload's `execve` on, so with a `default` other than
    /// `Allow` the allow list must cover `execve` and whatever the dynamic loader needs.
    Filter { default: DefaultAction, allow: Vec<String>, deny: Vec<String> },
}

/// What Docker's default profile refuses a container without extra capabilities, as far as a
/// list of names can say it. Names missing from the running architecture's table (`iopl` on
/// aarch64, say) are dropped by `default_profile`.
///
/// Left out on purpose: `vm86`/`vm86old` (i386 only, and the filter kills every non-native
/// ABI anyway); `personality`, which Docker allows for the common personas and denying outright
/// breaks programs that only query it (`personality(0xffffffff)`); `clone`/`clone3`, whose
/// namespace flags Docker filters by argument: refusing the calls by name would break every
/// thread and fork (glibc only falls back from `clone3` on `ENOSYS`, not `EPERM`). So a workload
/// can still make namespaces with `clone(CLONE_NEW*)`; closing that needs argument rules.
const DOCKER_DENY: &[&str] = &[
    // namespaces and mounts
    "unshare",
    "setns",
    "mount",
    "umount2",
    "pivot_root",
    "fsopen",
    "fsmount",
    "fsconfig",
    "fspick",
    "move_mount",
    "open_tree",
    "mount_setattr",
    "open_by_handle_at",
    "name_to_handle_at",
    // the kernel itself: modules, kexec, bpf, perf, reboot, swap, quotas, accounting
    "kexec_load",
    "kexec_file_load",
    "init_module",
    "finit_module",
    "delete_module",
    "create_module",
    "get_kernel_syms",
    "query_module",
    "bpf",
    "perf_event_open",
    "lookup_dcookie",
    "reboot",
    "swapon",
    "swapoff",
    "quotactl",
    "quotactl_fd",
    "acct",
    "syslog",
    "uselib",
    "nfsservctl",
    "_sysctl",
    "sysfs",
    "ustat",
    // the kernel keyring
    "keyctl",
    "add_key",
    "request_key",
    // other processes' memory
    "ptrace",
    "process_vm_readv",
    "process_vm_writev",
    "kcmp",
    "userfaultfd",
    // the clock every node shares
    "settimeofday",
    "clock_settime",
    "clock_adjtime",
    "adjtimex",
    // raw port I/O
    "iopl",
    "ioperm",
];

impl Seccomp {
    /// A filter from lists of names.
    pub fn filter(default: DefaultAction, allow: &[&str], deny: &[&str]) -> Seccomp {
        Seccomp::Filter {
            default,
            allow: allow.iter().map(|s| s.to_string()).collect(),
            deny: deny.iter().map(|s| s.to_string()).collect(),
        }
    }
}

/// Docker's default deny list for the running architecture: everything else is allowed.
pub fn default_profile() -> Seccomp {
    Seccomp::Filter {
        default: DefaultAction::Allow,
        allow: Vec::new(),
        deny: DOCKER_DENY.iter().filter(|n| is_known_syscall(n)).map(|n| n.to_string()).collect(),
    }
}

impl Seccomp {
    /// The first problem with the lists, as one sentence: a name that is not a syscall of this
    /// architecture, or a name listed twice (in one list, or in both).
    pub fn check(&self) -> Result<(), String> {
        let Seccomp::Filter { allow, deny, .. } = self else {
            return Ok(());
        };
        native_arch()?;
        let mut seen: HashMap<&str, &str> = HashMap::new();
        for (list, name) in allow.iter().map(|n| ("allow", n)).chain(deny.iter().map(|n| ("deny", n))) {
            if !is_known_syscall(name) {
                return Err(format!(
                    "unknown syscall \"{name}\"; write a Linux syscall name such as \"unshare\""
                ));
            }
            if let Some(first) = seen.insert(name, list) {
                return Err(if first == list {
                    format!("syscall \"{name}\" is listed twice in {list}")
                } else {
                    format!("syscall \"{name}\" is listed in both allow and deny; keep it in one")
                });
            }
        }
        Ok(())
    }
}

/// The architecture filters are compiled for: the one netlab itself was built for, since the
/// workload runs on this kernel as a native process.
pub(crate) fn native_arch() -> Result<TargetArch, String> {
    TargetArch::try_from(std::env::consts::ARCH).map_err(|_| {
        format!(
            "seccomp filters are not supported on {}; netlab knows the syscalls of x86_64, aarch64 and riscv64",
            std::env::consts::ARCH
        )
    })
}

/// Whether `name` is a syscall of the running architecture.
///
/// seccompiler keeps its name → number tables (generated from the kernel's headers) private;
/// its one public door to them is the JSON frontend. So a name is checked by compiling a filter
/// with that single rule: it is then known exactly when `sys::seccomp::compile` will accept it,
/// and netlab keeps no second table that could drift from the one that compiles. A compile
/// builds the whole table, so answers are cached for the life of the process.
pub fn is_known_syscall(name: &str) -> bool {
    static KNOWN: OnceLock<Mutex<HashMap<String, bool>>> = OnceLock::new();
    let Ok(arch) = native_arch() else {
        return false;
    };
    let cache = KNOWN.get_or_init(Default::default);
    // A poisoned cache still holds only correct answers.
    let mut cache = cache.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(&known) = cache.get(name) {
        return known;
    }
    let probe = serde_json::json!({
        "probe": { "mismatch_action": "allow", "filter_action": "kill_process", "filter": [{ "syscall": name }] }
    });
    let known = seccompiler::compile_from_json(probe.to_string().as_bytes(), arch).is_ok();
    cache.insert(name.to_string(), known);
    known
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filter(default: DefaultAction, allow: &[&str], deny: &[&str]) -> Seccomp {
        Seccomp::filter(default, allow, deny)
    }

    #[test]
    fn default_profile_denies_what_docker_denies() {
        let Seccomp::Filter { default, allow, deny } = default_profile() else {
            panic!("the default profile is a filter");
        };
        assert_eq!(default, DefaultAction::Allow);
        assert!(allow.is_empty());
        #[rustfmt::skip]
        let required = [
            "unshare", "setns", "mount", "umount2", "pivot_root", "kexec_load", "kexec_file_load",
            "init_module", "finit_module", "delete_module", "bpf", "keyctl", "add_key", "request_key",
            "reboot", "swapon", "swapoff", "ptrace", "perf_event_open", "open_by_handle_at",
            "name_to_handle_at", "acct", "settimeofday", "clock_settime", "clock_adjtime", "adjtimex",
            "quotactl", "userfaultfd", "lookup_dcookie", "fsopen", "fsmount", "fsconfig", "move_mount",
            "open_tree", "syslog",
        ];
        for name in required {
            assert!(deny.iter().any(|d| d == name), "{name} missing from the default profile");
        }
        if std::env::consts::ARCH == "x86_64" {
            for name in ["iopl", "ioperm", "uselib"] {
                assert!(deny.iter().any(|d| d == name), "{name} missing on x86_64");
            }
        }
        // Skipped, not failed: every listed name exists here, and the profile is valid.
        assert!(deny.iter().all(|n| is_known_syscall(n)));
        default_profile().check().unwrap();
    }

    #[test]
    fn known_and_unknown_names() {
        assert!(is_known_syscall("unshare"));
        assert!(is_known_syscall("mkdirat"));
        assert!(!is_known_syscall("frobnicate"));
        assert!(!is_known_syscall(""));
        assert!(!is_known_syscall("unshare\" , \"x"));
        // Twice, to go through the cache.
        assert!(is_known_syscall("unshare"));
        assert!(!is_known_syscall("frobnicate"));
    }

    #[test]
    fn check_names_the_first_unknown_syscall() {
        let err =
            filter(DefaultAction::Allow, &["read"], &["unshare", "frobnicate", "nope"]).check().unwrap_err();
        assert_eq!(err, "unknown syscall \"frobnicate\"; write a Linux syscall name such as \"unshare\"");
    }

    #[test]
    fn check_rejects_names_listed_twice() {
        let err = filter(DefaultAction::Kill, &["read", "write"], &["write"]).check().unwrap_err();
        assert_eq!(err, "syscall \"write\" is listed in both allow and deny; keep it in one");
        let err = filter(DefaultAction::Allow, &[], &["mount", "bpf", "mount"]).check().unwrap_err();
        assert_eq!(err, "syscall \"mount\" is listed twice in deny");
    }

    #[test]
    fn check_accepts_valid_filters_and_unconfined() {
        Seccomp::Unconfined.check().unwrap();
        filter(DefaultAction::Errno, &["read", "write", "exit_group"], &[]).check().unwrap();
        filter(DefaultAction::Kill, &[], &[]).check().unwrap();
    }
}
