//! Golden tests, no root: topologies under `tests/plan_golden/` and `tests/nft_golden/` and
//! the exact plans and nf_tables rules they must give. `NETLAB_BLESS=1` rewrites the files.

mod nft_rules;
mod plans;

use std::path::{Path, PathBuf};

/// A directory of golden files: `tests/NAME` of the crate.
fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests").join(name)
}
