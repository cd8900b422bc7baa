//! `netlab exec --all | --nodes GLOB`: one command in many nodes of a lab at once, each
//! through the entry `netlab exec` uses, its output captured line by line.

use super::exec::node_list;
use crate::backend::{Store, System};
use crate::error::{Error, Result};
use std::io::{BufRead, BufReader, Read};
use std::sync::mpsc::{channel, Sender};

/// How many nodes run the command at once.
pub const PARALLEL: usize = 16;

/// Whether `name` matches the shell pattern `pat` (`*` any run, `?` any one character).
pub fn glob_match(pat: &str, name: &str) -> bool {
    let (p, n): (Vec<char>, Vec<char>) = (pat.chars().collect(), name.chars().collect());
    // The classic two-pointer match with backtracking to the last `*`.
    let (mut i, mut j, mut star, mut mark) = (0, 0, None, 0);
    while j < n.len() {
        if i < p.len() && (p[i] == '?' || p[i] == n[j]) {
            i += 1;
            j += 1;
        } else if i < p.len() && p[i] == '*' {
            star = Some(i);
            mark = j;
            i += 1;
        } else if let Some(s) = star {
            i = s + 1;
            mark += 1;
            j = mark;
        } else {
            return false;
        }
    }
    p[i..].iter().all(|c| *c == '*')
}

/// The lab and the nodes (switches left out) a many-node exec runs in: every node, or those
/// whose names match `pattern`. The lab may be omitted when only one is up.
pub fn select<S: Store>(sys: &S, lab: Option<&str>, pattern: Option<&str>) -> Result<(String, Vec<String>)> {
    let record = match lab {
        Some(l) => sys.load(l)?.ok_or_else(|| {
            Error::NotFound(format!("lab {l} is not up (`netlab ls` lists the labs that are)"))
        })?,
        None => {
            let mut all = sys.all()?;
            match all.len() {
                0 => return Err(Error::NotFound("no lab is up (`netlab up FILE` brings one up)".into())),
                1 => all.pop().expect("one"),
                _ => {
                    let names: Vec<String> = all.into_iter().map(|r| r.lab).collect();
                    return Err(Error::Ambiguous(format!(
                        "several labs are up ({}); say which with --lab",
                        names.join(", ")
                    )));
                }
            }
        }
    };
    let nodes: Vec<String> = record
        .nodes
        .keys()
        .filter(|n| !record.switches.contains(*n))
        .filter(|n| pattern.is_none_or(|p| glob_match(p, n)))
        .cloned()
        .collect();
    if nodes.is_empty() {
        return Err(Error::NotFound(match pattern {
            Some(p) => {
                format!("no node of lab {} matches {p}; nodes: {}", record.lab, node_list(&record))
            }
            None => format!("lab {} has no node to run in (only switches)", record.lab),
        }));
    }
    Ok((record.lab, nodes))
}

/// What one node's command did.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct NodeRun {
    pub node: String,
    #[serde(serialize_with = "lossy")]
    pub stdout: Vec<u8>,
    #[serde(serialize_with = "lossy")]
    pub stderr: Vec<u8>,
    /// The exit code; 128 + N for a command killed by signal N; `None` when it could not
    /// be started (see `error`).
    pub code: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

fn lossy<S: serde::Serializer>(b: &[u8], s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_str(&String::from_utf8_lossy(b))
}

impl NodeRun {
    pub fn succeeded(&self) -> bool {
        self.code == Some(0)
    }
}

enum Msg {
    /// A line (with its newline) of stdout, or of stderr.
    Line(usize, bool, Vec<u8>),
    /// One of the two pipes closed.
    Eof(usize),
    Exit(usize, std::io::Result<std::process::ExitStatus>),
}

fn pump(idx: usize, stderr: bool, pipe: impl Read + Send + 'static, tx: Sender<Msg>) {
    std::thread::spawn(move || {
        let mut r = BufReader::new(pipe);
        loop {
            let mut line = Vec::new();
            match r.read_until(b'\n', &mut line) {
                Ok(0) | Err(_) => break,
                Ok(_) => {
                    if !line.ends_with(b"\n") {
                        line.push(b'\n');
                    }
                    if tx.send(Msg::Line(idx, stderr, line)).is_err() {
                        break;
                    }
                }
            }
        }
        let _ = tx.send(Msg::Eof(idx));
    });
}

fn code_of(status: std::process::ExitStatus) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    status.code().or_else(|| status.signal().map(|s| 128 + s)).unwrap_or(1)
}

/// Runs `cmd` in each of `nodes` of `lab`, at most [`PARALLEL`] at a time, each through
/// the entry `netlab exec` uses; `on_line(node, stderr, line)` gets each output line as it
/// comes. Returns each node's result, in the order of `nodes`.
pub fn run_many<S: System>(
    sys: &S,
    lab: &str,
    nodes: &[String],
    cmd: &[String],
    mut on_line: impl FnMut(&str, bool, &[u8]),
) -> Vec<NodeRun> {
    let mut runs: Vec<NodeRun> = nodes
        .iter()
        .map(|n| NodeRun { node: n.clone(), stdout: vec![], stderr: vec![], code: None, error: None })
        .collect();
    let (tx, rx) = channel::<Msg>();
    // Per node: what is still to come (two pipes and the exit).
    let mut open = vec![0u8; nodes.len()];
    let (mut next, mut running) = (0, 0);
    loop {
        while running < PARALLEL && next < nodes.len() {
            let idx = next;
            next += 1;
            match sys.spawn_in_node(lab, &nodes[idx], cmd) {
                Ok(mut child) => {
                    let (out, err) = (child.stdout.take(), child.stderr.take());
                    if let (Some(out), Some(err)) = (out, err) {
                        pump(idx, false, out, tx.clone());
                        pump(idx, true, err, tx.clone());
                        open[idx] = 3;
                    } else {
                        open[idx] = 1;
                    }
                    let tx = tx.clone();
                    std::thread::spawn(move || {
                        let _ = tx.send(Msg::Exit(idx, child.wait()));
                    });
                    running += 1;
                }
                Err(e) => runs[idx].error = Some(format!("starting the command in node {}: {e}", nodes[idx])),
            }
        }
        if running == 0 {
            break;
        }
        let Ok(msg) = rx.recv() else { break };
        let idx = match msg {
            Msg::Line(idx, stderr, line) => {
                on_line(&nodes[idx], stderr, &line);
                let buf = if stderr { &mut runs[idx].stderr } else { &mut runs[idx].stdout };
                buf.extend_from_slice(&line);
                continue;
            }
            Msg::Eof(idx) => idx,
            Msg::Exit(idx, status) => {
                match status {
                    Ok(s) => runs[idx].code = Some(code_of(s)),
                    Err(e) => {
                        runs[idx].error = Some(format!("waiting for the command in node {}: {e}", nodes[idx]))
                    }
                }
                idx
            }
        };
        open[idx] -= 1;
        if open[idx] == 0 {
            running -= 1;
        }
    }
    runs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_as_the_shell_does() {
        assert!(glob_match("*", "r1"));
        assert!(glob_match("r*", "r12"));
        assert!(glob_match("r?", "r1"));
        assert!(!glob_match("r?", "r12"));
        assert!(glob_match("*1", "host1"));
        assert!(glob_match("a*b*c", "axxbyyc"));
        assert!(!glob_match("a*b*c", "axxbyy"));
        assert!(glob_match("h1", "h1"));
        assert!(!glob_match("h1", "h10"));
    }
}
