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
    /// Whether this file may take over a lab of its name that was made from another file
    /// (`netlab up --adopt`); a lab is otherwise bound to the file it was made from.
    pub adopt: bool,
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
    /// A stable identity that survives reordering the file: "a:if~b:if".
    pub fn id(&self) -> String {
        format!("{}:{}~{}:{}", self.a.node, self.a.iface, self.b.node, self.b.iface)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub dst: IpNetwork,
    pub via: Option<IpAddr>,
    pub dev: Option<String>,
    pub metric: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Probe {
    Ping(IpAddr),
    Connect(std::net::SocketAddr),
    ConnectUdp(std::net::SocketAddr),
}

#[derive(Debug, Clone)]
pub struct Check {
    pub name: String,
    pub from: String,
    pub probe: Probe,
    pub expect_ok: bool,
    /// How long the probe waits for an answer.
    pub timeout: std::time::Duration,
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
