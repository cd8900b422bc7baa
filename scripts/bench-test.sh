#!/usr/bin/env bash
# `netlab test` of a running lab: a chain of 10 nodes with 20 ping checks (each link both
# ways, 18, and two that must fail), timed R times (default 5) after one `up`; prints each
# run and the median wall time (target: under 1 s). netlab runs inside a sandbox network
# namespace of its own; everything is removed on exit.
# usage: scripts/bench-test.sh [--netlab PATH] [--runs R]
set -euo pipefail
NETLAB=""
RUNS=5
while [ $# -gt 0 ]; do
    case "$1" in
        --netlab) NETLAB="$2"; shift 2 ;;
        --runs) RUNS="$2"; shift 2 ;;
        *) echo "usage: $0 [--netlab PATH] [--runs R]" >&2; exit 2 ;;
    esac
done
cd "$(dirname "$0")/.."
[ -n "$NETLAB" ] || NETLAB="$PWD/target/release/netlab"
[ -x "$NETLAB" ] || { echo "netlab binary not found at $NETLAB (cargo build --release)" >&2; exit 2; }
[ "$(id -u)" -eq 0 ] || { echo "must run as root" >&2; exit 2; }
LAB=benchtst
SBX=benchtst-sbx
if [ -e "/run/netlab/$LAB" ] || [ -e "/run/netns/$SBX" ]; then echo "a lab $LAB or namespace $SBX exists already" >&2; exit 3; fi
TMP=$(mktemp -d)
nl() { nsenter "--net=/run/netns/$SBX" "$NETLAB" "$@"; }
cleanup() {
    nl down --lab "$LAB" >/dev/null 2>&1 || true
    ip netns del "$SBX" 2>/dev/null || true
    rm -rf "$TMP"
}
trap cleanup EXIT
ip netns add "$SBX"
ip -n "$SBX" link set lo up
{
    echo "name = \"$LAB\""
    for i in $(seq 1 10); do echo "[nodes.n$i]"; done
    for i in $(seq 1 9); do
        echo "[[links]]"
        echo "endpoints = [\"n$i:r\", \"n$((i + 1)):l\"]"
        echo "addresses = [\"10.77.$i.1/30\", \"10.77.$i.2/30\"]"
    done
    for i in $(seq 1 9); do
        printf '[[check]]\nfrom = "n%d"\nping = "10.77.%d.2"\n' "$i" "$i"
        printf '[[check]]\nfrom = "n%d"\nping = "10.77.%d.1"\n' "$((i + 1))" "$i"
    done
    # Two that must fail (no route there): a failing check waits out its timeout.
    printf '[[check]]\nfrom = "n1"\nping = "10.77.5.2"\nexpect = "fail"\ntimeout = "1s"\n'
    printf '[[check]]\nfrom = "n10"\nping = "10.77.1.1"\nexpect = "fail"\ntimeout = "1s"\n'
} >"$TMP/$LAB.toml"
nl up "$TMP/$LAB.toml" >/dev/null
times=()
for r in $(seq 1 "$RUNS"); do
    t0=$(date +%s.%N)
    nl test "$TMP/$LAB.toml" >"$TMP/test.out" 2>&1 || { cat "$TMP/test.out" >&2; echo "netlab test failed" >&2; exit 1; }
    t1=$(date +%s.%N)
    times+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')")
done
echo "netlab test, 10 nodes, 20 ping checks: runs ${times[*]} s"
printf '%s\n' "${times[@]}" | sort -g | awk '{ v[NR] = $1 } END { printf "median %.3f s (target < 1 s)\n", v[int((NR + 1) / 2)] }'
tail -n 3 "$TMP/test.out"
