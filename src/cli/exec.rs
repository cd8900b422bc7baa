//! `netlab exec NODE [--lab NAME] -- CMD ARGS...`: finds the node among the labs that are up
//! and hands over to the system, which replaces netlab with the command inside the node, so
//! exit code, stdin/stdout/stderr and the tty pass through untouched. Without a command it
//! opens a shell there. `netlab exec --all | --nodes GLOB -- CMD` runs the command in many
//! nodes at once, its output captured and prefixed with each node's name.

use crate::backend::System;
use crate::engine::exec::{check_present, locate};
use crate::engine::exec_many::{run_many, select};
use crate::error::{Error, Result};
use std::io::Write;

/// What `netlab exec NODE` alone runs: the user's shell, as Kathará's `connect` does.
fn shell() -> String {
    std::env::var("SHELL").ok().filter(|s| !s.is_empty()).unwrap_or_else(|| "/bin/sh".into())
}

/// The hint for words after the node that are not behind `--`.
pub fn missing_dashes(node: &str, stray: &[String]) -> Error {
    Error::Usage(format!("put `--` before the command: netlab exec {node} -- {}", stray.join(" ")))
}

pub fn run<S: System>(sys: &S, node: &str, lab: Option<&str>, cmd: &[String]) -> Result<i32> {
    let (lab, ns) = locate(sys, node, lab)?;
    check_present(sys, &lab, node, ns.as_deref())?;
    let cmd = if cmd.is_empty() { vec![shell()] } else { cmd.to_vec() };
    sys.exec_in_node(&lab, node, ns.as_deref(), &cmd)
}

/// Runs `cmd` in every node of the lab (`pattern`: those matching it); exit 0 only if
/// every node's command exited 0.
pub fn run_all<S: System>(
    sys: &S,
    lab: Option<&str>,
    pattern: Option<&str>,
    json: bool,
    cmd: &[String],
) -> Result<i32> {
    if cmd.is_empty() {
        return Err(Error::Usage("name the command to run after `--`: netlab exec --all -- CMD".into()));
    }
    let (lab, nodes) = select(sys, lab, pattern)?;
    let mut broken_pipe = false;
    let runs = run_many(sys, &lab, &nodes, cmd, |node, stderr, line| {
        if json || broken_pipe {
            return;
        }
        let mut text = format!("{node}: ").into_bytes();
        text.extend_from_slice(line);
        let written = if stderr {
            std::io::stderr().lock().write_all(&text)
        } else {
            let mut out = std::io::stdout().lock();
            out.write_all(&text).and_then(|()| out.flush())
        };
        broken_pipe = written.is_err();
    });
    if json {
        let mut out = std::io::stdout().lock();
        for r in &runs {
            let _ = writeln!(out, "{}", serde_json::to_string(r).expect("a run serializes"));
        }
    }
    let failed: Vec<String> = runs
        .iter()
        .filter(|r| !r.succeeded())
        .map(|r| match (&r.error, r.code) {
            (Some(e), _) => format!("{} ({e})", r.node),
            (None, Some(c)) => format!("{} (exit {c})", r.node),
            (None, None) => r.node.clone(),
        })
        .collect();
    if failed.is_empty() {
        return Ok(0);
    }
    eprintln!(
        "netlab: the command failed in {} of {} nodes: {}",
        failed.len(),
        runs.len(),
        failed.join(", ")
    );
    Ok(1)
}
