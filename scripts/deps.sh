#!/usr/bin/env bash
# Installs the system packages netlab and its tests need on Debian/Ubuntu (as root).
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq \
    iproute2 iputils-ping util-linux procps python3 busybox-static iperf3 bird2 \
    nftables iptables pkg-config libnftnl-dev libmnl-dev libpcap-dev tcpdump \
    build-essential ca-certificates curl >/dev/null
# bird2 ships a system service: the tests run BIRD only as lab workloads, never one in the
# machine's own network namespace.
if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
    systemctl disable --now bird.service >/dev/null 2>&1 || true
fi
if ! command -v cargo >/dev/null 2>&1 && [ ! -x "$HOME/.cargo/bin/cargo" ]; then
    # Debian's own rustc is too old for the crates netlab uses.
    curl -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal
fi
