//! The validated rule model: protocols, connection states, verdicts, NAT entries, filter
//! rules, and a node's whole table.

use ipnetwork::IpNetwork;
use std::net::{IpAddr, SocketAddr};

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Proto {
    Tcp,
    Udp,
    Icmp,
    Icmpv6,
}

impl Proto {
    pub fn name(self) -> &'static str {
        match self {
            Proto::Tcp => "tcp",
            Proto::Udp => "udp",
            Proto::Icmp => "icmp",
            Proto::Icmpv6 => "icmpv6",
        }
    }
    /// The IP protocol number (`meta l4proto`).
    pub fn number(self) -> u8 {
        match self {
            Proto::Tcp => 6,
            Proto::Udp => 17,
            Proto::Icmp => 1,
            Proto::Icmpv6 => 58,
        }
    }
    pub fn has_ports(self) -> bool {
        matches!(self, Proto::Tcp | Proto::Udp)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CtState {
    Established,
    Related,
    New,
    Invalid,
}

impl CtState {
    pub fn name(self) -> &'static str {
        match self {
            CtState::Established => "established",
            CtState::Related => "related",
            CtState::New => "new",
            CtState::Invalid => "invalid",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Accept,
    Drop,
    Reject,
}

/// A NAT entry.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Nat {
    Masquerade { from: IpNetwork, out: String },
    Snat { from: IpNetwork, out: String, to: IpAddr },
    Dnat { iif: String, proto: Proto, port: u16, to: SocketAddr },
}

/// A filter rule; every match is optional.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct Rule {
    pub iif: Option<String>,
    pub oif: Option<String>,
    pub from: Option<IpNetwork>,
    pub to: Option<IpNetwork>,
    pub proto: Option<Proto>,
    pub port: Option<u16>,
    pub states: Vec<CtState>,
    pub action: Option<Action>,
}

/// Everything a node's table holds. `Default` is an absent table.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Firewall {
    pub forward_policy: Action,
    pub input_policy: Action,
    pub forward: Vec<Rule>,
    pub input: Vec<Rule>,
    pub nat: Vec<Nat>,
}

impl Default for Firewall {
    fn default() -> Self {
        Firewall {
            forward_policy: Action::Accept,
            input_policy: Action::Accept,
            forward: Vec::new(),
            input: Vec::new(),
            nat: Vec::new(),
        }
    }
}

impl Firewall {
    /// Whether the node needs a table at all.
    pub fn is_empty(&self) -> bool {
        *self == Firewall::default()
    }
}
