//! What `netlab exec` says when it cannot run a command: `--` missing, a node the lab has
//! not, a node whose namespace was deleted by hand. No root: a record of a lab of its own,
//! in a runtime directory of its own, names namespaces that do not exist.

use crate::{command, show, text};
use std::path::{Path, PathBuf};

/// A runtime directory holding one record: lab `clihint`, nodes a and b.
struct RunDir(PathBuf);

impl RunDir {
    fn new(tag: &str) -> RunDir {
        let dir =
            Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("cli-{tag}-run-{}", std::process::id()));
        let lab = dir.join("clihint");
        std::fs::create_dir_all(&lab).expect("creating a runtime dir");
        let record = serde_json::json!({
            "lab": "clihint",
            "file": "/labs/clihint.toml",
            "prefix": "clihintnone",
            "nodes": { "a": "clihintnone-a", "b": "clihintnone-b" },
            "namespaces": ["clihintnone-a", "clihintnone-b"],
        });
        std::fs::write(lab.join("state.json"), record.to_string()).expect("writing the record");
        RunDir(dir)
    }

    fn netlab(&self, args: &[&str]) -> std::process::Output {
        command().args(args).env("NETLAB_RUN_DIR", &self.0).output().expect("running netlab")
    }
}

impl Drop for RunDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn a_command_without_dashes_gets_a_hint_to_put_them_before_it() {
    let run = RunDir::new("dashes");
    let o = run.netlab(&["exec", "a", "ip", "-br", "addr"]);
    assert_eq!(o.status.code(), Some(1), "{}", show(&o));
    let stderr = text(&o.stderr);
    assert!(stderr.contains("put `--` before the command: netlab exec a -- ip -br addr"), "{}", show(&o));
}

#[test]
fn an_unknown_node_is_answered_with_the_labs_nodes() {
    let run = RunDir::new("unknown");
    let o = run.netlab(&["exec", "--lab", "clihint", "zz", "--", "true"]);
    assert_eq!(o.status.code(), Some(1), "{}", show(&o));
    assert!(text(&o.stderr).contains("lab clihint has no node named zz; nodes: a, b"), "{}", show(&o));
    let o = run.netlab(&["exec", "zz", "--", "true"]);
    assert!(text(&o.stderr).contains("nodes: a (lab clihint), b (lab clihint)"), "{}", show(&o));
}

#[test]
fn a_node_whose_namespace_is_gone_says_to_run_up_on_the_labs_file() {
    let run = RunDir::new("gone");
    let o = run.netlab(&["exec", "--lab", "clihint", "b", "--", "true"]);
    assert_eq!(o.status.code(), Some(1), "{}", show(&o));
    assert!(
        text(&o.stderr).contains(
            "clihintnone-b of node b (lab clihint) is gone: run netlab up /labs/clihint.toml to recreate it"
        ),
        "{}",
        show(&o)
    );
}

#[test]
fn many_node_exec_wants_a_command_and_json_wants_many_nodes() {
    let run = RunDir::new("many");
    let o = run.netlab(&["exec", "--all", "--lab", "clihint"]);
    assert_eq!(o.status.code(), Some(1), "{}", show(&o));
    assert!(text(&o.stderr).contains("name the command to run after `--`"), "{}", show(&o));
    let o = run.netlab(&["exec", "a", "--json", "--", "true"]);
    assert!(text(&o.stderr).contains("--json goes with --all or --nodes"), "{}", show(&o));
    let o = run.netlab(&["exec", "--lab", "clihint", "--nodes", "q*", "--", "true"]);
    assert!(text(&o.stderr).contains("no node of lab clihint matches q*; nodes: a, b"), "{}", show(&o));
}

#[test]
fn events_of_a_lab_that_is_not_up_is_refused() {
    let run = RunDir::new("events");
    let o = run.netlab(&["events", "--lab", "nolab"]);
    assert_eq!(o.status.code(), Some(1), "{}", show(&o));
    assert!(text(&o.stderr).contains("lab nolab is not up"), "{}", show(&o));
}
