//! Kernel tests: real namespaces, real netlink. Root only; each test has a lab of its own
//! (unique names) that is torn down even when the test fails.

mod support;

use support::*;

const LAN: &str = r#"
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

const ROUTED: &str = r#"
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

fn ifindex(ns: &str, iface: &str) -> String {
    let out = sh_ok(&format!("ip -n {ns} -o link show {iface}"));
    out.split(':').next().unwrap().trim().to_string()
}

#[test]
fn lan_every_host_reaches_every_other_over_v4_and_v6() {
    if !root_or_skip("lan") {
        return;
    }
    let lab = TestLab::new("lan");
    lab.write(LAN);
    lab.up();
    let hosts = [
        ("h1", "10.0.0.1", "fd00:10::1"),
        ("h2", "10.0.0.2", "fd00:10::2"),
        ("h3", "10.0.0.3", "fd00:10::3"),
    ];
    for (from, _, _) in hosts {
        for (to, v4, v6) in hosts {
            if from != to {
                assert!(lab.ping(from, v4), "{from} → {to} {v4}");
                // No sleep: a v6 address must answer the moment `up` returns.
                assert!(lab.ping(from, v6), "{from} → {to} {v6}");
            }
        }
        assert!(lab.ping(from, "127.0.0.1"), "lo is up in {from}");
    }
    // Lab interfaces are quiet: no SLAAC address, no tentative address, no RA accepted.
    let addrs = lab.exec("h1", &["ip", "-6", "addr", "show", "dev", "eth0"]).stdout;
    assert!(!addrs.contains("tentative") && !addrs.contains("dynamic"), "{addrs}");
    assert_eq!(lab.exec("h1", &["cat", "/proc/sys/net/ipv6/conf/eth0/accept_ra"]).stdout.trim(), "0");

    let again = lab.up();
    assert!(again.stdout.contains("nothing to change"), "{again:?}");
    lab.assert_converged();
    lab.down();
    lab.assert_gone();
    let twice = lab.down();
    assert!(twice.stdout.contains("nothing to remove"), "{twice:?}");
}

#[test]
fn routed_lab_forwards_and_status_reports_it() {
    if !root_or_skip("routed") {
        return;
    }
    let lab = TestLab::new("rtd");
    lab.write(ROUTED);
    lab.up();
    assert!(lab.ping("a", "10.2.0.2"));
    assert!(lab.ping("a", "fd00:2::2"));
    let status = lab.netlab(&["status", &lab.name]);
    assert_eq!(status.code, 0, "{status:?}");
    assert!(status.stdout.contains("10.1.0.2/24") && status.stdout.contains("drift: none"), "{status:?}");
    let json = lab.netlab(&["status", &lab.name, "--json"]);
    let v: serde_json::Value = serde_json::from_str(&json.stdout).expect("status --json is JSON");
    assert_eq!(v["lab"], lab.name.as_str());
    assert_eq!(v["drift"].as_array().unwrap().len(), 0);
    let ls = lab.netlab(&["ls"]);
    assert!(ls.stdout.contains(&lab.name), "{ls:?}");
}

#[test]
fn edits_are_reconciled_without_recreating_what_did_not_change() {
    if !root_or_skip("edit") {
        return;
    }
    let lab = TestLab::new("edit");
    lab.write(ROUTED);
    lab.up();
    let (a, r1, b) = (lab.ns("a"), lab.ns("r1"), lab.ns("b"));
    let a_eth0 = ifindex(&a, "eth0");

    // A new node and link.
    let with_c = format!("{ROUTED}\n[nodes.c]\n[[links]]\nendpoints = [\"r1:rc\", \"c:eth0\"]\naddresses = [\"10.3.0.1/24\", \"10.3.0.2/24\"]\n");
    lab.write(&with_c);
    let c = lab.ns("c");
    lab.assert_plan(&[
        &format!("+ netns {c}"),
        &format!("+ veth {r1}:rc <-> {c}:eth0 mtu 1500"),
        &format!("+ addr {c}:eth0 10.3.0.2/24"),
        &format!("+ addr {r1}:rc 10.3.0.1/24"),
        &format!("~ up {c}:eth0"),
        &format!("~ up {r1}:rc"),
    ]);
    lab.up();
    lab.assert_converged();
    assert!(lab.ping("c", "10.3.0.1"));

    // A changed address.
    lab.write(&with_c.replace("10.3.0.2/24", "10.3.0.7/24"));
    lab.assert_plan(&[&format!("- addr {c}:eth0 10.3.0.2/24"), &format!("+ addr {c}:eth0 10.3.0.7/24")]);
    lab.up();
    assert!(lab.ping("r1", "10.3.0.7"));

    // A changed route.
    let rerouted = with_c.replace("10.3.0.2/24", "10.3.0.7/24").replace(
        "routes = [{ to = \"default\", via = \"10.2.0.1\" }",
        "routes = [{ to = \"10.1.0.0/16\", via = \"10.2.0.1\", metric = 5 }",
    );
    lab.write(&rerouted);
    lab.assert_plan(&[
        &format!("- route {b}: default via 10.2.0.1 dev eth0 metric 0"),
        &format!("+ route {b}: 10.1.0.0/16 via 10.2.0.1 metric 5"),
    ]);
    lab.up();
    lab.assert_converged();
    assert!(lab.ping("b", "10.1.0.2"));

    // A changed mtu, in place.
    lab.write(
        &rerouted.replace(
            "endpoints = [\"a:eth0\", \"r1:ra\"]",
            "endpoints = [\"a:eth0\", \"r1:ra\"]\nmtu = 9000",
        ),
    );
    lab.assert_plan(&[&format!("~ mtu {a}:eth0 9000"), &format!("~ mtu {r1}:ra 9000")]);
    lab.up();
    assert_eq!(ifindex(&a, "eth0"), a_eth0, "a:eth0 was recreated");

    // A dropped link and node.
    lab.write(&rerouted);
    lab.up();
    lab.write(ROUTED);
    let r = lab.plan();
    assert_eq!(r.code, 2);
    assert!(
        r.stdout.contains(&format!("- netns {c}")) && r.stdout.contains(&format!("- link {r1}:rc")),
        "{r:?}"
    );
    lab.up();
    lab.assert_converged();
    assert_eq!(ifindex(&a, "eth0"), a_eth0, "a:eth0 was recreated");
    assert!(!lab.namespaces().contains(&c));
    lab.down();
    lab.assert_gone();
}

#[test]
fn drift_made_by_hand_is_reported_and_repaired() {
    if !root_or_skip("drift") {
        return;
    }
    let lab = TestLab::new("drift");
    lab.write(&format!("{ROUTED}\n"));
    lab.up();
    let (a, r1, b) = (lab.ns("a"), lab.ns("r1"), lab.ns("b"));
    sh_ok(&format!("ip -n {a} addr del 10.1.0.2/24 dev eth0"));
    sh_ok(&format!("ip -n {a} addr add 10.1.0.99/24 dev eth0"));
    sh_ok(&format!("ip -n {r1} route add 10.88.0.0/16 via 10.2.0.2"));
    sh_ok(&format!("ip netns exec {r1} sysctl -qw net.ipv4.ip_forward=0"));
    sh_ok(&format!("ip -n {b} link set eth0 down"));
    let status = lab.netlab(&["status", &lab.name]);
    assert!(status.stdout.contains("drift (") && status.stdout.contains("10.1.0.99/24"), "{status:?}");
    lab.assert_plan(&[
        &format!("- route {r1}: 10.88.0.0/16 via 10.2.0.2 dev rb metric 0"),
        &format!("- addr {a}:eth0 10.1.0.99/24"),
        &format!("+ addr {a}:eth0 10.1.0.2/24"),
        // Taking a link down makes the kernel drop its IPv6 addresses and its routes.
        &format!("+ addr {b}:eth0 fd00:2::2/64"),
        &format!("~ sysctl {r1}: net.ipv4.ip_forward = 1 (was 0)"),
        &format!("~ up {b}:eth0"),
        // The default route of `a` went with its address; it comes back.
        &format!("+ route {a}: default via 10.1.0.1 metric 0"),
        &format!("+ route {b}: default via 10.2.0.1 metric 0"),
        &format!("+ route {b}: default via fd00:2::1 metric 1024"),
    ]);
    lab.up();
    lab.assert_converged();
    assert!(lab.ping("a", "10.2.0.2"));

    // A namespace deleted by hand comes back whole.
    sh_ok(&format!("ip netns del {b}"));
    let r = lab.plan();
    assert!(r.stdout.contains(&format!("+ netns {b}")), "{r:?}");
    lab.up();
    lab.assert_converged();
    assert!(lab.ping("a", "10.2.0.2"));
}

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
fn kill_9_during_up_then_up_converges_and_down_cleans() {
    if !root_or_skip("kill9") {
        return;
    }
    let lab = TestLab::new("kill");
    let mut body = String::new();
    for i in 1..=30 {
        body.push_str(&format!("[nodes.n{i}]\n"));
    }
    for i in 1..30 {
        body.push_str(&format!("[[links]]\nendpoints = [\"n{i}:r\", \"n{}:l\"]\naddresses = [\"10.9.{i}.0/31\", \"10.9.{i}.1/31\"]\n", i + 1));
    }
    lab.write(&body);
    for delay_ms in [2u64, 8, 20] {
        let mut child = lab
            .command(&["up", lab.file.to_str().unwrap()])
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(delay_ms));
        let _ = child.kill();
        let _ = child.wait();
        lab.up();
        lab.assert_converged();
        assert!(lab.ping("n1", "10.9.1.1"));
        lab.down();
        lab.assert_gone();
    }
}

#[test]
fn namespace_file_left_unmounted_by_a_crash_is_replaced() {
    if !root_or_skip("crash") {
        return;
    }
    let lab = TestLab::new("crash");
    lab.write(LAN);
    lab.up();
    // What a crash between creating the file and mounting the namespace leaves behind.
    let h1 = lab.ns("h1");
    sh_ok(&format!("umount /run/netns/{h1} && test -f /run/netns/{h1}"));
    let r = lab.plan();
    assert!(r.stdout.contains(&format!("- netns {h1}\n+ netns {h1}\n")), "{r:?}");
    lab.up();
    lab.assert_converged();
    assert!(lab.ping("h1", "10.0.0.3"));
    lab.down();
    lab.assert_gone();
}

#[test]
fn exec_passes_exit_code_stdin_and_stdout_through() {
    if !root_or_skip("exec") {
        return;
    }
    let lab = TestLab::new("exec");
    lab.write(LAN);
    lab.up();
    assert_eq!(lab.exec("h1", &["sh", "-c", "exit 7"]).code, 7);
    let out = lab
        .command(&[
            "exec",
            "h2",
            "--lab",
            &lab.name,
            "--",
            "sh",
            "-c",
            "read x; echo got $x; ip -o addr show eth0",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin.take().unwrap().write_all(b"hello\n")?;
            c.wait_with_output()
        })
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("got hello") && stdout.contains("10.0.0.2/24"), "{stdout}");
    // Without --lab the node is found when its name is unique among the labs that are up.
    let r = lab.netlab(&["exec", "h3", "--", "true"]);
    assert!(r.code == 0 || r.stderr.contains("several labs"), "{r:?}");
    let missing = lab.exec("h1", &["/no/such/command"]);
    assert_eq!(missing.code, 127, "{missing:?}");
}

#[test]
fn plan_exit_codes_follow_the_contract() {
    if !root_or_skip("plan") {
        return;
    }
    let lab = TestLab::new("plan");
    lab.write(LAN);
    assert_eq!(lab.plan().code, 2);
    assert_eq!(lab.namespaces(), Vec::<String>::new(), "plan touched the kernel");
    lab.up();
    assert_eq!(lab.plan().code, 0);
    std::fs::write(&lab.file, "this is not toml [").unwrap();
    let r = lab.plan();
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stderr.contains(&format!("{}:1:", lab.file.display())), "{r:?}");
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

#[test]
fn limits_dropped_from_the_file_are_lifted() {
    if !root_or_skip("limits") {
        return;
    }
    let lab = TestLab::new("lift");
    lab.write("[nodes.n]\nlimits = { pids = 50 }\nrun = [{ name = \"s\", cmd = [\"sleep\", \"300\"] }]\n");
    lab.up();
    let pids_max = format!("/sys/fs/cgroup/pids/netlab/{}/n/pids.max", lab.name);
    let v2 = format!("/sys/fs/cgroup/netlab/{}/n/pids.max", lab.name);
    let read = || {
        std::fs::read_to_string(&pids_max)
            .or_else(|_| std::fs::read_to_string(&v2))
            .unwrap_or_default()
            .trim()
            .to_string()
    };
    assert_eq!(read(), "50");
    lab.write("[nodes.n]\nrun = [{ name = \"s\", cmd = [\"sleep\", \"300\"] }]\n");
    lab.assert_plan(&["~ limits n: none (lifted)"]);
    lab.up();
    assert_eq!(read(), "max");
    lab.assert_converged();
}

#[test]
fn exec_in_an_isolated_node_passes_sigterm_on() {
    if !root_or_skip("execterm") {
        return;
    }
    let lab = TestLab::new("xterm");
    lab.write("[nodes.n]\nisolate = [\"pid\"]\n");
    lab.up();
    let mut child =
        lab.command(&["exec", "n", "--lab", &lab.name, "--", "sleep", "30"]).spawn().expect("netlab exec");
    // Until the command runs inside the node, there is nothing to pass the signal to.
    let v1 = format!("/sys/fs/cgroup/pids/netlab/{}/n/_exec/cgroup.procs", lab.name);
    let v2 = format!("/sys/fs/cgroup/netlab/{}/n/_exec/cgroup.procs", lab.name);
    let count = || {
        std::fs::read_to_string(&v1)
            .or_else(|_| std::fs::read_to_string(&v2))
            .unwrap_or_default()
            .lines()
            .count()
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while count() < 2 {
        assert!(std::time::Instant::now() < deadline, "the command did not start in the node");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(child.id() as i32), nix::sys::signal::Signal::SIGTERM)
        .unwrap();
    let started = std::time::Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(started.elapsed() < std::time::Duration::from_secs(5), "netlab exec ignored SIGTERM");
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    assert_eq!(status.code(), Some(128 + 15), "the command was ended by the SIGTERM it was passed");
}
