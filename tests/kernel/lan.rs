//! Labs as the file says, checked by traffic: a switched LAN where every host reaches every
//! other over IPv4 and IPv6, and a routed lab that `status` reports.

use crate::support::*;

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
    assert!(twice.stdout.contains("no lab named"), "{twice:?}");
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
