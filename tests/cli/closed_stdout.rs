//! `netlab man | head`: a reader that goes away ends netlab quietly, with nothing on stderr
//! and exit 0, for every command that prints (status, ls and plan against a real lab are in
//! the kernel tests).

use crate::command;
use std::io::Read;
use std::process::Stdio;

/// Runs `netlab ARGS` with its stdout's reader closed before netlab writes a byte.
fn with_stdout_closed(args: &[&str]) -> (Option<i32>, String) {
    let mut child = command()
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("netlab runs");
    drop(child.stdout.take());
    let mut err = String::new();
    child.stderr.take().unwrap().read_to_string(&mut err).unwrap();
    (child.wait().unwrap().code(), err)
}

#[test]
fn a_closed_stdout_ends_quietly() {
    let commands: [&[&str]; 8] = [
        &["man"],
        &["schema"],
        &["completions", "bash"],
        &["completions", "zsh"],
        &["graph", "topologies/lan.toml"],
        &["graph", "topologies/lan.toml", "--format", "svg"],
        &["validate", "topologies/lan.toml"],
        &["--help"],
    ];
    for args in commands {
        let (code, err) = with_stdout_closed(args);
        assert_eq!((code, err.as_str()), (Some(0), ""), "netlab {args:?} with its stdout closed");
    }
}

/// Through a real shell pipe, as a user types it.
#[test]
fn man_piped_to_head_prints_nothing_on_stderr() {
    let bin = env!("CARGO_BIN_EXE_netlab");
    let o = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("'{bin}' man 2>&1 >/dev/null | head -c0; '{bin}' man | head -n1 >/dev/null"))
        .stderr(Stdio::piped())
        .output()
        .expect("sh runs");
    assert_eq!(String::from_utf8_lossy(&o.stderr), "", "{o:?}");
    assert!(o.status.success(), "{o:?}");
}
