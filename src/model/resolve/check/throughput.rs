//! `throughput = { to, min, max, duration, port, proto }`: where the sink runs, the bounds
//! the measured rate must fall within, and for how long the sender sends.

use super::super::R;
use crate::model::types::*;
use crate::model::{duration, shape};
use crate::spec::raw::{RawThroughput, S};
use crate::spec::Source;
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::Duration;

/// How long the sender sends when the file does not say.
pub const DEFAULT_DURATION: Duration = Duration::from_secs(2);
/// The sink's port when the file does not say (iperf3's).
pub const DEFAULT_PORT: u16 = 5201;

pub(super) fn resolve(
    src: &Source,
    nodes: &BTreeMap<String, Node>,
    links: &[Link],
    from: &str,
    t: &S<RawThroughput>,
) -> R<Throughput> {
    let rt = t.get_ref();
    let to = rt.to.get_ref();
    // A node's name, or one of its addresses.
    let (to_node, ip) = match to.parse::<IpAddr>() {
        Ok(ip) => {
            let holder = nodes.keys().find(|n| super::lab_addresses(links, n).any(|(a, _)| a == ip));
            match holder {
                Some(n) => (n.clone(), ip),
                None => {
                    return Err(src.error(
                        rt.to.span(),
                        format!("throughput to {ip}, which no node of the lab holds"),
                        "write to = \"NODE\" or one of a node's addresses: netlab starts the sink there",
                    ))
                }
            }
        }
        Err(_) => match nodes.get(to) {
            None => {
                return Err(src.error(
                    rt.to.span(),
                    format!("throughput to node \"{to}\", which is not declared"),
                    "write to = \"NODE\" (a declared node) or one of its addresses",
                ))
            }
            Some(n) if n.kind == NodeKind::Switch => {
                return Err(src.error(
                    rt.to.span(),
                    format!("throughput to switch \"{to}\": a switch has no addresses"),
                    "measure to a node plugged into the switch",
                ))
            }
            Some(_) => match super::lab_addresses(links, to).next() {
                Some((ip, _)) => (to.clone(), ip),
                None => {
                    return Err(src.error(
                        rt.to.span(),
                        format!("throughput to node \"{to}\", which has no address on a link"),
                        "give the node an address on one of its links",
                    ))
                }
            },
        },
    };
    if to_node == from {
        return Err(src.error(
            rt.to.span(),
            format!("throughput from \"{from}\" to itself measures no link"),
            "measure to another node",
        ));
    }
    let rate = |v: &Option<S<String>>, key: &str| -> R<Option<u64>> {
        v.as_ref()
            .map(|r| {
                shape::parse_rate(r.get_ref()).map_err(|why| {
                    // The parser's own advice is the hint below.
                    let why = why.split("; ").next().unwrap_or_default();
                    src.error(
                        r.span(),
                        format!("throughput {key}: {why}"),
                        "write e.g. \"50mbit\" or \"1gbit\"",
                    )
                })
            })
            .transpose()
    };
    let (min, max) = (rate(&rt.min, "min")?, rate(&rt.max, "max")?);
    if min.is_none() && max.is_none() {
        return Err(src.error(
            t.span(),
            "a throughput check needs min or max, the rate it must reach or stay under",
            "write throughput = { to = \"b\", min = \"50mbit\" }",
        ));
    }
    if let (Some(lo), Some(hi), Some(m)) = (min, max, &rt.max) {
        if lo > hi {
            return Err(src.error(m.span(), "throughput max is below its min", "write a max above the min"));
        }
    }
    let duration = match &rt.duration {
        None => DEFAULT_DURATION,
        Some(d) => {
            duration::of_file(src, "duration", d, Duration::from_millis(100), Duration::from_secs(60), "2s")?
        }
    };
    let port = match &rt.port {
        None => DEFAULT_PORT,
        Some(p) => u16::try_from(*p.get_ref()).ok().filter(|p| *p > 0).ok_or_else(|| {
            src.error(p.span(), format!("port {} is not 1–65535", p.get_ref()), "write port = 5201")
        })?,
    };
    let proto = match rt.proto.as_ref().map(|p| (p.get_ref().as_str(), p.span())) {
        None | Some(("tcp", _)) => Transport::Tcp,
        Some(("udp", span)) => {
            // A UDP measure needs a sender paced at a target rate and a loss count; netlab
            // does not pretend to one it does not have.
            return Err(src.error(
                span,
                "throughput over udp is not supported: netlab measures tcp only",
                "remove proto, or write proto = \"tcp\"",
            ));
        }
        Some((other, span)) => {
            return Err(src.error(span, format!("proto \"{other}\" is not tcp"), "write proto = \"tcp\""))
        }
    };
    Ok(Throughput { to_node, to: ip, port, proto, min, max, duration })
}
