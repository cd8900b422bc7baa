//! `netlab events --json` against a real lab: a link taken down and up by hand, a route
//! added by hand with `proto static`, a workload restarted by its policy, each as a JSON
//! line; the stream ends when the lab goes down. And `netlab exec --all`: prefixed lines,
//! the exit status and its summary, nodes run at once.

use crate::support::*;
use serde_json::Value;
use std::io::BufRead;
use std::process::{Child, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::time::{Duration, Instant};

/// A running `netlab events`, killed on drop (also when the test panics), with its stdout
/// lines on a channel.
struct Stream {
    child: Child,
    lines: Receiver<String>,
    seen: Vec<String>,
}

impl Stream {
    fn start(lab: &TestLab, args: &[&str]) -> Stream {
        Stream::start_command(&mut lab.command(args))
    }

    fn start_command(cmd: &mut std::process::Command) -> Stream {
        let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("events");
        let out = child.stdout.take().expect("piped");
        let (tx, lines) = channel();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(out).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Stream { child, lines, seen: Vec::new() }
    }

    /// The first line from now on (within `within`) that parses to an object satisfying `want`.
    fn expect(&mut self, what: &str, within: Duration, want: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    let v: Value = serde_json::from_str(&line)
                        .unwrap_or_else(|e| panic!("not a JSON line ({e}): {line}"));
                    if want(&v) {
                        return v;
                    }
                }
                Err(_) => panic!("no {what} within {within:?}; the stream said:\n{}", self.seen.join("\n")),
            }
        }
    }
}

impl Drop for Stream {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn is(v: &Value, kind: &str, action: &str) -> bool {
    v["type"] == kind && v["action"] == action
}

const WITHIN: Duration = Duration::from_secs(10);

#[test]
fn events_json_shows_link_route_and_workload_changes_and_ends_when_the_lab_goes_down() {
    if !root_or_skip("events") {
        return;
    }
    let lab = TestLab::new("evts");
    lab.write(
        r#"
[nodes.a]
run = [{ name = "flap", cmd = ["sh", "-c", "sleep 0.3; exit 3"], restart = "always" }]
[nodes.b]
[[links]]
endpoints = ["a:eth0", "b:eth0"]
addresses = ["10.77.0.1/24", "10.77.0.2/24"]
"#,
    );
    lab.up();
    let mut s = Stream::start(&lab, &["events", "--lab", &lab.name, "--json", "--initial-state"]);
    // Each node's snapshot comes after its monitor has subscribed: once both nodes' are in,
    // nothing is missed.
    let snapshot = |node: &'static str| {
        move |v: &Value| {
            is(v, "link", "up") && v["node"] == node && v["iface"] == "eth0" && v["initial"] == true
        }
    };
    let first = s.expect("a snapshot", WITHIN, |v| snapshot("a")(v) || snapshot("b")(v));
    let other = if first["node"] == "a" { "b" } else { "a" };
    s.expect("the other node's snapshot", WITHIN, snapshot(other));
    assert_eq!(first["lab"], lab.name.as_str());
    assert!(first["time"].as_str().is_some_and(|t| t.ends_with('Z')), "{first}");

    let ns_a = lab.ns("a");
    sh_ok(&format!("ip -n {ns_a} link set eth0 down"));
    let down = s.expect("a link down", WITHIN, |v| is(v, "link", "down") && v["node"] == "a");
    assert_eq!((down["iface"].as_str(), down["admin_up"].as_bool()), (Some("eth0"), Some(false)));
    // Its peer lost carrier: down too, though still set up.
    s.expect("b's carrier lost", WITHIN, |v| {
        is(v, "link", "down") && v["node"] == "b" && v["admin_up"] == true && v["carrier"] == false
    });
    sh_ok(&format!("ip -n {ns_a} link set eth0 up"));
    s.expect("a link up", WITHIN, |v| is(v, "link", "up") && v["node"] == "a" && v["carrier"] == true);

    sh_ok(&format!("ip -n {ns_a} route add 10.99.0.0/24 via 10.77.0.2 proto static"));
    let route =
        s.expect("the static route", WITHIN, |v| is(v, "route", "added") && v["dst"] == "10.99.0.0/24");
    assert_eq!((route["proto"].as_str(), route["via"].as_str()), (Some("static"), Some("10.77.0.2")));
    assert_eq!(route["node"], "a");

    let exited =
        s.expect("the workload's exit", WITHIN, |v| is(v, "workload", "exited") && v["name"] == "flap");
    assert_eq!(exited["code"], 3, "{exited}");
    let again = s.expect("its restart", WITHIN, |v| is(v, "workload", "restarted") && v["name"] == "flap");
    assert!(again["restarts"].as_u64().is_some_and(|n| n >= 1), "{again}");
    assert!(again["pid"].as_u64().is_some(), "{again}");

    lab.down();
    s.expect("the lab going down", WITHIN, |v| is(v, "lab", "down") && v["node"].is_null());
    let deadline = Instant::now() + WITHIN;
    let status = loop {
        if let Some(st) = s.child.try_wait().expect("waiting for events") {
            break st;
        }
        assert!(Instant::now() < deadline, "netlab events went on after its lab went down");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(status.code(), Some(0));
    lab.assert_gone();
}

#[test]
fn events_end_cleanly_on_sigterm() {
    if !root_or_skip("evterm") {
        return;
    }
    let lab = TestLab::new("evtrm");
    lab.write("[nodes.a]\n[nodes.b]\n[[links]]\nendpoints = [\"a:eth0\", \"b:eth0\"]\n");
    lab.up();
    let mut s = Stream::start(&lab, &["events", "--lab", &lab.name, "--json", "--initial-state"]);
    s.expect("the snapshot", WITHIN, |v| is(v, "link", "up") && v["initial"] == true);
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(s.child.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let deadline = Instant::now() + WITHIN;
    let status = loop {
        if let Some(st) = s.child.try_wait().expect("waiting") {
            break st;
        }
        assert!(Instant::now() < deadline, "netlab events ignored SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(status.code(), Some(0), "ended by SIGTERM, cleanly");
}

const TEN: &str = "[nodes.n0]\n[nodes.n1]\n[nodes.n2]\n[nodes.n3]\n[nodes.n4]\n[nodes.n5]\n[nodes.n6]\n[nodes.n7]\n[nodes.n8]\n[nodes.n9]\n[nodes.sw]\nkind = \"switch\"\n";

#[test]
fn exec_all_prefixes_lines_fails_if_one_node_fails_and_runs_nodes_at_once() {
    if !root_or_skip("execall") {
        return;
    }
    let lab = TestLab::new("xall");
    lab.write(TEN);
    lab.up();
    // Each node names the namespace it runs in.
    let r = lab.netlab(&["exec", "--all", "--lab", &lab.name, "--", "ip", "netns", "identify"]);
    assert_eq!(r.code, 0, "{r:?}");
    let mut lines: Vec<&str> = r.stdout.lines().collect();
    lines.sort();
    let want: Vec<String> = (0..10).map(|i| format!("n{i}: {}", lab.ns(&format!("n{i}")))).collect();
    assert_eq!(lines, want, "one prefixed line per node, switches left out: {r:?}");

    let fail_in_n3 = format!("test \"$(ip netns identify)\" != {}", lab.ns("n3"));
    let r = lab.netlab(&["exec", "--all", "--lab", &lab.name, "--", "sh", "-c", &fail_in_n3]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stderr.contains("failed in 1 of 10 nodes: n3 (exit 1)"), "{r:?}");

    let r = lab.netlab(&[
        "exec",
        "--nodes",
        "n1*",
        "--lab",
        &lab.name,
        "--json",
        "--",
        "sh",
        "-c",
        "echo out; echo err >&2; exit 2",
    ]);
    assert_eq!(r.code, 1, "{r:?}");
    let objects: Vec<Value> =
        r.stdout.lines().map(|l| serde_json::from_str(l).expect("a JSON line")).collect();
    assert_eq!(objects.len(), 1, "{r:?}");
    assert_eq!(
        (&objects[0]["node"], &objects[0]["stdout"], &objects[0]["stderr"], &objects[0]["code"]),
        (&Value::from("n1"), &Value::from("out\n"), &Value::from("err\n"), &Value::from(2))
    );

    let started = Instant::now();
    let r = lab.netlab(&["exec", "--all", "--lab", &lab.name, "--", "sleep", "1"]);
    let took = started.elapsed();
    assert_eq!(r.code, 0, "{r:?}");
    assert!(took < Duration::from_secs(5), "10 nodes × sleep 1 took {took:?}: not run at once");
}

#[test]
fn the_library_stream_of_a_running_lab_yields_typed_events() {
    use netlab::state::event::{LinkAction, What};
    if !root_or_skip("evlib") {
        return;
    }
    let _turn = Turn::shared();
    let text = "[nodes.a]\n[nodes.b]\n[[links]]\nendpoints = [\"a:eth0\", \"b:eth0\"]\n";
    // The guard takes the lab down at the end, also when the test fails.
    let up = netlab::Lab::from_str(text).expect("valid").up().expect("up");
    let name = up.lab().name.clone();
    let ns_a = up.netns("a").expect("node a").expect("a namespace");
    let mut events = up.events(true).expect("follows").until(Instant::now() + WITHIN);
    let first = events.next().expect("the snapshot");
    assert!(first.initial && first.lab == name, "{first:?}");
    sh_ok(&format!("ip -n {ns_a} link set eth0 down"));
    let down = events
        .find(|e| !e.initial && e.node.as_deref() == Some("a"))
        .expect("the link down, before the deadline");
    assert!(
        matches!(&down.what, What::Link { iface, action: LinkAction::Down, admin_up: false, .. } if iface == "eth0"),
        "{down:?}"
    );
    assert!(down.to_string().contains(&format!("lab={name} node=a link eth0 down (admin-down)")), "{down}");
    // Nothing more happens: the stream ends at its deadline.
    let quiet = up.events(false).expect("follows").until(Instant::now() + Duration::from_millis(300));
    assert_eq!(quiet.count(), 0);
    drop(events);
    up.down().expect("down");
    assert!(!std::path::Path::new(&format!("/run/netlab/{name}")).exists(), "the lab is down");
}

#[test]
fn in_the_host_namespace_only_the_labs_own_interfaces_are_reported() {
    if !root_or_skip("evhost") {
        return;
    }
    let lab = TestLab::new("evhst").with_sandbox();
    lab.write(
        r#"
[nodes.host]
kind = "host"
[nodes.a]
[[links]]
endpoints = ["host:evh-v", "a:eth0"]
addresses = ["10.78.0.1/24", "10.78.0.2/24"]
"#,
    );
    lab.up();
    let mut s = Stream::start(&lab, &["events", "--lab", &lab.name, "--json", "--initial-state"]);
    s.expect("the host end's snapshot", WITHIN, |v| {
        is(v, "link", "up") && v["node"] == "host" && v["iface"] == "evh-v" && v["initial"] == true
    });
    // A stranger's veth in the same namespace: never reported, nor what goes through it.
    lab.host_ip("link add evh-x type veth peer name evh-y");
    lab.host_ip("link set evh-x up");
    lab.host_ip("route add 10.80.0.0/24 dev evh-x proto static");
    lab.host_ip("route add 10.79.0.0/24 dev evh-v proto static");
    let r = s.expect("the route through the lab's interface", WITHIN, |v| {
        is(v, "route", "added") && v["dst"] == "10.79.0.0/24"
    });
    assert_eq!((r["node"].as_str(), r["dev"].as_str()), (Some("host"), Some("evh-v")), "{r}");
    lab.host_ip("link del evh-x");
    lab.down();
    s.expect("the lab going down", WITHIN, |v| is(v, "lab", "down"));
    let strangers: Vec<&String> =
        s.seen.iter().filter(|l| l.contains("evh-x") || l.contains("evh-y")).collect();
    assert!(strangers.is_empty(), "events of interfaces not the lab's: {strangers:?}");
}

#[test]
fn a_workload_killed_for_its_memory_is_reported_oom_killed() {
    if !root_or_skip("evoom") {
        return;
    }
    let lab = TestLab::new("evoom");
    // Killed at once each time it runs, and started again: the stream sees a later round.
    lab.write(
        r#"
[nodes.n]
limits = { memory = "32M" }
run = [{ name = "hog", cmd = ["python3", "-c", "x = bytearray(200*1024*1024)"], restart = "always" }]
"#,
    );
    lab.up();
    let mut s = Stream::start(&lab, &["events", "--lab", &lab.name, "--json"]);
    let oom = s.expect("an oom kill", Duration::from_secs(20), |v| is(v, "workload", "oom-killed"));
    assert_eq!((oom["name"].as_str(), oom["signal"].as_str()), (Some("hog"), Some("SIGKILL")), "{oom}");
    s.expect("its restart", Duration::from_secs(20), |v| is(v, "workload", "restarted"));
}

#[test]
fn following_every_lab_sees_a_lab_come_up_and_go_down_and_goes_on() {
    if !root_or_skip("evall") {
        return;
    }
    let lab = TestLab::new("evall");
    lab.write(
        r#"
[nodes.a]
run = [{ name = "flap", cmd = ["sh", "-c", "sleep 0.3; exit 3"], restart = "always" }]
"#,
    );
    // A run directory of the test's own: the stream sees this lab only, not other tests'.
    let run_dir = lab.dir.join("run");
    let with_run_dir = |args: &[&str]| {
        let mut c = lab.command(args);
        c.env("NETLAB_RUN_DIR", &run_dir);
        c
    };
    std::fs::create_dir_all(&run_dir).unwrap();
    let mut events = with_run_dir(&["events", "--json"]);
    let mut s = Stream::start_command(&mut events);
    // Until the stream watches the run directory, a lab coming up would go unseen: wait for
    // its inotify descriptor.
    let deadline = Instant::now() + WITHIN;
    while !sh(&format!("grep -l inotify /proc/{}/fdinfo/* 2>/dev/null", s.child.id())).status.success() {
        assert!(Instant::now() < deadline, "netlab events never watched its run directory");
        std::thread::sleep(Duration::from_millis(50));
    }
    let up = with_run_dir(&["up", lab.file.to_str().unwrap()]).output().unwrap();
    assert!(up.status.success(), "{}", String::from_utf8_lossy(&up.stderr));
    s.expect("the lab coming up", WITHIN, |v| is(v, "lab", "up") && v["lab"] == lab.name.as_str());
    s.expect("its workload's exit", WITHIN, |v| is(v, "workload", "exited") && v["lab"] == lab.name.as_str());
    let down = with_run_dir(&["down", "--lab", &lab.name]).output().unwrap();
    assert!(down.status.success(), "{}", String::from_utf8_lossy(&down.stderr));
    s.expect("the lab going down", WITHIN, |v| is(v, "lab", "down") && v["lab"] == lab.name.as_str());
    std::thread::sleep(Duration::from_millis(300));
    assert!(s.child.try_wait().unwrap().is_none(), "following every lab, the stream goes on after one goes");
    lab.assert_gone();
}
