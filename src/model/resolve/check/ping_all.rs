//! `ping_all = true | ["a", "b", ...]`: the nodes, and every (node, address of another node)
//! pair they ping.

use super::super::R;
use crate::model::types::*;
use crate::spec::raw::S;
use crate::spec::Source;
use std::collections::BTreeMap;

/// The nodes in file order (for `true`: every node but the switches, by name), and their pairs.
pub(super) fn resolve(
    src: &Source,
    nodes: &BTreeMap<String, Node>,
    links: &[Link],
    v: &S<toml::Value>,
) -> R<(Vec<String>, Vec<PingPair>)> {
    let hint = "write ping_all = true (every node but the switches) or ping_all = [\"a\", \"b\"]";
    let listed: Vec<String> = match v.get_ref() {
        toml::Value::Boolean(true) => {
            nodes.values().filter(|n| n.kind != NodeKind::Switch).map(|n| n.name.clone()).collect()
        }
        toml::Value::Array(items) => {
            let mut out: Vec<String> = Vec::new();
            for item in items {
                let Some(name) = item.as_str() else {
                    return Err(src.error(v.span(), "ping_all lists node names, as strings", hint));
                };
                match nodes.get(name) {
                    None => {
                        return Err(src.error(
                            v.span(),
                            format!("ping_all names node \"{name}\", which is not declared"),
                            hint,
                        ))
                    }
                    Some(n) if n.kind == NodeKind::Switch => {
                        return Err(src.error(
                            v.span(),
                            format!("ping_all names switch \"{name}\": a switch has no addresses"),
                            "list the nodes plugged into the switch",
                        ))
                    }
                    Some(_) if out.iter().any(|o| o == name) => {
                        return Err(src.error(
                            v.span(),
                            format!("ping_all names node \"{name}\" twice"),
                            "list each node once",
                        ))
                    }
                    Some(_) => out.push(name.to_string()),
                }
            }
            out
        }
        _ => return Err(src.error(v.span(), "ping_all is neither true nor a list of nodes", hint)),
    };
    if listed.len() < 2 {
        return Err(src.error(v.span(), "ping_all needs at least two nodes to ping each other", hint));
    }
    let mut pairs = Vec::new();
    for from in &listed {
        for to in listed.iter().filter(|t| *t != from) {
            for (ip, iface) in super::lab_addresses(links, to) {
                pairs.push(PingPair {
                    from: from.clone(),
                    to: ip,
                    to_node: to.clone(),
                    to_iface: iface.to_string(),
                });
            }
        }
    }
    if pairs.is_empty() {
        return Err(src.error(
            v.span(),
            "ping_all has nothing to ping: none of its nodes has an address on a link",
            "give the nodes addresses on their links, or list nodes that have some",
        ));
    }
    Ok((listed, pairs))
}
