#!/usr/bin/env bash
# The test command: install what the tests need, then run every test (as root, the kernel
# tests included: each makes namespaces of its own and removes them, even on failure).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
export PATH="$HOME/.cargo/bin:$PATH"
cargo test --locked --all-targets -- --test-threads=4
