//! Errors, one enum per layer. Each reaches the user as one sentence; exit codes are decided
//! in `main.rs`.

use thiserror::Error;

/// A problem with a topology file: where it is and what to write instead.
#[derive(Debug, Error)]
pub enum SpecError {
    #[error("{file}:{line}:{col}: {message}\n  hint: {hint}")]
    At { file: String, line: usize, col: usize, message: String, hint: String },
    #[error("reading {file}: {source}")]
    Read { file: String, source: std::io::Error },
    /// A file refused before or while reading it, with no position to point at.
    #[error("{file}: {message}\n  hint: {hint}")]
    Refused { file: String, message: String, hint: String },
}

/// A kernel operation that failed, naming the operation and the object.
#[derive(Debug, Error)]
#[error("{op}: {source}")]
pub struct SysError {
    pub op: String,
    #[source]
    pub source: std::io::Error,
}

impl SysError {
    pub fn new(op: impl Into<String>, source: std::io::Error) -> Self {
        SysError { op: op.into(), source }
    }
    pub fn errno(op: impl Into<String>, errno: i32) -> Self {
        SysError::new(op, std::io::Error::from_raw_os_error(errno))
    }
    pub fn raw_os_error(&self) -> Option<i32> {
        self.source.raw_os_error()
    }
}

/// Anything a netlab command can fail with.
#[derive(Debug, Error)]
pub enum Error {
    #[error(transparent)]
    Spec(#[from] SpecError),
    #[error(transparent)]
    Sys(#[from] SysError),
    /// A name the lab needs belongs to someone else; nothing was changed.
    #[error("{0}")]
    Foreign(String),
    #[error("{0}")]
    NotFound(String),
    /// The command line asks for something that does not make sense.
    #[error("{0}")]
    Usage(String),
    /// A name matches more than one lab or node: the user must say which.
    #[error("{0}")]
    Ambiguous(String),
    /// What is asked for contradicts the lab as it is up (switching its firewall backend).
    #[error("{0}")]
    Conflict(String),
    /// `up` applied its plan, but the kernel keeps the lab from matching its file.
    #[error("{0}")]
    NotConverged(String),
    /// The kernel lacks something the file needs (a qdisc module); nothing was changed.
    #[error("{0}")]
    Missing(String),
    /// A file netlab writes for the user (a JUnit report) could not be written.
    #[error("writing {path}: {source}")]
    Write { path: String, source: std::io::Error },
    /// Teardown continued past failures; these objects could not be removed.
    #[error("could not remove everything:\n{}", .0.iter().map(|e| format!("  - {e}")).collect::<Vec<_>>().join("\n"))]
    Teardown(Vec<SysError>),
    /// The command needs privileges netlab does not have; checked before anything is tried.
    #[error("netlab needs root (CAP_NET_ADMIN and CAP_SYS_ADMIN): run it with sudo")]
    NeedsRoot,
    #[error("state record {path}: {message}")]
    Record { path: String, message: String },
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
