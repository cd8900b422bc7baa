//! Container-like nodes are contained: an attacker's probe (`probe.py`), run as a workload and
//! through `netlab exec`, finds every way out that a root process keeping all capabilities
//! would have closed; signals reach only the node; the holder runs under the node's profile;
//! a rootfs node has ptys of its own; `down` kills what still sits in a lab namespace.

use crate::support::*;
use std::path::Path;
use std::time::{Duration, Instant};

const PROBE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/kernel/probe.py");

/// What every probe must report as refused.
const REFUSED: [&str; 25] = [
    "fanotify_mark",
    "unshare_mnt",
    "unshare_net",
    "unshare_pid",
    "unshare_uts",
    "unshare_ipc",
    "unshare_cgroup",
    "clone",
    "mount",
    "fsopen",
    "open_tree",
    "move_mount",
    "mknod_char",
    "mknod_block",
    "sysctl_kernel",
    "sysctl_vm",
    "init_module",
    "finit_module",
    "bpf",
    "perf_event_open",
    "kexec_load",
    "ptrace",
    "proc_1_mem",
    "cgroup_procs",
    "sethostname",
];

/// Whether the machine limits devices through the v1 `devices` cgroup (else netlab drops
/// MKNOD, and a device node that already exists stays openable).
fn device_cgroup() -> bool {
    Path::new("/sys/fs/cgroup/devices/devices.allow").is_file()
}

/// CapEff of a container-like node: Docker's 14 and NET_ADMIN, without MKNOD where no device
/// cgroup guards it.
fn profile() -> String {
    let all: u64 = 0xa804_35fb;
    format!("{:016x}", if device_cgroup() { all } else { all & !(1 << 27) })
}

fn check_probe(what: &str, out: &str) {
    let bad: Vec<&str> = out.lines().filter(|l| l.starts_with("LEAK") || l.starts_with("FAIL")).collect();
    assert!(bad.is_empty(), "{what}: the probe got out:\n{}\n--- full output\n{out}", bad.join("\n"));
    let mut want: Vec<&str> = REFUSED.to_vec();
    if device_cgroup() {
        want.push("open_device");
    }
    want.push("pty");
    for name in want {
        assert!(
            out.lines().any(|l| l.starts_with(&format!("ok {name}:"))),
            "{what}: no `ok {name}` in:\n{out}"
        );
    }
    let cap = out.lines().find_map(|l| l.strip_prefix("info CapEff: ")).unwrap_or_default();
    assert_eq!(cap.trim(), profile(), "{what}: CapEff differs from the profile:\n{out}");
}

fn wait_for<T>(what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn workload(lab: &TestLab, node: &str, name: &str) -> serde_json::Value {
    let r = lab.netlab(&["status", &lab.name, "--json"]);
    assert_eq!(r.code, 0, "{r:?}");
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    let n = v["nodes"].as_array().unwrap().iter().find(|n| n["name"] == node).cloned().unwrap();
    n["workloads"].as_array().unwrap().iter().find(|w| w["name"] == name).cloned().unwrap_or_default()
}

fn ended(lab: &TestLab, node: &str, name: &str) -> serde_json::Value {
    wait_for(&format!("workload {node}/{name} to end"), || {
        let w = workload(lab, node, name);
        (w["state"] == "exited").then_some(w)
    })
}

fn logs(lab: &TestLab, target: &str) -> String {
    let r = lab.netlab(&["logs", "--lab", &lab.name, target]);
    assert_eq!(r.code, 0, "{r:?}");
    r.stdout
}

#[test]
fn a_probe_finds_no_way_out_of_a_container_like_node() {
    if !root_or_skip("probe") {
        return;
    }
    let lab = TestLab::new("probe");
    // A device node where the nodes can see it (the host's /tmp): only the device cgroup
    // keeps them from opening it.
    let device = lab.dir.join("kmsg");
    sh_ok(&format!("mknod {} c 1 11", device.display()));
    let dev = device.to_str().unwrap();
    let probe = format!("cmd = [\"/usr/bin/python3\", \"{PROBE}\", \"{dev}\"]");
    lab.write(&format!(
        r#"
[nodes.box]
isolate = ["pid", "mount", "uts", "ipc"]
limits = {{ memory = "256M", pids = 128 }}
seccomp = "default"
run = [{{ name = "probe", {probe} }}]

[nodes.lim]
limits = {{ pids = 128 }}
run = [{{ name = "probe", {probe} }}]

[nodes.pidonly]
isolate = ["pid"]
"#
    ));
    lab.up();
    for node in ["box", "lim"] {
        let w = ended(&lab, node, "probe");
        assert_eq!(w["last_exit"], "exit 0", "{w:#}\n{}", logs(&lab, &format!("{node}/probe")));
        check_probe(&format!("workload {node}/probe"), &logs(&lab, &format!("{node}/probe")));
        let r = lab.exec(node, &["/usr/bin/python3", PROBE, dev]);
        assert_eq!(r.code, 0, "{r:?}");
        check_probe(&format!("netlab exec {node}"), &r.stdout);
    }

    // A node that keeps the host's uts namespace cannot rename the host.
    let before = sh_ok("hostname");
    let r = lab.exec("pidonly", &["hostname", "netlab-probe"]);
    assert_ne!(r.code, 0, "sethostname worked in a pid-only node: {r:?}");
    assert_eq!(sh_ok("hostname"), before, "the host was renamed");
    let status = lab.exec("pidonly", &["grep", "CapEff", "/proc/self/status"]);
    assert!(status.stdout.contains(&profile()), "{status:?}");

    // NET_ADMIN still works inside the node's own network namespace, and its sysctls too.
    for cmd in [
        "ip link set lo mtu 9000",
        "ip addr add 10.255.0.1/32 dev lo",
        "ip route add 10.255.1.0/24 dev lo",
        "echo 1 > /proc/sys/net/ipv4/ip_forward",
    ] {
        let r = lab.exec("box", &["sh", "-c", cmd]);
        assert_eq!(r.code, 0, "`{cmd}` failed in a container-like node: {r:?}");
    }

    // The holder (pid 1 of box) runs under the profile, with the node's filter, not dumpable.
    let holder = lab.netlab(&["status", &lab.name, "--json"]);
    let v: serde_json::Value = serde_json::from_str(&holder.stdout).unwrap();
    let pid = v["nodes"].as_array().unwrap().iter().find(|n| n["name"] == "box").unwrap()["holder"]
        .as_u64()
        .expect("box has a holder");
    let st = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let field = |k: &str| {
        st.lines()
            .find_map(|l| l.strip_prefix(&format!("{k}:")))
            .map(str::trim)
            .unwrap_or_default()
            .to_string()
    };
    assert_eq!(field("CapEff"), profile(), "{st}");
    assert_eq!(field("CapBnd"), profile(), "{st}");
    assert_eq!(field("NoNewPrivs"), "1", "{st}");
    assert_eq!(field("Seccomp"), "2", "the holder has no seccomp filter:\n{st}");
    let mem = lab.exec("box", &["sh", "-c", "echo x > /proc/1/mem"]);
    assert_ne!(mem.code, 0, "/proc/1/mem opened for writing: {mem:?}");
}

#[test]
fn kill_0_and_kill_minus_1_reach_only_the_node() {
    if !root_or_skip("kill") {
        return;
    }
    let lab = TestLab::new("kill");
    let mut outside = std::process::Command::new("sleep").arg("60").spawn().unwrap();
    lab.write(
        r#"
[nodes.box]
isolate = ["pid", "mount"]
limits = { pids = 64 }
run = [
  { name = "victim", cmd = ["sleep", "infinity"] },
  { name = "killer", cmd = ["sh", "-c", "sleep 0.3; kill -9 -1; kill -9 0"] },
]
"#,
    );
    lab.up();
    let w = ended(&lab, "box", "killer");
    // The supervisor lived to tell: kill -9 0 reached only the payload's own session.
    assert_eq!(w["last_exit"], "killed by SIGKILL", "{w:#}");
    assert!(outside.try_wait().unwrap().is_none(), "kill -9 -1 in a workload killed a host process");

    // Through netlab exec, from a script: the script survives kill 0 and kill -1.
    let bin = env!("CARGO_BIN_EXE_netlab");
    // kill -1 spares its caller (and the node's pid 1): the shell lives on.
    for kill in ["kill -9 0", "sleep 30 & kill -9 -1; wait"] {
        let script = format!("{bin} exec box --lab {} -- sh -c '{kill}'; echo \"survived $?\"", lab.name);
        let out = sh(&script);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(stdout.contains("survived"), "`{kill}` in netlab exec reached its caller: {out:?}");
        if kill == "kill -9 0" {
            assert!(stdout.contains("survived 137"), "the exit status did not pass through: {out:?}");
        }
        assert!(outside.try_wait().unwrap().is_none(), "`{kill}` in netlab exec killed a host process");
    }
    let _ = outside.kill();
    let _ = outside.wait();
}

/// A node that asks only for limits (or a seccomp filter) is container-like, and so has a pid
/// namespace of its own, as Docker's containers do: its root processes cannot signal the host's.
#[test]
fn a_limits_only_node_has_its_own_pid_namespace() {
    if !root_or_skip("pidonly") {
        return;
    }
    let lab = TestLab::new("kpid");
    let mut outside = std::process::Command::new("sleep").arg("60").spawn().unwrap();
    lab.write(
        r#"
[nodes.box]
limits = { pids = 64 }
run = [{ name = "killer", cmd = ["sh", "-c", "sleep 0.3; kill -9 -1"] }]
"#,
    );
    lab.up();
    ended(&lab, "box", "killer");
    assert!(outside.try_wait().unwrap().is_none(), "kill -9 -1 in a limits-only node killed a host process");
    let ps = lab.exec("box", &["sh", "-c", "ls /proc | grep -c '^[0-9]'"]);
    let n: u32 = ps.stdout.trim().parse().unwrap_or(999);
    assert!(n < 10, "the node sees the host's processes ({n}): {ps:?}");
    let _ = outside.kill();
    let _ = outside.wait();
}

#[test]
fn a_rootfs_node_is_confined_and_has_ptys_of_its_own() {
    if !root_or_skip("rootfs_pty") {
        return;
    }
    let lab = TestLab::new("rpty");
    let root = lab.dir.join("rootfs");
    for d in ["bin", "usr/bin", "lib/x86_64-linux-gnu", "lib64", "proc", "sys", "dev", "tmp"] {
        std::fs::create_dir_all(root.join(d)).unwrap();
    }
    std::fs::copy("/bin/busybox", root.join("bin/busybox")).expect("busybox-static is installed");
    for l in ["sh", "ls", "cat", "tty", "mknod", "grep", "echo", "hostname"] {
        std::os::unix::fs::symlink("busybox", root.join("bin").join(l)).unwrap();
    }
    // util-linux `script` allocates a pty from the node's /dev/ptmx; it needs only libc.
    for f in ["usr/bin/script", "lib/x86_64-linux-gnu/libc.so.6", "lib64/ld-linux-x86-64.so.2"] {
        std::fs::copy(Path::new("/").join(f), root.join(f)).unwrap_or_else(|e| panic!("copying /{f}: {e}"));
    }
    lab.write(
        "[nodes.n1]\nrootfs = \"rootfs\"\nisolate = [\"pid\", \"mount\", \"uts\", \"ipc\"]\nseccomp = \"default\"\n",
    );
    lab.up();
    let tty = lab.exec("n1", &["sh", "-c", "SHELL=/bin/sh /usr/bin/script -qc tty /dev/null"]);
    assert_eq!(tty.code, 0, "{tty:?}");
    assert!(tty.stdout.trim().starts_with("/dev/pts/"), "no pty in the rootfs node: {tty:?}");
    let dev = lab.exec("n1", &["ls", "/dev"]);
    let mut entries: Vec<&str> = dev.stdout.split_whitespace().collect();
    entries.sort();
    assert_eq!(
        entries,
        [
            "fd", "full", "null", "ptmx", "pts", "random", "shm", "stderr", "stdin", "stdout", "tty",
            "urandom", "zero"
        ],
        "{dev:?}"
    );
    let caps = lab.exec("n1", &["grep", "CapEff", "/proc/self/status"]);
    assert!(caps.stdout.contains(&profile()), "{caps:?}");
    for (what, cmd) in [
        ("writing vm.swappiness", "cat /proc/sys/vm/swappiness > /proc/sys/vm/swappiness"),
        ("writing kernel.core_pattern", "cat /proc/sys/kernel/core_pattern > /proc/sys/kernel/core_pattern"),
        ("mknod of /dev/kmsg", "mknod /tmp/kmsg c 1 11 && cat /tmp/kmsg"),
        ("writing /sys", "echo 1 > /sys/kernel/profiling"),
        ("leaving the cgroup", "echo $$ > /sys/fs/cgroup/pids/cgroup.procs"),
        ("renaming the node's host", "hostname other"),
    ] {
        let r = lab.exec("n1", &["sh", "-c", cmd]);
        assert_ne!(r.code, 0, "{what} worked in a rootfs node: {r:?}");
    }
    let r = lab.exec(
        "n1",
        &["sh", "-c", "echo 1 > /proc/sys/net/ipv4/ip_forward && cat /proc/sys/net/ipv4/ip_forward"],
    );
    assert_eq!(r.stdout.trim(), "1", "/proc/sys/net is not writable: {r:?}");
}

#[test]
fn down_kills_a_setsid_child_left_in_a_lab_namespace() {
    if !root_or_skip("down_setsid") {
        return;
    }
    let lab = TestLab::new("stray");
    lab.write("[nodes.n]\nlimits = { pids = 16 }\n");
    lab.up();
    // Outside every cgroup of the lab, in its own session: only its namespace gives it away.
    let mut stray = std::process::Command::new("ip")
        .args(["netns", "exec", &lab.ns("n"), "setsid", "sleep", "300"])
        .spawn()
        .unwrap();
    wait_for("the stray sleep to enter the namespace", || {
        let ns = std::fs::read_link(format!("/proc/{}/ns/net", stray.id())).ok()?;
        let lab_ns = std::fs::metadata(format!("/run/netns/{}", lab.ns("n"))).ok()?;
        use std::os::unix::fs::MetadataExt;
        let me = std::fs::metadata(format!("/proc/{}/ns/net", stray.id())).ok()?;
        (me.ino() == lab_ns.ino() && !ns.as_os_str().is_empty()).then_some(())
    });
    lab.down();
    let status = wait_for("the stray process to be killed", || stray.try_wait().unwrap());
    assert!(!status.success(), "{status:?}");
    lab.assert_gone();
}

#[test]
fn caps_add_and_drop_change_the_set_of_a_node_and_a_workload() {
    if !root_or_skip("caps") {
        return;
    }
    let lab = TestLab::new("caps");
    lab.write(
        r#"
[nodes.n]
limits = { pids = 32 }
caps = { add = ["SYS_PTRACE"], drop = ["NET_RAW"] }
run = [{ name = "bare", cmd = ["grep", "Cap", "/proc/self/status"], caps = { drop = ["ALL"] } }]
"#,
    );
    lab.up();
    let want = u64::from_str_radix(&profile(), 16).unwrap() & !(1 << 13) | 1 << 19;
    let r = lab.exec("n", &["grep", "CapEff", "/proc/self/status"]);
    assert!(r.stdout.contains(&format!("{want:016x}")), "{r:?}");
    ended(&lab, "n", "bare");
    let log = logs(&lab, "n/bare");
    for set in ["CapEff", "CapPrm", "CapInh", "CapBnd", "CapAmb"] {
        assert!(log.contains(&format!("{set}:\t0000000000000000")), "{set} is not empty:\n{log}");
    }
}

/// What its starter had open does not reach a confined process: `netlab up` run with a
/// directory of the host's on fd 7 hands it neither to a workload nor, through `netlab exec`,
/// to a command.
#[test]
fn descriptors_of_whoever_runs_netlab_do_not_reach_the_node() {
    if !root_or_skip("fds") {
        return;
    }
    let lab = TestLab::new("fds");
    lab.write(
        r#"
[nodes.box]
isolate = ["pid", "mount"]
run = [{ name = "w", cmd = ["sh", "-c", "ls /proc/self/fd | tr '\n' ' '; echo; sleep 300"] }]
"#,
    );
    let bin = env!("CARGO_BIN_EXE_netlab");
    let up = sh(&format!("exec 7</; {bin} up {}", lab.file.display()));
    assert!(up.status.success(), "{up:?}");
    let log = wait_for("the workload's output", || {
        let l = logs(&lab, "box/w");
        (!l.trim().is_empty()).then_some(l)
    });
    // 0-2, and the directory `ls` itself opened.
    assert!(!log.split_whitespace().any(|fd| fd == "7"), "the workload got fd 7: {log}");
    let exec = sh(&format!("exec 7</; {bin} exec box --lab {} -- sh -c 'ls /proc/self/fd'", lab.name));
    let fds = String::from_utf8_lossy(&exec.stdout).to_string();
    assert!(
        exec.status.success() && !fds.split_whitespace().any(|fd| fd == "7"),
        "netlab exec passed fd 7: {exec:?}"
    );
}

/// pid 1 of a node is netlab's: a process inside cannot stop it (and with it the node), and
/// a node whose holder is gone is refused by `netlab exec` rather than run on the host.
#[test]
fn the_holder_takes_stop_signals_only_from_outside_and_exec_refuses_a_node_without_it() {
    if !root_or_skip("holder") {
        return;
    }
    let lab = TestLab::new("hold");
    lab.write("[nodes.box]\nisolate = [\"pid\", \"mount\"]\nhostname = \"box\"\n");
    lab.up();
    for sig in ["TERM", "INT", "HUP"] {
        let r = lab.exec("box", &["sh", "-c", &format!("kill -{sig} 1")]);
        assert_eq!(r.code, 0, "{r:?}");
    }
    std::thread::sleep(Duration::from_millis(200));
    let r = lab.exec("box", &["hostname"]);
    assert_eq!(r.stdout.trim(), "box", "the node lost its holder to a signal from inside: {r:?}");
    // Killed from outside (as only root on the host can): exec refuses instead of falling back.
    let pid = std::fs::read_to_string(format!("/run/netlab/{}/nodes/box.pid", lab.name)).unwrap();
    sh_ok(&format!("kill -9 {}", pid.trim()));
    std::thread::sleep(Duration::from_millis(200));
    let r = lab.exec("box", &["hostname"]);
    assert_ne!(r.code, 0, "exec ran in a node without its namespaces: {r:?}");
    assert!(r.stderr.contains("lost its namespaces"), "{r:?}");
    // `up` makes it whole again.
    lab.up();
    assert_eq!(lab.exec("box", &["hostname"]).stdout.trim(), "box");
}

/// The default filter refuses typing into a terminal (`TIOCSTI`), which a program sharing the
/// terminal of a `netlab exec` could use to type into the shell outside; and a node that asks
/// only for limits gets the default filter too.
#[test]
fn tty_injection_is_refused_and_a_limits_only_node_is_filtered() {
    if !root_or_skip("tiocsti") {
        return;
    }
    let lab = TestLab::new("sti");
    lab.write("[nodes.box]\nlimits = { pids = 64 }\n");
    lab.up();
    let probe = r#"
import fcntl, os, termios, errno
m, s = os.openpty()
try:
    fcntl.ioctl(s, termios.TIOCSTI, b"x")
    print("TIOCSTI went through")
except OSError as e:
    print("TIOCSTI", errno.errorcode[e.errno])
print([l.strip() for l in open("/proc/self/status") if l.startswith("Seccomp:")][0])
"#;
    let r = lab.exec("box", &["python3", "-c", probe]);
    assert!(r.stdout.contains("TIOCSTI EPERM"), "{r:?}");
    assert!(r.stdout.contains("Seccomp:\t2"), "a limits-only node runs without a filter: {r:?}");
}
