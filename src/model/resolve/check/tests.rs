//! Checks from the file to the model: ping_all's pairs, throughput's sink and bounds, names.

use crate::model::{resolve, Lab, Probe, Transport};
use crate::spec::parse_str;
use std::path::Path;

/// a, b, c on switch s (10.9.0.0/24 + fd09::/64); d on a link of its own to a.
fn lab(checks: &str) -> Result<Lab, String> {
    let text = format!(
        r#"name = "t1"
[nodes.s]
kind = "switch"
[nodes.a]
[nodes.b]
[nodes.c]
[nodes.d]
[[links]]
endpoints = ["a:eth0", "s:p1"]
addresses = [["10.9.0.1/24", "fd09::1/64"], []]
[[links]]
endpoints = ["b:eth0", "s:p2"]
addresses = [["10.9.0.2/24", "fd09::2/64"], []]
[[links]]
endpoints = ["c:eth0", "s:p3"]
addresses = [["10.9.0.3/24"], []]
{checks}"#
    );
    let (src, raw) = parse_str(Path::new("t.toml"), text).map_err(|e| e.to_string())?;
    resolve(&src, raw).map_err(|e| e.to_string())
}

#[test]
fn ping_all_pairs_every_node_with_every_address_of_the_others() {
    let l = lab("[[check]]\nping_all = [\"a\", \"b\", \"c\"]\n").unwrap();
    let c = &l.checks[0];
    let Probe::PingAll { nodes, pairs } = &c.probe else { panic!("{:?}", c.probe) };
    assert_eq!(nodes, &["a", "b", "c"]);
    // a → b's 2 and c's 1, b → a's 2 and c's 1, c → a's 2 and b's 2.
    assert_eq!(pairs.len(), 3 + 3 + 4);
    assert!(pairs.iter().all(|p| p.from != p.to_node));
    assert!(pairs.iter().any(|p| p.from == "c" && p.to == "fd09::2".parse::<std::net::IpAddr>().unwrap()));
    assert_eq!(c.name, "ping_all a, b, c");
    assert_eq!((c.from.as_str(), c.line), ("a", 17));
}

#[test]
fn ping_all_true_takes_every_node_but_switches() {
    let l = lab("[[check]]\nping_all = true\n").unwrap();
    let Probe::PingAll { nodes, pairs } = &l.checks[0].probe else { panic!() };
    assert_eq!(nodes, &["a", "b", "c", "d"]);
    // d has no address: it pings the others' 5 and is pinged by no one.
    assert_eq!(pairs.iter().filter(|p| p.from == "d").count(), 5);
    assert!(!pairs.iter().any(|p| p.to_node == "d"));
}

#[test]
fn ping_all_refuses_from_switches_and_one_node() {
    assert!(lab("[[check]]\nping_all = true\nfrom = \"a\"\n").unwrap_err().contains("takes no from"));
    assert!(lab("[[check]]\nping_all = [\"a\", \"s\"]\n").unwrap_err().contains("switch \"s\""));
    assert!(lab("[[check]]\nping_all = [\"a\"]\n").unwrap_err().contains("at least two"));
    assert!(lab("[[check]]\nping_all = false\n").unwrap_err().contains("neither true nor"));
}

#[test]
fn throughput_to_a_node_takes_its_first_address_and_to_an_ip_its_holder() {
    let l = lab(
        "[[check]]\nfrom = \"a\"\nthroughput = { to = \"b\", min = \"50mbit\" }\n\
         [[check]]\nfrom = \"a\"\nthroughput = { to = \"fd09::3\", min = \"1mbit\", max = \"2gbit\", duration = \"1s\", port = 7000 }\n",
    );
    assert!(l.unwrap_err().contains("fd09::3, which no node of the lab holds"));
    let l = lab(
        "[[check]]\nfrom = \"a\"\nthroughput = { to = \"b\", min = \"50mbit\" }\n\
         [[check]]\nfrom = \"a\"\nthroughput = { to = \"10.9.0.3\", max = \"2gbit\", duration = \"1s\", port = 7000 }\n",
    )
    .unwrap();
    let Probe::Throughput(t) = &l.checks[0].probe else { panic!() };
    assert_eq!((t.to_node.as_str(), t.to.to_string().as_str(), t.port), ("b", "10.9.0.2", 5201));
    assert_eq!((t.min, t.max, t.proto), (Some(50_000_000), None, Transport::Tcp));
    assert_eq!(l.checks[0].name, "a: throughput to b");
    let Probe::Throughput(t) = &l.checks[1].probe else { panic!() };
    assert_eq!((t.to_node.as_str(), t.port, t.max), ("c", 7000, Some(2_000_000_000)));
    assert_eq!(t.duration, std::time::Duration::from_secs(1));
}

#[test]
fn throughput_refuses_udp_no_bounds_and_itself() {
    let e = lab("[[check]]\nfrom = \"a\"\nthroughput = { to = \"b\", min = \"1mbit\", proto = \"udp\" }\n");
    assert!(e.unwrap_err().contains("udp is not supported"));
    let e = lab("[[check]]\nfrom = \"a\"\nthroughput = { to = \"b\" }\n");
    assert!(e.unwrap_err().contains("needs min or max"));
    let e = lab("[[check]]\nfrom = \"a\"\nthroughput = { to = \"a\", min = \"1mbit\" }\n");
    assert!(e.unwrap_err().contains("to itself"));
}

#[test]
fn two_checks_of_one_name_are_refused_at_the_second() {
    let e = lab("[[check]]\nname = \"x\"\nfrom = \"a\"\nping = \"10.9.0.2\"\n[[check]]\nname = \"x\"\nfrom = \"b\"\nping = \"10.9.0.1\"\n")
        .unwrap_err();
    assert!(e.contains("t.toml:22:8") && e.contains("already on line 17"), "{e}");
    // The same check twice, unnamed: the same default name.
    let e =
        lab("[[check]]\nfrom = \"a\"\nping = \"10.9.0.2\"\n[[check]]\nfrom = \"a\"\nping = \"10.9.0.2\"\n")
            .unwrap_err();
    assert!(e.contains("\"a: ping 10.9.0.2\" is already on line 17"), "{e}");
}
