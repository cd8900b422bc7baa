//! Multipath routes in the kernel: a list of `via` is one route with a next hop per gateway
//! (`ip route add DST nexthop via A nexthop via B weight 3`), observed and diffed as one, so
//! `plan` is empty after `up` although the kernel lists the hops in its own order, and a
//! changed weight converges in one `up`.

use crate::support::*;

/// a has a link to each of two routers, r1 (eth1, 10.0.1.0/24 and fd00:1::/64) and r2 (eth2,
/// 10.0.2.0/24 and fd00:2::/64); both are on a switch with h (10.9.0.0/24 and fd00:9::/64).
/// a reaches h's subnet through both routers at once. `WEIGHT` is r2's share.
const MULTIPATH: &str = r#"
[nodes.a]
routes = [
  { to = "10.9.0.0/24", via = ["10.0.1.2", { via = "10.0.2.2", weight = WEIGHT }] },
  { to = "fd00:9::/64", via = ["fd00:1::2", { via = "fd00:2::2", weight = WEIGHT }] },
]
[nodes.r1]
forward = true
[nodes.r2]
forward = true
[nodes.sw]
kind = "switch"
[nodes.h]
routes = [
  { to = "10.0.1.0/24", via = "10.9.0.1" }, { to = "10.0.2.0/24", via = "10.9.0.2" },
  { to = "fd00:1::/64", via = "fd00:9::1" }, { to = "fd00:2::/64", via = "fd00:9::2" },
]
[[links]]
endpoints = ["a:eth1", "r1:eth0"]
addresses = [["10.0.1.1/24", "fd00:1::1/64"], ["10.0.1.2/24", "fd00:1::2/64"]]
[[links]]
endpoints = ["a:eth2", "r2:eth0"]
addresses = [["10.0.2.1/24", "fd00:2::1/64"], ["10.0.2.2/24", "fd00:2::2/64"]]
[[links]]
endpoints = ["r1:eth1", "sw"]
addresses = [["10.9.0.1/24", "fd00:9::1/64"], ""]
[[links]]
endpoints = ["r2:eth1", "sw"]
addresses = [["10.9.0.2/24", "fd00:9::2/64"], ""]
[[links]]
endpoints = ["h:eth0", "sw"]
addresses = [["10.9.0.3/24", "fd00:9::3/64"], ""]
"#;

fn topo(weight: u16) -> String {
    MULTIPATH.replace("WEIGHT", &weight.to_string())
}

/// `ip route show DST` in node a, one line per next hop, whitespace squeezed.
fn hops(lab: &TestLab, family: &str, dst: &str) -> Vec<String> {
    let out = sh_ok(&format!("ip {family} -n {} route show {dst}", lab.ns("a")));
    out.lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|l| l.starts_with("nexthop"))
        .collect()
}

#[test]
fn via_list_is_one_route_with_both_next_hops_and_converges_when_a_weight_changes() {
    if !root_or_skip("multipath") {
        return;
    }
    let lab = TestLab::new("mpath");
    lab.write(&topo(3));
    lab.up();
    assert_eq!(
        hops(&lab, "-4", "10.9.0.0/24"),
        ["nexthop via 10.0.1.2 dev eth1 weight 1", "nexthop via 10.0.2.2 dev eth2 weight 3"]
    );
    assert_eq!(
        hops(&lab, "-6", "fd00:9::/64"),
        ["nexthop via fd00:1::2 dev eth1 weight 1", "nexthop via fd00:2::2 dev eth2 weight 3"]
    );
    lab.assert_converged();
    assert!(lab.ping("a", "10.9.0.3"), "a reaches h through the routers");
    assert!(lab.ping("a", "fd00:9::3"), "a reaches h over IPv6");

    // Another weight: the route is replaced, and one `up` converges.
    lab.write(&topo(5));
    let r = lab.plan();
    assert_eq!(r.code, 2, "a changed weight is a change: {r:?}");
    assert!(r.stdout.contains("nexthop via 10.0.2.2 weight 5"), "{r:?}");
    lab.up();
    lab.assert_converged();
    assert_eq!(
        hops(&lab, "-4", "10.9.0.0/24"),
        ["nexthop via 10.0.1.2 dev eth1 weight 1", "nexthop via 10.0.2.2 dev eth2 weight 5"]
    );
    assert_eq!(
        hops(&lab, "-6", "fd00:9::/64"),
        ["nexthop via fd00:1::2 dev eth1 weight 1", "nexthop via fd00:2::2 dev eth2 weight 5"]
    );
    assert!(lab.ping("a", "10.9.0.3"));

    lab.down();
    lab.assert_gone();
}
