//! Golden tests for `netlab validate` and `netlab up` on broken files.
//!
//! Every `tests/broken/NAME.toml` must make `netlab validate tests/broken/NAME.toml` exit 1
//! and print exactly `tests/broken/NAME.expected` on stderr (file:line:col, message, hint).
//! As root, every one also goes through `netlab up` run inside a throwaway sandbox network
//! namespace (`nsenter --net=/run/netns/SANDBOX`), which must fail with the same message and
//! leave nothing behind: no new namespace, nothing new under /run/netlab, no nft table.
//! Files the corpus needs beside the cases live in `tests/broken/fixtures/` (an empty
//! directory, which git cannot hold, is made here).
//! To add a case, write the `.toml` (first line: a comment saying what is wrong), then
//! `target/debug/netlab validate tests/broken/NAME.toml 2> tests/broken/NAME.expected`
//! from the crate root, and read the message critically before keeping it.

use crate::command;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The corpus must not shrink and let the test pass on a few cases.
const MIN_CASES: usize = 180;

/// The longest one run of netlab on a broken file may take: a regression that blocks (on a
/// FIFO, say) fails the test instead of hanging CI.
const BOUND: Duration = Duration::from_secs(20);

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/broken")
}

/// Makes the fixtures git cannot hold.
fn fixtures() {
    std::fs::create_dir_all(corpus_dir().join("fixtures/empty-rootfs")).expect("making the empty rootfs");
}

/// Runs `cmd` to the end, or kills it after `bound` and fails the test.
pub fn run_bounded(mut cmd: Command, bound: Duration) -> Output {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting netlab");
    let start = Instant::now();
    loop {
        if child.try_wait().expect("waiting for netlab").is_some() {
            return child.wait_with_output().expect("reading netlab's output");
        }
        if start.elapsed() > bound {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{cmd:?} did not finish within {bound:?}: killed");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn cases() -> Vec<PathBuf> {
    fixtures();
    let dir = corpus_dir();
    let mut out: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    out.sort();
    out
}

/// A line-by-line comparison, marking lines that differ, for the failure message.
fn diff(expected: &str, actual: &str) -> String {
    let e: Vec<&str> = expected.lines().collect();
    let a: Vec<&str> = actual.lines().collect();
    let mut out = String::new();
    for i in 0..e.len().max(a.len()) {
        match (e.get(i), a.get(i)) {
            (Some(x), Some(y)) if x == y => out.push_str(&format!("   {x}\n")),
            (x, y) => {
                if let Some(x) = x {
                    out.push_str(&format!(" - {x}\n"));
                }
                if let Some(y) = y {
                    out.push_str(&format!(" + {y}\n"));
                }
            }
        }
    }
    if expected.ends_with('\n') != actual.ends_with('\n') {
        out.push_str(&format!(
            " (trailing newline: expected {}, actual {})\n",
            expected.ends_with('\n'),
            actual.ends_with('\n')
        ));
    }
    out
}

#[test]
fn corpus_is_not_empty() {
    let n = cases().len();
    assert!(n >= MIN_CASES, "tests/broken holds {n} cases; at least {MIN_CASES} are expected");
}

#[test]
fn every_toml_has_an_expected_file_and_a_leading_comment() {
    let mut problems = Vec::new();
    for case in cases() {
        let name = case.file_stem().unwrap().to_string_lossy().into_owned();
        if !case.with_extension("expected").is_file() {
            problems.push(format!("{name}: no {name}.expected"));
        }
        // Read as bytes: some cases are not UTF-8 on purpose; a UTF-16 one starts with its
        // byte-order mark and then the comment.
        let bytes = std::fs::read(&case).expect("readable case");
        let commented = bytes.starts_with(b"#")
            || bytes.starts_with(&[0xff, 0xfe, b'#', 0])
            || bytes.starts_with(&[0xfe, 0xff, 0, b'#']);
        if !commented {
            problems.push(format!("{name}: the first line should be a comment saying what is wrong"));
        }
    }
    assert!(problems.is_empty(), "broken corpus:\n  {}", problems.join("\n  "));
}

#[test]
fn validate_reports_each_broken_file_exactly() {
    let cases = cases();
    assert!(
        cases.len() >= MIN_CASES,
        "tests/broken holds {} cases; at least {MIN_CASES} are expected",
        cases.len()
    );

    let mut failures = Vec::new();
    for case in &cases {
        let name = case.file_stem().unwrap().to_string_lossy().into_owned();
        let rel = format!("tests/broken/{name}.toml");
        let expected_path = case.with_extension("expected");
        let expected = match std::fs::read_to_string(&expected_path) {
            Ok(s) => s,
            Err(e) => {
                failures.push(format!("case {name}: cannot read {}: {e}", expected_path.display()));
                continue;
            }
        };
        let mut cmd = command();
        cmd.args(["validate", &rel]);
        let out = run_bounded(cmd, BOUND);
        let why = refused_as_expected(&out, &expected, &name);
        if !why.is_empty() {
            let stdout = String::from_utf8_lossy(&out.stdout);
            let stdout = if stdout.is_empty() { String::new() } else { format!("\nstdout:\n{stdout}") };
            failures.push(format!("case {name} ({rel}):\n{}{stdout}", why.join("\n")));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} broken cases failed:\n\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n\n")
    );
}

/// The names of the network namespaces under /run/netns and the entries of /run/netlab.
fn machine_state() -> (Vec<String>, Vec<String>) {
    let names = |dir: &str| {
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .map(|d| d.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect())
            .unwrap_or_default();
        v.sort();
        v
    };
    (names("/run/netns"), names("/run/netlab"))
}

/// The names a case could leave behind, were `up` to touch anything: the lab's name (its
/// directory under /run/netlab, the file's stem when the file names none) and its namespace
/// prefix, read from the text (a broken file may not parse).
fn case_names(case: &std::path::Path) -> (String, String) {
    let text = std::fs::read_to_string(case).unwrap_or_default();
    let key = |k: &str| {
        text.lines().find_map(|l| {
            let (lhs, rhs) = l.split_once('=')?;
            (lhs.trim() == k).then(|| rhs.trim().trim_matches('"').to_string())
        })
    };
    let name = key("name").unwrap_or_else(|| case.file_stem().unwrap().to_string_lossy().into_owned());
    let prefix = key("prefix").unwrap_or_else(|| name.clone());
    (name, prefix)
}

/// A sandbox network namespace that plays the host, removed on drop.
struct Sandbox(String);

impl Sandbox {
    fn new() -> Sandbox {
        let name = format!("nlbroken-{}", std::process::id());
        let _ = Command::new("ip").args(["netns", "del", &name]).stderr(Stdio::null()).status();
        let ok = Command::new("ip").args(["netns", "add", &name]).status().expect("running ip");
        assert!(ok.success(), "ip netns add {name} failed");
        Sandbox(name)
    }

    /// `nsenter --net=/run/netns/SANDBOX PROGRAM`, from the crate root.
    fn command(&self, program: &str) -> Command {
        let mut c = Command::new("nsenter");
        c.arg(format!("--net=/run/netns/{}", self.0)).arg(program);
        c.current_dir(env!("CARGO_MANIFEST_DIR"));
        c
    }

    /// The nftables tables of the sandbox, one `table FAMILY NAME` a line ("" without nft).
    fn tables(&self) -> String {
        let mut c = self.command("nft");
        c.args(["list", "tables"]);
        match c.stderr(Stdio::null()).output() {
            Ok(o) => String::from_utf8_lossy(&o.stdout).into_owned(),
            Err(_) => String::new(),
        }
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).status();
    }
}

/// Every broken file is refused by `up` as by `validate`, before anything changes: run in a
/// sandbox namespace, `up` exits 1 with the same message and leaves no namespace, no state
/// under /run/netlab and no nft table behind. (It compares the machine before and after each
/// case, counting only the names the case's own lab could have, so that labs other programs
/// bring up meanwhile do not count as left behind.)
#[test]
fn up_refuses_each_broken_file_in_a_sandbox_and_leaves_nothing() {
    if !nix::unistd::geteuid().is_root() {
        assert!(std::env::var_os("CI").is_none(), "up of the broken corpus must run as root in CI");
        eprintln!("skipping up_refuses_each_broken_file_in_a_sandbox_and_leaves_nothing: needs root");
        return;
    }
    let cases = cases();
    let sandbox = Sandbox::new();
    let before = machine_state();
    let tables_before = sandbox.tables();
    let mut failures = Vec::new();
    for case in &cases {
        let name = case.file_stem().unwrap().to_string_lossy().into_owned();
        let rel = format!("tests/broken/{name}.toml");
        let expected = std::fs::read_to_string(case.with_extension("expected")).unwrap_or_default();
        let mut cmd = sandbox.command(env!("CARGO_BIN_EXE_netlab"));
        cmd.args(["up", &rel]);
        let mut why = refused_as_expected(&run_bounded(cmd, BOUND), &expected, &name);
        let after = machine_state();
        // Only names this case's lab could have: labs of other programs running meanwhile
        // are not its leftovers.
        let (lab, prefix) = case_names(case);
        let new = |a: &[String], b: &[String], mine: &dyn Fn(&str) -> bool| {
            a.iter().filter(|x| !b.contains(x) && mine(x)).cloned().collect::<Vec<_>>()
        };
        let ns = new(&after.0, &before.0, &|n| n.starts_with(&format!("{prefix}-")));
        let run = new(&after.1, &before.1, &|n| n == lab || n.starts_with(&format!("{lab}.")));
        if !ns.is_empty() || !run.is_empty() {
            why.push(format!("left behind: namespaces {ns:?}, under /run/netlab {run:?}"));
        }
        let tables = sandbox.tables();
        if tables != tables_before {
            why.push(format!("left nft tables in the sandbox:\n{tables}"));
        }
        if !why.is_empty() {
            failures.push(format!("case {name} (up {rel}):\n{}", why.join("\n")));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} broken cases failed under up:\n\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n\n")
    );
}

/// `validate` of what is not a regular file refuses at once: a FIFO without opening it (an
/// open would wait for a writer), a device without reading it (/dev/zero never ends).
#[test]
fn validate_refuses_a_fifo_and_dev_zero_without_blocking_or_reading() {
    let dir = std::env::temp_dir().join(format!("netlab-fifo-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let fifo = dir.join("topo.toml");
    let _ = std::fs::remove_file(&fifo);
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).expect("mkfifo");
    let big = dir.join("big.toml");
    std::fs::File::create(&big).unwrap().set_len(17 << 20).unwrap();
    let not_regular = "  hint: give the path of a topology file (.toml)";
    let cases = [
        (fifo.display().to_string(), "is a FIFO (named pipe), not a regular file", not_regular),
        ("/dev/zero".to_string(), "is a character device, not a regular file", not_regular),
        (dir.display().to_string(), "is a directory, not a regular file", not_regular),
        (
            big.display().to_string(),
            "is 17825792 bytes long; netlab reads topology files of at most 16 MiB",
            "  hint: split the lab into several files, or generate a smaller one",
        ),
    ];
    for (path, says, hint) in cases {
        for sub in ["validate", "plan"] {
            let mut cmd = command();
            cmd.args([sub, &path]);
            let out = run_bounded(cmd, Duration::from_secs(10));
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(1), "{sub} {path}: {stderr}");
            assert_eq!(stderr, format!("netlab: {path}: {says}\n{hint}\n"), "{sub} {path}");
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// What is wrong with how a command refused a broken file: it must exit 1 with exactly the
/// message of the case's `.expected` file.
fn refused_as_expected(out: &std::process::Output, expected: &str, name: &str) -> Vec<String> {
    let stderr = String::from_utf8_lossy(&out.stderr);
    let mut why = Vec::new();
    if out.status.code() != Some(1) {
        why.push(format!("exit status {:?}, expected 1", out.status.code()));
    }
    if stderr != expected {
        why.push(format!(
            "stderr differs from {name}.expected (- expected, + actual):\n{}",
            diff(expected, &stderr)
        ));
    }
    why
}
