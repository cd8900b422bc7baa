//! Reading a topology file and turning TOML errors into file:line:col diagnostics.

use super::raw::RawTopo;
use crate::error::{Diagnostic, Excerpt, SpecError};
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
    pub fn error(
        &self,
        span: Range<usize>,
        message: impl Into<String>,
        hint: impl Into<String>,
    ) -> SpecError {
        SpecError::At(vec![self.diagnostic(span, message.into(), hint.into())])
    }

    /// The diagnostic of a problem at `span`: its position and the line it is on, with the
    /// part of `span` on that line underlined.
    pub fn diagnostic(&self, span: Range<usize>, message: String, hint: String) -> Diagnostic {
        let (line, col) = self.line_col(span.start);
        let start = floor_char(&self.text, span.start.min(self.text.len()));
        let line_start = self.text[..start].rfind('\n').map(|i| i + 1).unwrap_or(0);
        let line_end = self.text[start..].find('\n').map(|i| start + i).unwrap_or(self.text.len());
        let text = self.text[line_start..line_end].trim_end_matches('\r');
        let end = floor_char(&self.text, span.end.clamp(start, line_end)).min(line_start + text.len());
        let excerpt =
            Excerpt { text: text.to_string(), range: start - line_start..end.max(start) - line_start };
        Diagnostic { file: self.path.display().to_string(), line, col, message, hint, excerpt: Some(excerpt) }
    }

    /// The file's stem: a lab's default name.
    pub fn stem(&self) -> String {
        self.path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default()
    }
}

/// The largest index at most `i` that starts a character of `s`.
fn floor_char(s: &str, mut i: usize) -> usize {
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// The diagnostic of a problem at `line`:`col` (1-based, in characters) of another file's
/// `text`, such as a seccomp profile the topology names.
pub fn diagnostic_at(
    file: &Path,
    text: &str,
    line: usize,
    col: usize,
    message: String,
    hint: String,
) -> Diagnostic {
    let line_text = text.lines().nth(line.saturating_sub(1)).unwrap_or("");
    let start: usize = line_text.chars().take(col.saturating_sub(1)).map(char::len_utf8).sum();
    let end = line_text[start..].chars().next().map(|c| start + c.len_utf8()).unwrap_or(start);
    Diagnostic {
        file: file.display().to_string(),
        line,
        col,
        message,
        hint,
        excerpt: Some(Excerpt { text: line_text.to_string(), range: start..end }),
    }
}

/// The largest topology file netlab reads: far above any real lab (a 10 000-node file is about
/// 1 MiB), small enough that reading it cannot exhaust memory.
pub const MAX_FILE_BYTES: u64 = 16 << 20;

/// The text of a topology file: read only if it is a regular file of at most
/// `MAX_FILE_BYTES`, and only if it is UTF-8. A FIFO is refused without opening it (opening
/// one blocks until a writer comes), a device such as `/dev/zero` without reading it.
pub fn read_text(path: &Path) -> Result<String, SpecError> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    let file = path.display().to_string();
    let refused = |message: String, hint: &str| SpecError::Refused {
        file: file.clone(),
        message,
        hint: hint.to_string(),
    };
    let read_err = |e: std::io::Error| SpecError::Read { file: file.clone(), source: e };
    let not_regular = |m: &std::fs::Metadata| {
        refused(
            format!("is {}, not a regular file", file_kind(m)),
            "give the path of a topology file (.toml)",
        )
    };
    let meta = std::fs::metadata(path).map_err(read_err)?;
    if !meta.is_file() {
        return Err(not_regular(&meta));
    }
    // O_NONBLOCK: should the path become a FIFO between the check and the open, the open
    // does not wait for a writer; the check on the open file then refuses it.
    let mut f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(nix::libc::O_NONBLOCK | nix::libc::O_NOCTTY)
        .open(path)
        .map_err(read_err)?;
    let meta = f.metadata().map_err(read_err)?;
    if !meta.is_file() {
        return Err(not_regular(&meta));
    }
    let too_big = |n: u64| {
        refused(
            format!("is {n} bytes long; netlab reads topology files of at most 16 MiB"),
            "split the lab into several files, or generate a smaller one",
        )
    };
    if meta.len() > MAX_FILE_BYTES {
        return Err(too_big(meta.len()));
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    // One byte more than the cap: a file that grows while it is read is caught too.
    f.by_ref().take(MAX_FILE_BYTES + 1).read_to_end(&mut bytes).map_err(read_err)?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(too_big(bytes.len() as u64));
    }
    decode(path, bytes)
}

/// What kind of file a non-regular one is, in words.
fn file_kind(m: &std::fs::Metadata) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    let t = m.file_type();
    if t.is_dir() {
        "a directory"
    } else if t.is_fifo() {
        "a FIFO (named pipe)"
    } else if t.is_char_device() {
        "a character device"
    } else if t.is_block_device() {
        "a block device"
    } else if t.is_socket() {
        "a socket"
    } else {
        "not a regular file"
    }
}

/// UTF-8 text, or an error at the line and column of the first byte that is not UTF-8. A
/// UTF-16 file (it starts with a byte-order mark) is named as such.
pub fn decode(path: &Path, bytes: Vec<u8>) -> Result<String, SpecError> {
    let file = path.display().to_string();
    if bytes.starts_with(&[0xff, 0xfe]) || bytes.starts_with(&[0xfe, 0xff]) {
        let order = if bytes[0] == 0xff { "little-endian" } else { "big-endian" };
        return Err(SpecError::Refused {
            file,
            message: format!("is UTF-16 ({order}, with a byte-order mark), not UTF-8"),
            hint: "save the file as UTF-8 (in most editors: Save As, encoding UTF-8)".into(),
        });
    }
    match String::from_utf8(bytes) {
        Ok(text) => Ok(text),
        Err(e) => {
            let bytes = e.as_bytes();
            let at = e.utf8_error().valid_up_to();
            let valid = std::str::from_utf8(&bytes[..at]).expect("valid up to here");
            let src = Source { path: path.to_path_buf(), text: valid.to_string() };
            Err(src.error(
                at..at,
                format!("byte 0x{:02x} is not UTF-8 (the file must be UTF-8 text)", bytes[at]),
                "save the file as UTF-8, or write the character as a \\u escape inside a string",
            ))
        }
    }
}

/// Parses topology text as if it were read from `path`.
pub fn parse_str(path: &Path, text: String) -> Result<(Source, RawTopo), SpecError> {
    match parse_text(path, text)? {
        Parsed::Whole(src, raw) => Ok((src, raw)),
        Parsed::Partial(_, _, unknown) => Err(unknown),
    }
}

/// A file as far as it parses.
pub enum Parsed {
    Whole(Source, RawTopo),
    /// Its only faults are unknown keys (the error): the rest of it, read as if they were not
    /// there, so that one run also names the file's other problems.
    Partial(Source, RawTopo, SpecError),
}

/// Parses topology text as if it were read from `path`, past unknown keys where it can.
pub fn parse_text(path: &Path, text: String) -> Result<Parsed, SpecError> {
    let src = Source { path: path.to_path_buf(), text };
    let e = match toml::from_str::<RawTopo>(&src.text) {
        Ok(raw) => return Ok(Parsed::Whole(src, raw)),
        Err(e) => e,
    };
    let span = e.span().unwrap_or(0..0);
    let at = src.text.get(span.clone()).unwrap_or("").trim().to_string();
    let (message, hint) = explain_toml_error(e.message(), &at);
    let mut all = vec![src.diagnostic(span.clone(), message, hint)];
    // Serde stops at the first unknown key: the others are found against the schema,
    // so that one run names every misspelt key.
    let mut rest = None;
    if e.message().starts_with("unknown field") {
        if let Ok(doc) = toml::de::DeTable::parse(&src.text) {
            let unknown = super::schema::unknown_keys(doc.get_ref());
            for u in unknown.iter().filter(|u| u.at.start != span.start) {
                let list = u.allowed.iter().map(|k| format!("'{k}'")).collect::<Vec<_>>().join(", ");
                let hint = match super::suggest::closest(&u.key, u.allowed.iter().map(String::as_str)) {
                    Some(k) => format!("did you mean '{k}'? the keys allowed here are {list}"),
                    None => format!("remove it; the keys allowed here are {list}"),
                };
                all.push(src.diagnostic(u.at.clone(), format!("unknown key '{}'", u.key), hint));
            }
            rest = without_keys(&src.text, &unknown).and_then(|t| toml::from_str::<RawTopo>(&t).ok());
        }
    }
    let err = SpecError::merge([SpecError::At(all)]).expect("one diagnostic at least");
    Ok(match rest {
        Some(raw) => Parsed::Partial(src, raw, err),
        None => return Err(err),
    })
}

/// The text with each unknown `key = value` blanked out, so that every other span stays
/// where it was. None when one of them is a `[table]` header, whose blanking would move the
/// keys under it into the table before.
fn without_keys(text: &str, unknown: &[super::schema::UnknownKey]) -> Option<String> {
    let mut bytes = text.as_bytes().to_vec();
    for u in unknown {
        let between = text.get(u.at.end..u.value.start)?;
        if u.value.start < u.at.end || !between.trim_start().starts_with('=') {
            return None;
        }
        for b in &mut bytes[u.at.start..u.value.end] {
            if *b != b'\n' {
                *b = b' ';
            }
        }
    }
    String::from_utf8(bytes).ok()
}

/// Rewords serde/TOML messages into netlab's voice and adds what to write instead.
/// `at` is the text the error points at.
fn explain_toml_error(msg: &str, at: &str) -> (String, String) {
    let msg = msg.trim().trim_end_matches('.').replace('`', "'");
    let first = msg.lines().next().unwrap_or("").to_string();
    if let Some(rest) = first.strip_prefix("unknown field ") {
        let (key, expected) = match rest.split_once(", expected ") {
            Some((k, e)) => (k.to_string(), e.to_string()),
            None => (rest.to_string(), String::new()),
        };
        let allowed = expected.replace("one of ", "");
        let names: Vec<&str> = allowed.split(", ").map(|k| k.trim_matches('\'')).collect();
        let hint = match super::suggest::closest(key.trim_matches('\''), names.iter().copied()) {
            Some(k) => format!("did you mean '{k}'? the keys allowed here are {allowed}"),
            None if expected.is_empty() => "remove it".to_string(),
            None => format!("remove it; the keys allowed here are {allowed}"),
        };
        return (format!("unknown key {key}"), hint);
    }
    if let Some(rest) = first.strip_prefix("missing field ") {
        let key = rest.trim_matches('\'');
        let example = match key {
            "endpoints" => "endpoints = [\"a:eth0\", \"b:eth0\"]",
            "to" => "to = \"default\" or to = \"10.1.0.0/16\"",
            "from" => "from = \"h1\" (the node the check runs in)",
            "via" => "via = \"10.0.0.1\" (the next hop's gateway)",
            _ => "it",
        };
        return (format!("missing key '{key}'"), format!("add {example}"));
    }
    if first.starts_with("duplicate key") {
        let key = at.split(['=', ']']).next().unwrap_or(at).trim().trim_start_matches('[');
        return (format!("key '{key}' is set twice"), "keep one of them".into());
    }
    if let Some(rest) = first.strip_prefix("invalid type: ") {
        let (found, expected) = rest.split_once(", expected ").unwrap_or((rest, ""));
        let found = found.split(' ').next().unwrap_or(found);
        let (want, hint) = match expected {
            e if e == super::raw::VIA_EXPECTED => (
                "a gateway or a list of next hops",
                "write via = \"10.0.0.1\", or via = [\"10.0.1.2\", { via = \"10.0.2.2\", weight = 3 }]",
            ),
            e if e == super::raw::HOP_EXPECTED => (
                "a next hop",
                "write a gateway such as \"10.0.1.2\", or a table such as { via = \"10.0.2.2\", weight = 3 }",
            ),
            e if e.starts_with('i') || e.starts_with('u') || e.contains("integer") => {
                ("an integer", "write a number without quotes, such as mtu = 1500")
            }
            e if e.contains("bool") => ("true or false", "write true or false without quotes"),
            e if e.contains("sequence") && found == "map" => {
                ("a list", "write [[links]] or [[check]] (double brackets) once per entry, or a list in [ ]")
            }
            e if e.contains("sequence") => {
                ("a list", "write a list in [ ], such as [\"a:eth0\", \"b:eth0\"]")
            }
            e if e.contains("string") => ("a string", "write the value in double quotes"),
            e if e.contains("map") || e.contains("struct") => {
                ("a table", "write a table, such as { to = \"default\", via = \"10.0.0.1\" } or a [section]")
            }
            _ => ("another type", "see the examples in topologies/"),
        };
        let found = match found {
            "map" => "a table",
            "sequence" => "a list",
            "string" => "a string",
            "integer" => "an integer",
            "boolean" => "a boolean",
            "floating" => "a number with a fraction",
            other => other,
        };
        return (format!("expected {want} here, found {found}"), hint.into());
    }
    (
        format!("invalid TOML: {first}"),
        "fix the TOML syntax (strings in double quotes, one key = value per line)".into(),
    )
}
