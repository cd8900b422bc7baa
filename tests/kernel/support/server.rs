//! Processes a test starts beside its lab (servers), killed and reaped on drop also when the
//! test panics, and the python TCP listener and client of the firewall tests.

use super::TestLab;
use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

/// A one-shot TCP listener: binds HOST:PORT, says `ready`, accepts one connection within 3 s
/// and prints `peer ADDR`. Bounded on its own; the guard kills it anyway.
const SERVER_PY: &str = r#"
import socket, sys
host, port = sys.argv[1], int(sys.argv[2])
fam = socket.AF_INET6 if ":" in host else socket.AF_INET
s = socket.socket(fam, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((host, port))
s.listen(4)
s.settimeout(3)
print("ready", flush=True)
c, a = s.accept()
print("peer", a[0], flush=True)
c.close()
"#;

/// A TCP connect with a 3 s timeout: prints `ok SECONDS` or `EXCEPTION-NAME ERRNO SECONDS`.
const CLIENT_PY: &str = r#"
import socket, sys, time
host, port = sys.argv[1], int(sys.argv[2])
t = time.monotonic()
try:
    socket.create_connection((host, port), timeout=3).close()
    print("ok", round(time.monotonic() - t, 3))
except Exception as e:
    print(type(e).__name__, getattr(e, "errno", None), round(time.monotonic() - t, 3))
"#;

/// A background process that is killed and waited for on drop, also when the test panics.
/// Its stdout and stderr lines arrive on a channel, so every wait on them is bounded.
pub struct Server {
    child: Child,
    lines: Receiver<String>,
    /// Lines that arrived and were not what a wait looked for.
    pub seen: Vec<String>,
}

impl Server {
    pub fn spawn(mut cmd: Command) -> Server {
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("server spawns");
        let (tx, rx) = channel();
        let out = child.stdout.take().unwrap();
        let err = child.stderr.take().unwrap();
        let tx2 = tx.clone();
        std::thread::spawn(move || {
            for l in BufReader::new(out).lines().map_while(Result::ok) {
                let _ = tx.send(l);
            }
        });
        std::thread::spawn(move || {
            let mut s = String::new();
            let _ = BufReader::new(err).read_to_string(&mut s);
            for l in s.lines() {
                let _ = tx2.send(format!("stderr: {l}"));
            }
        });
        Server { child, lines: rx, seen: Vec::new() }
    }

    /// The python listener, in `node` of `lab` through `netlab exec`.
    pub fn in_node(lab: &TestLab, node: &str, host: &str, port: u16) -> Server {
        let port = port.to_string();
        let mut s = Server::spawn(
            lab.command(&["exec", node, "--lab", &lab.name, "--", "python3", "-c", SERVER_PY, host, &port]),
        );
        s.wait_for("ready");
        s
    }

    /// The python listener in a namespace that is not a node (made by the test itself).
    pub fn in_netns(ns: &str, host: &str, port: u16) -> Server {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", ns, "python3", "-c", SERVER_PY, host, &port.to_string()]);
        let mut s = Server::spawn(c);
        s.wait_for("ready");
        s
    }

    /// Waits (at most 5 s) for a line starting with `prefix`; returns it.
    fn wait_for(&mut self, prefix: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(l) if l.starts_with(prefix) => return l,
                Ok(l) => self.seen.push(l),
                Err(RecvTimeoutError::Timeout) => {
                    panic!("no `{prefix}` line from the server within 5 s; got {:?}", self.seen)
                }
                Err(RecvTimeoutError::Disconnected) => {
                    panic!("server exited without `{prefix}`; got {:?}", self.seen)
                }
            }
        }
    }

    /// The address the server saw its one connection come from.
    pub fn peer(&mut self) -> String {
        self.wait_for("peer ").trim_start_matches("peer ").trim().to_string()
    }

    /// Lines that arrived so far without waiting.
    pub fn pending(&mut self) -> Vec<String> {
        while let Ok(l) = self.lines.try_recv() {
            self.seen.push(l);
        }
        self.seen.clone()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A TCP connect from `node` to HOST:PORT; the client's one-line verdict (`ok 0.002`,
/// `ConnectionRefusedError 111 0.001`, `TimeoutError None 3.0`, ...).
pub fn connect(lab: &TestLab, node: &str, host: &str, port: u16) -> String {
    let r = lab.exec(node, &["python3", "-c", CLIENT_PY, host, &port.to_string()]);
    assert_eq!(r.code, 0, "client failed: {r:?}");
    r.stdout.trim().to_string()
}
