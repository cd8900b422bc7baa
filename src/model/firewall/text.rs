//! The canonical text of rules and tables: nft's own syntax, one line per policy and per rule.

use super::rule::{Action, Firewall, Nat, Proto, Rule};
use ipnetwork::IpNetwork;
use std::fmt;

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
