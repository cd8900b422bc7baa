//! Runtime overrides on a lab that is up, as root: `netlab link down|up` pulls a cable (the
//! far end loses its carrier, pings stop) and `plan`/`up` hold it so until `link up` or
//! `up --reset`; `netlab impair` changes a rate iperf3 measures, and refuses netem on this
//! kernel changing nothing; a `[[scenario]]` on a BIRD OSPF triangle takes a link down, times
//! the recovery, and puts the link back, also when it fails.

use crate::routing::{bird_conf, bird_processes};
use crate::shaping::iperf_mbits;
use crate::support::*;
use std::time::{Duration, Instant};

/// `ip -n NS link show dev IFACE`.
fn link(lab: &TestLab, node: &str, iface: &str) -> String {
    sh_ok(&format!("ip -n {} link show dev {iface}", lab.ns(node)))
}

fn ok(r: Run) -> Run {
    assert_eq!(r.code, 0, "{r:?}");
    r
}

#[test]
fn link_down_pulls_the_cable_and_is_held_until_link_up_or_reset() {
    if !root_or_skip("link down") {
        return;
    }
    let lab = TestLab::new("ldown");
    lab.write(
        r#"
[nodes.a]
[nodes.b]
routes = [{ to = "10.67.9.0/24", via = "10.67.0.1" }]
[nodes.sw]
kind = "switch"
[nodes.c]
[nodes.d]
[[links]]
endpoints = ["a:eth0", "b:eth0"]
addresses = ["10.67.0.1/24", "10.67.0.2/24"]
[[links]]
endpoints = ["c:eth0", "sw:p1"]
addresses = ["10.67.1.3/24", ""]
[[links]]
endpoints = ["d:eth0", "sw:p2"]
addresses = ["10.67.1.4/24", ""]
"#,
    );
    lab.up();
    assert!(lab.ping("a", "10.67.0.2") && lab.ping("c", "10.67.1.4"));

    let r = ok(lab.netlab(&["link", "down", "b:eth0", "--lab", &lab.name]));
    assert!(r.stdout.contains("b:eth0 down"), "{r:?}");
    assert!(
        link(&lab, "a", "eth0").contains("NO-CARRIER"),
        "the far end kept its carrier: {}",
        link(&lab, "a", "eth0")
    );
    assert!(lab.unreachable("a", "10.67.0.2"));
    let plan = lab.plan();
    assert_eq!(plan.code, 0, "a held link is drift: {plan:?}");
    assert!(plan.stdout.contains("b:eth0 down (held by netlab link down)"), "{plan:?}");
    let status = ok(lab.netlab(&["status", &lab.name]));
    assert!(
        status.stdout.contains("(held by netlab link down)") && status.stdout.contains("drift: none"),
        "{status:?}"
    );
    // `up` keeps it down; brought up by hand it is drift that `up` takes down again.
    lab.up();
    assert!(!link(&lab, "b", "eth0").contains(",UP"), "{}", link(&lab, "b", "eth0"));
    sh_ok(&format!("ip -n {} link set eth0 up", lab.ns("b")));
    assert_eq!(lab.plan().code, 2);
    lab.up();
    assert!(lab.unreachable("a", "10.67.0.2"));
    lab.assert_converged();

    ok(lab.netlab(&["link", "up", "b:eth0", "--lab", &lab.name]));
    assert!(lab.ping("a", "10.67.0.2"));
    // The file's route through it is back.
    assert!(sh_ok(&format!("ip -n {} route show 10.67.9.0/24", lab.ns("b"))).contains("via 10.67.0.1"));
    lab.assert_converged();

    // A switch port; then `up --reset` drops every override at once.
    ok(lab.netlab(&["link", "down", "sw:p2", "--lab", &lab.name]));
    assert!(link(&lab, "d", "eth0").contains("NO-CARRIER"), "{}", link(&lab, "d", "eth0"));
    assert!(lab.unreachable("c", "10.67.1.4"));
    ok(lab.netlab(&["link", "down", "a:eth0", "--lab", &lab.name]));
    lab.assert_converged();
    ok(lab.netlab(&["up", "--reset", lab.file.to_str().unwrap()]));
    assert!(lab.ping("c", "10.67.1.4") && lab.ping("a", "10.67.0.2"));
    let plan = lab.plan();
    assert!(plan.code == 0 && !plan.stdout.contains("held"), "{plan:?}");

    let r = lab.netlab(&["link", "down", "b:eth7", "--lab", &lab.name]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stderr.contains("has no interface eth7; it has eth0"), "{r:?}");
    let r = lab.netlab(&["link", "down", "zz:eth0", "--lab", &lab.name]);
    assert!(r.code == 1 && r.stderr.contains("its nodes are a, b, c, d, sw"), "{r:?}");
    lab.down();
    lab.assert_gone();
}

#[test]
fn impair_sets_a_measured_rate_clears_it_and_refuses_netem_changing_nothing() {
    if !root_or_skip("impair") {
        return;
    }
    let lab = TestLab::alone("impai");
    lab.write("[nodes.a]\n[nodes.b]\n[[links]]\nendpoints = [\"a:eth0\", \"b:eth0\"]\naddresses = [\"10.66.0.1/24\", \"10.66.0.2/24\"]\n");
    lab.up();
    ok(lab.netlab(&["impair", "a:eth0", "--rate", "10mbit", "--lab", &lab.name]));
    let qdisc = sh_ok(&format!("tc -n {} qdisc show dev eth0", lab.ns("a")));
    assert!(qdisc.contains("tbf 4e4c: root") && qdisc.contains("rate 10Mbit"), "{qdisc}");
    let shown = ok(lab.netlab(&["impair", "a:eth0", "--lab", &lab.name]));
    assert!(
        shown.stdout.contains("file:     none") && shown.stdout.contains("applied:  tbf rate 10mbit"),
        "{shown:?}"
    );
    let plan = lab.plan();
    assert!(plan.code == 0 && plan.stdout.contains("a:eth0 impaired tbf rate 10mbit"), "{plan:?}");
    let status = ok(lab.netlab(&["status", &lab.name]));
    assert!(status.stdout.contains("qdisc tbf rate 10mbit (held by netlab impair)"), "{status:?}");
    let slow = iperf_mbits(&lab);
    assert!(slow <= 11.0, "impaired to 10mbit, the link carried {slow:.1} Mbit/s");

    ok(lab.netlab(&["impair", "a:eth0", "--clear", "--lab", &lab.name]));
    assert!(!sh_ok(&format!("tc -n {} qdisc show dev eth0", lab.ns("a"))).contains("4e4c:"));
    let fast = iperf_mbits(&lab);
    assert!(fast > 1000.0, "cleared, the link carried only {fast:.1} Mbit/s");
    println!("impair a:eth0 --rate 10mbit: {slow:.2} Mbit/s; --clear: {fast:.0} Mbit/s");

    // netem: refused by the preflight on this kernel, with the qdisc and the record as before.
    ok(lab.netlab(&["impair", "a:eth0", "--rate", "10mbit", "--lab", &lab.name]));
    let record = format!("/run/netlab/{}/state.json", lab.name);
    let (qdisc, before) =
        (sh_ok(&format!("tc -n {} qdisc show dev eth0", lab.ns("a"))), std::fs::read(&record).unwrap());
    let r = lab.netlab(&["impair", "a:eth0", "--delay", "10ms", "--lab", &lab.name]);
    if r.code == 0 {
        // A kernel with netem: applied through the same code.
        assert!(sh_ok(&format!("tc -n {} qdisc show dev eth0", lab.ns("a"))).contains("netem"));
    } else {
        assert_eq!(r.code, 1, "{r:?}");
        assert!(r.stderr.contains("this kernel has no sch_netem"), "{r:?}");
        assert_eq!(sh_ok(&format!("tc -n {} qdisc show dev eth0", lab.ns("a"))), qdisc);
        assert_eq!(std::fs::read(&record).unwrap(), before, "the record changed");
    }
    lab.down();
    lab.assert_gone();
}

/// h1's and h3's addresses in the triangle.
const H3: &str = "10.21.3.2";

/// Three BIRD routers in a triangle, h1 behind r1 and h3 behind r3; rN:eth1 goes to the next
/// router, rN:eth2 to the previous one, so r1:eth2 is the r1–r3 link.
fn triangle(lab: &TestLab) -> String {
    let dir = lab.dir.display();
    let mut body = String::new();
    for n in 1..=3u32 {
        let conf = format!("{dir}/r{n}.conf");
        std::fs::write(&conf, bird_conf(n, n != 2, &format!("{dir}/r{n}.log"))).unwrap();
        body.push_str(&format!(
            "[nodes.r{n}]\nforward = true\nrun = [{{ name = \"bird\", cmd = [\"bird\", \"-f\", \"-c\", \"{conf}\", \"-s\", \"{dir}/r{n}.ctl\"] }}]\n"
        ));
    }
    body.push_str(&format!(
        r#"
[nodes.h1]
routes = [{{ to = "default", via = "10.21.1.1" }}]
[nodes.h3]
routes = [{{ to = "default", via = "10.21.3.1" }}]
[[links]]
endpoints = ["r1:eth1", "r2:eth2"]
addresses = ["10.11.12.1/24", "10.11.12.2/24"]
[[links]]
endpoints = ["r2:eth1", "r3:eth2"]
addresses = ["10.11.23.2/24", "10.11.23.3/24"]
[[links]]
endpoints = ["r3:eth1", "r1:eth2"]
addresses = ["10.11.31.3/24", "10.11.31.1/24"]
[[links]]
endpoints = ["h1:eth0", "r1:eth0"]
addresses = ["10.21.1.2/24", "10.21.1.1/24"]
[[links]]
endpoints = ["h3:eth0", "r3:eth0"]
addresses = ["10.21.3.2/24", "10.21.3.1/24"]

[[scenario]]
name = "r1-r3 fails"
steps = [
  {{ check = {{ from = "h1", ping = "{H3}" }}, within = "40s" }},
  {{ link_down = "r1:eth2" }},
  {{ check = {{ from = "h1", ping = "{H3}" }}, within = "20s" }},
  {{ exec = {{ node = "r2", cmd = ["birdc", "-s", "{dir}/r2.ctl", "show", "route"] }} }},
  {{ wait = "100ms" }},
  {{ link_up = "r1:eth2" }},
]

[[scenario]]
name = "r1 cut off"
steps = [
  {{ link_down = "r1:eth1" }},
  {{ link_down = "r1:eth2" }},
  {{ check = {{ from = "h1", ping = "{H3}" }}, within = "3s" }},
  {{ link_up = "r1:eth1" }},
]
"#
    ));
    body
}

/// h1 pings h3 within 40 s (OSPF converged), or the test fails.
fn wait_reachable(lab: &TestLab, when: &str) {
    let start = Instant::now();
    while lab.exec("h1", &["ping", "-c1", "-W1", H3]).code != 0 {
        assert!(start.elapsed() < Duration::from_secs(40), "h1 does not reach h3 {when}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// `r1:eth1` and `r1:eth2` are up with their carrier, and `plan` has nothing to do.
fn assert_restored(lab: &TestLab) {
    for iface in ["eth1", "eth2"] {
        let l = link(lab, "r1", iface);
        assert!(l.contains(",UP,LOWER_UP"), "r1:{iface} is not back up: {l}");
    }
    let plan = lab.plan();
    assert!(plan.code == 0 && !plan.stdout.contains("held"), "{plan:?}");
}

#[test]
fn a_scenario_times_ospf_recovery_and_puts_the_link_back_even_when_it_fails() {
    if !root_or_skip("scenario") {
        return;
    }
    let lab = TestLab::new("scen");
    lab.write(&triangle(&lab));
    lab.up();
    wait_reachable(&lab, "after up");
    let junit = lab.dir.join("junit.xml");
    let file = lab.file.to_str().unwrap();

    let r = lab.netlab(&["test", file, "--scenario", "r1-r3 fails", "--junit", junit.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{r:?}");
    println!("{}", r.stdout);
    // The recovery time, as a number of seconds.
    let line = r.stdout.lines().find(|l| l.contains("within 20 s")).unwrap_or_else(|| panic!("{r:?}"));
    let took: f64 = line
        .split("held after ")
        .nth(1)
        .and_then(|t| t.split(' ').next())
        .and_then(|t| t.parse().ok())
        .unwrap_or_else(|| panic!("no convergence time in {line:?}"));
    assert!((0.0..=20.0).contains(&took), "{line}");
    println!("r1-r3 down: h1 reached h3 again after {took} s");
    assert!(r.stdout.contains("checks: 1 passed, 0 failed"), "{r:?}");
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(xml.contains("scenario r1-r3 fails\" tests=\"6\" failures=\"0\""), "{xml}");
    assert_restored(&lab);

    // No way round with both of r1's router links down: the step fails, the rest is skipped,
    // and both links come back.
    let r = lab.netlab(&["test", file, "--scenario", "r1 cut off"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stdout.contains("did not hold within 3 s") && r.stdout.contains("skipped"), "{r:?}");
    assert!(r.stdout.contains("checks: 0 passed, 1 failed"), "{r:?}");
    assert_restored(&lab);
    wait_reachable(&lab, "after the failed scenario");

    let marker = lab.dir.display().to_string();
    lab.down();
    lab.assert_gone();
    assert_eq!(bird_processes(&marker), Vec::new(), "BIRD left running");
}

#[test]
fn the_library_takes_links_down_and_impairs_them() {
    if !root_or_skip("library overrides") {
        return;
    }
    let _turn = Turn::shared();
    let lab = netlab::Lab::from_str(
        r#"
[nodes.a]
[nodes.b]
[[links]]
endpoints = ["a:eth0", "b:eth0"]
addresses = ["10.78.0.1/24", "10.78.0.2/24"]
[[scenario]]
name = "cut"
steps = [
  { link_down = "a:eth0" },
  { check = { from = "a", ping = "10.78.0.2", expect = "fail" }, timeout = "300ms" },
]
"#,
    )
    .expect("valid topology");
    let up = lab.up().expect("up");
    let ping =
        |up: &netlab::Running| up.exec("a", &["ping", "-c1", "-W1", "10.78.0.2"]).unwrap().status.success();
    assert!(ping(&up));
    up.link_down("a:eth0").expect("link_down");
    assert!(!ping(&up));
    let b =
        String::from_utf8_lossy(&up.exec("b", &["ip", "link", "show", "eth0"]).unwrap().stdout).into_owned();
    assert!(b.contains("NO-CARRIER"), "{b}");
    up.link_up("a:eth0").expect("link_up");
    assert!(ping(&up));
    let rate = netlab::model::shape::Shape { rate: Some(10_000_000), ..Default::default() };
    up.impair("a:eth0", Some(rate)).expect("impair");
    let q = String::from_utf8_lossy(&up.exec("a", &["tc", "qdisc", "show", "dev", "eth0"]).unwrap().stdout)
        .into_owned();
    assert!(q.contains("rate 10Mbit"), "{q}");
    up.impair("a:eth0", None).expect("clear");
    let err = up.link_down("a:eth9").unwrap_err().to_string();
    assert!(err.contains("has no interface eth9; it has eth0"), "{err}");
    let r = up.run_scenario("cut").expect("a scenario of the file");
    assert!(r.passed(), "{r:#?}");
    assert!(ping(&up), "the scenario left the link down");
    up.down().expect("down");
}
