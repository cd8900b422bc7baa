//! `[[check]]` entries → Checks: the node each runs from, its single probe, the expected
//! outcome, its timeout (with the duration syntax it accepts) and its name, unique in the lab.

mod ping_all;
mod throughput;

use super::R;
use crate::error::Problems;
use crate::model::duration;
use crate::model::types::*;
use crate::spec::raw::{RawCheck, S};
use crate::spec::Source;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

/// The longest a check may wait for its answer.
const MAX_CHECK_TIMEOUT: Duration = Duration::from_secs(300);

/// The probe keys of a check, of which it takes exactly one.
const PROBE_KEYS: &str = "ping, connect, connect_udp, ping_all, throughput";

/// Every check of the file that resolves, in file order; the errors of the others are kept
/// in `problems`, and two checks of one name are refused at the second.
pub(super) fn resolve_checks(
    src: &Source,
    nodes: &BTreeMap<String, Node>,
    links: &[Link],
    raw: &[&S<RawCheck>],
    problems: &mut Problems,
) -> Vec<Check> {
    let mut checks: Vec<Check> = Vec::with_capacity(raw.len());
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for c in raw {
        let Some(check) = problems.keep(resolve_check(src, nodes, links, c)) else { continue };
        if let Some(first) = seen.get(&check.name) {
            let span = c.get_ref().name.as_ref().map(|n| n.span()).unwrap_or(c.span());
            let hint = if c.get_ref().name.is_some() {
                "give each [[check]] a name of its own".to_string()
            } else {
                "this check repeats an earlier one: remove it, or give it a name = \"...\" of its own"
                    .to_string()
            };
            problems.push(src.error(
                span,
                format!("a check named \"{}\" is already on line {first}", check.name),
                hint,
            ));
            continue;
        }
        seen.insert(check.name.clone(), check.line);
        checks.push(check);
    }
    checks
}

/// One check table (a `[[check]]` entry, or a check inlined in another table).
pub(crate) fn resolve_check(
    src: &Source,
    nodes: &BTreeMap<String, Node>,
    links: &[Link],
    c: &S<RawCheck>,
) -> R<Check> {
    let rc = c.get_ref();
    let given: Vec<(&str, std::ops::Range<usize>)> = [
        ("ping", rc.ping.as_ref().map(|v| v.span())),
        ("connect", rc.connect.as_ref().map(|v| v.span())),
        ("connect_udp", rc.connect_udp.as_ref().map(|v| v.span())),
        ("ping_all", rc.ping_all.as_ref().map(|v| v.span())),
        ("throughput", rc.throughput.as_ref().map(|v| v.span())),
    ]
    .into_iter()
    .filter_map(|(k, s)| s.map(|s| (k, s)))
    .collect();
    match given.as_slice() {
        [] => {
            return Err(src.error(
                c.span(),
                format!("a check needs one of {PROBE_KEYS}"),
                "write ping = \"10.0.0.2\" or connect = \"10.0.0.2:80\"",
            ))
        }
        [_] => {}
        [(first, _), (second, span), ..] => {
            return Err(src.error(
                span.clone(),
                format!("a check can probe one target only, and this one has {first} and {second}"),
                format!("keep only one of {PROBE_KEYS}; write another [[check]] for the other"),
            ))
        }
    }
    let line = src.line_col(c.span().start).0;
    let (from, probe) = if let Some(all) = &rc.ping_all {
        if let Some(f) = &rc.from {
            return Err(src.error(
                f.span(),
                "ping_all runs from each of its nodes: it takes no from",
                "remove from, or list the nodes: ping_all = [\"a\", \"b\"]",
            ));
        }
        let (listed, pairs) = ping_all::resolve(src, nodes, links, all)?;
        (listed[0].clone(), Probe::PingAll { nodes: listed, pairs })
    } else {
        let from = resolve_from(src, nodes, c)?;
        let probe = match &rc.throughput {
            Some(t) => Probe::Throughput(throughput::resolve(src, nodes, links, &from, t)?),
            None => single_probe(src, rc)?,
        };
        (from, probe)
    };
    let expect_ok = match rc.expect.as_ref().map(|e| (e.get_ref().as_str(), e.span())) {
        None | Some(("ok", _)) => true,
        Some(("fail", _)) => false,
        Some((other, span)) => {
            return Err(src.error(
                span,
                format!("expect \"{other}\" is neither \"ok\" nor \"fail\""),
                "write expect = \"ok\" or expect = \"fail\"",
            ))
        }
    };
    let name = rc.name.as_ref().map(|n| n.get_ref().clone()).unwrap_or_else(|| default_name(&from, &probe));
    let timeout = match &rc.timeout {
        None => CHECK_TIMEOUT,
        Some(t) => duration::of_file(src, "timeout", t, Duration::from_millis(1), MAX_CHECK_TIMEOUT, "3s")?,
    };
    Ok(Check { name, from, probe, expect_ok, timeout, line })
}

/// The name a check gets when the file gives none: "FROM: TARGET" ("h1: ping 10.0.0.2",
/// "a: throughput to b"), and for `ping_all` its target alone ("ping_all a, b, c").
pub fn default_name(from: &str, probe: &Probe) -> String {
    match probe {
        Probe::PingAll { .. } => probe.to_string(),
        _ => format!("{from}: {probe}"),
    }
}

/// The node a probe runs from: declared, and not a switch.
fn resolve_from(src: &Source, nodes: &BTreeMap<String, Node>, c: &S<RawCheck>) -> R<String> {
    let known = || -> String {
        let v: Vec<&str> =
            nodes.values().filter(|n| n.kind != NodeKind::Switch).map(|n| n.name.as_str()).collect();
        v.join(", ")
    };
    let Some(f) = &c.get_ref().from else {
        return Err(src.error(
            c.span(),
            "a check needs from, the node its probe runs from",
            format!("write from = \"NODE\", one of: {}", known()),
        ));
    };
    let from = f.get_ref();
    match nodes.get(from) {
        None => Err(src.error(
            f.span(),
            format!("check from node \"{from}\", which is not declared"),
            format!(
                "{}use one of: {}",
                crate::spec::suggest::did_you_mean(
                    from,
                    nodes.values().filter(|n| n.kind != NodeKind::Switch).map(|n| n.name.as_str())
                ),
                known()
            ),
        )),
        Some(n) if n.kind == NodeKind::Switch => Err(src.error(
            f.span(),
            format!("check from switch \"{from}\": a switch has no addresses"),
            "run the check from a node plugged into the switch",
        )),
        Some(_) => Ok(from.clone()),
    }
}

/// ping, connect or connect_udp.
fn single_probe(src: &Source, rc: &RawCheck) -> R<Probe> {
    if let Some(p) = &rc.ping {
        return Ok(Probe::Ping(p.get_ref().parse().map_err(|_| {
            src.error(
                p.span(),
                format!("ping target \"{}\" is not an IP address", p.get_ref()),
                "write ping = \"10.0.0.2\"",
            )
        })?));
    }
    let (v, udp) = rc
        .connect
        .as_ref()
        .map(|v| (v, false))
        .or(rc.connect_udp.as_ref().map(|v| (v, true)))
        .expect("one target");
    let sa: SocketAddr = v.get_ref().parse().map_err(|_| {
        src.error(
            v.span(),
            format!("\"{}\" is not IP:PORT", v.get_ref()),
            "write \"10.0.0.2:80\" or \"[fd00::2]:80\"",
        )
    })?;
    Ok(if udp { Probe::ConnectUdp(sa) } else { Probe::Connect(sa) })
}

/// The addresses a node holds on its lab links, in file order, with the interface of each;
/// link-local and multicast ones left out (they name no one place).
pub(super) fn lab_addresses<'a>(
    links: &'a [Link],
    node: &'a str,
) -> impl Iterator<Item = (std::net::IpAddr, &'a str)> + 'a {
    links
        .iter()
        .flat_map(|l| [&l.a, &l.b])
        .filter(move |e| e.node == node)
        .flat_map(|e| e.addrs.iter().map(move |a| (a.ip(), e.iface.as_str())))
        .filter(|(ip, _)| match ip {
            std::net::IpAddr::V4(v4) => !v4.is_link_local() && !v4.is_multicast(),
            std::net::IpAddr::V6(v6) => !v6.is_unicast_link_local() && !v6.is_multicast(),
        })
}

#[cfg(test)]
mod tests;
