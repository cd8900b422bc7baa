//! A lab is bound to where it was made: to the file it was made from, and, when it has a
//! `host` node, to the network namespace netlab ran in. From anywhere else `plan`, `up`,
//! `down` and `status` refuse before they look at or change anything, rather than treat
//! another file as the lab's, or another namespace as its host.

use crate::backend::Probes;
use crate::error::{Error, Result};
use crate::model::{Lab, NsRef};
use crate::state::Record;
use std::path::{Path, PathBuf};

/// Before `plan` or `up` of `lab`, whose record (if the lab is up) is `record`. `adopt`: the
/// file may take over a lab of its name made from another file (`--adopt`).
pub fn check_up<S: Probes>(sys: &S, lab: &Lab, record: Option<&Record>, adopt: bool) -> Result<()> {
    let Some(rec) = record else { return Ok(()) };
    if !adopt && !same_file(&rec.file, &lab.file) {
        return Err(Error::Conflict(format!(
            "lab {} was made from {}, not {}; use that file, take the lab over with --adopt, or give \
             this file another name",
            rec.lab,
            rec.file.display(),
            lab.file.display()
        )));
    }
    // A host node the file adds would be made here, next to the lab's objects elsewhere.
    let adds_host = lab.nodes.values().any(|n| n.ns == NsRef::Host);
    check_netns(sys, rec, adds_host)
}

/// Before `down` of a lab, with its record (without one, only the marks are there to go by).
pub fn check_down<S: Probes>(sys: &S, record: Option<&Record>) -> Result<()> {
    record.map_or(Ok(()), |r| check_netns(sys, r, false))
}

/// Before `status` of the lab with record `record`, and before capturing on its host node.
pub fn check_status<S: Probes>(sys: &S, record: &Record) -> Result<()> {
    check_netns(sys, record, false)
}

/// Refuses when the lab has (or is to have) a host node and netlab runs in a network namespace
/// other than the one the lab was made in. Records too old to say, and a namespace whose
/// identity cannot be read, are let through.
fn check_netns<S: Probes>(sys: &S, rec: &Record, adds_host: bool) -> Result<()> {
    if !rec.has_host() && !adds_host {
        return Ok(());
    }
    let (Some(made), Some(here)) = (rec.made_in, sys.netns_identity()) else { return Ok(()) };
    if made == here {
        return Ok(());
    }
    let enter = match sys.netns_path(made) {
        Some(p) => format!("nsenter --net={p} netlab ..."),
        None => "nsenter --net=/proc/PID/ns/net netlab ..., with the pid of a process in it".to_string(),
    };
    Err(Error::Conflict(format!(
        "lab {} was made in another network namespace (net:[{}]) than the one netlab runs in now \
         (net:[{}]), and its host node's objects are there; run netlab from that namespace ({enter})",
        rec.lab, made.1, here.1
    )))
}

/// Whether two paths name the same file: canonically where they exist (symlinks, `..`),
/// as absolute paths where they do not (a file since removed, or a `Lab::from_str` lab's).
fn same_file(a: &Path, b: &Path) -> bool {
    fn canon(p: &Path) -> PathBuf {
        std::fs::canonicalize(p)
            .unwrap_or_else(|_| std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf()))
    }
    a == b || canon(a) == canon(b)
}
