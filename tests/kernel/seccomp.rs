//! Kernel tests of seccomp: the default allowlist, each action of a table and a JSON profile,
//! enforced on real processes — workloads and `netlab exec` — by a probe that makes raw
//! syscalls through Python's ctypes and prints what each returned. x86_64 only (the probe
//! knows x86_64's syscall numbers); root only; each test has a lab of its own.

use crate::support::*;
use std::time::{Duration, Instant};

/// A syscall prober: `probe.py NAME...` prints `NAME=ERRNO` per call (0: it succeeded), after
/// installing a SIGSYS handler that prints `NAME=trapped`; with `calls` it just runs them.
const PROBE: &str = r#"
import ctypes, signal, sys
NR = {"getpid": 39, "unshare": 272, "mount": 165, "fanotify_init": 300, "io_uring_setup": 425,
      "clone3": 435, "clone": 56, "fsopen": 430, "open_tree": 428, "move_mount": 429,
      "open_tree_attr": 467, "file_getattr": 468, "bpf": 321, "perf_event_open": 298,
      "kexec_load": 246, "init_module": 175, "ptrace": 101, "setns": 308,
      "getpriority": 140, "getitimer": 36, "sched_getparam": 143, "times": 100, "getcpu": 309,
      "sethostname": 170, "socket": 41}
# Arguments that make each call harmless or fail for a reason other than the filter.
ARGS = {"unshare": [0x10000000], "clone": [0x10000000 | 17, 0, 0, 0, 0], "mount": [0, 0, 0, 0, 0],
        "fanotify_init": [0, 0], "io_uring_setup": [1, 0], "clone3": [0, 0], "fsopen": [0, 0],
        "open_tree": [-100, 0, 0], "move_mount": [-1, 0, -1, 0, 0], "bpf": [0, 0, 0],
        "perf_event_open": [0, 0, -1, -1, 0], "kexec_load": [0, 0, 0, 0], "init_module": [0, 0, 0],
        "ptrace": [16, 1, 0, 0], "setns": [-1, 0x40000000], "getpriority": [0, 0],
        "getitimer": [0, 0], "sched_getparam": [0, 0], "times": [0], "getcpu": [0, 0, 0],
        "sethostname": [0, 0], "socket:vsock": [40, 1, 0], "socket:inet": [2, 2, 0],
        "socket:unix": [1, 1, 0], "open_tree_attr": [-100, 0, 0, 0, 0], "file_getattr": [-100, 0, 0, 0, 0]}
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
current = None
def on_sigsys(sig, frame):
    print(f"{current}=trapped", flush=True)
signal.signal(signal.SIGSYS, on_sigsys)
for name in sys.argv[1:]:
    current = name
    nr = NR[name.split(":")[0]]
    ctypes.set_errno(0)
    r = libc.syscall(ctypes.c_long(nr), *[ctypes.c_long(a) for a in ARGS.get(name, [])])
    if r == 0 and name == "clone":
        import os; os._exit(0)  # a child, had the filter let it through
    print(f"{name}={0 if r >= 0 else ctypes.get_errno()}", flush=True)
"#;

fn x86_64_or_skip(test: &str) -> bool {
    if std::env::consts::ARCH == "x86_64" {
        return true;
    }
    eprintln!("skipping {test}: the probe knows x86_64's syscall numbers only");
    false
}

/// `NAME=VALUE` lines of the probe's output.
fn results(out: &str) -> Vec<(String, String)> {
    out.lines().filter_map(|l| l.split_once('=')).map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

fn assert_results(what: &str, out: &str, want: &[(&str, &str)]) {
    let got = results(out);
    for (name, value) in want {
        let seen = got.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
        assert_eq!(seen, Some(*value), "{what}: {name}; output:\n{out}");
    }
}

fn logs_until(lab: &TestLab, target: &str, done: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let r = lab.netlab(&["logs", "--lab", &lab.name, target]);
        if done(&r.stdout) {
            return r.stdout;
        }
        assert!(Instant::now() < deadline, "timed out waiting for the log of {target}: {r:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// What the default profile must refuse, and how.
const REFUSED: &[(&str, &str)] = &[
    ("unshare", "1"),
    ("clone", "1"),
    ("clone3", "38"),
    ("mount", "1"),
    ("fanotify_init", "1"),
    ("io_uring_setup", "1"),
    ("fsopen", "1"),
    ("open_tree", "1"),
    ("move_mount", "1"),
    ("open_tree_attr", "1"),
    ("file_getattr", "1"),
    ("bpf", "1"),
    ("perf_event_open", "1"),
    ("kexec_load", "1"),
    ("init_module", "1"),
    ("ptrace", "1"),
    ("setns", "1"),
    ("sethostname", "1"),
    ("socket:vsock", "1"),
    ("getpid", "0"),
    ("socket:inet", "0"),
];

#[test]
fn default_profile() {
    if !root_or_skip("default_profile") || !x86_64_or_skip("default_profile") {
        return;
    }
    let lab = TestLab::new("scdef");
    let probe = lab.dir.join("probe.py");
    std::fs::write(&probe, PROBE).unwrap();
    let probe = probe.to_str().unwrap();
    let names: Vec<&str> = REFUSED.iter().map(|(n, _)| *n).collect();
    let cmd: Vec<String> =
        ["python3", probe].iter().map(|s| s.to_string()).chain(names.iter().map(|s| s.to_string())).collect();
    lab.write(&format!(
        r#"
[nodes.a]
seccomp = "default"
run = [{{ name = "probe", cmd = {cmd:?}, restart = "no" }}]

[nodes.b]
seccomp = "default"

[[links]]
endpoints = ["a:eth0", "b:eth0"]
addresses = ["10.77.0.1/24", "10.77.0.2/24"]
"#
    ));
    lab.up();
    let last = names.last().unwrap().to_string();
    let log = logs_until(&lab, "a/probe", |l| l.contains(&format!("{last}=")));
    assert_results("workload", &log, REFUSED);

    let mut args = vec!["python3", probe];
    args.extend(&names);
    let r = lab.exec("a", &args);
    assert_eq!(r.code, 0, "{r:?}");
    assert_results("netlab exec", &r.stdout, REFUSED);

    // What a node's programs do still works under it.
    let sh = lab.exec("a", &["sh", "-c", "echo ok"]);
    assert_eq!((sh.code, sh.stdout.as_str()), (0, "ok\n"), "{sh:?}");
    let py = lab.exec("a", &["python3", "-c", "import threading, subprocess; t = threading.Thread(target=print, args=('thread',)); t.start(); t.join(); subprocess.run(['true'], check=True); print('py ok')"]);
    assert_eq!(py.code, 0, "{py:?}");
    assert_eq!(py.stdout, "thread\npy ok\n", "{py:?}");
    assert!(lab.ping("a", "10.77.0.2"), "a cannot ping b under the default profile");
    assert!(lab.ping("b", "10.77.0.1"), "b cannot ping a under the default profile");
}

#[test]
fn table_actions() {
    if !root_or_skip("table_actions") || !x86_64_or_skip("table_actions") {
        return;
    }
    let lab = TestLab::new("scact");
    let probe = lab.dir.join("probe.py");
    std::fs::write(&probe, PROBE).unwrap();
    lab.write(
        r#"
[nodes.n]
seccomp = { default = "allow", deny = [
  { name = "getpriority", action = "errno", errno = 122 },
  { name = "sched_getparam", action = "trap" },
  { name = "getitimer", action = "kill" },
  { name = "times", action = "log" },
  "getcpu",
] }
"#,
    );
    lab.up();
    let p = probe.to_str().unwrap();
    let r = lab.exec("n", &["python3", p, "getpriority", "getcpu", "times", "sched_getparam", "getpid"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_results(
        "table",
        &r.stdout,
        &[
            ("getpriority", "122"),
            ("getcpu", "1"),
            ("times", "0"),
            ("sched_getparam", "trapped"),
            ("getpid", "0"),
        ],
    );
    // kill: the process dies of SIGSYS, uncatchable, before it prints anything of that call.
    let script = format!("python3 {p} getpid getitimer getpid; echo rc=$?");
    let r = lab.exec("n", &["sh", "-c", &script]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.starts_with("getpid=0\n"), "{r:?}");
    assert!(!r.stdout.contains("getitimer="), "{r:?}");
    assert!(r.stdout.contains(&format!("rc={}", 128 + 31)), "not killed by SIGSYS: {r:?}");
}

#[test]
fn json_profile() {
    if !root_or_skip("json_profile") || !x86_64_or_skip("json_profile") {
        return;
    }
    let lab = TestLab::new("scjsn");
    let probe = lab.dir.join("probe.py");
    std::fs::write(&probe, PROBE).unwrap();
    std::fs::copy(
        concat!(env!("CARGO_MANIFEST_DIR"), "/examples/seccomp-web.json"),
        lab.dir.join("web.json"),
    )
    .unwrap();
    lab.write(
        r#"
[nodes.web]
seccomp = "web.json"
run = [{ name = "http", cmd = ["python3", "-m", "http.server", "8080", "--bind", "10.78.0.1"], cwd = "/" }]

[nodes.client]

[[links]]
endpoints = ["web:eth0", "client:eth0"]
addresses = ["10.78.0.1/24", "10.78.0.2/24"]
"#,
    );
    lab.up();
    let fetch = "import urllib.request, time\nfor i in range(50):\n    try:\n        print(urllib.request.urlopen('http://10.78.0.1:8080/', timeout=2).status); break\n    except OSError: time.sleep(0.1)\n";
    let r = lab.exec("client", &["python3", "-c", fetch]);
    assert_eq!((r.code, r.stdout.trim()), (0, "200"), "the web server under the JSON profile: {r:?}");

    let p = probe.to_str().unwrap();
    let r = lab.exec("web", &["python3", p, "socket:inet", "socket:unix", "clone3", "getpriority"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_results(
        "json",
        &r.stdout,
        &[("socket:inet", "0"), ("socket:unix", "1"), ("clone3", "38"), ("getpriority", "1")],
    );
    let script = format!("python3 {p} mount; echo rc=$?");
    let r = lab.exec("web", &["sh", "-c", &script]);
    assert!(
        r.stdout.contains(&format!("rc={}", 128 + 31)),
        "mount did not kill under SCMP_ACT_KILL_PROCESS: {r:?}"
    );
}

#[test]
fn a_filter_refusing_execve_is_refused_by_up() {
    if !root_or_skip("a_filter_refusing_execve_is_refused_by_up") {
        return;
    }
    let lab = TestLab::new("scexe");
    lab.write("[nodes.n]\nrun = [{ name = \"w\", cmd = [\"true\"], seccomp = { default = \"allow\", deny = [\"execve\"] } }]\n");
    let r = lab.netlab(&["up", lab.file.to_str().unwrap()]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stderr.contains("refuses execve"), "{r:?}");
    assert!(lab.namespaces().is_empty(), "up changed the machine: {:?}", lab.namespaces());
}
