//! Serde types that mirror `topo.toml` exactly. Every value a user can get wrong keeps its
//! span so that `resolve` can point at it; nothing here is validated beyond TOML types.

//!
//! The same types give the JSON Schema of the format (`netlab schema`): every struct derives
//! `JsonSchema`, a field's doc comment is its description (and a row of docs/FORMAT.md), and
//! `deny_unknown_fields` makes it `additionalProperties: false`. A new key needs a doc comment.

use super::schema::{AddrEntry, Cores, DurationText, PingAllNodes, SysctlValue};
use schemars::JsonSchema;
use serde::Deserialize;
use std::collections::BTreeMap;

pub use super::spanned::S;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawTopo {
    /// The lab's name: 1–12 characters of a-z, 0-9 and -. Default: the file's stem.
    pub name: Option<S<String>>,
    /// What node namespaces are named after: PREFIX-NODE. "" gives bare node names. Default: the lab's name.
    pub prefix: Option<S<String>>,
    /// The nodes, one table [nodes.NAME] each: network namespaces, the host, or switches.
    #[serde(default)]
    // Boxed: the tree's nodes, partly empty as it grows, hold pointers rather than nodes.
    pub nodes: BTreeMap<S<String>, Box<S<RawNode>>>,
    /// The links, one [[links]] table each: a veth pair between two nodes, or a port of a switch.
    #[serde(default)]
    pub links: Vec<S<RawLink>>,
    /// Checks that `netlab test` runs, one [[check]] table each.
    #[serde(default)]
    pub check: Vec<S<RawCheck>>,
    /// Failure scenarios: steps run in order by `netlab test` after the checks.
    #[serde(default)]
    pub scenario: Vec<S<RawScenario>>,
}

// The big tables a node or a link seldom has are boxed: a 10 000-node file is read into
// 10 000 of each, and an absent one then costs a pointer, not its size. (Not a doc comment:
// that would be the schema's description of a node.)
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawNode {
    /// "netns" (default): a network namespace of its own; "host": the namespace netlab runs in; "switch": an
    /// L2 bridge in a namespace of its own.
    #[schemars(extend("enum" = ["netns", "host", "switch"]))]
    pub kind: Option<S<String>>,
    /// Sysctls set inside the node: net.* keys, each an integer, true/false, or a one-line string ("1024
    /// 65535"). Default: none.
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, SysctlValue>")]
    pub sysctls: BTreeMap<S<String>, S<toml::Value>>,
    /// true: IPv4 and IPv6 forwarding on (net.ipv4.ip_forward, net.ipv6.conf.all.forwarding). Default: false.
    pub forward: Option<S<bool>>,
    /// Static routes of the node, each { to, via?, dev?, metric? }. Default: none.
    #[serde(default)]
    pub routes: Vec<S<RawRoute>>,
    /// NAT rules of the node, each one of { masquerade = ... }, { snat = ... }, { dnat = ... }. Default:
    /// none.
    #[serde(default)]
    pub nat: Vec<S<RawNat>>,
    /// Filter rules of the node: policies and forward/input rules. Default: accept everything.
    pub firewall: Option<Box<S<RawFirewall>>>,
    /// The hostname the node's processes see (gives them a uts namespace of their own).
    pub hostname: Option<S<String>>,
    /// More namespaces for the node's processes: any of "pid", "mount", "uts", "ipc". Default: none (only the
    /// network namespace).
    pub isolate: Option<S<Vec<S<String>>>>,
    /// A directory, relative to the file, that the node's processes see as / (implies "mount").
    pub rootfs: Option<S<String>>,
    /// cgroup limits for all the node's processes together.
    pub limits: Option<Box<S<RawLimits>>>,
    /// The node's syscall filter: "default" (Docker's allowlist), "unconfined", "FILE.json" (an OCI/Docker
    /// profile, relative to the file) or a table. Default: "default" for a container-like node, none for a
    /// plain one.
    pub seccomp: Option<Box<S<RawSeccomp>>>,
    /// Capabilities to add to or drop from the default set of a container-like node (Docker's, plus NET_ADMIN
    /// and NET_RAW).
    pub caps: Option<Box<S<RawCaps>>>,
    /// Shell commands run once, in order, inside the node after it is wired. Default: none.
    #[serde(default)]
    pub exec: Vec<S<String>>,
    /// How long each exec command may run: a duration between 100ms and 3600s ("30s"). Default: "60s".
    #[schemars(with = "Option<DurationText>")]
    pub exec_timeout: Option<S<toml::Value>>,
    /// Workloads: long-running processes started by `up` and stopped by `down`. Default: none.
    #[serde(default)]
    pub run: Vec<S<RawWorkload>>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawLimits {
    /// Memory limit: bytes with an optional unit K, M, G, T (1K = 1024), at least 1M: "256M".
    pub memory: Option<S<String>>,
    /// CPU time in cores: 0.5 is half of one CPU, 2 is two.
    #[schemars(with = "Option<Cores>")]
    pub cpu: Option<S<toml::Value>>,
    /// The most processes (and threads) at once.
    pub pids: Option<S<i64>>,
}

/// `seccomp = "NAME"` (a profile name or a JSON file) or `seccomp = { default = ..., ... }`.
#[derive(Debug)]
pub enum RawSeccomp {
    Name(String),
    Table(RawSeccompTable),
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawSeccompTable {
    /// The action for syscalls no rule names: "allow", "errno", "kill", "log" or "trap".
    #[schemars(extend("enum" = ["allow", "errno", "kill", "log", "trap"]))]
    pub default: S<String>,
    /// Syscalls allowed: names, or tables { name, action?, errno? }. Default: none.
    #[serde(default)]
    pub allow: Vec<S<RawSeccompRule>>,
    /// Syscalls refused (with EPERM unless the rule says otherwise): names, or tables { name, action?, errno?
    /// }. Default: none.
    #[serde(default)]
    pub deny: Vec<S<RawSeccompRule>>,
}

/// An entry of `allow`/`deny`: `"name"` or `{ name = "x", action = "errno", errno = 38 }`.
#[derive(Debug)]
pub enum RawSeccompRule {
    Name(String),
    Table(RawSeccompRuleTable),
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawSeccompRuleTable {
    /// The syscall's name, such as "mount".
    pub name: S<String>,
    /// What the rule does: in allow "allow" (default) or "log"; in deny "errno" (default), "kill", "trap" or
    /// "log".
    pub action: Option<S<String>>,
    /// The errno an "errno" rule returns. Default: 1 (EPERM).
    pub errno: Option<S<i64>>,
}

/// Deserializes a string as `$name` and a table as `$table`, keeping the spans of what is
/// inside the table (an untagged enum would lose them).
macro_rules! string_or_table {
    ($ty:ident, $name:ident, $table:ident, $expecting:literal) => {
        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct V;
                impl<'de> serde::de::Visitor<'de> for V {
                    type Value = $ty;
                    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                        f.write_str($expecting)
                    }
                    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<$ty, E> {
                        Ok($ty::$name(v.to_string()))
                    }
                    fn visit_map<M: serde::de::MapAccess<'de>>(self, m: M) -> Result<$ty, M::Error> {
                        Deserialize::deserialize(serde::de::value::MapAccessDeserializer::new(m))
                            .map($ty::$table)
                    }
                }
                d.deserialize_any(V)
            }
        }
    };
}

string_or_table!(RawSeccomp, Name, Table, "a seccomp profile name string or a table");
string_or_table!(
    RawSeccompRule,
    Name,
    Table,
    "a syscall name string or a table { name = ..., action = ... }"
);

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawWorkload {
    /// The workload's name, unique in the node: `netlab logs NODE/NAME`.
    pub name: S<String>,
    /// The program and its arguments, run without a shell: ["python3", "-u", "-m", "http.server", "80"] (`-u`: its output reaches `netlab logs` as it is written).
    pub cmd: S<Vec<S<String>>>,
    /// Environment variables of the workload: { NAME = "value" }. Default: none.
    #[serde(default)]
    pub env: std::collections::BTreeMap<String, S<String>>,
    /// The working directory: absolute, or relative to the file's directory; in a node with a rootfs, an
    /// absolute path inside it.
    pub cwd: Option<S<String>>,
    /// cgroup limits of this workload (inside the node's).
    pub limits: Option<S<RawLimits>>,
    /// The workload's syscall filter, as the node's seccomp. Default: the node's.
    pub seccomp: Option<S<RawSeccomp>>,
    /// Capabilities on top of the node's, as the node's caps.
    pub caps: Option<S<RawCaps>>,
    /// When the workload is restarted after it exits: "no" (default), "on-failure" or "always".
    #[schemars(extend("enum" = ["no", "on-failure", "always"]))]
    pub restart: Option<S<String>>,
}

/// `caps = { add = ["SYS_PTRACE"], drop = ["MKNOD"] }`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawCaps {
    /// Capabilities to add, such as "SYS_PTRACE" (with or without CAP_). Default: none.
    #[serde(default)]
    pub add: Vec<S<String>>,
    /// Capabilities to drop, such as "MKNOD", or "ALL". Default: none.
    #[serde(default)]
    pub drop: Vec<S<String>>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawRoute {
    /// The destination: "default" (of the gateway's family) or a network such as "10.1.0.0/16" or
    /// "fd00:1::/64".
    pub to: S<String>,
    /// The gateway ("10.0.0.1"), or a list of next hops for one multipath route, each a gateway or { via,
    /// dev?, weight? }.
    pub via: Option<S<RawVia>>,
    /// The interface the route goes out of. Needed when there is no via.
    pub dev: Option<S<String>>,
    /// The route's metric (priority), 0–4294967295. Default: the kernel's (0 for IPv4, 1024 for IPv6).
    pub metric: Option<S<i64>>,
}

/// A route's `via`: `"10.0.0.1"`, or `["10.0.1.2", { via = "10.0.2.2", weight = 3 }]`.
#[derive(Debug)]
pub enum RawVia {
    One(String),
    Hops(Vec<S<RawHop>>),
}

/// One next hop of a `via` list: a gateway string, or a table with an optional weight and dev.
/// A bare string has no weight or dev; its span is the hop's own.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawHop {
    /// The next hop's gateway.
    pub via: S<String>,
    /// The interface towards this hop.
    pub dev: Option<S<String>>,
    /// The hop's share of flows, 1–256. Default: 1.
    pub weight: Option<S<i64>>,
}

/// What serde says a `via` or a hop should be (`load` turns it into a hint).
pub(crate) const VIA_EXPECTED: &str = "a gateway string or a list of next hops";
pub(crate) const HOP_EXPECTED: &str = "a next hop: a gateway string or a table { via = ... }";

/// By hand rather than `#[serde(untagged)]`: untagged buffers the value and loses the spans
/// of the hops inside.
impl<'de> Deserialize<'de> for RawVia {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = RawVia;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str(VIA_EXPECTED)
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<RawVia, E> {
                Ok(RawVia::One(v.to_string()))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<RawVia, A::Error> {
                let mut hops = Vec::new();
                while let Some(h) = seq.next_element::<S<HopEntry>>()? {
                    let span = h.span();
                    let hop = match h.into_inner() {
                        HopEntry::Gateway(via) => {
                            RawHop { via: S::new(span.clone(), via), dev: None, weight: None }
                        }
                        HopEntry::Table(hop) => hop,
                    };
                    hops.push(S::new(span, hop));
                }
                Ok(RawVia::Hops(hops))
            }
        }
        d.deserialize_any(V)
    }
}

/// One entry of a `via` list as written.
enum HopEntry {
    Gateway(String),
    Table(RawHop),
}

impl<'de> Deserialize<'de> for HopEntry {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = HopEntry;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str(HOP_EXPECTED)
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<HopEntry, E> {
                Ok(HopEntry::Gateway(v.to_string()))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<HopEntry, A::Error> {
                RawHop::deserialize(serde::de::value::MapAccessDeserializer::new(map)).map(HopEntry::Table)
            }
        }
        d.deserialize_any(V)
    }
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawLink {
    /// The two ends: "NODE:IFACE" each; a switch end may be "SWITCH" alone (the port is named for you).
    /// Interface names: 1–15 characters, no /, :, % or whitespace.
    pub endpoints: S<Vec<S<String>>>,
    /// One entry per endpoint: a CIDR ("10.0.0.1/24"), a list of CIDRs (IPv4 and IPv6), or "" for none.
    /// Default: no addresses.
    #[schemars(with = "Option<Vec<AddrEntry>>")]
    pub addresses: Option<S<Vec<S<toml::Value>>>>,
    /// The MTU of both ends, in bytes: 68–65535, at least 1280 with IPv6. Default: the kernel's (1500).
    pub mtu: Option<S<i64>>,
    /// Egress rate limit of both ends, in bits per second with a unit: "100mbit", "1gbit", "512kbit".
    pub rate: Option<S<String>>,
    /// Egress delay of both ends: a duration up to 60s, such as "20ms".
    #[schemars(with = "Option<DurationText>")]
    pub delay: Option<S<toml::Value>>,
    /// Variation of the delay: a duration up to 60s, such as "5ms"; needs delay.
    #[schemars(with = "Option<DurationText>")]
    pub jitter: Option<S<toml::Value>>,
    /// Egress packet loss of both ends, in percent: "1%".
    pub loss: Option<S<String>>,
    /// Queue length of the impairment, in packets: 1–1000000. Default: the kernel's (1000).
    pub limit: Option<S<i64>>,
    /// Impairments of the first endpoint's egress only (the direction a to b), over the link-wide ones.
    pub a_to_b: Option<Box<S<RawShape>>>,
    /// Impairments of the second endpoint's egress only (the direction b to a), over the link-wide ones.
    pub b_to_a: Option<Box<S<RawShape>>>,
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawShape {
    /// Egress rate limit in this direction: "100mbit".
    pub rate: Option<S<String>>,
    /// Egress delay in this direction: "20ms".
    #[schemars(with = "Option<DurationText>")]
    pub delay: Option<S<toml::Value>>,
    /// Variation of the delay in this direction: "5ms".
    #[schemars(with = "Option<DurationText>")]
    pub jitter: Option<S<toml::Value>>,
    /// Egress packet loss in this direction: "1%".
    pub loss: Option<S<String>>,
    /// Queue length in this direction, in packets.
    pub limit: Option<S<i64>>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawCheck {
    /// The check's name in reports, unique in the file. Default: "FROM: TARGET" ("h1: ping
    /// 10.0.0.2", "a: throughput to b"), "ping_all a, b, c" for ping_all.
    pub name: Option<S<String>>,
    /// The node the check runs in (not a switch). Required by every probe but ping_all.
    pub from: Option<S<String>>,
    /// Probe: an ICMP echo to this IP address, IPv4 or IPv6. One of ping, connect, connect_udp,
    /// ping_all, throughput.
    pub ping: Option<S<String>>,
    /// Probe: a TCP connection to "IP:PORT" ("[fd00::2]:80" for IPv6); ok when it is accepted.
    pub connect: Option<S<String>>,
    /// Probe: UDP datagrams to "IP:PORT", sent again until the timeout; ok when the server answers one
    /// (silence is "no answer", a port-unreachable is "refused": both failures).
    pub connect_udp: Option<S<String>>,
    /// Probe: true (every node but the switches) or a list of nodes; each pings every link address
    /// of every other, IPv4 and IPv6. Takes no from.
    #[schemars(with = "Option<PingAllNodes>")]
    pub ping_all: Option<S<toml::Value>>,
    /// Probe: a TCP transfer from `from` to a sink netlab opens in `to`, its rate held to min/max.
    pub throughput: Option<S<RawThroughput>>,
    /// "ok" (default): the probe must succeed; "fail": it must not.
    #[schemars(extend("enum" = ["ok", "fail"]))]
    pub expect: Option<S<String>>,
    /// How long the probe waits: a duration between 1ms and 300s ("500ms", "3s"). Default: "2s".
    #[schemars(with = "Option<DurationText>")]
    pub timeout: Option<S<toml::Value>>,
}

/// A failure scenario: steps that `netlab test` runs in order after the checks; every runtime
/// override it makes is undone afterwards, passed or failed.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawScenario {
    /// The scenario's name, unique in the file: `netlab test --scenario NAME` runs it alone.
    pub name: S<String>,
    /// The steps, in order: each a table with one of check, link_down, link_up, impair, exec, wait.
    #[serde(default)]
    pub steps: Vec<S<RawStep>>,
}

/// One step of a scenario: exactly one of `check`, `link_down`, `link_up`, `impair`, `exec`,
/// `wait`, with the keys that go with it.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawStep {
    /// Step: a check, with any body a [[check]] takes ({ from = "h1", ping = "10.0.0.2" }).
    pub check: Option<S<RawCheck>>,
    /// With check: try it again (every 200 ms, each try at most 1 s) until it goes as expected, for at most this
    /// long ("20s"); the time it took is reported as the convergence time.
    #[schemars(with = "Option<DurationText>")]
    pub within: Option<S<toml::Value>>,
    /// With check: one try, waiting this long ("500ms"), in place of the check's own timeout. With exec: how
    /// long the command may run. Default: the check's timeout; for exec "60s".
    #[schemars(with = "Option<DurationText>")]
    pub timeout: Option<S<toml::Value>>,
    /// Step: take "NODE:IFACE" down like pulling its cable, as `netlab link down` does.
    pub link_down: Option<S<String>>,
    /// Step: let "NODE:IFACE" up again, as `netlab link up` does.
    pub link_up: Option<S<String>>,
    /// Step: change the egress impairment of "NODE:IFACE", as `netlab impair` does, with rate, delay, jitter,
    /// loss and limit beside it, or clear = true.
    pub impair: Option<S<String>>,
    /// With impair: egress rate limit, "10mbit".
    pub rate: Option<S<String>>,
    /// With impair: egress delay, "20ms" (netem).
    #[schemars(with = "Option<DurationText>")]
    pub delay: Option<S<toml::Value>>,
    /// With impair: variation of the delay, "5ms" (netem).
    #[schemars(with = "Option<DurationText>")]
    pub jitter: Option<S<toml::Value>>,
    /// With impair: egress packet loss, "1%" (netem).
    pub loss: Option<S<String>>,
    /// With impair: queue length, in packets.
    pub limit: Option<S<i64>>,
    /// With impair: true to go back to the file's impairment (`netlab impair --clear`).
    pub clear: Option<S<bool>>,
    /// Step: run a command in a node's network namespace; the step fails unless it exits expect_exit.
    pub exec: Option<S<RawExecStep>>,
    /// With exec: the exit code the command must give, 0–255. Default: 0.
    pub expect_exit: Option<S<i64>>,
    /// Step: sleep this long ("1s").
    #[schemars(with = "Option<DurationText>")]
    pub wait: Option<S<toml::Value>>,
}

/// The command of an exec step.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawExecStep {
    /// The node it runs in.
    pub node: S<String>,
    /// The program and its arguments, as a list: ["birdc", "show", "route"].
    pub cmd: S<Vec<String>>,
}

/// `throughput = { to = "b", min = "50mbit", max = "200mbit", duration = "2s", port = 5201, proto = "tcp" }`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawThroughput {
    /// Where the sink runs: a node name (its first link address) or one of a node's addresses.
    pub to: S<String>,
    /// The lowest rate that passes, like a link's rate ("50mbit"). min or max, or both.
    pub min: Option<S<String>>,
    /// The highest rate that passes ("1gbit").
    pub max: Option<S<String>>,
    /// How long the sink counts: a duration between 100ms and 60s. Default: "2s".
    #[schemars(with = "Option<DurationText>")]
    pub duration: Option<S<toml::Value>>,
    /// The sink's TCP port. Default: 5201.
    #[schemars(range(min = 1, max = 65535))]
    pub port: Option<S<i64>>,
    /// "tcp" (default); "udp" is refused.
    #[schemars(extend("enum" = ["tcp"]))]
    pub proto: Option<S<String>>,
}

/// One entry of `nat`: exactly one of the three kinds.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawNat {
    /// Source NAT to the address of the outgoing interface.
    pub masquerade: Option<S<RawMasquerade>>,
    /// Source NAT to a fixed address.
    pub snat: Option<S<RawSnat>>,
    /// Destination NAT: forward a port to another address.
    pub dnat: Option<S<RawDnat>>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawMasquerade {
    /// The source network to translate: a CIDR.
    pub from: S<String>,
    /// The interface the packets leave by.
    pub out: S<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawSnat {
    /// The source network to translate: a CIDR.
    pub from: S<String>,
    /// The interface the packets leave by.
    pub out: S<String>,
    /// The source address to give them.
    pub to: S<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawDnat {
    /// The interface the packets come in by.
    #[serde(rename = "in")]
    pub in_: S<String>,
    /// "tcp" or "udp".
    #[schemars(extend("enum" = ["tcp", "udp"]))]
    pub proto: Option<S<String>>,
    /// The destination port to forward, 1–65535.
    pub port: S<i64>,
    /// Where to: "IP:PORT".
    pub to: S<String>,
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawFirewall {
    /// What happens to forwarded packets no rule takes: "accept" (default) or "drop".
    #[schemars(extend("enum" = ["accept", "drop"]))]
    pub forward_policy: Option<S<String>>,
    /// What happens to packets for the node that no rule takes: "accept" (default) or "drop".
    #[schemars(extend("enum" = ["accept", "drop"]))]
    pub input_policy: Option<S<String>>,
    /// Rules for forwarded packets, in order; the first that matches decides.
    #[serde(default)]
    pub forward: Vec<S<RawRule>>,
    /// Rules for packets to the node itself, in order; the first that matches decides.
    #[serde(default)]
    pub input: Vec<S<RawRule>>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawRule {
    /// Matches packets that came in by this interface.
    #[serde(rename = "in")]
    pub in_: Option<S<String>>,
    /// Matches packets that leave by this interface.
    pub out: Option<S<String>>,
    /// Matches this source: an address or a CIDR.
    pub from: Option<S<String>>,
    /// Matches this destination: an address or a CIDR.
    pub to: Option<S<String>>,
    /// Matches this protocol: "tcp", "udp", "icmp" or "icmpv6".
    pub proto: Option<S<String>>,
    /// Matches this destination port (needs proto "tcp" or "udp").
    pub port: Option<S<i64>>,
    /// Matches these connection-tracking states: any of "new", "established", "related", "invalid".
    pub state: Option<S<Vec<S<String>>>>,
    /// "accept", "drop" or "reject".
    #[schemars(extend("enum" = ["accept", "drop", "reject"]))]
    pub action: S<String>,
}
