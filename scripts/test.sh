#!/usr/bin/env bash
# Runs Tandem's whole test suite the way CI does (as root on Debian 12):
#   1. installs the Debian packages it needs (idempotent),
#   2. builds with g++ and -Werror, runs every test,
#   3. builds with clang + AddressSanitizer + UndefinedBehaviorSanitizer (and the
#      libFuzzer targets), runs the unit and program tests again under the
#      sanitizers plus a short smoke run of every fuzzer (the multi-process
#      "cluster" tests run once, in step 2, and are not built here).
# Build trees live in build/release and build/asan. Extra arguments go to ctest
# (for example: scripts/test.sh -R Drbd).
set -euo pipefail
cd "$(dirname "$0")/.."

jobs=$(nproc 2>/dev/null || echo 2)
./scripts/install-deps.sh

echo "== release build (g++, -Werror)"
cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTANDEM_WERROR=ON >/dev/null
cmake --build build/release -j "$jobs"
ctest --test-dir build/release --output-on-failure -j "$jobs" --timeout 900 "$@"

echo "== sanitizer build (clang, ASan + UBSan, fuzzers)"
cmake -S . -B build/asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_COMPILER=clang++ \
  -DTANDEM_WERROR=ON -DTANDEM_SANITIZE=ON -DTANDEM_FUZZ=ON -DTANDEM_BENCH=OFF \
  -DTANDEM_CLUSTER_TESTS=OFF >/dev/null
cmake --build build/asan -j "$jobs"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir build/asan --output-on-failure -j "$jobs" --timeout 900 -L 'unit|cli|fuzz' "$@"
echo "== all tests passed"
