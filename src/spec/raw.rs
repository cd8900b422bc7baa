//! Serde types that mirror `topo.toml` exactly. Every value a user can get wrong keeps its
//! span so that `resolve` can point at it; nothing here is validated beyond TOML types.

use serde::Deserialize;
use serde_spanned::Spanned;
use std::collections::BTreeMap;

pub type S<T> = Spanned<T>;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTopo {
    pub name: Option<S<String>>,
    pub prefix: Option<S<String>>,
    #[serde(default)]
    pub nodes: BTreeMap<S<String>, S<RawNode>>,
    #[serde(default)]
    pub links: Vec<S<RawLink>>,
    #[serde(default)]
    pub check: Vec<S<RawCheck>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawNode {
    pub kind: Option<S<String>>,
    #[serde(default)]
    pub sysctls: BTreeMap<S<String>, S<toml::Value>>,
    pub forward: Option<S<bool>>,
    #[serde(default)]
    pub routes: Vec<S<RawRoute>>,
    #[serde(default)]
    pub nat: Vec<S<RawNat>>,
    pub firewall: Option<S<RawFirewall>>,
    pub hostname: Option<S<String>>,
    pub isolate: Option<S<Vec<S<String>>>>,
    pub rootfs: Option<S<String>>,
    pub limits: Option<S<RawLimits>>,
    /// "default", "unconfined", "FILE.json" or a table (see `RawSeccomp`).
    pub seccomp: Option<S<RawSeccomp>>,
    /// Capabilities on top of the default set of a container-like node.
    pub caps: Option<S<RawCaps>>,
    #[serde(default)]
    pub exec: Vec<S<String>>,
    /// How long each `exec` command may run: a duration (`"30s"`) or seconds.
    pub exec_timeout: Option<S<toml::Value>>,
    #[serde(default)]
    pub run: Vec<S<RawWorkload>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLimits {
    pub memory: Option<S<String>>,
    /// Cores: an integer or a fraction.
    pub cpu: Option<S<toml::Value>>,
    pub pids: Option<S<i64>>,
}

/// `seccomp = "NAME"` (a profile name or a JSON file) or `seccomp = { default = ..., ... }`.
#[derive(Debug)]
pub enum RawSeccomp {
    Name(String),
    Table(RawSeccompTable),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSeccompTable {
    pub default: S<String>,
    #[serde(default)]
    pub allow: Vec<S<RawSeccompRule>>,
    #[serde(default)]
    pub deny: Vec<S<RawSeccompRule>>,
}

/// An entry of `allow`/`deny`: `"name"` or `{ name = "x", action = "errno", errno = 38 }`.
#[derive(Debug)]
pub enum RawSeccompRule {
    Name(String),
    Table(RawSeccompRuleTable),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSeccompRuleTable {
    pub name: S<String>,
    pub action: Option<S<String>>,
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

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawWorkload {
    pub name: S<String>,
    pub cmd: S<Vec<S<String>>>,
    #[serde(default)]
    pub env: std::collections::BTreeMap<String, S<String>>,
    pub cwd: Option<S<String>>,
    pub limits: Option<S<RawLimits>>,
    pub seccomp: Option<S<RawSeccomp>>,
    pub caps: Option<S<RawCaps>>,
    pub restart: Option<S<String>>,
}

/// `caps = { add = ["SYS_PTRACE"], drop = ["MKNOD"] }`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCaps {
    #[serde(default)]
    pub add: Vec<S<String>>,
    #[serde(default)]
    pub drop: Vec<S<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRoute {
    pub to: S<String>,
    /// One gateway, or a list of next hops: one multipath route.
    pub via: Option<S<RawVia>>,
    pub dev: Option<S<String>>,
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
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawHop {
    pub via: S<String>,
    pub dev: Option<S<String>>,
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

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLink {
    pub endpoints: S<Vec<S<String>>>,
    /// One entry per endpoint: a CIDR string, a list of them, or `""`.
    pub addresses: Option<S<Vec<S<toml::Value>>>>,
    pub mtu: Option<S<i64>>,
    pub rate: Option<S<String>>,
    pub delay: Option<S<String>>,
    pub jitter: Option<S<String>>,
    pub loss: Option<S<String>>,
    /// Queue length in packets.
    pub limit: Option<S<i64>>,
    /// Impairments of one direction only: a's egress, b's egress.
    pub a_to_b: Option<S<RawShape>>,
    pub b_to_a: Option<S<RawShape>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawShape {
    pub rate: Option<S<String>>,
    pub delay: Option<S<String>>,
    pub jitter: Option<S<String>>,
    pub loss: Option<S<String>>,
    pub limit: Option<S<i64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCheck {
    pub name: Option<S<String>>,
    /// Required by every probe but `ping_all`.
    pub from: Option<S<String>>,
    pub ping: Option<S<String>>,
    pub connect: Option<S<String>>,
    pub connect_udp: Option<S<String>>,
    /// `true` or a list of node names.
    pub ping_all: Option<S<toml::Value>>,
    pub throughput: Option<S<RawThroughput>>,
    pub expect: Option<S<String>>,
    pub timeout: Option<S<toml::Value>>,
}

/// `throughput = { to = "b", min = "50mbit", max = "200mbit", duration = "2s", port = 5201, proto = "tcp" }`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawThroughput {
    /// A node name or one of a node's addresses.
    pub to: S<String>,
    pub min: Option<S<String>>,
    pub max: Option<S<String>>,
    pub duration: Option<S<toml::Value>>,
    pub port: Option<S<i64>>,
    pub proto: Option<S<String>>,
}

/// One entry of `nat`: exactly one of the three kinds.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawNat {
    pub masquerade: Option<S<RawMasquerade>>,
    pub snat: Option<S<RawSnat>>,
    pub dnat: Option<S<RawDnat>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMasquerade {
    pub from: S<String>,
    pub out: S<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSnat {
    pub from: S<String>,
    pub out: S<String>,
    pub to: S<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDnat {
    #[serde(rename = "in")]
    pub in_: S<String>,
    pub proto: Option<S<String>>,
    pub port: S<i64>,
    pub to: S<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFirewall {
    pub forward_policy: Option<S<String>>,
    pub input_policy: Option<S<String>>,
    #[serde(default)]
    pub forward: Vec<S<RawRule>>,
    #[serde(default)]
    pub input: Vec<S<RawRule>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRule {
    #[serde(rename = "in")]
    pub in_: Option<S<String>>,
    pub out: Option<S<String>>,
    pub from: Option<S<String>>,
    pub to: Option<S<String>>,
    pub proto: Option<S<String>>,
    pub port: Option<S<i64>>,
    pub state: Option<S<Vec<S<String>>>>,
    pub action: S<String>,
}
