//! What a namespace holds (interfaces, addresses, routes, sysctls, the lab's table), one type
//! for both sides of the diff: `plan::desired` derives it from the lab, the observer reads it
//! from the kernel.

use super::compact::{CompactMap, CompactSet};
use crate::model::shape::Shape;
use crate::model::NsRef;
use ipnetwork::IpNetwork;
use serde::Serialize;
use std::collections::BTreeMap;
use std::net::IpAddr;

/// Every namespace the lab uses, by reference.
pub type NetState = BTreeMap<NsRef, NsState>;

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct NsState {
    /// Interfaces by name (`lo` excluded). Compact maps here and below: a namespace holds a
    /// few of each, and there may be 10 000 namespaces (see `compact`).
    pub ifaces: CompactMap<String, IfState>,
    /// Routes by (destination, metric): at most one route per key, as the kernel keeps them.
    #[serde(serialize_with = "values")]
    pub routes: CompactMap<(IpNetwork, u32), RouteState>,
    /// `net.*` sysctls by dotted key.
    pub sysctls: BTreeMap<String, String>,
    /// The lab's nftables table as its canonical listing; `None` when there is none.
    pub nft: Option<Vec<String>>,
    /// What the kernel holds here that the lab did not make. Never drift: shown by `status`,
    /// removed only by `up --prune`. Always empty on the desired side.
    #[serde(skip_serializing_if = "Unmanaged::is_empty")]
    pub unmanaged: Unmanaged,
}

/// Routes and addresses in a lab's namespace that are not the lab's: a routing daemon's
/// (`proto bird`, `zebra`, `ospf`), added by hand, or added by programs.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Unmanaged {
    /// Each route with the protocol that installed it (`ip route` prints it as `proto`).
    pub routes: Vec<(RouteState, u8)>,
    /// Addresses by interface.
    pub addrs: Vec<(String, IpNetwork)>,
    /// Interfaces the lab did not make (a workload's tun, a bridge an `exec` command made).
    pub links: Vec<String>,
}

/// The name `ip route` gives a route protocol (`/etc/iproute2/rt_protos`), or its number.
pub fn proto_name(proto: u8) -> String {
    let name = match proto {
        2 => "kernel",
        3 => "boot",
        4 => "static",
        9 => "ra",
        11 => "zebra",
        12 => "bird",
        16 => "dhcp",
        42 => "babel",
        78 => "netlab",
        186 => "bgp",
        187 => "isis",
        188 => "ospf",
        189 => "rip",
        192 => "eigrp",
        n => return n.to_string(),
    };
    name.to_string()
}

impl Unmanaged {
    pub fn is_empty(&self) -> bool {
        self.routes.is_empty() && self.addrs.is_empty() && self.links.is_empty()
    }
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
    pub addrs: CompactSet<IpNetwork>,
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
    /// The next hops of a multipath route (`ip route add … nexthop via A nexthop via B`);
    /// then `via` and `dev` are `None`. Empty for a route with one next hop.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hops: Vec<NextHop>,
}

/// One next hop of a multipath route.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, serde::Deserialize)]
pub struct NextHop {
    pub via: IpAddr,
    /// Desired: `None` lets the kernel pick the interface from the gateway.
    pub dev: Option<String>,
    /// The share of flows it takes, 1–256 (`weight`); the kernel's default is 1.
    pub weight: u16,
}

/// A desired interface is satisfied by any observed one when the file names none.
fn same_dev(want: &Option<String>, seen: &Option<String>) -> bool {
    want.as_ref().is_none_or(|d| seen.as_ref() == Some(d))
}

impl RouteState {
    /// A route with one next hop (or none: a device route).
    pub fn single(dst: IpNetwork, via: Option<IpAddr>, dev: Option<String>, metric: u32) -> RouteState {
        RouteState { dst, via, dev, metric, hops: Vec::new() }
    }

    /// Whether an observed route satisfies this desired one.
    pub fn satisfied_by(&self, seen: &RouteState) -> bool {
        if self.dst != seen.dst || self.metric != seen.metric {
            return false;
        }
        // The kernel merges IPv6 routes of one destination and metric into one multipath
        // route, whoever added them, and shows it under the first one's protocol: the lab's
        // single route is there if one of its next hops is.
        if self.dst.is_ipv6() && self.hops.is_empty() && seen.via.is_none() && !seen.hops.is_empty() {
            return seen.hops.iter().any(|h| Some(h.via) == self.via && same_dev(&self.dev, &h.dev));
        }
        if self.via != seen.via {
            return false;
        }
        if self.hops.len() != seen.hops.len() || !same_dev(&self.dev, &seen.dev) {
            return false;
        }
        // The kernel keeps next hops in the order they were given; the file's order is
        // not a difference.
        let mut want: Vec<&NextHop> = self.hops.iter().collect();
        let mut have: Vec<&NextHop> = seen.hops.iter().collect();
        want.sort_by_key(|h| h.via);
        have.sort_by_key(|h| h.via);
        want.iter()
            .zip(&have)
            .all(|(w, s)| w.via == s.via && w.weight == s.weight && same_dev(&w.dev, &s.dev))
    }

    /// The interfaces the route goes out of, as far as it names them.
    pub fn devs(&self) -> impl Iterator<Item = &str> {
        self.dev.as_deref().into_iter().chain(self.hops.iter().filter_map(|h| h.dev.as_deref()))
    }
}

fn values<S: serde::Serializer, K, V: Serialize>(map: &CompactMap<K, V>, s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(map.values())
}

/// The MTU the kernel gives a new veth.
pub const VETH_DEFAULT_MTU: u32 = 1500;

pub use crate::model::route_metric::{default_metric, kernel_metric};
