//! `netlab exec NODE [--lab NAME] -- CMD ARGS...`: finds the node among the labs that are up
//! and hands over to the system, which replaces netlab with the command inside the node, so
//! exit code, stdin/stdout/stderr and the tty pass through untouched.

use crate::backend::System;
use crate::engine::exec::locate;
use crate::error::Result;

pub fn run<S: System>(sys: &S, node: &str, lab: Option<&str>, cmd: &[String]) -> Result<i32> {
    let (lab, ns) = locate(sys, node, lab)?;
    sys.exec_in_node(&lab, node, ns.as_deref(), cmd)
}
