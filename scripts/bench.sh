#!/usr/bin/env bash
# Benchmark netlab against iproute2 (`ip -batch`) and against the raw-netlink floor.
#
# usage: scripts/bench.sh [N ...] [--netlab PATH] [--runs R]      (default N: 100 1000 10000)
#
# For each N, a chain of N network namespaces joined by N-1 veth pairs with /31 IPv4
# addresses, `lo` up, is built three ways:
#   netlab   (lab "bench", prefix "bnl": namespaces bnl-n1..bnl-nN)
#   ip-batch (namespaces bip-n1..bip-nN)
#   floor    the hand-written raw rtnetlink C program /work/shared/bench/chain-floor.c
#            (namespaces bfl-0..bfl-(N-1)): what the kernel allows a userspace program to do.
# BENCH_IP_MAX=N skips ip-batch for larger N (it forks a process per namespace: minutes at
# 10 000). R runs each (default 3, 1 for N > 1000; BENCH_RUNS or --runs to change), the tools
# alternating in a rotating order within each run, each torn down before the next starts,
# and every timed step started on an idle machine (see `settle`).
# Printed per N: medians of create and delete for the three side by side, the ratios to
# the floor, netlab's no-op `up` and `plan` as a fraction of its `up`, the cost of an edit of
# one link (its addresses moved) against a no-op `up`, and netlab's peak RSS during `up`
# (`/usr/bin/time -f %M`). NETLAB_PROFILE=1 in the environment adds netlab's per-phase
# breakdown of every command to the log (stderr).
#
# The floor is compiled from ../shared/bench/chain-floor.c relative to the repository, or
# from CHAIN_FLOOR_SRC; cc (gcc) is needed.
#
# netlab runs inside a sandbox network namespace of its own (nsenter --net), so that even
# the host namespace it looks at is a throwaway one.
#
# Safety: refuses to start if any namespace with the three prefixes (up to N) or a lab called
# "bench" exists, so everything it removes is its own. An EXIT trap removes whatever it made,
# even on failure. Traffic only flows between the lab's own namespaces (a few pings, first
# run only).
set -euo pipefail

LAB=bench
NL_PREFIX=bnl
IP_PREFIX=bip
FL_PREFIX=bfl
SBX=bench-sbx

usage() { echo "usage: $0 [N ...] [--netlab PATH] [--runs R]" >&2; exit 2; }

NS_LIST=()
NETLAB=""
RUNS="${BENCH_RUNS:-}"
while [ $# -gt 0 ]; do
    case "$1" in
        --netlab) [ $# -ge 2 ] || usage; NETLAB="$2"; shift 2 ;;
        --netlab=*) NETLAB="${1#--netlab=}"; shift ;;
        --runs) [ $# -ge 2 ] || usage; RUNS="$2"; shift 2 ;;
        -h|--help) usage ;;
        *) [[ "$1" =~ ^[0-9]+$ ]] || usage; NS_LIST+=("$1"); shift ;;
    esac
done
[ ${#NS_LIST[@]} -gt 0 ] || NS_LIST=(100 1000 10000)
MAXN=0
for n in "${NS_LIST[@]}"; do
    if [ "$n" -lt 2 ] || [ "$n" -gt 30000 ]; then echo "N must be between 2 and 30000" >&2; exit 2; fi
    [ "$n" -gt "$MAXN" ] && MAXN=$n
done
[ -z "$RUNS" ] || [[ "$RUNS" =~ ^[1-9][0-9]*$ ]] || usage

REPO="$(cd "$(dirname "$0")/.." && pwd)"
[ -n "$NETLAB" ] || NETLAB="$REPO/target/release/netlab"
[ -x "$NETLAB" ] || { echo "netlab binary not found at $NETLAB (run cargo build --release, or pass --netlab PATH)" >&2; exit 2; }
[ "$(id -u)" -eq 0 ] || { echo "must run as root (creates network namespaces)" >&2; exit 2; }
for tool in ip awk ping nsenter cc; do
    command -v "$tool" >/dev/null || { echo "missing tool: $tool" >&2; exit 2; }
done
[ -x /usr/bin/time ] || { echo "missing /usr/bin/time (apt-get install time): it measures peak RSS" >&2; exit 2; }
FLOOR_SRC="${CHAIN_FLOOR_SRC:-$REPO/../shared/bench/chain-floor.c}"
if [ ! -f "$FLOOR_SRC" ]; then
    echo "the floor's source is missing: $FLOOR_SRC (set CHAIN_FLOOR_SRC=/path/to/chain-floor.c)" >&2
    exit 2
fi

# ---------------------------------------------------------------- helpers

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a ~ /^[0-9.]+$/ && b ~ /^[0-9.]+$/ && b > 0) printf "%.2f", a / b; else print "n/a" }'; }
pct() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.1f%%", 100 * a / b; else print "n/a" }'; }

# addr I K: address K (0 or 1) of link I's /31
addr() {
    local b=$(( 2 * ($1 - 1) + $2 ))
    echo "10.$(( 100 + b / 65536 )).$(( b / 256 % 256 )).$(( b % 256 ))"
}

ns_exists() { [ -e "/run/netns/$1" ]; }
nl() { nsenter "--net=/run/netns/$SBX" "$NETLAB" "$@"; }

# ---------------------------------------------------------------- pre-flight

for ((i = 0; i <= MAXN; i++)); do
    for p in "$NL_PREFIX-n$i" "$IP_PREFIX-n$i" "$FL_PREFIX-$i"; do
        if ns_exists "$p"; then
            echo "refusing to start: namespace $p already exists (not made by this run)" >&2
            exit 3
        fi
    done
done
if ns_exists "$SBX" || [ -e "/run/netlab/$LAB" ]; then
    echo "refusing to start: namespace $SBX or a netlab lab named '$LAB' already exists" >&2
    exit 3
fi

# The floor keeps two descriptors a namespace open, netlab one: 10 000 namespaces need more
# than the usual hard limit (root may raise it up to fs.nr_open).
ulimit -Hn "$(cat /proc/sys/fs/nr_open)" 2>/dev/null || true
ulimit -Sn "$(ulimit -Hn)" 2>/dev/null || true
# Where the limit cannot be raised (no CAP_SYS_RESOURCE, as in some containers), an N the
# floor cannot reach is lowered to the largest it can, for all three tools alike, and said.
FD_MAXN=$(( ($(ulimit -n) - 16) / 2 ))
for i in "${!NS_LIST[@]}"; do
    if [ "${NS_LIST[$i]}" -gt "$FD_MAXN" ]; then
        echo "note: N=${NS_LIST[$i]} lowered to $FD_MAXN: the floor keeps two descriptors a namespace, and the open-file limit here is $(ulimit -n) (its hard limit cannot be raised)" >&2
        NS_LIST[$i]=$FD_MAXN
    fi
done
MAXN=0
for n in "${NS_LIST[@]}"; do [ "$n" -gt "$MAXN" ] && MAXN=$n; done

TMP="$(mktemp -d /tmp/netlab-bench.XXXXXX)"
STARTED=0
FLOOR="$TMP/chain-floor"
cc -O2 -o "$FLOOR" "$FLOOR_SRC" || { echo "compiling $FLOOR_SRC failed" >&2; exit 2; }

cleanup() {
    local rc=$?
    set +e
    if [ "$STARTED" -eq 1 ]; then
        nl down --lab "$LAB" >/dev/null 2>"$TMP/cleanup-down.err" \
            || { echo "cleanup: netlab down --lab $LAB failed:" >&2; cat "$TMP/cleanup-down.err" >&2; }
        "$FLOOR" "$FL_PREFIX" "$MAXN" down >/dev/null 2>&1
        local i
        for ((i = 1; i <= MAXN; i++)); do
            ns_exists "$IP_PREFIX-n$i" && ip netns del "$IP_PREFIX-n$i" 2>/dev/null
            ns_exists "$NL_PREFIX-n$i" && ip netns del "$NL_PREFIX-n$i" 2>/dev/null
        done
        ns_exists "$SBX" && ip netns del "$SBX"
    fi
    local left
    left="$(ip netns list | awk '{print $1}' | grep -E "^($NL_PREFIX-n|$IP_PREFIX-n|$FL_PREFIX-)[0-9]+$|^$SBX$" || true)"
    if [ -n "$left" ]; then
        echo "cleanup: namespaces left behind: $(echo "$left" | head -5 | tr '\n' ' ')..." >&2
        [ "$rc" -ne 0 ] || rc=4
    fi
    rm -rf "$TMP"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
STARTED=1
ip netns add "$SBX"
ip -n "$SBX" link set lo up

FAILED=0
fail() { echo "FAIL: $*" >&2; FAILED=1; }

# verify PREFIX N: addresses on both ends of the first and last link, pings across them,
# and exactly N namespaces with the prefix.
verify() {
    local p="$1" n="$2" last=$(($2 - 1)) got
    got="$(ip -n "$p-n1" -4 -o addr show dev r 2>&1 || true)"
    echo "$got" | grep -q "inet $(addr 1 0)/31" || fail "$p-n1: r lacks $(addr 1 0)/31: $got"
    got="$(ip -n "$p-n$n" -4 -o addr show dev l 2>&1 || true)"
    echo "$got" | grep -q "inet $(addr "$last" 1)/31" || fail "$p-n$n: l lacks $(addr "$last" 1)/31: $got"
    ip -n "$p-n1" -o link show dev lo 2>/dev/null | grep -q "UP" || fail "$p-n1: lo is not up"
    ip netns exec "$p-n1" ping -n -q -c1 -W2 "$(addr 1 1)" >/dev/null 2>&1 \
        || fail "$p: ping n1 -> n2 ($(addr 1 1)) failed"
    ip netns exec "$p-n$last" ping -n -q -c1 -W2 "$(addr "$last" 1)" >/dev/null 2>&1 \
        || fail "$p: ping n$last -> n$n ($(addr "$last" 1)) failed"
    got="$(ip netns list | awk '{print $1}' | grep -cE "^$p-n[0-9]+$" || true)"
    [ "$got" -eq "$n" ] || fail "$p: expected $n namespaces, found $got"
}

# settle: waits (at most 2 minutes) until the machine is idle, under 3 % of its CPU busy in
# two 0.3 s windows in a row. The kernel frees removed namespaces on a worker thread for
# seconds after `down` returns (10 000 namespaces: tens of seconds); what runs meanwhile
# competes with it, and every unmount waits out RCU grace periods it stretches. Each
# timed step starts on a quiet machine, whichever tool ran before it.
settle() {
    local quiet=0 tries=0 a b
    while [ "$tries" -lt 200 ]; do
        a=$(awk '/^cpu /{ print $2+$3+$4+$6+$7+$8, $2+$3+$4+$5+$6+$7+$8 }' /proc/stat)
        sleep 0.3
        b=$(awk '/^cpu /{ print $2+$3+$4+$6+$7+$8, $2+$3+$4+$5+$6+$7+$8 }' /proc/stat)
        if awk -v a="$a" -v b="$b" 'BEGIN { split(a, x, " "); split(b, y, " "); d = y[2] - x[2]
                                            exit !(d > 0 && (y[1] - x[1]) / d < 0.03) }'; then
            quiet=$((quiet + 1))
            [ "$quiet" -lt 2 ] || return 0
        else
            quiet=0
        fi
        tries=$((tries + 1))
    done
    echo "note: the machine did not fall idle within 2 minutes; timing anyway" >&2
}

# timed VAR CMD...: runs CMD on a settled machine, appends its wall time to the array VAR;
# fails loudly.
timed() {
    local var="$1" t0 t1
    shift
    settle
    t0=$(now)
    "$@" >"$TMP/last.out" 2>"$TMP/last.err" || { cat "$TMP/last.out" "$TMP/last.err" >&2; echo "failed: $*" >&2; exit 1; }
    t1=$(now)
    eval "$var+=(\"$(elapsed "$t0" "$t1")\")"
    [ -z "${NETLAB_PROFILE:-}" ] || grep "profile" "$TMP/last.err" >&2 || true
}

write_topo() { # N FILE [EDITED-LINK]
    local n="$1" f="$2" e="${3:-0}" i
    {
        echo "name = \"$LAB\""
        echo "prefix = \"$NL_PREFIX\""
        for ((i = 1; i <= n; i++)); do echo "[nodes.n$i]"; done
        for ((i = 1; i < n; i++)); do
            echo "[[links]]"
            echo "endpoints = [\"n$i:r\", \"n$((i + 1)):l\"]"
            if [ "$i" -eq "$e" ]; then
                echo 'addresses = ["10.250.0.0/31", "10.250.0.1/31"]'
            else
                echo "addresses = [\"$(addr "$i" 0)/31\", \"$(addr "$i" 1)/31\"]"
            fi
        done
    } >"$f"
}

# Method for ip -batch: one `ip -batch` process for everything done from the host namespace
# (`netns add` for each node, `link add r netns A type veth peer name l netns B` for each
# link: both ends made directly in their namespaces), then one `ip -n NS -batch FILE` per
# namespace for addresses and `link set ... up` (lo included): one setns() and one netlink
# socket per namespace, one fork/exec per namespace. Deletion is one `ip -batch` of
# `netns del` lines.
write_ip() { # N DIR
    local n="$1" d="$2" i
    mkdir -p "$d"
    {
        for ((i = 1; i <= n; i++)); do echo "netns add $IP_PREFIX-n$i"; done
        for ((i = 1; i < n; i++)); do
            echo "link add name r netns $IP_PREFIX-n$i type veth peer name l netns $IP_PREFIX-n$((i + 1))"
        done
    } >"$d/global.batch"
    for ((i = 1; i <= n; i++)); do
        {
            echo "link set dev lo up"
            if [ "$i" -gt 1 ]; then
                echo "addr add $(addr $((i - 1)) 1)/31 dev l"
                echo "link set dev l up"
            fi
            if [ "$i" -lt "$n" ]; then
                echo "addr add $(addr "$i" 0)/31 dev r"
                echo "link set dev r up"
            fi
        } >"$d/n$i.batch"
    done
    for ((i = 1; i <= n; i++)); do echo "netns del $IP_PREFIX-n$i"; done >"$d/delete.batch"
}

ip_up() { # N DIR
    local i
    ip -batch "$2/global.batch"
    for ((i = 1; i <= $1; i++)); do ip -n "$IP_PREFIX-n$i" -batch "$2/n$i.batch"; done
}

# ---------------------------------------------------------------- the runs

REPORT="$TMP/report"
: >"$REPORT"
for N in "${NS_LIST[@]}"; do
    R="$RUNS"
    [ -n "$R" ] || { if [ "$N" -gt 1000 ]; then R=1; else R=3; fi; }
    TOPO="$TMP/$LAB.toml"
    ORIG="$TMP/orig.toml"
    EDIT="$TMP/edit.toml"
    write_topo "$N" "$ORIG"
    write_topo "$N" "$EDIT" $((N / 2))
    write_ip "$N" "$TMP/ip"
    NL_UP=(); NL_NOOP=(); NL_PLAN=(); NL_EDIT=(); NL_NOOP2=(); NL_DOWN=(); NL_RSS=()
    IP_UP=(); IP_DOWN=(); FL_UP=(); FL_DOWN=()
    echo "== N=$N: $R run(s); netlab $NETLAB, $(ip -V), floor $FLOOR_SRC" >&2
    for ((r = 0; r < R; r++)); do
        for k in 0 1 2; do
            case $(( (r + k) % 3 )) in
            0)
                timed FL_UP "$FLOOR" "$FL_PREFIX" "$N" up
                timed FL_DOWN "$FLOOR" "$FL_PREFIX" "$N" down
                ;;
            1)
                cp "$ORIG" "$TOPO"
                settle
                t0=$(now)
                /usr/bin/time -f "%M" -o "$TMP/rss" nsenter "--net=/run/netns/$SBX" "$NETLAB" up "$TOPO" \
                    >"$TMP/up.out" 2>"$TMP/up.err" || { tail "$TMP/up.out" "$TMP/up.err" >&2; echo "netlab up failed" >&2; exit 1; }
                t1=$(now)
                NL_UP+=("$(elapsed "$t0" "$t1")")
                NL_RSS+=("$(tail -n1 "$TMP/rss")")
                [ -z "${NETLAB_PROFILE:-}" ] || grep "profile" "$TMP/up.err" >&2 || true
                [ "$r" -gt 0 ] || verify "$NL_PREFIX" "$N"
                timed NL_NOOP nl up "$TOPO"
                grep -q "nothing to change" "$TMP/last.out" || fail "second netlab up changed something: $(tail -n1 "$TMP/last.out")"
                set +e
                settle
                t0=$(now); nl plan "$TOPO" >"$TMP/plan.out" 2>"$TMP/plan.err"; rc=$?; t1=$(now)
                set -e
                NL_PLAN+=("$(elapsed "$t0" "$t1")")
                [ "$rc" -eq 0 ] || { fail "netlab plan after up exited $rc (expected 0)"; tail "$TMP/plan.out" >&2; }
                # One link edited: its addresses move (the same file, edited: the same lab).
                cp "$EDIT" "$TOPO"
                timed NL_EDIT nl up "$TOPO"
                grep -q "4 changes applied" "$TMP/last.out" || fail "the one-link edit was not 4 changes: $(tail -n1 "$TMP/last.out")"
                timed NL_NOOP2 nl up "$TOPO"
                timed NL_DOWN nl down --lab "$LAB"
                if ip netns list | awk '{print $1}' | grep -qE "^$NL_PREFIX-n[0-9]+$"; then
                    fail "netlab down left namespaces"
                fi
                ;;
            2)
                if [ -n "${BENCH_IP_MAX:-}" ] && [ "$N" -gt "$BENCH_IP_MAX" ]; then continue; fi
                timed IP_UP ip_up "$N" "$TMP/ip"
                [ "$r" -gt 0 ] || verify "$IP_PREFIX" "$N"
                timed IP_DOWN ip -batch "$TMP/ip/delete.batch"
                ;;
            esac
        done
    done
    nu=$(median "${NL_UP[@]}"); fu=$(median "${FL_UP[@]}")
    nd=$(median "${NL_DOWN[@]}"); fd=$(median "${FL_DOWN[@]}")
    if [ ${#IP_UP[@]} -gt 0 ]; then
        iu=$(median "${IP_UP[@]}"); id=$(median "${IP_DOWN[@]}")
    else
        iu=skipped; id=skipped  # BENCH_IP_MAX
    fi
    nn=$(median "${NL_NOOP[@]}"); np=$(median "${NL_PLAN[@]}"); ne=$(median "${NL_EDIT[@]}")
    nn2=$(median "${NL_NOOP2[@]}"); rss=$(median "${NL_RSS[@]}")
    {
        printf '\nN=%d namespaces, %d veth pairs (medians of %d; runs: netlab up %s)\n' "$N" "$((N - 1))" "$R" "${NL_UP[*]}"
        printf '%-22s %10s %10s %10s %14s %14s\n' "" "netlab" "ip-batch" "floor" "netlab/floor" "ip/floor"
        printf '%-22s %10s %10s %10s %14s %14s\n' "create (s)" "$nu" "$iu" "$fu" "$(ratio "$nu" "$fu")" "$(ratio "$iu" "$fu")"
        printf '%-22s %10s %10s %10s %14s %14s\n' "delete (s)" "$nd" "$id" "$fd" "$(ratio "$nd" "$fd")" "$(ratio "$id" "$fd")"
        printf '%-22s %10s   (%s of up)\n' "no-op up (s)" "$nn" "$(pct "$nn" "$nu")"
        printf '%-22s %10s   (%s of up)\n' "plan (s)" "$np" "$(pct "$np" "$nu")"
        printf '%-22s %10s   (no-op up after it %s: the edit costs %s s over a no-op)\n' "one-link edit up (s)" "$ne" "$nn2" \
            "$(awk -v a="$ne" -v b="$nn2" 'BEGIN { printf "%.3f", a - b }')"
        printf '%-22s %10s\n' "netlab up peak RSS" "$(awk -v k="$rss" 'BEGIN { printf "%.1f MB", k / 1024 }')"
        printf '%-22s %10s\n' "netlab down/ip down" "$(ratio "$nd" "$id")"
    } | tee -a "$REPORT"
done

echo
echo "==== summary"
cat "$REPORT"
if [ "$FAILED" -ne 0 ]; then
    echo "correctness checks FAILED (see above)" >&2
    exit 1
fi
echo "correctness checks passed" >&2
