//! The engine against the in-memory machine: `up`, `plan`, `down` and `status` for each kind
//! of change, with the record's bookkeeping, and no root.

use super::{down::down, status::status, up};
use crate::backend::fake::{Fake, FakeNs, NETLAB_PROTO};
use crate::backend::Store;
use crate::error::Error;
use crate::model::{names, Lab, NsRef};
use crate::state::RouteState;
use futures::executor::block_on;
use std::path::Path;

const TWO: &str = r#"
name = "t"
[nodes.a]
sysctls = { "net.ipv4.ip_forward" = 1 }
routes = [{ to = "10.9.0.0/24", via = "10.0.0.2" }]
[nodes.b]
[[links]]
endpoints = ["a:eth0", "b:eth0"]
addresses = ["10.0.0.1/24", "10.0.0.2/24"]
"#;

fn lab(text: &str) -> Lab {
    Lab::parse(Path::new("/nonexistent/t.toml"), text).expect("valid topology")
}

fn up(fake: &Fake, lab: &Lab) -> Result<usize, Error> {
    block_on(up::up(fake, lab, Default::default(), &|_| {}, &|| {})).map(|r| r.plan.ops.len())
}

fn plan(fake: &Fake, lab: &Lab) -> Vec<String> {
    block_on(up::plan(fake, lab, Default::default()))
        .expect("plan")
        .plan
        .ops
        .iter()
        .map(ToString::to_string)
        .collect()
}

fn ns(name: &str) -> NsRef {
    NsRef::Named(name.to_string())
}

/// Brings `text` up, checks that one `up` converged, and returns the fake.
fn converged(text: &str) -> (Fake, Lab) {
    let fake = Fake::default();
    let l = lab(text);
    assert!(up(&fake, &l).expect("up") > 0);
    assert_eq!(plan(&fake, &l), Vec::<String>::new(), "one up did not converge");
    (fake, l)
}

#[test]
fn up_builds_the_lab_and_a_second_up_changes_nothing() {
    let (fake, l) = converged(TWO);
    {
        let m = fake.machine();
        let a = &m.ns[&ns("t-a")];
        assert_eq!(a.lo_mark.as_deref(), Some(names::netns_mark("t").as_str()));
        assert!(a.ifaces["eth0"].up);
        assert!(a.ifaces["eth0"].addrs.contains(&"10.0.0.1/24".parse().unwrap()));
        assert_eq!(a.sysctls["net.ipv4.ip_forward"], "1");
        assert!(a.routes.keys().any(|(d, _)| d.to_string() == "10.9.0.0/24"));
    }
    let record = fake.load("t").unwrap().expect("a record");
    assert_eq!(record.namespaces.iter().cloned().collect::<Vec<_>>(), ["t-a", "t-b"]);
    // The original of a sysctl the lab changed is kept, to be put back.
    assert_eq!(record.sysctl_orig["t-a"]["net.ipv4.ip_forward"], "0");
    fake.clear_calls();
    assert_eq!(up(&fake, &l).unwrap(), 0);
    assert!(fake.calls().is_empty(), "an unchanged up touched the kernel: {:?}", fake.calls());
}

#[test]
fn each_kind_of_edit_converges_in_one_up() {
    let edits: [(&str, &str, &str); 8] = [
        (
            "an address",
            r#"addresses = ["10.0.0.1/24", "10.0.0.2/24"]"#,
            r#"addresses = ["10.0.0.1/24", "10.0.0.3/24"]"#,
        ),
        (
            "an mtu",
            "endpoints = [\"a:eth0\", \"b:eth0\"]",
            "endpoints = [\"a:eth0\", \"b:eth0\"]\nmtu = 9000",
        ),
        ("a route", "via = \"10.0.0.2\" }", "via = \"10.0.0.2\", metric = 5 }"),
        (
            "a sysctl",
            "\"net.ipv4.ip_forward\" = 1",
            "\"net.ipv4.ip_forward\" = 1, \"net.ipv4.conf.all.forwarding\" = 1",
        ),
        ("a node", "[nodes.b]", "[nodes.b]\n[nodes.c]"),
        ("a renamed interface", "\"b:eth0\"]", "\"b:eth1\"]"),
        ("a firewall", "[nodes.b]", "[nodes.b]\nfirewall.input_policy = \"drop\""),
        ("a workload", "[nodes.b]", "[nodes.b]\nrun = [{ name = \"w\", cmd = [\"sleep\", \"60\"] }]"),
    ];
    for (what, from, to) in edits {
        let (fake, _) = converged(TWO);
        assert!(TWO.contains(from), "{what}: the edit does not apply");
        let edited = lab(&TWO.replace(from, to));
        let changes = up(&fake, &edited).unwrap_or_else(|e| panic!("{what}: {e}"));
        assert!(changes > 0, "{what}: no change applied");
        assert_eq!(plan(&fake, &edited), Vec::<String>::new(), "{what}: one up did not converge");
        // And back again.
        up(&fake, &lab(TWO)).unwrap_or_else(|e| panic!("{what} undone: {e}"));
        assert_eq!(plan(&fake, &lab(TWO)), Vec::<String>::new(), "{what} undone: did not converge");
    }
}

#[test]
fn swapping_a_links_two_ends_is_no_change() {
    let (fake, _) = converged(TWO);
    let swapped =
        TWO.replace(r#"endpoints = ["a:eth0", "b:eth0"]"#, r#"endpoints = ["b:eth0", "a:eth0"]"#).replace(
            r#"addresses = ["10.0.0.1/24", "10.0.0.2/24"]"#,
            r#"addresses = ["10.0.0.2/24", "10.0.0.1/24"]"#,
        );
    assert_ne!(swapped, TWO);
    assert_eq!(plan(&fake, &lab(&swapped)), Vec::<String>::new());
}

#[test]
fn a_new_prefix_for_an_ipv6_address_replaces_it_in_place() {
    let v6 = TWO.replace(
        r#"addresses = ["10.0.0.1/24", "10.0.0.2/24"]"#,
        r#"addresses = ["10.0.0.1/24", ["10.0.0.2/24", "fd00::2/64"]]"#,
    );
    let (fake, _) = converged(&v6);
    let wider = lab(&v6.replace("fd00::2/64", "fd00::2/48"));
    assert_eq!(plan(&fake, &wider), ["~ addr t-b:eth0 fd00::2/64 -> fd00::2/48"]);
    up(&fake, &wider).unwrap();
    assert!(plan(&fake, &wider).is_empty());
}

/// The plan's order works around what the kernel does on its own (the fake does it too): it
/// must not take a verify round to get there.
#[test]
fn the_plans_order_gets_ahead_of_the_kernels_reactions() {
    let (fake, _) = converged(TWO);
    // a's only address on the subnet of its route's gateway changes; the route does not.
    let a_moves = lab(&TWO.replace("\"10.0.0.1/24\"", "\"10.0.0.7/24\""));
    let report = block_on(up::up(&fake, &a_moves, Default::default(), &|_| {}, &|| {})).unwrap();
    assert!(report.reapplied.is_empty(), "needed a second round: {:?}", report.reapplied);
    assert!(fake.machine().ns[&ns("t-a")].routes.keys().any(|(d, _)| d.to_string() == "10.9.0.0/24"));
    // ip_forward resets accept_redirects: it goes first, so the file's value holds.
    let fwd = Fake::default();
    let both = lab(&TWO.replace(
        "\"net.ipv4.ip_forward\" = 1",
        "\"net.ipv4.ip_forward\" = 1, \"net.ipv4.conf.all.accept_redirects\" = 1",
    ));
    let report = block_on(up::up(&fwd, &both, Default::default(), &|_| {}, &|| {})).unwrap();
    assert!(report.reapplied.is_empty(), "needed a second round: {:?}", report.reapplied);
    assert_eq!(fwd.machine().ns[&ns("t-a")].sysctls["net.ipv4.conf.all.accept_redirects"], "1");
}

#[test]
fn drift_is_planned_and_repaired() {
    let (fake, l) = converged(TWO);
    fake.machine().ns.get_mut(&ns("t-b")).unwrap().ifaces.get_mut("eth0").unwrap().addrs.clear();
    assert_eq!(plan(&fake, &l), ["+ addr t-b:eth0 10.0.0.2/24"]);
    up(&fake, &l).unwrap();
    assert!(plan(&fake, &l).is_empty());
}

#[test]
fn a_namespace_that_is_not_the_labs_is_refused_and_nothing_changes() {
    let fake = Fake::default();
    fake.machine().ns.insert(ns("t-b"), FakeNs { lo_mark: Some("someone".into()), ..Default::default() });
    let err = up(&fake, &lab(TWO)).unwrap_err();
    assert!(matches!(err, Error::Foreign(_)), "{err}");
    assert!(fake.calls().is_empty(), "touched the kernel: {:?}", fake.calls());
    assert_eq!(fake.machine().ns.len(), 1);
}

#[test]
fn a_missing_qdisc_stops_up_before_anything_changes() {
    let fake = Fake::default();
    fake.without_qdisc("netem");
    let slow = TWO.replace("addresses = [", "delay = \"10ms\"\naddresses = [");
    let err = up(&fake, &lab(&slow)).unwrap_err();
    assert!(matches!(err, Error::Missing(_)) && err.to_string().contains("sch_netem"), "{err}");
    assert!(fake.calls().is_empty());
}

#[test]
fn a_sysctl_the_kernel_lacks_stops_up_before_anything_changes() {
    let fake = Fake::default();
    // A per-interface key is probed as the `default` one every new interface inherits.
    fake.without_sysctl("net.ipv4.conf.default.no_such_knob");
    let file = TWO.replace("[nodes.b]", "[nodes.b]\nsysctls = { \"net.ipv4.conf.eth0.no_such_knob\" = 1 }");
    let err = up(&fake, &lab(&file)).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, Error::Missing(_)), "{err}");
    assert!(msg.contains("node b: this kernel has no sysctl net.ipv4.conf.eth0.no_such_knob"), "{msg}");
    assert!(msg.contains("net/ipv4/conf/default/no_such_knob"), "{msg}");
    assert!(fake.calls().is_empty());
    assert!(fake.load("t").unwrap().is_none(), "no record either");
}

#[test]
fn a_workload_program_that_is_not_there_stops_up_before_anything_changes() {
    let fake = Fake::default();
    fake.without_program("no-such-daemon");
    let file =
        TWO.replace("[nodes.b]", "run = [{ name = \"d\", cmd = [\"no-such-daemon\", \"-f\"] }]\n[nodes.b]");
    let err = up(&fake, &lab(&file)).unwrap_err();
    assert!(matches!(err, Error::Missing(_)), "{err}");
    assert!(err.to_string().contains("workload d: there is no program no-such-daemon"), "{err}");
    assert!(fake.calls().is_empty());
}

#[test]
fn a_failed_up_stops_and_down_still_removes_what_it_made() {
    let fake = Fake::failing_on("add_addr");
    assert!(up(&fake, &lab(TWO)).is_err());
    assert!(!fake.calls().iter().any(|c| c.starts_with("add_route")), "went on after the failure");
    // The record already names the namespaces, so down finds them.
    assert!(fake.load("t").unwrap().unwrap().namespaces.contains("t-a"));
    fake.fail_on(None);
    let report = block_on(down(&fake, "t")).unwrap();
    assert_eq!(report.namespaces, ["t-a", "t-b"]);
    assert!(fake.machine().ns.keys().all(|n| *n == NsRef::Host));
    assert!(fake.load("t").unwrap().is_none());
}

/// A lab with a host node: its sysctl, route and veth end in the host namespace.
pub(super) const HOSTED: &str = r#"
name = "h"
[nodes.host]
kind = "host"
sysctls = { "net.ipv4.ip_forward" = 1 }
routes = [{ to = "10.8.0.0/24", via = "10.1.0.2" }]
[nodes.x]
[[links]]
endpoints = ["host:v-h", "x:eth0"]
addresses = ["10.1.0.1/24", "10.1.0.2/24"]
"#;

#[test]
fn down_removes_the_labs_host_objects_and_puts_sysctls_back_but_leaves_strangers() {
    let fake = Fake::default();
    let stranger = RouteState::single("10.7.0.0/24".parse().unwrap(), None, None, 0);
    {
        let mut m = fake.machine();
        let host = m.ns.entry(NsRef::Host).or_default();
        host.routes.insert((stranger.dst, 0), (stranger.clone(), 4));
        host.sysctls.insert("net.ipv4.ip_forward".into(), "0".into());
        m.ns.insert(ns("other"), FakeNs { lo_mark: Some(names::netns_mark("other")), ..Default::default() });
    }
    let l = lab(HOSTED);
    up(&fake, &l).unwrap();
    assert!(plan(&fake, &l).is_empty());
    assert!(fake.machine().ns[&NsRef::Host].ifaces.contains_key("v-h"));
    let report = block_on(down(&fake, "h")).unwrap();
    assert_eq!(report.namespaces, ["h-x"]);
    let m = fake.machine();
    let host = &m.ns[&NsRef::Host];
    assert!(host.ifaces.is_empty(), "host link left: {:?}", host.ifaces.keys());
    assert_eq!(host.routes.len(), 1, "only the stranger's route stays");
    assert_eq!(host.routes.values().next().unwrap().1, 4);
    assert_eq!(host.sysctls["net.ipv4.ip_forward"], "0", "the host sysctl was not put back");
    assert!(m.ns.contains_key(&ns("other")), "another lab's namespace was removed");
}

#[test]
fn down_without_a_record_goes_by_the_marks() {
    let (fake, _) = converged(TWO);
    fake.remove("t").unwrap();
    fake.machine().ns.insert(ns("t-z"), FakeNs { lo_mark: Some("stranger".into()), ..Default::default() });
    let report = block_on(down(&fake, "t")).unwrap();
    assert_eq!(report.namespaces, ["t-a", "t-b"]);
    assert!(fake.machine().ns.contains_key(&ns("t-z")));
    // Twice is fine, and says there was nothing.
    let again = block_on(down(&fake, "t")).unwrap();
    assert!(!again.found_anything);
}

#[test]
fn down_goes_on_past_a_failure_and_reports_it() {
    let (fake, _) = converged(TWO);
    fake.fail_on(Some("del_netns t-a"));
    let err = block_on(down(&fake, "t")).unwrap_err();
    assert!(matches!(&err, Error::Teardown(e) if e.len() == 1), "{err}");
    assert!(!fake.machine().ns.contains_key(&ns("t-b")), "stopped at the first failure");
    // The record stays, so a second down can finish the job.
    assert!(fake.load("t").unwrap().is_some());
    fake.fail_on(None);
    assert_eq!(block_on(down(&fake, "t")).unwrap().namespaces, ["t-a"]);
}

#[test]
fn status_shows_the_nodes_and_the_drift() {
    let dir = std::env::temp_dir().join(format!("netlab-status-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("t.toml");
    std::fs::write(&file, TWO).unwrap();
    let fake = Fake::default();
    let l = Lab::load(&file).unwrap();
    up(&fake, &l).unwrap();
    let s = block_on(status(&fake, Some("t"))).unwrap();
    assert_eq!(s.nodes.iter().map(|n| n.name.as_str()).collect::<Vec<_>>(), ["a", "b"]);
    assert!(s.nodes.iter().all(|n| n.present));
    assert!(s.drift.is_empty() && s.drift_unknown.is_none(), "{:?}", s.drift);
    fake.machine().ns.get_mut(&ns("t-a")).unwrap().routes.clear();
    let s = block_on(status(&fake, None)).unwrap();
    let drift: Vec<String> = s.drift.iter().map(ToString::to_string).collect();
    assert_eq!(drift, ["+ route t-a: 10.9.0.0/24 via 10.0.0.2 metric 0"]);
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(matches!(block_on(status(&fake, Some("nope"))), Err(Error::NotFound(_))));
}

#[test]
fn routes_of_the_labs_protocol_are_the_labs_in_the_host() {
    let (fake, l) = converged(HOSTED);
    let host_routes = fake.machine().ns[&NsRef::Host].routes.clone();
    assert!(host_routes.values().all(|(_, p)| *p == NETLAB_PROTO));
    assert_eq!(fake.load("h").unwrap().unwrap().host_routes.len(), 1);
    assert!(plan(&fake, &l).is_empty());
}

#[test]
fn container_like_nodes_and_their_capabilities() {
    let l = lab(r#"
name = "t"
[nodes.plain]
run = [{ name = "w", cmd = ["sleep", "1"] }]
[nodes.lim]
limits = { pids = 8 }
[nodes.sec]
seccomp = "default"
[nodes.iso]
isolate = ["uts"]
[nodes.named]
hostname = "h"
[nodes.capped]
caps = { add = ["SYS_PTRACE", "cap_sys_admin"], drop = ["MKNOD", "NET_RAW"] }
run = [
  { name = "own", cmd = ["true"], caps = { drop = ["ALL"] } },
  { name = "inherits", cmd = ["true"] },
]
[nodes.mixed]
run = [{ name = "alone", cmd = ["true"], limits = { memory = "64M" } }]
"#);
    let p = |n: &str| &l.nodes[n].processes;
    assert_eq!(p("plain").confine, None, "a plain node runs unconfined");
    assert_eq!(p("plain").run[0].confine, None);
    for n in ["lim", "sec", "iso", "named", "capped"] {
        assert!(p(n).confine.is_some(), "{n} is container-like");
    }
    // As in Docker, a container-like node has a pid namespace of its own (and so a holder
    // that sets up its view once), also when it asks only for limits.
    assert!(p("lim").isolation.pid && p("lim").confine.unwrap().holder_view);
    assert!(!p("plain").isolation.pid);
    let caps = p("capped").confine.unwrap().caps;
    let default = crate::model::caps::Caps::default();
    assert_eq!(caps.keep, (default.keep | 1 << 19 | 1 << 21) & !(1 << 27 | 1 << 13), "{:?}", caps.names());
    assert_eq!(p("capped").run[0].confine.unwrap().caps.keep, 0, "drop = [\"ALL\"] drops all");
    assert_eq!(p("capped").run[1].confine.unwrap().caps, caps, "a workload inherits the node's caps");
    // A workload that asks for confinement of its own gets it in a plain node.
    assert_eq!(p("mixed").confine, None);
    assert_eq!(p("mixed").run[0].confine.unwrap().caps, default);
}

/// A chain a - b - c - d; b routes through a and forwards.
const CHAIN: &str = r#"
name = "t"
[nodes.a]
[nodes.b]
sysctls = { "net.ipv4.ip_forward" = 1 }
routes = [{ to = "10.9.0.0/24", via = "10.0.1.1" }]
[nodes.c]
[nodes.d]
[[links]]
endpoints = ["a:r", "b:l"]
addresses = ["10.0.1.1/24", "10.0.1.2/24"]
[[links]]
endpoints = ["b:r", "c:l"]
addresses = ["10.0.2.1/24", "10.0.2.2/24"]
[[links]]
endpoints = ["c:r", "d:l"]
addresses = ["10.0.3.1/24", "10.0.3.2/24"]
"#;

fn names(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

fn up_report(fake: &Fake, lab: &Lab) -> up::UpReport {
    block_on(up::up(fake, lab, Default::default(), &|_| {}, &|| {})).expect("up")
}

#[test]
fn a_verify_round_looks_only_at_the_namespaces_its_ops_reached() {
    let (fake, _) = converged(CHAIN);
    fake.clear_calls();
    let text = CHAIN.replace(r#"["10.0.2.1/24", "10.0.2.2/24"]"#, r#"["10.0.4.1/24", "10.0.4.2/24"]"#);
    let edited = lab(&text);
    let report = up_report(&fake, &edited);
    assert_eq!(report.plan.ops.len(), 4, "{}", report.plan);
    // The plan reads every namespace; the verify round only the two ends of the edited link.
    assert_eq!(fake.looks(), [names(&["t-a", "t-b", "t-c", "t-d"]), names(&["t-b", "t-c"])]);
    assert!(plan(&fake, &edited).is_empty());

    // A namespace that goes takes the far ends of its veths along: those are looked at too.
    fake.clear_calls();
    let shorter = lab(&without_d(&text));
    let report = up_report(&fake, &shorter);
    assert!(report.plan.ops.iter().any(|o| o.to_string() == "- netns t-d"), "{}", report.plan);
    assert_eq!(fake.looks()[1], names(&["t-c"]), "t-d is gone, its peer t-c is read again");
    assert!(plan(&fake, &shorter).is_empty());
}

/// CHAIN without node d and its link.
fn without_d(text: &str) -> String {
    text.replace("[nodes.d]\n", "").replace(
        "[[links]]\nendpoints = [\"c:r\", \"d:l\"]\naddresses = [\"10.0.3.1/24\", \"10.0.3.2/24\"]\n",
        "",
    )
}

#[test]
fn a_kernel_reaction_in_a_namespace_the_round_touched_is_repaired() {
    let (fake, _) = converged(CHAIN);
    // The kernel drops b's route as b's address changes (the plan's order cannot prevent it).
    fake.react_to("add_addr t-b:r", |m| {
        m.ns.get_mut(&ns("t-b")).unwrap().routes.retain(|(d, _), _| d.to_string() != "10.9.0.0/24");
    });
    let edited =
        lab(&CHAIN.replace(r#"["10.0.2.1/24", "10.0.2.2/24"]"#, r#"["10.0.4.1/24", "10.0.4.2/24"]"#));
    let report = up_report(&fake, &edited);
    let reapplied: Vec<String> = report.reapplied.iter().map(ToString::to_string).collect();
    assert_eq!(reapplied.len(), 1, "{reapplied:?}");
    assert!(reapplied[0].starts_with("+ route t-b: 10.9.0.0/24"), "{reapplied:?}");
    assert!(fake.machine().ns[&ns("t-b")].routes.keys().any(|(d, _)| d.to_string() == "10.9.0.0/24"));
    assert!(plan(&fake, &edited).is_empty());
}

#[test]
fn a_kernel_reaction_at_the_far_end_of_a_touched_veth_is_repaired() {
    let (fake, _) = converged(CHAIN);
    fake.clear_calls();
    // Only c's end of the b - c link changes; as its carrier does, the kernel resets a value
    // in b, at the veth's far end.
    fake.react_to("add_addr t-c:l", |m| {
        m.ns.get_mut(&ns("t-b")).unwrap().sysctls.insert("net.ipv4.ip_forward".into(), "0".into());
    });
    let edited =
        lab(&CHAIN.replace(r#"["10.0.2.1/24", "10.0.2.2/24"]"#, r#"["10.0.2.1/24", "10.0.2.3/24"]"#));
    let report = up_report(&fake, &edited);
    assert!(report.plan.ops.iter().all(|o| o.to_string().contains("t-c:l")), "{}", report.plan);
    let reapplied: Vec<String> = report.reapplied.iter().map(ToString::to_string).collect();
    assert_eq!(reapplied, ["~ sysctl t-b: net.ipv4.ip_forward = 1 (was 0)"]);
    assert_eq!(fake.looks()[1], names(&["t-b", "t-c"]));
    // Once the kernel has undone something, the next verify reads the whole lab again: a late
    // reaction may have landed where the first verify had already looked.
    assert_eq!(fake.looks()[2], fake.looks()[0], "{:?}", fake.looks());
    assert_eq!(fake.machine().ns[&ns("t-b")].sysctls["net.ipv4.ip_forward"], "1");
    assert!(plan(&fake, &edited).is_empty());
}
