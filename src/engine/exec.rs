//! Finding a node among the labs that are up, for `netlab exec`, `netlab logs` and `netlab
//! capture`. Running a command in many nodes at once is `exec_many`.

use crate::backend::{Store, Watch};
use crate::error::{Error, Result};
use crate::state::Record;

/// The node names of a record, for an error that says which there are.
pub(super) fn node_list(r: &Record) -> String {
    r.nodes.keys().cloned().collect::<Vec<_>>().join(", ")
}

/// The node's lab and namespace (`None` for a host node). The lab may be omitted when one
/// lab that is up has a node of that name.
pub fn locate<S: Store>(sys: &S, node: &str, lab: Option<&str>) -> Result<(String, Option<String>)> {
    let records = match lab {
        Some(l) => vec![sys.load(l)?.ok_or_else(|| {
            Error::NotFound(format!("lab {l} is not up (`netlab ls` lists the labs that are)"))
        })?],
        None => sys.all()?,
    };
    let mut found: Vec<(String, Option<String>)> =
        records.iter().filter_map(|r| r.nodes.get(node).cloned().map(|ns| (r.lab.clone(), ns))).collect();
    match found.len() {
        0 => {
            let nodes: Vec<String> = records
                .iter()
                .flat_map(|r| {
                    r.nodes
                        .keys()
                        .map(move |n| if lab.is_some() { n.clone() } else { format!("{n} (lab {})", r.lab) })
                })
                .collect();
            let msg = match lab {
                Some(l) => format!("lab {l} has no node named {node}"),
                None => format!("no lab that is up has a node named {node}"),
            };
            Err(Error::NotFound(if nodes.is_empty() {
                format!("{msg} (`netlab ls` lists the labs)")
            } else {
                format!("{msg}; nodes: {}", nodes.join(", "))
            }))
        }
        1 => Ok(found.pop().expect("one match")),
        _ => {
            let labs: Vec<String> = found.into_iter().map(|(l, _)| l).collect();
            Err(Error::Ambiguous(format!(
                "node {node} is in several labs ({}); say which with --lab",
                labs.join(", ")
            )))
        }
    }
}

/// Refuses a node whose namespace is gone (deleted by hand): nothing is left to enter, and
/// only `up` makes it again.
pub fn check_present<S: Store + Watch>(sys: &S, lab: &str, node: &str, ns: Option<&str>) -> Result<()> {
    let Some(ns) = ns else { return Ok(()) };
    if sys.netns_exists(ns) {
        return Ok(());
    }
    let file = sys.load(lab)?.map(|r| r.file.display().to_string()).unwrap_or_else(|| "FILE".into());
    Err(Error::NotFound(format!(
        "the namespace {ns} of node {node} (lab {lab}) is gone: run netlab up {file} to recreate it"
    )))
}
