//! `netlab exec NODE [--lab NAME] -- CMD ARGS...`: finds the node among the labs that are up
//! and hands over to `sys::process::exec`, which replaces netlab with the command inside the
//! node, so exit code, stdin/stdout/stderr and the tty pass through untouched.

use crate::error::{Error, Result};
use crate::state::Record;
use crate::sys::process;

/// Finds the node among the labs that are up: its lab and namespace (`None` for a host node).
pub fn locate(node: &str, lab: Option<&str>) -> Result<(String, Option<String>)> {
    let records = match lab {
        Some(l) => vec![Record::load(l)?.ok_or_else(|| {
            Error::NotFound(format!("lab {l} is not up (`netlab ls` lists the labs that are)"))
        })?],
        None => Record::all()?,
    };
    let mut found: Vec<(String, Option<String>)> = records
        .into_iter()
        .filter_map(|r| r.nodes.get(node).cloned().map(|ns| (r.lab.clone(), ns)))
        .collect();
    match found.len() {
        0 => Err(Error::NotFound(match lab {
            Some(l) => format!("lab {l} has no node named {node}"),
            None => format!("no lab that is up has a node named {node} (`netlab ls` lists the labs)"),
        })),
        1 => Ok(found.pop().expect("one match")),
        _ => {
            let labs: Vec<String> = found.into_iter().map(|(l, _)| l).collect();
            Err(Error::Usage(format!(
                "node {node} is in several labs ({}); say which with --lab",
                labs.join(", ")
            )))
        }
    }
}

pub fn run(node: &str, lab: Option<&str>, cmd: &[String]) -> Result<i32> {
    let (lab, ns) = locate(node, lab)?;
    process::run_in_node(&lab, node, ns.as_deref(), cmd)
}
