//! `via` as one gateway or a list of next hops, from the file to the model and to the route
//! the kernel is asked for; and the collisions the kernel would make of two routes.

use crate::model::{resolve, Hop, Lab, NextHops, Route};
use crate::spec::parse_str;
use crate::spec::raw::RawVia;
use std::path::Path;

/// Node a with eth0 on 10.0.1.0/24 + fd00:1::/64 and eth1 on 10.0.2.0/24 + fd00:2::/64.
fn topo(routes: &str) -> String {
    format!(
        r#"name = "t1"
[nodes.a]
routes = [{routes}]
[nodes.b]
[nodes.c]
[[links]]
endpoints = ["a:eth0", "b:eth0"]
addresses = [["10.0.1.1/24", "fd00:1::1/64"], ["10.0.1.2/24", "fd00:1::2/64"]]
[[links]]
endpoints = ["a:eth1", "c:eth0"]
addresses = [["10.0.2.1/24", "fd00:2::1/64"], ["10.0.2.2/24", "fd00:2::2/64"]]
"#
    )
}

fn lab(routes: &str) -> Result<Lab, String> {
    let (src, raw) = parse_str(Path::new("t.toml"), topo(routes)).map_err(|e| e.to_string())?;
    resolve(&src, raw).map_err(|e| e.to_string())
}

fn routes(routes: &str) -> Vec<Route> {
    lab(routes).unwrap_or_else(|e| panic!("{e}")).nodes["a"].routes.clone()
}

fn err(routes: &str) -> String {
    lab(routes).expect_err("the file is refused")
}

#[test]
fn via_list_parses_into_hops_with_their_own_spans() {
    let text =
        topo(r#"{ to = "10.9.0.0/24", via = ["10.0.1.2", { via = "10.0.2.2", weight = 3, dev = "eth1" }] }"#);
    let (_, raw) = parse_str(Path::new("t.toml"), text.clone()).unwrap();
    let node = raw.nodes.iter().find(|(k, _)| k.get_ref() == "a").unwrap().1.get_ref();
    let Some(RawVia::Hops(hops)) = node.routes[0].get_ref().via.as_ref().map(|v| v.get_ref()) else {
        panic!("a list of next hops")
    };
    assert_eq!(hops.len(), 2);
    assert_eq!(&text[hops[0].get_ref().via.span()], "\"10.0.1.2\"");
    assert_eq!(&text[hops[1].get_ref().via.span()], "\"10.0.2.2\"");
    assert_eq!(*hops[1].get_ref().weight.as_ref().unwrap().get_ref(), 3);
    assert_eq!(hops[1].get_ref().dev.as_ref().unwrap().get_ref(), "eth1");
    assert!(hops[0].get_ref().weight.is_none() && hops[0].get_ref().dev.is_none());
}

#[test]
fn one_via_string_stays_a_plain_route() {
    let r = routes(r#"{ to = "10.9.0.0/24", via = "10.0.1.2" }"#);
    assert_eq!(r[0].next, NextHops::One { via: Some("10.0.1.2".parse().unwrap()), dev: None });
    let st = crate::plan::desired::route(&r[0]);
    assert!(st.hops.is_empty() && st.via.is_some());
}

#[test]
fn via_list_resolves_into_one_multipath_route() {
    let r = routes(r#"{ to = "10.9.0.0/24", via = ["10.0.2.2", { via = "10.0.1.2", weight = 3 }] }"#);
    assert_eq!(r.len(), 1);
    assert_eq!(
        r[0].next,
        NextHops::Multipath(vec![
            Hop { via: "10.0.2.2".parse().unwrap(), dev: None, weight: None },
            Hop { via: "10.0.1.2".parse().unwrap(), dev: None, weight: Some(3) },
        ])
    );
}

#[test]
fn desired_multipath_route_has_sorted_hops_weight_one_by_default_and_no_via_of_its_own() {
    let r = routes(r#"{ to = "10.9.0.0/24", via = ["10.0.2.2", { via = "10.0.1.2", weight = 3 }] }"#);
    let st = crate::plan::desired::route(&r[0]);
    assert_eq!((st.via, st.dev.as_deref(), st.metric), (None, None, 0));
    let hops: Vec<(String, u16)> = st.hops.iter().map(|h| (h.via.to_string(), h.weight)).collect();
    assert_eq!(hops, [("10.0.1.2".to_string(), 3), ("10.0.2.2".to_string(), 1)]);
}

#[test]
fn default_multipath_route_takes_the_family_of_its_hops() {
    let r = routes(r#"{ to = "default", via = ["fd00:1::2", { via = "fd00:2::2", dev = "eth1" }] }"#);
    assert_eq!(r[0].dst.to_string(), "::/0");
    let st = crate::plan::desired::route(&r[0]);
    assert_eq!(st.metric, 1024);
    assert_eq!(st.hops[1].dev.as_deref(), Some("eth1"));
}

#[test]
fn via_list_refusals() {
    for (routes, want) in [
        (r#"{ to = "10.9.0.0/24", via = ["10.0.1.2"] }"#, "at least two next hops, this one has 1"),
        (r#"{ to = "10.9.0.0/24", via = [] }"#, "at least two next hops, this one has 0"),
        (r#"{ to = "10.9.0.0/24", via = ["10.0.1.2", "10.0.1.2"] }"#, "next hop 10.0.1.2 is listed twice"),
        (r#"{ to = "10.9.0.0/24", via = ["10.0.1.2", "fd00:2::2"] }"#, "of the other IP family"),
        (r#"{ to = "default", via = ["fd00:1::2", "10.0.2.2"] }"#, "route to ::/0 has a gateway 10.0.2.2"),
        (
            r#"{ to = "10.9.0.0/24", via = ["10.0.1.2", { via = "10.0.2.2", weight = 0 }] }"#,
            "weight 0 is out of range",
        ),
        (r#"{ to = "10.9.0.0/24", via = ["10.0.1.2", { via = "10.0.2.2", weight = 257 }] }"#, "weight 257"),
        (r#"{ to = "10.9.0.0/24", via = ["10.0.1.2", "10.0.3.2"] }"#, "on none of its links' subnets"),
        (
            r#"{ to = "10.9.0.0/24", via = ["10.0.1.2", { via = "10.0.2.2", dev = "eth0" }] }"#,
            "not on a subnet of a:eth0",
        ),
        (
            r#"{ to = "10.9.0.0/24", via = ["10.0.1.2", { via = "10.0.2.2", dev = "eth9" }] }"#,
            "no interface \"eth9\"",
        ),
        (r#"{ to = "10.9.0.0/24", via = ["10.0.1.2", "10.0.2.2"], dev = "eth0" }"#, "has no dev of its own"),
        (
            r#"{ to = "10.9.0.0/24", via = ["10.0.1.2", "10.0.2.2/24"] }"#,
            "\"10.0.2.2/24\" is not an IP address",
        ),
        (r#"{ to = "10.9.0.0/24", via = ["10.0.1.2", 3] }"#, "expected a next hop here"),
    ] {
        let e = err(routes);
        assert!(e.contains(want), "{routes}: {e}");
    }
}

#[test]
fn weight_256_and_a_dev_per_hop_are_accepted() {
    let r = routes(
        r#"{ to = "10.9.0.0/24", via = [{ via = "10.0.1.2", dev = "eth0", weight = 256 }, { via = "10.0.2.2", dev = "eth1" }] }"#,
    );
    let NextHops::Multipath(h) = &r[0].next else { panic!("multipath") };
    assert_eq!(
        (h[0].weight, h[0].dev.as_deref(), h[1].dev.as_deref()),
        (Some(256), Some("eth0"), Some("eth1"))
    );
}

#[test]
fn routes_the_kernel_keeps_as_one_are_refused_naming_the_first() {
    for (routes, want) in [
        (
            "{ to = \"fd00:9::/64\", via = \"fd00:1::2\" },\n{ to = \"fd00:9::/64\", via = \"fd00:2::2\", metric = 0 }",
            "two routes to fd00:9::/64 that the kernel keeps as one (metric 1024); the first is on line 3",
        ),
        (
            "{ to = \"fd00:9::/64\", via = \"fd00:1::2\", metric = 1024 },\n{ to = \"fd00:9::/64\", via = [\"fd00:1::2\", \"fd00:2::2\"] }",
            "(metric 1024); the first is on line 3",
        ),
        (
            "{ to = \"10.9.0.0/24\", via = \"10.0.1.2\" },\n{ to = \"10.9.0.0/24\", via = \"10.0.2.2\", metric = 0 }",
            "two routes to 10.9.0.0/24 that the kernel keeps as one (metric 0)",
        ),
        (
            "{ to = \"10.9.0.0/24\", via = \"10.0.1.2\" },\n{ to = \"10.9.0.0/24\", via = [\"10.0.1.2\", \"10.0.2.2\"] }",
            "two routes to 10.9.0.0/24 with the same metric; the first is on line 3",
        ),
    ] {
        let e = err(routes);
        assert!(e.contains(want), "{routes}: {e}");
        assert!(e.contains("t.toml:4:"), "at the second route: {e}");
    }
}

#[test]
fn routes_with_different_kernel_metrics_are_kept() {
    // IPv4 metric 0 and 5 differ; IPv6 metric 0 (1024) and 5 differ; families differ.
    let r = routes(
        r#"{ to = "10.9.0.0/24", via = "10.0.1.2" }, { to = "10.9.0.0/24", via = "10.0.2.2", metric = 5 },
           { to = "fd00:9::/64", via = "fd00:1::2", metric = 0 }, { to = "fd00:9::/64", via = "fd00:2::2", metric = 5 },
           { to = "default", via = "10.0.1.2" }, { to = "default", via = "fd00:1::2" }"#,
    );
    assert_eq!(r.len(), 6);
}
