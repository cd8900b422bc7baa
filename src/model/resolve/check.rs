//! One `[[check]]` entry → Check: the node it runs from, its single probe, the expected
//! outcome and its timeout (with the duration syntax it accepts).

use super::R;
use crate::model::duration;
use crate::model::types::*;
use crate::spec::raw::S;
use crate::spec::Source;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

/// The longest a check may wait for its answer.
const MAX_CHECK_TIMEOUT: Duration = Duration::from_secs(300);

pub(super) fn resolve_check(
    src: &Source,
    nodes: &BTreeMap<String, Node>,
    c: &S<crate::spec::raw::RawCheck>,
) -> R<Check> {
    let rc = c.get_ref();
    let from = rc.from.get_ref();
    match nodes.get(from) {
        None => {
            let known: Vec<&str> =
                nodes.values().filter(|n| n.kind != NodeKind::Switch).map(|n| n.name.as_str()).collect();
            return Err(src.error(
                rc.from.span(),
                format!("check from node \"{from}\", which is not declared"),
                format!(
                    "{}use one of: {}",
                    crate::spec::suggest::did_you_mean(from, known.iter().copied()),
                    known.join(", ")
                ),
            ));
        }
        Some(n) if n.kind == NodeKind::Switch => {
            return Err(src.error(
                rc.from.span(),
                format!("check from switch \"{from}\": a switch has no addresses"),
                "run the check from a node plugged into the switch",
            ))
        }
        _ => {}
    }
    let targets =
        [rc.ping.is_some(), rc.connect.is_some(), rc.connect_udp.is_some()].iter().filter(|x| **x).count();
    if targets == 0 {
        return Err(src.error(
            c.span(),
            "a check needs one of ping, connect, connect_udp".to_string(),
            "write ping = \"10.0.0.2\" or connect = \"10.0.0.2:80\"",
        ));
    }
    if targets > 1 {
        let second = [rc.connect.as_ref(), rc.connect_udp.as_ref()]
            .into_iter()
            .flatten()
            .nth(if rc.ping.is_some() { 0 } else { 1 })
            .map(|v| v.span())
            .unwrap_or(c.span());
        return Err(src.error(
            second,
            "a check can probe one target only".to_string(),
            "keep only one of ping, connect, connect_udp; write another [[check]] for the other",
        ));
    }
    let probe = if let Some(p) = &rc.ping {
        Probe::Ping(p.get_ref().parse().map_err(|_| {
            src.error(
                p.span(),
                format!("ping target \"{}\" is not an IP address", p.get_ref()),
                "write ping = \"10.0.0.2\"",
            )
        })?)
    } else {
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
        if udp {
            Probe::ConnectUdp(sa)
        } else {
            Probe::Connect(sa)
        }
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
    let target = match &probe {
        Probe::Ping(ip) => format!("ping {ip}"),
        Probe::Connect(sa) => format!("connect {sa}"),
        Probe::ConnectUdp(sa) => format!("connect_udp {sa}"),
    };
    let name = rc.name.as_ref().map(|n| n.get_ref().clone()).unwrap_or_else(|| format!("{from}: {target}"));
    let timeout = match &rc.timeout {
        None => CHECK_TIMEOUT,
        Some(t) => duration::of_file(src, "timeout", t, Duration::from_millis(1), MAX_CHECK_TIMEOUT, "3s")?,
    };
    Ok(Check { name, from: from.clone(), probe, expect_ok, timeout })
}
