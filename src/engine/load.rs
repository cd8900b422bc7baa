//! Loading a topology into the validated [`Lab`]: from a file, from text, or with a name of
//! its own for tests that run side by side.

use crate::error::{Diagnostic, Error, Result, SpecError};
use crate::model::{self, Lab};
use crate::spec;
use std::path::Path;

impl Lab {
    /// Reads and validates a topology file (`netlab validate`). Touches nothing.
    pub fn load(path: &Path) -> Result<Lab> {
        let text = spec::load::read_text(path).map_err(Error::Spec)?;
        Lab::parse(path, &text)
    }

    /// Validates topology text as if it were the file `path`.
    pub fn parse(path: &Path, text: &str) -> Result<Lab> {
        resolve(spec::parse_text(path, text.to_string())?, |_| {})
    }

    /// Like `parse`, with the lab's name and prefix replaced by `name`.
    fn parse_renamed(path: &Path, text: &str, name: &str) -> Result<Lab> {
        resolve(spec::parse_text(path, text.to_string())?, |raw| {
            let span = raw.name.as_ref().map(|n| n.span()).unwrap_or(0..0);
            raw.name = Some(spec::raw::S::new(span.clone(), name.to_string()));
            raw.prefix = Some(spec::raw::S::new(span, name.to_string()));
        })
    }

    /// Reads a topology file for a test: the lab gets a name and prefix of its own
    /// (`nl` + 10 hex digits), so labs of parallel tests never collide.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Lab> {
        let path = path.as_ref();
        let text = spec::load::read_text(path).map_err(Error::Spec)?;
        Lab::parse_renamed(path, &text, &unique_name())
    }

    /// The lab's name (`name` in the file, or the file's stem).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Reads topology text for a test, with a name and prefix of its own (see `from_file`).
    #[allow(clippy::should_implement_trait)]
    pub fn from_str(text: &str) -> Result<Lab> {
        Lab::parse_renamed(Path::new("topology.toml"), text, &unique_name())
    }
}

/// Resolves what parsed; a file that parsed only past its unknown keys is refused with those
/// and every other problem the rest of it has.
fn resolve(parsed: spec::Parsed, edit: impl FnOnce(&mut spec::raw::RawTopo)) -> Result<Lab> {
    let (src, mut raw, unknown) = match parsed {
        spec::Parsed::Whole(src, raw) => (src, raw, None),
        spec::Parsed::Partial(src, raw, unknown) => (src, raw, Some(unknown)),
    };
    edit(&mut raw);
    let resolved = model::resolve(&src, raw);
    let Some(unknown) = unknown else { return Ok(resolved?) };
    let mut rest = resolved.err();
    if let Some(SpecError::At(found)) = &mut rest {
        found.retain(|d| !unknown.diagnostics().iter().any(|u| caused_by(&src.text, d, u)));
    }
    let all = SpecError::merge([Some(unknown), rest].into_iter().flatten());
    Err(Error::Spec(all.expect("the unknown keys at least")))
}

/// Whether a problem of the item that holds an unknown key may be that key's doing: one
/// before it on its line (an inline table: `{ to = "default", gw = "10.0.0.1" }` lacks its
/// `via`), or at the header of its table (`[[check]]` with `pnig` lacks its probe).
fn caused_by(text: &str, d: &Diagnostic, unknown: &Diagnostic) -> bool {
    if d.line == unknown.line {
        return d.col <= unknown.col;
    }
    let before = text.lines().take(unknown.line.saturating_sub(1));
    let header = before.enumerate().filter(|(_, l)| l.trim_start().starts_with('[')).last();
    header.map(|(i, _)| i + 1) == Some(d.line)
}

/// A lab name no other test of this machine uses now: the process id, a counter and the
/// clock, folded into 10 hex digits.
fn unique_name() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos() as u64)
        .unwrap_or(0);
    let mixed = (std::process::id() as u64) << 20 ^ n << 8 ^ nanos >> 12;
    format!("nl{:010x}", mixed & 0xff_ffff_ffff)
}
