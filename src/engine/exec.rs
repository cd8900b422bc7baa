//! Finding a node among the labs that are up, for `netlab exec` and `netlab logs`.

use crate::backend::Store;
use crate::error::{Error, Result};

/// The node's lab and namespace (`None` for a host node). The lab may be omitted when one
/// lab that is up has a node of that name.
pub fn locate<S: Store>(sys: &S, node: &str, lab: Option<&str>) -> Result<(String, Option<String>)> {
    let records = match lab {
        Some(l) => vec![sys.load(l)?.ok_or_else(|| {
            Error::NotFound(format!("lab {l} is not up (`netlab ls` lists the labs that are)"))
        })?],
        None => sys.all()?,
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
            Err(Error::Ambiguous(format!(
                "node {node} is in several labs ({}); say which with --lab",
                labs.join(", ")
            )))
        }
    }
}
