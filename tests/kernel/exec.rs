//! `netlab exec`: exit code, stdin and stdout passed through, and SIGTERM passed on to the
//! command in an isolated node.

use crate::support::*;

#[test]
fn exec_passes_exit_code_stdin_and_stdout_through() {
    if !root_or_skip("exec") {
        return;
    }
    let lab = TestLab::new("exec");
    lab.write(LAN);
    lab.up();
    assert_eq!(lab.exec("h1", &["sh", "-c", "exit 7"]).code, 7);
    let out = lab
        .command(&[
            "exec",
            "h2",
            "--lab",
            &lab.name,
            "--",
            "sh",
            "-c",
            "read x; echo got $x; ip -o addr show eth0",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin.take().unwrap().write_all(b"hello\n")?;
            c.wait_with_output()
        })
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("got hello") && stdout.contains("10.0.0.2/24"), "{stdout}");
    // Without --lab the node is found when its name is unique among the labs that are up.
    let r = lab.netlab(&["exec", "h3", "--", "true"]);
    assert!(r.code == 0 || r.stderr.contains("several labs"), "{r:?}");
    let missing = lab.exec("h1", &["/no/such/command"]);
    assert_eq!(missing.code, 127, "{missing:?}");
}

#[test]
fn exec_in_an_isolated_node_passes_sigterm_on() {
    if !root_or_skip("execterm") {
        return;
    }
    let lab = TestLab::new("xterm");
    lab.write("[nodes.n]\nisolate = [\"pid\"]\n");
    lab.up();
    let mut child =
        lab.command(&["exec", "n", "--lab", &lab.name, "--", "sleep", "30"]).spawn().expect("netlab exec");
    // Until the command runs inside the node, there is nothing to pass the signal to.
    let exec_group = format!("netlab/{}/n/_exec", lab.name);
    let count = || cgroup_file(&exec_group, "cgroup.procs").lines().count();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while count() < 2 {
        assert!(std::time::Instant::now() < deadline, "the command did not start in the node");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(child.id() as i32), nix::sys::signal::Signal::SIGTERM)
        .unwrap();
    let started = std::time::Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(started.elapsed() < std::time::Duration::from_secs(5), "netlab exec ignored SIGTERM");
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    assert_eq!(status.code(), Some(128 + 15), "the command was ended by the SIGTERM it was passed");
}

/// Whether a process with exactly this command line runs.
fn running(cmdline: &str) -> bool {
    sh(&format!("pgrep -xf '{cmdline}'")).status.success()
}

#[test]
fn exec_commands_are_waited_for_not_their_pipes_and_killed_at_their_timeout() {
    if !root_or_skip("exec timeout") {
        return;
    }
    let lab = TestLab::new("etime");
    let (bg, fg) = (format!("sleep 300.{}", std::process::id()), format!("sleep 600.{}", std::process::id()));
    // A background child keeps the output open: up returns anyway, and the child runs on.
    lab.write(&format!("[nodes.a]\nexec = [\"{bg} &\", \"echo done\"]\n"));
    let t = std::time::Instant::now();
    lab.up();
    assert!(t.elapsed() < std::time::Duration::from_secs(10), "up waited {:?}", t.elapsed());
    assert!(running(&bg), "the background child of a's exec is not running");

    // A command past its timeout fails up, named with its node, and nothing it started is left,
    // also in a node with a pid namespace of its own.
    for isolate in ["", "isolate = [\"pid\"]\n"] {
        lab.write(&format!(
            "[nodes.a]\nexec = [\"{bg} &\", \"echo done\"]\n[nodes.b]\n{isolate}exec_timeout = \"1s\"\nexec = [\"true\", \"{fg} & {fg}\"]\n"
        ));
        let t = std::time::Instant::now();
        let r = lab.netlab(&["up", lab.file.to_str().unwrap()]);
        let took = t.elapsed();
        assert_eq!(r.code, 1, "{r:?}");
        assert!(took < std::time::Duration::from_secs(8), "up took {took:?}");
        assert!(
            r.stderr.contains("node b") && r.stderr.contains(&format!("`{fg} & {fg}` timed out after 1s")),
            "{r:?}"
        );
        assert!(!running(&fg), "the timed-out command left processes ({isolate})");
    }
    lab.down();
    assert!(!running(&bg), "down left a's background child");
    lab.assert_gone();
}
