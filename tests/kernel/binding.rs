//! A lab is bound to where it was made: with a host node, to the network namespace netlab ran
//! in (two sandboxes play two hosts), and to the file it was made from.

use crate::support::*;

const HOSTED: &str = r#"
[nodes.host]
kind = "host"
forward = true
routes = [{ to = "10.99.0.0/16", via = "10.200.1.2" }]
[nodes.ns1]
routes = [{ to = "default", via = "10.200.1.1" }]
[[links]]
endpoints = ["host:v-eth", "ns1:v-ethc"]
addresses = ["10.200.1.1/24", "10.200.1.2/24"]
"#;

fn ip_forward(netns: &str) -> String {
    sh_ok(&format!("ip netns exec {netns} cat /proc/sys/net/ipv4/ip_forward")).trim().to_string()
}

fn record(lab: &TestLab) -> String {
    std::fs::read_to_string(format!("/run/netlab/{}/state.json", lab.name)).expect("the lab's record")
}

#[test]
fn a_lab_with_a_host_node_refuses_commands_from_another_network_namespace() {
    if !root_or_skip("bindns") {
        return;
    }
    let mut lab = TestLab::new("bindn").with_sandbox();
    let sbx1 = lab.sandbox.clone().unwrap();
    let sbx2 = format!("{}-sb2", lab.name);
    sh_ok(&format!("ip netns add {sbx2} && ip -n {sbx2} link set lo up"));
    lab.extra_netns.push(sbx2.clone());
    // The second "host" has forwarding on and a route of netlab's protocol to the lab's host
    // destination: both its own, which `down` from there used to undo.
    sh_ok(&format!("ip netns exec {sbx2} sh -c 'echo 1 > /proc/sys/net/ipv4/ip_forward'"));
    sh_ok(&format!(
        "ip -n {sbx2} link add keep0 type veth peer name keep1 && ip -n {sbx2} addr add 192.0.2.1/24 dev keep0 \
         && ip -n {sbx2} link set keep0 up && ip -n {sbx2} route add 10.99.0.0/16 via 192.0.2.9 proto 78"
    ));
    let sbx2_routes = sh_ok(&format!("ip -n {sbx2} route show"));
    lab.write(HOSTED);
    lab.up();
    assert_eq!(ip_forward(&sbx1), "1");
    let made = record(&lab);
    let file = lab.file.to_str().unwrap().to_string();
    let commands: [&[&str]; 5] = [
        &["down", "--lab", &lab.name],
        &["status", &lab.name],
        &["status", &lab.name, "--json"],
        &["plan", &file],
        &["up", &file],
    ];
    for args in commands {
        let r = lab.netlab_in(&sbx2, args);
        assert_eq!(r.code, 1, "{args:?} from another namespace: {r:?}");
        assert!(
            r.stderr.contains(&format!("lab {} was made in another network namespace (net:[", lab.name)),
            "{args:?}: {r:?}"
        );
        assert!(r.stderr.contains(&format!("nsenter --net=/run/netns/{sbx1} netlab")), "{args:?}: {r:?}");
        assert_eq!(r.stderr.lines().count(), 1, "one sentence: {r:?}");
    }
    // Nothing changed: neither in the second sandbox, nor the lab in the first.
    assert_eq!(ip_forward(&sbx2), "1", "the other namespace's ip_forward was written");
    assert_eq!(
        sh_ok(&format!("ip -n {sbx2} route show")),
        sbx2_routes,
        "the other namespace's routes changed"
    );
    assert_eq!(record(&lab), made, "the record changed");
    assert_eq!(lab.namespaces(), [lab.ns("ns1")]);
    assert!(lab.host_ip("-o link show").contains("v-eth"));
    assert!(lab.host_ip("route show").contains("10.99.0.0/16 via 10.200.1.2"));
    assert_eq!(ip_forward(&sbx1), "1");
    assert!(lab.ping("ns1", "10.200.1.1"));
    lab.assert_converged();
    // From where it was made, the lab comes down as usual.
    let s = lab.netlab(&["status", &lab.name]);
    assert_eq!(s.code, 0, "{s:?}");
    lab.down();
    lab.assert_gone();
    assert_eq!(ip_forward(&sbx1), "0", "forwarding restored where the lab set it");
    assert_eq!(ip_forward(&sbx2), "1");
    assert_eq!(sh_ok(&format!("ip -n {sbx2} route show")), sbx2_routes);
}

#[test]
fn another_file_with_the_same_lab_name_is_refused_unless_adopted() {
    if !root_or_skip("adopt") {
        return;
    }
    let lab = TestLab::new("adopt");
    let body = |b_addr: &str| {
        format!(
            "[nodes.a]\n[nodes.b]\n[[links]]\nendpoints = [\"a:eth0\", \"b:eth0\"]\naddresses = [\"10.0.0.1/24\", \"{b_addr}\"]\n"
        )
    };
    lab.write(&body("10.0.0.2/24"));
    let other_dir = lab.dir.join("other");
    std::fs::create_dir_all(&other_dir).unwrap();
    let other = other_dir.join(format!("{}.toml", lab.name));
    std::fs::write(&other, format!("name = \"{0}\"\nprefix = \"{0}\"\n{1}", lab.name, body("10.0.0.3/24")))
        .unwrap();
    let (first, second) = (lab.file.to_str().unwrap(), other.to_str().unwrap());
    lab.up();
    let b_addrs = || sh_ok(&format!("ip -n {} -o addr show dev eth0", lab.ns("b")));
    for cmd in ["up", "plan"] {
        let r = lab.netlab(&[cmd, second]);
        assert_eq!(r.code, 1, "{cmd} of another file: {r:?}");
        assert!(r.stderr.contains(&format!("lab {} was made from {first}, not {second}", lab.name)), "{r:?}");
        assert!(r.stderr.contains("--adopt"), "{r:?}");
    }
    assert!(b_addrs().contains("10.0.0.2/24"), "a refused up changed the lab");
    lab.assert_converged();
    // The same file by another path is the same file.
    std::os::unix::fs::symlink(&lab.dir, lab.dir.join("link")).unwrap();
    let by_link = lab.dir.join("link").join(lab.file.file_name().unwrap());
    let r = lab.netlab(&["up", by_link.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.contains("nothing to change"), "{r:?}");
    // plan --adopt shows the takeover and changes nothing; up --adopt takes it.
    let r = lab.netlab(&["plan", "--adopt", second]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(b_addrs().contains("10.0.0.2/24"), "plan --adopt changed the lab");
    let r = lab.netlab(&["up", "--adopt", second]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(b_addrs().contains("10.0.0.3/24"), "{}", b_addrs());
    let status = lab.netlab(&["status", &lab.name, "--json"]);
    let json: serde_json::Value = serde_json::from_str(&status.stdout).expect("status --json");
    assert_eq!(json["file"], second);
    let r = lab.plan();
    assert_eq!(r.code, 1, "the first file after the takeover: {r:?}");
    assert!(r.stderr.contains(&format!("was made from {second}")), "{r:?}");
    lab.down();
    lab.assert_gone();
}
