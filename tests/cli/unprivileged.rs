//! netlab run by a user without root: the commands that change or read the machine say so
//! first, in one sentence; those that only read a file or describe netlab work. As root (CI)
//! the binary is run as `nobody` (65534) through `setpriv`; no user is created.

use crate::{command, show, text};
use std::process::{Command, Output};

const NEEDS_ROOT: &str = "netlab needs root (CAP_NET_ADMIN and CAP_SYS_ADMIN): run it with sudo\n";

/// `netlab ARGS` as an unprivileged user: as `nobody` when this test runs as root, else as
/// the user it runs as.
fn unprivileged(args: &[&str]) -> Output {
    let root = nix::unistd::geteuid().is_root();
    let mut c = if root {
        let mut c = Command::new("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups", env!("CARGO_BIN_EXE_netlab")]);
        c.current_dir(env!("CARGO_MANIFEST_DIR"));
        c
    } else {
        command()
    };
    c.args(args).env_remove("NETLAB_RUN_DIR").output().expect("running netlab unprivileged")
}

#[test]
fn without_root_every_command_that_needs_it_says_so_first() {
    let commands: [&[&str]; 11] = [
        &["up", "topologies/lan.toml"],
        &["plan", "topologies/lan.toml"],
        &["down", "topologies/lan.toml"],
        &["down", "--lab", "lan"],
        &["status"],
        &["status", "topologies/lan.toml"],
        &["status", "--lab", "lan", "--json"],
        &["ls"],
        &["exec", "h1", "--", "true"],
        &["logs", "h1"],
        &["test", "topologies/lan.toml"],
    ];
    for args in commands {
        let o = unprivileged(args);
        assert_eq!(o.status.code(), Some(1), "netlab {args:?}: {}", show(&o));
        assert_eq!(text(&o.stderr), NEEDS_ROOT, "netlab {args:?}: {}", show(&o));
        assert_eq!(text(&o.stdout), "", "netlab {args:?}: {}", show(&o));
    }
    // Even with a file that does not exist: nothing else is tried first.
    let o = unprivileged(&["up", "no/such/file.toml"]);
    assert_eq!(text(&o.stderr), NEEDS_ROOT, "{}", show(&o));
}

#[test]
fn without_root_what_reads_only_a_file_works() {
    let commands: [&[&str]; 5] = [
        &["validate", "topologies/lan.toml"],
        &["schema"],
        &["graph", "topologies/lan.toml"],
        &["completions", "bash"],
        &["man"],
    ];
    for args in commands {
        let o = unprivileged(args);
        assert_eq!(o.status.code(), Some(0), "netlab {args:?}: {}", show(&o));
        assert!(!text(&o.stdout).is_empty(), "netlab {args:?}: {}", show(&o));
    }
}
