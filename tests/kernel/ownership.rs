//! Touching only what is ours: namespaces, interfaces and routes that someone else owns (or
//! that are merely named like the lab's) are refused or left alone, in a sandbox "host" too.

use crate::support::*;

#[test]
fn foreign_namespace_with_a_needed_name_is_refused_and_survives() {
    if !root_or_skip("foreign") {
        return;
    }
    let mut lab = TestLab::new("frgn");
    lab.write(LAN);
    let foreign = lab.ns("h2");
    sh_ok(&format!("ip netns add {foreign}"));
    lab.extra_netns.push(foreign.clone());
    let r = lab.netlab(&["up", lab.file.to_str().unwrap()]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stderr.contains(&format!("network namespace {foreign} already exists and is not this lab's")),
        "{r:?}"
    );
    assert_eq!(lab.namespaces(), Vec::<String>::new(), "up touched the kernel");
    assert!(!std::path::Path::new(&format!("/run/netlab/{}", lab.name)).exists());
    let plan = lab.plan();
    assert_eq!(plan.code, 1, "{plan:?}");
    lab.netlab(&["down", "--lab", &lab.name]);
    assert!(sh_ok("ip netns list").contains(&foreign), "down removed a foreign namespace");
    // The foreign namespace still works.
    sh_ok(&format!("ip -n {foreign} link show lo"));
}

#[test]
fn decoys_named_like_the_lab_are_untouched() {
    if !root_or_skip("decoy") {
        return;
    }
    let mut lab = TestLab::new("decoy").with_sandbox();
    let sbx = lab.sandbox.clone().unwrap();
    // A namespace named like the lab's but not one of its nodes, and a veth in the host
    // (sandbox) named like a lab namespace, both made with `ip` before `up`.
    let decoy_ns = lab.ns("h9");
    sh_ok(&format!("ip netns add {decoy_ns} && ip -n {decoy_ns} link add eth0 type veth peer name eth1"));
    lab.extra_netns.push(decoy_ns.clone());
    let decoy_if = format!("{}-h1", &lab.name[..lab.name.len().min(9)]);
    sh_ok(&format!("ip -n {sbx} link add {decoy_if} type veth peer name {decoy_if}p"));
    lab.write(LAN);
    lab.up();
    assert!(lab.ping("h1", "10.0.0.2"));
    lab.down();
    lab.assert_gone();
    sh_ok(&format!("ip -n {decoy_ns} link show eth0"));
    sh_ok(&format!("ip -n {sbx} link show {decoy_if}"));
    sh_ok(&format!("ip -n {sbx} link show {decoy_if}p"));
}

#[test]
fn host_node_in_a_sandbox_adds_and_removes_only_its_own() {
    if !root_or_skip("host") {
        return;
    }
    let lab = TestLab::new("host").with_sandbox();
    let sbx = lab.sandbox.clone().unwrap();
    sh_ok(&format!(
        "ip -n {sbx} link add keep0 type veth peer name keep1 && ip -n {sbx} addr add 192.0.2.1/24 dev keep0"
    ));
    lab.write(
        r#"
[nodes.host]
kind = "host"
forward = true
routes = [{ to = "10.99.0.0/16", via = "10.200.1.2" }]
[nodes.ns1]
routes = [{ to = "default", via = "10.200.1.1" }]
[[links]]
endpoints = ["host:v-eth", "ns1:v-ethc"]
addresses = [["10.200.1.1/24", "fd00:200::1/64"], ["10.200.1.2/24", "fd00:200::2/64"]]
"#,
    );
    lab.up();
    assert!(lab.host_ip("-o addr show dev v-eth").contains("10.200.1.1/24"));
    assert!(lab.host_ip("route show").contains("10.99.0.0/16 via 10.200.1.2"));
    assert_eq!(sh_ok(&format!("ip netns exec {sbx} cat /proc/sys/net/ipv4/ip_forward")).trim(), "1");
    assert!(lab.ping("ns1", "10.200.1.1"));
    assert!(lab.ping("ns1", "fd00:200::1"));
    lab.assert_converged();
    lab.down();
    lab.assert_gone();
    assert!(!lab.host_ip("-o link show").contains("v-eth"));
    assert!(!lab.host_ip("route show").contains("10.99.0.0"));
    assert_eq!(
        sh_ok(&format!("ip netns exec {sbx} cat /proc/sys/net/ipv4/ip_forward")).trim(),
        "0",
        "forwarding restored"
    );
    assert!(
        lab.host_ip("-o addr show dev keep0").contains("192.0.2.1/24"),
        "the sandbox's own interface survives"
    );
}

#[test]
fn host_interface_name_taken_by_someone_else_is_refused() {
    if !root_or_skip("hostfg") {
        return;
    }
    let lab = TestLab::new("hfg").with_sandbox();
    let sbx = lab.sandbox.clone().unwrap();
    sh_ok(&format!("ip -n {sbx} link add v-eth type veth peer name v-other"));
    lab.write(
        "[nodes.host]\nkind = \"host\"\n[nodes.ns1]\n[[links]]\nendpoints = [\"host:v-eth\", \"ns1:eth0\"]\n",
    );
    let r = lab.netlab(&["up", lab.file.to_str().unwrap()]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stderr.contains("interface v-eth already exists in the host namespace and is not this lab's"),
        "{r:?}"
    );
    assert_eq!(lab.namespaces(), Vec::<String>::new());
    lab.netlab(&["down", "--lab", &lab.name]);
    sh_ok(&format!("ip -n {sbx} link show v-eth"));
}

#[test]
fn a_host_route_that_is_someone_elses_is_refused_and_kept() {
    if !root_or_skip("hostrt") {
        return;
    }
    let lab = TestLab::new("hrt").with_sandbox();
    let sbx = lab.sandbox.clone().unwrap();
    sh_ok(&format!("ip -n {sbx} link add keep0 type veth peer name keep1 && ip -n {sbx} addr add 192.0.2.1/24 dev keep0 && ip -n {sbx} link set keep0 up && ip -n {sbx} route add 10.99.0.0/16 via 192.0.2.9"));
    lab.write(
        r#"
[nodes.host]
kind = "host"
routes = [{ to = "10.99.0.0/16", via = "10.200.1.2" }]
[nodes.ns1]
[[links]]
endpoints = ["host:v-eth", "ns1:eth0"]
addresses = ["10.200.1.1/24", "10.200.1.2/24"]
"#,
    );
    let r = lab.netlab(&["up", lab.file.to_str().unwrap()]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stderr.contains("the host namespace already has a route 10.99.0.0/16 via 192.0.2.9 dev keep0 metric 0 that is not this lab's"), "{r:?}");
    assert_eq!(lab.namespaces(), Vec::<String>::new(), "up touched the kernel");
    lab.netlab(&["down", "--lab", &lab.name]);
    assert!(
        lab.host_ip("route show").contains("10.99.0.0/16 via 192.0.2.9 dev keep0"),
        "the sandbox's own route survives"
    );
}

/// A second lab with the first one's prefix is refused in one short sentence and a sorted
/// list, word for word the same on every run (the kernel is read in no fixed order).
#[test]
fn a_prefix_clash_is_one_sentence_and_a_sorted_list_the_same_every_run() {
    if !root_or_skip("clash") {
        return;
    }
    let lab = TestLab::new("clash");
    lab.write(LAN);
    lab.up();
    let other = format!("{}o", lab.name);
    let file = lab.dir.join(format!("{other}.toml"));
    std::fs::write(&file, format!("name = \"{other}\"\nprefix = \"{}\"\n{LAN}", lab.name)).unwrap();
    let file = file.to_str().unwrap();
    let runs: Vec<Run> = (0..3).map(|_| lab.netlab(&["plan", file])).collect();
    let r = &runs[0];
    assert_eq!(r.code, 1, "{r:?}");
    let want: Vec<String> = std::iter::once(
        "netlab: refusing to touch anything: 4 names this lab needs are taken by others:".to_string(),
    )
    .chain(
        ["h1", "h2", "h3", "sw"]
            .iter()
            .map(|n| format!("  - network namespace {} belongs to lab \"{}\"", lab.ns(n), lab.name)),
    )
    .chain(std::iter::once("  hint: give this lab another prefix".to_string()))
    .collect();
    assert_eq!(r.stderr.lines().collect::<Vec<_>>(), want, "{r:?}");
    for again in &runs[1..] {
        assert_eq!(again.stderr, r.stderr, "the refusal changed from one run to the next");
    }
    let _ = lab.netlab(&["down", "--lab", &other]);
    lab.down();
    lab.assert_gone();
}
