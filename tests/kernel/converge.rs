//! One `up` converges, whatever the edit: a test for each thing the kernel does on its own
//! that a one-pass plan did not foresee, named after what the kernel does. Each edits a
//! running lab, runs one `up`, and checks that `plan` then has nothing to do and that the
//! lab works.

use crate::support::*;

fn sysctl(ns: &str, key: &str) -> String {
    sh_ok(&format!("ip netns exec {ns} sysctl -n {key}")).trim().to_string()
}

fn ifindex(ns: &str, iface: &str) -> String {
    let out = sh_ok(&format!("ip -n {ns} -o link show {iface}"));
    out.split(':').next().unwrap().trim().to_string()
}

fn mac(ns: &str, iface: &str) -> String {
    let out = sh_ok(&format!("ip -n {ns} -o link show {iface}"));
    out.split("link/ether ").nth(1).unwrap().split(' ').next().unwrap().to_string()
}

/// `ROUTED` after an edit, brought up, checked converged and working.
fn edit_and_converge(lab: &TestLab, body: &str) {
    lab.write(body);
    let r = lab.up();
    // The order of the plan must already get it right: a verify round that re-applies is
    // for the kernel's surprises, not for these.
    assert!(!r.stdout.contains("undid"), "up had to re-apply: {r:?}");
    lab.assert_converged();
}

#[test]
fn replacing_the_last_ipv4_address_of_a_subnet_drops_the_routes_through_it() {
    if !root_or_skip("lastaddr") {
        return;
    }
    let lab = TestLab::new("last");
    edit_and_converge(&lab, ROUTED);
    // a's only address on 10.1.0.0/24 changes; its default route via 10.1.0.1 stays in the
    // file, but the kernel drops it the moment the old address goes.
    edit_and_converge(&lab, &ROUTED.replace("10.1.0.2/24", "10.1.0.7/24"));
    assert!(sh_ok(&format!("ip -n {} route", lab.ns("a"))).contains("default via 10.1.0.1"));
    assert!(lab.ping("a", "10.2.0.2"));
    // Removed for good (with the route the file still names through it): up says so.
    let gone = ROUTED.replace(r#"["10.1.0.2/24", "fd00:1::2/64"]"#, r#"["fd00:1::2/64"]"#).replace(
        r#"routes = [{ to = "default", via = "10.1.0.1" }, { to = "default", via = "fd00:1::1" }]"#,
        r#"routes = [{ to = "default", via = "fd00:1::1" }]"#,
    );
    edit_and_converge(&lab, &gone);
    assert!(lab.ping("a", "fd00:2::2"));
}

#[test]
fn deleting_a_primary_address_promotes_its_secondaries() {
    if !root_or_skip("promote") {
        return;
    }
    let lab = TestLab::new("prom");
    let two = ROUTED
        .replace(r#"["10.1.0.1/24", "fd00:1::1/64"]"#, r#"["10.1.0.1/24", "10.1.0.5/24", "fd00:1::1/64"]"#);
    edit_and_converge(&lab, &two);
    let r1 = lab.ns("r1");
    assert_eq!(sysctl(&r1, "net.ipv4.conf.ra.promote_secondaries"), "1");
    // 10.1.0.1 is the primary; dropping it must leave 10.1.0.5.
    let one = two
        .replace(r#"["10.1.0.1/24", "10.1.0.5/24", "fd00:1::1/64"]"#, r#"["10.1.0.5/24", "fd00:1::1/64"]"#)
        .replace(r#"via = "10.1.0.1" }"#, r#"via = "10.1.0.5" }"#);
    edit_and_converge(&lab, &one);
    assert!(sh_ok(&format!("ip -n {r1} addr show dev ra")).contains("10.1.0.5/24"));
    assert!(lab.ping("a", "10.2.0.2"));
}

#[test]
fn renaming_an_interface_recreates_it_and_its_routes_go_with_the_old_one() {
    if !root_or_skip("rename") {
        return;
    }
    let lab = TestLab::new("ren");
    edit_and_converge(&lab, ROUTED);
    // The route `default via 10.1.0.1` names no device: it went out of a:eth0, which goes.
    edit_and_converge(&lab, &ROUTED.replace("\"a:eth0\"", "\"a:eth1\""));
    let routes = sh_ok(&format!("ip -n {} route", lab.ns("a")));
    assert!(routes.contains("default via 10.1.0.1 dev eth1"), "{routes}");
    assert!(lab.ping("a", "10.2.0.2"));
}

#[test]
fn moving_a_link_end_to_another_node_recreates_the_veth_and_its_routes() {
    if !root_or_skip("move") {
        return;
    }
    let lab = TestLab::new("move");
    let b_routes =
        r#"routes = [{ to = "default", via = "10.2.0.1" }, { to = "default", via = "fd00:2::1" }]"#;
    let with_c = format!("{ROUTED}\n[nodes.c]\n");
    edit_and_converge(&lab, &with_c);
    // b's end (with its addresses and routes) moves to c.
    let moved = with_c
        .replace(b_routes, "")
        .replace("[nodes.c]\n", &format!("[nodes.c]\n{b_routes}\n"))
        .replace("\"b:eth0\"]", "\"c:eth0\"]");
    edit_and_converge(&lab, &moved);
    assert!(sh_ok(&format!("ip -n {} route", lab.ns("c"))).contains("default via 10.2.0.1"));
    assert!(lab.ping("c", "10.1.0.2"));
}

#[test]
fn a_recreated_interface_has_lost_its_sysctls() {
    if !root_or_skip("ifsysctl") {
        return;
    }
    let lab = TestLab::new("ifsys");
    let body =
        ROUTED.replace("forward = true", "forward = true\nsysctls = { \"net.ipv4.conf.ra.rp_filter\" = 2 }");
    edit_and_converge(&lab, &body);
    let r1 = lab.ns("r1");
    assert_eq!(sysctl(&r1, "net.ipv4.conf.ra.rp_filter"), "2");
    let old = mac(&r1, "ra");
    // The far end moves to another interface of a: the veth is made anew, ra included.
    edit_and_converge(&lab, &body.replace("\"a:eth0\"", "\"a:eth1\""));
    assert_ne!(mac(&r1, "ra"), old, "the veth was not recreated: the test proves nothing");
    assert_eq!(sysctl(&r1, "net.ipv4.conf.ra.rp_filter"), "2");
}

#[test]
fn a_sysctl_of_an_interface_this_up_makes_is_set_once_it_exists() {
    if !root_or_skip("newif") {
        return;
    }
    let lab = TestLab::new("newif");
    edit_and_converge(&lab, ROUTED);
    let more = ROUTED.replace("forward = true", "forward = true\nsysctls = { \"net.ipv4.conf.rc.rp_filter\" = 2 }")
        + "\n[nodes.c]\n[[links]]\nendpoints = [\"r1:rc\", \"c:eth0\"]\naddresses = [\"10.3.0.1/24\", \"10.3.0.2/24\"]\n";
    edit_and_converge(&lab, &more);
    assert_eq!(sysctl(&lab.ns("r1"), "net.ipv4.conf.rc.rp_filter"), "2");
    // And removing the link with its sysctl: nothing is left to put back, and later
    // commands keep working.
    edit_and_converge(&lab, ROUTED);
    for args in [vec!["status", lab.name.as_str()], vec!["plan", lab.file.to_str().unwrap()]] {
        let r = lab.netlab(&args);
        assert_eq!(r.code, 0, "{r:?}");
    }
    lab.up();
}

#[test]
fn writing_ip_forward_resets_conf_all_values() {
    if !root_or_skip("ipfwd") {
        return;
    }
    let lab = TestLab::new("ipfwd");
    // Enabling forwarding sets conf.all.accept_redirects to 0 behind our back; ordered
    // before it, the file's value holds.
    let body = ROUTED.replace(
        "forward = true",
        "sysctls = { \"net.ipv4.ip_forward\" = 1, \"net.ipv4.conf.all.accept_redirects\" = 1 }",
    );
    edit_and_converge(&lab, &body);
    let r1 = lab.ns("r1");
    assert_eq!(sysctl(&r1, "net.ipv4.ip_forward"), "1");
    assert_eq!(sysctl(&r1, "net.ipv4.conf.all.accept_redirects"), "1");
}

#[test]
fn carrier_coming_up_resets_the_ipv6_mtu_of_an_interface() {
    if !root_or_skip("mtu6") {
        return;
    }
    let lab = TestLab::new("mtu6");
    let body = ROUTED.replace("[nodes.a]\n", "[nodes.a]\nsysctls = { \"net.ipv6.conf.eth0.mtu\" = 1400 }\n");
    edit_and_converge(&lab, &body);
    assert_eq!(sysctl(&lab.ns("a"), "net.ipv6.conf.eth0.mtu"), "1400");
}

#[test]
fn swapping_a_links_ends_is_the_same_link() {
    if !root_or_skip("swap") {
        return;
    }
    let lab = TestLab::new("swap");
    edit_and_converge(&lab, ROUTED);
    let before = ifindex(&lab.ns("a"), "eth0");
    let swapped =
        ROUTED.replace(r#"endpoints = ["a:eth0", "r1:ra"]"#, r#"endpoints = ["r1:ra", "a:eth0"]"#).replace(
            r#"addresses = [["10.1.0.2/24", "fd00:1::2/64"], ["10.1.0.1/24", "fd00:1::1/64"]]"#,
            r#"addresses = [["10.1.0.1/24", "fd00:1::1/64"], ["10.1.0.2/24", "fd00:1::2/64"]]"#,
        );
    lab.write(&swapped);
    lab.assert_converged();
    assert_eq!(ifindex(&lab.ns("a"), "eth0"), before);
}

#[test]
fn a_recreated_veth_announces_its_new_mac() {
    if !root_or_skip("garp") {
        return;
    }
    let lab = TestLab::new("garp");
    edit_and_converge(&lab, LAN);
    let h1 = lab.ns("h1");
    assert!(lab.ping("h1", "10.0.0.2"));
    assert_eq!(sysctl(&lab.ns("h2"), "net.ipv4.conf.eth0.arp_notify"), "1");
    assert_eq!(sysctl(&lab.ns("h2"), "net.ipv6.conf.eth0.ndisc_notify"), "1");
    // h2's veth is made anew (another name) with a new MAC; h1's neighbour entry for
    // 10.0.0.2 must follow at once, not after it goes stale.
    edit_and_converge(&lab, &LAN.replace("\"h2:eth0\"", "\"h2:eth1\""));
    let mac = mac(&lab.ns("h2"), "eth1");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
    loop {
        let neigh = sh_ok(&format!("ip -n {h1} neigh show 10.0.0.2"));
        if neigh.contains(&mac) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "h1 still has a stale entry for h2: {neigh} (new mac {mac})"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert_eq!(lab.exec("h1", &["ping", "-c1", "-W1", "10.0.0.2"]).code, 0);
}

#[test]
fn ipv6_stores_metric_0_as_1024() {
    if !root_or_skip("metric0") {
        return;
    }
    let lab = TestLab::new("met0");
    let body = ROUTED.replace(
        r#"{ to = "default", via = "fd00:2::1" }"#,
        r#"{ to = "default", via = "fd00:2::1", metric = 0 }"#,
    );
    assert_ne!(body, ROUTED);
    edit_and_converge(&lab, &body);
    assert!(lab.ping("b", "fd00:1::2"));
}

#[test]
fn status_forgets_a_sysctl_the_file_no_longer_names() {
    if !root_or_skip("stsys") {
        return;
    }
    let lab = TestLab::new("stsys");
    let body =
        ROUTED.replace("[nodes.a]\n", "[nodes.a]\nsysctls = { \"net.ipv4.conf.all.rp_filter\" = 2 }\n");
    edit_and_converge(&lab, &body);
    let a = lab.ns("a");
    let before = lab.netlab(&["status", &lab.name, "--json"]);
    assert!(before.stdout.contains("net.ipv4.conf.all.rp_filter"), "{before:?}");
    edit_and_converge(&lab, ROUTED);
    let after = lab.netlab(&["status", &lab.name, "--json"]);
    assert_eq!(after.code, 0, "{after:?}");
    assert!(!after.stdout.contains("net.ipv4.conf.all.rp_filter"), "{after:?}");
    // Put back as it was in a new namespace.
    assert_eq!(sysctl(&a, "net.ipv4.conf.all.rp_filter"), "0");
}
