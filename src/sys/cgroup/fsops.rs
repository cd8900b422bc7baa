//! File operations on cgroup directories, each error saying which path and what was being
//! done. Shared by the v1 and v2 code in `sys::cgroup`.

use std::fs;
use std::io;
use std::path::Path;

use super::files::parse_procs;

/// `e` with what we were doing in front, keeping its kind so callers can still match on it.
pub(super) fn ctx(e: io::Error, what: impl std::fmt::Display) -> io::Error {
    io::Error::new(e.kind(), format!("{what}: {e}"))
}

/// The file's text, or `None` when it does not exist (a controller not enabled there, or a
/// group removed meanwhile).
pub(super) fn read_opt(path: &Path) -> io::Result<Option<String>> {
    match fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(ctx(e, format!("reading {}", path.display()))),
    }
}

pub(super) fn write(path: &Path, value: &str) -> io::Result<()> {
    fs::write(path, value).map_err(|e| ctx(e, format!("writing {value:?} to {}", path.display())))
}

/// `mkdir -p`.
pub(super) fn mkdir_all(path: &Path) -> io::Result<()> {
    fs::create_dir_all(path).map_err(|e| ctx(e, format!("creating cgroup {}", path.display())))
}

/// Appends the pids of `dir` and of every group below it; a missing `dir` adds nothing.
pub(super) fn procs_under(dir: &Path, out: &mut Vec<u32>) -> io::Result<()> {
    let procs = dir.join("cgroup.procs");
    if let Some(text) = read_opt(&procs)? {
        let pids = parse_procs(&text).map_err(|e| {
            io::Error::new(io::ErrorKind::InvalidData, format!("reading {}: {e}", procs.display()))
        })?;
        out.extend(pids);
    }
    for child in subdirs(dir)? {
        procs_under(&child, out)?;
    }
    Ok(())
}

/// Removes `dir` and the groups below it, children first (cgroupfs refuses to remove a group
/// with children). What is already gone counts as removed.
pub(super) fn rmdir_tree(dir: &Path) -> io::Result<()> {
    for child in subdirs(dir)? {
        rmdir_tree(&child)?;
    }
    match fs::remove_dir(dir) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) if e.raw_os_error() == Some(nix::libc::EBUSY) => Err(ctx(
            e,
            format!("removing cgroup {} (processes are still in it: kill them first)", dir.display()),
        )),
        Err(e) => Err(ctx(e, format!("removing cgroup {}", dir.display()))),
    }
}

/// The subdirectories of `dir` (its child groups); none when `dir` does not exist.
fn subdirs(dir: &Path) -> io::Result<Vec<std::path::PathBuf>> {
    let listing = |e| ctx(e, format!("listing cgroup {}", dir.display()));
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(listing(e)),
    };
    let mut dirs = Vec::new();
    for entry in entries {
        let entry = entry.map_err(listing)?;
        // A group removed between readdir and stat is simply not there any more.
        match entry.file_type() {
            Ok(t) if t.is_dir() => dirs.push(entry.path()),
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(listing(e)),
        }
    }
    Ok(dirs)
}
