//! What the lab asks for, in the shapes the observer reads: the network state of every
//! namespace, and the fingerprints of what runs for every node.

use crate::model::workload::Processes;
use crate::model::{names, Lab, NextHops, NodeKind, NsRef, Route, BRIDGE_NAME};
use crate::state::{
    kernel_metric, IfKind, IfState, NetState, NextHop, NodeProcs, Overrides, ProcsState, RouteState,
    VETH_DEFAULT_MTU,
};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// What the lab's namespaces must hold, as the file says.
pub fn network(lab: &Lab) -> NetState {
    network_with(lab, &Overrides::default())
}

/// What the lab's namespaces must hold with the runtime overrides in force: an interface held
/// down is down, and the routes through it are gone (the kernel drops them as it goes down);
/// an impairment set at run time replaces the file's on that interface.
pub fn network_with(lab: &Lab, held: &Overrides) -> NetState {
    let mut state: NetState = BTreeMap::new();
    // Looked up per node, not found by a walk of every link for each: that made the desired
    // state of a 10 000-node chain cost a second.
    let mut down_at: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    if !held.down.is_empty() {
        for e in lab.links.iter().flat_map(|l| [&l.a, &l.b]) {
            if held.down.contains(&Overrides::key(&e.node, &e.iface)) {
                down_at.entry(e.node.as_str()).or_default().insert(e.iface.as_str());
            }
        }
    }
    let no_down = BTreeSet::new();
    for node in lab.nodes.values() {
        let ns = state.entry(node.ns.clone()).or_default();
        ns.sysctls.extend(node.sysctls.clone());
        if !node.firewall.is_empty() {
            ns.nft = Some(node.firewall.listing());
        }
        let down = down_at.get(node.name.as_str()).unwrap_or(&no_down);
        for r in node.routes.iter().filter(|r| down.is_empty() || !through_down(lab, &node.name, r, down)) {
            let st = route(r);
            ns.routes.insert((st.dst, st.metric), st);
        }
        if node.kind == NodeKind::Switch {
            ns.ifaces.insert(
                BRIDGE_NAME.to_string(),
                IfState {
                    kind: IfKind::Bridge,
                    alias: Some(names::bridge_mark(&lab.name)),
                    mtu: None,
                    master: None,
                    addrs: Default::default(),
                    up: true,
                    shape: None,
                },
            );
        }
    }
    for link in &lab.links {
        let mark = names::link_mark(&lab.name, &link.id());
        for (me, shape) in [(&link.a, link.shape_a), (&link.b, link.shape_b)] {
            let node = &lab.nodes[&me.node];
            let master = (node.kind == NodeKind::Switch).then(|| BRIDGE_NAME.to_string());
            let key = Overrides::key(&me.node, &me.iface);
            let shape = held.shapes.get(&key).copied().unwrap_or(shape);
            state.get_mut(&node.ns).expect("every node has a namespace").ifaces.insert(
                me.iface.clone(),
                IfState {
                    kind: IfKind::Veth,
                    alias: Some(mark.clone()),
                    // A link without mtu gets the veth default, so dropping mtu from the file resets it.
                    mtu: Some(link.mtu.unwrap_or(VETH_DEFAULT_MTU)),
                    master,
                    addrs: me.addrs.iter().copied().collect(),
                    up: !held.down.contains(&key),
                    shape: (!shape.is_empty()).then_some(shape),
                },
            );
        }
    }
    state
}

/// Whether every way out of route `r` of `node` is an interface in `down`: through it by
/// `dev`, or by a gateway on its subnet.
fn through_down(lab: &Lab, node: &str, r: &Route, down: &BTreeSet<&str>) -> bool {
    let iface_of = |via: &std::net::IpAddr, dev: &Option<String>| -> Option<String> {
        if let Some(d) = dev {
            return Some(d.clone());
        }
        lab.links
            .iter()
            .flat_map(|l| [&l.a, &l.b])
            .find(|e| e.node == node && e.addrs.iter().any(|a| a.contains(*via)))
            .map(|e| e.iface.clone())
    };
    let held = |i: Option<String>| i.is_some_and(|i| down.contains(i.as_str()));
    match &r.next {
        NextHops::One { dev: Some(d), .. } => down.contains(d.as_str()),
        NextHops::One { via: Some(v), dev: None } => held(iface_of(v, &None)),
        NextHops::One { via: None, dev: None } => false,
        NextHops::Multipath(hops) => hops.iter().all(|h| held(iface_of(&h.via, &h.dev))),
    }
}

/// A route of the file as the kernel keeps it: the metric it stores, a multipath route's hops
/// sorted (the kernel keeps the order they were given; the file's order is no difference),
/// weight 1 where the file gives none.
pub fn route(r: &Route) -> RouteState {
    let metric = kernel_metric(&r.dst, r.metric);
    match &r.next {
        NextHops::One { via, dev } => RouteState::single(r.dst, *via, dev.clone(), metric),
        NextHops::Multipath(hops) => {
            let mut hops: Vec<NextHop> = hops
                .iter()
                .map(|h| NextHop { via: h.via, dev: h.dev.clone(), weight: h.weight.unwrap_or(1) })
                .collect();
            hops.sort();
            RouteState { dst: r.dst, via: None, dev: None, metric, hops }
        }
    }
}

fn json<T: Serialize>(v: &T) -> String {
    serde_json::to_string(v).expect("fingerprints serialize")
}

/// The fingerprint of everything a node's processes run inside of: its namespace, its
/// isolation and confinement. When it changes, every process of the node starts over.
fn base(ns: &NsRef, p: &Processes) -> String {
    match &p.confine {
        None => json(&(ns, &p.isolation)),
        Some(c) => json(&(ns, &p.isolation, c)),
    }
}

/// What should run for every node of the lab.
pub fn processes(lab: &Lab) -> ProcsState {
    let mut out = ProcsState::new();
    for node in lab.nodes.values().filter(|n| n.kind != NodeKind::Switch) {
        let p = &node.processes;
        if p.is_empty() {
            continue;
        }
        let base = base(&node.ns, p);
        out.insert(
            node.name.clone(),
            NodeProcs {
                holder: p.isolation.needs_holder().then(|| base.clone()),
                limits: (!p.limits.is_empty()).then(|| json(&p.limits)),
                exec: (!p.exec.is_empty()).then(|| json(&(&base, &p.exec, &p.seccomp))),
                workloads: p.run.iter().map(|w| (w.name.clone(), json(&(&base, w)))).collect(),
            },
        );
    }
    out
}
