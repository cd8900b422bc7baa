//! Kernel test support: a lab with names of its own (unique per test and process) that
//! tears itself down on drop, also when the test panics, and checks nothing is left; the
//! topologies several tests share; servers that are killed on drop.

mod server;
mod topo;

pub use server::*;
pub use topo::*;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Condvar, Mutex, PoisonError};

static COUNTER: AtomicU32 = AtomicU32::new(0);

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_netlab")
}

/// Whether kernel tests can run: every kernel test starts with it. CI is root and must run
/// them all, so with `CI` set a missing root fails the test; elsewhere it is skipped with a
/// notice.
pub fn root_or_skip(test: &str) -> bool {
    if nix::unistd::geteuid().is_root() {
        return true;
    }
    assert!(std::env::var_os("CI").is_none(), "{test}: kernel tests must run as root in CI");
    eprintln!("skipping {test}: needs root");
    false
}

pub fn sh(cmd: &str) -> Output {
    Command::new("sh").arg("-c").arg(cmd).output().expect("sh runs")
}

/// Runs a shell command that must succeed; returns its stdout.
pub fn sh_ok(cmd: &str) -> String {
    let out = sh(cmd);
    assert!(out.status.success(), "`{cmd}` failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Who may run labs now. Every lab holds a shared turn; a test that measures (iperf3 against
/// a rate) holds the turn alone, so that no other test competes for the CPU while it measures.
/// A shared turn is granted whenever no one holds it alone (a test may hold two), so a
/// measuring test waits until the labs already up are gone.
pub enum Turn {
    Shared,
    Alone,
}

/// (labs holding a shared turn, whether one holds it alone)
static TURNS: Mutex<(u32, bool)> = Mutex::new((0, false));
static TURN_CHANGED: Condvar = Condvar::new();

impl Turn {
    pub fn shared() -> Turn {
        let mut t = TURNS.lock().unwrap_or_else(PoisonError::into_inner);
        while t.1 {
            t = TURN_CHANGED.wait(t).unwrap_or_else(PoisonError::into_inner);
        }
        t.0 += 1;
        Turn::Shared
    }

    fn alone() -> Turn {
        let mut t = TURNS.lock().unwrap_or_else(PoisonError::into_inner);
        while t.1 || t.0 > 0 {
            t = TURN_CHANGED.wait(t).unwrap_or_else(PoisonError::into_inner);
        }
        t.1 = true;
        Turn::Alone
    }
}

impl Drop for Turn {
    fn drop(&mut self) {
        let mut t = TURNS.lock().unwrap_or_else(PoisonError::into_inner);
        match self {
            Turn::Shared => t.0 -= 1,
            Turn::Alone => t.1 = false,
        }
        TURN_CHANGED.notify_all();
    }
}

/// A file of a cgroup (`rel` like `netlab/LAB/NODE`): in the pids controller's hierarchy on
/// v1, in the unified one on v2; empty when neither has it.
pub fn cgroup_file(rel: &str, file: &str) -> String {
    let v1 = Path::new("/sys/fs/cgroup/pids").join(rel).join(file);
    let v2 = Path::new("/sys/fs/cgroup").join(rel).join(file);
    std::fs::read_to_string(v1).or_else(|_| std::fs::read_to_string(v2)).unwrap_or_default()
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl std::fmt::Debug for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "exit {}\n--- stdout\n{}--- stderr\n{}", self.code, self.stdout, self.stderr)
    }
}

pub fn run(mut cmd: Command) -> Run {
    let out = cmd.stdin(Stdio::null()).output().expect("netlab runs");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// A lab of a test's own: unique lab name and prefix, its own file, optionally run inside
/// a sandbox network namespace that plays "the host".
pub struct TestLab {
    pub name: String,
    pub dir: PathBuf,
    pub file: PathBuf,
    pub sandbox: Option<String>,
    /// Extra namespaces the test made by hand (decoys, foreigners), removed on drop.
    pub extra_netns: Vec<String>,
    /// Released after the teardown (fields drop after `Drop::drop`).
    _turn: Turn,
}

impl TestLab {
    /// `tag`: up to 5 characters naming the test.
    pub fn new(tag: &str) -> TestLab {
        TestLab::with_turn(tag, Turn::shared())
    }

    /// A lab for a test that measures: it waits until no other lab is up, and none comes up
    /// until it is gone.
    pub fn alone(tag: &str) -> TestLab {
        TestLab::with_turn(tag, Turn::alone())
    }

    fn with_turn(tag: &str, turn: Turn) -> TestLab {
        assert!(tag.len() <= 5);
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let id = (std::process::id() * 7 + n * 131) % 0xfff;
        let name = format!("t{tag}{id:03x}");
        let dir = std::env::temp_dir().join(format!("netlab-test-{name}"));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join(format!("{name}.toml"));
        let lab = TestLab { name, dir, file, sandbox: None, extra_netns: Vec::new(), _turn: turn };
        lab.cleanup(); // a previous crashed run with the same id
        lab
    }

    /// Runs netlab inside a fresh sandbox namespace with no route out, as "the host".
    pub fn with_sandbox(mut self) -> TestLab {
        let sbx = format!("{}-sbx", self.name);
        sh_ok(&format!("ip netns add {sbx} && ip -n {sbx} link set lo up"));
        self.sandbox = Some(sbx);
        self
    }

    pub fn ns(&self, node: &str) -> String {
        format!("{}-{node}", self.name)
    }

    /// Writes the topology: `name` and `prefix` are set to the lab's own, then `body`.
    pub fn write(&self, body: &str) {
        std::fs::write(&self.file, format!("name = \"{0}\"\nprefix = \"{0}\"\n{body}", self.name)).unwrap();
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut c = match &self.sandbox {
            Some(s) => {
                let mut c = Command::new("nsenter");
                c.arg(format!("--net=/run/netns/{s}")).arg(bin());
                c
            }
            None => Command::new(bin()),
        };
        c.args(args);
        c
    }

    pub fn netlab(&self, args: &[&str]) -> Run {
        run(self.command(args))
    }

    /// Runs netlab from network namespace `netns` (`nsenter --net=/run/netns/NETNS`) instead
    /// of the lab's sandbox.
    pub fn netlab_in(&self, netns: &str, args: &[&str]) -> Run {
        let mut c = Command::new("nsenter");
        c.arg(format!("--net=/run/netns/{netns}")).arg(bin()).args(args);
        run(c)
    }

    fn file_arg(&self) -> &str {
        self.file.to_str().unwrap()
    }

    pub fn up(&self) -> Run {
        let r = self.netlab(&["up", self.file_arg()]);
        assert_eq!(r.code, 0, "up failed: {r:?}");
        r
    }

    pub fn plan(&self) -> Run {
        self.netlab(&["plan", self.file_arg()])
    }

    /// Asserts that `plan` has nothing to do.
    pub fn assert_converged(&self) {
        let r = self.plan();
        assert_eq!(r.code, 0, "expected no changes: {r:?}");
    }

    /// Asserts that `plan` lists exactly `ops` (in order) and exits 2.
    pub fn assert_plan(&self, ops: &[&str]) {
        let r = self.plan();
        assert_eq!(r.code, 2, "expected changes: {r:?}");
        let got: Vec<&str> = r.stdout.lines().filter(|l| !l.starts_with("lab ")).collect();
        assert_eq!(got, ops, "plan differs: {r:?}");
    }

    pub fn down(&self) -> Run {
        let r = self.netlab(&["down", "--lab", &self.name]);
        assert_eq!(r.code, 0, "down failed: {r:?}");
        r
    }

    /// Runs a command in a node through `netlab exec`.
    pub fn exec(&self, node: &str, cmd: &[&str]) -> Run {
        let mut args = vec!["exec", node, "--lab", &self.name, "--"];
        args.extend_from_slice(cmd);
        self.netlab(&args)
    }

    /// Whether `from` reaches `to`: up to three echoes a second apart, so a machine busy with
    /// other tests does not turn one slow answer into a failure.
    pub fn ping(&self, from: &str, to: &str) -> bool {
        (0..3).any(|_| self.exec(from, &["ping", "-c1", "-W2", to]).code == 0)
    }

    /// Whether `from` gets no answer from `to` within 2 s (one echo).
    pub fn unreachable(&self, from: &str, to: &str) -> bool {
        self.exec(from, &["ping", "-c1", "-W2", to]).code != 0
    }

    /// Runs `ip ARGS` in "the host" (the sandbox when there is one).
    pub fn host_ip(&self, args: &str) -> String {
        match &self.sandbox {
            Some(s) => sh_ok(&format!("ip -n {s} {args}")),
            None => sh_ok(&format!("ip {args}")),
        }
    }

    /// The lab's namespaces that exist now.
    pub fn namespaces(&self) -> Vec<String> {
        let prefix = format!("{}-", self.name);
        let sbx = self.sandbox.clone().unwrap_or_default();
        std::fs::read_dir("/run/netns")
            .map(|d| d.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect::<Vec<_>>())
            .unwrap_or_default()
            .into_iter()
            .filter(|n| n.starts_with(&prefix) && *n != sbx && !self.extra_netns.contains(n))
            .collect()
    }

    /// Nothing of the lab is left: no namespace, no marked host interface, no record.
    pub fn assert_gone(&self) {
        assert_eq!(self.namespaces(), Vec::<String>::new(), "namespaces left behind");
        assert!(!Path::new(&format!("/run/netlab/{}", self.name)).exists(), "record left behind");
        let links = match &self.sandbox {
            Some(s) => sh(&format!("ip -n {s} -o link show")),
            None => sh("ip -o link show"),
        };
        let links = String::from_utf8_lossy(&links.stdout);
        assert!(
            !links.contains(&format!("netlab:{}:", self.name)),
            "marked interfaces left behind:\n{links}"
        );
    }

    /// Removes everything, also after a failure; safe to call twice.
    pub fn cleanup(&self) {
        let _ =
            self.command(&["down", "--lab", &self.name]).stdout(Stdio::null()).stderr(Stdio::null()).status();
        for ns in self.extra_netns.iter().chain(self.sandbox.iter()) {
            let _ = sh(&format!("ip netns del {ns} 2>/dev/null"));
        }
    }
}

impl Drop for TestLab {
    fn drop(&mut self) {
        self.cleanup();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
