use super::*;
use crate::model::seccomp::{syscall_nr, Arch, Known};

fn filter(uts: bool) -> Filter {
    match default_profile(DefaultContext { uts }) {
        Seccomp::Filter(f) => f,
        Seccomp::Unconfined => panic!("the default profile is a filter"),
    }
}

fn decide(f: &Filter, name: &str, args: [u64; 6]) -> Action {
    let nr = syscall_nr(name).unwrap_or_else(|| panic!("{name} is no syscall here"));
    f.decide(nr, &args)
}

const NO_ARGS: [u64; 6] = [0; 6];

/// Calls made by a shell (busybox sh running echo, ls, cat, a subshell and sleep), a Python
/// interpreter (threads, subprocess, sockets), BIRD (a device and kernel protocol) and ping
/// (IPv4 and IPv6), collected once with `strace -f` on x86_64 and written down here, plus a few
/// the same programs make on other paths (`fstat`, `pipe`, `clock_gettime` without a vDSO).
/// `clone`, `personality` and `socket` are checked with the arguments they are called with.
#[rustfmt::skip]
const NEEDED: &[&str] = &[
    // busybox sh
    "arch_prctl", "brk", "clock_nanosleep", "close", "dup2", "execve", "exit_group", "fcntl",
    "getdents64", "getpid", "getppid", "getrandom", "getuid", "ioctl", "mprotect", "newfstatat",
    "openat", "pipe2", "prctl", "prlimit64", "read", "readlink", "rseq", "rt_sigaction",
    "rt_sigreturn", "sendfile", "set_robust_list", "set_tid_address", "uname", "wait4", "write",
    // python3
    "access", "chdir", "close_range", "epoll_create1", "exit", "faccessat2", "futex", "getcwd",
    "getegid", "geteuid", "getgid", "getpgrp", "gettid", "lseek", "madvise", "mmap", "munmap",
    "pread64", "rt_sigprocmask", "sysinfo", "vfork",
    // ping
    "capget", "capset", "connect", "getsockname", "getsockopt", "recvmsg", "sendto", "setitimer",
    "setsockopt", "setuid",
    // bird
    "bind", "chmod", "listen", "mlock", "poll", "unlink", "sendmsg", "recvfrom", "kill",
    // other paths of the same programs
    "fstat", "pipe", "clock_gettime", "gettimeofday", "nanosleep", "dup", "dup3", "statx",
    "sched_getaffinity", "sched_yield", "getdents", "select", "pselect6", "ppoll", "epoll_wait",
    "epoll_ctl", "eventfd2", "accept4", "shutdown", "socketpair", "umask", "fchown", "fchmod",
    "rename", "renameat2", "mkdir", "rmdir", "setsid", "setpgid", "getpgid",
];

#[test]
fn the_default_profile_is_an_allowlist() {
    let f = filter(false);
    assert_eq!(f.default, Action::Errno(EPERM));
    let allowed = allowed_names(DefaultContext::default());
    assert!(allowed.len() > 250, "only {} calls allowed", allowed.len());
    // Every name of the lists means something: a syscall here, or of another architecture.
    let arch = Arch::native().unwrap();
    for name in ALLOW.iter().chain(REFUSED).chain(UTS_CALLS) {
        assert_ne!(crate::model::seccomp::lookup(arch, name), Known::Unknown, "{name} is no syscall");
    }
    for name in REFUSED {
        assert!(!ALLOW.contains(name), "{name} is both allowed and refused");
    }
}

#[test]
fn the_default_profile_refuses_the_escape_calls() {
    let f = filter(false);
    for name in REFUSED {
        if syscall_nr(name).is_none() {
            continue; // another architecture's call
        }
        assert_eq!(decide(&f, name, NO_ARGS), Action::Errno(EPERM), "{name}");
    }
    assert_eq!(decide(&f, "clone3", NO_ARGS), Action::Errno(ENOSYS));
    for name in UTS_CALLS {
        assert_eq!(decide(&f, name, NO_ARGS), Action::Errno(EPERM), "{name} without a uts namespace");
    }
    // Numbers no table names, newer calls included, get the default.
    for nr in [467, 468, 469, 470, 471, 500, 1000] {
        assert_eq!(f.decide(nr, &NO_ARGS), Action::Errno(EPERM), "syscall {nr}");
    }
}

#[test]
fn the_default_profile_allows_what_a_shell_python_bird_and_ping_need() {
    let f = filter(false);
    for name in NEEDED {
        if syscall_nr(name).is_none() {
            continue; // aarch64 has no open, pipe, poll, ...
        }
        assert_eq!(decide(&f, name, NO_ARGS), Action::Allow, "{name}");
    }
    // A thread (glibc's pthread_create), fork (SIGCHLD) and vfork-style posix_spawn.
    for flags in [0x3d0f00u64, 0x1200011, 0x4111] {
        assert_eq!(decide(&f, "clone", [flags, 0, 0, 0, 0, 0]), Action::Allow, "clone {flags:#x}");
    }
    // IPv4, IPv6, unix, netlink and packet sockets; ping's ICMP datagram sockets.
    for family in [2u64, 10, 1, 16, 17] {
        assert_eq!(decide(&f, "socket", [family, 2, 1, 0, 0, 0]), Action::Allow, "socket family {family}");
    }
    for p in PERSONALITIES {
        assert_eq!(decide(&f, "personality", [*p, 0, 0, 0, 0, 0]), Action::Allow, "personality {p:#x}");
    }
}

#[test]
fn argument_filters_refuse_namespaces_vsock_and_odd_personalities() {
    let f = filter(false);
    for flag in [0x20000u64, 0x0200_0000, 0x0400_0000, 0x0800_0000, 0x1000_0000, 0x2000_0000, 0x4000_0000] {
        assert_eq!(
            decide(&f, "clone", [0x11 | flag, 0, 0, 0, 0, 0]),
            Action::Errno(EPERM),
            "clone {flag:#x}"
        );
    }
    assert_eq!(decide(&f, "socket", [40, 1, 0, 0, 0, 0]), Action::Errno(EPERM), "AF_VSOCK");
    // READ_IMPLIES_EXEC, ADDR_NO_RANDOMIZE
    for p in [0x0040_0000u64, 0x0004_0000] {
        assert_eq!(decide(&f, "personality", [p, 0, 0, 0, 0, 0]), Action::Errno(EPERM), "personality {p:#x}");
    }
}

#[test]
fn a_uts_namespace_allows_the_hostname_calls() {
    let f = filter(true);
    for name in UTS_CALLS {
        assert_eq!(decide(&f, name, NO_ARGS), Action::Allow, "{name}");
    }
}

#[test]
fn the_default_profile_can_start_a_process() {
    filter(false).check_can_start().unwrap();
}
