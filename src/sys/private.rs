//! Files under netlab's run directory (/run/netlab), private and never followed through a
//! symlink: directories 0700 (refused when a symlink or anything but a directory stands
//! where one goes), files 0600 opened with `O_NOFOLLOW`. A symlink where netlab writes a
//! file is removed and the file made anew (the link's target stays untouched); a symlink
//! where it reads one counts as no file. Every runtime file of a lab (pid files, specs,
//! logs, statuses, exec info, fingerprints, locks) goes through here, like the record.

use crate::state::record::run_dir;
use std::fs::{DirBuilder, File, OpenOptions};
use std::io::{self, Read};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

const NOFOLLOW: i32 = nix::libc::O_NOFOLLOW | nix::libc::O_CLOEXEC;

/// Makes `dir` and every directory between the run directory and it, each private; fails
/// where a symlink or a non-directory stands in the way.
pub fn dir(dir: &Path) -> io::Result<()> {
    let run = run_dir();
    let mut chain = vec![dir.to_path_buf()];
    let mut d = dir;
    while let Some(p) = d.parent() {
        if !dir.starts_with(&run) || d == run {
            break;
        }
        chain.push(p.to_path_buf());
        d = p;
    }
    for d in chain.iter().rev() {
        match std::fs::symlink_metadata(d) {
            Ok(m) if m.is_dir() => {
                if m.permissions().mode() & 0o077 != 0 {
                    std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o700))?;
                }
            }
            Ok(_) => {
                return Err(io::Error::other(format!(
                    "{} is not a directory (a symlink?); netlab follows no links under its run directory: remove it",
                    d.display()
                )))
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => match DirBuilder::new().mode(0o700).create(d) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists && !d.is_symlink() && d.is_dir() => {}
                Err(e) => return Err(io::Error::new(e.kind(), format!("making {}: {e}", d.display()))),
            },
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Opens `path` for writing (`append`, or else truncated), made 0600, its directories
/// private. A symlink there is replaced by the file, never written through.
pub fn create(path: &Path, append: bool) -> io::Result<File> {
    if let Some(parent) = path.parent() {
        dir(parent)?;
    }
    let open = || {
        let mut o = OpenOptions::new();
        o.create(true).mode(0o600).custom_flags(NOFOLLOW | nix::libc::O_NONBLOCK);
        if append {
            o.append(true);
        } else {
            o.write(true).truncate(true);
        }
        o.open(path)
    };
    let f = match open() {
        // A symlink (ELOOP) or a FIFO without reader (ENXIO): not ours, replaced.
        Err(e) if matches!(e.raw_os_error(), Some(nix::libc::ELOOP) | Some(nix::libc::ENXIO)) => {
            std::fs::remove_file(path)?;
            open()?
        }
        r => r?,
    };
    if !f.metadata()?.is_file() {
        return Err(io::Error::other(format!(
            "{} is not a regular file; netlab writes only its own files under its run directory: remove it",
            path.display()
        )));
    }
    // A file made by an older netlab (or anyone) keeps its mode on open: make it private.
    f.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    Ok(f)
}

/// Writes `path` whole, atomically (a private temp file renamed over it, which also replaces
/// a symlink there).
pub fn write(path: &Path, bytes: &[u8]) -> io::Result<()> {
    use std::io::Write;
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}.tmp-{}", std::process::id()));
    let mut f = create(&tmp, false)?;
    f.write_all(bytes)?;
    drop(f);
    std::fs::rename(&tmp, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })
}

/// Opens a regular file for reading, not through a symlink (`ELOOP` is an error).
pub fn open(path: &Path) -> io::Result<File> {
    let f = OpenOptions::new().read(true).custom_flags(NOFOLLOW | nix::libc::O_NONBLOCK).open(path)?;
    if !f.metadata()?.is_file() {
        return Err(io::Error::other(format!("{} is not a regular file", path.display())));
    }
    Ok(f)
}

/// Reads at most `max` bytes of a regular file, not through a symlink.
pub fn read(path: &Path, max: u64) -> io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    open(path)?.take(max).read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// The names in directory `dir`, when it is a real directory (not a symlink to one).
pub fn names(dir: &Path) -> Vec<String> {
    if !std::fs::symlink_metadata(dir).is_ok_and(|m| m.is_dir()) {
        return Vec::new();
    }
    std::fs::read_dir(dir)
        .map(|d| d.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect())
        .unwrap_or_default()
}
