//! Golden plans, no root: a topology and a described current state → the exact plan.
//! `tests/plan_golden/NAME.toml` from an empty machine must plan `NAME.plan`; the other
//! tests describe a current state by editing the desired one and check the diff.

use netlab::model::NsRef;
use netlab::plan::{diff, Plan};
use netlab::state::NetState;
use netlab::state::{Observed, Record};
use netlab::Lab;
use std::path::{Path, PathBuf};

fn dir() -> PathBuf {
    crate::data("plan_golden")
}

fn load(name: &str) -> Lab {
    Lab::load(&dir().join(format!("{name}.toml"))).expect("golden topology is valid")
}

/// A machine where nothing of the lab exists yet (the host namespace always does).
fn empty() -> Observed {
    let mut o = Observed::default();
    o.ns.insert(NsRef::Host, Default::default());
    o
}

/// A machine that holds exactly what the lab wants.
fn converged(want: &NetState) -> Observed {
    let mut o = empty();
    for (ns, st) in want {
        o.ns.insert(ns.clone(), st.clone());
    }
    o
}

fn render(p: &Plan) -> String {
    p.to_string()
}

#[test]
fn golden_plans_from_an_empty_machine() {
    let mut checked = 0;
    for entry in std::fs::read_dir(dir()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "toml") {
            continue;
        }
        let name = path.file_stem().unwrap().to_string_lossy().to_string();
        let lab = load(&name);
        let got = render(&diff(&lab, &netlab::plan::desired::network(&lab), &empty()));
        let golden = dir().join(format!("{name}.plan"));
        if std::env::var_os("NETLAB_BLESS").is_some() {
            std::fs::write(&golden, &got).unwrap();
        }
        let want = std::fs::read_to_string(&golden)
            .unwrap_or_else(|_| panic!("missing {}; run with NETLAB_BLESS=1", golden.display()));
        assert_eq!(got, want, "plan of {name}.toml differs from {}", golden.display());
        checked += 1;
    }
    assert!(checked >= 3, "expected at least 3 golden topologies, found {checked}");
}

#[test]
fn converged_machine_plans_nothing() {
    for name in ["lan", "routed", "host", "multipath"] {
        let lab = load(name);
        let want = netlab::plan::desired::network(&lab);
        let plan = diff(&lab, &want, &converged(&want));
        assert!(plan.is_empty(), "{name}: expected no changes, got:\n{plan}");
    }
}

fn ns(n: &str) -> NsRef {
    NsRef::Named(n.to_string())
}

#[test]
/// The lab's address the file no longer names goes, once the one it names is back: an
/// interface never loses its last address of a subnet on the way (routes would go with it).
fn lab_address_not_in_the_file_goes_after_the_one_it_names_is_added() {
    let lab = load("routed");
    let want = netlab::plan::desired::network(&lab);
    let mut seen = converged(&want);
    let eth0 = seen.ns.get_mut(&ns("rt-a")).unwrap().ifaces.get_mut("eth0").unwrap();
    eth0.addrs.insert("10.1.0.77/24".parse().unwrap());
    eth0.addrs.remove(&"10.1.0.2/24".parse().unwrap());
    assert_eq!(
        render(&diff(&lab, &want, &seen)),
        "+ addr rt-a:eth0 10.1.0.2/24\n- addr rt-a:eth0 10.1.0.77/24\n"
    );
}

#[test]
fn changed_and_extra_routes() {
    let lab = load("routed");
    let want = netlab::plan::desired::network(&lab);
    let mut seen = converged(&want);
    let a = seen.ns.get_mut(&ns("rt-a")).unwrap();
    let key = ("0.0.0.0/0".parse().unwrap(), 0);
    a.routes.get_mut(&key).unwrap().via = Some("10.1.0.9".parse().unwrap());
    let extra = netlab::state::RouteState::single(
        "10.77.0.0/16".parse().unwrap(),
        Some("10.1.0.1".parse().unwrap()),
        Some("eth0".into()),
        0,
    );
    a.routes.insert((extra.dst, 0), extra);
    assert_eq!(
        render(&diff(&lab, &want, &seen)),
        "- route rt-a: 10.77.0.0/16 via 10.1.0.1 dev eth0 metric 0\n- route rt-a: default via 10.1.0.9 metric 0\n+ route rt-a: default via 10.1.0.1 metric 0\n"
    );
}

/// The multipath route of `multipath.toml` in the observed state, to edit.
fn multipath_route(seen: &mut Observed) -> &mut netlab::state::RouteState {
    let key = ("10.9.0.0/24".parse().unwrap(), 0);
    seen.ns.get_mut(&ns("mp-a")).unwrap().routes.get_mut(&key).unwrap()
}

#[test]
fn multipath_route_is_one_route_with_its_hops_sorted() {
    let lab = load("multipath");
    let want = netlab::plan::desired::network(&lab);
    let got = render(&diff(&lab, &want, &empty()));
    let routes: Vec<&str> = got.lines().filter(|l| l.contains("route")).collect();
    assert_eq!(
        routes,
        ["+ route mp-a: 10.9.0.0/24 nexthop via 10.0.1.2 nexthop via 10.0.2.2 weight 3 metric 0"]
    );
}

#[test]
fn multipath_route_with_its_hops_in_another_order_is_satisfied() {
    let lab = load("multipath");
    let want = netlab::plan::desired::network(&lab);
    let mut seen = converged(&want);
    let hops = &mut multipath_route(&mut seen).hops;
    hops.reverse();
    // The kernel names the interface of every hop.
    hops[0].dev = Some("eth2".into());
    hops[1].dev = Some("eth1".into());
    let plan = diff(&lab, &want, &seen);
    assert!(plan.is_empty(), "expected no changes, got:\n{plan}");
}

#[test]
fn multipath_route_with_another_weight_is_replaced() {
    let lab = load("multipath");
    let want = netlab::plan::desired::network(&lab);
    let mut seen = converged(&want);
    multipath_route(&mut seen).hops[1].weight = 1;
    assert_eq!(
        render(&diff(&lab, &want, &seen)),
        "- route mp-a: 10.9.0.0/24 nexthop via 10.0.1.2 nexthop via 10.0.2.2 metric 0\n\
         + route mp-a: 10.9.0.0/24 nexthop via 10.0.1.2 nexthop via 10.0.2.2 weight 3 metric 0\n"
    );
}

#[test]
fn multipath_route_missing_a_hop_is_replaced() {
    let lab = load("multipath");
    let want = netlab::plan::desired::network(&lab);
    let mut seen = converged(&want);
    let r = multipath_route(&mut seen);
    // What the kernel shows for a route left with one hop: a plain via and dev.
    let left = r.hops.remove(0);
    r.hops.clear();
    (r.via, r.dev) = (Some(left.via), Some("eth1".into()));
    assert_eq!(
        render(&diff(&lab, &want, &seen)),
        "- route mp-a: 10.9.0.0/24 via 10.0.1.2 dev eth1 metric 0\n\
         + route mp-a: 10.9.0.0/24 nexthop via 10.0.1.2 nexthop via 10.0.2.2 weight 3 metric 0\n"
    );
}

#[test]
fn sysctl_changed_by_hand_is_set_back() {
    let lab = load("routed");
    let want = netlab::plan::desired::network(&lab);
    let mut seen = converged(&want);
    seen.ns.get_mut(&ns("rt-r1")).unwrap().sysctls.insert("net.ipv4.ip_forward".into(), "0".into());
    assert_eq!(render(&diff(&lab, &want, &seen)), "~ sysctl rt-r1: net.ipv4.ip_forward = 1 (was 0)\n");
}

#[test]
fn an_ipv6_mtu_dropped_from_the_file_goes_back_no_higher_than_its_link_takes() {
    // rt-b:eth0 is on a link of the default mtu, 1500; its IPv6 mtu was 9000 before (the
    // link's mtu was higher then): writing 9000 back would fail with EINVAL.
    let lab = load("routed");
    let want = netlab::plan::desired::network(&lab);
    let mut seen = converged(&want);
    seen.ns.get_mut(&ns("rt-b")).unwrap().sysctls.insert("net.ipv6.conf.eth0.mtu".into(), "1280".into());
    let mut rec = Record::default();
    rec.sysctl_orig.entry("rt-b".into()).or_default().insert("net.ipv6.conf.eth0.mtu".into(), "9000".into());
    seen.record = Some(rec);
    assert_eq!(
        render(&diff(&lab, &want, &seen)),
        "~ sysctl rt-b: net.ipv6.conf.eth0.mtu = 1500 (was 1280)\n"
    );
}

#[test]
fn sysctl_dropped_from_the_file_is_restored_from_the_record() {
    let lab = load("routed");
    let want = netlab::plan::desired::network(&lab);
    let mut seen = converged(&want);
    seen.ns.get_mut(&ns("rt-a")).unwrap().sysctls.insert("net.ipv4.conf.all.forwarding".into(), "1".into());
    let mut rec = Record::default();
    rec.sysctl_orig
        .entry("rt-a".into())
        .or_default()
        .insert("net.ipv4.conf.all.forwarding".into(), "0".into());
    seen.record = Some(rec);
    assert_eq!(
        render(&diff(&lab, &want, &seen)),
        "~ sysctl rt-a: net.ipv4.conf.all.forwarding = 0 (was 1)\n"
    );
}

#[test]
fn missing_namespace_is_rebuilt_with_its_links_but_nothing_else() {
    let lab = load("routed");
    let want = netlab::plan::desired::network(&lab);
    let mut seen = converged(&want);
    // Deleting b's namespace also deletes its veth, so r1's end of that link is gone too.
    seen.ns.remove(&ns("rt-b"));
    seen.ns.get_mut(&ns("rt-r1")).unwrap().ifaces.remove("rb");
    seen.ns.get_mut(&ns("rt-r1")).unwrap().routes.clear();
    let got = render(&diff(&lab, &want, &seen));
    assert!(got.starts_with("+ netns rt-b\n+ veth rt-r1:rb <-> rt-b:eth0 mtu 1500\n"), "got:\n{got}");
    assert!(
        got.contains("+ addr rt-b:eth0 10.2.0.2/24\n") && got.contains("+ addr rt-r1:rb 10.2.0.1/24\n"),
        "got:\n{got}"
    );
    assert!(got.contains("~ up rt-b:eth0\n~ up rt-r1:rb\n"), "got:\n{got}");
    assert!(got.contains("+ route rt-b: 10.1.0.0/24 via 10.2.0.1 dev eth0 metric 0\n"), "got:\n{got}");
    assert!(!got.contains("rt-a"), "nothing of node a changes, got:\n{got}");
}

#[test]
fn link_with_a_foreign_alias_is_recreated_and_its_routes_restored() {
    let lab = load("routed");
    let want = netlab::plan::desired::network(&lab);
    let mut seen = converged(&want);
    seen.ns.get_mut(&ns("rt-a")).unwrap().ifaces.get_mut("eth0").unwrap().alias = Some("someone else".into());
    let got = render(&diff(&lab, &want, &seen));
    assert!(
        got.starts_with("- link rt-a:eth0\n- link rt-r1:ra\n+ veth rt-a:eth0 <-> rt-r1:ra mtu 9000\n"),
        "got:\n{got}"
    );
    assert!(!got.contains("~ mtu"), "the veth is made with its mtu, got:\n{got}");
}

#[test]
fn mtu_change_is_applied_in_place() {
    let lab = load("routed");
    let want = netlab::plan::desired::network(&lab);
    let mut seen = converged(&want);
    seen.ns.get_mut(&ns("rt-a")).unwrap().ifaces.get_mut("eth0").unwrap().mtu = Some(1500);
    assert_eq!(render(&diff(&lab, &want, &seen)), "~ mtu rt-a:eth0 9000\n");
}

#[test]
fn namespace_no_longer_in_the_file_is_deleted_alone() {
    let lab = load("routed");
    let want = netlab::plan::desired::network(&lab);
    let mut seen = converged(&want);
    seen.ns.insert(ns("rt-old"), Default::default());
    assert_eq!(render(&diff(&lab, &want, &seen)), "- netns rt-old\n");
}

#[test]
fn broken_namespace_file_from_a_crash_is_replaced() {
    let lab = load("lan");
    let want = netlab::plan::desired::network(&lab);
    let mut seen = converged(&want);
    seen.ns.remove(&ns("lan-h1"));
    seen.ns.get_mut(&ns("lan-sw")).unwrap().ifaces.remove("h1-eth0");
    seen.broken.insert("lan-h1".into());
    let got = render(&diff(&lab, &want, &seen));
    assert!(got.starts_with("- netns lan-h1\n+ netns lan-h1\n"), "got:\n{got}");
}

#[test]
fn host_objects_without_the_host_node_are_removed() {
    let with_host = load("host");
    let want = netlab::plan::desired::network(&with_host);
    let seen = converged(&want);
    // The same lab after the host node (and its link) left the file.
    let text = "name = \"hst\"\nprefix = \"\"\n[nodes.ns1]\n";
    let lab = Lab::parse(Path::new("hst.toml"), text).unwrap();
    let got = render(&diff(&lab, &netlab::plan::desired::network(&lab), &seen));
    assert!(got.contains("- link host:v-eth\n"), "got:\n{got}");
    assert!(got.contains("- route host: 10.99.0.0/16 via 10.200.1.2 metric 0\n"), "got:\n{got}");
    assert!(got.contains("- route ns1: default via 10.200.1.1 metric 0\n"), "got:\n{got}");
}
