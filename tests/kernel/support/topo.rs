//! Topologies several kernel tests use. `TestLab::write` puts the lab's own `name` and
//! `prefix` before them.

/// Three hosts on a switch, dual-stack: 10.0.0.N/24 and fd00:10::N/64 on h1..h3.
pub const LAN: &str = r#"
[nodes.sw]
kind = "switch"
[nodes.h1]
[nodes.h2]
[nodes.h3]
[[links]]
endpoints = ["h1:eth0", "sw"]
addresses = [["10.0.0.1/24", "fd00:10::1/64"], ""]
[[links]]
endpoints = ["h2:eth0", "sw"]
addresses = [["10.0.0.2/24", "fd00:10::2/64"], ""]
[[links]]
endpoints = ["h3:eth0", "sw"]
addresses = [["10.0.0.3/24", "fd00:10::3/64"], ""]
"#;

/// a — r1 — b, dual-stack, r1 forwarding: a on 10.1.0.0/24 and fd00:1::/64, b on
/// 10.2.0.0/24 and fd00:2::/64, each with default routes via r1.
pub const ROUTED: &str = r#"
[nodes.r1]
forward = true
[nodes.a]
routes = [{ to = "default", via = "10.1.0.1" }, { to = "default", via = "fd00:1::1" }]
[nodes.b]
routes = [{ to = "default", via = "10.2.0.1" }, { to = "default", via = "fd00:2::1" }]
[[links]]
endpoints = ["a:eth0", "r1:ra"]
addresses = [["10.1.0.2/24", "fd00:1::2/64"], ["10.1.0.1/24", "fd00:1::1/64"]]
[[links]]
endpoints = ["r1:rb", "b:eth0"]
addresses = [["10.2.0.1/24", "fd00:2::1/64"], ["10.2.0.2/24", "fd00:2::2/64"]]
"#;

/// The rest of a gateway lab, after a `[nodes.gw]` table of its own: ns1 on gw's private side
/// (v-eth, 10.200.1.0/24, default route via gw) and wan on its uplink (203.0.113.0/24, with
/// a route back to the private side). A macro, so that `concat!` makes one literal of both.
macro_rules! behind_gw {
    () => {
        r#"
[nodes.ns1]
routes = [{ to = "default", via = "10.200.1.1" }]

[nodes.wan]
routes = [{ to = "10.200.1.0/24", via = "203.0.113.1" }]

[[links]]
endpoints = ["gw:v-eth", "ns1:v-ethc"]
addresses = ["10.200.1.1/24", "10.200.1.2/24"]

[[links]]
endpoints = ["gw:uplink", "wan:eth0"]
addresses = ["203.0.113.1/24", "203.0.113.10/24"]
"#
    };
}
pub(crate) use behind_gw;

/// The nat-sim scenario (`topologies/nat-sim.toml`) without its workload and checks: gw routes
/// ns1 to wan through masquerade; its forward policy keeps wan out of the private side.
pub const NAT_SIM: &str = concat!(
    r#"
[nodes.gw]
forward = true
nat = [{ masquerade = { from = "10.200.1.0/24", out = "uplink" } }]
firewall.forward_policy = "drop"
firewall.forward = [
  { in = "v-eth", out = "uplink", action = "accept" },
  { in = "uplink", out = "v-eth", state = ["established", "related"], action = "accept" },
]
"#,
    behind_gw!()
);

/// A topology of `topologies/` without its `name` and `prefix` lines (the test lab sets its
/// own).
pub fn example(name: &str) -> String {
    let path = format!("{}/topologies/{name}.toml", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {path}: {e}"));
    text.lines()
        .filter(|l| !l.starts_with("name =") && !l.starts_with("prefix ="))
        .map(|l| format!("{l}\n"))
        .collect()
}
