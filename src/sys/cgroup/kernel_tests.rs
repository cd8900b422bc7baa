//! Root tests against this machine's real cgroupfs (v1, hybrid or v2, whichever it has). Each
//! works in its own group `netlab/ttest-PID-NAME`; a guard kills and removes it even when an
//! assertion fails. Without root they skip, saying so.

use std::fs;
use std::io::{Read, Write};
use std::os::unix::process::ExitStatusExt;
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use super::*;

/// One kernel test at a time: they share the `netlab` parent, which the last one out removes.
static SERIAL: Mutex<()> = Mutex::new(());

/// The test's group under `netlab/`, torn down on drop.
struct Sandbox {
    cg: Layout,
    lab: String,
    /// The `netlab` directories this test created, removed again when empty.
    made_parents: Vec<PathBuf>,
    children: Vec<Child>,
    _serial: MutexGuard<'static, ()>,
}

impl Sandbox {
    fn new(name: &str) -> Option<Sandbox> {
        Sandbox::with_layout(name, None)
    }

    /// As `new`, in `layout` rather than the detected one.
    fn with_layout(name: &str, layout: Option<Layout>) -> Option<Sandbox> {
        if !nix::unistd::geteuid().is_root() {
            eprintln!("skipping {name}: needs root to create cgroups");
            return None;
        }
        let serial = SERIAL.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let cg = layout.unwrap_or_else(|| detect().expect("detecting the cgroup layout"));
        let made_parents = cg.group_dirs("netlab").unwrap().into_iter().filter(|d| !d.exists()).collect();
        let lab = format!("netlab/ttest-{}-{name}", std::process::id());
        Some(Sandbox { cg, lab, made_parents, children: Vec::new(), _serial: serial })
    }

    fn group(&self, node: &str) -> String {
        format!("{}/{node}", self.lab)
    }

    /// Starts `sh -c SCRIPT` in `group`. The shell waits for a line on stdin before running
    /// SCRIPT, so everything it forks is born inside the group. Returns its pid.
    fn spawn_joined(&mut self, group: &str, script: &str) -> u32 {
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(format!("read go; {script}"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawning sh");
        let pid = child.id();
        let mut stdin = child.stdin.take().expect("piped stdin");
        self.children.push(child);
        self.cg.join(group, pid).unwrap();
        stdin.write_all(b"go\n").unwrap();
        pid
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        if let Err(e) = self.cg.kill_all(&self.lab) {
            eprintln!("cleanup: {e}");
        }
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
        if let Err(e) = self.cg.remove(&self.lab) {
            eprintln!("cleanup: {e}");
        }
        for dir in &self.made_parents {
            let _ = fs::remove_dir(dir);
        }
    }
}

/// [memory, "QUOTA PERIOD", pids] as the kernel reports them, "no limit" spelled `max` on v1
/// too.
fn limit_values(cg: &Layout, rel: &str) -> [String; 3] {
    let read = |p: PathBuf| {
        fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display())).trim().to_string()
    };
    match cg {
        Layout::V1 { root } => {
            let memory = read(root.join("memory").join(rel).join("memory.limit_in_bytes"));
            // v1 reports "no limit" as the largest page-aligned value.
            let memory = if memory.parse::<u64>().unwrap() >= 1 << 62 { "max".to_string() } else { memory };
            let quota = read(root.join("cpu").join(rel).join("cpu.cfs_quota_us"));
            let quota = if quota == "-1" { "max".to_string() } else { quota };
            let period = read(root.join("cpu").join(rel).join("cpu.cfs_period_us"));
            [memory, format!("{quota} {period}"), read(root.join("pids").join(rel).join("pids.max"))]
        }
        Layout::V2 { root } => {
            let dir = root.join(rel);
            [read(dir.join("memory.max")), read(dir.join("cpu.max")), read(dir.join("pids.max"))]
        }
    }
}

/// Polls `done` every 10 ms until it holds or `limit` passes.
fn wait_until(limit: Duration, mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    while !done() {
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    true
}

/// Running or stopped, not gone and not a zombie waiting for its reaper.
fn alive(pid: u32) -> bool {
    match fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state follows the parenthesised command name.
        Ok(stat) => stat.rsplit_once(") ").is_some_and(|(_, rest)| !rest.starts_with(['Z', 'X'])),
        Err(_) => false,
    }
}

#[test]
fn kernel_limits_join_kill_remove() {
    let Some(mut sb) = Sandbox::new("kill") else {
        return;
    };
    let n1 = sb.group("n1");
    let limits = Limits { memory: Some(64 << 20), cpu: Some(0.5), pids: Some(16) };
    sb.cg.create(&n1, &limits).unwrap();
    assert_eq!(limit_values(&sb.cg, &n1), ["67108864", "50000 100000", "16"]);

    // Created again without limits: all lifted. And back.
    sb.cg.create(&n1, &Limits::default()).unwrap();
    assert_eq!(limit_values(&sb.cg, &n1), ["max", "max 100000", "max"]);
    sb.cg.create(&n1, &limits).unwrap();
    assert_eq!(limit_values(&sb.cg, &n1), ["67108864", "50000 100000", "16"]);

    let sleep = Command::new("sleep").arg("30").spawn().expect("spawning sleep");
    let sleep_pid = sleep.id();
    sb.children.push(sleep);
    sb.cg.join(&n1, sleep_pid).unwrap();
    assert!(sb.cg.procs(&n1).unwrap().contains(&sleep_pid));

    // A shell with two children of its own, in a nested group (on v2 a group with processes
    // cannot also have children with controllers, hence n2/web rather than n1/web).
    let web = sb.group("n2/web");
    sb.cg.create(&web, &Limits::default()).unwrap();
    let sh_pid = sb.spawn_joined(&web, "sleep 30 & sleep 30 & wait");
    assert!(wait_until(Duration::from_secs(2), || sb.cg.procs(&web).unwrap().len() == 3), "sh did not fork");
    let all = sb.cg.procs(&sb.lab).unwrap();
    assert_eq!(all.len(), 4, "{all:?}");
    assert!(all.contains(&sleep_pid) && all.contains(&sh_pid), "{all:?}");
    let grandchildren: Vec<u32> = all.iter().copied().filter(|&p| p != sleep_pid && p != sh_pid).collect();

    let started = Instant::now();
    sb.cg.kill_all(&sb.lab).unwrap();
    assert!(started.elapsed() < Duration::from_secs(2), "kill_all took {:?}", started.elapsed());
    assert_eq!(sb.cg.procs(&sb.lab).unwrap(), Vec::<u32>::new());
    for child in &mut sb.children {
        assert_eq!(child.wait().unwrap().signal(), Some(9), "pid {}", child.id());
    }
    for pid in grandchildren {
        assert!(wait_until(Duration::from_secs(2), || !alive(pid)), "grandchild {pid} survived");
    }

    let usage = sb.cg.usage(&n1).unwrap();
    assert_eq!(usage.pids, Some(0));
    assert!(usage.memory_bytes.is_some(), "{usage:?}");
    assert_eq!(usage.oom_kills, Some(0), "{usage:?}");

    sb.cg.remove(&sb.lab).unwrap();
    for dir in sb.cg.group_dirs(&sb.lab).unwrap() {
        assert!(!dir.exists(), "{} is still there", dir.display());
    }
    sb.cg.remove(&sb.lab).unwrap();
}

#[test]
fn kernel_pids_limit_holds() {
    let Some(mut sb) = Sandbox::new("pids") else {
        return;
    };
    let n1 = sb.group("n1");
    sb.cg.create(&n1, &Limits { pids: Some(5), ..Limits::default() }).unwrap();
    // No `wait` at the end: the shell must exit by itself, whatever fork does.
    let script = "n=0; for i in 1 2 3 4 5 6 7 8 9 10; do \
                  sleep 30 </dev/null >/dev/null 2>&1 & n=$((n+1)); echo started $n; done; echo finished";
    sb.spawn_joined(&n1, script);
    let mut sh = sb.children.pop().expect("the shell");
    let exited = wait_until(Duration::from_secs(10), || sh.try_wait().unwrap().is_some());
    let mut out = String::new();
    let mut err = String::new();
    if exited {
        sh.stdout.take().unwrap().read_to_string(&mut out).unwrap();
        sh.stderr.take().unwrap().read_to_string(&mut err).unwrap();
    }
    sb.children.push(sh);
    assert!(exited, "the shell did not exit within 10 s");
    let started = out.lines().filter(|l| l.starts_with("started")).count();
    eprintln!("pids=5: {started} of 10 sleeps started, {} failed; shell said: {}", 10 - started, err.trim());

    // The shell itself is one of the five.
    assert_eq!(started, 4, "stdout: {out}\nstderr: {err}");
    let left = sb.cg.procs(&n1).unwrap();
    assert_eq!(left.len(), 4, "{left:?}");
    assert_eq!(sb.cg.usage(&n1).unwrap().pids, Some(4));
}

#[test]
fn kernel_v2_mechanics_on_the_unified_tree() {
    // Hybrid machines also mount a cgroup2 at unified/ with no controllers for limits: the
    // groups, cgroup.procs and cgroup.kill there are real, so the v2 paths get exercised.
    let unified = Path::new("/sys/fs/cgroup/unified");
    let Ok(cg @ Layout::V2 { .. }) = detect_at(unified) else {
        eprintln!("skipping: no cgroup2 at {} (pure v1 or pure v2 machine)", unified.display());
        return;
    };
    let Some(mut sb) = Sandbox::with_layout("v2", Some(cg)) else {
        return;
    };
    let web = sb.group("n1/web");
    sb.cg.create(&web, &Limits::default()).unwrap();
    let offered = fs::read_to_string(unified.join("cgroup.controllers")).unwrap();
    if !offered.split_whitespace().any(|c| c == "memory") {
        let err = sb.cg.create(&web, &Limits { memory: Some(64 << 20), ..Limits::default() }).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::Unsupported, "{err}");
    }

    let sh_pid = sb.spawn_joined(&web, "sleep 30 & sleep 30 & wait");
    assert!(
        wait_until(Duration::from_secs(2), || sb.cg.procs(&sb.lab).unwrap().len() == 3),
        "sh did not fork"
    );
    let all = sb.cg.procs(&sb.lab).unwrap();
    assert!(all.contains(&sh_pid), "{all:?}");

    let started = Instant::now();
    sb.cg.kill_all(&sb.lab).unwrap();
    assert!(started.elapsed() < Duration::from_secs(2), "kill_all took {:?}", started.elapsed());
    assert_eq!(sb.cg.procs(&sb.lab).unwrap(), Vec::<u32>::new());
    for pid in all {
        assert!(wait_until(Duration::from_secs(2), || !alive(pid)), "pid {pid} survived");
    }

    sb.cg.remove(&sb.lab).unwrap();
    assert!(!unified.join(&sb.lab).exists());
}
