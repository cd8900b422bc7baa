//! The lab's workload event file, /run/netlab/LAB/events.jsonl: each supervisor appends a
//! line when its payload starts, ends or starts again; `netlab events` follows it. Private
//! like every runtime file (0600, never through a symlink), and kept small: past 1 MiB it
//! is moved to `events.jsonl.1` and started afresh.

use super::store::Files;
use crate::state::event::WorkloadEvent;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::PathBuf;

const MAX: u64 = 1 << 20;

/// Appends one event to the lab's file, in one write (so lines of supervisors writing at
/// once never interleave).
pub fn append(lab: &str, event: &WorkloadEvent) -> io::Result<()> {
    let path = Files { lab: lab.to_string() }.events();
    if std::fs::symlink_metadata(&path).is_ok_and(|m| m.is_file() && m.len() > MAX) {
        let _ = std::fs::rename(&path, path.with_extension("jsonl.1"));
    }
    let mut line = serde_json::to_vec(event).map_err(io::Error::other)?;
    line.push(b'\n');
    // Never makes the lab's directory: a supervisor that reports after `down` removed it
    // must leave nothing behind.
    let f = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .mode(0o600)
        .custom_flags(nix::libc::O_NOFOLLOW | nix::libc::O_CLOEXEC | nix::libc::O_NONBLOCK)
        .open(&path);
    let mut f = match f {
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        r => r?,
    };
    if !f.metadata()?.is_file() {
        return Err(io::Error::other(format!("{} is not a regular file", path.display())));
    }
    f.write_all(&line)
}

/// Reads what is appended to a lab's event file from the moment it is opened on.
pub struct Tail {
    path: PathBuf,
    /// The file's inode and how far it has been read.
    at: Option<(u64, u64)>,
    partial: Vec<u8>,
}

impl Tail {
    /// Starts at the file's current end: what was there before is not news.
    pub fn from_end(lab: &str) -> Tail {
        let path = Files { lab: lab.to_string() }.events();
        let at = std::fs::symlink_metadata(&path).ok().filter(|m| m.is_file()).map(|m| (m.ino(), m.len()));
        Tail { path, at, partial: Vec::new() }
    }

    /// The events appended since the last call. A file moved aside or made anew is read
    /// from its start.
    pub fn read(&mut self) -> Vec<WorkloadEvent> {
        let Ok(mut f) = crate::sys::private::open(&self.path) else { return Vec::new() };
        let Ok(meta) = f.metadata() else { return Vec::new() };
        let from = match self.at {
            Some((ino, off)) if ino == meta.ino() && off <= meta.len() => off,
            _ => {
                self.partial.clear();
                0
            }
        };
        let mut bytes = Vec::new();
        if f.seek(SeekFrom::Start(from)).is_err() || f.take(MAX).read_to_end(&mut bytes).is_err() {
            return Vec::new();
        }
        self.at = Some((meta.ino(), from + bytes.len() as u64));
        self.partial.extend_from_slice(&bytes);
        let Some(end) = self.partial.iter().rposition(|b| *b == b'\n') else { return Vec::new() };
        let whole: Vec<u8> = self.partial.drain(..=end).collect();
        whole.split(|b| *b == b'\n').filter_map(|l| serde_json::from_slice(l).ok()).collect()
    }
}
