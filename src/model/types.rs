//! Types of the resolved lab.

use ipnetwork::IpNetwork;
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::PathBuf;

/// A network namespace a lab uses: the one netlab runs in, or a named one under /run/netns.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
pub enum NsRef {
    Host,
    Named(String),
}

impl std::fmt::Display for NsRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NsRef::Host => f.write_str("(host)"),
            NsRef::Named(n) => f.write_str(n),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum NodeKind {
    Netns,
    Host,
    Switch,
}

/// A validated lab.
#[derive(Debug, Clone)]
pub struct Lab {
    pub name: String,
    pub prefix: String,
    /// Absolute path of the file it came from.
    pub file: PathBuf,
    pub nodes: BTreeMap<String, Node>,
    pub links: Vec<Link>,
    pub checks: Vec<Check>,
    /// `[[scenario]]`s, in file order.
    pub scenarios: Vec<super::scenario::Scenario>,
}

#[derive(Debug, Clone)]
pub struct Node {
    pub name: String,
    pub kind: NodeKind,
    pub ns: NsRef,
    /// `net.*` sysctl key → value, `forward` already expanded.
    pub sysctls: BTreeMap<String, String>,
    pub routes: Vec<Route>,
    /// NAT and filter rules; empty means the node has no table.
    pub firewall: super::firewall::Firewall,
    /// Isolation, limits, seccomp, exec commands and workloads.
    pub processes: super::workload::Processes,
}

/// One end of a link: an interface in a node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub node: String,
    pub iface: String,
    pub addrs: Vec<IpNetwork>,
}

/// A veth pair between two nodes. A switch end is enslaved to the switch's bridge.
#[derive(Debug, Clone)]
pub struct Link {
    pub a: Endpoint,
    pub b: Endpoint,
    pub mtu: Option<u32>,
    /// What leaves a, and what leaves b.
    pub shape_a: super::shape::Shape,
    pub shape_b: super::shape::Shape,
}

impl Link {
    /// A stable identity that survives reordering the file, and the order of the link's two
    /// ends: "a:if~b:if" with the ends sorted. A link is an unordered pair.
    pub fn id(&self) -> String {
        let mut ends =
            [format!("{}:{}", self.a.node, self.a.iface), format!("{}:{}", self.b.node, self.b.iface)];
        ends.sort();
        ends.join("~")
    }
}

/// A route of a node: `ip route add DST via GW dev IF metric N`, or with several next hops
/// `ip route add DST nexthop via A nexthop via B weight 3`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub dst: IpNetwork,
    pub next: NextHops,
    /// As the file gives it; the kernel's is `route_metric::kernel_metric` of it.
    pub metric: Option<u32>,
}

/// Where a route sends packets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NextHops {
    /// `via` and/or `dev`: at least one of them, the gateway on a subnet of the node (of `dev`
    /// when given).
    One { via: Option<IpAddr>, dev: Option<String> },
    /// A list of `via`: two hops or more, each gateway once, of the route's family, each
    /// reachable as a single `via` is. The route itself has no `via` or `dev`.
    Multipath(Vec<Hop>),
}

/// One next hop of a multipath route (`nexthop via GW dev IF weight W`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hop {
    pub via: IpAddr,
    pub dev: Option<String>,
    /// 1–256; `None` when the file gives none (the kernel's default, 1).
    pub weight: Option<u16>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Probe {
    Ping(IpAddr),
    Connect(std::net::SocketAddr),
    ConnectUdp(std::net::SocketAddr),
    /// `ping_all`: every listed node pings every lab address of every other one.
    PingAll {
        nodes: Vec<String>,
        pairs: Vec<PingPair>,
    },
    /// A measured transfer to a sink netlab opens in another node.
    Throughput(Throughput),
}

/// One ping of a `ping_all`: from node `from` to `to`, an address of `to_node` on `to_iface`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PingPair {
    pub from: String,
    pub to: IpAddr,
    pub to_node: String,
    pub to_iface: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    Tcp,
    Udp,
}

/// `throughput = { to, min, max, duration, port, proto }`, resolved: the sink runs in node
/// `to_node` on `to`:`port`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Throughput {
    pub to_node: String,
    pub to: IpAddr,
    pub port: u16,
    pub proto: Transport,
    /// Bits per second.
    pub min: Option<u64>,
    pub max: Option<u64>,
    /// How long the sender sends.
    pub duration: std::time::Duration,
}

#[derive(Debug, Clone)]
pub struct Check {
    /// Unique in the lab; by default "FROM: TARGET" (see docs/checks.md).
    pub name: String,
    /// The node the probe runs from: for `ping_all`, which runs from each of its nodes, the
    /// first of them.
    pub from: String,
    pub probe: Probe,
    pub expect_ok: bool,
    /// How long the probe waits for an answer (for a throughput check: beyond its duration).
    pub timeout: std::time::Duration,
    /// 1-based line of the check's table in the file, for reports.
    pub line: usize,
}

/// A check's timeout when the file gives none.
pub const CHECK_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

/// The bridge device inside every switch node's namespace.
pub const BRIDGE_NAME: &str = "br0";

impl Lab {
    pub fn namespaces(&self) -> impl Iterator<Item = &str> {
        self.nodes.values().filter_map(|n| match &n.ns {
            NsRef::Named(s) => Some(s.as_str()),
            NsRef::Host => None,
        })
    }
}

/// What a check probes, as the table and the default name show it: "ping 10.0.0.2",
/// "connect 10.0.0.2:80", "ping_all a, b, c", "throughput to b".
impl std::fmt::Display for Probe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Probe::Ping(ip) => write!(f, "ping {ip}"),
            Probe::Connect(sa) => write!(f, "connect {sa}"),
            Probe::ConnectUdp(sa) => write!(f, "connect_udp {sa}"),
            Probe::PingAll { nodes, .. } => write!(f, "ping_all {}", nodes.join(", ")),
            Probe::Throughput(t) => write!(f, "throughput to {}", t.to_node),
        }
    }
}
