//! Address parsing (an `addresses` entry, a CIDR with its prefix length) and the lab-wide
//! address checks: no address twice, no overlapping subnets on one node.

use super::R;
use crate::error::SpecError;
use crate::model::types::*;
use crate::spec::raw::{RawLink, S};
use crate::spec::Source;
use ipnetwork::IpNetwork;
use std::collections::HashMap;
use std::net::IpAddr;

/// One endpoint's entry of `addresses`: "", a CIDR string, or a list of CIDR strings.
pub(super) fn parse_addr_entry(src: &Source, v: &S<toml::Value>) -> R<Vec<IpNetwork>> {
    let strings: Vec<&str> = match v.get_ref() {
        toml::Value::String(s) if s.is_empty() => return Ok(Vec::new()),
        toml::Value::String(s) => vec![s.as_str()],
        toml::Value::Array(a) => {
            let mut out = Vec::new();
            for item in a {
                match item.as_str() {
                    Some(s) => out.push(s),
                    None => {
                        return Err(src.error(
                            v.span(),
                            format!("address list entry {item} is not a string"),
                            "write addresses as strings, such as \"10.0.0.1/24\"",
                        ))
                    }
                }
            }
            out
        }
        other => {
            return Err(src.error(
                v.span(),
                format!("address entry {other} is neither a string nor a list"),
                "write \"10.0.0.1/24\", [\"10.0.0.1/24\", \"fd00::1/64\"] or \"\"",
            ))
        }
    };
    let mut out = Vec::new();
    for s in strings {
        let net = parse_cidr(s).map_err(|(m, h)| src.error(v.span(), m, &h))?;
        if let Some(why) = crate::model::addr_class::address_problem(&net) {
            return Err(src.error(
                v.span(),
                why,
                "give the interface a unicast host address inside its subnet, such as \"10.0.0.1/24\" or \"fd00::1/64\"",
            ));
        }
        out.push(net);
    }
    Ok(out)
}

/// A CIDR with an explicit prefix length.
pub(super) fn parse_cidr(s: &str) -> Result<IpNetwork, (String, String)> {
    if !s.contains('/') {
        let hint = if s.contains(':') { format!("write \"{s}/64\"") } else { format!("write \"{s}/24\"") };
        return Err((format!("address \"{s}\" has no prefix length"), hint));
    }
    s.parse::<IpNetwork>().map_err(|_| {
        (
            format!("address \"{s}\" is not a valid IPv4 or IPv6 CIDR"),
            "write an address with its prefix length, such as \"10.0.0.1/24\" or \"fd00::1/64\"".to_string(),
        )
    })
}

/// No address twice in the lab, and no two interfaces of one node on overlapping subnets:
/// every such problem, each at the later entry. Linear in the number of addresses (plus each
/// node's own): labs of thousands of links validate in milliseconds.
pub(super) fn check_addresses(src: &Source, links: &[(&S<RawLink>, Link)]) -> Vec<SpecError> {
    let mut problems = Vec::new();
    let mut by_ip: HashMap<IpAddr, (&Endpoint, usize)> = HashMap::new();
    let mut by_node: HashMap<&str, Vec<(IpNetwork, &Endpoint)>> = HashMap::new();
    let link_line = |li: usize| src.line_col(links[li].0.span().start).0;
    for (li, (raw, link)) in links.iter().enumerate() {
        for (ei, ep) in [&link.a, &link.b].into_iter().enumerate() {
            // Point at this endpoint's own entry of `addresses`.
            let span = raw
                .get_ref()
                .addresses
                .as_ref()
                .and_then(|a| a.get_ref().get(ei))
                .map(|e| e.span())
                .unwrap_or(0..0);
            'addrs: for addr in &ep.addrs {
                if let Some((oep, oli)) = by_ip.get(&addr.ip()) {
                    if oep.node == ep.node && oep.iface == ep.iface {
                        problems.push(src.error(
                            span.clone(),
                            format!("address {} is listed twice for {}:{}", addr.ip(), ep.node, ep.iface),
                            "keep one of them",
                        ));
                        continue;
                    }
                    problems.push(src.error(
                        span.clone(),
                        format!(
                            "address {} of {}:{} is already used by {}:{} (link on line {})",
                            addr.ip(),
                            ep.node,
                            ep.iface,
                            oep.node,
                            oep.iface,
                            link_line(*oli)
                        ),
                        "give each interface its own address",
                    ));
                    continue;
                }
                let mine = by_node.entry(ep.node.as_str()).or_default();
                for (other, oep) in mine.iter() {
                    let overlaps = other.is_ipv4() == addr.is_ipv4()
                        && (other.contains(addr.ip()) || addr.contains(other.ip()));
                    if oep.iface != ep.iface && overlaps {
                        problems.push(src.error(
                            span.clone(),
                            format!(
                                "address {addr} of {}:{} overlaps {other} of {}:{} on the same node",
                                ep.node, ep.iface, oep.node, oep.iface
                            ),
                            "put each interface of a node on its own subnet",
                        ));
                        continue 'addrs;
                    }
                }
                mine.push((*addr, ep));
                by_ip.insert(addr.ip(), (ep, li));
            }
        }
    }
    problems
}
