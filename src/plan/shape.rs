//! One shape for both sides of the diff: what a namespace holds (interfaces, addresses,
//! routes, sysctls). `desired` derives it from the lab; `sys::observe` reads it from the kernel.

use crate::model::shape::Shape;
use crate::model::{names, Lab, NodeKind, NsRef, BRIDGE_NAME};
use ipnetwork::IpNetwork;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

/// Every namespace the lab uses, by reference.
pub type NetState = BTreeMap<NsRef, NsState>;

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct NsState {
    /// Interfaces by name (`lo` excluded).
    pub ifaces: BTreeMap<String, IfState>,
    /// Routes by (destination, metric): at most one route per key, as the kernel keeps them.
    #[serde(serialize_with = "values")]
    pub routes: BTreeMap<(IpNetwork, u32), RouteState>,
    /// `net.*` sysctls by dotted key.
    pub sysctls: BTreeMap<String, String>,
    /// The lab's nftables table as its canonical listing; `None` when there is none.
    pub nft: Option<Vec<String>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum IfKind {
    /// One end of a veth pair (its peer is named by the link, not observed).
    Veth,
    Bridge,
    /// Anything else found in a lab namespace: its kind as the kernel names it.
    Other(String),
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IfState {
    pub kind: IfKind,
    /// The ownership mark (`netlab:LAB:...`); observed interfaces may have none.
    pub alias: Option<String>,
    /// Desired: `None` when the file does not say. Observed: always known.
    pub mtu: Option<u32>,
    pub master: Option<String>,
    pub addrs: BTreeSet<IpNetwork>,
    pub up: bool,
    /// The lab's root qdisc (impairments), if any.
    pub shape: Option<Shape>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct RouteState {
    pub dst: IpNetwork,
    pub via: Option<IpAddr>,
    /// Desired: `None` lets the kernel pick the interface from the gateway.
    pub dev: Option<String>,
    pub metric: u32,
}

impl RouteState {
    /// Whether an observed route satisfies this desired one.
    pub fn satisfied_by(&self, seen: &RouteState) -> bool {
        self.dst == seen.dst
            && self.via == seen.via
            && self.metric == seen.metric
            && self.dev.as_ref().is_none_or(|d| seen.dev.as_ref() == Some(d))
    }
}

fn values<S: serde::Serializer, K, V: Serialize>(map: &BTreeMap<K, V>, s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(map.values())
}

/// The MTU the kernel gives a new veth.
pub const VETH_DEFAULT_MTU: u32 = 1500;

/// The kernel's metric when none is given: 0 for IPv4, 1024 for IPv6.
pub fn default_metric(dst: &IpNetwork) -> u32 {
    if dst.is_ipv4() {
        0
    } else {
        1024
    }
}

/// What the lab's namespaces must hold.
pub fn desired(lab: &Lab) -> NetState {
    let mut state: NetState = BTreeMap::new();
    for node in lab.nodes.values() {
        let ns = state.entry(node.ns.clone()).or_default();
        ns.sysctls.extend(node.sysctls.clone());
        if !node.firewall.is_empty() {
            ns.nft = Some(node.firewall.listing());
        }
        for r in &node.routes {
            let metric = r.metric.unwrap_or_else(|| default_metric(&r.dst));
            ns.routes
                .insert((r.dst, metric), RouteState { dst: r.dst, via: r.via, dev: r.dev.clone(), metric });
        }
        if node.kind == NodeKind::Switch {
            ns.ifaces.insert(
                BRIDGE_NAME.to_string(),
                IfState {
                    kind: IfKind::Bridge,
                    alias: Some(names::bridge_mark(&lab.name)),
                    mtu: None,
                    master: None,
                    addrs: BTreeSet::new(),
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
            state.get_mut(&node.ns).expect("every node has a namespace").ifaces.insert(
                me.iface.clone(),
                IfState {
                    kind: IfKind::Veth,
                    alias: Some(mark.clone()),
                    // A link without mtu gets the veth default, so dropping mtu from the file resets it.
                    mtu: Some(link.mtu.unwrap_or(VETH_DEFAULT_MTU)),
                    master,
                    addrs: me.addrs.iter().copied().collect(),
                    up: true,
                    shape: (!shape.is_empty()).then_some(shape),
                },
            );
        }
    }
    state
}
