//! Showing diagnostics as rustc does: the message, `--> file:line:col`, the line with a caret
//! under what is wrong, and the hint. Rendered by codespan-reporting, in colour only on a
//! terminal (tests and CI logs get plain text).

use crate::error::Diagnostic;
use codespan_reporting::diagnostic::{Diagnostic as Report, Label};
use codespan_reporting::files::{Error as FilesError, Files};
use codespan_reporting::term::{self, Chars, Config};
use std::ops::Range;

/// A report names at most this many problems; the rest are counted. A generated file with one
/// mistake repeated in every node should not print thousands of snippets.
pub const MAX_SHOWN: usize = 50;

/// The one line of a diagnostic, as codespan's file database: its line index is the line's
/// number in the real file, so the gutter shows the right line.
struct OneLine<'a>(&'a Diagnostic, &'a str);

impl<'a> Files<'a> for OneLine<'a> {
    type FileId = ();
    type Name = &'a str;
    type Source = &'a str;

    fn name(&'a self, _: ()) -> Result<&'a str, FilesError> {
        Ok(&self.0.file)
    }
    fn source(&'a self, _: ()) -> Result<&'a str, FilesError> {
        Ok(self.1)
    }
    fn line_index(&'a self, _: (), _: usize) -> Result<usize, FilesError> {
        Ok(self.0.line.saturating_sub(1))
    }
    fn line_range(&'a self, _: (), _: usize) -> Result<Range<usize>, FilesError> {
        Ok(0..self.1.len())
    }
}

fn config() -> Config {
    Config { chars: Chars::ascii(), ..Config::default() }
}

/// What codespan is given for one diagnostic.
fn report(d: &Diagnostic) -> (Report<()>, &str) {
    let notes = if d.hint.is_empty() { vec![] } else { vec![format!("hint: {}", d.hint)] };
    match &d.excerpt {
        Some(x) => {
            let range = x.range.start.min(x.text.len())..x.range.end.min(x.text.len());
            let r = Report::error()
                .with_message(&d.message)
                .with_labels(vec![Label::primary((), range)])
                .with_notes(notes);
            (r, x.text.as_str())
        }
        // No text to show: the position goes in the message.
        None => {
            let r = Report::error()
                .with_message(format!("{}:{}:{}: {}", d.file, d.line, d.col, d.message))
                .with_notes(notes);
            (r, "")
        }
    }
}

/// The line that ends a report of more than one problem, or of more than are shown.
fn summary(ds: &[Diagnostic]) -> Option<String> {
    let file = ds.first().map(|d| d.file.as_str()).unwrap_or("");
    match ds.len() {
        0 | 1 => None,
        n if n > MAX_SHOWN => Some(format!(
            "{file}: {n} problems; the first {MAX_SHOWN} are shown, fix them and validate again"
        )),
        n => Some(format!("{file}: {n} problems")),
    }
}

/// The diagnostics as plain text: what `to_string()` of the error gives, and what netlab
/// prints when stderr is not a terminal.
pub fn plain(ds: &[Diagnostic]) -> String {
    let mut out = String::new();
    for (i, d) in ds.iter().take(MAX_SHOWN).enumerate() {
        if i > 0 {
            out.push_str("\n\n");
        }
        let (r, text) = report(d);
        let mut one = String::new();
        if term::emit_to_string(&mut one, &config(), &OneLine(d, text), &r).is_err() {
            one = format!("{}:{}:{}: {}\n  hint: {}", d.file, d.line, d.col, d.message, d.hint);
        }
        out.push_str(one.trim_end());
    }
    if let Some(s) = summary(ds) {
        out.push_str(&format!("\n\nnetlab: {s}"));
    }
    out
}

/// Prints the diagnostics on stderr, in colour when stderr is a terminal and `NO_COLOR` is
/// not set.
pub fn eprint(ds: &[Diagnostic]) {
    use std::io::{IsTerminal, Write};
    use term::termcolor::{ColorChoice, StandardStream};
    let colour = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    if !colour {
        eprintln!("{}", plain(ds));
        return;
    }
    let stream = StandardStream::stderr(ColorChoice::Always);
    let mut w = stream.lock();
    for d in ds.iter().take(MAX_SHOWN) {
        let (r, text) = report(d);
        let _ = term::emit_to_write_style(&mut w, &config(), &OneLine(d, text), &r);
    }
    if let Some(s) = summary(ds) {
        let _ = writeln!(w, "netlab: {s}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Excerpt;

    fn diag(line: usize, col: usize, text: &str, range: Range<usize>) -> Diagnostic {
        Diagnostic {
            file: "t.toml".into(),
            line,
            col,
            message: "unknown key 'nmae'".into(),
            hint: "did you mean 'name'?".into(),
            excerpt: Some(Excerpt { text: text.into(), range }),
        }
    }

    #[test]
    fn a_snippet_names_the_position_shows_the_line_and_a_caret() {
        let out = plain(&[diag(12, 1, "nmae = \"x\"", 0..4)]);
        assert_eq!(
            out,
            "error: unknown key 'nmae'\n   --> t.toml:12:1\n   |\n12 | nmae = \"x\"\n   | ^^^^\n   |\n   = hint: did you mean 'name'?"
        );
        assert!(!out.contains('\u{1b}'), "plain text has no ANSI escapes");
    }

    #[test]
    fn several_end_with_a_count_and_many_are_cut() {
        let out = plain(&[diag(1, 1, "a", 0..1), diag(2, 1, "b", 0..1)]);
        assert_eq!(out.matches("error:").count(), 2);
        assert!(out.ends_with("netlab: t.toml: 2 problems"), "{out}");
        let many: Vec<Diagnostic> = (1..=MAX_SHOWN + 5).map(|l| diag(l, 1, "a", 0..1)).collect();
        let out = plain(&many);
        assert_eq!(out.matches("error:").count(), MAX_SHOWN);
        assert!(out.contains(&format!("{} problems; the first {MAX_SHOWN} are shown", MAX_SHOWN + 5)));
    }
}
