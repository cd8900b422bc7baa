//! The iptables fallback, for kernels without nf_tables: the same rules loaded through
//! `iptables-restore`/`ip6tables-restore` (the text is built in `render`). Runs on a namespace
//! worker: the commands inherit the worker's namespace.

mod render;
#[cfg(test)]
mod tests;

pub use render::{listing_from_saves, restore_input, rules, teardown_input, Family};

use crate::model::firewall::Firewall;
use std::io::{self, Write};
use std::process::{Command, Stdio};

fn run(cmd: &str, args: &[&str], input: Option<&str>) -> io::Result<String> {
    let mut child = Command::new(cmd)
        .args(args)
        .stdin(if input.is_some() { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| {
            io::Error::new(e.kind(), format!("running {cmd}: {e} (install the iptables package)"))
        })?;
    if let Some(text) = input {
        child.stdin.take().expect("piped").write_all(text.as_bytes())?;
    }
    let out = child.wait_with_output()?;
    if !out.status.success() {
        return Err(io::Error::other(format!(
            "{cmd} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn saves() -> io::Result<Vec<String>> {
    [Family::V4, Family::V6].iter().map(|f| run(f.save(), &[], None)).collect()
}

/// The lab's rules in the calling thread's namespace, as a listing.
pub fn read_here(lab: &str) -> io::Result<Option<Vec<String>>> {
    Ok(listing_from_saves(lab, &saves()?))
}

/// Loads the lab's rules in the calling thread's namespace, replacing its chains.
pub fn load_here(lab: &str, fw: &Firewall) -> io::Result<()> {
    for fam in [Family::V4, Family::V6] {
        let saved = run(fam.save(), &[], None)?;
        run(fam.restore(), &["--noflush", "-w"], Some(&restore_input(lab, fw, fam, &saved)))?;
    }
    Ok(())
}

/// Removes the lab's chains in the calling thread's namespace; none counts as done.
pub fn delete_here(lab: &str) -> io::Result<()> {
    for fam in [Family::V4, Family::V6] {
        let saved = run(fam.save(), &[], None)?;
        let input = teardown_input(lab, &saved);
        if !input.is_empty() {
            run(fam.restore(), &["--noflush", "-w"], Some(&input))?;
        }
    }
    Ok(())
}
