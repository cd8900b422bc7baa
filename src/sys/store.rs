//! The state records on disk: /run/netlab/LAB/state.json, written atomically, one `up` or
//! `down` per lab at a time under a lock file.

use crate::error::Error;
use crate::state::record::run_dir;
use crate::state::Record;
use std::path::{Path, PathBuf};

pub fn path(lab: &str) -> PathBuf {
    run_dir().join(lab).join("state.json")
}

fn record_error(path: &Path, message: impl Into<String>) -> Error {
    Error::Record { path: path.display().to_string(), message: message.into() }
}

/// Holds the lab for one `up` or `down` at a time (released when dropped).
pub fn lock(lab: &str) -> Result<LabLock, Error> {
    let dir = run_dir().join(lab);
    std::fs::create_dir_all(&dir).map_err(|e| record_error(&dir, e.to_string()))?;
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(dir.join("lock"))
        .map_err(|e| record_error(&dir, e.to_string()))?;
    let flock = nix::fcntl::Flock::lock(file, nix::fcntl::FlockArg::LockExclusive)
        .map_err(|(_, e)| record_error(&dir, format!("locking: {e}")))?;
    Ok(LabLock { _flock: flock, dir })
}

/// Notes the identity of every recorded namespace that is mounted now.
fn remember_ids(record: &mut Record) {
    record.netns_ids =
        record.namespaces.iter().filter_map(|n| Some((n.clone(), super::netns::identity(n)?))).collect();
}

/// Whether the namespace under `name` is the very one the lab mounted.
pub fn made(record: &Record, name: &str) -> bool {
    record.netns_ids.get(name).is_some_and(|id| super::netns::identity(name) == Some(*id))
}

pub fn load(lab: &str) -> Result<Option<Record>, Error> {
    load_from(&path(lab))
}

fn load_from(path: &Path) -> Result<Option<Record>, Error> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(|e| {
            record_error(path, format!("unreadable ({e}); remove it by hand if the lab is gone"))
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(record_error(path, e.to_string())),
    }
}

/// Notes the namespaces' identities, then writes the record atomically (temp file + rename),
/// so a crash never leaves half a record.
pub fn save(record: &mut Record) -> Result<(), Error> {
    remember_ids(record);
    let path = path(&record.lab);
    let err = |e: std::io::Error| record_error(&path, e.to_string());
    let dir = path.parent().expect("record path has a parent");
    std::fs::create_dir_all(dir).map_err(err)?;
    let tmp = dir.join("state.json.tmp");
    let json = serde_json::to_vec_pretty(record).expect("record serializes");
    std::fs::write(&tmp, json).map_err(err)?;
    std::fs::rename(&tmp, &path).map_err(err)
}

/// Removes the lab's record directory; missing counts as done.
pub fn remove(lab: &str) -> Result<(), Error> {
    let dir = run_dir().join(lab);
    match std::fs::remove_dir_all(&dir) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(record_error(&dir, e.to_string())),
    }
}

/// Every lab with a record on this machine, sorted by name.
pub fn all() -> Result<Vec<Record>, Error> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(run_dir()) else { return Ok(out) };
    for e in entries.flatten() {
        if let Some(r) = load_from(&e.path().join("state.json"))? {
            out.push(r);
        }
    }
    out.sort_by(|a, b| a.lab.cmp(&b.lab));
    Ok(out)
}

/// An exclusive hold on a lab. When nothing but the lock file is left in the lab's directory
/// (an `up` refused before it made anything), the directory goes with the lock.
pub struct LabLock {
    _flock: nix::fcntl::Flock<std::fs::File>,
    dir: PathBuf,
}

impl Drop for LabLock {
    fn drop(&mut self) {
        let only_lock =
            std::fs::read_dir(&self.dir).is_ok_and(|d| d.flatten().all(|e| e.file_name() == "lock"));
        if only_lock {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}
