//! Operations of a plan, their order, and how `netlab plan` prints them.

use crate::model::firewall::{Firewall, FirewallKind};
use crate::model::limits::Limits;
use crate::model::shape::Shape;
use crate::model::workload::{Isolation, Workload};
use crate::model::NsRef;
use crate::state::RouteState;
use ipnetwork::IpNetwork;
use serde::Serialize;
use std::fmt;

/// One change to the kernel. Variants are declared in the order they are applied: removals
/// first (innermost objects first), then creations (outermost first).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Op {
    /// Stops a workload's supervisor and everything in the workload's cgroup.
    StopWorkload { node: String, name: String },
    /// Stops a node's namespace holder (and with it every process of its pid namespace).
    StopHolder { node: String },
    /// Stops every process of the lab and removes its cgroups (`down`).
    StopProcesses { recorded: bool },
    /// `nft delete table inet NAME` (or, loaded by iptables, the lab's chains)
    DelTable { ns: NsRef, table: String, kind: FirewallKind },
    /// `ip route del`
    DelRoute { ns: NsRef, route: RouteState },
    /// `ip addr del`
    DelAddr { ns: NsRef, iface: String, addr: IpNetwork },
    /// `ip addr del OLD; ip addr add NEW`: an IPv6 address whose prefix changes
    ReplaceAddr { ns: NsRef, iface: String, old: IpNetwork, new: IpNetwork },
    /// `ip route del … proto N` of a route the lab did not make (`up --prune`)
    PruneRoute { ns: NsRef, route: RouteState, proto: u8 },
    /// `ip addr del` of an address the lab did not add (`up --prune`)
    PruneAddr { ns: NsRef, iface: String, addr: IpNetwork },
    /// `ip link del` (a veth takes its peer with it)
    DelLink { ns: NsRef, iface: String },
    /// `ip netns del`
    DelNetns { ns: String },
    /// `ip netns add`, with `lo` up and the lab's mark on it
    AddNetns { ns: String },
    /// `ip link add NAME type bridge`
    AddBridge { ns: NsRef, iface: String, alias: String },
    /// `ip link add A netns NSA type veth peer B netns NSB`
    AddVeth { a: (NsRef, String), b: (NsRef, String), alias: String, mtu: u32 },
    /// `ip link set NAME mtu N`
    SetMtu { ns: NsRef, iface: String, mtu: u32 },
    /// `ip link set NAME master BRIDGE`
    SetMaster { ns: NsRef, iface: String, master: String },
    /// `ip addr add` (IPv6 with nodad)
    AddAddr { ns: NsRef, iface: String, addr: IpNetwork },
    /// `ip link set NAME up`. `port`: a bridge or a bridge port, which comes up before the
    /// interfaces that carry addresses: those announce themselves (gratuitous ARP) as they
    /// come up, and the announcement needs the far end up to get anywhere.
    /// `announce`: addresses to announce once it is up (gratuitous ARP, unsolicited NA),
    /// for an interface made anew whose peers may remember its old MAC.
    SetUp { ns: NsRef, iface: String, port: bool, announce: Vec<IpNetwork> },
    /// `tc qdisc replace dev NAME root handle 4e4c: tbf|netem ...`
    SetShape { ns: NsRef, iface: String, shape: Shape },
    /// `ip link set NAME down`: held down by `netlab link down`, like a pulled cable (the far
    /// end loses its carrier)
    SetDown { ns: NsRef, iface: String },
    /// `tc qdisc del dev NAME root`
    DelShape { ns: NsRef, iface: String },
    /// `sysctl -w` inside the namespace
    SetSysctl { ns: NsRef, key: String, value: String, was: Option<String> },
    /// `ip route add`
    AddRoute { ns: NsRef, route: RouteState },
    /// `nft -f`: the lab's table replaced as a whole, atomically. `was` is the kernel's
    /// listing before, `None` when there was no table.
    /// (Big parts of rare ops are boxed: every op of a plan is as big as its biggest kind,
    /// and a 10 000-node plan holds 50 000 of them.)
    LoadTable { ns: NsRef, table: String, rules: Box<Firewall>, was: Option<Vec<String>> },
    /// Creates the node's cgroup with these limits (or changes them).
    SetLimits { node: String, limits: Limits },
    /// Starts the process that holds the node's pid/mount/uts/ipc namespaces.
    StartHolder { node: String, isolation: Isolation },
    /// Runs the node's `exec` commands, in order, each for at most `timeout`.
    RunExec { node: String, commands: Vec<String>, timeout: std::time::Duration },
    /// Starts a workload under its supervisor.
    StartWorkload { node: String, workload: Box<Workload> },
}

impl Op {
    /// The phase of `AddNetns`: everything up to it is done while `up` holds the names.
    pub const ADD_NETNS_PHASE: u8 = 6;

    /// The step of `up` this op belongs to; ops of one step are independent of each other.
    /// The order works around what the kernel does on its own:
    /// - new addresses before old ones go, so an interface never loses its last address of
    ///   a subnet (and with it the routes through it) on the way from one to the other;
    /// - `ip_forward` and `conf.all.forwarding` first, since writing them resets other
    ///   `conf.all.*` values; then the other namespace-wide ones, which interfaces inherit;
    ///   per-interface ones last, once the interface exists and is up (carrier resets some);
    /// - routes once their interfaces are up and addressed.
    pub fn phase(&self) -> u8 {
        match self {
            Op::StopWorkload { .. } | Op::StopProcesses { .. } => 0,
            Op::StopHolder { .. } => 1,
            Op::DelTable { .. } | Op::DelRoute { .. } | Op::PruneRoute { .. } | Op::PruneAddr { .. } => 2,
            Op::DelShape { .. } | Op::SetDown { .. } => 3,
            Op::DelLink { .. } => 4,
            Op::DelNetns { .. } => 5,
            Op::AddNetns { .. } => Self::ADD_NETNS_PHASE,
            Op::AddBridge { .. } => 7,
            Op::AddVeth { .. } => 8,
            Op::SetSysctl { key, .. } => match sysctl_rank(key) {
                SysctlRank::Forwarding => 9,
                SysctlRank::Namespace => 10,
                SysctlRank::Interface => 15,
            },
            Op::SetMtu { .. } | Op::SetMaster { .. } | Op::AddAddr { .. } | Op::ReplaceAddr { .. } => 11,
            Op::DelAddr { .. } => 12,
            Op::SetUp { port: true, .. } | Op::SetShape { .. } => 13,
            Op::SetUp { port: false, .. } => 14,
            Op::AddRoute { .. } => 16,
            Op::LoadTable { .. } | Op::SetLimits { .. } => 17,
            Op::StartHolder { .. } => 18,
            Op::RunExec { .. } => 19,
            Op::StartWorkload { .. } => 20,
        }
    }
}

/// Where a sysctl stands in the order the kernel imposes.
enum SysctlRank {
    /// Writing it rewrites others (`ip_forward` resets `conf.all.*`, `conf.all.forwarding`
    /// every interface's `forwarding`).
    Forwarding,
    /// Namespace-wide: `conf.all.*`, `conf.default.*` and the rest without an interface.
    Namespace,
    /// Of one interface.
    Interface,
}

fn sysctl_rank(key: &str) -> SysctlRank {
    if matches!(key, "net.ipv4.ip_forward" | "net.ipv4.conf.all.forwarding" | "net.ipv6.conf.all.forwarding")
    {
        SysctlRank::Forwarding
    } else if crate::model::names::sysctl_iface(key).is_some() {
        SysctlRank::Interface
    } else {
        SysctlRank::Namespace
    }
}

/// An ordered list of operations. Empty means the machine already matches the file.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Plan {
    pub ops: Vec<Op>,
}

impl Plan {
    /// Sorts into apply order; within a step the order is by rendered text, so plans are
    /// deterministic and diffable.
    pub fn new(mut ops: Vec<Op>) -> Plan {
        ops.sort_by_cached_key(|op| (op.phase(), op.to_string()));
        ops.dedup();
        Plan { ops }
    }

    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    /// Consecutive runs of ops that share a phase.
    pub fn phases(&self) -> impl Iterator<Item = &[Op]> {
        phases(&self.ops)
    }
}

/// Consecutive runs of ops that share a phase, in ops sorted as a plan sorts them (or any
/// stretch of such ops).
pub fn phases(ops: &[Op]) -> impl Iterator<Item = &[Op]> {
    ops.chunk_by(|a, b| a.phase() == b.phase())
}

struct At<'a>(&'a NsRef, &'a str);

impl fmt::Display for At<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            NsRef::Host => write!(f, "host:{}", self.1),
            NsRef::Named(n) => write!(f, "{n}:{}", self.1),
        }
    }
}

fn ns_label(ns: &NsRef) -> &str {
    match ns {
        NsRef::Host => "host",
        NsRef::Named(n) => n,
    }
}

impl fmt::Display for RouteState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.dst.prefix() == 0 {
            f.write_str("default")?;
        } else {
            write!(f, "{}", self.dst)?;
        }
        if let Some(v) = self.via {
            write!(f, " via {v}")?;
        }
        if let Some(d) = &self.dev {
            write!(f, " dev {d}")?;
        }
        for h in &self.hops {
            write!(f, " nexthop via {}", h.via)?;
            if let Some(d) = &h.dev {
                write!(f, " dev {d}")?;
            }
            if h.weight != 1 {
                write!(f, " weight {}", h.weight)?;
            }
        }
        write!(f, " metric {}", self.metric)
    }
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Op::DelRoute { ns, route } => write!(f, "- route {}: {route}", ns_label(ns)),
            Op::DelAddr { ns, iface, addr } => write!(f, "- addr {} {addr}", At(ns, iface)),
            Op::ReplaceAddr { ns, iface, old, new } => write!(f, "~ addr {} {old} -> {new}", At(ns, iface)),
            Op::PruneRoute { ns, route, proto } => {
                write!(
                    f,
                    "- unmanaged route {}: {route} proto {}",
                    ns_label(ns),
                    crate::state::ns::proto_name(*proto)
                )
            }
            Op::PruneAddr { ns, iface, addr } => write!(f, "- unmanaged addr {} {addr}", At(ns, iface)),
            Op::DelLink { ns, iface } => write!(f, "- link {}", At(ns, iface)),
            Op::DelNetns { ns } => write!(f, "- netns {ns}"),
            Op::AddNetns { ns } => write!(f, "+ netns {ns}"),
            Op::AddBridge { ns, iface, .. } => write!(f, "+ bridge {}", At(ns, iface)),
            Op::AddVeth { a, b, mtu, .. } => {
                write!(f, "+ veth {} <-> {} mtu {mtu}", At(&a.0, &a.1), At(&b.0, &b.1))
            }
            Op::SetMtu { ns, iface, mtu } => write!(f, "~ mtu {} {mtu}", At(ns, iface)),
            Op::SetMaster { ns, iface, master } => write!(f, "~ master {} {master}", At(ns, iface)),
            Op::AddAddr { ns, iface, addr } => write!(f, "+ addr {} {addr}", At(ns, iface)),
            Op::SetUp { ns, iface, .. } => write!(f, "~ up {}", At(ns, iface)),
            Op::SetShape { ns, iface, shape } => write!(f, "~ qdisc {} {shape}", At(ns, iface)),
            Op::DelShape { ns, iface } => write!(f, "- qdisc {}", At(ns, iface)),
            Op::SetDown { ns, iface } => write!(f, "~ down {} (held by netlab link down)", At(ns, iface)),
            Op::SetSysctl { ns, key, value, was } => match was {
                Some(w) => write!(f, "~ sysctl {}: {key} = {value} (was {w})", ns_label(ns)),
                None => write!(f, "~ sysctl {}: {key} = {value}", ns_label(ns)),
            },
            Op::AddRoute { ns, route } => write!(f, "+ route {}: {route}", ns_label(ns)),
            Op::DelTable { ns, table, kind: FirewallKind::Nft } => write!(f, "- nft {}", At(ns, table)),
            Op::DelTable { ns, table, kind: FirewallKind::Iptables } => {
                write!(f, "- iptables {}", At(ns, table))
            }
            Op::StopProcesses { .. } => write!(f, "- processes of the lab"),
            Op::StopWorkload { node, name } => write!(f, "- workload {node}/{name}"),
            Op::StopHolder { node } => write!(f, "- namespaces of node {node}"),
            Op::SetLimits { node, limits } => write!(f, "~ limits {node}: {}", limits_text(limits)),
            Op::StartHolder { node, isolation } => {
                write!(f, "+ namespaces of node {node}: {}", isolation_text(isolation))
            }
            Op::RunExec { node, commands, .. } => {
                write!(f, "+ exec {node}:")?;
                for c in commands {
                    write!(f, "\n    {c}")?;
                }
                Ok(())
            }
            Op::StartWorkload { node, workload } => {
                write!(f, "+ workload {node}/{}: {}", workload.name, workload.cmd.join(" "))
            }
            Op::LoadTable { ns, table, rules, was } => {
                let now = rules.listing();
                match was {
                    None => write!(f, "+ nft {}", At(ns, table))?,
                    Some(_) => write!(f, "~ nft {}", At(ns, table))?,
                }
                let old = was.clone().unwrap_or_default();
                for line in &old {
                    if !now.contains(line) {
                        write!(f, "\n    - {line}")?;
                    }
                }
                for line in &now {
                    if !old.contains(line) {
                        write!(f, "\n    + {line}")?;
                    }
                }
                if was.is_some() && old.iter().all(|l| now.contains(l)) && now.iter().all(|l| old.contains(l))
                {
                    write!(f, "\n    (same rules, other order)")?;
                }
                Ok(())
            }
        }
    }
}

impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for op in &self.ops {
            writeln!(f, "{op}")?;
        }
        Ok(())
    }
}

fn limits_text(l: &Limits) -> String {
    let mut parts = Vec::new();
    if let Some(m) = l.memory {
        parts.push(format!("memory {}", crate::model::limits::size_text(m)));
    }
    if let Some(c) = l.cpu {
        parts.push(format!("cpu {c}"));
    }
    if let Some(p) = l.pids {
        parts.push(format!("pids {p}"));
    }
    if parts.is_empty() {
        return "none (lifted)".into();
    }
    parts.join(", ")
}

fn isolation_text(i: &Isolation) -> String {
    let mut parts: Vec<String> = [("pid", i.pid), ("mount", i.mount), ("uts", i.uts), ("ipc", i.ipc)]
        .iter()
        .filter(|(_, on)| *on)
        .map(|(n, _)| n.to_string())
        .collect();
    if let Some(h) = &i.hostname {
        parts.push(format!("hostname {h}"));
    }
    if let Some(r) = &i.rootfs {
        parts.push(format!("rootfs {}", r.display()));
    }
    parts.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plan_lines_give_memory_in_binary_units() {
        let limits = Limits { memory: Some(64 << 20), cpu: Some(0.5), pids: Some(32) };
        let op = Op::SetLimits { node: "a".into(), limits };
        assert_eq!(op.to_string(), "~ limits a: memory 64 MiB, cpu 0.5, pids 32");
        let odd = Op::SetLimits { node: "a".into(), limits: Limits { memory: Some(1536 << 20), ..limits } };
        assert!(odd.to_string().starts_with("~ limits a: memory 1.5 GiB,"), "{odd}");
    }

    #[test]
    fn an_op_is_no_bigger_than_a_veth_pair() {
        // A 10 000-node plan holds 50 000 ops, each the size of the biggest kind: a rare kind
        // that grows past the common ones boxes its big part (see `LoadTable`).
        let veth = std::mem::size_of::<((NsRef, String), (NsRef, String), String, u32)>();
        assert!(std::mem::size_of::<Op>() <= veth + 8, "an op is {} bytes", std::mem::size_of::<Op>());
    }
}
