//! `down` as a plan: everything the lab owns, from what the record names and the kernel's
//! marks confirm. Applied with "continue past errors", so one stuck object does not keep the
//! rest alive.

use super::op::{Op, Plan};
use crate::model::{names, NsRef};
use crate::state::{Record, TeardownView};

/// The ops that remove lab `lab`. `others`: the records of the other labs on this machine,
/// which may still need a host sysctl this lab also set (those made in the same network
/// namespace: host sysctls are per namespace).
pub fn teardown(lab: &str, record: Option<&Record>, view: &TeardownView, others: &[Record]) -> Plan {
    // Processes first: they hold namespaces, and nothing may outlive the lab.
    let mut ops = vec![Op::StopProcesses { recorded: record.is_some() }];
    let kind = record.map(|r| r.firewall).unwrap_or_default();
    if let Some(rec) = record {
        for route in &rec.host_routes {
            if view.host.routes.contains_key(&(route.dst, route.metric)) {
                ops.push(Op::DelRoute { ns: NsRef::Host, route: route.clone() });
            }
        }
        for (key, value) in rec.sysctl_orig.get(&Record::ns_key(&NsRef::Host)).into_iter().flatten() {
            // Put back only what still holds the lab's value (nobody changed it since), and
            // only when no other lab up in this namespace set the same key.
            let now = view.host_sysctls.get(key);
            let still_ours = rec.host_sysctls.get(key).is_some_and(|v| now == Some(v));
            let shared =
                others.iter().any(|o| o.lab != lab && o.same_netns(rec) && o.host_sysctls.contains_key(key));
            if still_ours && !shared {
                ops.push(Op::SetSysctl {
                    ns: NsRef::Host,
                    key: key.clone(),
                    value: value.clone(),
                    was: now.cloned(),
                });
            }
        }
    }
    let table = names::table_name(lab, &NsRef::Host);
    if view.host.nft.is_some() {
        ops.push(Op::DelTable { ns: NsRef::Host, table: table.clone(), kind });
    }
    if view.iptables_chains {
        ops.push(Op::DelTable {
            ns: NsRef::Host,
            table,
            kind: crate::model::firewall::FirewallKind::Iptables,
        });
    }
    let mark = names::mark_prefix(lab);
    for (name, iface) in &view.host.ifaces {
        // Marked, or an unmarked veth the record named before making it (an `up` killed
        // between making and marking it).
        let half_made = iface.alias.is_none()
            && iface.kind == crate::state::IfKind::Veth
            && record.is_some_and(|r| r.host_ifaces.contains(name));
        if iface.alias.as_ref().is_some_and(|a| a.starts_with(&mark)) || half_made {
            ops.push(Op::DelLink { ns: NsRef::Host, iface: name.clone() });
        }
    }
    ops.extend(view.ours.iter().map(|n| Op::DelNetns { ns: n.clone() }));
    Plan::new(ops)
}

/// Whether `down` found anything of the lab at all.
pub fn found_anything(record: Option<&Record>, plan: &Plan) -> bool {
    record.is_some() || plan.ops.iter().any(|op| !matches!(op, Op::StopProcesses { .. }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::{IfKind, IfState, RouteState};

    fn iface(alias: &str) -> IfState {
        IfState {
            kind: IfKind::Veth,
            alias: Some(alias.into()),
            mtu: Some(1500),
            master: None,
            addrs: Default::default(),
            up: true,
            shape: None,
        }
    }

    #[test]
    fn removes_only_what_carries_the_mark_and_the_record_names() {
        let route = RouteState::single("10.9.0.0/24".parse().unwrap(), None, None, 7);
        let stranger = RouteState::single("10.8.0.0/24".parse().unwrap(), None, None, 0);
        let mut view = TeardownView::default();
        view.host.routes.insert((route.dst, route.metric), route.clone());
        view.host.routes.insert((stranger.dst, stranger.metric), stranger);
        view.host.ifaces.insert("v-a".into(), iface(&names::link_mark("t", "a:x~b:y")));
        view.host.ifaces.insert("eth0".into(), iface("someone else's"));
        view.ours = vec!["t-a".into()];
        let record = Record { lab: "t".into(), host_routes: vec![route], ..Default::default() };
        let plan = teardown("t", Some(&record), &view, &[]);
        let text: Vec<String> = plan.ops.iter().map(Op::to_string).collect();
        assert_eq!(
            text,
            [
                "- processes of the lab",
                "- route host: 10.9.0.0/24 metric 7",
                "- link host:v-a",
                "- netns t-a"
            ]
        );
        assert!(found_anything(Some(&record), &plan));
    }

    #[test]
    fn host_sysctls_go_back_only_while_they_hold_the_labs_value_and_no_other_lab_needs_them() {
        let mut record = Record { lab: "t".into(), ..Default::default() };
        let orig = record.sysctl_orig.entry(Record::ns_key(&NsRef::Host)).or_default();
        orig.insert("net.ipv4.ip_forward".into(), "0".into());
        orig.insert("net.ipv6.conf.all.forwarding".into(), "0".into());
        orig.insert("net.ipv4.conf.all.rp_filter".into(), "2".into());
        record.host_sysctls.insert("net.ipv4.ip_forward".into(), "1".into());
        record.host_sysctls.insert("net.ipv6.conf.all.forwarding".into(), "1".into());
        record.host_sysctls.insert("net.ipv4.conf.all.rp_filter".into(), "0".into());
        let mut view = TeardownView::default();
        view.host_sysctls.insert("net.ipv4.ip_forward".into(), "1".into());
        view.host_sysctls.insert("net.ipv6.conf.all.forwarding".into(), "1".into());
        // Changed by someone since: left as it is.
        view.host_sysctls.insert("net.ipv4.conf.all.rp_filter".into(), "1".into());
        let mut other = Record { lab: "u".into(), ..Default::default() };
        other.host_sysctls.insert("net.ipv6.conf.all.forwarding".into(), "1".into());
        let plan = teardown("t", Some(&record), &view, &[other]);
        let text: Vec<String> = plan.ops.iter().map(Op::to_string).collect();
        assert_eq!(text, ["- processes of the lab", "~ sysctl host: net.ipv4.ip_forward = 0 (was 1)"]);
    }

    #[test]
    fn without_a_record_the_marks_alone_decide() {
        let mut view = TeardownView { iptables_chains: true, ..Default::default() };
        view.host.nft = Some(vec![]);
        let plan = teardown("t", None, &view, &[]);
        let text: Vec<String> = plan.ops.iter().map(Op::to_string).collect();
        assert_eq!(text, ["- processes of the lab", "- iptables host:netlab-t", "- nft host:netlab-t"]);
        let empty = teardown("t", None, &TeardownView::default(), &[]);
        assert!(!found_anything(None, &empty));
    }
}
