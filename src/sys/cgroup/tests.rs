//! Tests without root: the v1/v2 file logic against a temporary directory laid out like
//! cgroupfs (plain files stand in for the control files).

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use super::*;

/// A scratch directory removed on drop, unique per test even when tests run in parallel.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("netlab-cgtest-{}-{n}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// A fake cgroup2 root offering `controllers`, with nothing enabled yet.
fn fake_v2(name: &str, controllers: &str) -> (TempDir, Layout) {
    let tmp = TempDir::new(name);
    fs::write(tmp.0.join("cgroup.controllers"), controllers).unwrap();
    fs::write(tmp.0.join("cgroup.subtree_control"), "").unwrap();
    let layout = Layout::V2 { root: tmp.0.clone() };
    (tmp, layout)
}

fn read(path: impl AsRef<Path>) -> String {
    let path = path.as_ref();
    fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

const LIMITS: Limits = Limits { memory: Some(256 << 20), cpu: Some(0.5), pids: Some(64) };

#[test]
fn v2_create_enables_controllers_on_every_ancestor() {
    let (tmp, cg) = fake_v2("v2create", "cpuset cpu io memory pids\n");
    cg.create("netlab/lab/node", &LIMITS).unwrap();
    let root = &tmp.0;
    for dir in [root.clone(), root.join("netlab"), root.join("netlab/lab")] {
        assert_eq!(read(dir.join("cgroup.subtree_control")), "+memory +cpu +pids", "{}", dir.display());
    }
    let node = root.join("netlab/lab/node");
    assert!(!node.join("cgroup.subtree_control").exists(), "the leaf keeps its controllers");
    assert_eq!(read(node.join("memory.max")), "268435456");
    assert_eq!(read(node.join("cpu.max")), "50000 100000");
    assert_eq!(read(node.join("pids.max")), "64");
}

#[test]
fn v2_create_again_lifts_removed_limits_and_is_idempotent() {
    let (tmp, cg) = fake_v2("v2again", "cpu memory pids");
    cg.create("netlab/lab/node", &LIMITS).unwrap();
    cg.create("netlab/lab/node", &Limits { cpu: Some(2.0), ..Limits::default() }).unwrap();
    let node = tmp.0.join("netlab/lab/node");
    assert_eq!(read(node.join("memory.max")), "max");
    assert_eq!(read(node.join("cpu.max")), "200000 100000");
    assert_eq!(read(node.join("pids.max")), "max");
    assert_eq!(read(tmp.0.join("netlab/cgroup.subtree_control")), "+memory +cpu +pids");
}

#[test]
fn v2_create_leaves_an_enabled_root_alone() {
    let (tmp, cg) = fake_v2("v2rootok", "cpu io memory pids");
    fs::write(tmp.0.join("cgroup.subtree_control"), "cpu io memory pids\n").unwrap();
    cg.create("netlab/lab/node", &LIMITS).unwrap();
    assert_eq!(read(tmp.0.join("cgroup.subtree_control")), "cpu io memory pids\n");
}

#[test]
fn v2_create_uses_the_controllers_offered() {
    let (tmp, cg) = fake_v2("v2subset", "cpu io memory");
    cg.create("netlab/lab/node", &Limits { pids: None, ..LIMITS }).unwrap();
    assert_eq!(read(tmp.0.join("netlab/lab/cgroup.subtree_control")), "+memory +cpu");
    assert!(!tmp.0.join("netlab/lab/node/pids.max").exists());

    let err = cg.create("netlab/lab/node", &LIMITS).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::Unsupported);
    assert!(err.to_string().contains("pids controller is not available"), "{err}");
}

#[test]
fn v2_create_without_root_controllers_says_so() {
    let tmp = TempDir::new("v2noroot");
    let err = Layout::V2 { root: tmp.0.clone() }.create("netlab/x", &LIMITS).unwrap_err();
    assert!(err.to_string().contains("not a cgroup v2 root"), "{err}");
}

#[test]
fn group_paths_must_stay_below_the_root() {
    let (_tmp, cg) = fake_v2("badrel", "memory");
    for bad in ["", "/etc", "netlab/../..", "../x", "."] {
        let err = cg.create(bad, &Limits::default()).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{bad:?}");
        assert!(cg.procs(bad).is_err() && cg.remove(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn join_writes_the_pid_to_cgroup_procs() {
    let (tmp, cg) = fake_v2("join", "cpu memory pids");
    cg.create("netlab/lab/node", &Limits::default()).unwrap();
    cg.join("netlab/lab/node", 4242).unwrap();
    assert_eq!(read(tmp.0.join("netlab/lab/node/cgroup.procs")), "4242");
    let err = cg.join("netlab/lab/missing", 4242).unwrap_err();
    assert!(err.to_string().contains("moving pid 4242 into"), "{err}");
}

#[test]
fn procs_reads_the_whole_subtree_sorted() {
    let (tmp, cg) = fake_v2("procs", "cpu memory pids");
    cg.create("netlab/lab/node/web", &Limits::default()).unwrap();
    fs::write(tmp.0.join("netlab/lab/cgroup.procs"), "").unwrap();
    fs::write(tmp.0.join("netlab/lab/node/cgroup.procs"), "12\n7\n").unwrap();
    fs::write(tmp.0.join("netlab/lab/node/web/cgroup.procs"), "7\n99\n").unwrap();
    assert_eq!(cg.procs("netlab/lab").unwrap(), [7, 12, 99]);
    assert_eq!(cg.procs("netlab/lab/node/web").unwrap(), [7, 99]);
    assert_eq!(cg.procs("netlab/nope").unwrap(), Vec::<u32>::new());
}

#[test]
fn usage_reads_v2_counters() {
    let (tmp, cg) = fake_v2("usage2", "cpu memory pids");
    cg.create("netlab/lab/node", &Limits::default()).unwrap();
    let node = tmp.0.join("netlab/lab/node");
    fs::write(node.join("memory.current"), "1234\n").unwrap();
    fs::write(node.join("pids.current"), "3\n").unwrap();
    fs::write(node.join("memory.events"), "low 0\nhigh 0\nmax 2\noom 1\noom_kill 1\n").unwrap();
    let usage = cg.usage("netlab/lab/node").unwrap();
    assert_eq!(usage, Usage { memory_bytes: Some(1234), pids: Some(3), oom_kills: Some(1) });

    fs::remove_file(node.join("memory.events")).unwrap();
    assert_eq!(cg.usage("netlab/lab/node").unwrap().oom_kills, None);
    let err = cg.usage("netlab/lab/gone").unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::NotFound);
}

#[test]
fn kill_all_of_an_empty_or_missing_group_returns_at_once() {
    let (_tmp, cg) = fake_v2("killempty", "cpu memory pids");
    cg.create("netlab/lab/node", &Limits::default()).unwrap();
    cg.kill_all("netlab/lab/node").unwrap();
    cg.kill_all("netlab/lab/missing").unwrap();
}

#[test]
fn kill_all_refuses_when_we_are_inside() {
    let (tmp, cg) = fake_v2("killself", "cpu memory pids");
    cg.create("netlab/lab/node", &Limits::default()).unwrap();
    fs::write(tmp.0.join("netlab/lab/node/cgroup.procs"), format!("{}\n", std::process::id())).unwrap();
    let err = cg.kill_all("netlab/lab").unwrap_err();
    assert!(err.to_string().contains("netlab itself"), "{err}");
}

#[test]
fn remove_goes_depth_first_and_ignores_what_is_gone() {
    // Empty directories only: on cgroupfs the control files vanish with the group, here rmdir
    // would refuse them.
    let tmp = TempDir::new("remove");
    for dir in ["netlab/lab/a/web", "netlab/lab/a/db", "netlab/lab/b"] {
        fs::create_dir_all(tmp.0.join(dir)).unwrap();
    }
    let cg = Layout::V2 { root: tmp.0.clone() };
    cg.remove("netlab/lab").unwrap();
    assert!(!tmp.0.join("netlab/lab").exists());
    assert!(tmp.0.join("netlab").exists(), "only the named group goes");
    cg.remove("netlab/lab").unwrap();

    let v1 = Layout::V1 { root: tmp.0.clone() };
    for h in ["memory", "cpu", "pids"] {
        fs::create_dir_all(tmp.0.join(h).join("netlab/lab/n1")).unwrap();
    }
    v1.remove("netlab/lab").unwrap();
    for h in ["memory", "cpu", "pids"] {
        assert!(!tmp.0.join(h).join("netlab/lab").exists(), "{h}");
    }
}

#[test]
fn remove_names_the_group_it_could_not_remove() {
    let tmp = TempDir::new("removefail");
    fs::create_dir_all(tmp.0.join("netlab/lab")).unwrap();
    fs::write(tmp.0.join("netlab/lab/stray"), "").unwrap();
    let err = Layout::V2 { root: tmp.0.clone() }.remove("netlab/lab").unwrap_err();
    assert!(err.to_string().contains("removing cgroup") && err.to_string().contains("netlab/lab"), "{err}");
}

#[test]
fn v1_create_writes_each_hierarchy() {
    let tmp = TempDir::new("v1create");
    let cg = Layout::V1 { root: tmp.0.clone() };
    cg.create("netlab/lab/n1", &Limits { memory: Some(64 << 20), cpu: Some(0.5), pids: Some(16) }).unwrap();
    let file = |h: &str, f: &str| read(tmp.0.join(h).join("netlab/lab/n1").join(f));
    assert_eq!(file("memory", "memory.limit_in_bytes"), "67108864");
    assert_eq!(file("cpu", "cpu.cfs_period_us"), "100000");
    assert_eq!(file("cpu", "cpu.cfs_quota_us"), "50000");
    assert_eq!(file("pids", "pids.max"), "16");

    cg.create("netlab/lab/n1", &Limits::default()).unwrap();
    assert_eq!(file("memory", "memory.limit_in_bytes"), "-1");
    assert_eq!(file("cpu", "cpu.cfs_quota_us"), "-1");
    assert_eq!(file("pids", "pids.max"), "max");

    fs::write(tmp.0.join("pids/netlab/lab/n1/cgroup.procs"), "5\n").unwrap();
    fs::write(tmp.0.join("memory/netlab/lab/n1/cgroup.procs"), "5\n6\n").unwrap();
    assert_eq!(cg.procs("netlab/lab").unwrap(), [5, 6], "union over hierarchies");

    fs::write(tmp.0.join("memory/netlab/lab/n1/memory.usage_in_bytes"), "8192\n").unwrap();
    fs::write(
        tmp.0.join("memory/netlab/lab/n1/memory.oom_control"),
        "oom_kill_disable 0\nunder_oom 0\noom_kill 4\n",
    )
    .unwrap();
    fs::write(tmp.0.join("pids/netlab/lab/n1/pids.current"), "2\n").unwrap();
    let usage = cg.usage("netlab/lab/n1").unwrap();
    assert_eq!(usage, Usage { memory_bytes: Some(8192), pids: Some(2), oom_kills: Some(4) });
}

#[test]
fn detect_on_a_plain_directory_names_what_is_missing() {
    let tmp = TempDir::new("detect");
    let err = detect_at(&tmp.0).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("not a cgroup2 mount"), "{msg}");
    for h in ["memory", "cpu", "pids"] {
        assert!(msg.contains(&tmp.0.join(h).display().to_string()), "{msg}");
    }
}

#[test]
fn detect_on_this_machine() {
    if !Path::new(CGROUP_ROOT).exists() {
        eprintln!("skipping: no {CGROUP_ROOT}");
        return;
    }
    let layout = detect();
    eprintln!("cgroup layout here: {layout:?}");
    // Hybrid (v1 controllers next to a cgroup2 at unified/) must count as v1.
    if Path::new("/sys/fs/cgroup/memory/memory.limit_in_bytes").exists() {
        assert_eq!(layout.unwrap(), Layout::V1 { root: CGROUP_ROOT.into() });
    } else if Path::new("/sys/fs/cgroup/cgroup.controllers").exists() {
        assert_eq!(layout.unwrap(), Layout::V2 { root: CGROUP_ROOT.into() });
    }
}
