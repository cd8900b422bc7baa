//! Errors, one enum per layer. Each reaches the user as one sentence; exit codes are decided
//! in `main.rs`.

use thiserror::Error;

/// A problem with a topology file: where it is and what to write instead.
#[derive(Debug, Error)]
pub enum SpecError {
    /// Problems at places of files, in the order of the file: every independent one found
    /// in one run (at least one). Shown as annotated snippets of the file.
    #[error("{}", crate::spec::report::plain(.0))]
    At(Vec<Diagnostic>),
    #[error("reading {file}: {source}")]
    Read { file: String, source: std::io::Error },
    /// A file refused before or while reading it, with no position to point at.
    #[error("{file}: {message}\n  hint: {hint}")]
    Refused { file: String, message: String, hint: String },
}

/// One problem at one place of a file: `file:line:col`, what is wrong, what to write instead,
/// and the lines of the file it points at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub file: String,
    /// 1-based line and column (in characters).
    pub line: usize,
    pub col: usize,
    pub message: String,
    pub hint: String,
    /// The line it points at and the bytes of it to underline; `None` when the text is unknown.
    pub excerpt: Option<Excerpt>,
}

/// The source line a diagnostic points at: kept instead of the whole file, so that many
/// diagnostics of a large file stay small.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Excerpt {
    /// The line, without its newline.
    pub text: String,
    /// The bytes of `text` to underline (empty: a caret at its start).
    pub range: std::ops::Range<usize>,
}

impl SpecError {
    /// The positioned problems this error holds (none for a file that could not be read).
    pub fn diagnostics(&self) -> &[Diagnostic] {
        match self {
            SpecError::At(d) => d,
            _ => &[],
        }
    }

    /// One error of several of independent items: their diagnostics in the order of the file
    /// (each once). An error without a position (a file that could not be read) wins: it is
    /// returned alone. `None` when there are none.
    pub fn merge(errors: impl IntoIterator<Item = SpecError>) -> Option<SpecError> {
        let mut all: Vec<Diagnostic> = Vec::new();
        for e in errors {
            match e {
                SpecError::At(d) => {
                    for d in d {
                        if !all.contains(&d) {
                            all.push(d);
                        }
                    }
                }
                other => return Some(other),
            }
        }
        if all.is_empty() {
            return None;
        }
        // In the order of the file; the diagnostics of another file (a seccomp profile the
        // topology names) after those of the file seen first.
        let mut files: Vec<String> = Vec::new();
        for d in &all {
            if !files.contains(&d.file) {
                files.push(d.file.clone());
            }
        }
        all.sort_by_key(|d| (files.iter().position(|f| *f == d.file), d.line, d.col));
        Some(SpecError::At(all))
    }
}

/// Errors of independent items (nodes, links, checks, ...), collected instead of returned at
/// the first, so that one run reports all of them. An item whose error was kept is skipped by
/// whatever depends on it.
#[derive(Debug, Default)]
pub struct Problems(Vec<SpecError>);

impl Problems {
    /// The value of an item that resolved, or `None` after keeping its error.
    pub fn keep<T>(&mut self, r: Result<T, SpecError>) -> Option<T> {
        match r {
            Ok(v) => Some(v),
            Err(e) => {
                self.0.push(e);
                None
            }
        }
    }

    pub fn push(&mut self, e: SpecError) {
        self.0.push(e);
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `v` when nothing went wrong, else every error kept, merged into one.
    pub fn finish<T>(self, v: T) -> Result<T, SpecError> {
        match SpecError::merge(self.0) {
            None => Ok(v),
            Some(e) => Err(e),
        }
    }
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
