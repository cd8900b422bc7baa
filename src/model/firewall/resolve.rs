//! A node's `nat` and `firewall` keys → Firewall: every interface, network, protocol, port,
//! state, action and policy checked against the node and located in the file on error.

use super::rule::{Action, CtState, Firewall, Nat, Proto, Rule};
use crate::error::SpecError;
use crate::spec::raw::{RawFirewall, RawNat, RawRule, S};
use crate::spec::Source;
use ipnetwork::IpNetwork;
use std::net::{IpAddr, SocketAddr};

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
        if let Some(p) = crate::model::names::iface_name_problem(name) {
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

    // A rule's text is its nftables comment: it must fit libnftnl's buffer.
    let fits = |text: String, span: std::ops::Range<usize>| -> R<()> {
        if text.len() <= super::MAX_RULE_TEXT {
            return Ok(());
        }
        Err(src.error(
            span,
            format!(
                "this rule is {} bytes long as nftables text (\"{text}\"); nftables keeps at most {} bytes of a rule's comment, which netlab needs to recognise the rule",
                text.len(),
                super::MAX_RULE_TEXT
            ),
            "split it into narrower rules, or use shorter networks or interface names",
        ))
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
        fits(out.nat.last().expect("one pushed").to_string(), entry.span())?;
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
            let state = match s.get_ref().as_str() {
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
            };
            if states.contains(&state) {
                return Err(src.error(
                    s.span(),
                    format!("connection state \"{}\" is listed twice", s.get_ref()),
                    "list each state once",
                ));
            }
            states.push(state);
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
        let rule = Rule {
            iif: raw.in_.as_ref().map(&iface).transpose()?,
            oif: raw.out.as_ref().map(&iface).transpose()?,
            from,
            to,
            proto,
            port,
            states,
            action: Some(action),
        };
        fits(rule.to_string(), r.span())?;
        Ok(rule)
    };
    out.forward = f.forward.iter().map(&rule).collect::<R<_>>()?;
    out.input = f.input.iter().map(&rule).collect::<R<_>>()?;
    Ok(out)
}
