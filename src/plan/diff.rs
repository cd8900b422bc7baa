//! diff(desired, observed) → Plan. Pure: the same inputs always give the same plan.

use super::op::{Op, Plan};
use crate::model::firewall::FirewallKind;
use crate::model::{names, Lab, NsRef};
use crate::state::{IfKind, IfState, NetState, NsState};
use crate::state::{Observed, Record};
use ipnetwork::IpNetwork;
use std::collections::{BTreeMap, BTreeSet};

/// What `up --prune` removes besides: every route and address in the lab's namespaces that
/// the lab did not make (in the host, only addresses on the lab's own interfaces).
pub fn prune(seen: &Observed) -> Vec<Op> {
    let mut ops = Vec::new();
    for (ns, s) in &seen.ns {
        for (route, proto) in &s.unmanaged.routes {
            ops.push(Op::PruneRoute { ns: ns.clone(), route: route.clone(), proto: *proto });
        }
        for (iface, addr) in &s.unmanaged.addrs {
            ops.push(Op::PruneAddr { ns: ns.clone(), iface: iface.clone(), addr: *addr });
        }
    }
    ops
}

/// What `up` must do to make `seen` match `want`, the desired state of `lab`.
pub fn diff(lab: &Lab, want: &NetState, seen: &Observed) -> Plan {
    let mut ops = Vec::new();
    let empty = NsState::default();
    let present = |ns: &NsRef| seen.ns.contains_key(ns);
    let seen_if = |ns: &NsRef, name: &str| seen.ns.get(ns).and_then(|s| s.ifaces.get(name));

    for ns in want.keys() {
        if let NsRef::Named(n) = ns {
            if !present(ns) {
                if seen.broken.contains(n) {
                    ops.push(Op::DelNetns { ns: n.clone() });
                }
                ops.push(Op::AddNetns { ns: n.clone() });
            }
        }
    }
    for ns in seen.ns.keys() {
        if let (NsRef::Named(n), false) = (ns, want.contains_key(ns)) {
            ops.push(Op::DelNetns { ns: n.clone() });
        }
    }

    // Interfaces made anew: whatever the kernel held on them (addresses, routes) is gone.
    let mut fresh: BTreeSet<(NsRef, String)> = BTreeSet::new();
    for link in &lab.links {
        let a = (lab.nodes[&link.a.node].ns.clone(), link.a.iface.clone());
        let b = (lab.nodes[&link.b.node].ns.clone(), link.b.iface.clone());
        let mark = names::link_mark(&lab.name, &link.id());
        let ends = [seen_if(&a.0, &a.1), seen_if(&b.0, &b.1)];
        let intact = ends
            .iter()
            .all(|e| e.is_some_and(|e| e.kind == IfKind::Veth && e.alias.as_deref() == Some(&mark)));
        if intact {
            continue;
        }
        for (end, obs) in [(&a, ends[0]), (&b, ends[1])] {
            if obs.is_some() {
                ops.push(Op::DelLink { ns: end.0.clone(), iface: end.1.clone() });
            }
        }
        let mtu = want[&a.0].ifaces[&a.1].mtu.expect("veths always have a desired mtu");
        ops.push(Op::AddVeth { a: a.clone(), b: b.clone(), alias: mark, mtu });
        fresh.insert(a);
        fresh.insert(b);
    }

    // Interfaces that go away in this run, whether for good or to be made anew: the kernel
    // takes their routes with them, and a new one has none of the old one's sysctls.
    let mut gone: BTreeSet<(NsRef, String)> = fresh.clone();
    for (ns, w) in want {
        if let Some(s) = seen.ns.get(ns) {
            gone.extend(
                s.ifaces.keys().filter(|n| !w.ifaces.contains_key(*n)).map(|n| (ns.clone(), n.clone())),
            );
        }
    }
    for (ns, w) in want {
        let s = seen.ns.get(ns).unwrap_or(&empty);
        for (name, wi) in &w.ifaces {
            if wi.kind != IfKind::Bridge {
                continue;
            }
            let si = s.ifaces.get(name);
            if si.is_some_and(|si| si.kind == IfKind::Bridge && si.alias == wi.alias) {
                continue;
            }
            if si.is_some() {
                ops.push(Op::DelLink { ns: ns.clone(), iface: name.clone() });
            }
            let alias = wi.alias.clone().expect("desired bridges carry a mark");
            ops.push(Op::AddBridge { ns: ns.clone(), iface: name.clone(), alias });
            fresh.insert((ns.clone(), name.clone()));
            gone.insert((ns.clone(), name.clone()));
        }
        // The observer reports only the lab's interfaces (marked, or half-made): what the file
        // does not name goes.
        for name in s.ifaces.keys() {
            if !w.ifaces.contains_key(name) {
                ops.push(Op::DelLink { ns: ns.clone(), iface: name.clone() });
            }
        }
        for (name, wi) in &w.ifaces {
            let key = (ns.clone(), name.clone());
            let si = if fresh.contains(&key) { None } else { s.ifaces.get(name) };
            // A port of a bridge made anew has lost its master with the old bridge.
            let how = Made {
                now: fresh.contains(&key),
                master_lost: wi.master.as_ref().is_some_and(|m| fresh.contains(&(ns.clone(), m.clone()))),
                // Made anew in a namespace that was there: its addresses move to a new MAC,
                // which peers may remember wrong. In a namespace made now, nobody knew the old.
                announce: fresh.contains(&key) && present(ns),
            };
            iface_ops(ns, name, wi, si, how, &mut ops);
        }
        let renewed = |iface: &str| gone.contains(&(ns.clone(), iface.to_string()));
        sysctl_ops(ns, w, seen, present(ns), &renewed, &mut ops);
        table_ops(lab, seen.firewall, ns, w, s, &mut ops);
        // A route through an interface that goes is gone with it, whatever the kernel says now.
        let routes_seen: BTreeMap<_, _> = s.routes.iter().filter(|(_, r)| !r.devs().any(&renewed)).collect();
        for (key, wr) in &w.routes {
            match routes_seen.get(key) {
                Some(sr) if wr.satisfied_by(sr) => {}
                Some(sr) => {
                    ops.push(Op::DelRoute { ns: ns.clone(), route: (*sr).clone() });
                    ops.push(Op::AddRoute { ns: ns.clone(), route: wr.clone() });
                }
                None => ops.push(Op::AddRoute { ns: ns.clone(), route: wr.clone() }),
            }
        }
        for (key, sr) in routes_seen {
            if !w.routes.contains_key(key) {
                ops.push(Op::DelRoute { ns: ns.clone(), route: sr.clone() });
            }
        }
    }
    // The host's marked interfaces that no longer belong to the file.
    if !want.contains_key(&NsRef::Host) {
        if let Some(s) = seen.ns.get(&NsRef::Host) {
            for name in s.ifaces.keys() {
                ops.push(Op::DelLink { ns: NsRef::Host, iface: name.clone() });
            }
            for r in s.routes.values() {
                ops.push(Op::DelRoute { ns: NsRef::Host, route: r.clone() });
            }
        }
        sysctl_ops(&NsRef::Host, &empty, seen, true, &|_| false, &mut ops);
        if let Some(s) = seen.ns.get(&NsRef::Host) {
            table_ops(lab, seen.firewall, &NsRef::Host, &empty, s, &mut ops);
        }
    }
    let fresh_nodes: BTreeSet<String> = lab
        .nodes
        .values()
        .filter(|n| matches!(&n.ns, NsRef::Named(name) if ops.iter().any(|o| matches!(o, Op::AddNetns { ns } if ns == name))))
        .map(|n| n.name.clone())
        .collect();
    super::procs::diff(lab, &super::desired::processes(lab), &seen.procs, &fresh_nodes, &mut ops);
    Plan::new(ops)
}

/// How an interface comes to be in this run.
#[derive(Clone, Copy)]
struct Made {
    /// Made now (a veth made now already has its mtu).
    now: bool,
    /// A port of a bridge made anew: it has lost its master with the old bridge.
    master_lost: bool,
    /// Its addresses are to be announced once it is up.
    announce: bool,
}

/// Attribute changes of one interface; `si` is `None` when it is new.
fn iface_ops(ns: &NsRef, name: &str, wi: &IfState, si: Option<&IfState>, how: Made, ops: &mut Vec<Op>) {
    let Made { now, master_lost, announce } = how;
    let iface = name.to_string();
    if let Some(m) = wi.mtu {
        let veth_has_it = now && wi.kind == IfKind::Veth;
        if !veth_has_it && si.is_none_or(|s| s.mtu != Some(m)) {
            ops.push(Op::SetMtu { ns: ns.clone(), iface: iface.clone(), mtu: m });
        }
    }
    if let Some(master) = &wi.master {
        if master_lost || si.is_none_or(|s| s.master.as_ref() != Some(master)) {
            ops.push(Op::SetMaster { ns: ns.clone(), iface: iface.clone(), master: master.clone() });
        }
    }
    let have = si.map(|s| s.addrs.clone()).unwrap_or_default();
    // The kernel keeps one IPv6 address per address, whatever its prefix: a new prefix for
    // one of the lab's addresses replaces it in place (remove, then add).
    let retarget =
        |a: &IpNetwork| a.is_ipv6().then(|| have.iter().find(|h| h.ip() == a.ip() && *h != a)).flatten();
    let mut replaced = BTreeSet::new();
    for addr in wi.addrs.difference(&have) {
        match retarget(addr) {
            Some(old) => {
                replaced.insert(*old);
                ops.push(Op::ReplaceAddr { ns: ns.clone(), iface: iface.clone(), old: *old, new: *addr });
            }
            None => ops.push(Op::AddAddr { ns: ns.clone(), iface: iface.clone(), addr: *addr }),
        }
    }
    for addr in have.difference(&wi.addrs).filter(|a| !replaced.contains(*a)) {
        ops.push(Op::DelAddr { ns: ns.clone(), iface: iface.clone(), addr: *addr });
    }
    if !wi.up && si.is_some_and(|s| s.up) {
        ops.push(Op::SetDown { ns: ns.clone(), iface: iface.clone() });
    }
    if wi.up && !si.is_some_and(|s| s.up) {
        let port = wi.kind == IfKind::Bridge || wi.master.is_some();
        let announce = if announce { wi.addrs.iter().copied().collect() } else { Vec::new() };
        ops.push(Op::SetUp { ns: ns.clone(), iface: iface.clone(), port, announce });
    }
    let seen_shape = si.and_then(|s| s.shape);
    match (wi.shape, seen_shape) {
        (Some(w), s) if s != Some(w) => ops.push(Op::SetShape { ns: ns.clone(), iface, shape: w }),
        (None, Some(_)) => ops.push(Op::DelShape { ns: ns.clone(), iface }),
        _ => {}
    }
}

/// Sysctls to set, and ones the file no longer names to put back as they were. `renewed`:
/// whether an interface goes away in this run (made anew, or removed), so that what the
/// kernel holds for it now does not count.
fn sysctl_ops(
    ns: &NsRef,
    w: &NsState,
    seen: &Observed,
    exists: bool,
    renewed: &dyn Fn(&str) -> bool,
    ops: &mut Vec<Op>,
) {
    let now = seen.ns.get(ns).map(|s| &s.sysctls);
    let stale = |k: &str| names::sysctl_iface(k).is_some_and(renewed);
    let current = |k: &str| if exists && !stale(k) { now.and_then(|m| m.get(k)).cloned() } else { None };
    for (key, value) in &w.sysctls {
        let was = current(key);
        if was.as_ref() != Some(value) {
            ops.push(Op::SetSysctl { ns: ns.clone(), key: key.clone(), value: value.clone(), was });
        }
    }
    if !exists {
        return;
    }
    let origs = seen.record.as_ref().and_then(|r| r.sysctl_orig.get(&Record::ns_key(ns)));
    for (key, orig) in origs.into_iter().flatten() {
        let was = current(key);
        // An interface's sysctl goes with the interface: there is nothing left to put back.
        let vanished = names::sysctl_iface(key).is_some() && was.is_none();
        // An interface's IPv6 MTU cannot exceed its link MTU, which may have changed since the
        // original was read: put back as much of it as the link now takes.
        let orig =
            match (names::sysctl_iface(key), key.starts_with("net.ipv6.conf.") && key.ends_with(".mtu")) {
                (Some(iface), true) => match (orig.parse::<u32>(), w.ifaces.get(iface).and_then(|i| i.mtu)) {
                    (Ok(o), Some(m)) if o > m => m.to_string(),
                    _ => orig.clone(),
                },
                _ => orig.clone(),
            };
        if !w.sysctls.contains_key(key) && !vanished && was.as_ref() != Some(&orig) {
            ops.push(Op::SetSysctl { ns: ns.clone(), key: key.clone(), value: orig, was });
        }
    }
}

/// The lab's nftables table: loaded whole when its listing differs, deleted when the file no
/// longer asks for one.
fn table_ops(lab: &Lab, kind: FirewallKind, ns: &NsRef, w: &NsState, s: &NsState, ops: &mut Vec<Op>) {
    if w.nft == s.nft {
        return;
    }
    let table = names::table_name(&lab.name, ns);
    match &w.nft {
        Some(_) => {
            let node = lab.nodes.values().find(|n| &n.ns == ns).expect("a desired table belongs to a node");
            ops.push(Op::LoadTable {
                ns: ns.clone(),
                table,
                rules: Box::new(node.firewall.clone()),
                was: s.nft.clone(),
            });
        }
        None => ops.push(Op::DelTable { ns: ns.clone(), table, kind }),
    }
}
