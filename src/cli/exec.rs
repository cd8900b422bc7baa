//! `netlab exec NODE [--lab NAME] -- CMD ARGS...`: replaces netlab with the command, inside
//! the node, so exit code, stdin/stdout/stderr and the tty pass through untouched.

use crate::error::{Error, Result};
use crate::state::Record;
use crate::sys::netns;
use std::ffi::CString;

/// Finds the node's namespace among the labs that are up (`None` for a host node).
pub fn locate(node: &str, lab: Option<&str>) -> Result<Option<String>> {
    let records = match lab {
        Some(l) => vec![Record::load(l)?.ok_or_else(|| Error::NotFound(format!("lab {l} is not up (`netlab ls` lists the labs that are)")))?],
        None => Record::all()?,
    };
    let mut found: Vec<(String, Option<String>)> =
        records.into_iter().filter_map(|r| r.nodes.get(node).cloned().map(|ns| (r.lab.clone(), ns))).collect();
    match found.len() {
        0 => Err(Error::NotFound(match lab {
            Some(l) => format!("lab {l} has no node named {node}"),
            None => format!("no lab that is up has a node named {node} (`netlab ls` lists the labs)"),
        })),
        1 => Ok(found.pop().expect("one match").1),
        _ => {
            let labs: Vec<String> = found.into_iter().map(|(l, _)| l).collect();
            Err(Error::Usage(format!("node {node} is in several labs ({}); say which with --lab", labs.join(", "))))
        }
    }
}

pub fn run(node: &str, lab: Option<&str>, cmd: &[String]) -> Result<i32> {
    let ns = locate(node, lab)?;
    if let Some(ns) = &ns {
        netns::enter_for_exec(ns).map_err(|e| Error::Sys(crate::error::SysError::new(format!("entering node {node} (netns {ns})"), e)))?;
    }
    let args: Vec<CString> = cmd
        .iter()
        .map(|a| CString::new(a.as_bytes()).map_err(|_| Error::Usage(format!("argument {a:?} contains a NUL byte"))))
        .collect::<Result<_>>()?;
    let err = nix::unistd::execvp(&args[0], &args).expect_err("execvp returns only on failure");
    eprintln!("netlab: running {} in node {node}: {}", cmd[0], std::io::Error::from_raw_os_error(err as i32));
    // As a shell does: 127 for a command that is not there, 126 for one that cannot run.
    Ok(if err == nix::Error::ENOENT { 127 } else { 126 })
}
