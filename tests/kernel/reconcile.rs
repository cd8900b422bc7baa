//! The reconciler against the kernel: edits to the file, drift made by hand, a killed `up`,
//! a namespace file a crash left unmounted, `plan`'s exit codes, and limits lifted.

use crate::support::*;

fn ifindex(ns: &str, iface: &str) -> String {
    let out = sh_ok(&format!("ip -n {ns} -o link show {iface}"));
    out.split(':').next().unwrap().trim().to_string()
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
    lab.assert_plan(&[&format!("+ addr {c}:eth0 10.3.0.7/24"), &format!("- addr {c}:eth0 10.3.0.2/24")]);
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
    // What was added by hand is not the lab's: shown, never drift.
    assert!(status.stdout.contains("drift ("), "{status:?}");
    assert!(status.stdout.contains("  unmanaged addr eth0 10.1.0.99/24"), "{status:?}");
    assert!(
        status.stdout.contains("  unmanaged route 10.88.0.0/16 via 10.2.0.2 dev rb metric 0 proto boot"),
        "{status:?}"
    );
    lab.assert_plan(&[
        &format!("~ sysctl {r1}: net.ipv4.ip_forward = 1 (was 0)"),
        &format!("+ addr {a}:eth0 10.1.0.2/24"),
        // Taking a link down makes the kernel drop its IPv6 addresses and its routes.
        &format!("+ addr {b}:eth0 fd00:2::2/64"),
        &format!("~ up {b}:eth0"),
        // The default route of `a` went with its address; it comes back.
        &format!("+ route {a}: default via 10.1.0.1 metric 0"),
        &format!("+ route {b}: default via 10.2.0.1 metric 0"),
        &format!("+ route {b}: default via fd00:2::1 metric 1024"),
    ]);
    lab.up();
    lab.assert_converged();
    assert!(lab.ping("a", "10.2.0.2"));
    assert!(
        sh_ok(&format!("ip -n {a} addr show dev eth0")).contains("10.1.0.99/24"),
        "a hand-made address went"
    );
    assert!(sh_ok(&format!("ip -n {r1} route")).contains("10.88.0.0/16"), "a hand-made route went");
    // Unless asked: `--prune` removes them, and says so.
    let pruned = lab.netlab(&["up", "--prune", lab.file.to_str().unwrap()]);
    assert_eq!(pruned.code, 0, "{pruned:?}");
    assert!(pruned.stdout.contains(&format!("- unmanaged addr {a}:eth0 10.1.0.99/24")), "{pruned:?}");
    assert!(pruned.stdout.contains(&format!("- unmanaged route {r1}: 10.88.0.0/16")), "{pruned:?}");
    assert!(!sh_ok(&format!("ip -n {a} addr show dev eth0")).contains("10.1.0.99/24"));
    assert!(!sh_ok(&format!("ip -n {r1} route")).contains("10.88.0.0/16"));
    lab.assert_converged();

    // A namespace deleted by hand comes back whole.
    sh_ok(&format!("ip netns del {b}"));
    let r = lab.plan();
    assert!(r.stdout.contains(&format!("+ netns {b}")), "{r:?}");
    lab.up();
    lab.assert_converged();
    assert!(lab.ping("a", "10.2.0.2"));
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
fn limits_dropped_from_the_file_are_lifted() {
    if !root_or_skip("limits") {
        return;
    }
    let lab = TestLab::new("lift");
    // The node stays container-like (seccomp) without its limits, so its workload keeps its
    // profile and is not restarted.
    let run = "seccomp = \"default\"\nrun = [{ name = \"s\", cmd = [\"sleep\", \"300\"] }]\n";
    lab.write(&format!("[nodes.n]\nlimits = {{ pids = 50 }}\n{run}"));
    lab.up();
    let node = format!("netlab/{}/n", lab.name);
    let read = || cgroup_file(&node, "pids.max").trim().to_string();
    assert_eq!(read(), "50");
    lab.write(&format!("[nodes.n]\n{run}"));
    lab.assert_plan(&["~ limits n: none (lifted)"]);
    lab.up();
    assert_eq!(read(), "max");
    lab.assert_converged();
    // Without limits and seccomp the node is plain: its workload runs unconfined, and outside
    // the pid namespace a container-like node has, so it starts over and the holder goes.
    lab.write("[nodes.n]\nrun = [{ name = \"s\", cmd = [\"sleep\", \"300\"] }]\n");
    lab.assert_plan(&["- workload n/s", "- namespaces of node n", "+ workload n/s: sleep 300"]);
}
