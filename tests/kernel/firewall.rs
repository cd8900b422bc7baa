//! Kernel tests of the `nat` and `firewall` keys: real namespaces, real nf_tables, real
//! traffic between namespaces the test made. Root only; each test has a lab of its own that
//! is torn down even when the test fails, and every server it starts is killed and reaped.

use crate::support::*;

fn nft_in(ns: &str, args: &str) -> String {
    sh_ok(&format!("ip netns exec {ns} nft {args}"))
}

/// The tables of a namespace, one `table FAMILY NAME` a line.
fn tables(ns: &str) -> String {
    nft_in(ns, "list tables")
}

#[test]
fn nat_sim() {
    if !root_or_skip("nat_sim") {
        return;
    }
    let lab = TestLab::new("nsim");
    lab.write(NAT_SIM);
    lab.up();
    assert!(tables(&lab.ns("gw")).contains("table inet netlab"), "gw has the lab's table");

    assert!(lab.ping("ns1", "203.0.113.10"), "ns1 reaches wan through gw");

    // Masquerade, proven at the far end: wan sees the connection come from gw's uplink.
    let mut srv = Server::in_node(&lab, "wan", "203.0.113.10", 8080);
    let verdict = connect(&lab, "ns1", "203.0.113.10", 8080);
    assert!(verdict.starts_with("ok"), "ns1 → wan:8080: {verdict}");
    assert_eq!(srv.peer(), "203.0.113.1", "wan sees the masqueraded address");
    drop(srv);

    // wan has a route to the private side; the forward policy, not routing, stops it.
    let routes = sh_ok(&format!("ip -n {} route", lab.ns("wan")));
    assert!(routes.contains("10.200.1.0/24 via 203.0.113.1"), "{routes}");
    assert!(lab.unreachable("wan", "10.200.1.2"), "wan → ns1 must be dropped by gw's forward policy");

    lab.assert_converged();
    lab.down();
    lab.assert_gone();
}

#[test]
fn seed_nat_in_sandbox() {
    if !root_or_skip("seed_nat_in_sandbox") {
        return;
    }
    let mut lab = TestLab::new("seed").with_sandbox();
    let sbx = lab.sandbox.clone().unwrap();
    // "The internet": a namespace of the test's own behind the sandbox's eno1.
    let inet = format!("{}-inet", lab.name);
    lab.extra_netns.push(inet.clone());
    sh_ok(&format!("ip netns add {inet} && ip -n {inet} link set lo up"));
    sh_ok(&format!("ip -n {sbx} link add eno1 type veth peer name eth0 netns {inet}"));
    sh_ok(&format!("ip -n {sbx} addr add 198.51.100.1/24 dev eno1 && ip -n {sbx} link set eno1 up"));
    sh_ok(&format!("ip -n {inet} addr add 198.51.100.2/24 dev eth0 && ip -n {inet} link set eth0 up"));
    // A table of the user's own in "the host", with a base chain and a rule.
    nft_in(&sbx, "add table inet userfw");
    nft_in(&sbx, "add chain inet userfw in '{ type filter hook input priority 0; policy accept; }'");
    nft_in(&sbx, "add rule inet userfw in tcp dport 4242 accept");
    let userfw_before = nft_in(&sbx, "list table inet userfw");
    assert!(userfw_before.contains("tcp dport 4242 accept"), "{userfw_before}");
    let fwd = |v: &str| sh_ok(&format!("ip netns exec {sbx} cat /proc/sys/net/{v}")).trim().to_string();
    let (v4_before, v6_before) = (fwd("ipv4/ip_forward"), fwd("ipv6/conf/all/forwarding"));

    // The seed's own file, with the lab's name and prefix instead of its own.
    lab.write(&example("seed-nat"));
    lab.up();

    let table = format!("table inet netlab-{}", lab.name);
    assert!(tables(&sbx).contains(&table), "{}", tables(&sbx));
    assert!(lab.ping("ns1", "198.51.100.2"), "ns1 reaches the internet through the sandbox");
    let mut srv = Server::in_netns(&inet, "198.51.100.2", 8080);
    let verdict = connect(&lab, "ns1", "198.51.100.2", 8080);
    assert!(verdict.starts_with("ok"), "ns1 → internet:8080: {verdict}");
    assert_eq!(srv.peer(), "198.51.100.1", "the internet sees the sandbox's eno1 address");
    drop(srv);
    lab.assert_converged();

    lab.down();
    lab.assert_gone();
    let after = tables(&sbx);
    assert!(!after.contains(&table), "the lab's table is left behind: {after}");
    assert!(after.contains("table inet userfw"), "the user's table is gone: {after}");
    assert_eq!(nft_in(&sbx, "list table inet userfw"), userfw_before, "the user's table changed");
    assert_eq!(
        (fwd("ipv4/ip_forward"), fwd("ipv6/conf/all/forwarding")),
        (v4_before, v6_before),
        "forwarding restored"
    );
    sh_ok(&format!("ip -n {sbx} link show eno1"));
}

#[test]
fn dnat() {
    if !root_or_skip("dnat") {
        return;
    }
    let lab = TestLab::new("dnat");
    lab.write(
        r#"
[nodes.gw]
forward = true
nat = [{ dnat = { in = "uplink", proto = "tcp", port = 8080, to = "10.1.0.2:80" } }]

[nodes.srv]
routes = [{ to = "default", via = "10.1.0.1" }]

[nodes.out]

[[links]]
endpoints = ["gw:lan", "srv:eth0"]
addresses = ["10.1.0.1/24", "10.1.0.2/24"]

[[links]]
endpoints = ["gw:uplink", "out:eth0"]
addresses = ["203.0.113.1/24", "203.0.113.10/24"]
"#,
    );
    lab.up();
    let mut srv = Server::in_node(&lab, "srv", "10.1.0.2", 80);
    let verdict = connect(&lab, "out", "203.0.113.1", 8080);
    assert!(verdict.starts_with("ok"), "out → gw:8080 → srv:80: {verdict}");
    // Only the destination is rewritten: the server sees the real client.
    assert_eq!(srv.peer(), "203.0.113.10");
    drop(srv);
    lab.assert_converged();
    lab.down();
    lab.assert_gone();
}

#[test]
fn snat() {
    if !root_or_skip("snat") {
        return;
    }
    let lab = TestLab::new("snat");
    lab.write(
        r#"
[nodes.gw]
forward = true
nat = [{ snat = { from = "10.200.1.0/24", out = "uplink", to = "203.0.113.7" } }]

[nodes.ns1]
routes = [{ to = "default", via = "10.200.1.1" }]

[nodes.wan]

[[links]]
endpoints = ["gw:v-eth", "ns1:v-ethc"]
addresses = ["10.200.1.1/24", "10.200.1.2/24"]

[[links]]
endpoints = ["gw:uplink", "wan:eth0"]
addresses = [["203.0.113.1/24", "203.0.113.7/24"], "203.0.113.10/24"]
"#,
    );
    lab.up();
    // wan has no route to 10.200.1.0/24: only a translated packet can get an answer.
    assert!(lab.ping("ns1", "203.0.113.10"));
    let mut srv = Server::in_node(&lab, "wan", "203.0.113.10", 8080);
    let verdict = connect(&lab, "ns1", "203.0.113.10", 8080);
    assert!(verdict.starts_with("ok"), "ns1 → wan:8080: {verdict}");
    assert_eq!(srv.peer(), "203.0.113.7", "wan sees the fixed SNAT address, not the uplink's first");
    drop(srv);
    lab.assert_converged();
    lab.down();
    lab.assert_gone();
}

#[test]
fn ipv6_masquerade() {
    if !root_or_skip("ipv6_masquerade") {
        return;
    }
    let lab = TestLab::new("v6nat");
    lab.write(
        r#"
[nodes.gw]
forward = true
nat = [{ masquerade = { from = "fd00:1::/64", out = "uplink" } }]
firewall.forward_policy = "drop"
firewall.forward = [
  { in = "v-eth", out = "uplink", action = "accept" },
  { in = "uplink", out = "v-eth", state = ["established", "related"], action = "accept" },
]

[nodes.ns1]
routes = [{ to = "default", via = "fd00:1::1" }]

[nodes.wan]
routes = [{ to = "fd00:1::/64", via = "fd00:99::1" }]

[[links]]
endpoints = ["gw:v-eth", "ns1:v-ethc"]
addresses = ["fd00:1::1/64", "fd00:1::2/64"]

[[links]]
endpoints = ["gw:uplink", "wan:eth0"]
addresses = ["fd00:99::1/64", "fd00:99::10/64"]
"#,
    );
    lab.up();
    assert!(lab.ping("ns1", "fd00:99::10"), "ns1 reaches wan over IPv6 through gw");
    let mut srv = Server::in_node(&lab, "wan", "fd00:99::10", 8080);
    let verdict = connect(&lab, "ns1", "fd00:99::10", 8080);
    assert!(verdict.starts_with("ok"), "ns1 → [wan]:8080: {verdict}");
    assert_eq!(srv.peer(), "fd00:99::1", "wan sees gw's outside v6 address");
    drop(srv);
    let routes = sh_ok(&format!("ip -n {} -6 route", lab.ns("wan")));
    assert!(routes.contains("fd00:1::/64 via fd00:99::1"), "{routes}");
    assert!(lab.unreachable("wan", "fd00:1::2"), "wan → ns1 must be dropped by gw's forward policy");
    lab.assert_converged();
    lab.down();
    lab.assert_gone();
}

#[test]
fn reject_gives_connection_refused() {
    if !root_or_skip("reject_gives_connection_refused") {
        return;
    }
    let lab = TestLab::new("rej");
    lab.write(concat!(
        r#"
[nodes.gw]
forward = true
firewall.forward = [{ proto = "tcp", port = 9000, action = "reject" }]
firewall.input = [{ proto = "tcp", port = 9000, action = "reject" }]
"#,
        behind_gw!()
    ));
    lab.up();
    let refused_fast = |verdict: &str| {
        let f: Vec<&str> = verdict.split_whitespace().collect();
        f.len() == 3
            && f[0] == "ConnectionRefusedError"
            && f[1] == "111"
            && f[2].parse::<f64>().is_ok_and(|s| s < 1.0)
    };

    // Control: the path works for a port the rules do not name.
    let mut other = Server::in_node(&lab, "wan", "203.0.113.10", 9001);
    let verdict = connect(&lab, "ns1", "203.0.113.10", 9001);
    assert!(verdict.starts_with("ok"), "ns1 → wan:9001: {verdict}");
    assert_eq!(other.peer(), "10.200.1.2");
    drop(other);

    // Forward: something listens on wan:9000, so a refusal can only come from gw's reject.
    let mut fwd = Server::in_node(&lab, "wan", "203.0.113.10", 9000);
    let verdict = connect(&lab, "ns1", "203.0.113.10", 9000);
    assert!(refused_fast(&verdict), "ns1 → wan:9000 must be refused at once by gw's forward rule: {verdict}");
    assert!(
        fwd.pending().iter().all(|l| !l.starts_with("peer")),
        "the connection reached wan: {:?}",
        fwd.seen
    );
    drop(fwd);

    // Input: the same for a listener on gw itself.
    let mut inp = Server::in_node(&lab, "gw", "10.200.1.1", 9000);
    let verdict = connect(&lab, "ns1", "10.200.1.1", 9000);
    assert!(refused_fast(&verdict), "ns1 → gw:9000 must be refused at once by gw's input rule: {verdict}");
    assert!(
        inp.pending().iter().all(|l| !l.starts_with("peer")),
        "the connection reached gw: {:?}",
        inp.seen
    );
    drop(inp);

    lab.assert_converged();
    lab.down();
    lab.assert_gone();
}

#[test]
fn flush_is_drift() {
    if !root_or_skip("flush_is_drift") {
        return;
    }
    let lab = TestLab::new("flush");
    lab.write(NAT_SIM);
    lab.up();
    let gw = lab.ns("gw");
    assert!(lab.unreachable("wan", "10.200.1.2"), "the forward policy holds before the flush");

    sh_ok(&format!("ip netns exec {gw} nft flush ruleset"));
    assert!(!tables(&gw).contains("netlab"), "flush ruleset removed the table");
    assert!(lab.ping("wan", "10.200.1.2"), "with the table gone nothing stops wan");
    let r = lab.plan();
    assert_eq!(r.code, 2, "a flushed table is drift: {r:?}");
    assert!(r.stdout.contains(&format!("+ nft {gw}:netlab")), "{r:?}");

    lab.up();
    lab.assert_converged();
    assert!(tables(&gw).contains("table inet netlab"));
    assert!(lab.unreachable("wan", "10.200.1.2"), "the forward policy is back");
    let mut srv = Server::in_node(&lab, "wan", "203.0.113.10", 8080);
    let verdict = connect(&lab, "ns1", "203.0.113.10", 8080);
    assert!(verdict.starts_with("ok"), "{verdict}");
    assert_eq!(srv.peer(), "203.0.113.1", "masquerade is back");
    drop(srv);
    lab.down();
    lab.assert_gone();
}

/// Whether netlab's output names the table `mine` (as a word, not inside a lab name).
fn names_mine(text: &str) -> bool {
    text.split(|c: char| !c.is_ascii_alphanumeric()).any(|w| w == "mine")
}

#[test]
fn users_own_table_in_a_node_survives() {
    if !root_or_skip("users_own_table_in_a_node_survives") {
        return;
    }
    let lab = TestLab::new("utab");
    lab.write(NAT_SIM);
    lab.up();
    let gw = lab.ns("gw");
    nft_in(&gw, "add table inet mine");
    nft_in(&gw, "add chain inet mine in '{ type filter hook input priority 10; policy accept; }'");
    nft_in(&gw, "add rule inet mine in tcp dport 4242 accept");
    let mine_before = nft_in(&gw, "list table inet mine");
    assert!(mine_before.contains("tcp dport 4242 accept"), "{mine_before}");
    // A table of someone else's is not drift.
    lab.assert_converged();

    // One rule changed in the file.
    let edited = NAT_SIM.replace(
        r#"{ in = "v-eth", out = "uplink", action = "accept" }"#,
        r#"{ in = "v-eth", out = "uplink", from = "10.200.1.0/24", action = "accept" }"#,
    );
    assert_ne!(edited, NAT_SIM);
    lab.write(&edited);
    let r = lab.plan();
    assert!(!names_mine(&r.stdout) && !names_mine(&r.stderr), "plan mentions the user's table: {r:?}");
    lab.assert_plan(&[
        &format!("~ nft {gw}:netlab"),
        "    - forward: iifname v-eth oifname uplink accept",
        "    + forward: iifname v-eth oifname uplink ip saddr 10.200.1.0/24 accept",
    ]);
    let up = lab.up();
    assert!(!names_mine(&up.stdout) && !names_mine(&up.stderr), "up mentions the user's table: {up:?}");
    lab.assert_converged();
    assert_eq!(nft_in(&gw, "list table inet mine"), mine_before, "the user's table changed");
    let listed = nft_in(&gw, "list table inet netlab");
    assert!(listed.contains("ip saddr 10.200.1.0/24"), "{listed}");
    assert!(lab.ping("ns1", "203.0.113.10"), "the edited rule still lets ns1 out");
    let r = lab.plan();
    assert!(!names_mine(&r.stdout) && !names_mine(&r.stderr), "{r:?}");
    lab.down();
    lab.assert_gone();
}

/// A table of 3000 rules is one batch of about 3000 messages, each acknowledged: more than
/// the socket's default buffers hold (the kernel said ENOBUFS). It loads, reads back as the
/// file says (plan is empty), and down removes it.
#[test]
fn a_table_of_3000_rules_loads_and_reads_back() {
    if !root_or_skip("a_table_of_3000_rules_loads_and_reads_back") {
        return;
    }
    let lab = TestLab::new("big");
    let rules: Vec<String> = (1..=3000)
        .map(|p| format!("  {{ in = \"eth0\", proto = \"tcp\", port = {p}, action = \"accept\" }},"))
        .collect();
    lab.write(&format!(
        "[nodes.a]\nfirewall.input_policy = \"drop\"\nfirewall.input = [\n{}\n]\n[nodes.b]\n\
         [[links]]\nendpoints = [\"a:eth0\", \"b:eth0\"]\naddresses = [\"10.0.0.1/24\", \"10.0.0.2/24\"]\n",
        rules.join("\n")
    ));
    lab.up();
    let listing = nft_in(&lab.ns("a"), "list table inet netlab");
    let rules = listing.lines().filter(|l| l.contains("tcp dport") && l.contains("comment")).count();
    assert_eq!(rules, 3000, "all 3000 rules are in the kernel");
    assert!(listing.contains("tcp dport 3000 accept"), "the last rule too");
    lab.assert_converged();
    lab.down();
    lab.assert_gone();
}
