#!/usr/bin/env bash
# Workload start cost: one node running N `sleep` workloads (default 100), brought up with
# `netlab up`, against the same node without workloads. Prints the time per workload.
# usage: scripts/bench-workloads.sh [N] [--netlab PATH]
set -euo pipefail
N=100
NETLAB=""
while [ $# -gt 0 ]; do
    case "$1" in
        --netlab) NETLAB="$2"; shift 2 ;;
        *) N="$1"; shift ;;
    esac
done
[[ "$N" =~ ^[0-9]+$ ]] || { echo "usage: $0 [N] [--netlab PATH]" >&2; exit 2; }
cd "$(dirname "$0")/.."
if [ -z "$NETLAB" ]; then
    cargo build --release --quiet
    NETLAB=target/release/netlab
fi
TMP=$(mktemp -d)
LAB=benchwl
cleanup() {
    "$NETLAB" down --lab "$LAB" >/dev/null 2>&1 || true
    rm -rf "$TMP"
}
trap cleanup EXIT
if [ -d "/run/netlab/$LAB" ]; then echo "a lab called $LAB is already up" >&2; exit 3; fi

write() { # $1 = number of workloads
    {
        echo "name = \"$LAB\""
        echo "[nodes.n1]"
        echo "limits = { pids = 4096 }"
        echo "run = ["
        for i in $(seq 1 "$1"); do echo "  { name = \"w$i\", cmd = [\"sleep\", \"infinity\"] },"; done
        echo "]"
    } >"$TMP/$LAB.toml"
}
now() { date +%s.%N; }
timed() { local t0; t0=$(now); "$@" >/dev/null; awk -v a="$t0" -v b="$(now)" 'BEGIN { printf "%.3f", b - a }'; }

write 0
base=$(timed "$NETLAB" up "$TMP/$LAB.toml")
"$NETLAB" down --lab "$LAB" >/dev/null
write "$N"
with=$(timed "$NETLAB" up "$TMP/$LAB.toml")
running=$("$NETLAB" status "$LAB" --json | grep -c '"state": "running"' || true)
[ "$running" -eq "$N" ] || { echo "only $running of $N workloads are running" >&2; exit 1; }
noop=$(timed "$NETLAB" up "$TMP/$LAB.toml")
down=$(timed "$NETLAB" down --lab "$LAB")
awk -v n="$N" -v base="$base" -v with="$with" -v noop="$noop" -v down="$down" 'BEGIN {
    printf "%d sleep workloads in one node\n", n
    printf "up without workloads   %8.3f s\n", base
    printf "up with workloads      %8.3f s\n", with
    printf "per workload           %8.2f ms   (target <= 10 ms)\n", (with - base) * 1000 / n
    printf "no-op up               %8.3f s\n", noop
    printf "down (stops all)       %8.3f s\n", down
}'
