//! kill -9 of `up` and of `down` at points spread over their run time, for a lab with a host
//! node (host links in the sandbox, a host sysctl), node sysctls, an nft table, an isolated
//! node and a `restart = "always"` workload. After each kill the next `up` converges, `plan`
//! has nothing to do, the workload has one supervisor, and `down` leaves nothing at all.

use crate::support::*;
use crate::workloads::supervisors;
use std::process::Stdio;
use std::time::{Duration, Instant};

const CRASHY: &str = r#"
[nodes.host]
kind = "host"
forward = true
routes = [{ to = "10.77.2.0/24", via = "10.77.1.2" }]
[nodes.gw]
forward = true
sysctls = { "net.ipv4.conf.all.rp_filter" = 2 }
routes = [{ to = "default", via = "10.77.1.1" }]
firewall.forward_policy = "drop"
firewall.forward = [
  { in = "v-in", out = "v-out", action = "accept" },
  { in = "v-out", out = "v-in", state = ["established", "related"], action = "accept" },
]
[nodes.box]
isolate = ["pid", "mount"]
routes = [{ to = "default", via = "10.77.2.1" }]
run = [{ name = "w", cmd = ["sleep", "300"], restart = "always" }]
[[links]]
endpoints = ["host:v-gw", "gw:v-out"]
addresses = ["10.77.1.1/24", "10.77.1.2/24"]
[[links]]
endpoints = ["gw:v-in", "box:eth0"]
addresses = ["10.77.2.1/24", "10.77.2.2/24"]
"#;

const UP_POINTS: u32 = 15;
const DOWN_POINTS: u32 = 10;

/// Processes of the lab: its helpers (their command line names a file under
/// /run/netlab/LAB/) and anything in one of its cgroups (the payloads).
fn lab_processes(lab: &str) -> Vec<String> {
    let dir = format!("/run/netlab/{lab}/");
    let cg = format!("/netlab/{lab}");
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().parse::<u32>().is_ok())
        .filter_map(|e| {
            let cmd = std::fs::read(e.path().join("cmdline")).unwrap_or_default();
            let cmd = String::from_utf8_lossy(&cmd).replace('\0', " ");
            let cgroups = std::fs::read_to_string(e.path().join("cgroup")).unwrap_or_default();
            let ours = cmd.contains(&dir)
                || cgroups.lines().any(|l| l.ends_with(&cg) || l.contains(&format!("{cg}/")));
            ours.then(|| format!("{}: {cmd}", e.file_name().to_string_lossy()))
        })
        .collect()
}

/// Cgroup directories netlab/LAB under any hierarchy of /sys/fs/cgroup.
fn lab_cgroups(lab: &str) -> Vec<String> {
    let mut left = Vec::new();
    let v2 = format!("/sys/fs/cgroup/netlab/{lab}");
    if std::path::Path::new(&v2).exists() {
        left.push(v2);
    }
    for h in std::fs::read_dir("/sys/fs/cgroup").unwrap().flatten() {
        let p = h.path().join("netlab").join(lab);
        if p.exists() {
            left.push(p.display().to_string());
        }
    }
    left.sort();
    left.dedup();
    left
}

/// Nothing of the lab anywhere: namespaces, marked host links, record, cgroups, processes.
fn assert_nothing_left(lab: &TestLab, when: &str) {
    lab.assert_gone();
    assert_eq!(lab_cgroups(&lab.name), Vec::<String>::new(), "{when}: cgroups left behind");
    // A killed payload may take a moment to be reaped by its (dying) parent.
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        let procs = lab_processes(&lab.name);
        if procs.is_empty() {
            break;
        }
        assert!(Instant::now() < deadline, "{when}: processes of the lab left behind: {procs:#?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// After a kill: `up` converges, `plan` exits 0, one supervisor, `down` leaves nothing.
fn recover(lab: &TestLab, when: &str) {
    let r = lab.netlab(&["up", lab.file.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{when}: up after the kill failed: {r:?}");
    let p = lab.plan();
    assert_eq!(p.code, 0, "{when}: not converged after up: {p:?}");
    assert_eq!(supervisors(&lab.name, "box", "w"), 1, "{when}: supervisors of box/w");
    let d = lab.netlab(&["down", "--lab", &lab.name]);
    assert_eq!(d.code, 0, "{when}: down failed: {d:?}");
    assert_nothing_left(lab, when);
}

/// Starts `netlab ARGS` (nsenter execs it: the child is netlab itself), SIGKILLs it after
/// `after`; whether it was still running then.
fn kill_after(lab: &TestLab, args: &[&str], after: Duration) -> bool {
    let mut child =
        lab.command(args).stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
    std::thread::sleep(after);
    let running = child.try_wait().unwrap().is_none();
    let _ = child.kill();
    let _ = child.wait();
    running
}

fn timed(lab: &TestLab, args: &[&str]) -> Duration {
    let t = Instant::now();
    let r = lab.netlab(args);
    assert_eq!(r.code, 0, "{args:?}: {r:?}");
    t.elapsed()
}

#[test]
fn kill_9_of_up_and_down_at_any_point_then_up_converges_and_down_cleans() {
    if !root_or_skip("crash") {
        return;
    }
    let lab = TestLab::new("crash").with_sandbox();
    lab.write(CRASHY);
    let file = lab.file.to_str().unwrap().to_string();
    let up = ["up", file.as_str()];
    let down = ["down", "--lab", lab.name.as_str()];

    // One full run of each, to spread the kill points over.
    let up_time = timed(&lab, &up);
    lab.assert_converged();
    assert_eq!(supervisors(&lab.name, "box", "w"), 1);
    let down_time = timed(&lab, &down);
    assert_nothing_left(&lab, "the measured down");
    eprintln!("crash: up {up_time:?}, down {down_time:?}");

    let mut killed = (0, 0);
    for i in 0..UP_POINTS {
        let at = up_time.mul_f64((f64::from(i) + 0.5) / f64::from(UP_POINTS));
        let when = format!("up killed at {at:?} ({}/{UP_POINTS})", i + 1);
        let running = kill_after(&lab, &up, at);
        killed.0 += u32::from(running);
        assert!(supervisors(&lab.name, "box", "w") <= 1, "{when}: two supervisors right after the kill");
        eprintln!("crash: {when}: {}", if running { "killed" } else { "had finished" });
        recover(&lab, &when);
    }
    for i in 0..DOWN_POINTS {
        lab.up();
        let at = down_time.mul_f64((f64::from(i) + 0.5) / f64::from(DOWN_POINTS));
        let when = format!("down killed at {at:?} ({}/{DOWN_POINTS})", i + 1);
        let running = kill_after(&lab, &down, at);
        killed.1 += u32::from(running);
        assert!(supervisors(&lab.name, "box", "w") <= 1, "{when}: two supervisors right after the kill");
        eprintln!("crash: {when}: {}", if running { "killed" } else { "had finished" });
        recover(&lab, &when);
    }
    eprintln!("crash: killed mid-run: up {}/{UP_POINTS}, down {}/{DOWN_POINTS}", killed.0, killed.1);
}

/// Regression: a `down` killed while it waited for a supervisor it had told to stop left that
/// supervisor dying with its claim still held; the next `up` counted it as the workload's,
/// did nothing, and once it had gone the workload was not running (`plan`: `+ workload`).
/// The supervisor is held stopped (SIGSTOP) so the dying window lasts as long as needed.
#[test]
fn up_after_a_down_killed_while_a_supervisor_stops_starts_the_workload_anew() {
    if !root_or_skip("dying") {
        return;
    }
    let lab = TestLab::new("dying");
    lab.write("[nodes.a]\nrun = [{ name = \"w\", cmd = [\"sleep\", \"300\"], restart = \"always\" }]\n");
    lab.up();
    let pid_file = format!("/run/netlab/{}/workloads/a.w.pid", lab.name);
    let old = std::fs::read_to_string(&pid_file).unwrap().trim().to_string();
    sh_ok(&format!("kill -STOP {old}"));
    let mut down = lab
        .command(&["down", "--lab", &lab.name])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // down signals the supervisor, then waits for it to go (it cannot: it is stopped).
    std::thread::sleep(Duration::from_millis(300));
    assert!(down.try_wait().unwrap().is_none(), "down did not wait for the stopped supervisor");
    let _ = down.kill();
    let _ = down.wait();
    assert_eq!(supervisors(&lab.name, "a", "w"), 1, "the old supervisor is still there, stopped");
    let r = lab.netlab(&["up", lab.file.to_str().unwrap()]);
    let _ = sh(&format!("kill -CONT {old} 2>/dev/null"));
    assert_eq!(r.code, 0, "{r:?}");
    let deadline = Instant::now() + Duration::from_secs(2);
    while std::path::Path::new(&format!("/proc/{old}")).exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    lab.assert_converged();
    assert_eq!(supervisors(&lab.name, "a", "w"), 1);
    let new = std::fs::read_to_string(&pid_file).unwrap().trim().to_string();
    assert_ne!(new, old, "the dying supervisor was kept");
    lab.down();
    assert_nothing_left(&lab, "the final down");
}
