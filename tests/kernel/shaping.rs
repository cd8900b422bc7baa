//! Link impairments, as root: a `rate` is a tbf qdisc that iperf3 measures, changes are made
//! in place, and impairments this kernel cannot make stop `up` before it touches anything.
//! The rate test's lab holds the turn alone (`TestLab::alone`), so that no other test
//! competes for the CPU while iperf3 runs.

use crate::support::*;

pub(crate) fn iperf_mbits(lab: &TestLab) -> f64 {
    let server = lab.ns("b");
    let mut iperf3 = std::process::Command::new("ip");
    iperf3.args(["netns", "exec", &server, "iperf3", "-s", "-1", "-B", "10.66.0.2"]);
    let srv = Server::spawn(iperf3);
    // Wait (at most 3 s) until the server listens, then measure once.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(3);
    while !sh_ok(&format!("ip netns exec {server} ss -Hltn")).contains("10.66.0.2:5201") {
        assert!(std::time::Instant::now() < deadline, "iperf3 server did not listen within 3 s");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let r = lab.exec("a", &["iperf3", "-c", "10.66.0.2", "-t", "3", "-J"]);
    drop(srv);
    let v: serde_json::Value =
        serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("iperf3 -J output: {e}\n{r:?}"));
    v["end"]["sum_received"]["bits_per_second"].as_f64().unwrap_or_else(|| panic!("no received rate: {r:?}"))
        / 1e6
}

#[test]
fn rate_is_shaped_changed_in_place_and_removed() {
    if !root_or_skip("shaping") {
        return;
    }
    let lab = TestLab::alone("shape");
    let body = |extra: &str| {
        format!("[nodes.a]\n[nodes.b]\n[[links]]\nendpoints = [\"a:eth0\", \"b:eth0\"]\naddresses = [\"10.66.0.1/24\", \"10.66.0.2/24\"]\n{extra}\n")
    };
    lab.write(&body("rate = \"100mbit\""));
    lab.up();
    let qdisc = sh_ok(&format!("tc -n {} qdisc show dev eth0", lab.ns("a")));
    assert!(qdisc.contains("tbf 4e4c: root") && qdisc.contains("rate 100Mbit"), "{qdisc}");
    lab.assert_converged();
    let mbits = iperf_mbits(&lab);
    assert!((90.0..=100.5).contains(&mbits), "a 100mbit link carried {mbits:.1} Mbit/s");

    // One direction only, another rate: changed in place.
    lab.write(&body("rate = \"100mbit\"\nb_to_a = { rate = \"10mbit\" }"));
    let (a, b) = (lab.ns("a"), lab.ns("b"));
    lab.assert_plan(&[&format!("~ qdisc {b}:eth0 tbf rate 10mbit")]);
    lab.up();
    assert!(sh_ok(&format!("tc -n {b} qdisc show dev eth0")).contains("rate 10Mbit"));
    // Removed from the file: removed from the kernel.
    lab.write(&body(""));
    lab.assert_plan(&[&format!("- qdisc {a}:eth0"), &format!("- qdisc {b}:eth0")]);
    lab.up();
    assert!(!sh_ok(&format!("tc -n {a} qdisc show dev eth0")).contains("4e4c:"));
    lab.down();
    lab.assert_gone();
}

#[test]
fn delay_without_netem_stops_up_before_it_touches_anything() {
    if !root_or_skip("netem") {
        return;
    }
    let lab = TestLab::new("netem");
    lab.write("[nodes.a]\n[nodes.b]\n[[links]]\nendpoints = [\"a:eth0\", \"b:eth0\"]\ndelay = \"20ms\"\njitter = \"5ms\"\n");
    let r = lab.netlab(&["up", lab.file.to_str().unwrap()]);
    if r.code == 0 {
        // A kernel with netem: the same code path applies it.
        assert_eq!(r.code, 0, "{r:?}");
        assert!(sh_ok(&format!("tc -n {} qdisc show dev eth0", lab.ns("a"))).contains("netem"));
        return;
    }
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stderr.contains("this kernel has no sch_netem: load the module (modprobe sch_netem) or drop delay, jitter and loss"), "{r:?}");
    assert_eq!(lab.namespaces(), Vec::<String>::new(), "up touched the kernel");
    assert!(!std::path::Path::new(&format!("/run/netlab/{}", lab.name)).exists());
    assert_eq!(lab.plan().code, 1);
}
