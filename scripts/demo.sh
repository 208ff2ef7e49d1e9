#!/usr/bin/env bash
# Runs the Tandem appliance demo (as root on Debian 12): a two-node cluster on
# this machine, node alpha on 127.0.0.2 and node bravo on 127.0.0.3, each with
# its own tandemd and tandem-heartbeat and a file-backed disk, configured by
# configs/demo/ (drbd.conf, ha.d/). It installs what it needs, builds, then:
#   1. creates the meta-data, starts both tandemd, connects them and runs the
#      initial full sync (progress in the /proc/drbd-style status file);
#   2. starts both tandem-heartbeat daemons: alpha takes the resource group
#      (drbddisk::r0 promotes r0 on alpha);
#   3. on alpha: attaches /dev/drbd0 (kernel-shim), makes an ext4 file system,
#      mounts it, writes files, unmounts;
#   4. pulls the plug on alpha (SIGKILL of its tandemd and tandem-heartbeat)
#      while an NBD client writes, and times bravo's takeover;
#   5. on bravo: attaches, mounts, checks every file byte for byte;
#   6. brings alpha back: it reconnects as Secondary and resyncs what it may
#      have written unreplicated (its activity log) and what changed meanwhile.
# Everything it starts is stopped and removed on exit (also on failure or ^C).
# TANDEM_DEMO_KEEP=1 leaves the cluster running at the end instead.
set -euo pipefail
cd "$(dirname "$0")/.."
top=$(pwd)
jobs=$(nproc 2>/dev/null || echo 2)

./scripts/install-deps.sh
# Absolute: tandem-heartbeat runs its resource scripts from /.
bin=$(realpath -m "${TANDEM_BUILD_DIR:-$top/build/release}")
cmake -S . -B "$bin" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$bin" -j "$jobs" --target tandemd tandemadm tandem-heartbeat tandem-attach

export PATH="$bin/userspace/daemon:$bin/userspace/admin:$bin/userspace/heartbeat:$bin/kernel-shim:$PATH"
export TANDEMADM=$bin/userspace/admin/tandemadm
export TANDEM_ATTACH=$bin/kernel-shim/tandem-attach
conf=$top/configs/demo/drbd.conf
export TANDEM_CONFIG=$conf
nodes=(alpha bravo)
declare -A ip=([alpha]=127.0.0.2 [bravo]=127.0.0.3)
data=/var/lib/tandem-demo
run=/run/tandem-demo
mnt=/mnt/tandem-demo
work=$(mktemp -d /tmp/tandem-demo.XXXXXX)

section() { printf '\n===== %s =====\n' "$*"; }
adm() { local n=$1; shift; tandemadm -c "$conf" --node "$n" --run-dir "$run/$n" "$@"; }
hb() { local n=$1; shift; tandem-heartbeat --node "$n" --run-dir "$run/$n" "$@"; }
now_ms() { date +%s%3N; }
# wait_until SECONDS COMMAND...: polls every 100 ms, fails after SECONDS.
wait_until() {
  local limit=$(( $1 * 10 )); shift
  for ((i = 0; i < limit; i++)); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
  echo "demo: timed out waiting for: $*" >&2
  return 1
}
killpid() { [ -f "$1" ] && kill -"$2" "$(cat "$1")" 2>/dev/null || true; }

# A subshell, so its `set +e` does not leak into the script.
cleanup() (
  set +e
  mountpoint -q "$mnt" && umount "$mnt" 2>/dev/null
  mountpoint -q "$mnt" && umount -l "$mnt"
  for n in "${nodes[@]}"; do
    [ -d "$run/$n" ] || continue
    tandem-attach --node "$n" --run-dir "$run/$n" -c "$conf" detach r0 >/dev/null 2>&1
    hb "$n" stop --timeout 20 >/dev/null 2>&1
    killpid "$run/$n/heartbeat.pid" KILL
    adm "$n" down r0 >/dev/null 2>&1
    killpid "$run/$n/tandemd.pid" TERM
  done
  sleep 0.5
  for n in "${nodes[@]}"; do killpid "$run/$n/tandemd.pid" KILL; done
  rm -rf "$work" "$run" "$data"
  rmdir "$mnt" 2>/dev/null
  true
)
trap cleanup EXIT
cleanup 2>/dev/null || true
work=$(mktemp -d /tmp/tandem-demo.XXXXXX)

start_tandemd() {
  local n=$1
  mkdir -p "$run/$n"
  tandemd -c "$conf" --node "$n" --run-dir "$run/$n" --log-file "$run/$n/tandemd.log"
  wait_until 10 test -S "$run/$n/tandemd.sock"
}

start_heartbeat() {
  local n=$1 dir=$work/$n/ha.d
  mkdir -p "$dir" "$work/$n/state"
  cp configs/demo/ha.d/{ha.cf,haresources,authkeys} "$dir/"
  chmod 600 "$dir/authkeys"
  cp -r initscripts/resource.d "$dir/resource.d"
  hb "$n" --config-dir "$dir" --state-dir "$work/$n/state" --bind "${ip[$n]}"
}

section "1. two tandemd nodes on 127.0.0.2 and 127.0.0.3 ($conf)"
for n in "${nodes[@]}"; do
  mkdir -p "$data/$n"
  truncate -s 256M "$data/$n/r0.img"
  adm "$n" create-md --force r0
  start_tandemd "$n"
  adm "$n" up r0
done
adm alpha wait-connect r0
echo "connection: $(adm alpha cstate r0), disks: $(adm alpha dstate r0)"
echo "initial full sync, alpha is the source (primary --force):"
adm alpha primary --force r0
for ((i = 0; i < 600; i++)); do
  state=$(adm alpha cstate r0)
  [ "$state" = Connected ] && break
  grep -E 'cs:|sync|finish' "$run/alpha/status" | sed 's/^/  /' | head -4
  sleep 0.5
done
cat "$run/alpha/status"
adm alpha secondary r0

section "2. tandem-heartbeat on both nodes: alpha takes its resource group"
for n in "${nodes[@]}"; do start_heartbeat "$n"; done
wait_until 30 sh -c "[ \"\$(tandemadm -c $conf --node alpha --run-dir $run/alpha role r0)\" = Primary/Secondary ]"
hb alpha status
echo "alpha: $(adm alpha role r0)   bravo: $(adm bravo role r0)"

section "3. alpha: the export as a block device, an ext4 file system, some files"
adm alpha show-export r0
adm alpha attach-device r0
ls -l /dev/drbd0
# The file system takes the first 200 MiB; the writer in step 4 uses the end.
mkfs.ext4 -q -F /dev/drbd0 200M
mkdir -p "$mnt"
mount /dev/drbd0 "$mnt"
cp -r /usr/share/common-licenses "$mnt/licenses"
head -c 20M /dev/urandom > "$mnt/random.bin"
(cd "$mnt" && find . -type f -exec sha256sum {} + | sort -k2) > "$work/sums"
echo "wrote $(wc -l < "$work/sums") files, $(du -sh "$mnt" | cut -f1) on alpha's /dev/drbd0"
umount "$mnt"
adm alpha detach-device r0

section "4. alpha loses power while an NBD client writes (SIGKILL)"
# The writer fills a region above the file system's data with a pattern;
# qemu-io prints one line per write once it was acknowledged.
size=$(adm alpha --json status r0 | sed -n 's/.*"size": \([0-9]*\).*/\1/p')
tail_off=$(( (size / 1048576 - 16) * 1048576 ))  # the last whole 16 MiB
cmds=()
for i in $(seq 0 255); do cmds+=(-c "write -P 0x5a $(( tail_off + i * 65536 )) 64k"); done
( qemu-io -f raw "$(adm alpha show-export r0 | head -1)" "${cmds[@]}" > "$work/writer.out" 2>&1 || true ) &
writer=$!
sleep 0.3
t0=$(now_ms)
killpid "$run/alpha/heartbeat.pid" KILL
killpid "$run/alpha/tandemd.pid" KILL
wait "$writer" || true
acked=$(grep -c '^wrote' "$work/writer.out" || true)
echo "alpha killed; the writer saw $acked writes of 64 KiB acknowledged"
wait_until 60 sh -c "[ \"\$(tandemadm -c $conf --node bravo --run-dir $run/bravo role r0)\" = Primary/Unknown ]"
t1=$(now_ms)
echo "bravo is Primary $(( t1 - t0 )) ms after the kill (heartbeat deadtime 1 s)"
hb bravo status | sed -n '1,12p'
cat "$run/bravo/status"

section "5. bravo: the same file system, every byte checked"
adm bravo attach-device r0
mount /dev/drbd0 "$mnt"
(cd "$mnt" && sha256sum --quiet -c "$work/sums") && echo "all $(wc -l < "$work/sums") files identical on bravo"
umount "$mnt"
adm bravo detach-device r0
lost=0
while read -r off; do
  got=$(dd if="$data/bravo/r0.img" bs=64k count=1 skip=$(( off / 65536 )) 2>/dev/null | tr -d 'Z' | wc -c)
  if [ "$got" -ne 0 ]; then
    lost=$((lost + 1))
    echo "  missing: 64 KiB at offset $off ($got bytes differ)"
  fi
done < <(grep '^wrote' "$work/writer.out" | awk '{print $NF}')
echo "acknowledged NBD writes missing on bravo: $lost of $acked"
[ "$lost" -eq 0 ]

section "6. alpha comes back as Secondary: it resyncs its activity-log extents and what changed"
start_tandemd alpha
adm alpha up r0
adm alpha wait-connect r0
wait_until 60 sh -c "[ \"\$(tandemadm -c $conf --node alpha --run-dir $run/alpha dstate r0)\" = UpToDate/UpToDate ]"
grep -h 'resync\|Resync' "$run/alpha/tandemd.log" "$run/bravo/tandemd.log" | tail -3
start_heartbeat alpha
sleep 2
echo "alpha: $(adm alpha role r0) $(adm alpha dstate r0)   bravo: $(adm bravo role r0)"
cat "$run/bravo/status"

if [ "${TANDEM_DEMO_KEEP:-0}" = 1 ]; then
  trap - EXIT
  section "the cluster keeps running: run dirs in $run, logs there; stop with: $0 (it cleans up first)"
  echo "try: $bin/userspace/admin/tandemadm -c $conf --node bravo --run-dir $run/bravo status r0"
  echo "     cat $run/bravo/status"
  exit 0
fi
section "demo finished"
