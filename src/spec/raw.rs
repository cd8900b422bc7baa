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
    /// "default", "unconfined", or a table (see `RawSeccomp`).
    pub seccomp: Option<S<toml::Value>>,
    /// Capabilities on top of the default set of a container-like node.
    pub caps: Option<S<RawCaps>>,
    #[serde(default)]
    pub exec: Vec<S<String>>,
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

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSeccomp {
    pub default: String,
    #[serde(default)]
    pub allow: Vec<String>,
    #[serde(default)]
    pub deny: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawWorkload {
    pub name: S<String>,
    pub cmd: S<Vec<S<String>>>,
    #[serde(default)]
    pub env: std::collections::BTreeMap<String, S<String>>,
    pub cwd: Option<S<String>>,
    pub limits: Option<S<RawLimits>>,
    pub seccomp: Option<S<toml::Value>>,
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
    pub via: Option<S<String>>,
    pub dev: Option<S<String>>,
    pub metric: Option<S<i64>>,
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
    pub from: S<String>,
    pub ping: Option<S<String>>,
    pub connect: Option<S<String>>,
    pub connect_udp: Option<S<String>>,
    pub expect: Option<S<String>>,
    pub timeout: Option<S<toml::Value>>,
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
