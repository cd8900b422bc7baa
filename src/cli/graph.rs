//! `netlab graph`: the topology as dot, Mermaid or SVG, on stdout or into a file.

use crate::error::{Result, SysError};
use crate::graph::{self, Format};
use crate::Lab;
use std::path::Path;

/// The `--format` values; the drawing itself is `crate::graph`, which knows nothing of clap.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum GraphFormat {
    /// Graphviz source: `netlab graph lab.toml | dot -Tpng -o lab.png`.
    Dot,
    /// A Mermaid flowchart, for a ```mermaid block in Markdown.
    Mermaid,
    /// A finished SVG picture, drawn by netlab itself.
    Svg,
}

impl From<GraphFormat> for Format {
    fn from(f: GraphFormat) -> Format {
        match f {
            GraphFormat::Dot => Format::Dot,
            GraphFormat::Mermaid => Format::Mermaid,
            GraphFormat::Svg => Format::Svg,
        }
    }
}

pub fn run(file: &Path, format: GraphFormat, out: Option<&Path>) -> Result<i32> {
    let lab = Lab::load(file)?;
    let text = graph::render(&lab, format.into());
    match out {
        Some(path) => {
            std::fs::write(path, text).map_err(|e| SysError::new(format!("writing {}", path.display()), e))?
        }
        None => print!("{text}"),
    }
    Ok(0)
}
