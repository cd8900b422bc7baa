#!/usr/bin/env bash
# The newcomer's first command: install what is needed, build netlab, bring up the example
# LAN (three hosts on a switch, dual-stack) and ping across it. Run as root from the repo.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
export PATH="$HOME/.cargo/bin:$PATH"
cargo build --release --locked
install -m 0755 target/release/netlab /usr/local/bin/netlab
netlab up topologies/lan.toml
netlab exec h1 -- ping -c1 -W2 10.0.0.3
netlab exec h1 -- ping -c1 -W2 fd00:10::3
netlab status lan
echo
echo "The lab is up. Try: netlab exec h2 -- ip addr; then: netlab down topologies/lan.toml"
