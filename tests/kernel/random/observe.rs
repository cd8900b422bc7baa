//! The observed state of a lab, as a set of lines that two labs made from the same file share:
//! the lab's name and prefix become `LAB`, and ifindexes, MACs, link-local addresses and
//! their routes, address lifetimes, and which of several IPv4 addresses on one subnet is the
//! primary (the `secondary` flag, and the `prefsrc` of routes of such an interface) are left
//! out. A veth's peer is named by node and interface; the ownership alias is compared with
//! its two ends in sorted order (a link is an unordered pair). A bridge with no ports has
//! its carrier (state, `NO-CARRIER`/`LOWER_UP`, `linkdown` on its routes) left out: the
//! kernel turns it off when the last port goes and a new bridge starts with it on, and no
//! `up` can change that short of recreating the bridge.

use crate::support::*;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

fn json(cmd: &str) -> Value {
    serde_json::from_str(&sh_ok(cmd)).unwrap_or_else(|e| panic!("`{cmd}` is not JSON: {e}"))
}

fn arr(v: &Value) -> &[Value] {
    v.as_array().map(|a| a.as_slice()).unwrap_or(&[])
}

/// `v` with `drop` keys removed, as compact JSON with sorted keys (serde_json's map is sorted).
fn without(v: &Value, drop: &[&str]) -> String {
    let mut m = v.as_object().cloned().unwrap_or_default();
    for k in drop {
        m.remove(*k);
    }
    Value::Object(m).to_string()
}

/// `netlab:LAB:a:e1~b:e2` with its two ends sorted.
fn alias(a: &str) -> String {
    let mut parts = a.splitn(3, ':');
    if let (Some(p), Some(lab), Some(rest)) = (parts.next(), parts.next(), parts.next()) {
        if let Some((x, y)) = rest.split_once('~') {
            let (x, y) = if x <= y { (x, y) } else { (y, x) };
            return format!("{p}:{lab}:{x}~{y}");
        }
    }
    a.to_string()
}

/// The observed lines of `lab` for the nodes `nodes`.
pub fn observe(lab: &TestLab, nodes: &[String]) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let prefix = format!("{}-", lab.name);
    for ns in lab.namespaces() {
        out.insert(format!("netns {}", ns.strip_prefix(&prefix).unwrap_or(&ns)));
    }
    // ifindex → name in each namespace, and nsid → node as each namespace sees the others.
    let mut names: BTreeMap<String, BTreeMap<u64, String>> = BTreeMap::new();
    let mut links: BTreeMap<String, Value> = BTreeMap::new();
    for node in nodes {
        let ns = lab.ns(node);
        let l = json(&format!("ip -j -n {ns} link show"));
        names.insert(
            node.clone(),
            arr(&l)
                .iter()
                .map(|i| (i["ifindex"].as_u64().unwrap(), i["ifname"].as_str().unwrap().into()))
                .collect(),
        );
        links.insert(node.clone(), l);
    }
    for node in nodes {
        let ns = lab.ns(node);
        let portless: BTreeSet<String> = arr(&links[node])
            .iter()
            .filter(|i| i["ifalias"].as_str().is_some_and(|a| a.ends_with(":bridge")))
            .filter_map(|i| i["ifname"].as_str())
            .filter(|b| !arr(&links[node]).iter().any(|p| p["master"].as_str() == Some(b)))
            .map(str::to_string)
            .collect();
        let ids: BTreeMap<u64, String> = arr(&json(&format!("ip -j -n {ns} netns list-id")))
            .iter()
            .filter_map(|i| {
                let name = i["name"].as_str()?;
                Some((i["nsid"].as_u64()?, name.strip_prefix(&prefix).unwrap_or(name).to_string()))
            })
            .collect();
        for i in arr(&links[node]) {
            let ifname = i["ifname"].as_str().unwrap();
            let mut flags: Vec<&str> = arr(&i["flags"]).iter().filter_map(|f| f.as_str()).collect();
            let mut state = i["operstate"].to_string();
            if portless.contains(ifname) {
                flags.retain(|f| *f != "NO-CARRIER" && *f != "LOWER_UP");
                state = "(no ports)".to_string();
            }
            flags.sort();
            let peer = match (i["link_index"].as_u64(), i["link_netnsid"].as_u64()) {
                (Some(idx), Some(id)) => {
                    let peer_node = ids.get(&id).cloned().unwrap_or_else(|| format!("nsid{id}"));
                    let peer_if =
                        names.get(&peer_node).and_then(|m| m.get(&idx)).cloned().unwrap_or_default();
                    format!("{peer_node}:{peer_if}")
                }
                (Some(idx), None) => format!("{node}:{}", names[node].get(&idx).cloned().unwrap_or_default()),
                _ => String::new(),
            };
            let al = i["ifalias"].as_str().map(alias).unwrap_or_default();
            out.insert(format!(
                "{node} link {ifname} mtu={} state={} flags={} master={} type={} qdisc={} txqlen={} peer={peer} alias={al}",
                i["mtu"],
                state,
                flags.join(","),
                i["master"].as_str().unwrap_or("-"),
                i["link_type"],
                i["qdisc"],
                i["txqlen"],
            ));
        }

        // Addresses, without link-local ones; the interfaces with several IPv4 addresses on
        // one subnet, whose primary depends on history.
        let mut multi: BTreeSet<String> = BTreeSet::new();
        for i in arr(&json(&format!("ip -j -n {ns} addr show"))) {
            let ifname = i["ifname"].as_str().unwrap();
            let v4 = arr(&i["addr_info"]).iter().filter(|a| a["family"] == "inet").count();
            if v4 > 1 {
                multi.insert(ifname.to_string());
            }
            for a in arr(&i["addr_info"]) {
                if a["scope"] == "link" && a["family"] == "inet6" {
                    continue;
                }
                let drop = ["secondary", "valid_life_time", "preferred_life_time", "label"];
                out.insert(format!("{node} addr {ifname} {}", without(a, &drop)));
            }
        }
        for fam in ["-4", "-6"] {
            for r in arr(&json(&format!("ip -j {fam} -n {ns} route show table all"))) {
                let dst = r["dst"].as_str().unwrap_or("");
                if dst.starts_with("fe80:") {
                    continue;
                }
                let dev = r["dev"].as_str().unwrap_or("");
                let mut drop = vec!["expires"];
                if multi.contains(dev) {
                    drop.push("prefsrc");
                }
                if portless.contains(dev) {
                    drop.push("flags");
                }
                out.insert(format!("{node} route{fam} {}", without(r, &drop)));
            }
        }
        let sysctls = sh_ok(&format!(
            "ip netns exec {ns} sh -c 'cd /proc/sys/net && grep -r . ipv4/conf ipv6/conf ipv4/ip_forward ipv4/icmp_echo_ignore_broadcasts 2>/dev/null; true'"
        ));
        for l in sysctls.lines() {
            out.insert(format!("{node} sysctl {}", l.replacen(':', " = ", 1)));
        }
    }
    out.into_iter().map(|l| l.replace(&lab.name, "LAB")).collect()
}

/// The lines only in `a` and only in `b`, for a failure message.
pub fn diff(a: &BTreeSet<String>, b: &BTreeSet<String>) -> String {
    let mut s = String::new();
    for l in a.difference(b) {
        s.push_str(&format!("  edited only: {l}\n"));
    }
    for l in b.difference(a) {
        s.push_str(&format!("  fresh only:  {l}\n"));
    }
    s
}
