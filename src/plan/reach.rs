//! How far a round of ops reaches: the lab's namespaces it can have changed, itself or through
//! the kernel's reactions, so that `up` looks again at those alone. The rest of the lab was
//! seen moments before in the same run, and nothing of the round touched it.

use super::op::Op;
use crate::model::{names, Lab, NsRef};
use crate::state::{IfKind, Observed};
use std::collections::{BTreeSet, HashMap};

/// The named namespaces `ops` can have changed (the host is always looked at again), or
/// `None` when they can have changed any. `seen` is what the round was planned from.
///
/// An op reaches its own namespace. One on an interface also reaches the namespaces of the
/// interface's veth peers: their carrier follows it, and carrier resets sysctls; a veth that
/// goes takes its peer along. An op on a namespace as a whole (made, removed, or a node's
/// processes started or stopped, which may do anything to its interfaces) reaches the peers
/// of every interface in it.
pub fn reach(ops: &[Op], lab: &Lab, seen: &Observed) -> Option<BTreeSet<String>> {
    let mut namespaces: BTreeSet<NsRef> = BTreeSet::new();
    let mut ifaces: BTreeSet<(NsRef, String)> = BTreeSet::new();
    let mut whole: BTreeSet<NsRef> = BTreeSet::new();
    let node_ns = |node: &str| match lab.nodes.get(node) {
        Some(n) => Some(n.ns.clone()),
        // A node the file no longer names: where the record put it.
        None => seen.record.as_ref()?.nodes.get(node).map(|ns| match ns {
            Some(n) => NsRef::Named(n.clone()),
            None => NsRef::Host,
        }),
    };
    for op in ops {
        match op {
            Op::StopProcesses { .. } => return None,
            Op::StopWorkload { node, .. }
            | Op::StopHolder { node }
            | Op::SetLimits { node, .. }
            | Op::StartHolder { node, .. }
            | Op::RunExec { node, .. }
            | Op::StartWorkload { node, .. } => {
                whole.insert(node_ns(node)?);
            }
            Op::DelNetns { ns } | Op::AddNetns { ns } => {
                whole.insert(NsRef::Named(ns.clone()));
            }
            Op::AddVeth { a, b, .. } => {
                ifaces.insert(a.clone());
                ifaces.insert(b.clone());
            }
            Op::SetSysctl { ns, key, .. } => match names::sysctl_iface(key) {
                Some(iface) => drop(ifaces.insert((ns.clone(), iface.to_string()))),
                None => drop(namespaces.insert(ns.clone())),
            },
            Op::DelTable { ns, .. }
            | Op::LoadTable { ns, .. }
            | Op::DelRoute { ns, .. }
            | Op::AddRoute { ns, .. }
            | Op::PruneRoute { ns, .. } => {
                namespaces.insert(ns.clone());
            }
            Op::DelAddr { ns, iface, .. }
            | Op::ReplaceAddr { ns, iface, .. }
            | Op::PruneAddr { ns, iface, .. }
            | Op::DelLink { ns, iface }
            | Op::AddBridge { ns, iface, .. }
            | Op::SetMtu { ns, iface, .. }
            | Op::SetMaster { ns, iface, .. }
            | Op::AddAddr { ns, iface, .. }
            | Op::SetUp { ns, iface, .. }
            | Op::SetShape { ns, iface, .. }
            | Op::SetDown { ns, iface }
            | Op::DelShape { ns, iface } => {
                ifaces.insert((ns.clone(), iface.clone()));
            }
        }
    }
    if whole.is_empty() && ifaces.is_empty() {
        return Some(named(namespaces));
    }
    // Each interface's peers: the other end of the file's link, and any veth that carries
    // the same mark (both ends of a pair carry the link's).
    // By namespace and interface, and the interfaces of each namespace: a switch with
    // 10 000 ports is asked about each of them, and a scan of its ends for each was 10^8.
    let mut file_ends: HashMap<(&NsRef, &str), Vec<&NsRef>> = HashMap::new();
    let mut linked: HashMap<&NsRef, Vec<&str>> = HashMap::new();
    for link in &lab.links {
        let (a, b) = (&lab.nodes[&link.a.node].ns, &lab.nodes[&link.b.node].ns);
        file_ends.entry((a, link.a.iface.as_str())).or_default().push(b);
        file_ends.entry((b, link.b.iface.as_str())).or_default().push(a);
        linked.entry(a).or_default().push(link.a.iface.as_str());
        linked.entry(b).or_default().push(link.b.iface.as_str());
    }
    let mut by_mark: HashMap<&str, Vec<&NsRef>> = HashMap::new();
    for (ns, s) in &seen.ns {
        for i in s.ifaces.values().filter(|i| i.kind == IfKind::Veth) {
            if let Some(mark) = &i.alias {
                by_mark.entry(mark.as_str()).or_default().push(ns);
            }
        }
    }
    let peers_of = |ns: &NsRef, iface: &str, reached: &mut BTreeSet<NsRef>| {
        reached.insert(ns.clone());
        reached.extend(file_ends.get(&(ns, iface)).into_iter().flatten().map(|peer| (*peer).clone()));
        let mark = seen.ns.get(ns).and_then(|s| s.ifaces.get(iface)).and_then(|i| i.alias.as_deref());
        reached.extend(mark.and_then(|m| by_mark.get(m)).into_iter().flatten().map(|p| (*p).clone()));
    };
    let mut reached = namespaces;
    for (ns, iface) in &ifaces {
        peers_of(ns, iface, &mut reached);
    }
    for ns in &whole {
        reached.insert(ns.clone());
        let held = seen.ns.get(ns).into_iter().flat_map(|s| s.ifaces.keys().map(String::as_str));
        let from_file = linked.get(ns).into_iter().flatten().copied();
        let all: BTreeSet<&str> = held.chain(from_file).collect();
        for iface in all {
            peers_of(ns, iface, &mut reached);
        }
    }
    Some(named(reached))
}

fn named(namespaces: BTreeSet<NsRef>) -> BTreeSet<String> {
    namespaces
        .into_iter()
        .filter_map(|ns| match ns {
            NsRef::Named(n) => Some(n),
            NsRef::Host => None,
        })
        .collect()
}
