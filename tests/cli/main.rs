//! Command-line tests: the built binary, run from the crate root, with no root and no kernel
//! state. One runner for all of them.

mod broken;
mod closed_stdout;
mod commands;
mod describe;
mod diagnostics;
mod exec_hints;
mod schema;
mod unprivileged;

use std::process::{Command, Output};

/// The netlab binary, to run from the crate root (paths in arguments are relative to it).
fn command() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_netlab"));
    c.current_dir(env!("CARGO_MANIFEST_DIR"));
    c
}

/// Runs `netlab ARGS` to the end.
fn netlab(args: &[&str]) -> Output {
    command().args(args).output().expect("running netlab")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn stdout(o: &Output) -> String {
    text(&o.stdout)
}

/// Exit status, stdout and stderr, for a failure message.
fn show(o: &Output) -> String {
    format!("status {:?}\nstdout:\n{}\nstderr:\n{}", o.status.code(), stdout(o), text(&o.stderr))
}
