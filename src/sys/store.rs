//! The state records on disk: /run/netlab/LAB/state.json, written atomically, one `up` or
//! `down` per lab at a time under a lock file.
//!
//! Everything here is private to root (directories 0700, files 0600: workloads' `env` may
//! hold secrets) and nothing is followed through a symlink: the directories are checked to be
//! real directories, files are opened with `O_NOFOLLOW`. A record is data to check: one that
//! does not parse, or names what no record of netlab's could (a path as a sysctl key), is
//! moved aside, and the commands go on from the kernel's marks.

use crate::error::Error;
use crate::model::names::lab_name_problem;
use crate::state::record::run_dir;
use crate::state::Record;
use std::fs::{DirBuilder, File, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// A record is a few kilobytes per node; anything this large is not one of ours.
const MAX_RECORD: u64 = 64 << 20;

pub fn path(lab: &str) -> PathBuf {
    run_dir().join(lab).join("state.json")
}

fn record_error(path: &Path, message: impl Into<String>) -> Error {
    Error::Record { path: path.display().to_string(), message: message.into() }
}

/// The lab's directory, made private if it is not there; refused if it, or the run
/// directory above it, is anything but a real directory (a symlink would have netlab write
/// wherever it points).
pub fn lab_dir(lab: &str) -> Result<PathBuf, Error> {
    if let Some(p) = lab_name_problem(lab) {
        return Err(Error::Usage(p));
    }
    let run = run_dir();
    let dir = run.join(lab);
    for d in [&run, &dir] {
        match std::fs::symlink_metadata(d) {
            // Made by an older netlab, or by hand: private from now on.
            Ok(m) if m.is_dir() => {
                if m.permissions().mode() & 0o077 != 0 {
                    std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o700))
                        .map_err(|e| record_error(d, e.to_string()))?;
                }
            }
            Ok(_) => return Err(record_error(
                d,
                "is not a directory (a symlink?); netlab follows no links under its run directory: remove it",
            )),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                DirBuilder::new().mode(0o700).create(d).or_else(|e| {
                    // Made meanwhile by another netlab: fine if it is a directory.
                    if e.kind() == std::io::ErrorKind::AlreadyExists && d.is_dir() {
                        Ok(())
                    } else {
                        Err(record_error(d, e.to_string()))
                    }
                })?;
            }
            Err(e) => return Err(record_error(d, e.to_string())),
        }
    }
    Ok(dir)
}

/// Opens a file under the run directory for writing, private, never through a symlink.
/// A symlink here is refused (the lock must be the one every netlab opens).
fn open_private(path: &Path, truncate: bool) -> std::io::Result<File> {
    if std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink()) {
        return Err(std::io::Error::other(format!(
            "{} is a symlink; netlab follows no links under its run directory: remove it",
            path.display()
        )));
    }
    crate::sys::private::create(path, !truncate)
}

/// Holds the lab for one `up` or `down` at a time (released when dropped).
pub fn lock(lab: &str) -> Result<LabLock, Error> {
    let dir = lab_dir(lab)?;
    let file = open_private(&dir.join("lock"), false).map_err(|e| record_error(&dir, e.to_string()))?;
    let flock = nix::fcntl::Flock::lock(file, nix::fcntl::FlockArg::LockExclusive)
        .map_err(|(_, e)| record_error(&dir, format!("locking: {e}")))?;
    Ok(LabLock { _flock: flock, dir })
}

/// The machine-wide lock under which a lab checks that the namespace names it needs are
/// free and makes them: a lock on the run directory itself, so that it leaves no file behind.
pub fn claim_names() -> Result<LabLock, Error> {
    let run = run_dir();
    crate::sys::private::dir(&run).map_err(|e| record_error(&run, e.to_string()))?;
    let file = File::open(&run).map_err(|e| record_error(&run, e.to_string()))?;
    let flock = nix::fcntl::Flock::lock(file, nix::fcntl::FlockArg::LockExclusive)
        .map_err(|(_, e)| record_error(&run, format!("locking: {e}")))?;
    Ok(LabLock { _flock: flock, dir: PathBuf::new() })
}

pub fn load(lab: &str) -> Result<Option<Record>, Error> {
    if let Some(p) = lab_name_problem(lab) {
        return Err(Error::Usage(p));
    }
    load_from(&path(lab), lab)
}

/// Reads the record at `path`, which must be lab `lab`'s. One that cannot be trusted is moved
/// aside (with a warning) and counts as none: the kernel's marks still say what is the lab's.
fn load_from(path: &Path, lab: &str) -> Result<Option<Record>, Error> {
    let file = match OpenOptions::new()
        .read(true)
        .custom_flags(nix::libc::O_NOFOLLOW | nix::libc::O_CLOEXEC)
        .open(path)
    {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) if e.raw_os_error() == Some(nix::libc::ELOOP) => {
            return Err(record_error(
                path,
                "is a symlink; netlab follows no links under its run directory: remove it",
            ))
        }
        Err(e) => return Err(record_error(path, e.to_string())),
    };
    let meta = file.metadata().map_err(|e| record_error(path, e.to_string()))?;
    if !meta.is_file() || meta.len() > MAX_RECORD {
        return Err(record_error(
            path,
            "is not a record netlab wrote (not a regular file, or too large): remove it",
        ));
    }
    let mut bytes = Vec::new();
    file.take(MAX_RECORD).read_to_end(&mut bytes).map_err(|e| record_error(path, e.to_string()))?;
    let record = serde_json::from_slice::<Record>(&bytes)
        .map_err(|e| format!("does not parse ({e})"))
        .and_then(|r| r.check(lab).map(|()| r));
    match record {
        Ok(r) => Ok(Some(r)),
        Err(why) => {
            let aside = path.with_extension(format!("json.bad-{}", std::process::id()));
            std::fs::rename(path, &aside).map_err(|e| record_error(path, e.to_string()))?;
            eprintln!(
                "netlab: warning: the record {} {why}; moved it to {} and going by the kernel's marks",
                path.display(),
                aside.display()
            );
            Ok(None)
        }
    }
}

/// Writes the record atomically (temp file + rename), so a crash never leaves half a record.
pub fn save(record: &Record) -> Result<(), Error> {
    let dir = lab_dir(&record.lab)?;
    let path = dir.join("state.json");
    let err = |e: std::io::Error| record_error(&path, e.to_string());
    let tmp = dir.join("state.json.tmp");
    let json = serde_json::to_vec_pretty(record).expect("record serializes");
    let mut f = open_private(&tmp, true).map_err(err)?;
    f.write_all(&json).map_err(err)?;
    drop(f);
    std::fs::rename(&tmp, &path).map_err(err)
}

/// Removes the lab's record directory; missing counts as done.
pub fn remove(lab: &str) -> Result<(), Error> {
    if let Some(p) = lab_name_problem(lab) {
        return Err(Error::Usage(p));
    }
    let dir = run_dir().join(lab);
    // remove_dir_all does not follow a symlink: it removes the link itself.
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
        let name = e.file_name().to_string_lossy().into_owned();
        // Only real directories named like labs: anything else there is not netlab's.
        if lab_name_problem(&name).is_some() || !e.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        if let Some(r) = load_from(&e.path().join("state.json"), &name)? {
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
        if self.dir.as_os_str().is_empty() {
            return;
        }
        let only_lock =
            std::fs::read_dir(&self.dir).is_ok_and(|d| d.flatten().all(|e| e.file_name() == "lock"));
        if only_lock {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}
