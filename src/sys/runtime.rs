//! The async runtime every command and the library run on.

use crate::error::{Error, SysError};

/// A small multi-threaded runtime, with the descriptor limit raised first: a lab keeps a
/// socket per namespace, more than the usual soft limit allows for large labs.
pub fn runtime() -> Result<tokio::runtime::Runtime, Error> {
    raise_fd_limit();
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Error::Sys(SysError::new("starting the async runtime", e)))
}

fn raise_fd_limit() {
    use nix::sys::resource::{getrlimit, setrlimit, Resource};
    if let Ok((_, hard)) = getrlimit(Resource::RLIMIT_NOFILE) {
        let _ = setrlimit(Resource::RLIMIT_NOFILE, hard, hard);
    }
}
