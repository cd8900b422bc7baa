//! A route's next hops: `via` as one gateway or a list of them, each of the route's family,
//! on a subnet of the node (of its `dev` when given), `dev` one of the node's interfaces.

use super::super::R;
use crate::model::types::*;
use crate::spec::raw::{RawHop, RawRoute, RawVia, S};
use crate::spec::Source;
use ipnetwork::IpNetwork;
use std::net::IpAddr;
use std::ops::Range;

/// The most flows a hop may take relative to the others (`weight`, as `ip route` takes it).
const MAX_WEIGHT: i64 = 256;

/// What `via` says before the destination is known: its gateways, located.
pub(super) enum Via<'a> {
    One(Option<(IpAddr, Range<usize>)>),
    /// Each gateway with the span of its address and the hop as written.
    Hops(Vec<(IpAddr, Range<usize>, &'a S<RawHop>)>),
}

impl Via<'_> {
    /// The first gateway: it decides the family of `to = "default"`.
    pub(super) fn first(&self) -> Option<IpAddr> {
        match self {
            Via::One(v) => v.as_ref().map(|(ip, _)| *ip),
            Via::Hops(h) => h.first().map(|(ip, _, _)| *ip),
        }
    }
}

fn parse_gateway(src: &Source, s: &S<String>, hint: &str) -> R<IpAddr> {
    let ip = s.get_ref().parse::<IpAddr>().map_err(|_| {
        src.error(s.span(), format!("gateway \"{}\" is not an IP address", s.get_ref()), hint)
    })?;
    if let Some(why) = crate::model::addr_class::gateway_problem(ip, None) {
        return Err(src.error(
            s.span(),
            why,
            "use the unicast address of a neighbour on one of the node's subnets",
        ));
    }
    Ok(ip)
}

/// Parses `via`: the gateway strings and the shape of the list, nothing that needs the node.
pub(super) fn parse_via<'a>(src: &Source, r: &'a S<RawRoute>) -> R<Via<'a>> {
    let rr = r.get_ref();
    let Some(v) = &rr.via else { return Ok(Via::One(None)) };
    let hops = match v.get_ref() {
        RawVia::One(s) => {
            let s = S::new(v.span(), s.clone());
            let ip = parse_gateway(src, &s, "write via = \"10.0.0.1\" (no prefix length)")?;
            return Ok(Via::One(Some((ip, v.span()))));
        }
        RawVia::Hops(h) => h,
    };
    if hops.len() < 2 {
        let hint = match hops.first() {
            Some(h) => format!(
                "write via = \"{}\" for one gateway, or add a second next hop",
                h.get_ref().via.get_ref()
            ),
            None => "list two gateways or more, such as via = [\"10.0.1.2\", \"10.0.2.2\"]".to_string(),
        };
        return Err(src.error(
            v.span(),
            format!("a list of gateways needs at least two next hops, this one has {}", hops.len()),
            hint,
        ));
    }
    if let Some(d) = &rr.dev {
        return Err(src.error(
            d.span(),
            "a route with a list of gateways has no dev of its own: each next hop has one".to_string(),
            format!(
                "move it into the hop, such as {{ via = \"{}\", dev = \"{}\" }}",
                hops[0].get_ref().via.get_ref(),
                d.get_ref()
            ),
        ));
    }
    let mut out = Vec::new();
    for h in hops {
        let ip =
            parse_gateway(src, &h.get_ref().via, "write a gateway such as \"10.0.0.1\" (no prefix length)")?;
        out.push((ip, h.get_ref().via.span(), h));
    }
    Ok(Via::Hops(out))
}

/// The node's interfaces and what a gateway needs of them.
pub(super) struct Gateways<'a> {
    pub src: &'a Source,
    pub node: &'a Node,
    /// The node's ends of links.
    pub ifaces: &'a [&'a Endpoint],
}

impl Gateways<'_> {
    /// A gateway of the route's family.
    pub(super) fn family(&self, dst: &IpNetwork, v: IpAddr, span: Range<usize>) -> R<()> {
        if v.is_ipv4() == dst.is_ipv4() {
            return Ok(());
        }
        Err(self.src.error(
            span,
            format!("route to {dst} has a gateway {v} of the other IP family"),
            "use an IPv4 gateway for IPv4 routes and IPv6 for IPv6",
        ))
    }

    /// `dev` names one of the node's interfaces (a host node may name its own, outside the lab).
    pub(super) fn dev(&self, d: &S<String>) -> R<String> {
        let (node, d_name) = (self.node, d.get_ref());
        if node.kind == NodeKind::Netns && !self.ifaces.iter().any(|e| &e.iface == d_name) {
            let names: Vec<&str> = self.ifaces.iter().map(|e| e.iface.as_str()).collect();
            return Err(self.src.error(
                d.span(),
                format!("node {} has no interface \"{d_name}\"", node.name),
                format!(
                    "use one of its interfaces: {}",
                    if names.is_empty() { "(none: add a link)".into() } else { names.join(", ") }
                ),
            ));
        }
        Ok(d_name.clone())
    }

    /// The gateway is on a subnet of the node's interfaces (of `dev` when given).
    pub(super) fn reachable(&self, v: IpAddr, dev: Option<&String>, span: Range<usize>) -> R<()> {
        let (src, node, mine) = (self.src, self.node, self.ifaces);
        if let Some(e) = mine.iter().find(|e| e.addrs.iter().any(|a| a.ip() == v)) {
            return Err(src.error(
                span,
                format!(
                    "gateway {v} is node {}'s own address (on {}): a route cannot go through the node itself (for IPv6 the kernel refuses it)",
                    node.name, e.iface
                ),
                "use the address of the neighbour at the other end of the link",
            ));
        }
        let candidates = mine.iter().filter(|e| dev.is_none_or(|d| &e.iface == d));
        if let Some(net) = candidates.clone().flat_map(|e| e.addrs.iter()).find(|a| a.contains(v)) {
            if let Some(why) = crate::model::addr_class::gateway_problem(v, Some(net)) {
                return Err(src.error(span, why, "use the unicast address of a neighbour on that subnet"));
            }
        }
        let reachable = candidates.flat_map(|e| e.addrs.iter()).any(|a| a.contains(v));
        let host_dev_outside_lab =
            node.kind == NodeKind::Host && dev.is_some_and(|d| !mine.iter().any(|e| &e.iface == d));
        if reachable || host_dev_outside_lab {
            return Ok(());
        }
        let Some(d) = dev else {
            return Err(src.error(
                span,
                format!("gateway {v} of node {} is on none of its links' subnets", node.name),
                "use an address inside a subnet of one of the node's interfaces, or add an address on that subnet to a link",
            ));
        };
        let nets: Vec<String> = mine
            .iter()
            .filter(|e| &e.iface == d)
            .flat_map(|e| e.addrs.iter())
            .filter(|a| a.is_ipv4() == v.is_ipv4())
            .map(|a| a.to_string())
            .collect();
        let on: Vec<&str> =
            mine.iter().filter(|e| e.addrs.iter().any(|a| a.contains(v))).map(|e| e.iface.as_str()).collect();
        let hint = match on.first() {
            Some(other) => format!("use dev = \"{other}\", or a gateway on a subnet of {d}"),
            None => format!("use a gateway on a subnet of {d}"),
        };
        let have = if nets.is_empty() { "no address of that family".to_string() } else { nets.join(", ") };
        Err(src.error(span, format!("gateway {v} is not on a subnet of {}:{d} ({have})", node.name), &hint))
    }

    /// The next hops of a route to `dst`, `via` already parsed.
    pub(super) fn resolve(&self, dst: &IpNetwork, r: &S<RawRoute>, via: Via) -> R<NextHops> {
        let rr = r.get_ref();
        let hops = match via {
            Via::One(v) => {
                if let Some((ip, span)) = &v {
                    self.family(dst, *ip, span.clone())?;
                }
                let dev = rr.dev.as_ref().map(|d| self.dev(d)).transpose()?;
                if let Some((ip, span)) = &v {
                    self.reachable(*ip, dev.as_ref(), span.clone())?;
                }
                return Ok(NextHops::One { via: v.map(|(ip, _)| ip), dev });
            }
            Via::Hops(h) => h,
        };
        let mut out: Vec<Hop> = Vec::new();
        for (ip, span, h) in hops {
            self.family(dst, ip, span.clone())?;
            if out.iter().any(|o| o.via == ip) {
                return Err(self.src.error(
                    h.span(),
                    format!("next hop {ip} is listed twice in the route to {dst}"),
                    format!(
                        "list each gateway once; a weight gives a hop a larger share, such as {{ via = \"{ip}\", weight = 2 }}"
                    ),
                ));
            }
            out.push(self.hop(ip, span, h)?);
        }
        Ok(NextHops::Multipath(out))
    }

    fn hop(&self, via: IpAddr, span: Range<usize>, h: &S<RawHop>) -> R<Hop> {
        let h = h.get_ref();
        let dev = h.dev.as_ref().map(|d| self.dev(d)).transpose()?;
        self.reachable(via, dev.as_ref(), span)?;
        let weight = match &h.weight {
            None => None,
            Some(w) if (1..=MAX_WEIGHT).contains(w.get_ref()) => Some(*w.get_ref() as u16),
            Some(w) => {
                return Err(self.src.error(
                    w.span(),
                    format!("weight {} is out of range", w.get_ref()),
                    "write a weight between 1 and 256 (a hop without one has weight 1)",
                ))
            }
        };
        Ok(Hop { via, dev, weight })
    }
}
