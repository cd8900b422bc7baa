//! The firewall model compiled to nf_tables expressions, as plain data: what each rule of a
//! lab table holds, testable without root. `super::load` turns it into libnftnl objects.

use crate::model::firewall::{Action, CtState, Firewall, Nat, Proto, Rule};
use ipnetwork::IpNetwork;
use std::net::IpAddr;

const NFPROTO_IPV4: u8 = 2;
const NFPROTO_IPV6: u8 = 10;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetaKey {
    NfProto,
    L4Proto,
    IifName,
    OifName,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Ip4Saddr,
    Ip4Daddr,
    Ip6Saddr,
    Ip6Daddr,
    TcpDport,
    UdpDport,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Accept,
    Drop,
    /// ICMP(v6) port unreachable, which a TCP or UDP client sees as "connection refused".
    RejectIcmp,
    RejectTcpReset,
}

/// One nf_tables expression. Loads go to register 1, as nft itself does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expr {
    Meta(MetaKey),
    Payload(Field),
    Bitwise {
        mask: Vec<u8>,
        xor: Vec<u8>,
    },
    Cmp {
        eq: bool,
        data: Vec<u8>,
    },
    CtState,
    /// Data into register 1 (address) or 2 (port).
    Immediate {
        reg: u8,
        data: Vec<u8>,
    },
    Masquerade,
    Nat {
        snat: bool,
        v6: bool,
        port: bool,
    },
    Counter,
    Verdict(Verdict),
}

/// A rule of the table: its chain, its comment (the model's text) and its expressions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompiledRule {
    pub chain: &'static str,
    pub comment: String,
    pub exprs: Vec<Expr>,
}

fn ifname(name: &str) -> Vec<u8> {
    let mut v = name.as_bytes().to_vec();
    v.push(0);
    v
}

fn ip_bytes(ip: IpAddr) -> Vec<u8> {
    match ip {
        IpAddr::V4(a) => a.octets().to_vec(),
        IpAddr::V6(a) => a.octets().to_vec(),
    }
}

fn family(out: &mut Vec<Expr>, v4: bool) {
    out.push(Expr::Meta(MetaKey::NfProto));
    out.push(Expr::Cmp { eq: true, data: vec![if v4 { NFPROTO_IPV4 } else { NFPROTO_IPV6 }] });
}

/// `ip saddr NET` / `ip6 daddr NET`: load, mask, compare.
fn network(out: &mut Vec<Expr>, net: &IpNetwork, source: bool) {
    let field = match (net.is_ipv4(), source) {
        (true, true) => Field::Ip4Saddr,
        (true, false) => Field::Ip4Daddr,
        (false, true) => Field::Ip6Saddr,
        (false, false) => Field::Ip6Daddr,
    };
    out.push(Expr::Payload(field));
    let mask = ip_bytes(net.mask());
    let zero = vec![0; mask.len()];
    out.push(Expr::Bitwise { mask, xor: zero });
    out.push(Expr::Cmp { eq: true, data: ip_bytes(net.network()) });
}

fn iface(out: &mut Vec<Expr>, key: MetaKey, name: &Option<String>) {
    if let Some(n) = name {
        out.push(Expr::Meta(key));
        out.push(Expr::Cmp { eq: true, data: ifname(n) });
    }
}

fn dport(out: &mut Vec<Expr>, proto: Proto, port: u16) {
    out.push(Expr::Payload(if proto == Proto::Tcp { Field::TcpDport } else { Field::UdpDport }));
    out.push(Expr::Cmp { eq: true, data: port.to_be_bytes().to_vec() });
}

fn l4proto(out: &mut Vec<Expr>, proto: Proto) {
    out.push(Expr::Meta(MetaKey::L4Proto));
    out.push(Expr::Cmp { eq: true, data: vec![proto.number()] });
}

fn state_bits(s: CtState) -> u32 {
    match s {
        CtState::Invalid => 1,
        CtState::Established => 2,
        CtState::Related => 4,
        CtState::New => 8,
    }
}

pub fn filter_rule(r: &Rule) -> Vec<Expr> {
    let mut out = Vec::new();
    iface(&mut out, MetaKey::IifName, &r.iif);
    iface(&mut out, MetaKey::OifName, &r.oif);
    if let Some(net) = r.from.as_ref().or(r.to.as_ref()) {
        family(&mut out, net.is_ipv4());
    }
    if let Some(n) = &r.from {
        network(&mut out, n, true);
    }
    if let Some(n) = &r.to {
        network(&mut out, n, false);
    }
    if let Some(p) = r.proto {
        l4proto(&mut out, p);
        if let Some(port) = r.port {
            dport(&mut out, p, port);
        }
    }
    if !r.states.is_empty() {
        let bits: u32 = r.states.iter().map(|s| state_bits(*s)).fold(0, |a, b| a | b);
        out.push(Expr::CtState);
        out.push(Expr::Bitwise { mask: bits.to_ne_bytes().to_vec(), xor: vec![0; 4] });
        out.push(Expr::Cmp { eq: false, data: vec![0; 4] });
    }
    out.push(Expr::Counter);
    out.push(Expr::Verdict(match r.action.unwrap_or(Action::Accept) {
        Action::Accept => Verdict::Accept,
        Action::Drop => Verdict::Drop,
        Action::Reject if r.proto == Some(Proto::Tcp) => Verdict::RejectTcpReset,
        Action::Reject => Verdict::RejectIcmp,
    }));
    out
}

pub fn nat_rule(n: &Nat) -> Vec<Expr> {
    let mut out = Vec::new();
    match n {
        Nat::Masquerade { from, out: oif } | Nat::Snat { from, out: oif, .. } => {
            family(&mut out, from.is_ipv4());
            network(&mut out, from, true);
            iface(&mut out, MetaKey::OifName, &Some(oif.clone()));
            out.push(Expr::Counter);
            if let Nat::Snat { to, .. } = n {
                out.push(Expr::Immediate { reg: 1, data: ip_bytes(*to) });
                out.push(Expr::Nat { snat: true, v6: to.is_ipv6(), port: false });
            } else {
                out.push(Expr::Masquerade);
            }
        }
        Nat::Dnat { iif, proto, port, to } => {
            iface(&mut out, MetaKey::IifName, &Some(iif.clone()));
            family(&mut out, to.is_ipv4());
            l4proto(&mut out, *proto);
            dport(&mut out, *proto, *port);
            out.push(Expr::Counter);
            out.push(Expr::Immediate { reg: 1, data: ip_bytes(to.ip()) });
            out.push(Expr::Immediate { reg: 2, data: to.port().to_be_bytes().to_vec() });
            out.push(Expr::Nat { snat: false, v6: to.is_ipv6(), port: true });
        }
    }
    out
}

/// Every rule of a node's table, in table order.
pub fn compile(fw: &Firewall) -> Vec<CompiledRule> {
    let mut nat: Vec<CompiledRule> = fw
        .nat
        .iter()
        .map(|n| CompiledRule {
            chain: if matches!(n, Nat::Dnat { .. }) { "prerouting" } else { "postrouting" },
            comment: n.to_string(),
            exprs: nat_rule(n),
        })
        .collect();
    nat.sort_by_key(|r| r.chain != "prerouting");
    let filter = |chain: &'static str, rules: &[Rule]| {
        rules
            .iter()
            .map(move |r| CompiledRule { chain, comment: r.to_string(), exprs: filter_rule(r) })
            .collect::<Vec<_>>()
    };
    nat.into_iter().chain(filter("forward", &fw.forward)).chain(filter("input", &fw.input)).collect()
}

/// A readable dump of compiled rules, one line each, for golden tests.
pub fn render(rules: &[CompiledRule]) -> String {
    let hex = |d: &[u8]| d.iter().map(|b| format!("{b:02x}")).collect::<String>();
    let mut s = String::new();
    for r in rules {
        let exprs: Vec<String> = r
            .exprs
            .iter()
            .map(|e| match e {
                Expr::Meta(k) => format!("meta {k:?}"),
                Expr::Payload(f) => format!("payload {f:?}"),
                Expr::Bitwise { mask, xor } => format!("bitwise &{} ^{}", hex(mask), hex(xor)),
                Expr::Cmp { eq, data } => format!("cmp {}{}", if *eq { "==" } else { "!=" }, hex(data)),
                Expr::CtState => "ct state".into(),
                Expr::Immediate { reg, data } => format!("imm r{reg}={}", hex(data)),
                Expr::Masquerade => "masq".into(),
                Expr::Nat { snat, v6, port } => format!(
                    "{}{}{}",
                    if *snat { "snat" } else { "dnat" },
                    if *v6 { "6" } else { "4" },
                    if *port { "+port" } else { "" }
                ),
                Expr::Counter => "counter".into(),
                Expr::Verdict(v) => format!("{v:?}").to_lowercase(),
            })
            .collect();
        s.push_str(&format!("{}: {} | {}\n", r.chain, r.comment, exprs.join(" ; ")));
    }
    s
}
