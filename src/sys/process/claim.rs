//! A supervisor's claim on its workload: a write lock (an open-file-description lock,
//! `fcntl(F_OFD_SETLK)`) on `workloads/NODE.NAME.lock`, taken before the supervisor does
//! anything else and held for its whole life; the kernel drops it when the supervisor dies,
//! however it dies. A held lock is a live supervisor, whether or not its pid file was written
//! yet: `up` tests the lock (`F_OFD_GETLK`, which takes nothing, so testing never makes a
//! starting supervisor fail), and a second supervisor of one workload cannot take it.

use super::spawn;
use std::fs::File;
use std::io;
use std::path::Path;
use std::time::{Duration, Instant};

fn whole_file(kind: i32) -> nix::libc::flock {
    // SAFETY: flock is plain data; all-zero is a valid value (whole file, from offset 0).
    let mut l: nix::libc::flock = unsafe { std::mem::zeroed() };
    l.l_type = kind as i16;
    l.l_whence = nix::libc::SEEK_SET as i16;
    l
}

/// A held claim; released when the file (and every copy of its descriptor) closes.
pub struct Claim {
    _file: File,
}

/// Takes the claim at `path`, or fails at once when another process holds it.
pub fn take(path: &Path) -> io::Result<Claim> {
    let file = crate::sys::private::create(path, true)?;
    let lock = whole_file(nix::libc::F_WRLCK);
    match nix::fcntl::fcntl(&file, nix::fcntl::FcntlArg::F_OFD_SETLK(&lock)) {
        Ok(_) => Ok(Claim { _file: file }),
        Err(nix::Error::EAGAIN) | Err(nix::Error::EACCES) => Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            format!("another supervisor holds {}: this workload is supervised already", path.display()),
        )),
        Err(e) => Err(io::Error::other(format!("locking {}: {e}", path.display()))),
    }
}

/// Whether a live process holds the claim at `path`.
pub fn held(path: &Path) -> bool {
    let Ok(file) = crate::sys::private::open(path) else { return false };
    let mut lock = whole_file(nix::libc::F_WRLCK);
    match nix::fcntl::fcntl(&file, nix::fcntl::FcntlArg::F_OFD_GETLK(&mut lock)) {
        Ok(_) => lock.l_type != nix::libc::F_UNLCK as i16,
        // Cannot tell: count it as held, so that no second supervisor is started.
        Err(_) => true,
    }
}

/// Stops whoever holds the claim at `path` (supervisors of the workload whose spec is
/// `spec`, found by command line: a crash may have lost the pid file) and waits until the
/// claim is free; fails when it is still held after `grace` and a SIGKILL.
pub fn release(path: &Path, spec: &Path, lab_dir: &Path, grace: Duration) -> io::Result<()> {
    let deadline = Instant::now() + grace + Duration::from_secs(2);
    let mut signalled = false;
    while held(path) {
        if !signalled {
            for pid in supervisors_of(spec) {
                let d = lab_dir.to_path_buf();
                std::thread::spawn(move || spawn::stop(pid, &d, grace));
            }
            signalled = true;
        }
        if Instant::now() >= deadline {
            return Err(io::Error::other(format!(
                "a supervisor still holds {} after SIGKILL; stop it by hand",
                path.display()
            )));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    Ok(())
}

/// The pids of netlab's supervisors running the spec at `spec`.
pub fn supervisors_of(spec: &Path) -> Vec<u32> {
    let want = spec.as_os_str().as_encoded_bytes();
    std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            let Ok(cmd) = std::fs::read(format!("/proc/{pid}/cmdline")) else { return false };
            let args: Vec<&[u8]> = cmd.split(|b| *b == 0).collect();
            args.len() >= 3 && args.iter().any(|a| *a == b"__netlab-init") && args.contains(&want)
        })
        .collect()
}
