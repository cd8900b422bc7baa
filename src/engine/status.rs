//! `netlab status`: the lab as the kernel holds it, what runs in it, and its drift from the file.

use crate::backend::System;
use crate::error::{Error, Result};
use crate::model::{names, NodeKind, NsRef};
use crate::plan::{self, Op};
use crate::state::workload::WorkloadStatus;
use crate::state::{NetState, NsState, Record};
use crate::Lab;

/// What `netlab status` reports. `status --json` prints a view of it (`cli::json`), not this.
#[derive(Debug)]
pub struct Status {
    pub lab: String,
    pub file: String,
    pub prefix: String,
    pub nodes: Vec<NodeStatus>,
    /// The links of the file, and those the kernel holds with the lab's mark.
    pub links: Vec<LinkStatus>,
    /// What `up` would change; empty when the lab matches its file.
    pub drift: Vec<Op>,
    /// Why drift could not be computed, if it could not.
    pub drift_unknown: Option<String>,
    /// The runtime overrides in force (`netlab link down`, `netlab impair`), as `plan` shows them.
    pub overrides: Vec<String>,
    /// The same, as the record holds them.
    pub held: crate::state::Overrides,
}

#[derive(Debug)]
pub struct NodeStatus {
    pub name: String,
    /// As the file says; without the file, as the kernel shows it (a bridge with the lab's
    /// mark makes a switch).
    pub kind: NodeKind,
    pub netns: Option<String>,
    pub present: bool,
    pub state: Option<NsState>,
    /// The holder of the node's namespaces, when it has one running.
    pub holder: Option<u32>,
    pub workloads: Vec<WorkloadStatus>,
}

/// One end of a link: a node and its interface.
pub type End = (String, String);

/// A link, its ends sorted (a link is an unordered pair).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct LinkStatus {
    pub a: End,
    pub b: End,
    /// Whether the kernel holds both ends.
    pub present: bool,
}

impl LinkStatus {
    /// The other end of the link from `end`, if `end` is one of its ends.
    pub fn peer(&self, end: &End) -> Option<&End> {
        if self.a == *end {
            Some(&self.b)
        } else if self.b == *end {
            Some(&self.a)
        } else {
            None
        }
    }
}

/// The two ends a link's mark (`netlab:LAB:h1:eth0~sw:h1-eth0`) names, sorted.
fn ends_of_mark(lab: &str, alias: &str) -> Option<(End, End)> {
    let id = alias.strip_prefix(&names::mark_prefix(lab))?;
    let (a, b) = id.split_once('~')?;
    let end = |e: &str| e.split_once(':').map(|(n, i)| (n.to_string(), i.to_string()));
    let (a, b) = (end(a)?, end(b)?);
    Some(if a <= b { (a, b) } else { (b, a) })
}

/// The links of the file (when it is known) and those the kernel's marks name; a link is
/// present when both of its ends are there.
fn links(lab: &str, file: Option<&crate::Lab>, nodes: &[NodeStatus]) -> Vec<LinkStatus> {
    let held = |(node, iface): &End| {
        nodes
            .iter()
            .any(|n| &n.name == node && n.state.as_ref().is_some_and(|s| s.ifaces.contains_key(iface)))
    };
    let mut ends: std::collections::BTreeSet<(End, End)> = std::collections::BTreeSet::new();
    for l in file.iter().flat_map(|f| &f.links) {
        let (a, b) = ((l.a.node.clone(), l.a.iface.clone()), (l.b.node.clone(), l.b.iface.clone()));
        ends.insert(if a <= b { (a, b) } else { (b, a) });
    }
    for n in nodes {
        let aliases = n.state.iter().flat_map(|s| s.ifaces.values()).filter_map(|i| i.alias.as_deref());
        ends.extend(aliases.filter_map(|a| ends_of_mark(lab, a)));
    }
    ends.into_iter().map(|(a, b)| LinkStatus { present: held(&a) && held(&b), a, b }).collect()
}

/// What a node is, when only the kernel can tell: the host's, or a switch when its
/// namespace holds the lab's bridge.
fn kind_seen(lab: &str, netns: Option<&str>, state: Option<&NsState>) -> NodeKind {
    let bridge = names::bridge_mark(lab);
    match (netns, state) {
        (None, _) => NodeKind::Host,
        (Some(_), Some(s)) if s.ifaces.values().any(|i| i.alias.as_deref() == Some(bridge.as_str())) => {
            NodeKind::Switch
        }
        _ => NodeKind::Netns,
    }
}

/// "no lab named X is up (labs up: a, b)": what `status` and `down` say of a lab that is not up.
pub fn not_up(name: &str, up: &[Record]) -> String {
    let mut names: Vec<&str> = up.iter().map(|r| r.lab.as_str()).filter(|l| *l != name).collect();
    names.sort();
    if names.is_empty() {
        format!("no lab named {name} is up (no labs are up)")
    } else {
        format!("no lab named {name} is up (labs up: {})", names.join(", "))
    }
}

/// The record of lab `lab`, or of the only lab that is up.
fn pick<S: System>(sys: &S, lab: Option<&str>) -> Result<Record> {
    match lab {
        Some(l) => sys.load(l)?.ok_or_else(|| Error::NotFound(not_up(l, &sys.all().unwrap_or_default()))),
        None => {
            let mut all = sys.all()?;
            match all.len() {
                1 => Ok(all.pop().expect("one lab")),
                0 => Err(Error::NotFound("no lab is up (`netlab up FILE` brings one up)".into())),
                _ => {
                    let names: Vec<&str> = all.iter().map(|r| r.lab.as_str()).collect();
                    Err(Error::Ambiguous(format!(
                        "{} labs are up ({}); name one: netlab status --lab NAME",
                        names.len(),
                        names.join(", ")
                    )))
                }
            }
        }
    }
}

/// The status of lab `lab` (or of the only lab that is up).
pub async fn status<S: System>(sys: &S, lab: Option<&str>) -> Result<Status> {
    let record = pick(sys, lab)?;
    super::bind::check_status(sys, &record)?;
    // Drift needs the file; without it, show what the kernel holds.
    let (lab_file, drift_unknown) = match Lab::load(&record.file) {
        Ok(l) if l.name == record.lab => (Some(l), None),
        Ok(_) => (None, Some(format!("{} now describes another lab", record.file.display()))),
        Err(e) => (None, Some(e.to_string())),
    };
    let want: NetState =
        lab_file.as_ref().map(|l| plan::desired::network_with(l, &record.overrides)).unwrap_or_default();
    let overrides = super::live::describe(lab_file.as_ref(), &record.overrides);
    let held = record.overrides.clone();
    let mut seen = sys.observe(&record.lab, &want, Some(record.clone()), record.firewall, None).await?;
    seen.procs = sys.fingerprints(&record.lab);
    let drift: Vec<Op> = match &lab_file {
        Some(l) => plan::diff(l, &want, &seen).ops,
        None => Vec::new(),
    };
    let nodes: Vec<NodeStatus> = record
        .nodes
        .iter()
        .map(|(name, ns)| {
            let key = ns.as_ref().map(|n| NsRef::Named(n.clone())).unwrap_or(NsRef::Host);
            let state = seen.ns.remove(&key);
            let kind = match lab_file.as_ref().and_then(|l| l.nodes.get(name)) {
                Some(n) => n.kind,
                None => kind_seen(&record.lab, ns.as_deref(), state.as_ref()),
            };
            NodeStatus {
                name: name.clone(),
                kind,
                netns: ns.clone(),
                present: state.is_some(),
                state,
                holder: sys.holder(&record.lab, name),
                workloads: sys.workload_status(&record.lab, name),
            }
        })
        .collect();
    let links = links(&record.lab, lab_file.as_ref(), &nodes);
    Ok(Status {
        lab: record.lab.clone(),
        file: record.file.display().to_string(),
        prefix: record.prefix.clone(),
        nodes,
        links,
        drift,
        drift_unknown,
        overrides,
        held,
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_lab_that_is_not_up_is_named_with_those_that_are() {
        let rec = |l: &str| super::Record { lab: l.into(), ..Default::default() };
        assert_eq!(super::not_up("x", &[]), "no lab named x is up (no labs are up)");
        assert_eq!(super::not_up("x", &[rec("web"), rec("lan")]), "no lab named x is up (labs up: lan, web)");
    }
}
