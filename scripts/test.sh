#!/usr/bin/env bash
# The test command: install what the tests need, check formatting and lints, then run every
# test (as root, the kernel tests included: each makes namespaces of its own and removes them,
# even on failure).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
export PATH="$HOME/.cargo/bin:$PATH"
# A minimal toolchain has neither; the checks below need both.
if ! cargo fmt --version >/dev/null 2>&1 || ! cargo clippy --version >/dev/null 2>&1; then
    rustup component add rustfmt clippy
fi
cargo fmt --all -- --check
cargo clippy --locked --all-targets -- -D warnings
cargo test --locked --all-targets -- --test-threads=4
