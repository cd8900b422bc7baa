//! RawTopo → Lab: checks every name, address and reference, and computes derived names.
//! The first problem found is returned, located in the file.

use super::firewall;
use super::names::*;
use super::types::*;
use super::workload;
use crate::error::SpecError;
use crate::spec::raw::{RawLink, RawNode, RawRoute, RawTopo, S};
use crate::spec::Source;
use ipnetwork::IpNetwork;
use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, SocketAddr};
use std::ops::Range;

type R<T> = Result<T, SpecError>;

/// Validates a parsed file into a lab. `src` locates errors.
pub fn resolve(src: &Source, raw: RawTopo) -> R<Lab> {
    let err = |span: Range<usize>, m: String, h: &str| src.error(span, m, h);

    let name = match &raw.name {
        Some(n) => {
            if let Some(p) = lab_name_problem(n.get_ref()) {
                return Err(err(
                    n.span(),
                    p,
                    "write a name of 1–12 characters from a-z, 0-9 and -, such as name = \"lab1\"",
                ));
            }
            n.get_ref().clone()
        }
        None => {
            let stem = src.stem();
            if let Some(p) = lab_name_problem(&stem) {
                return Err(err(
                    0..0,
                    format!("the file has no name key and its stem is not a valid lab name: {p}"),
                    "add name = \"lab1\" (1–12 characters from a-z, 0-9 and -) at the top of the file",
                ));
            }
            stem
        }
    };
    let prefix = match &raw.prefix {
        Some(p) => {
            let v = p.get_ref();
            if !v.is_empty() && lab_name_problem(v).is_some() {
                return Err(err(
                    p.span(),
                    format!("prefix \"{v}\" must be empty or 1–12 characters from a-z, 0-9 and -"),
                    "write prefix = \"\" for bare node names, or a short prefix such as prefix = \"t1\"",
                ));
            }
            v.clone()
        }
        None => name.clone(),
    };

    let mut nodes = BTreeMap::new();
    let mut host_seen: Option<String> = None;
    for (key, node) in &raw.nodes {
        let n = resolve_node(src, &prefix, key, node)?;
        if n.kind == NodeKind::Host {
            if let Some(first) = &host_seen {
                return Err(err(
                    key.span(),
                    format!("node \"{}\" is a second host node; \"{first}\" already is one", key.get_ref()),
                    "keep one node with kind = \"host\"",
                ));
            }
            host_seen = Some(n.name.clone());
        }
        nodes.insert(n.name.clone(), n);
    }

    // (node, iface) → span of its first use, for duplicate detection.
    let mut ifaces: HashMap<(String, String), Range<usize>> = HashMap::new();
    let mut links = Vec::new();
    for raw_link in &raw.links {
        let link = resolve_link(src, &nodes, raw_link, &mut ifaces)?;
        links.push(link);
    }
    check_addresses(src, &raw.links, &links)?;

    let mut ifaces_of: HashMap<&str, Vec<&Endpoint>> = HashMap::new();
    for ep in links.iter().flat_map(|l| [&l.a, &l.b]) {
        ifaces_of.entry(ep.node.as_str()).or_default().push(ep);
    }
    let mut resolved = Vec::new();
    for (key, raw_node) in &raw.nodes {
        let node = &nodes[key.get_ref()];
        let mine = ifaces_of.get(key.get_ref().as_str()).map(Vec::as_slice).unwrap_or(&[]);
        let routes = resolve_routes(src, node, mine, &raw_node.get_ref().routes)?;
        let names: Vec<&str> = mine.iter().map(|e| e.iface.as_str()).collect();
        let r = raw_node.get_ref();
        let fw = firewall::resolve(
            src,
            &node.name,
            &r.nat,
            r.firewall.as_ref(),
            &names,
            node.kind == NodeKind::Host,
        )?;
        if node.kind == NodeKind::Switch && !fw.is_empty() {
            let span = r
                .firewall
                .as_ref()
                .map(|f| f.span())
                .or(r.nat.first().map(|n| n.span()))
                .unwrap_or(key.span());
            return Err(src.error(
                span,
                format!("switch \"{}\" cannot have nat or firewall rules: it is an L2 bridge", node.name),
                "put the rules on a router node",
            ));
        }
        resolved.push((key.get_ref().clone(), routes, fw));
    }
    for (name, routes, fw) in resolved {
        let node = nodes.get_mut(&name).expect("node resolved above");
        node.routes = routes;
        node.firewall = fw;
    }

    let mut checks = Vec::new();
    for c in &raw.check {
        checks.push(resolve_check(src, &nodes, c)?);
    }

    let file = std::path::absolute(&src.path).unwrap_or_else(|_| src.path.clone());
    Ok(Lab { name, prefix, file, nodes, links, checks, adopt: false })
}

fn resolve_node(src: &Source, prefix: &str, key: &S<String>, node: &S<RawNode>) -> R<Node> {
    let name = key.get_ref().clone();
    if let Some(p) = node_name_problem(&name) {
        return Err(src.error(key.span(), p, "rename the node, e.g. [nodes.h1]"));
    }
    let raw = node.get_ref();
    let kind = match raw.kind.as_ref().map(|k| (k.get_ref().as_str(), k.span())) {
        None | Some(("netns", _)) => NodeKind::Netns,
        Some(("host", _)) => NodeKind::Host,
        Some(("switch", _)) => NodeKind::Switch,
        Some((other, span)) => {
            return Err(src.error(
                span,
                format!("unknown node kind \"{other}\""),
                "write kind = \"netns\", \"host\" or \"switch\"",
            ))
        }
    };
    let dir = src
        .path
        .parent()
        .map(|p| if p.as_os_str().is_empty() { std::path::Path::new(".") } else { p })
        .unwrap_or(std::path::Path::new("."));
    let processes = workload::resolve(src, &name, raw, dir)?;
    if kind != NodeKind::Netns && !processes.is_empty() {
        let what = if kind == NodeKind::Switch {
            "a switch runs no processes"
        } else {
            "a host node cannot be isolated"
        };
        let iso = &processes.isolation;
        let span = raw
            .isolate
            .as_ref()
            .map(|i| i.span())
            .or(raw.hostname.as_ref().map(|h| h.span()))
            .or(raw.rootfs.as_ref().map(|r| r.span()));
        let refuse = kind == NodeKind::Switch || iso.needs_holder() || iso.hostname.is_some();
        if refuse {
            let span = span
                .or(raw.run.first().map(|r| r.span()))
                .or(raw.exec.first().map(|e| e.span()))
                .or(raw.limits.as_ref().map(|l| l.span()))
                .or(raw.seccomp.as_ref().map(|s| s.span()))
                .unwrap_or(key.span());
            return Err(src.error(
                span,
                format!("node \"{name}\": {what}"),
                "move the processes to a netns node",
            ));
        }
    }
    if kind == NodeKind::Switch {
        if let Some(r) = raw.routes.first() {
            return Err(src.error(
                r.span(),
                format!("switch \"{name}\" cannot have routes: it is an L2 bridge"),
                "move the routes to the nodes plugged into the switch",
            ));
        }
        if let Some(f) = &raw.forward {
            return Err(src.error(
                f.span(),
                format!("switch \"{name}\" cannot forward IP: it is an L2 bridge"),
                "remove forward from the switch",
            ));
        }
    }

    let mut sysctls = BTreeMap::new();
    if let Some(f) = &raw.forward {
        if *f.get_ref() {
            sysctls.insert("net.ipv4.ip_forward".to_string(), "1".to_string());
            sysctls.insert("net.ipv6.conf.all.forwarding".to_string(), "1".to_string());
        }
    }
    for (k, v) in &raw.sysctls {
        let key = k.get_ref();
        let ok_chars = key.chars().all(|c| c.is_ascii_alphanumeric() || "._-".contains(c));
        if !key.starts_with("net.") || !ok_chars || key.contains("..") || key.ends_with('.') {
            return Err(src.error(
                k.span(),
                format!("sysctl \"{key}\" is not a per-namespace network sysctl"),
                "only net.* keys can be set per node, e.g. \"net.ipv4.ip_forward\" = 1",
            ));
        }
        let value = match v.get_ref() {
            toml::Value::Integer(i) => i.to_string(),
            toml::Value::Boolean(b) => (*b as u8).to_string(),
            toml::Value::String(s) if !s.contains('\n') && !s.is_empty() => s.clone(),
            _ => {
                return Err(src.error(
                    v.span(),
                    format!("sysctl \"{key}\" needs an integer or a one-line string value"),
                    "write e.g. \"net.ipv4.ip_forward\" = 1",
                ))
            }
        };
        sysctls.insert(key.clone(), value);
    }
    let ns = match kind {
        NodeKind::Host => NsRef::Host,
        _ => NsRef::Named(netns_name(prefix, &name)),
    };
    Ok(Node { name, kind, ns, sysctls, routes: Vec::new(), firewall: Default::default(), processes })
}

fn resolve_link(
    src: &Source,
    nodes: &BTreeMap<String, Node>,
    raw: &S<RawLink>,
    ifaces: &mut HashMap<(String, String), Range<usize>>,
) -> R<Link> {
    let l = raw.get_ref();
    let (shape_a, shape_b) = super::shape::resolve(src, l)?;
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
                format!("declare [nodes.{node}] or use one of: {}", known.join(", ")),
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
                "use 1–15 characters without /, : or whitespace, such as \"eth0\"",
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

/// One endpoint's entry of `addresses`: "", a CIDR string, or a list of CIDR strings.
fn parse_addr_entry(src: &Source, v: &S<toml::Value>) -> R<Vec<IpNetwork>> {
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
    strings.into_iter().map(|s| parse_cidr(s).map_err(|(m, h)| src.error(v.span(), m, &h))).collect()
}

/// A CIDR with an explicit prefix length.
fn parse_cidr(s: &str) -> Result<IpNetwork, (String, String)> {
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

/// No address twice in the lab, and no two interfaces of one node on overlapping subnets.
/// Linear in the number of addresses (plus each node's own): labs of thousands of links
/// validate in milliseconds.
fn check_addresses(src: &Source, raw_links: &[S<RawLink>], links: &[Link]) -> R<()> {
    let mut by_ip: HashMap<IpAddr, (&Endpoint, usize)> = HashMap::new();
    let mut by_node: HashMap<&str, Vec<(IpNetwork, &Endpoint)>> = HashMap::new();
    let link_line = |li: usize| src.line_col(raw_links[li].span().start).0;
    for (li, link) in links.iter().enumerate() {
        for (ei, ep) in [&link.a, &link.b].into_iter().enumerate() {
            // Point at this endpoint's own entry of `addresses`.
            let span = raw_links[li]
                .get_ref()
                .addresses
                .as_ref()
                .and_then(|a| a.get_ref().get(ei))
                .map(|e| e.span())
                .unwrap_or(0..0);
            for addr in &ep.addrs {
                if let Some((oep, oli)) = by_ip.get(&addr.ip()) {
                    if oep.node == ep.node && oep.iface == ep.iface {
                        return Err(src.error(
                            span,
                            format!("address {} is listed twice for {}:{}", addr.ip(), ep.node, ep.iface),
                            "keep one of them",
                        ));
                    }
                    return Err(src.error(
                        span,
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
                }
                let mine = by_node.entry(ep.node.as_str()).or_default();
                for (other, oep) in mine.iter() {
                    let overlaps = other.is_ipv4() == addr.is_ipv4()
                        && (other.contains(addr.ip()) || addr.contains(other.ip()));
                    if oep.iface != ep.iface && overlaps {
                        return Err(src.error(
                            span,
                            format!(
                                "address {addr} of {}:{} overlaps {other} of {}:{} on the same node",
                                ep.node, ep.iface, oep.node, oep.iface
                            ),
                            "put each interface of a node on its own subnet",
                        ));
                    }
                }
                mine.push((*addr, ep));
                by_ip.insert(addr.ip(), (ep, li));
            }
        }
    }
    Ok(())
}

/// `my_ifaces`: the node's ends of links.
fn resolve_routes(src: &Source, node: &Node, my_ifaces: &[&Endpoint], raw: &[S<RawRoute>]) -> R<Vec<Route>> {
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

fn resolve_check(
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
                format!("use one of: {}", known.join(", ")),
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
        Some(t) => parse_duration(t.get_ref())
            .filter(|d| !d.is_zero() && *d <= std::time::Duration::from_secs(300))
            .ok_or_else(|| {
                src.error(
                    t.span(),
                    format!("timeout {} is not a duration between 1ms and 300s", t.get_ref()),
                    "write timeout = \"500ms\", \"3s\" or a number of seconds",
                )
            })?,
    };
    Ok(Check { name, from: from.clone(), probe, expect_ok, timeout })
}

/// "500ms", "2s", "1.5s", or a number of seconds.
fn parse_duration(v: &toml::Value) -> Option<std::time::Duration> {
    let secs = match v {
        toml::Value::Integer(i) => *i as f64,
        toml::Value::Float(f) => *f,
        toml::Value::String(s) => {
            let s = s.trim();
            if let Some(ms) = s.strip_suffix("ms") {
                ms.trim().parse::<f64>().ok()? / 1000.0
            } else {
                s.strip_suffix('s').unwrap_or(s).trim().parse::<f64>().ok()?
            }
        }
        _ => return None,
    };
    (secs.is_finite() && secs >= 0.0).then(|| std::time::Duration::from_secs_f64(secs))
}
