//! One `[nodes.X]` table → Node: its kind, whether its kind allows processes, routes and
//! forwarding, and its sysctls. Routes and firewall are filled in later, once links are known.

use super::R;
use crate::model::names::*;
use crate::model::types::*;
use crate::model::workload;
use crate::spec::raw::{RawNode, S};
use crate::spec::suggest::did_you_mean;
use crate::spec::Source;
use std::collections::BTreeMap;

pub(super) fn resolve_node(src: &Source, prefix: &str, key: &S<String>, node: &S<RawNode>) -> R<Node> {
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
                format!(
                    "{}write kind = \"netns\", \"host\" or \"switch\"",
                    did_you_mean(other, ["netns", "host", "switch"])
                ),
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
        if let Some(p) = crate::model::sysctl::key_problem(key) {
            return Err(src.error(
                k.span(),
                p,
                "only net.* keys can be set per node, e.g. \"net.ipv4.ip_forward\" = 1",
            ));
        }
        let value = crate::model::sysctl::value_text(v.get_ref()).map_err(|why| {
            src.error(
                v.span(),
                format!("sysctl \"{key}\" {why}"),
                "write an integer such as \"net.ipv4.ip_forward\" = 1, integers in a string such as \"1024 65535\", or one word such as \"cubic\"",
            )
        })?;
        sysctls.insert(key.clone(), value);
    }
    let ns = match kind {
        NodeKind::Host => NsRef::Host,
        _ => NsRef::Named(netns_name(prefix, &name)),
    };
    Ok(Node { name, kind, ns, sysctls, routes: Vec::new(), firewall: Default::default(), processes })
}
