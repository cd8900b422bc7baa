//! Command-line tests that need no root and touch no kernel state: `validate`, `--help`,
//! argument errors, and `exec` looking for a node in no lab.

use crate::{command, netlab, show, text};
use std::path::{Path, PathBuf};

/// Keys of the contract this version does not implement yet: files using them are skipped.
const LATER_KEYS: &[&str] = &["rate", "delay", "jitter", "loss"];

/// Whether a topology uses a key (at any depth, dotted or not) that this version cannot honour.
fn uses_later_keys(text: &str) -> bool {
    fn walk(t: &toml::Table) -> bool {
        t.iter().any(|(k, v)| {
            LATER_KEYS.contains(&k.as_str())
                || match v {
                    toml::Value::Table(t) => walk(t),
                    toml::Value::Array(a) => a.iter().any(|v| matches!(v, toml::Value::Table(t) if walk(t))),
                    _ => false,
                }
        })
    }
    match text.parse::<toml::Table>() {
        Ok(t) => walk(&t),
        Err(_) => false,
    }
}

#[test]
fn validate_accepts_the_example_topologies() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("topologies");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    let mut checked = 0;
    for f in &files {
        let t = std::fs::read_to_string(f).expect("readable topology");
        if uses_later_keys(&t) {
            continue;
        }
        checked += 1;
        let path = f.to_string_lossy().into_owned();
        let o = netlab(&["validate", &path]);
        assert_eq!(o.status.code(), Some(0), "validate {path}:\n{}", show(&o));
        let stdout = text(&o.stdout);
        assert!(
            stdout.lines().any(|l| l.contains(": ok")),
            "validate {path}: no line with \": ok\" on stdout:\n{}",
            show(&o)
        );
    }
    // Every example of the contract validates: lan, nat-sim, seed-nat, isolated at least.
    assert!(checked >= 4, "only {checked} topologies in {} could be validated", dir.display());
}

#[test]
fn validate_of_a_missing_file_names_it() {
    let missing = "tests/no-such-topology.toml";
    let o = netlab(&["validate", missing]);
    assert_eq!(o.status.code(), Some(1), "{}", show(&o));
    let stderr = text(&o.stderr);
    assert!(stderr.contains(missing), "stderr does not name {missing}:\n{}", show(&o));
    assert!(stderr.starts_with("netlab: "), "{}", show(&o));
}

#[test]
fn help_lists_the_subcommands() {
    let o = netlab(&["--help"]);
    assert_eq!(o.status.code(), Some(0), "{}", show(&o));
    let stdout = text(&o.stdout);
    // Subcommand names as clap lists them: the first word of an indented line.
    let listed: Vec<&str> =
        stdout.lines().filter(|l| l.starts_with("  ")).filter_map(|l| l.split_whitespace().next()).collect();
    for cmd in ["up", "plan", "down", "status", "exec", "ls", "validate"] {
        assert!(listed.contains(&cmd), "--help does not list `{cmd}`:\n{stdout}");
    }
}

#[test]
fn down_without_file_or_lab_is_a_usage_error() {
    let o = netlab(&["down"]);
    assert_eq!(o.status.code(), Some(1), "{}", show(&o));
    let stderr = text(&o.stderr);
    assert!(stderr.contains("--lab"), "no usage hint mentioning --lab:\n{}", show(&o));
    assert!(stderr.contains("file"), "no usage hint mentioning the file:\n{}", show(&o));
}

#[test]
fn exec_of_an_unknown_node_says_no_lab_has_it() {
    // An empty runtime directory of our own: the answer cannot depend on labs that happen
    // to be up on this machine.
    let run = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("cli-exec-run-{}", std::process::id()));
    std::fs::create_dir_all(&run).expect("creating a runtime dir");
    let o = command()
        .args(["exec", "nosuchnode", "--", "true"])
        .env("NETLAB_RUN_DIR", &run)
        .output()
        .expect("running netlab");
    let _ = std::fs::remove_dir(&run);
    assert_eq!(o.status.code(), Some(1), "{}", show(&o));
    let stderr = text(&o.stderr);
    assert!(
        stderr.contains("no lab") && stderr.contains("nosuchnode"),
        "stderr does not say that no lab has node nosuchnode:\n{}",
        show(&o)
    );
}

#[test]
fn exec_of_an_unknown_node_reads_the_default_run_dir_safely() {
    // The default /run/netlab, as a user would run it: only read, never written.
    let o = netlab(&["exec", "nosuchnode-cli-test", "--", "true"]);
    assert_eq!(o.status.code(), Some(1), "{}", show(&o));
    assert!(text(&o.stderr).contains("nosuchnode-cli-test"), "{}", show(&o));
}

#[test]
fn capture_refuses_a_target_without_an_interface_and_an_unknown_node() {
    let run = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("cli-capture-run-{}", std::process::id()));
    std::fs::create_dir_all(&run).expect("creating a runtime dir");
    let capture = |target: &str| {
        command().args(["capture", target, "-w", "-"]).env("NETLAB_RUN_DIR", &run).output().expect("netlab")
    };
    let o = capture("r1");
    assert_eq!(o.status.code(), Some(1), "{}", show(&o));
    assert!(text(&o.stderr).contains("write NODE:IFACE (e.g. r1:eth0), or NODE:*"), "{}", show(&o));
    let o = capture("nosuchnode:eth0");
    assert_eq!(o.status.code(), Some(1), "{}", show(&o));
    assert!(text(&o.stderr).contains("no lab that is up has a node named nosuchnode"), "{}", show(&o));
    let _ = std::fs::remove_dir(&run);
}

#[test]
fn test_pcap_all_needs_pcap() {
    let o = netlab(&["test", "topologies/lan.toml", "--pcap-all"]);
    assert_eq!(o.status.code(), Some(2), "{}", show(&o));
    assert!(text(&o.stderr).contains("--pcap <DIR>"), "{}", show(&o));
}
