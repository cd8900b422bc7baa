//! Reading a topology file and turning TOML errors into file:line:col diagnostics.

use super::raw::RawTopo;
use crate::error::SpecError;
use std::ops::Range;
use std::path::{Path, PathBuf};

/// The text of a topology file and where it came from, kept so that every later error can
/// be reported as `file:line:col`.
#[derive(Debug, Clone)]
pub struct Source {
    pub path: PathBuf,
    pub text: String,
}

impl Source {
    /// 1-based line and column (in characters) of a byte offset.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let before = &self.text[..offset];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map(|i| i + 1).unwrap_or(0);
        let col = self.text[line_start..offset].chars().count() + 1;
        (line, col)
    }

    /// An error located at `span` in this file.
    pub fn error(&self, span: Range<usize>, message: impl Into<String>, hint: impl Into<String>) -> SpecError {
        let (line, col) = self.line_col(span.start);
        SpecError::At {
            file: self.path.display().to_string(),
            line,
            col,
            message: message.into(),
            hint: hint.into(),
        }
    }

    /// The file's stem: a lab's default name.
    pub fn stem(&self) -> String {
        self.path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default()
    }
}

/// Reads and parses a topology file.
pub fn load_file(path: &Path) -> Result<(Source, RawTopo), SpecError> {
    let text = std::fs::read_to_string(path).map_err(|e| SpecError::Read {
        file: path.display().to_string(),
        source: e,
    })?;
    parse_str(path, text)
}

/// Parses topology text as if it were read from `path`.
pub fn parse_str(path: &Path, text: String) -> Result<(Source, RawTopo), SpecError> {
    let src = Source { path: path.to_path_buf(), text };
    match toml::from_str::<RawTopo>(&src.text) {
        Ok(raw) => Ok((src, raw)),
        Err(e) => {
            let span = e.span().unwrap_or(0..0);
            let (message, hint) = explain_toml_error(e.message());
            Err(src.error(span, message, hint))
        }
    }
}

/// Rewords serde/TOML messages into netlab's voice and adds what to write instead.
fn explain_toml_error(msg: &str) -> (String, String) {
    let msg = msg.trim().trim_end_matches('.').replace('`', "'");
    let first = msg.lines().next().unwrap_or("").to_string();
    if let Some(rest) = first.strip_prefix("unknown field ") {
        let (key, expected) = match rest.split_once(", expected ") {
            Some((k, e)) => (k.to_string(), e.to_string()),
            None => (rest.to_string(), String::new()),
        };
        let hint = if expected.is_empty() {
            "remove it".to_string()
        } else {
            format!("remove it; the keys allowed here are {}", expected.replace("one of ", ""))
        };
        return (format!("unknown key {key}"), hint);
    }
    if let Some(rest) = first.strip_prefix("missing field ") {
        return (format!("missing key {rest}"), format!("add {} = ...", rest.trim_matches('\'')));
    }
    if first.starts_with("invalid type") {
        return (first.clone(), "see the topology file format in CONTRACT.md".into());
    }
    (
        format!("invalid TOML: {first}"),
        "fix the TOML syntax (strings in double quotes, one key = value per line)".into(),
    )
}
