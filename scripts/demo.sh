#!/usr/bin/env bash
# Runs the Tandem appliance demo on this machine (as root on Debian 12): installs
# what it needs, builds, then shows what exists today: the configuration
# front end reading the example clusters in configs/ exactly as DRBD and
# Heartbeat users have them, and refusing a broken file with file:line errors.
# Later issues extend this script into the two-node cluster on 127.0.0.2/127.0.0.3.
set -euo pipefail
cd "$(dirname "$0")/.."
top=$(pwd)
jobs=$(nproc 2>/dev/null || echo 2)

./scripts/install-deps.sh
cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build/release -j "$jobs" --target tandemadm $( [ -f userspace/heartbeat/CMakeLists.txt ] && echo tandem-heartbeat )
adm=build/release/userspace/admin/tandemadm
hb=build/release/userspace/heartbeat/tandem-heartbeat

work=$(mktemp -d /tmp/tandem-demo.XXXXXX)
trap 'rm -rf "$work"' EXIT

section() { printf '\n===== %s =====\n' "$*"; }

section "drbd.conf of the vserver cluster (0.7 form), normalized for node vs-a.example.org"
"$adm" -c configs/vserver-cluster/drbd.conf --node vs-a.example.org dump all

section "drbd.conf of the two-node demo (8.4 form), resource r0 as JSON for node bravo"
"$adm" -c configs/demo/drbd.conf --node bravo --json dump r0

if [ -x "$hb" ]; then
  for setup in vserver-cluster:vs-a.example.org qmail-cluster:mx-a virtual-ip:lb-1 demo:alpha; do
    dir=${setup%%:*} node=${setup#*:}
    section "Heartbeat files of configs/$dir, checked for node $node"
    mkdir -p "$work/$dir"
    cp -r "configs/$dir/ha.d" "$work/$dir/"
    chmod 600 "$work/$dir/ha.d/authkeys"
    "$hb" --check --config-dir "$work/$dir/ha.d" --node "$node"
  done
fi

section "a broken drbd.conf is refused with file:line:column errors"
cat > "$work/broken.conf" <<'CONF'
resource r0 {
  net { timeout 6000; conect-int 10; }
  on alpha { device /dev/drbd0; disk /dev/vg/r0; address :7788; meta-disk internal; }
  on bravo { device /dev/drbd0; disk /dev/vg/r0; address 10.0.0.2:7788; meta-disk internal; }
}
CONF
set +e
"$adm" -c "$work/broken.conf" --node alpha dump
rc=$?
set -e
echo "(tandemadm exited with status $rc)"
[ "$rc" -eq 10 ]
section "demo finished"
