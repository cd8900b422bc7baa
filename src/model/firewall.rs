//! NAT and filter rules of a node: the validated model, and its canonical text. The text is
//! what `plan` shows, what `status` lists, and what each nftables rule carries as its comment
//! so that the kernel's copy can be compared with the file's.

use crate::error::SpecError;
use crate::spec::raw::{RawFirewall, RawNat, RawRule, S};
use crate::spec::Source;
use ipnetwork::IpNetwork;
use std::fmt;
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

/// The chains of a lab table, in the order they are listed.
pub const CHAINS: [&str; 4] = ["prerouting", "postrouting", "forward", "input"];

/// Interface names go unquoted: the text is also each rule's nftables comment, and quotes
/// inside it would make `nft list ruleset` output that `nft -f` cannot read back.
fn quoted(name: &str) -> String {
    name.to_string()
}

fn family_word(net: &IpNetwork) -> &'static str {
    if net.is_ipv4() {
        "ip"
    } else {
        "ip6"
    }
}

impl fmt::Display for Rule {
    /// nft's own syntax, so that `nft list ruleset` and `netlab plan` read alike.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts: Vec<String> = Vec::new();
        if let Some(i) = &self.iif {
            parts.push(format!("iifname {}", quoted(i)));
        }
        if let Some(o) = &self.oif {
            parts.push(format!("oifname {}", quoted(o)));
        }
        if let Some(n) = &self.from {
            parts.push(format!("{} saddr {n}", family_word(n)));
        }
        if let Some(n) = &self.to {
            parts.push(format!("{} daddr {n}", family_word(n)));
        }
        match (self.proto, self.port) {
            (Some(p), Some(port)) => parts.push(format!("{} dport {port}", p.name())),
            (Some(p), None) => parts.push(format!("meta l4proto {}", p.name())),
            _ => {}
        }
        if !self.states.is_empty() {
            let s: Vec<&str> = self.states.iter().map(|s| s.name()).collect();
            parts.push(format!("ct state {}", s.join(",")));
        }
        parts.push(match self.action.unwrap_or(Action::Accept) {
            Action::Accept => "accept".into(),
            Action::Drop => "drop".into(),
            Action::Reject if self.proto == Some(Proto::Tcp) => "reject with tcp reset".into(),
            Action::Reject => "reject".into(),
        });
        f.write_str(&parts.join(" "))
    }
}

impl fmt::Display for Nat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Nat::Masquerade { from, out } => {
                write!(f, "{} saddr {from} oifname {} masquerade", family_word(from), quoted(out))
            }
            Nat::Snat { from, out, to } => {
                write!(f, "{} saddr {from} oifname {} snat to {to}", family_word(from), quoted(out))
            }
            Nat::Dnat { iif, proto, port, to } => {
                write!(f, "iifname {} {} dport {port} dnat to {to}", quoted(iif), proto.name())
            }
        }
    }
}

impl Firewall {
    /// Whether the node needs a table at all.
    pub fn is_empty(&self) -> bool {
        *self == Firewall::default()
    }

    /// (chain, rule text) in table order: what each rule's comment says.
    pub fn rules(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        for n in &self.nat {
            let chain = if matches!(n, Nat::Dnat { .. }) { "prerouting" } else { "postrouting" };
            out.push((chain, n.to_string()));
        }
        out.sort_by_key(|(c, _)| CHAINS.iter().position(|x| x == c));
        out.extend(self.forward.iter().map(|r| ("forward", r.to_string())));
        out.extend(self.input.iter().map(|r| ("input", r.to_string())));
        out
    }

    /// The canonical listing: one line per chain policy and per rule. Two tables with the same
    /// listing behave the same.
    pub fn listing(&self) -> Vec<String> {
        let policy = |a: Action| if a == Action::Drop { "drop" } else { "accept" };
        let mut out = vec![
            format!("chain forward policy {}", policy(self.forward_policy)),
            format!("chain input policy {}", policy(self.input_policy)),
        ];
        out.extend(self.rules().into_iter().map(|(c, r)| format!("{c}: {r}")));
        out
    }
}

type R<T> = Result<T, SpecError>;

/// Resolves a node's `nat` and `firewall` keys. `ifaces`: the node's lab interfaces;
/// `host`: whether other interfaces of the machine may be named too.
pub fn resolve(
    src: &Source,
    node: &str,
    nat: &[S<RawNat>],
    fw: Option<&S<RawFirewall>>,
    ifaces: &[&str],
    host: bool,
) -> R<Firewall> {
    let iface = |v: &S<String>| -> R<String> {
        let name = v.get_ref();
        if let Some(p) = super::names::iface_name_problem(name) {
            return Err(src.error(v.span(), p, "use an interface name such as \"eth0\""));
        }
        if !host && !ifaces.contains(&name.as_str()) {
            let hint = if ifaces.is_empty() {
                "add a link to the node first".to_string()
            } else {
                format!("use one of its interfaces: {}", ifaces.join(", "))
            };
            return Err(src.error(v.span(), format!("node {node} has no interface \"{name}\""), &hint));
        }
        Ok(name.clone())
    };
    let cidr = |v: &S<String>| -> R<IpNetwork> {
        let s = v.get_ref();
        let net: IpNetwork = s.parse().map_err(|_| {
            src.error(
                v.span(),
                format!("\"{s}\" is not a CIDR"),
                "write an address with its prefix length, such as \"10.0.0.0/24\" or \"fd00::/64\"",
            )
        })?;
        Ok(IpNetwork::new(net.network(), net.prefix()).expect("prefix kept"))
    };
    let proto = |v: &S<String>| -> R<Proto> {
        match v.get_ref().as_str() {
            "tcp" => Ok(Proto::Tcp),
            "udp" => Ok(Proto::Udp),
            "icmp" => Ok(Proto::Icmp),
            "icmpv6" => Ok(Proto::Icmpv6),
            other => Err(src.error(
                v.span(),
                format!("unknown protocol \"{other}\""),
                "write proto = \"tcp\", \"udp\", \"icmp\" or \"icmpv6\"",
            )),
        }
    };
    let port = |v: &S<i64>| -> R<u16> {
        match u16::try_from(*v.get_ref()) {
            Ok(p) if p > 0 => Ok(p),
            _ => Err(src.error(
                v.span(),
                format!("port {} is out of range", v.get_ref()),
                "write a port between 1 and 65535",
            )),
        }
    };

    let mut out = Firewall::default();
    for entry in nat {
        let e = entry.get_ref();
        let kinds =
            [e.masquerade.is_some(), e.snat.is_some(), e.dnat.is_some()].iter().filter(|x| **x).count();
        if kinds != 1 {
            return Err(src.error(
                entry.span(),
                "a nat entry needs exactly one of masquerade, snat, dnat",
                "write { masquerade = { from = \"10.0.0.0/24\", out = \"eth0\" } }",
            ));
        }
        if let Some(m) = &e.masquerade {
            let m = m.get_ref();
            out.nat.push(Nat::Masquerade { from: cidr(&m.from)?, out: iface(&m.out)? });
        } else if let Some(s) = &e.snat {
            let s = s.get_ref();
            let from = cidr(&s.from)?;
            let to: IpAddr = s.to.get_ref().parse().map_err(|_| {
                src.error(
                    s.to.span(),
                    format!("snat target \"{}\" is not an IP address", s.to.get_ref()),
                    "write to = \"203.0.113.1\"",
                )
            })?;
            if to.is_ipv4() != from.is_ipv4() {
                return Err(src.error(
                    s.to.span(),
                    format!("snat target {to} is not of the family of {from}"),
                    "use an address of the same IP family as from",
                ));
            }
            out.nat.push(Nat::Snat { from, out: iface(&s.out)?, to });
        } else if let Some(d) = &e.dnat {
            let dspan = d.span();
            let d = d.get_ref();
            let Some(p) = &d.proto else {
                return Err(src.error(dspan, "dnat needs proto", "add proto = \"tcp\" or proto = \"udp\""));
            };
            let proto = proto(p)?;
            if !proto.has_ports() {
                return Err(src.error(
                    p.span(),
                    format!("dnat forwards ports; {} has none", proto.name()),
                    "write proto = \"tcp\" or proto = \"udp\"",
                ));
            }
            let to: SocketAddr = d.to.get_ref().parse().map_err(|_| {
                src.error(
                    d.to.span(),
                    format!("dnat target \"{}\" is not IP:PORT", d.to.get_ref()),
                    "write to = \"10.0.0.2:80\" or \"[fd00::2]:80\"",
                )
            })?;
            out.nat.push(Nat::Dnat { iif: iface(&d.in_)?, proto, port: port(&d.port)?, to });
        }
    }
    let Some(fw) = fw else { return Ok(out) };
    let f = fw.get_ref();
    let policy = |v: &Option<S<String>>| -> R<Action> {
        match v.as_ref().map(|p| (p.get_ref().as_str(), p.span())) {
            None | Some(("accept", _)) => Ok(Action::Accept),
            Some(("drop", _)) => Ok(Action::Drop),
            Some((other, span)) => Err(src.error(
                span,
                format!("policy \"{other}\" is neither \"accept\" nor \"drop\""),
                "write \"accept\" or \"drop\"",
            )),
        }
    };
    out.forward_policy = policy(&f.forward_policy)?;
    out.input_policy = policy(&f.input_policy)?;
    let rule = |r: &S<RawRule>| -> R<Rule> {
        let raw = r.get_ref();
        let from = raw.from.as_ref().map(&cidr).transpose()?;
        let to = raw.to.as_ref().map(&cidr).transpose()?;
        if let (Some(a), Some(b)) = (from, to) {
            if a.is_ipv4() != b.is_ipv4() {
                return Err(src.error(
                    raw.to.as_ref().expect("to is set").span(),
                    format!("from {a} and to {b} are of different IP families"),
                    "use two IPv4 or two IPv6 networks, or two rules",
                ));
            }
        }
        let proto = raw.proto.as_ref().map(&proto).transpose()?;
        let port = match &raw.port {
            None => None,
            Some(p) if proto.is_some_and(Proto::has_ports) => Some(port(p)?),
            Some(p) => {
                return Err(src.error(
                    p.span(),
                    "a port needs proto = \"tcp\" or \"udp\"",
                    "add proto = \"tcp\" to the rule",
                ))
            }
        };
        let mut states = Vec::new();
        for s in raw.state.as_ref().map(|s| s.get_ref().as_slice()).unwrap_or(&[]) {
            states.push(match s.get_ref().as_str() {
                "established" => CtState::Established,
                "related" => CtState::Related,
                "new" => CtState::New,
                "invalid" => CtState::Invalid,
                other => {
                    return Err(src.error(
                        s.span(),
                        format!("unknown connection state \"{other}\""),
                        "use \"established\", \"related\", \"new\" or \"invalid\"",
                    ))
                }
            });
        }
        let action = match raw.action.get_ref().as_str() {
            "accept" => Action::Accept,
            "drop" => Action::Drop,
            "reject" => Action::Reject,
            other => {
                return Err(src.error(
                    raw.action.span(),
                    format!("unknown action \"{other}\""),
                    "write action = \"accept\", \"drop\" or \"reject\"",
                ))
            }
        };
        Ok(Rule {
            iif: raw.in_.as_ref().map(&iface).transpose()?,
            oif: raw.out.as_ref().map(&iface).transpose()?,
            from,
            to,
            proto,
            port,
            states,
            action: Some(action),
        })
    };
    out.forward = f.forward.iter().map(&rule).collect::<R<_>>()?;
    out.input = f.input.iter().map(&rule).collect::<R<_>>()?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_text_reads_like_nft() {
        let r = Rule {
            iif: Some("v-eth".into()),
            oif: Some("uplink".into()),
            states: vec![CtState::Established, CtState::Related],
            action: Some(Action::Accept),
            ..Default::default()
        };
        assert_eq!(r.to_string(), "iifname v-eth oifname uplink ct state established,related accept");
        let r = Rule {
            proto: Some(Proto::Tcp),
            port: Some(22),
            to: Some("10.0.0.0/24".parse().unwrap()),
            action: Some(Action::Reject),
            ..Default::default()
        };
        assert_eq!(r.to_string(), "ip daddr 10.0.0.0/24 tcp dport 22 reject with tcp reset");
        let n = Nat::Dnat {
            iif: "wan".into(),
            proto: Proto::Tcp,
            port: 8080,
            to: "10.0.0.2:80".parse().unwrap(),
        };
        assert_eq!(n.to_string(), "iifname wan tcp dport 8080 dnat to 10.0.0.2:80");
        let fw = Firewall {
            forward_policy: Action::Drop,
            nat: vec![n, Nat::Masquerade { from: "fd00::/64".parse().unwrap(), out: "wan".into() }],
            ..Default::default()
        };
        assert_eq!(
            fw.listing(),
            vec![
                "chain forward policy drop",
                "chain input policy accept",
                "prerouting: iifname wan tcp dport 8080 dnat to 10.0.0.2:80",
                "postrouting: ip6 saddr fd00::/64 oifname wan masquerade",
            ]
        );
        assert!(Firewall::default().is_empty());
    }
}

/// Which kernel interface carries a lab's firewall.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize, clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum FirewallKind {
    /// nftables, through libnftnl: one table per namespace.
    #[default]
    Nft,
    /// iptables-restore, in chains of the lab's own: where nf_tables is not available.
    Iptables,
}

impl FirewallKind {
    /// The name users know it by.
    pub fn label(self) -> &'static str {
        match self {
            FirewallKind::Nft => "nftables",
            FirewallKind::Iptables => "iptables",
        }
    }
}
