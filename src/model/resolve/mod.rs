//! RawTopo → Lab: checks every name, address and reference, and computes derived names.
//! Every independent problem found is returned, each located in the file. This file holds the entry point and
//! the checks that need the whole lab (lab name, prefix, one host node, switch firewalls); the
//! per-item resolvers live beside it.

mod addr;
mod check;
mod link;
mod node;
mod route;
mod scenario;

use super::firewall;
use super::names::*;
use super::types::*;
use crate::error::{Problems, SpecError};
use crate::spec::raw::{RawCheck, RawLink, RawTopo, S};
use crate::spec::Source;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::ops::Range;

use addr::check_addresses;
use check::resolve_checks;
use link::resolve_link;
use node::resolve_node;
use route::{check_routes_alone, resolve_routes};

type R<T> = Result<T, SpecError>;

/// Validates a parsed file into a lab. `src` locates errors. Every independent item (the
/// name, the prefix, each node, each link, each node's routes, sysctls and rules, each check)
/// is resolved even when another failed, and all their errors are returned together; an item
/// that depends on one that failed (a link to a node in error, the routes of a node whose
/// link is in error, a check from it) is skipped, so that no problem is reported twice.
pub fn resolve(src: &Source, raw: RawTopo) -> R<Lab> {
    let err = |span: Range<usize>, m: String, h: &str| src.error(span, m, h);
    let mut problems = Problems::default();

    let name = match &raw.name {
        Some(n) => {
            if let Some(p) = lab_name_problem(n.get_ref()) {
                problems.push(err(
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
                problems.push(err(
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
                problems.push(err(
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
    // Nodes in error: links and checks that name them are skipped.
    let mut failed: HashSet<String> = HashSet::new();
    let mut host_seen: Option<String> = None;
    for (key, node) in &raw.nodes {
        let Some(n) = problems.keep(resolve_node(src, &prefix, key, node)) else {
            failed.insert(key.get_ref().clone());
            continue;
        };
        if n.kind == NodeKind::Host {
            if let Some(first) = &host_seen {
                problems.push(err(
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
    let mut links: Vec<(&S<RawLink>, Link)> = Vec::new();
    let mut ports: HashMap<String, usize> = HashMap::new();
    // Nodes one of whose links is in error: their routes, sysctls and rules, which name
    // their interfaces, are skipped.
    let mut incomplete: HashSet<String> = HashSet::new();
    for raw_link in &raw.links {
        let ends = endpoint_nodes(raw_link);
        if ends.iter().any(|n| failed.contains(*n)) {
            continue;
        }
        let Some(link) = problems.keep(resolve_link(src, &nodes, raw_link, &mut ifaces)) else {
            incomplete.extend(ends.iter().map(|n| n.to_string()));
            continue;
        };
        for (i, end) in [&link.a, &link.b].into_iter().enumerate() {
            if nodes[&end.node].kind != NodeKind::Switch {
                continue;
            }
            let n = ports.entry(end.node.clone()).or_default();
            *n += 1;
            if *n > MAX_BRIDGE_PORTS {
                problems.push(src.error(
                    raw_link.get_ref().endpoints.get_ref()[i].span(),
                    format!(
                        "this is port {} of switch \"{}\"; a Linux bridge takes at most {MAX_BRIDGE_PORTS}",
                        *n, end.node
                    ),
                    "split the hosts over several switches joined by a link",
                ));
            }
        }
        links.push((raw_link, link));
    }
    for e in check_addresses(src, &links) {
        problems.push(e);
    }

    let mut ifaces_of: HashMap<&str, Vec<&Endpoint>> = HashMap::new();
    for ep in links.iter().flat_map(|(_, l)| [&l.a, &l.b]) {
        ifaces_of.entry(ep.node.as_str()).or_default().push(ep);
    }
    let mut resolved = Vec::new();
    for (key, raw_node) in &raw.nodes {
        if failed.contains(key.get_ref()) {
            continue;
        }
        if incomplete.contains(key.get_ref()) {
            for e in check_routes_alone(src, &raw_node.get_ref().routes) {
                problems.push(e);
            }
            continue;
        }
        let node = &nodes[key.get_ref()];
        let mine = ifaces_of.get(key.get_ref().as_str()).map(Vec::as_slice).unwrap_or(&[]);
        let routes = problems.keep(resolve_routes(src, node, mine, &raw_node.get_ref().routes));
        let names: Vec<&str> = mine.iter().map(|e| e.iface.as_str()).collect();
        problems.keep(check_sysctl_ifaces(src, node, raw_node.get_ref(), &names));
        let r = raw_node.get_ref();
        let fw = problems.keep(firewall::resolve(
            src,
            &node.name,
            &r.nat,
            r.firewall.as_deref(),
            &names,
            node.kind == NodeKind::Host,
        ));
        if let Some(fw) = &fw {
            if node.kind == NodeKind::Switch && !fw.is_empty() {
                let span = r
                    .firewall
                    .as_ref()
                    .map(|f| f.span())
                    .or(r.nat.first().map(|n| n.span()))
                    .unwrap_or(key.span());
                problems.push(src.error(
                    span,
                    format!("switch \"{}\" cannot have nat or firewall rules: it is an L2 bridge", node.name),
                    "put the rules on a router node",
                ));
            }
        }
        if let (Some(routes), Some(fw)) = (routes, fw) {
            resolved.push((key.get_ref().clone(), routes, fw));
        }
    }
    for (name, routes, fw) in resolved {
        let node = nodes.get_mut(&name).expect("node resolved above");
        node.routes = routes;
        node.firewall = fw;
    }

    let checks = {
        let resolved: Vec<Link> = links.iter().map(|(_, l)| l.clone()).collect();
        // A check from a node in error is skipped: its error is said already.
        let independent =
            |c: &&S<RawCheck>| !c.get_ref().from.as_ref().is_some_and(|f| failed.contains(f.get_ref()));
        let raw_checks: Vec<&S<RawCheck>> = raw.check.iter().filter(independent).collect();
        resolve_checks(src, &nodes, &resolved, &raw_checks, &mut problems)
    };

    let file = std::path::absolute(&src.path).unwrap_or_else(|_| src.path.clone());
    let links: Vec<Link> = links.into_iter().map(|(_, l)| l).collect();
    // Scenarios name the nodes and links above: with any of those in error, theirs would be
    // reported twice (or wrongly), so they are looked at once the rest is sound.
    let scenarios = if problems.is_empty() {
        scenario::resolve_scenarios(src, &nodes, &links, &raw.scenario, &mut problems)
    } else {
        Vec::new()
    };
    problems.finish(Lab { name, prefix, file, nodes, links, checks, scenarios })
}

/// The node names a link's endpoints give ("a" of "a:eth0"), as written.
fn endpoint_nodes(l: &S<RawLink>) -> Vec<&str> {
    l.get_ref().endpoints.get_ref().iter().map(|e| e.get_ref().split(':').next().unwrap_or("")).collect()
}

/// A per-interface sysctl of a node netlab makes names one of its interfaces: `lo`, its ends
/// of links, or a switch's bridge. A host node may name any of the machine's.
fn check_sysctl_ifaces(src: &Source, node: &Node, raw: &crate::spec::raw::RawNode, names: &[&str]) -> R<()> {
    if node.kind == NodeKind::Host {
        return Ok(());
    }
    for key in raw.sysctls.keys() {
        let Some(iface) = sysctl_iface(key.get_ref()) else { continue };
        let known = iface == "lo"
            || names.contains(&iface)
            || (node.kind == NodeKind::Switch && iface == BRIDGE_NAME);
        if !known {
            let mut have: Vec<&str> = vec!["lo"];
            have.extend(names);
            return Err(src.error(
                key.span(),
                format!(
                    "sysctl \"{}\" names interface {iface}, which node {} does not have",
                    key.get_ref(),
                    node.name
                ),
                format!("use one of its interfaces: {}", have.join(", ")),
            ));
        }
    }
    Ok(())
}

/// The most ports a Linux bridge takes: port numbers are 10 bits (`BR_MAX_PORTS` = 1024) and
/// number 0 is never given out.
pub const MAX_BRIDGE_PORTS: usize = 1023;
