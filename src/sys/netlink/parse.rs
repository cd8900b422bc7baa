//! Netlink messages, as netlink-packet-route reads them (for `events`), in netlab's shapes: a
//! link's name and alias; a main-table unicast route with its next hops and protocol.

use crate::state::{NextHop, RouteState};
use ipnetwork::IpNetwork;
use netlink_packet_route::link::{LinkAttribute, LinkMessage};
use netlink_packet_route::route::{
    RouteAddress, RouteAttribute, RouteHeader, RouteMessage, RouteType, RouteVia,
};
use std::collections::HashMap;
use std::net::IpAddr;

pub(super) fn link_name(l: &LinkMessage) -> Option<&str> {
    l.attributes.iter().find_map(|a| if let LinkAttribute::IfName(n) = a { Some(n.as_str()) } else { None })
}

pub(super) fn link_alias(l: &LinkMessage) -> Option<String> {
    l.attributes.iter().find_map(|a| if let LinkAttribute::IfAlias(n) = a { Some(n.clone()) } else { None })
}

fn route_addr(a: &RouteAddress) -> Option<IpAddr> {
    match a {
        RouteAddress::Inet(v) => Some(IpAddr::V4(*v)),
        RouteAddress::Inet6(v) => Some(IpAddr::V6(*v)),
        _ => None,
    }
}

/// A main-table unicast route as netlab models it, with its protocol.
pub(super) fn route_state(r: &RouteMessage, names: &HashMap<u32, String>) -> Option<(RouteState, u8)> {
    let table = r
        .attributes
        .iter()
        .find_map(|a| if let RouteAttribute::Table(t) = a { Some(*t) } else { None })
        .unwrap_or(r.header.table as u32);
    if table != RouteHeader::RT_TABLE_MAIN as u32 || r.header.kind != RouteType::Unicast {
        return None;
    }
    let mut dst: IpAddr = if r.header.address_family == netlink_packet_route::AddressFamily::Inet6 {
        "::".parse().ok()?
    } else {
        "0.0.0.0".parse().ok()?
    };
    let (mut via, mut dev, mut metric, mut hops) = (None, None, 0, Vec::new());
    for a in &r.attributes {
        match a {
            RouteAttribute::Destination(d) => dst = route_addr(d)?,
            RouteAttribute::Gateway(g) => via = route_addr(g),
            RouteAttribute::Oif(i) => dev = names.get(i).cloned(),
            RouteAttribute::Priority(p) => metric = *p,
            RouteAttribute::MultiPath(nh) => {
                for h in nh {
                    let gw = h.attributes.iter().find_map(|a| match a {
                        RouteAttribute::Gateway(g) => route_addr(g),
                        RouteAttribute::Via(RouteVia::Inet(v)) => Some(IpAddr::V4(*v)),
                        RouteAttribute::Via(RouteVia::Inet6(v)) => Some(IpAddr::V6(*v)),
                        _ => None,
                    });
                    let Some(gw) = gw else { continue };
                    hops.push(NextHop {
                        via: gw,
                        dev: names.get(&h.interface_index).cloned(),
                        weight: h.hops as u16 + 1,
                    });
                }
            }
            _ => {}
        }
    }
    hops.sort();
    let dst = IpNetwork::new(dst, r.header.destination_prefix_length).ok()?;
    Some((RouteState { dst, via, dev, metric, hops }, u8::from(r.header.protocol)))
}
