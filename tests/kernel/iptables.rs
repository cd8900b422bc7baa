//! The iptables fallback, as root: the nat-sim checks with `--firewall iptables`, drift in
//! the lab's chains, and a teardown that leaves the built-in chains as they were.

use crate::support::*;

#[test]
fn nat_sim_through_iptables() {
    if !root_or_skip("iptables") {
        return;
    }
    let lab = TestLab::new("ipt");
    lab.write(NAT_SIM);
    let file = lab.file.to_str().unwrap().to_string();
    let up = lab.netlab(&["up", "--firewall", "iptables", &file]);
    assert_eq!(up.code, 0, "{up:?}");
    let gw = lab.ns("gw");
    let saved = sh_ok(&format!("ip netns exec {gw} iptables-save"));
    assert!(saved.contains(&format!("-A FORWARD -j NL-{}-FWD", lab.name)), "{saved}");
    assert!(saved.contains("-j MASQUERADE"), "{saved}");
    assert!(
        sh_ok(&format!("ip netns exec {gw} nft list tables")).lines().all(|l| !l.contains("inet netlab")),
        "no nftables table in iptables mode"
    );

    assert!(lab.ping("ns1", "203.0.113.10"), "ns1 reaches wan through masquerade");
    assert!(lab.unreachable("wan", "10.200.1.2"), "the forward policy stops wan → ns1");
    lab.assert_converged();

    // Someone flushes the lab's chain: drift, repaired by up.
    sh_ok(&format!("ip netns exec {gw} iptables -F NL-{}-FWD", lab.name));
    let plan = lab.plan();
    assert_eq!(plan.code, 2, "{plan:?}");
    assert!(plan.stdout.contains("forward: iifname v-eth oifname uplink accept"), "{plan:?}");
    lab.up();
    lab.assert_converged();
    assert!(lab.unreachable("wan", "10.200.1.2"));

    // Switching to nftables while up is refused, not half done.
    let switch = lab.netlab(&["up", "--firewall", "nft", &file]);
    assert_eq!(switch.code, 1, "{switch:?}");
    assert!(switch.stderr.contains("run `netlab down` before switching"), "{switch:?}");
    lab.down();
    lab.assert_gone();
}

#[test]
fn host_chains_are_removed_and_the_users_rules_kept() {
    if !root_or_skip("iptables-host") {
        return;
    }
    let lab = TestLab::new("ipth").with_sandbox();
    let sbx = lab.sandbox.clone().unwrap();
    sh_ok(&format!("ip netns exec {sbx} iptables -A FORWARD -s 192.0.2.0/24 -j ACCEPT"));
    lab.write(
        r#"
[nodes.host]
kind = "host"
forward = true
nat = [{ masquerade = { from = "10.200.1.0/24", out = "v-eth" } }]
firewall.input = [{ in = "v-eth", proto = "tcp", port = 22, action = "reject" }]
[nodes.ns1]
[[links]]
endpoints = ["host:v-eth", "ns1:eth0"]
addresses = ["10.200.1.1/24", "10.200.1.2/24"]
"#,
    );
    let up = lab.netlab(&["up", "--firewall", "iptables", lab.file.to_str().unwrap()]);
    assert_eq!(up.code, 0, "{up:?}");
    let chain = format!("NL-{}-IN", lab.name);
    assert!(sh_ok(&format!("ip netns exec {sbx} iptables-save")).contains(&format!("-A INPUT -j {chain}")));
    lab.down();
    lab.assert_gone();
    let after = sh_ok(&format!("ip netns exec {sbx} iptables-save; ip netns exec {sbx} ip6tables-save"));
    assert!(!after.contains(&format!("NL-{}-", lab.name)), "the lab's chains are gone:\n{after}");
    assert!(after.contains("-A FORWARD -s 192.0.2.0/24 -j ACCEPT"), "the user's rule survives:\n{after}");
}
