//! A node's `routes` → Route values: destination, gateway reachable from one of the node's
//! links, device, metric, and no two routes to one destination with one metric.

use super::addr::parse_cidr;
use super::R;
use crate::model::types::*;
use crate::spec::raw::{RawRoute, S};
use crate::spec::Source;
use ipnetwork::IpNetwork;
use std::net::IpAddr;

/// `my_ifaces`: the node's ends of links.
pub(super) fn resolve_routes(
    src: &Source,
    node: &Node,
    my_ifaces: &[&Endpoint],
    raw: &[S<RawRoute>],
) -> R<Vec<Route>> {
    let mut out: Vec<Route> = Vec::new();
    for r in raw {
        let rr = r.get_ref();
        let via = match &rr.via {
            None => None,
            Some(v) => Some(v.get_ref().parse::<IpAddr>().map_err(|_| {
                src.error(
                    v.span(),
                    format!("gateway \"{}\" is not an IP address", v.get_ref()),
                    "write via = \"10.0.0.1\" (no prefix length)",
                )
            })?),
        };
        let dev = rr.dev.as_ref().map(|d| d.get_ref().clone());
        if via.is_none() && dev.is_none() {
            return Err(src.error(
                r.span(),
                "a route needs a gateway (via) or an interface (dev)".to_string(),
                "write { to = \"default\", via = \"10.0.0.1\" }",
            ));
        }
        let dst = match rr.to.get_ref().as_str() {
            "default" => match via {
                Some(IpAddr::V6(_)) => "::/0".parse().expect("constant"),
                _ => "0.0.0.0/0".parse().expect("constant"),
            },
            s => parse_cidr(s).map_err(|(m, h)| {
                let hint = match s.parse::<IpAddr>() {
                    Ok(IpAddr::V4(ip)) => format!(
                        "write a network such as \"{}/24\", or \"{ip}/32\" for one host",
                        IpNetwork::new(IpAddr::V4(ip), 24)
                            .map(|n| n.network().to_string())
                            .unwrap_or_default()
                    ),
                    Ok(IpAddr::V6(ip)) => format!(
                        "write a network such as \"{}/64\", or \"{ip}/128\" for one host",
                        IpNetwork::new(IpAddr::V6(ip), 64)
                            .map(|n| n.network().to_string())
                            .unwrap_or_default()
                    ),
                    Err(_) => h,
                };
                src.error(rr.to.span(), m.replace("address", "destination"), &hint)
            })?,
        };
        // Routes name a network, not a host inside it.
        let dst = IpNetwork::new(dst.network(), dst.prefix()).expect("prefix kept");
        if let Some(v) = via {
            if v.is_ipv4() != dst.is_ipv4() {
                let span = rr.via.as_ref().map(|v| v.span()).unwrap_or(r.span());
                return Err(src.error(
                    span,
                    format!("route to {dst} has a gateway {v} of the other IP family"),
                    "use an IPv4 gateway for IPv4 routes and IPv6 for IPv6",
                ));
            }
        }
        if let (Some(d), NodeKind::Netns) = (&dev, node.kind) {
            if !my_ifaces.iter().any(|e| &e.iface == d) {
                let names: Vec<&str> = my_ifaces.iter().map(|e| e.iface.as_str()).collect();
                let span = rr.dev.as_ref().map(|d| d.span()).unwrap_or(r.span());
                return Err(src.error(
                    span,
                    format!("node {} has no interface \"{d}\"", node.name),
                    format!(
                        "use one of its interfaces: {}",
                        if names.is_empty() { "(none: add a link)".into() } else { names.join(", ") }
                    ),
                ));
            }
        }
        if let Some(v) = via {
            let candidates = my_ifaces.iter().filter(|e| dev.as_ref().is_none_or(|d| &e.iface == d));
            let reachable = candidates.flat_map(|e| e.addrs.iter()).any(|a| a.contains(v));
            let host_dev_outside_lab = node.kind == NodeKind::Host
                && dev.as_ref().is_some_and(|d| !my_ifaces.iter().any(|e| &e.iface == d));
            if !reachable && !host_dev_outside_lab {
                let span = rr.via.as_ref().map(|v| v.span()).unwrap_or(r.span());
                if let Some(d) = &dev {
                    let nets: Vec<String> = my_ifaces
                        .iter()
                        .filter(|e| &e.iface == d)
                        .flat_map(|e| e.addrs.iter())
                        .filter(|a| a.is_ipv4() == v.is_ipv4())
                        .map(|a| a.to_string())
                        .collect();
                    let on: Vec<&str> = my_ifaces
                        .iter()
                        .filter(|e| e.addrs.iter().any(|a| a.contains(v)))
                        .map(|e| e.iface.as_str())
                        .collect();
                    let hint = match on.first() {
                        Some(other) => format!("use dev = \"{other}\", or a gateway on a subnet of {d}"),
                        None => format!("use a gateway on a subnet of {d}"),
                    };
                    let have = if nets.is_empty() {
                        "no address of that family".to_string()
                    } else {
                        nets.join(", ")
                    };
                    return Err(src.error(
                        span,
                        format!("gateway {v} is not on a subnet of {}:{d} ({have})", node.name),
                        &hint,
                    ));
                }
                return Err(src.error(span, format!("gateway {v} of node {} is on none of its links' subnets", node.name), "use an address inside a subnet of one of the node's interfaces, or add an address on that subnet to a link"));
            }
        }
        let metric = match &rr.metric {
            None => None,
            Some(m) => Some(u32::try_from(*m.get_ref()).map_err(|_| {
                src.error(
                    m.span(),
                    format!("metric {} is out of range", m.get_ref()),
                    "write a metric between 0 and 4294967295",
                )
            })?),
        };
        let route = Route { dst, via, dev, metric };
        if out.iter().any(|o| o.dst == route.dst && o.metric == route.metric) {
            return Err(src.error(
                r.span(),
                format!("node {} has two routes to {dst} with the same metric", node.name),
                "remove one, or give them different metrics",
            ));
        }
        out.push(route);
    }
    Ok(out)
}
