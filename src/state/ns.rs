//! What a namespace holds (interfaces, addresses, routes, sysctls, the lab's table), one type
//! for both sides of the diff: `plan::desired` derives it from the lab, the observer reads it
//! from the kernel.

use crate::model::shape::Shape;
use crate::model::NsRef;
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
