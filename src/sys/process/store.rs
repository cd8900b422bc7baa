//! The runtime files of a lab's processes under /run/netlab/LAB/: pid files, fingerprints,
//! specs and how to enter each node. They are how `down`, `status` and the next `up` find
//! what an earlier netlab started, since those processes outlive it.

use super::spawn;
use crate::state::record::run_dir;
use crate::state::workload::ExecInfo;
use crate::state::WorkloadState;
use crate::sys::private;
use std::io;
use std::path::{Path, PathBuf};

/// Runtime files of a lab's nodes and workloads.
#[derive(Clone)]
pub struct Files {
    pub lab: String,
}

impl Files {
    pub fn dir(&self) -> PathBuf {
        run_dir().join(&self.lab)
    }
    pub fn node(&self, node: &str, ext: &str) -> PathBuf {
        self.dir().join("nodes").join(format!("{node}.{ext}"))
    }
    pub fn workload(&self, node: &str, name: &str, ext: &str) -> PathBuf {
        self.dir().join("workloads").join(format!("{node}.{name}.{ext}"))
    }
    /// The lab's workload events, one JSON line each, as supervisors append them.
    pub fn events(&self) -> PathBuf {
        self.dir().join("events.jsonl")
    }
    /// A runtime file's text (at most 1 MiB), trimmed; none for a symlink or a non-file.
    pub fn read(&self, path: &Path) -> Option<String> {
        let bytes = private::read(path, 1 << 20).ok()?;
        String::from_utf8(bytes).ok().map(|s| s.trim().to_string())
    }
    pub fn pid(&self, path: &Path) -> Option<u32> {
        self.read(path)?.parse().ok()
    }
    /// Writes a runtime file atomically, private, replacing (never following) a symlink.
    pub(super) fn write(&self, path: &Path, text: &str) -> io::Result<()> {
        private::write(path, text.as_bytes())
    }
    /// Notes that the supervisor of `node/name` is being stopped, before it is signalled: a
    /// netlab killed while it waits for the supervisor to go leaves the note, so the next
    /// `up` never counts the dying supervisor as the workload's.
    pub fn mark_stopping(&self, node: &str, name: &str) -> io::Result<()> {
        self.write(&self.workload(node, name, "stop"), "")
    }
    /// The holder of a node, if it is running.
    pub fn holder(&self, node: &str) -> Option<u32> {
        self.pid(&self.node(node, "pid")).filter(|p| spawn::alive(*p, &self.dir()))
    }
}

impl Files {
    /// Notes (or forgets) how to enter a node, for `netlab exec`.
    pub fn set_exec_info(&self, node: &str, info: Option<&ExecInfo>) -> io::Result<()> {
        let path = self.node(node, "exec.json");
        match info {
            Some(i) => self.write(&path, &serde_json::to_string(i).expect("exec info serializes")),
            None => match std::fs::remove_file(&path) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
                _ => Ok(()),
            },
        }
    }

    pub fn exec_info(&self, node: &str) -> Option<ExecInfo> {
        serde_json::from_str(&self.read(&self.node(node, "exec.json"))?).ok()
    }

    fn names_in(&self, sub: &str) -> Vec<String> {
        private::names(&self.dir().join(sub))
    }

    /// Every (node, workload) with runtime files.
    pub fn workloads(&self) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = self
            .names_in("workloads")
            .into_iter()
            .filter_map(|f| {
                let stem = f.strip_suffix(".json")?;
                let (node, name) = stem.split_once('.')?;
                Some((node.to_string(), name.to_string()))
            })
            .collect();
        out.sort();
        out.dedup();
        out
    }

    /// Every node with runtime files.
    pub fn nodes(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .names_in("nodes")
            .into_iter()
            .filter_map(|f| f.split_once('.').map(|(n, _)| n.to_string()))
            .collect();
        out.extend(self.workloads().into_iter().map(|(n, _)| n));
        out.sort();
        out.dedup();
        out
    }
}

/// What runs now for the lab's nodes, by fingerprint. A workload counts as present while its
/// supervisor runs, or when it ended as its restart policy allows (it ran as defined).
pub fn fingerprints(files: &Files) -> crate::state::ProcsState {
    let mut out = crate::state::ProcsState::new();
    for node in files.nodes() {
        let e = out.entry(node.clone()).or_default();
        e.holder = files.holder(&node).and_then(|_| files.read(&files.node(&node, "fp")));
        e.limits = files.read(&files.node(&node, "limits"));
        e.exec = files.read(&files.node(&node, "exec.fp"));
    }
    for (node, name) in files.workloads() {
        // A held claim is a live supervisor, also one whose pid file is not written yet; one
        // told to stop (by a `down` or an `up` that may have died since) is on its way out
        // and counts as gone, so the next `up` waits for it and starts the workload anew.
        let running = super::claim::held(&files.workload(&node, &name, "lock"))
            && std::fs::symlink_metadata(files.workload(&node, &name, "stop")).is_err();
        let ended_as_defined = super::status::read(&files.workload(&node, &name, "status"))
            .is_some_and(|s| matches!(s.state, WorkloadState::Exited | WorkloadState::OomKilled));
        if running || ended_as_defined {
            if let Some(fp) = files.read(&files.workload(&node, &name, "fp")) {
                out.entry(node).or_default().workloads.insert(name, fp);
            }
        }
    }
    out.retain(|_, p| *p != crate::state::NodeProcs::default());
    out
}
