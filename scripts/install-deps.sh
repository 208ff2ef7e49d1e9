#!/usr/bin/env bash
# Installs every Debian 12 package Tandem's build, tests and benchmarks need.
# Idempotent: when everything is already present it prints one line and does
# nothing else (no apt-get update, no network).
set -euo pipefail

PACKAGES=(
  # build
  build-essential cmake ninja-build pkg-config git
  libcli11-dev liburing-dev libaio-dev libboost-dev libssl-dev
  nlohmann-json3-dev libgtest-dev libgmock-dev libbenchmark-dev
  libfuse3-dev fuse3 libnl-genl-3-dev clang libclang-rt-14-dev clang-format
  # tests, demo and benchmarks: real third-party peers and tools
  qemu-utils libnbd-bin python3-libnbd fio nbdkit e2fsprogs socat iproute2
  util-linux procps psmisc kmod
  # kernel-shim's VM test: boots Debian's kernel (downloaded into /var/cache/tandem-test)
  qemu-system-x86 busybox-static cpio
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#PACKAGES[@]} packages present"
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: missing packages (${missing[*]}); run as root" >&2
  exit 1
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
