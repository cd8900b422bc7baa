//! One `[[links]]` entry → Link: its two endpoints (node, interface, addresses), the derived
//! switch port names, duplicate interface detection across links, mtu (at least 1280 with
//! IPv6) and shaping.

use super::addr::parse_addr_entry;
use super::R;
use crate::model::names::*;
use crate::model::types::*;
use crate::spec::raw::{RawLink, S};
use crate::spec::Source;
use std::collections::{BTreeMap, HashMap};
use std::ops::Range;

/// The least MTU of an interface with IPv6 (RFC 8200, and the kernel's `IPV6_MIN_MTU`).
const IPV6_MIN_MTU: u32 = 1280;

pub(super) fn resolve_link(
    src: &Source,
    nodes: &BTreeMap<String, Node>,
    raw: &S<RawLink>,
    ifaces: &mut HashMap<(String, String), Range<usize>>,
) -> R<Link> {
    let l = raw.get_ref();
    let (shape_a, shape_b) = crate::model::shape::resolve(src, l)?;
    let eps = l.endpoints.get_ref();
    if eps.len() != 2 {
        return Err(src.error(
            l.endpoints.span(),
            format!("a link needs exactly two endpoints, this one has {}", eps.len()),
            "write endpoints = [\"a:eth0\", \"b:eth0\"]",
        ));
    }
    let addr_entries: Vec<Option<&S<toml::Value>>> = match &l.addresses {
        None => vec![None, None],
        Some(a) if a.get_ref().len() == 2 => a.get_ref().iter().map(Some).collect(),
        Some(a) => return Err(src.error(
            a.span(),
            format!("addresses needs one entry per endpoint (2), found {}", a.get_ref().len()),
            "write addresses = [\"10.0.0.1/24\", \"10.0.0.2/24\"], with \"\" for an endpoint without address",
        )),
    };
    let mut parsed = Vec::new();
    for (ep, addrs) in eps.iter().zip(&addr_entries) {
        let (node, iface_given) = match ep.get_ref().split_once(':') {
            Some((n, i)) => (n, Some(i)),
            None => (ep.get_ref().as_str(), None),
        };
        let Some(n) = nodes.get(node) else {
            let known: Vec<&str> = nodes.keys().map(String::as_str).collect();
            return Err(src.error(
                ep.span(),
                format!("endpoint \"{}\" names node \"{node}\", which is not declared", ep.get_ref()),
                format!(
                    "{}declare [nodes.{node}] or use one of: {}",
                    crate::spec::suggest::did_you_mean(node, known.iter().copied()),
                    known.join(", ")
                ),
            ));
        };
        let addrs = match addrs {
            None => Vec::new(),
            Some(v) => parse_addr_entry(src, v)?,
        };
        if n.kind == NodeKind::Switch && !addrs.is_empty() {
            return Err(src.error(
                addrs_span(addrs_of(&addr_entries, ep, eps)),
                format!("switch port \"{}\" cannot have an address", ep.get_ref()),
                "write \"\" for the switch's end; put addresses on the hosts",
            ));
        }
        parsed.push((ep, n, iface_given, addrs));
    }
    let mut ends = Vec::new();
    for i in 0..2 {
        let (ep, n, iface_given, addrs) = &parsed[i];
        let (peer_ep, peer, peer_iface, _) = &parsed[1 - i];
        let iface = match iface_given {
            Some(i) => i.to_string(),
            None if n.kind == NodeKind::Switch => {
                let pi = peer_iface.map(str::to_string).unwrap_or_else(|| "port".into());
                switch_port_name(&peer.name, &pi)
            }
            None => {
                return Err(src.error(
                    ep.span(),
                    format!("endpoint \"{}\" needs an interface name", ep.get_ref()),
                    format!("write \"{}:eth0\"; only a switch end may omit it", n.name),
                ))
            }
        };
        let _ = peer_ep;
        if let Some(p) = iface_name_problem(&iface) {
            return Err(src.error(
                ep.span(),
                p,
                "use 1–15 characters without /, :, % or whitespace, such as \"eth0\"",
            ));
        }
        if iface == "lo" || (n.kind == NodeKind::Switch && iface == BRIDGE_NAME) {
            return Err(src.error(
                ep.span(),
                format!("interface name \"{iface}\" is reserved in node {}", n.name),
                "choose another name, such as \"eth1\"",
            ));
        }
        let key = (n.name.clone(), iface.clone());
        if let Some(first) = ifaces.get(&key) {
            let (line, _) = src.line_col(first.start);
            return Err(src.error(
                ep.span(),
                format!(
                    "interface \"{iface}\" of node {} is already used by the link on line {line}",
                    n.name
                ),
                "give this end another interface name, such as \"eth1\"",
            ));
        }
        ifaces.insert(key, ep.span());
        ends.push(Endpoint { node: n.name.clone(), iface, addrs: addrs.clone() });
    }
    let mtu = match &l.mtu {
        None => None,
        Some(m) if (68..=65535).contains(m.get_ref()) => Some(*m.get_ref() as u32),
        Some(m) => {
            return Err(src.error(
                m.span(),
                format!("mtu {} is out of range", m.get_ref()),
                "write an mtu between 68 and 65535, such as mtu = 1500",
            ))
        }
    };
    // Below 1280 the kernel drops an interface's IPv6 addresses (and refuses new ones).
    if let (Some(m), Some(v)) = (&l.mtu, mtu) {
        let v6 = ends.iter().flat_map(|e| e.addrs.iter().map(move |a| (e, a))).find(|(_, a)| a.is_ipv6());
        if let (true, Some((e, a))) = (v < IPV6_MIN_MTU, v6) {
            return Err(src.error(
                m.span(),
                format!("mtu {v} is too small for IPv6, and {}:{} has the IPv6 address {a}", e.node, e.iface),
                "IPv6 needs an MTU of at least 1280: raise mtu or drop the IPv6 addresses",
            ));
        }
    }
    let b = ends.pop().expect("two ends");
    let a = ends.pop().expect("two ends");
    Ok(Link { a, b, mtu, shape_a, shape_b })
}

fn addrs_of<'a>(
    entries: &[Option<&'a S<toml::Value>>],
    ep: &S<String>,
    eps: &[S<String>],
) -> Option<&'a S<toml::Value>> {
    let i = eps.iter().position(|e| std::ptr::eq(e, ep)).unwrap_or(0);
    entries[i]
}

fn addrs_span(v: Option<&S<toml::Value>>) -> Range<usize> {
    v.map(|v| v.span()).unwrap_or(0..0)
}
