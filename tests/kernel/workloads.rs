//! Kernel tests of what runs in a node: isolation (pid/mount/uts/ipc, hostname, rootfs),
//! cgroup limits (memory, pids), seccomp, `exec` commands and supervised workloads with their
//! restart policies. Root only; each test has a lab of its own, torn down even when it fails,
//! and every wait is bounded.

use crate::support::*;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The longest any poll loop waits.
const WAIT: Duration = Duration::from_secs(10);

/// Polls `f` every 50 ms until it gives a value; panics naming `what` after `WAIT`.
fn wait_for<T>(what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + WAIT;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out after {WAIT:?} waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn status_json(lab: &TestLab) -> serde_json::Value {
    let r = lab.netlab(&["status", &lab.name, "--json"]);
    assert_eq!(r.code, 0, "status failed: {r:?}");
    serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("status --json is not JSON ({e}): {r:?}"))
}

/// A workload's entry in `status --json`.
fn workload(lab: &TestLab, node: &str, name: &str) -> serde_json::Value {
    let v = status_json(lab);
    let n = v["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["name"] == node)
        .unwrap_or_else(|| panic!("no node {node} in status: {v:#}"));
    n["workloads"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["name"] == name)
        .cloned()
        .unwrap_or_else(|| panic!("no workload {node}/{name} in status: {v:#}"))
}

fn u64_of(w: &serde_json::Value, key: &str) -> u64 {
    w[key].as_u64().unwrap_or_else(|| panic!("{key} is not a number: {w:#}"))
}

fn logs(lab: &TestLab, target: &str) -> String {
    let r = lab.netlab(&["logs", "--lab", &lab.name, target]);
    assert_eq!(r.code, 0, "logs failed: {r:?}");
    r.stdout
}

/// Processes whose command line names the lab's runtime directory (its holders and
/// supervisors), other than this test itself.
fn lab_processes(lab: &str) -> Vec<String> {
    let marker = format!("/run/netlab/{lab}/");
    let me = std::process::id();
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else { continue };
        if pid == me {
            continue;
        }
        let Ok(cmd) = std::fs::read(format!("/proc/{pid}/cmdline")) else { continue };
        let cmd = String::from_utf8_lossy(&cmd).replace('\0', " ");
        if cmd.contains(&marker) {
            out.push(format!("{pid} {cmd}"));
        }
    }
    out
}

/// The lab's cgroup directories that exist: /sys/fs/cgroup/*/netlab/LAB (v1) and
/// /sys/fs/cgroup/netlab/LAB (v2).
fn lab_cgroups(lab: &str) -> Vec<PathBuf> {
    let root = Path::new("/sys/fs/cgroup");
    let mut out: Vec<PathBuf> = std::fs::read_dir(root)
        .unwrap()
        .flatten()
        .map(|e| e.path().join("netlab").join(lab))
        .filter(|p| p.exists())
        .collect();
    let v2 = root.join("netlab").join(lab);
    if v2.exists() {
        out.push(v2);
    }
    out
}

/// Pids listed in a cgroup's `cgroup.procs` (v1: the pids controller's hierarchy; v2: the
/// unified one).
fn cgroup_procs(rel: &str) -> Vec<u32> {
    cgroup_file(rel, "cgroup.procs").lines().filter_map(|l| l.trim().parse().ok()).collect()
}

fn pid_alive(pid: u32) -> bool {
    // A zombie has no cmdline to speak of; it is as good as gone.
    std::fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|c| !c.is_empty())
}

/// Nothing of the lab runs and no cgroup of it is left.
fn assert_no_processes_or_cgroups(lab: &TestLab) {
    let procs = lab_processes(&lab.name);
    assert!(procs.is_empty(), "processes of lab {} left behind:\n{}", lab.name, procs.join("\n"));
    let groups = lab_cgroups(&lab.name);
    assert!(groups.is_empty(), "cgroups of lab {} left behind: {groups:?}", lab.name);
}

#[test]
fn isolated() {
    if !root_or_skip("isolated") {
        return;
    }
    let lab = TestLab::new("iso");
    // A second node in its own pid namespace, without a seccomp filter.
    lab.write(&format!(
        "{}\n[nodes.free]\nisolate = [\"pid\"]\nseccomp = \"unconfined\"\n",
        example("isolated")
    ));
    lab.up();

    let host = lab.exec("box", &["hostname"]);
    assert_eq!(host.code, 0, "{host:?}");
    assert_eq!(host.stdout.trim(), "box", "{host:?}");

    // The node's own pid namespace: its holder as pid 1, the workload, and ps itself.
    let ps = lab.exec("box", &["ps", "-e", "-o", "pid,comm,args"]);
    assert_eq!(ps.code, 0, "{ps:?}");
    let rows: Vec<(u32, String, String)> = ps
        .stdout
        .lines()
        .skip(1)
        .map(|l| {
            let mut f = l.split_whitespace();
            let pid = f.next().unwrap().parse().unwrap();
            let comm = f.next().unwrap().to_string();
            (pid, comm, f.collect::<Vec<_>>().join(" "))
        })
        .collect();
    let pid1 = rows.iter().find(|r| r.0 == 1).unwrap_or_else(|| panic!("no pid 1 in the node: {ps:?}"));
    assert!(pid1.2.contains("__netlab-init hold"), "pid 1 is not the holder: {ps:?}");
    assert!(rows.iter().any(|r| r.1 == "sleep"), "the workload's sleep is not in the node: {ps:?}");
    let me = std::process::id();
    assert!(!rows.iter().any(|r| r.0 == me), "the test's own pid {me} is visible in the node: {ps:?}");
    let others: Vec<&(u32, String, String)> =
        rows.iter().filter(|r| r.0 != 1 && r.1 != "sleep" && r.1 != "ps").collect();
    assert!(others.is_empty(), "processes other than the node's are visible: {others:?}\n{ps:?}");

    // The default seccomp profile denies unshare; an unconfined node allows it.
    let denied = lab.exec("box", &["unshare", "--user", "true"]);
    assert_ne!(denied.code, 0, "unshare was allowed under seccomp = \"default\": {denied:?}");
    assert!(denied.stderr.contains("Operation not permitted"), "{denied:?}");
    let allowed = lab.exec("free", &["unshare", "--user", "true"]);
    assert_eq!(allowed.code, 0, "unshare was denied in an unconfined node: {allowed:?}");

    assert!(lab.ping("peer", "10.0.5.1"), "peer cannot ping box");

    let w = workload(&lab, "box", "sleeper");
    assert_eq!(w["state"], "running", "{w:#}");
    let (pid, supervisor) = (u64_of(&w, "pid"), u64_of(&w, "supervisor"));
    assert!(Path::new(&format!("/proc/{pid}")).exists(), "workload pid {pid} is not running: {w:#}");

    let again = lab.up();
    assert!(again.stdout.contains("nothing to change"), "{again:?}");
    let w2 = workload(&lab, "box", "sleeper");
    assert_eq!(
        (u64_of(&w2, "pid"), u64_of(&w2, "supervisor")),
        (pid, supervisor),
        "a second up restarted the workload: {w2:#}"
    );
    lab.assert_converged();

    // The node's limits are the ones the workload runs under, and status says so.
    assert_eq!(w2["memory_limit"].as_u64(), Some(64 << 20), "memory_limit: {w2:#}");
    assert_eq!(w2["pids_limit"].as_u64(), Some(64), "pids_limit: {w2:#}");
    let text = lab.netlab(&["status", &lab.name]);
    assert!(
        text.stdout.contains("memory ")
            && text.stdout.contains("/64 MiB")
            && text.stdout.contains("pids 1/64"),
        "{text:?}"
    );
}

#[test]
fn oom() {
    if !root_or_skip("oom") {
        return;
    }
    let lab = TestLab::new("oom");
    lab.write(
        r#"
[nodes.n]
limits = { memory = "32M" }
run = [{ name = "hog", cmd = ["python3", "-c", "x = bytearray(200*1024*1024); import time; time.sleep(30)"], restart = "no" }]
"#,
    );
    lab.up();
    let w = wait_for("workload n/hog to be oom-killed", || {
        let w = workload(&lab, "n", "hog");
        let oom = w["state"] == "oom-killed"
            || w["last_exit"].as_str().is_some_and(|e| e.contains("out of memory"));
        oom.then_some(w)
    });
    assert!(w["oom_kills"].as_u64().is_some_and(|k| k >= 1), "oom_kills: {w:#}");
    let text = lab.netlab(&["status", &lab.name]);
    let line = text.stdout.lines().find(|l| l.trim_start().starts_with("workload hog "));
    assert!(line.is_some_and(|l| l.contains(" oom-killed ")), "{text:?}");
}

#[test]
fn fork_bomb() {
    if !root_or_skip("fork_bomb") {
        return;
    }
    let lab = TestLab::new("fork");
    lab.write(
        r#"
[nodes.n]
limits = { pids = 20 }
run = [{ name = "bomb", cmd = ["sh", "-c", "for i in $(seq 1 60); do sleep 30 & done; wait"] }]
"#,
    );
    lab.up();
    let current = format!("/sys/fs/cgroup/pids/netlab/{}/n/pids.current", lab.name);
    let mut peak = 0u64;
    let log = wait_for("a fork failure in the workload's log", || {
        let now: u64 = std::fs::read_to_string(&current)
            .unwrap_or_else(|e| panic!("reading {current}: {e}"))
            .trim()
            .parse()
            .unwrap();
        peak = peak.max(now);
        let w = workload(&lab, "n", "bomb");
        if let Some(p) = w["pids"].as_u64() {
            assert!(p <= 20, "the workload holds more pids than the node's limit: {w:#}");
            peak = peak.max(p);
        }
        let log = logs(&lab, "n/bomb");
        (log.contains("Cannot fork") || log.contains("Resource temporarily unavailable")).then_some(log)
    });
    assert!(peak <= 20, "pids.current reached {peak} (limit 20)");
    // The kernel's own account: forks were refused (v1 counts them in the forking task's
    // group, newer kernels in the limiting one), and where it keeps a high-water mark, the
    // node never held more than its limit.
    let node_dir = current.trim_end_matches("/pids.current").to_string();
    let refused: u64 = [format!("{node_dir}/pids.events"), format!("{node_dir}/bomb/pids.events")]
        .iter()
        .filter_map(|f| std::fs::read_to_string(f).ok())
        .filter_map(|t| {
            t.lines().find_map(|l| l.strip_prefix("max ")).and_then(|n| n.trim().parse::<u64>().ok())
        })
        .sum();
    assert!(refused >= 1, "pids.events counts no refused fork; log: {log}");
    if let Ok(p) = std::fs::read_to_string(format!("{node_dir}/pids.peak")) {
        let p: u64 = p.trim().parse().unwrap();
        assert!((10..=20).contains(&p), "pids.peak of the node is {p} (limit 20)");
    }
    let max = std::fs::read_to_string(current.replace("pids.current", "pids.max")).unwrap();
    assert_eq!(max.trim(), "20");
}

#[test]
fn rootfs() {
    if !root_or_skip("rootfs") {
        return;
    }
    let lab = TestLab::new("rootf");
    let root = lab.dir.join("rootfs");
    for d in ["bin", "proc", "sys", "dev", "tmp"] {
        std::fs::create_dir_all(root.join(d)).unwrap();
    }
    std::fs::copy("/bin/busybox", root.join("bin/busybox")).expect("busybox-static is installed");
    for l in ["sh", "ls"] {
        std::os::unix::fs::symlink("busybox", root.join("bin").join(l)).unwrap();
    }
    lab.write("[nodes.n1]\nrootfs = \"rootfs\"\nisolate = [\"pid\", \"mount\"]\n");
    lab.up();

    let ls = lab.exec("n1", &["/bin/sh", "-c", "ls /"]);
    assert_eq!(ls.code, 0, "{ls:?}");
    let entries: Vec<&str> = ls.stdout.split_whitespace().collect();
    for want in ["bin", "proc", "sys", "dev"] {
        assert!(entries.contains(&want), "/ in the node lacks {want}: {entries:?}");
    }
    for host_only in ["usr", "etc", "home", "root", "var"] {
        assert!(!entries.contains(&host_only), "/ in the node shows the host's {host_only}: {entries:?}");
    }
    let proc = lab.exec("n1", &["/bin/sh", "-c", "ls /proc"]);
    assert_eq!(proc.code, 0, "{proc:?}");
    assert!(proc.stdout.split_whitespace().any(|e| e == "1"), "/proc in the node has no pid 1: {proc:?}");

    lab.down();
    lab.assert_gone();
    // The node's mounts stayed in its own mount namespace.
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    assert!(!mounts.contains(root.to_str().unwrap()), "node mounts leaked to the host:\n{mounts}");
    assert!(root.join("bin/busybox").exists(), "down touched the rootfs");
}

#[test]
fn restart_policies() {
    if !root_or_skip("restart_policies") {
        return;
    }
    let lab = TestLab::new("rstrt");
    lab.write(
        r#"
[nodes.n]
run = [
  { name = "onfail", cmd = ["sh", "-c", "exit 3"], restart = "on-failure" },
  { name = "always", cmd = ["sh", "-c", "exit 0"], restart = "always" },
  { name = "never", cmd = ["sh", "-c", "exit 3"], restart = "no" },
]
"#,
    );
    lab.up();
    wait_for("on-failure and always workloads to restart at least twice", || {
        let (f, a) = (workload(&lab, "n", "onfail"), workload(&lab, "n", "always"));
        (u64_of(&f, "restarts") >= 2 && u64_of(&a, "restarts") >= 2).then_some(())
    });
    let f = workload(&lab, "n", "onfail");
    assert_eq!(f["last_exit"], "exit 3", "{f:#}");
    let a = workload(&lab, "n", "always");
    assert_eq!(a["last_exit"], "exit 0", "{a:#}");
    let never = wait_for("the restart = \"no\" workload to have exited", || {
        let w = workload(&lab, "n", "never");
        (w["state"] == "exited").then_some(w)
    });
    assert_eq!(u64_of(&never, "restarts"), 0, "{never:#}");
    assert_eq!(never["last_exit"], "exit 3", "{never:#}");
    // It ran as defined: nothing to do for `up`.
    lab.assert_converged();

    lab.down();
    assert_no_processes_or_cgroups(&lab);
    lab.assert_gone();
}

#[test]
fn exec_commands() {
    if !root_or_skip("exec_commands") {
        return;
    }
    let lab = TestLab::new("exec");
    lab.write("[nodes.n]\nexec = [\"ip link set lo mtu 9000\", \"ip link set lo up\"]\n");
    lab.up();
    let mtu = lab.exec("n", &["cat", "/sys/class/net/lo/mtu"]);
    assert_eq!(mtu.code, 0, "{mtu:?}");
    assert_eq!(mtu.stdout.trim(), "9000", "{mtu:?}");
    let again = lab.up();
    assert!(again.stdout.contains("nothing to change"), "exec commands are not re-run: {again:?}");

    let bad = TestLab::new("exbad");
    bad.write("[nodes.n]\nexec = [\"echo boom >&2; exit 4\"]\n");
    let r = bad.netlab(&["up", bad.file.to_str().unwrap()]);
    assert_eq!(r.code, 1, "a failing exec command must fail up: {r:?}");
    assert!(r.stderr.contains("boom") && r.stderr.contains("exit 4"), "{r:?}");
}

#[test]
fn changed_definition_restarts_only_that_workload() {
    if !root_or_skip("changed_definition") {
        return;
    }
    let lab = TestLab::new("chg");
    let before = "[nodes.n]\nrun = [\n  { name = \"a\", cmd = [\"sleep\", \"1000\"] },\n  { name = \"b\", cmd = [\"sleep\", \"1000\"] },\n]\n";
    lab.write(before);
    lab.up();
    let pid_of = |name: &str| {
        let w = workload(&lab, "n", name);
        assert_eq!(w["state"], "running", "{w:#}");
        u64_of(&w, "pid")
    };
    let (a, b) = (pid_of("a"), pid_of("b"));

    lab.write(&before.replace(
        "{ name = \"b\", cmd = [\"sleep\", \"1000\"] }",
        "{ name = \"b\", cmd = [\"sleep\", \"2000\"] }",
    ));
    lab.assert_plan(&["- workload n/b", "+ workload n/b: sleep 2000"]);
    lab.up();
    lab.assert_converged();
    assert_eq!(pid_of("a"), a, "workload a was restarted");
    let b2 = pid_of("b");
    assert_ne!(b2, b, "workload b was not restarted");
    assert!(!pid_alive(b as u32), "the old b ({b}) still runs");
    let cmd = std::fs::read(format!("/proc/{b2}/cmdline")).unwrap();
    assert_eq!(String::from_utf8_lossy(&cmd).replace('\0', " ").trim(), "sleep 2000");
}

#[test]
fn down_leaves_nothing() {
    if !root_or_skip("down_leaves_nothing") {
        return;
    }
    let lab = TestLab::new("down");
    lab.write(
        r#"
[nodes.iso]
hostname = "iso"
isolate = ["pid", "mount", "uts", "ipc"]
limits = { memory = "64M", pids = 64 }
run = [{ name = "kids", cmd = ["sh", "-c", "sleep 300 & sleep 300 & wait"] }]

[nodes.plain]
run = [{ name = "kids", cmd = ["sh", "-c", "sleep 300 & sleep 300 & wait"], restart = "always" }]

[[links]]
endpoints = ["iso:eth0", "plain:eth0"]
addresses = ["10.0.6.1/30", "10.0.6.2/30"]
"#,
    );
    lab.up();
    // sh and its two sleeps, in each workload's cgroup.
    let mut ours: Vec<u32> = Vec::new();
    for node in ["iso", "plain"] {
        let rel = format!("netlab/{}/{node}/kids", lab.name);
        ours.extend(wait_for(&format!("sh and two sleeps in {rel}"), || {
            let p = cgroup_procs(&rel);
            (p.len() >= 3).then_some(p)
        }));
    }
    let holder = status_json(&lab)["nodes"].as_array().unwrap().iter().find(|n| n["name"] == "iso").unwrap()
        ["holder"]
        .as_u64()
        .expect("node iso has a holder") as u32;
    ours.push(holder);
    assert!(!lab_processes(&lab.name).is_empty(), "no supervisor or holder found by command line");
    assert!(!lab_cgroups(&lab.name).is_empty(), "no cgroup of the lab found");

    lab.down();
    let left: Vec<u32> = ours.iter().copied().filter(|p| pid_alive(*p)).collect();
    assert!(left.is_empty(), "processes of the lab still run after down: {left:?}");
    assert_no_processes_or_cgroups(&lab);
    lab.assert_gone();
    let twice = lab.down();
    assert!(twice.stdout.contains("no lab named"), "{twice:?}");
}

/// The supervisors of workload `node/name` of a lab, by command line.
pub fn supervisors(lab: &str, node: &str, name: &str) -> usize {
    let spec = format!("/run/netlab/{lab}/workloads/{node}.{name}.json");
    let matching: Vec<(u32, u32)> = std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| {
            let pid = e.file_name().to_string_lossy().parse::<u32>().ok()?;
            let cmd = std::fs::read(e.path().join("cmdline")).unwrap_or_default();
            let args: Vec<&[u8]> = cmd.split(|b| *b == 0).collect();
            if !(args.contains(&&b"__netlab-init"[..]) && args.contains(&spec.as_bytes())) {
                return None;
            }
            let status = std::fs::read_to_string(e.path().join("status")).unwrap_or_default();
            let ppid = status.lines().find_map(|l| l.strip_prefix("PPid:")?.trim().parse().ok()).unwrap_or(0);
            Some((pid, ppid))
        })
        .collect();
    // A supervisor's payload, between its fork and its execve, still looks like one: count
    // only those whose parent is not a supervisor of the same workload.
    matching.iter().filter(|(_, ppid)| !matching.iter().any(|(p, _)| p == ppid)).count()
}

/// A supervisor claims its workload for its whole life: a second one refuses, and an `up`
/// that finds a live supervisor without its pid file (a crash before it was written)
/// replaces it rather than starting a second.
#[test]
fn a_workload_has_one_supervisor_even_without_its_pid_file() {
    if !root_or_skip("claim") {
        return;
    }
    let lab = TestLab::new("claim");
    lab.write("[nodes.a]\nrun = [{ name = \"w\", cmd = [\"sleep\", \"600\"], restart = \"always\" }]\n");
    lab.up();
    assert_eq!(supervisors(&lab.name, "a", "w"), 1);
    let spec = format!("/run/netlab/{}/workloads/a.w.json", lab.name);
    let second = std::process::Command::new(env!("CARGO_BIN_EXE_netlab"))
        .args(["__netlab-init", "run", &spec])
        .output()
        .unwrap();
    assert!(!second.status.success(), "a second supervisor ran");
    assert!(String::from_utf8_lossy(&second.stderr).contains("supervised already"), "{second:?}");
    for ext in ["pid", "fp"] {
        std::fs::remove_file(format!("/run/netlab/{}/workloads/a.w.{ext}", lab.name)).unwrap();
    }
    lab.up();
    lab.assert_converged();
    assert_eq!(supervisors(&lab.name, "a", "w"), 1);
    lab.down();
    assert_eq!(supervisors(&lab.name, "a", "w"), 0);
    lab.assert_gone();
}
