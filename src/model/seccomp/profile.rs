//! `seccomp = "default"`: an allowlist. Every call not named here fails with `EPERM`, new
//! syscalls included, since a kernel newer than this list adds calls the list cannot name.
//!
//! It lets through what Docker's default profile lets through a container with Docker's
//! default capabilities, with the same argument filters, and refuses a little more: `ptrace`,
//! `process_vm_readv`/`writev`, `name_to_handle_at`, `adjtimex` and `clock_adjtime` (Docker
//! allows the first three on kernels from 4.8 and the time calls read-only) are refused, as is
//! `io_uring_*`, which Docker dropped in 2023. Names of other architectures are left out when
//! the profile is built (`iopl` means nothing on aarch64).

use super::{Action, ArgCmp, CmpOp, Filter, Rule, Seccomp, ENOSYS, EPERM};

/// What the default profile depends on in the node.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DefaultContext {
    /// The node has a uts namespace of its own: `sethostname` and `setdomainname` change only
    /// its own names and are allowed. Without one they would rename the host.
    pub uts: bool,
}

/// Let through whatever the arguments.
#[rustfmt::skip]
const ALLOW: &[&str] = &[
    // files and directories
    "access", "faccessat", "faccessat2", "chdir", "fchdir", "getcwd", "chroot",
    "chmod", "fchmod", "fchmodat", "fchmodat2", "chown", "fchown", "fchownat", "lchown",
    "creat", "open", "openat", "openat2", "close", "close_range",
    "dup", "dup2", "dup3", "fcntl", "flock",
    "fsync", "fdatasync", "syncfs", "sync", "sync_file_range", "fallocate", "ftruncate", "truncate",
    "fadvise64", "readahead", "getdents", "getdents64", "lseek", "cachestat",
    "link", "linkat", "symlink", "symlinkat", "unlink", "unlinkat", "rename", "renameat", "renameat2",
    "mkdir", "mkdirat", "mknod", "mknodat", "rmdir", "readlink", "readlinkat",
    "stat", "fstat", "lstat", "newfstatat", "statx", "statfs", "fstatfs",
    "umask", "utime", "utimes", "utimensat", "futimesat",
    // extended attributes
    "getxattr", "lgetxattr", "fgetxattr", "getxattrat", "setxattr", "lsetxattr", "fsetxattr", "setxattrat",
    "listxattr", "llistxattr", "flistxattr", "listxattrat",
    "removexattr", "lremovexattr", "fremovexattr", "removexattrat",
    // reading and writing
    "read", "write", "readv", "writev", "pread64", "pwrite64", "preadv", "preadv2", "pwritev", "pwritev2",
    "sendfile", "splice", "tee", "vmsplice", "copy_file_range", "ioctl", "pipe", "pipe2",
    // waiting for events
    "poll", "ppoll", "select", "pselect6",
    "epoll_create", "epoll_create1", "epoll_ctl", "epoll_ctl_old", "epoll_wait", "epoll_wait_old",
    "epoll_pwait", "epoll_pwait2", "eventfd", "eventfd2", "signalfd", "signalfd4",
    "timerfd_create", "timerfd_gettime", "timerfd_settime",
    "inotify_init", "inotify_init1", "inotify_add_watch", "inotify_rm_watch",
    // fanotify_mark is useless without fanotify_init, which is refused
    "fanotify_mark",
    // POSIX AIO (io_uring is refused)
    "io_setup", "io_destroy", "io_submit", "io_cancel", "io_getevents", "io_pgetevents",
    // memory
    "brk", "mmap", "munmap", "mremap", "mprotect", "pkey_mprotect", "pkey_alloc", "pkey_free",
    "madvise", "mincore", "mlock", "mlock2", "mlockall", "munlock", "munlockall", "msync",
    "remap_file_pages", "membarrier", "memfd_create", "memfd_secret", "map_shadow_stack", "mseal",
    // processes (clone and personality are filtered by argument below)
    "fork", "vfork", "execve", "execveat", "exit", "exit_group", "wait4", "waitid",
    "kill", "tkill", "tgkill", "getpid", "getppid", "gettid", "getpgid", "setpgid", "getpgrp",
    "getsid", "setsid", "set_tid_address", "prctl", "seccomp", "rseq", "restart_syscall",
    "getrusage", "getrlimit", "setrlimit", "prlimit64", "getpriority", "setpriority",
    "ioprio_get", "ioprio_set", "pidfd_open", "pidfd_send_signal", "process_mrelease",
    "capget", "capset", "landlock_create_ruleset", "landlock_add_rule", "landlock_restrict_self",
    // x86 thread-local storage and segments
    "arch_prctl", "modify_ldt", "get_thread_area", "set_thread_area", "uretprobe",
    // riscv64 and arm
    "riscv_flush_icache", "riscv_hwprobe",
    // credentials
    "getuid", "geteuid", "getgid", "getegid", "getresuid", "getresgid", "getgroups",
    "setuid", "setgid", "setreuid", "setregid", "setresuid", "setresgid", "setgroups",
    "setfsuid", "setfsgid",
    // signals and timers
    "rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "rt_sigpending", "rt_sigsuspend",
    "rt_sigtimedwait", "rt_sigqueueinfo", "rt_tgsigqueueinfo", "sigaltstack", "pause", "alarm",
    "getitimer", "setitimer", "timer_create", "timer_delete", "timer_gettime", "timer_settime",
    "timer_getoverrun",
    // clocks (reading them; setting is refused)
    "clock_gettime", "clock_getres", "clock_nanosleep", "nanosleep", "gettimeofday", "time", "times",
    // scheduling
    "sched_yield", "sched_getaffinity", "sched_setaffinity", "sched_getparam", "sched_setparam",
    "sched_getscheduler", "sched_setscheduler", "sched_getattr", "sched_setattr",
    "sched_get_priority_max", "sched_get_priority_min", "sched_rr_get_interval", "getcpu",
    // futexes
    "futex", "futex_waitv", "futex_wake", "futex_wait", "futex_requeue", "set_robust_list",
    "get_robust_list",
    // sockets (socket itself is filtered by family below)
    "socketpair", "bind", "connect", "listen", "accept", "accept4", "getsockname", "getpeername",
    "getsockopt", "setsockopt", "sendto", "recvfrom", "sendmsg", "recvmsg", "sendmmsg", "recvmmsg",
    "shutdown",
    // System V and POSIX IPC (per ipc namespace)
    "msgget", "msgsnd", "msgrcv", "msgctl", "semget", "semop", "semctl", "semtimedop",
    "shmget", "shmat", "shmdt", "shmctl",
    "mq_open", "mq_unlink", "mq_timedsend", "mq_timedreceive", "mq_notify", "mq_getsetattr",
    // the system
    "uname", "sysinfo", "getrandom",
];

/// The namespace flags of `clone`: CLONE_NEWNS, NEWCGROUP, NEWUTS, NEWIPC, NEWUSER, NEWPID,
/// NEWNET. `clone` is allowed only with none of them set.
pub const CLONE_NAMESPACE_FLAGS: u64 = 0x7E02_0000;

/// The `personality` values allowed: PER_LINUX, PER_LINUX32, UNAME26, UNAME26|PER_LINUX32,
/// and 0xffffffff, which only queries the current one.
pub const PERSONALITIES: &[u64] = &[0x0, 0x8, 0x20000, 0x20008, 0xffff_ffff];

/// `socket` families refused: AF_VSOCK, a channel to the hypervisor.
pub const REFUSED_FAMILIES: &[u64] = &[40];

/// Refused because the list does not name them, and worth saying so: each one is a way out of a
/// node or into the host's kernel. Tests check every one of them; [`CLONE3_ENOSYS`] aside,
/// they fail with `EPERM`.
#[rustfmt::skip]
pub const REFUSED: &[&str] = &[
    // namespaces and mounts
    "unshare", "setns", "mount", "umount2", "pivot_root", "fsopen", "fsconfig", "fsmount", "fspick",
    "open_tree", "open_tree_attr", "move_mount", "mount_setattr", "statmount", "listmount",
    "name_to_handle_at", "open_by_handle_at",
    // a filesystem-wide view, asynchronous I/O outside seccomp's reach, others' descriptors
    "fanotify_init", "io_uring_setup", "io_uring_enter", "io_uring_register", "pidfd_getfd",
    // memory policy of the host's NUMA nodes
    "mbind", "move_pages", "migrate_pages", "set_mempolicy", "get_mempolicy", "set_mempolicy_home_node",
    // the kernel itself
    "kexec_load", "kexec_file_load", "init_module", "finit_module", "delete_module", "create_module",
    "get_kernel_syms", "query_module", "bpf", "perf_event_open", "lookup_dcookie", "reboot",
    "swapon", "swapoff", "quotactl", "quotactl_fd", "acct", "syslog", "uselib", "nfsservctl",
    "_sysctl", "sysfs", "ustat", "vhangup", "userfaultfd", "iopl", "ioperm",
    "lsm_get_self_attr", "lsm_set_self_attr", "lsm_list_modules",
    // keyrings
    "keyctl", "add_key", "request_key",
    // other processes
    "ptrace", "process_vm_readv", "process_vm_writev", "process_madvise", "kcmp",
    // the clock every node shares
    "settimeofday", "clock_settime", "clock_adjtime", "adjtimex",
    // newer than this list
    "file_getattr", "file_setattr",
];

/// `clone3` fails with `ENOSYS`, so that glibc falls back to `clone`, whose flags a filter can
/// see (`clone3` passes them in memory).
pub const CLONE3_ENOSYS: &str = "clone3";

/// `ioctl` requests that push characters into a terminal: `TIOCSTI`, `TIOCLINUX`.
pub const TTY_INJECTION: &[u64] = &[0x5412, 0x541C];

/// The hostname calls, allowed only in a node with a uts namespace of its own.
pub const UTS_CALLS: &[&str] = &["sethostname", "setdomainname"];

/// The default profile for a node, on the running architecture.
pub fn default_profile(ctx: DefaultContext) -> Seccomp {
    // Looking every name up costs; built once per context.
    static BUILT: [std::sync::OnceLock<Filter>; 2] = [std::sync::OnceLock::new(), std::sync::OnceLock::new()];
    Seccomp::Filter(BUILT[ctx.uts as usize].get_or_init(|| default_filter(ctx)).clone())
}

/// Names of the allowlist that exist here, the unconditional ones: for tests and the README.
pub fn allowed_names(ctx: DefaultContext) -> Vec<&'static str> {
    let mut v: Vec<&'static str> = ALLOW.to_vec();
    if ctx.uts {
        v.extend_from_slice(UTS_CALLS);
    }
    v.retain(|n| super::is_known_syscall(n));
    v
}

fn default_filter(ctx: DefaultContext) -> Filter {
    let mut rules = Vec::new();
    let mut add = |name: &str, action: Action, args: Vec<ArgCmp>| {
        if let Some(nr) = super::syscall_nr(name) {
            rules.push(Rule { name: name.to_string(), nr, action, args });
        }
    };
    for name in allowed_names(ctx) {
        add(name, Action::Allow, Vec::new());
    }
    add(
        "clone",
        Action::Allow,
        vec![ArgCmp { index: 0, op: CmpOp::MaskedEq(CLONE_NAMESPACE_FLAGS), value: 0 }],
    );
    add(CLONE3_ENOSYS, Action::Errno(ENOSYS), Vec::new());
    for &p in PERSONALITIES {
        add("personality", Action::Allow, vec![ArgCmp { index: 0, op: CmpOp::Eq, value: p }]);
    }
    // Typing into a terminal's input (`TIOCSTI`) or the console's (`TIOCLINUX`): a program in
    // the node that shares the terminal of a `netlab exec` could type into the shell outside.
    for &request in TTY_INJECTION {
        add("ioctl", Action::Errno(EPERM), vec![ArgCmp { index: 1, op: CmpOp::Eq, value: request }]);
    }
    let families = REFUSED_FAMILIES.iter().map(|&f| ArgCmp { index: 0, op: CmpOp::Ne, value: f }).collect();
    add("socket", Action::Allow, families);
    Filter { default: Action::Errno(EPERM), rules }
}

#[cfg(test)]
mod tests;
