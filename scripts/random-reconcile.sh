#!/usr/bin/env bash
# Runs the randomized reconcile test (tests/kernel/random.rs) over many seeds, as root.
#   scripts/random-reconcile.sh [SEEDS] [EDITS]
# SEEDS: a list or ranges, e.g. "1-200" or "7,19,40-60" (default 1-100); EDITS: edits per
# seed (default 12). Each failure prints its seed, edit and both files, and leaves them in
# target/tmp/random-reconcile/; rerun one with NETLAB_RANDOM_SEEDS=S NETLAB_RANDOM_EDITS=E.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
export NETLAB_RANDOM_SEEDS="${1:-1-100}"
export NETLAB_RANDOM_EDITS="${2:-12}"
rm -rf target/tmp/random-reconcile
exec cargo test --test kernel random:: -- --nocapture --test-threads=1
