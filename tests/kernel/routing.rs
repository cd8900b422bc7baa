//! A routing daemon in the lab: BIRD 2 runs OSPF on four routers in a square, as netlab
//! workloads, and installs routes of its own (`proto bird`), one of them multipath. What the
//! daemon installs is not the lab's: `plan` ignores it, and no `up` (unchanged, after an
//! unrelated edit, repairing a link taken down by hand) nor `netlab test` removes it or drops a
//! ping across the lab.
//!
//! ```text
//!   h1 ── r1 ──eth1── r2
//!         │eth2        │
//!         r4 ──────── r3 ── h3
//! ```
//! r1 reaches h3's subnet through r2 and through r4 at equal cost, and r3 h1's: two ECMP
//! routes. Each test has a square of its own; every wait is bounded.

use crate::support::*;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The longest a wait for OSPF (convergence, or recovery after a repair) may take.
const CONVERGE: Duration = Duration::from_secs(40);

/// h1's subnet (behind r1) and h3's (behind r3), and their addresses.
const H1_NET: &str = "10.20.1.0/24";
const H3_NET: &str = "10.20.3.0/24";
const H1: &str = "10.20.1.2";
const H3: &str = "10.20.3.2";
/// r2's end of the r1–r2 link (r1:eth1 ↔ r2:eth2).
const R2_ON_R1R2: &str = "10.10.12.2";

/// `name`: router id 10.255.0.N; `stub`: whether it has a host-facing eth0 to announce.
pub(crate) fn bird_conf(n: u32, stub: bool, log: &str) -> String {
    let stub_iface = if stub { "\n        interface \"eth0\" { stub yes; };" } else { "" };
    format!(
        r#"log "{log}" all;
router id 10.255.0.{n};
protocol device {{ }}
protocol direct {{ ipv4; }}
protocol kernel {{
    ipv4 {{ export all; }};
    merge paths on;
}}
protocol ospf v2 {{
    ecmp yes;
    area 0 {{
        interface "eth1", "eth2" {{ type ptp; hello 1; dead 4; check link yes; }};{stub_iface}
    }};
}}
"#
    )
}

/// The square with a BIRD workload on each router, its configs and sockets in the lab's own
/// directory, a `[[check]]` from h1 to h3, and `extra` appended (an unrelated edit).
fn square(lab: &TestLab, extra: &str) -> String {
    let mut body = String::new();
    for n in 1..=4u32 {
        let dir = lab.dir.display();
        let conf = format!("{dir}/r{n}.conf");
        std::fs::write(&conf, bird_conf(n, n == 1 || n == 3, &format!("{dir}/r{n}.log"))).unwrap();
        body.push_str(&format!(
            "[nodes.r{n}]\nforward = true\nrun = [{{ name = \"bird\", cmd = [\"bird\", \"-f\", \"-c\", \"{conf}\", \"-s\", \"{dir}/r{n}.ctl\"] }}]\n"
        ));
    }
    body.push_str(
        r#"
[nodes.h1]
routes = [{ to = "default", via = "10.20.1.1" }]
[nodes.h3]
routes = [{ to = "default", via = "10.20.3.1" }]

# The ring: rN:eth1 goes to the next router, rN:eth2 to the previous one.
[[links]]
endpoints = ["r1:eth1", "r2:eth2"]
addresses = ["10.10.12.1/24", "10.10.12.2/24"]
[[links]]
endpoints = ["r2:eth1", "r3:eth2"]
addresses = ["10.10.23.2/24", "10.10.23.3/24"]
[[links]]
endpoints = ["r3:eth1", "r4:eth2"]
addresses = ["10.10.34.3/24", "10.10.34.4/24"]
[[links]]
endpoints = ["r4:eth1", "r1:eth2"]
addresses = ["10.10.41.4/24", "10.10.41.1/24"]

[[links]]
endpoints = ["h1:eth0", "r1:eth0"]
addresses = ["10.20.1.2/24", "10.20.1.1/24"]
[[links]]
endpoints = ["h3:eth0", "r3:eth0"]
addresses = ["10.20.3.2/24", "10.20.3.1/24"]

[[check]]
name = "h1 reaches h3 through the routers"
from = "h1"
ping = "10.20.3.2"
"#,
    );
    body.push_str(extra);
    body
}

/// A square that is up, with BIRD's processes checked gone when it is dropped (the lab's own
/// drop runs `down` first, which stops them).
struct Square {
    lab: TestLab,
}

impl Square {
    /// Brings the square up and waits until OSPF has converged: the routers hold BIRD's routes
    /// to both host subnets, r1 and r3 as multipath routes, and h1 pings h3.
    fn up(tag: &str) -> Square {
        Square::up_edited(tag, |body| body)
    }

    /// The same, with the file edited first.
    fn up_edited(tag: &str, edit: impl FnOnce(String) -> String) -> Square {
        let lab = TestLab::new(tag);
        let sq = Square { lab };
        sq.lab.write(&edit(square(&sq.lab, "")));
        sq.lab.up();
        sq.wait_converged("after the first up");
        sq
    }

    fn ns(&self, node: &str) -> String {
        self.lab.ns(node)
    }

    /// `ip -n NS route show DST`.
    fn route(&self, node: &str, dst: &str) -> String {
        String::from_utf8_lossy(&sh(&format!("ip -n {} route show {dst}", self.ns(node))).stdout).into_owned()
    }

    /// Every route of every router and host, for failure messages.
    fn all_routes(&self) -> String {
        let mut out = String::new();
        for n in ["r1", "r2", "r3", "r4", "h1", "h3"] {
            let r = sh(&format!("ip -n {} route show", self.ns(n)));
            out.push_str(&format!("--- {n}\n{}", String::from_utf8_lossy(&r.stdout)));
        }
        out
    }

    /// What is missing from the converged state, or None when all of it is there.
    fn missing(&self) -> Option<String> {
        let multipath = |node: &str, dst: &str| {
            let r = self.route(node, dst);
            (r.contains("proto bird") && r.matches("nexthop via").count() == 2)
                .then_some(())
                .ok_or(format!("{node} has no BIRD multipath route to {dst}: {r:?}"))
        };
        let single = |node: &str, dst: &str| {
            let r = self.route(node, dst);
            r.contains("proto bird").then_some(()).ok_or(format!("{node} has no BIRD route to {dst}: {r:?}"))
        };
        let checks = [
            multipath("r1", H3_NET),
            multipath("r3", H1_NET),
            single("r2", H1_NET),
            single("r2", H3_NET),
            single("r4", H1_NET),
            single("r4", H3_NET),
        ];
        checks.into_iter().find_map(Result::err)
    }

    /// Polls until `missing` is None (every 200 ms, at most `CONVERGE`) and h1 pings h3;
    /// returns how long it took.
    fn wait_converged(&self, when: &str) -> Duration {
        let start = Instant::now();
        loop {
            match self.missing() {
                None if self.lab.ping("h1", H3) => return start.elapsed(),
                None => {}
                Some(why) if start.elapsed() > CONVERGE => panic!(
                    "OSPF did not converge within {CONVERGE:?} {when}: {why}\n{}\n{}",
                    self.all_routes(),
                    self.bird_logs()
                ),
                Some(_) => {}
            }
            assert!(start.elapsed() <= CONVERGE, "h1 cannot ping h3 {when} although the routes are there");
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// The tail of each BIRD log.
    fn bird_logs(&self) -> String {
        let mut out = String::new();
        for n in 1..=4 {
            let log = std::fs::read_to_string(self.lab.dir.join(format!("r{n}.log"))).unwrap_or_default();
            let tail: Vec<&str> = log.lines().rev().take(15).collect();
            out.push_str(&format!("--- r{n} bird log (last lines)\n"));
            for l in tail.into_iter().rev() {
                out.push_str(l);
                out.push('\n');
            }
        }
        out
    }

    /// The BIRD routes (`proto bird`) of every router, sorted: what no `up` may remove.
    fn bird_routes(&self) -> Vec<String> {
        let mut out = Vec::new();
        for n in ["r1", "r2", "r3", "r4"] {
            let r = sh_ok(&format!("ip -n {} -o route show proto bird", self.ns(n)));
            out.extend(
                r.lines().map(|l| format!("{n}: {}", l.split_whitespace().collect::<Vec<_>>().join(" "))),
            );
        }
        out.sort();
        out
    }

    /// Runs `what` while h1 pings h3 every 50 ms (from half a second before to a second after),
    /// and asserts that at most one echo (the one in flight when the ping is stopped) is lost.
    fn no_ping_lost<T>(&self, step: &str, what: impl FnOnce() -> T) -> T {
        let ping = Pinger::start(&self.ns("h1"), H3);
        std::thread::sleep(Duration::from_millis(500));
        let out = what();
        std::thread::sleep(Duration::from_secs(1));
        let (sent, received, text) = ping.stop();
        assert!(sent >= 20, "{step}: the ping sent only {sent} echoes:\n{text}");
        assert!(
            sent - received <= 1,
            "{step}: {} of {sent} echoes from h1 to h3 were lost:\n{text}\n{}",
            sent - received,
            self.all_routes()
        );
        out
    }

    /// Asserts that the BIRD routes are the same as `before` and `plan` is empty.
    fn assert_kept(&self, step: &str, before: &[String]) {
        let after = self.bird_routes();
        assert_eq!(after, before, "{step}: BIRD's routes changed\n{}", self.all_routes());
        let plan = self.lab.plan();
        assert_eq!(plan.code, 0, "{step}: plan is not empty: {plan:?}");
    }
}

impl Drop for Square {
    fn drop(&mut self) {
        // `down` stops the workloads; the lab's own drop runs it again and removes the
        // directory. A BIRD of this lab still running afterwards would be a leak.
        self.lab.cleanup();
        let marker = self.lab.dir.display().to_string();
        let left = bird_processes(&marker);
        if !left.is_empty() {
            for (pid, _) in &left {
                let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(*pid), nix::sys::signal::SIGKILL);
            }
            if !std::thread::panicking() {
                panic!("BIRD processes left after down: {left:?}");
            }
        }
    }
}

/// `bird` processes whose command line names `marker` (the lab's directory).
pub(crate) fn bird_processes(marker: &str) -> Vec<(i32, String)> {
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<i32>() else { continue };
        let Ok(cmd) = std::fs::read(format!("/proc/{pid}/cmdline")) else { continue };
        let cmd = String::from_utf8_lossy(&cmd).replace('\0', " ");
        if cmd.starts_with("bird ") && cmd.contains(marker) {
            out.push((pid, cmd));
        }
    }
    out
}

/// A ping running in a node's namespace, killed on drop.
struct Pinger {
    child: Option<Child>,
}

impl Pinger {
    /// `ping -i 0.05` from namespace `ns` to `to`, bounded by a count (60 s worth). Not `-w`:
    /// with a deadline, ping exits at the first ICMP error, and a lost route is just that.
    fn start(ns: &str, to: &str) -> Pinger {
        let child = Command::new("ip")
            .args(["netns", "exec", ns, "ping", "-n", "-q", "-i", "0.05", "-W", "1", "-c", "1200", to])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("ping starts");
        Pinger { child: Some(child) }
    }

    /// Stops the ping with SIGINT (it prints its summary) and returns (sent, received, output).
    fn stop(mut self) -> (u32, u32, String) {
        let child = self.child.take().unwrap();
        let pid = nix::unistd::Pid::from_raw(child.id() as i32);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::SIGINT);
        let out = child.wait_with_output().expect("ping ends");
        let text =
            format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        // "N packets transmitted, M received, ..."
        let line = text.lines().find(|l| l.contains("packets transmitted")).unwrap_or("");
        let num = |word: &str| -> u32 {
            let f: Vec<&str> = line.split(',').collect();
            f.iter()
                .find(|p| p.contains(word))
                .and_then(|p| p.split_whitespace().next())
                .and_then(|n| n.parse().ok())
                .unwrap_or(0)
        };
        (num("transmitted"), num("received"), text)
    }
}

impl Drop for Pinger {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

#[test]
fn bird_routes_are_not_the_labs_and_plan_is_empty() {
    if !root_or_skip("ospf-plan") {
        return;
    }
    let sq = Square::up("ospfp");
    let routes = sq.bird_routes();
    assert!(
        routes.iter().any(|r| r.starts_with("r1: 10.20.3.0/24") && r.contains("nexthop via")),
        "{routes:#?}"
    );
    let plan = sq.lab.plan();
    assert_eq!(plan.code, 0, "plan of an unchanged lab with a converged OSPF is not empty: {plan:?}");
    sq.lab.down();
    sq.lab.assert_gone();
}

/// A router that is container-like (capabilities dropped to Docker's plus NET_ADMIN, the
/// seccomp allowlist, its own pid namespace) still runs BIRD, which still installs its routes.
#[test]
fn bird_runs_in_a_container_like_router() {
    if !root_or_skip("ospf-confined") {
        return;
    }
    let sq = Square::up_edited("ospfc", |body| {
        body.replace(
            "[nodes.r2]\nforward = true\n",
            "[nodes.r2]\nforward = true\nseccomp = \"default\"\nlimits = { pids = 64 }\n",
        )
    });
    assert!(sq.bird_routes().iter().any(|r| r.starts_with("r2: ")), "{:#?}", sq.bird_routes());
    let status = sq.lab.exec("r2", &["sh", "-c", "grep -E '^(CapEff|Seccomp|NoNewPrivs):' /proc/1/status"]);
    assert!(status.stdout.contains("Seccomp:\t2") && status.stdout.contains("NoNewPrivs:\t1"), "{status:?}");
    let plan = sq.lab.plan();
    assert_eq!(plan.code, 0, "{plan:?}");
    sq.lab.down();
    sq.lab.assert_gone();
}

#[test]
fn an_unchanged_up_keeps_bird_routes_and_loses_no_ping() {
    if !root_or_skip("ospf-up") {
        return;
    }
    let sq = Square::up("ospfu");
    let before = sq.bird_routes();
    let r = sq.no_ping_lost("unchanged up", || sq.lab.up());
    assert!(r.stdout.contains("nothing to change"), "an unchanged up changed something: {r:?}");
    sq.assert_kept("unchanged up", &before);
}

#[test]
fn an_unrelated_edit_keeps_bird_routes_and_loses_no_ping() {
    if !root_or_skip("ospf-edit") {
        return;
    }
    let sq = Square::up("ospfe");
    let before = sq.bird_routes();
    // A sysctl on a router and a new node hanging off h3: nothing OSPF runs on.
    let edit = r#"
[nodes.x]
[[links]]
endpoints = ["h3:eth9", "x:eth0"]
addresses = ["10.99.0.1/24", "10.99.0.2/24"]
"#;
    let body = square(&sq.lab, edit).replace(
        "[nodes.r2]\nforward = true\n",
        "[nodes.r2]\nforward = true\nsysctls = { \"net.ipv4.conf.all.log_martians\" = 1 }\n",
    );
    assert!(body.contains("log_martians"));
    sq.lab.write(&body);
    sq.no_ping_lost("unrelated edit", || sq.lab.up());
    assert!(sq.lab.ping("h3", "10.99.0.2"), "the new node is not reachable");
    sq.assert_kept("unrelated edit", &before);
}

#[test]
fn netlab_test_passes_and_keeps_bird_routes() {
    if !root_or_skip("ospf-test") {
        return;
    }
    let sq = Square::up("ospft");
    let before = sq.bird_routes();
    let file = sq.lab.file.to_str().unwrap().to_string();
    let r = sq.no_ping_lost("netlab test", || sq.lab.netlab(&["test", &file]));
    assert_eq!(r.code, 0, "netlab test failed on a converged lab: {r:?}");
    assert!(r.stdout.contains("checks: 1 passed, 0 failed"), "{r:?}");
    sq.assert_kept("netlab test", &before);
}

#[test]
fn a_link_taken_down_by_hand_is_repaired_and_ospf_recovers() {
    if !root_or_skip("ospf-link") {
        return;
    }
    let sq = Square::up("ospfl");
    let r1 = sq.ns("r1");
    sh_ok(&format!("ip -n {r1} link set eth1 down"));
    // OSPF routes around it: r1 reaches h3 through r4 alone, and r3 h1 likewise.
    let start = Instant::now();
    loop {
        let a = sq.route("r1", H3_NET);
        let b = sq.route("r3", H1_NET);
        let single = |r: &str| r.contains("proto bird") && !r.contains("nexthop") && r.contains("10.10.41.4");
        if single(&a) && b.contains("proto bird") && !b.contains("nexthop") {
            break;
        }
        assert!(
            start.elapsed() < CONVERGE,
            "OSPF did not route around r1:eth1 within {CONVERGE:?}:\n{}",
            sq.all_routes()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(sq.lab.ping("h1", H3), "h1 cannot reach h3 around the broken link");
    let plan = sq.lab.plan();
    assert_eq!(plan.code, 2, "plan does not see the link down: {plan:?}");
    assert!(plan.stdout.contains(&format!("~ up {r1}:eth1")), "{plan:?}");

    sq.no_ping_lost("up repairing r1:eth1", || sq.lab.up());
    let took = sq.wait_converged("after up repaired r1:eth1");
    eprintln!("OSPF recovered {took:?} after the repair");
    assert!(sq.lab.ping("h1", R2_ON_R1R2), "h1 cannot ping r2 across the repaired link");
    assert!(sq.lab.ping("h3", H1), "h3 cannot ping h1 after the repair");
    assert!(sq.route("r3", H1_NET).contains("nexthop"), "{}", sq.all_routes());
    let plan = sq.lab.plan();
    assert_eq!(plan.code, 0, "plan is not empty after the repair and OSPF recovered: {plan:?}");
}
