//! The topology file as written: serde types that mirror the TOML, and loading with spans.

pub mod load;
pub mod raw;
pub mod report;
pub mod schema;
pub mod spanned;
pub mod suggest;

pub use load::{parse_str, parse_text, Parsed, Source};
