//! `status --json` and `ls --json` of a real lab against the golden files, with what changes
//! from run to run (the lab's name, pids, cgroup usage) normalised; how status, ls and plan end
//! when their reader goes; `down --lab` of a lab that is not up.

use crate::support::*;
use serde_json::Value;
use std::io::Read;
use std::path::Path;
use std::process::Stdio;

const LAB: &str = r#"
[nodes.sw]
kind = "switch"
[nodes.h1]
sysctls = { "net.ipv4.ip_forward" = 1 }
routes = [{ to = "default", via = "10.0.0.2" }]
limits = { memory = "64M", pids = 32 }
run = [{ name = "sleeper", cmd = ["sleep", "600"] }]
[nodes.h2]
[[links]]
endpoints = ["h1:eth0", "sw"]
addresses = [["10.0.0.1/24", "fd00:5::1/64"], ""]
[[links]]
endpoints = ["h2:eth0", "sw"]
addresses = ["10.0.0.2/24", ""]
"#;

/// Replaces what differs between runs: numbers under these keys become 0.
fn normalise(v: &mut Value) {
    const VOLATILE: [&str; 5] = ["pid", "supervisor", "holder", "memory_bytes", "pids"];
    match v {
        Value::Object(m) => {
            for (k, x) in m.iter_mut() {
                if VOLATILE.contains(&k.as_str()) && x.is_number() {
                    *x = Value::from(0);
                } else {
                    normalise(x);
                }
            }
        }
        Value::Array(a) => a.iter_mut().for_each(normalise),
        _ => {}
    }
}

fn golden(lab: &TestLab, name: &str, printed: &str) {
    let mut v: Value = serde_json::from_str(printed).unwrap_or_else(|e| panic!("not JSON ({e}):\n{printed}"));
    normalise(&mut v);
    let got = (serde_json::to_string_pretty(&v).unwrap() + "\n")
        .replace(lab.file.to_str().unwrap(), "LAB.toml")
        .replace(&lab.name, "LAB");
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/json_golden").join(name);
    if std::env::var_os("NETLAB_BLESS").is_some() {
        std::fs::write(&path, &got).unwrap();
    }
    let want = std::fs::read_to_string(&path).unwrap_or_else(|_| panic!("missing {}", path.display()));
    assert_eq!(got, want, "differs from {}", path.display());
}

/// Runs netlab with its stdout read by nobody (the reader closed before it writes).
fn closed_stdout(lab: &TestLab, args: &[&str]) -> (Option<i32>, String) {
    let mut child = lab
        .command(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("netlab runs");
    drop(child.stdout.take());
    let mut err = String::new();
    child.stderr.take().unwrap().read_to_string(&mut err).unwrap();
    (child.wait().unwrap().code(), err)
}

#[test]
fn status_and_ls_json_of_a_real_lab_are_the_golden_ones() {
    if !root_or_skip("status_json") {
        return;
    }
    let lab = TestLab::new("json").with_sandbox();
    lab.write(LAB);
    lab.up();
    let file = lab.file.to_str().unwrap();
    // The workload's usage is read from its cgroup: wait (bounded) until it runs.
    let mut status = lab.netlab(&["status", "--lab", &lab.name, "--json"]);
    for _ in 0..50 {
        if status.stdout.contains("\"running\"") {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
        status = lab.netlab(&["status", "--lab", &lab.name, "--json"]);
    }
    assert_eq!(status.code, 0, "{status:?}");
    golden(&lab, "kernel-status.json", &status.stdout);
    // The same lab by its file, and by its name.
    let by_file = lab.netlab(&["status", file, "--json"]);
    let by_name = lab.netlab(&["status", &lab.name, "--json"]);
    golden(&lab, "kernel-status.json", &by_file.stdout);
    golden(&lab, "kernel-status.json", &by_name.stdout);
    let ls = lab.netlab(&["ls", "--json"]);
    assert_eq!(ls.code, 0, "{ls:?}");
    let v: Value = serde_json::from_str(&ls.stdout).unwrap();
    assert_eq!(v["schema"], 1);
    let mine = v["labs"].as_array().unwrap().iter().find(|l| l["lab"] == lab.name.as_str()).cloned();
    golden(&lab, "kernel-ls-entry.json", &mine.expect("the lab is listed").to_string());
    // No drift: exit 0 with --exit-code; drift made by hand: 2, and named as an object.
    assert_eq!(lab.netlab(&["status", &lab.name, "--exit-code"]).code, 0);
    sh_ok(&format!("ip -n {} addr del 10.0.0.2/24 dev eth0", lab.ns("h2")));
    let drifted = lab.netlab(&["status", "--lab", &lab.name, "--json", "--exit-code"]);
    assert_eq!(drifted.code, 2, "{drifted:?}");
    let v: Value = serde_json::from_str(&drifted.stdout).unwrap();
    let want = serde_json::json!({"op": "add", "kind": "addr", "node": "h2", "iface": "eth0",
        "detail": "10.0.0.2/24", "text": format!("+ addr {}:eth0 10.0.0.2/24", lab.ns("h2"))});
    assert_eq!(v["drift"], serde_json::json!([want]), "{drifted:?}");
    // A closed stdout ends each of them quietly.
    for args in [vec!["status", lab.name.as_str()], vec!["ls"], vec!["plan", file], vec!["ls", "--json"]] {
        let (code, err) = closed_stdout(&lab, &args);
        assert_eq!((code, err.as_str()), (Some(0), ""), "netlab {args:?} with its stdout closed");
    }
    lab.down();
    lab.assert_gone();
}

#[test]
fn down_of_a_lab_that_is_not_up_says_so_and_succeeds() {
    if !root_or_skip("down_unknown") {
        return;
    }
    let lab = TestLab::new("dnun").with_sandbox();
    lab.write(LAB);
    lab.up();
    let ghost = format!("{}x", lab.name);
    let r = lab.netlab(&["down", "--lab", &ghost]);
    assert_eq!(r.code, 0, "{r:?}");
    let line = r.stdout.lines().next().unwrap_or_default();
    assert!(line.starts_with(&format!("no lab named {ghost} is up (labs up: ")), "{r:?}");
    assert!(line.contains(&lab.name), "the labs that are up are named: {r:?}");
    lab.down();
    let again = lab.netlab(&["down", "--lab", &lab.name]);
    assert_eq!(again.code, 0, "{again:?}");
    assert!(again.stdout.starts_with(&format!("no lab named {} is up", lab.name)), "{again:?}");
    lab.assert_gone();
}
