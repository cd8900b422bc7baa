//! `netlab logs [--lab NAME] NODE[/WORKLOAD] [-f]`: a workload's output, as its supervisor
//! wrote it (stdout and stderr together, bounded: the older part rotates to `.log.1`).

use crate::backend::System;
use crate::engine::exec::locate;
use crate::error::{Error, Result};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::PathBuf;
use std::time::Duration;

pub fn run<S: System>(sys: &S, target: &str, lab: Option<&str>, follow: bool) -> Result<i32> {
    let (node, wanted) = match target.split_once('/') {
        Some((n, w)) => (n, Some(w)),
        None => (target, None),
    };
    let (lab, _) = locate(sys, node, lab)?;
    let all = sys.workload_logs(&lab, node);
    let names: Vec<String> = all.iter().map(|(w, _)| w.clone()).collect();
    let chosen: Vec<String> = match wanted {
        Some(w) if names.iter().any(|n| n == w) => vec![w.to_string()],
        Some(w) => {
            return Err(Error::NotFound(format!(
                "node {node} of lab {lab} has no workload {w}; it has: {}",
                if names.is_empty() { "none".into() } else { names.join(", ") }
            )))
        }
        None if names.is_empty() => {
            return Err(Error::NotFound(format!("node {node} of lab {lab} runs no workloads")))
        }
        None => names,
    };
    let logs: Vec<(String, PathBuf)> = all.into_iter().filter(|(w, _)| chosen.contains(w)).collect();
    let prefix = logs.len() > 1;
    let mut out = std::io::stdout().lock();
    let mut offsets = vec![0u64; logs.len()];
    loop {
        for (i, (name, path)) in logs.iter().enumerate() {
            let Ok(mut f) = sys.open_log(path) else { continue };
            let len = f.metadata().map(|m| m.len()).unwrap_or(0);
            if len < offsets[i] {
                // Rotated: start over in the new file.
                offsets[i] = 0;
            }
            let _ = f.seek(SeekFrom::Start(offsets[i]));
            let mut buf = Vec::new();
            let _ = f.read_to_end(&mut buf);
            offsets[i] += buf.len() as u64;
            if prefix {
                for line in String::from_utf8_lossy(&buf).lines() {
                    let _ = writeln!(out, "[{name}] {line}");
                }
            } else {
                let _ = out.write_all(&buf);
            }
        }
        let _ = out.flush();
        if !follow {
            return Ok(0);
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}
