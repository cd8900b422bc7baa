#!/usr/bin/env bash
# Benchmark netlab against a hand-written iproute2 batch.
#
# usage: scripts/bench.sh N [--netlab PATH]
#
# Builds a chain of N network namespaces joined by N-1 veth pairs with /31 IPv4
# addresses, twice:
#   (a) with netlab  (lab "bench", prefix "bnl": namespaces bnl-n1..bnl-nN)
#   (b) with iproute2 `ip -batch` (namespaces bip-n1..bip-nN)
# and prints one table: create / no-op up / delete, seconds for each, and the
# ratio ip/netlab (> 1 means netlab is faster).
#
# Link i (1 <= i < N) joins n$i:r and n$((i+1)):l. Its /31 is the i-th /31 above
# 10.100.0.0: offset b = 2*(i-1), addresses 10.(100+b/65536).(b/256%256).(b%256)
# and the next address. Distinct for N up to 100000.
#
# Safety: the script refuses to start if any bnl-nK / bip-nK namespace (K<=N) or a
# lab called "bench" already exists, so everything it later removes is its own.
# An EXIT trap removes both labs (netlab down --lab bench, then `ip netns del` of
# any bnl-nK/bip-nK it created that is still there) even on failure. Traffic only
# flows between the lab's own namespaces (one ping per lab).
set -euo pipefail

LAB=bench
NL_PREFIX=bnl
IP_PREFIX=bip

usage() { echo "usage: $0 N [--netlab PATH]" >&2; exit 2; }

N=""
NETLAB=""
while [ $# -gt 0 ]; do
    case "$1" in
        --netlab) [ $# -ge 2 ] || usage; NETLAB="$2"; shift 2 ;;
        --netlab=*) NETLAB="${1#--netlab=}"; shift ;;
        -h|--help) usage ;;
        *) [ -z "$N" ] || usage; N="$1"; shift ;;
    esac
done
[[ "$N" =~ ^[0-9]+$ ]] || usage
if [ "$N" -lt 2 ] || [ "$N" -gt 100000 ]; then
    echo "N must be between 2 and 100000" >&2; exit 2
fi
if [ -z "$NETLAB" ]; then
    NETLAB="$(cd "$(dirname "$0")/.." && pwd)/target/release/netlab"
fi
[ -x "$NETLAB" ] || { echo "netlab binary not found at $NETLAB (run cargo build --release, or pass --netlab PATH)" >&2; exit 2; }
[ "$(id -u)" -eq 0 ] || { echo "must run as root (creates network namespaces)" >&2; exit 2; }
for tool in ip awk ping; do
    command -v "$tool" >/dev/null || { echo "missing tool: $tool" >&2; exit 2; }
done

# ---------------------------------------------------------------- helpers

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }
ratio() { awk -v ip="$1" -v nl="$2" 'BEGIN { if (nl > 0) printf "%.2f", ip / nl; else print "n/a" }'; }

# addr I K: address K (0 or 1) of link I's /31
addr() {
    local b=$(( 2 * ($1 - 1) + $2 ))
    echo "10.$(( 100 + b / 65536 )).$(( b / 256 % 256 )).$(( b % 256 ))"
}

ns_exists() { [ -e "/run/netns/$1" ]; }

# ---------------------------------------------------------------- pre-flight

for ((i = 1; i <= N; i++)); do
    for p in "$NL_PREFIX" "$IP_PREFIX"; do
        if ns_exists "$p-n$i"; then
            echo "refusing to start: namespace $p-n$i already exists (not made by this run)" >&2
            exit 3
        fi
    done
done
if [ -e "/run/netlab/$LAB" ] || "$NETLAB" ls 2>/dev/null | grep -qw -- "$LAB"; then
    echo "refusing to start: a netlab lab named '$LAB' already exists" >&2
    exit 3
fi

TMP="$(mktemp -d /tmp/netlab-bench.XXXXXX)"
NETLAB_STARTED=0
IP_STARTED=0

cleanup() {
    local rc=$?
    set +e
    if [ "$NETLAB_STARTED" -eq 1 ]; then
        "$NETLAB" down --lab "$LAB" >/dev/null 2>"$TMP/cleanup-down.err" \
            || { echo "cleanup: netlab down --lab $LAB failed:" >&2; cat "$TMP/cleanup-down.err" >&2; }
    fi
    # Only names this run created (pre-flight proved none of them existed before).
    local i p
    for ((i = 1; i <= N; i++)); do
        for p in "$NL_PREFIX" "$IP_PREFIX"; do
            if { [ "$p" = "$NL_PREFIX" ] && [ "$NETLAB_STARTED" -eq 1 ]; } ||
               { [ "$p" = "$IP_PREFIX" ] && [ "$IP_STARTED" -eq 1 ]; }; then
                if ns_exists "$p-n$i"; then
                    ip netns del "$p-n$i" 2>/dev/null || echo "cleanup: could not delete $p-n$i" >&2
                fi
            fi
        done
    done
    local left
    left="$(ip netns list | awk '{print $1}' | grep -E "^($NL_PREFIX|$IP_PREFIX)-n[0-9]+$" || true)"
    if [ -n "$left" ]; then
        echo "cleanup: namespaces left behind: $(echo "$left" | tr '\n' ' ')" >&2
        [ "$rc" -ne 0 ] || rc=4
    fi
    rm -rf "$TMP"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

FAILED=0
fail() { echo "FAIL: $*" >&2; FAILED=1; }

# verify PREFIX: addresses present on both ends of link 1 and link N-1, a ping
# n1 -> n2 and n(N-1) -> nN succeeds, and exactly N namespaces with the prefix.
verify() {
    local p="$1" last=$((N - 1)) got
    got="$(ip -n "$p-n1" -4 -o addr show dev r 2>&1 || true)"
    echo "$got" | grep -q "inet $(addr 1 0)/31" || fail "$p-n1: r lacks $(addr 1 0)/31: $got"
    got="$(ip -n "$p-n2" -4 -o addr show dev l 2>&1 || true)"
    echo "$got" | grep -q "inet $(addr 1 1)/31" || fail "$p-n2: l lacks $(addr 1 1)/31: $got"
    got="$(ip -n "$p-n$N" -4 -o addr show dev l 2>&1 || true)"
    echo "$got" | grep -q "inet $(addr "$last" 1)/31" || fail "$p-n$N: l lacks $(addr "$last" 1)/31: $got"
    ip -n "$p-n1" -o link show dev lo 2>/dev/null | grep -q "UP" || fail "$p-n1: lo is not up"
    ip netns exec "$p-n1" ping -n -q -c1 -W1 "$(addr 1 1)" >/dev/null 2>&1 \
        || fail "$p: ping n1 -> n2 ($(addr 1 1)) failed"
    ip netns exec "$p-n$last" ping -n -q -c1 -W1 "$(addr "$last" 1)" >/dev/null 2>&1 \
        || fail "$p: ping n$last -> n$N ($(addr "$last" 1)) failed"
    got="$(ip netns list | awk '{print $1}' | grep -cE "^$p-n[0-9]+$" || true)"
    [ "$got" -eq "$N" ] || fail "$p: expected $N namespaces, found $got"
}

# ---------------------------------------------------------------- (a) netlab

TOPO="$TMP/$LAB.toml"
{
    echo "name = \"$LAB\""
    echo "prefix = \"$NL_PREFIX\""
    echo
    for ((i = 1; i <= N; i++)); do echo "[nodes.n$i]"; done
    for ((i = 1; i < N; i++)); do
        echo
        echo "[[links]]"
        echo "endpoints = [\"n$i:r\", \"n$((i + 1)):l\"]"
        echo "addresses = [\"$(addr "$i" 0)/31\", \"$(addr "$i" 1)/31\"]"
    done
} >"$TOPO"

echo "== netlab: N=$N ($NETLAB)" >&2
NETLAB_STARTED=1
t0=$(now)
"$NETLAB" up "$TOPO" >"$TMP/up1.out" 2>&1 || { cat "$TMP/up1.out" >&2; echo "netlab up failed" >&2; exit 1; }
t1=$(now)
NL_CREATE=$(elapsed "$t0" "$t1")
verify "$NL_PREFIX"

t0=$(now)
"$NETLAB" up "$TOPO" >"$TMP/up2.out" 2>&1 || { cat "$TMP/up2.out" >&2; echo "second netlab up failed" >&2; exit 1; }
t1=$(now)
NL_NOOP=$(elapsed "$t0" "$t1")
echo "second up said: $(tail -n1 "$TMP/up2.out")" >&2
set +e
"$NETLAB" plan "$TOPO" >"$TMP/plan.out" 2>&1
plan_rc=$?
set -e
[ "$plan_rc" -eq 0 ] || { fail "netlab plan after up exited $plan_rc (expected 0: nothing to do)"; cat "$TMP/plan.out" >&2; }

t0=$(now)
"$NETLAB" down "$TOPO" >"$TMP/down.out" 2>&1 || { cat "$TMP/down.out" >&2; echo "netlab down failed" >&2; exit 1; }
t1=$(now)
NL_DELETE=$(elapsed "$t0" "$t1")
for ((i = 1; i <= N; i++)); do
    ns_exists "$NL_PREFIX-n$i" && { fail "netlab down left $NL_PREFIX-n$i"; break; }
done

# ---------------------------------------------------------------- (b) ip -batch
#
# Method: one `ip -batch` process for everything done from the host namespace
# (`netns add` for each node, `link add r netns A type veth peer name l netns B`
# for each link: both ends are created directly in their namespaces, no
# rename/move step), then one `ip -n NS -batch FILE` per namespace for addresses
# and `link set ... up` (lo included). `ip -n` does a single setns() and then
# runs the whole file over one netlink socket, so the per-namespace part costs
# one fork/exec per namespace. The alternative, `netns exec NS ip ...` lines in a
# single batch, forks+execs a new `ip` (and unshares a mount namespace) for every
# *command*, i.e. ~4 processes per node instead of 1: strictly slower, so it
# would flatter netlab. The per-namespace runs are sequential, as netlab's are
# (one core, no parallelism on either side), so the comparison is of equal work.
# Deletion is one `ip -batch` of `netns del` lines; deleting a namespace
# destroys its veth ends, just as netlab down relies on.

mkdir -p "$TMP/ip"
{
    for ((i = 1; i <= N; i++)); do echo "netns add $IP_PREFIX-n$i"; done
    for ((i = 1; i < N; i++)); do
        echo "link add name r netns $IP_PREFIX-n$i type veth peer name l netns $IP_PREFIX-n$((i + 1))"
    done
} >"$TMP/ip/global.batch"
for ((i = 1; i <= N; i++)); do
    f="$TMP/ip/n$i.batch"
    {
        echo "link set dev lo up"
        if [ "$i" -gt 1 ]; then
            echo "addr add $(addr $((i - 1)) 1)/31 dev l"
            echo "link set dev l up"
        fi
        if [ "$i" -lt "$N" ]; then
            echo "addr add $(addr "$i" 0)/31 dev r"
            echo "link set dev r up"
        fi
    } >"$f"
done
for ((i = 1; i <= N; i++)); do echo "netns del $IP_PREFIX-n$i"; done >"$TMP/ip/delete.batch"

echo "== ip -batch: N=$N ($(ip -V))" >&2
IP_STARTED=1
t0=$(now)
ip -batch "$TMP/ip/global.batch"
for ((i = 1; i <= N; i++)); do
    ip -n "$IP_PREFIX-n$i" -batch "$TMP/ip/n$i.batch"
done
t1=$(now)
IP_CREATE=$(elapsed "$t0" "$t1")
verify "$IP_PREFIX"

t0=$(now)
ip -batch "$TMP/ip/delete.batch"
t1=$(now)
IP_DELETE=$(elapsed "$t0" "$t1")
for ((i = 1; i <= N; i++)); do
    ns_exists "$IP_PREFIX-n$i" && { fail "ip netns del left $IP_PREFIX-n$i"; break; }
done

# ---------------------------------------------------------------- report

printf '\nN=%d namespaces, %d veth pairs\n' "$N" "$((N - 1))"
printf '%-10s %14s %14s %16s\n' "" "netlab (s)" "ip-batch (s)" "ratio ip/netlab"
printf '%-10s %14s %14s %16s\n' "create" "$NL_CREATE" "$IP_CREATE" "$(ratio "$IP_CREATE" "$NL_CREATE")"
printf '%-10s %14s %14s %16s\n' "no-op up" "$NL_NOOP" "-" "-"
printf '%-10s %14s %14s %16s\n' "delete" "$NL_DELETE" "$IP_DELETE" "$(ratio "$IP_DELETE" "$NL_DELETE")"

if [ "$FAILED" -ne 0 ]; then
    echo "correctness checks FAILED (see above)" >&2
    exit 1
fi
echo "correctness checks passed" >&2
