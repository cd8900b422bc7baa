//! Golden tests for `netlab validate` on broken files.
//!
//! Every `tests/broken/NAME.toml` must make `netlab validate tests/broken/NAME.toml` exit 1
//! and print exactly `tests/broken/NAME.expected` on stderr (file:line:col, message, hint).
//! To add a case, write the `.toml` (first line: a comment saying what is wrong), then
//! `target/debug/netlab validate tests/broken/NAME.toml 2> tests/broken/NAME.expected`
//! from the crate root, and read the message critically before keeping it.

use crate::netlab;
use std::path::{Path, PathBuf};

/// The corpus must not shrink to nothing and let the test pass vacuously.
const MIN_CASES: usize = 20;

fn cases() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/broken");
    let mut out: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    out.sort();
    out
}

/// A line-by-line comparison, marking lines that differ, for the failure message.
fn diff(expected: &str, actual: &str) -> String {
    let e: Vec<&str> = expected.lines().collect();
    let a: Vec<&str> = actual.lines().collect();
    let mut out = String::new();
    for i in 0..e.len().max(a.len()) {
        match (e.get(i), a.get(i)) {
            (Some(x), Some(y)) if x == y => out.push_str(&format!("   {x}\n")),
            (x, y) => {
                if let Some(x) = x {
                    out.push_str(&format!(" - {x}\n"));
                }
                if let Some(y) = y {
                    out.push_str(&format!(" + {y}\n"));
                }
            }
        }
    }
    if expected.ends_with('\n') != actual.ends_with('\n') {
        out.push_str(&format!(
            " (trailing newline: expected {}, actual {})\n",
            expected.ends_with('\n'),
            actual.ends_with('\n')
        ));
    }
    out
}

#[test]
fn corpus_is_not_empty() {
    let n = cases().len();
    assert!(n >= MIN_CASES, "tests/broken holds {n} cases; at least {MIN_CASES} are expected");
}

#[test]
fn every_toml_has_an_expected_file_and_a_leading_comment() {
    let mut problems = Vec::new();
    for case in cases() {
        let name = case.file_stem().unwrap().to_string_lossy().into_owned();
        if !case.with_extension("expected").is_file() {
            problems.push(format!("{name}: no {name}.expected"));
        }
        let text = std::fs::read_to_string(&case).expect("readable case");
        if !text.starts_with('#') {
            problems.push(format!("{name}: the first line should be a comment saying what is wrong"));
        }
    }
    assert!(problems.is_empty(), "broken corpus:\n  {}", problems.join("\n  "));
}

#[test]
fn validate_reports_each_broken_file_exactly() {
    let cases = cases();
    assert!(
        cases.len() >= MIN_CASES,
        "tests/broken holds {} cases; at least {MIN_CASES} are expected",
        cases.len()
    );

    let mut failures = Vec::new();
    for case in &cases {
        let name = case.file_stem().unwrap().to_string_lossy().into_owned();
        let rel = format!("tests/broken/{name}.toml");
        let expected_path = case.with_extension("expected");
        let expected = match std::fs::read_to_string(&expected_path) {
            Ok(s) => s,
            Err(e) => {
                failures.push(format!("case {name}: cannot read {}: {e}", expected_path.display()));
                continue;
            }
        };
        let out = netlab(&["validate", &rel]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        let mut why = Vec::new();
        if out.status.code() != Some(1) {
            why.push(format!("exit status {:?}, expected 1", out.status.code()));
        }
        if stderr != expected {
            why.push(format!(
                "stderr differs from {name}.expected (- expected, + actual):\n{}",
                diff(&expected, &stderr)
            ));
        }
        if !why.is_empty() {
            let stdout = String::from_utf8_lossy(&out.stdout);
            let stdout = if stdout.is_empty() { String::new() } else { format!("\nstdout:\n{stdout}") };
            failures.push(format!("case {name} ({rel}):\n{}{stdout}", why.join("\n")));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} broken cases failed:\n\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n\n")
    );
}
