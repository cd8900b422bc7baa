//! A node's `routes` → Route values: destination, next hops (`gateway.rs`), metric, and no two
//! routes that the kernel would keep as one (same destination, same metric as the kernel
//! stores it).

mod gateway;
#[cfg(test)]
mod tests;

use super::addr::parse_cidr;
use super::R;
use crate::model::route_metric::kernel_metric;
use crate::model::types::*;
use crate::spec::raw::{RawRoute, S};
use crate::spec::Source;
use gateway::{parse_via, Gateways};
use ipnetwork::IpNetwork;
use std::net::IpAddr;
use std::ops::Range;

/// `my_ifaces`: the node's ends of links. Each route is checked even when another is in error:
/// the errors of all of them are returned together.
pub(super) fn resolve_routes(
    src: &Source,
    node: &Node,
    my_ifaces: &[&Endpoint],
    raw: &[S<RawRoute>],
) -> R<Vec<Route>> {
    let gateways = Gateways { src, node, ifaces: my_ifaces };
    let mut out: Vec<(Route, Range<usize>)> = Vec::new();
    let mut problems = crate::error::Problems::default();
    for r in raw {
        let Some(route) = problems.keep(resolve_route(src, &gateways, r)) else { continue };
        if let Some((first, span)) = out.iter().find(|(o, _)| collide(o, &route)) {
            problems.push(collision(src, node, first, span, &route, r.span()));
            continue;
        }
        out.push((route, r.span()));
    }
    problems.finish(out.into_iter().map(|(r, _)| r).collect())
}

/// One route: its next hops, destination and metric.
fn resolve_route(src: &Source, gateways: &Gateways, r: &S<RawRoute>) -> R<Route> {
    let rr = r.get_ref();
    let via = parse_via(src, r)?;
    if via.first().is_none() && rr.dev.is_none() {
        return Err(src.error(
            r.span(),
            "a route needs a gateway (via) or an interface (dev)".to_string(),
            "write { to = \"default\", via = \"10.0.0.1\" }",
        ));
    }
    let dst = destination(src, r, via.first())?;
    let next = gateways.resolve(&dst, r, via)?;
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
    Ok(Route { dst, next, metric })
}

/// The checks of a node's routes that need none of its interfaces (destination, next hops as
/// written, metric): what can be said of the routes of a node one of whose links is in error.
/// One error per route that has one.
pub(super) fn check_routes_alone(src: &Source, raw: &[S<RawRoute>]) -> Vec<crate::error::SpecError> {
    let mut problems = Vec::new();
    for r in raw {
        let checked = parse_via(src, r).and_then(|via| destination(src, r, via.first()));
        if let Err(e) = checked {
            problems.push(e);
        }
    }
    problems
}

/// `to`: "default" (of the family of the first gateway) or a network.
fn destination(src: &Source, r: &S<RawRoute>, first: Option<IpAddr>) -> R<IpNetwork> {
    let to = &r.get_ref().to;
    let dst = match to.get_ref().as_str() {
        // A word that is no network: most likely a misspelt "default".
        s if s != "default"
            && !s.contains(['/', ':', '.'])
            && !s.starts_with(|c: char| c.is_ascii_digit()) =>
        {
            let hint = match crate::spec::suggest::closest(s, ["default"]) {
                Some(_) => "did you mean \"default\"? write to = \"default\"".to_string(),
                None => "write to = \"default\" or a network such as to = \"10.1.0.0/16\"".to_string(),
            };
            return Err(src.error(
                to.span(),
                format!("destination \"{s}\" is neither \"default\" nor a network"),
                hint,
            ));
        }
        "default" => match first {
            Some(IpAddr::V6(_)) => "::/0".parse().expect("constant"),
            _ => "0.0.0.0/0".parse().expect("constant"),
        },
        s => parse_cidr(s).map_err(|(m, h)| {
            let hint = match s.parse::<IpAddr>() {
                Ok(IpAddr::V4(ip)) => format!(
                    "write a network such as \"{}/24\", or \"{ip}/32\" for one host",
                    IpNetwork::new(IpAddr::V4(ip), 24).map(|n| n.network().to_string()).unwrap_or_default()
                ),
                Ok(IpAddr::V6(ip)) => format!(
                    "write a network such as \"{}/64\", or \"{ip}/128\" for one host",
                    IpNetwork::new(IpAddr::V6(ip), 64).map(|n| n.network().to_string()).unwrap_or_default()
                ),
                Err(_) => h,
            };
            src.error(to.span(), m.replace("address", "destination"), &hint)
        })?,
    };
    // Routes name a network, not a host inside it.
    Ok(IpNetwork::new(dst.network(), dst.prefix()).expect("prefix kept"))
}

/// Whether the kernel keeps two routes as one: one destination, one metric as it stores it.
fn collide(a: &Route, b: &Route) -> bool {
    a.dst == b.dst && kernel_metric(&a.dst, a.metric) == kernel_metric(&b.dst, b.metric)
}

/// The error for `second`, which collides with `first` (at `first_span`).
fn collision(
    src: &Source,
    node: &Node,
    first: &Route,
    first_span: &Range<usize>,
    second: &Route,
    span: Range<usize>,
) -> crate::error::SpecError {
    let (line, _) = src.line_col(first_span.start);
    let dst = second.dst;
    // As `ip route` names it.
    let to = if dst.prefix() == 0 { "default".to_string() } else { dst.to_string() };
    if first.metric == second.metric {
        return src.error(
            span,
            format!(
                "node {} has two routes to {to} with the same metric; the first is on line {line}",
                node.name
            ),
            "remove one, or give them different metrics",
        );
    }
    let metric = kernel_metric(&dst, second.metric);
    let why = if dst.is_ipv4() {
        "an IPv4 route without a metric has metric 0"
    } else {
        "an IPv6 route without a metric, or with metric = 0, has metric 1024"
    };
    src.error(
        span,
        format!(
            "node {} has two routes to {to} that the kernel keeps as one (metric {metric}); the first is on line {line}",
            node.name
        ),
        format!("{why}: remove one, or give them different metrics"),
    )
}
