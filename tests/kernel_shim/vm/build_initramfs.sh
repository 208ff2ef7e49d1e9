#!/usr/bin/env bash
# Builds what the kernel-nbd VM test boots: Debian's 6.1 kernel (downloaded
# once with `apt-get download` into the cache, unpacked with dpkg-deb -x,
# never installed) and a busybox-static initramfs holding the nbd, e1000 and
# ext4 modules, tandem-attach with its shared libraries, mke2fs, the guest's
# configuration, the payload files and tests/kernel_shim/vm/init.
#
#   build_initramfs.sh CACHE_DIR OUT_DIR TANDEM_ATTACH CONFIG PAYLOAD_DIR
# Prints KERNEL=<path> and INITRD=<path>. Exit 77 (with the reason on stderr)
# when something it needs is missing, so the test can skip naming it.
set -euo pipefail
cache=$1 out=$2 attach=$3 config=$4 payload=$5
here=$(cd "$(dirname "$0")" && pwd)

need() { command -v "$1" >/dev/null 2>&1 || { echo "missing: $1 ($2)" >&2; exit 77; }; }
need cpio cpio
need gzip gzip
need dpkg-deb dpkg
need apt-get apt
need modinfo kmod
[ -x /bin/busybox ] && file_is_static=$(ldd /bin/busybox 2>&1 | grep -c "not a dynamic" || true)
if [ ! -x /bin/busybox ] || [ "${file_is_static:-0}" = 0 ]; then
  echo "missing: a static /bin/busybox (busybox-static)" >&2; exit 77
fi
[ -x /sbin/mke2fs ] || { echo "missing: /sbin/mke2fs (e2fsprogs)" >&2; exit 77; }

# --- the kernel: newest linux-image-6.1.*-amd64, cached ------------------------
mkdir -p "$cache/kernel"
deb=$(ls -1 "$cache"/kernel/linux-image-6.1.*-amd64_*.deb 2>/dev/null | sort -V | tail -1 || true)
if [ -z "$deb" ]; then
  pkg=$(apt-cache search --names-only '^linux-image-6\.1\.[0-9.-]+-amd64$' 2>/dev/null |
        awk '{print $1}' | sort -V | tail -1)
  if [ -z "$pkg" ]; then
    echo "missing: a linux-image-6.1.*-amd64 package in the apt lists (run apt-get update)" >&2
    exit 77
  fi
  (cd "$cache/kernel" && timeout 600 apt-get download -q "$pkg" >&2) ||
    { echo "missing: could not apt-get download $pkg" >&2; exit 77; }
  deb=$(ls -1 "$cache"/kernel/linux-image-6.1.*-amd64_*.deb | sort -V | tail -1)
fi
tree="${deb%.deb}"
if [ ! -d "$tree/boot" ]; then
  rm -rf "$tree.tmp" && mkdir -p "$tree.tmp" && dpkg-deb -x "$deb" "$tree.tmp" && mv "$tree.tmp" "$tree"
fi
kernel=$(ls -1 "$tree"/boot/vmlinuz-* | head -1)
moddir=$(ls -d "$tree"/lib/modules/* | head -1)

# --- the initramfs ----------------------------------------------------------
root="$out/root"
rm -rf "$root"
mkdir -p "$root"/{bin,sbin,etc,proc,sys,dev,run,tmp,mnt,lib/modules,payload}
cp /bin/busybox "$root/bin/busybox"
for app in $(/bin/busybox --list); do
  [ "$app" = busybox ] || ln -sf busybox "$root/bin/$app"
done
# Modules in load order (dependencies first); ext4's crc32c comes through the crypto API.
for m in crc16 mbcache jbd2 crc32c_generic ext4 nbd e1000; do
  f=$(find "$moddir" -name "$m.ko*" | head -1)
  [ -n "$f" ] || { echo "missing: $m.ko in $(basename "$deb")" >&2; exit 77; }
  case "$f" in
    *.ko.xz) xz -dc "$f" > "$root/lib/modules/$m.ko" ;;
    *.ko.zst) zstd -qdc "$f" > "$root/lib/modules/$m.ko" ;;
    *) cp "$f" "$root/lib/modules/$m.ko" ;;
  esac
done
# Our shim and mke2fs with every shared library they load.
copy_with_libs() {
  local bin=$1 dest=$2
  cp "$bin" "$root$dest"
  ldd "$bin" | awk '/=> \//{print $3} /^\t\/lib.*ld-linux/{print $1}' | while read -r lib; do
    mkdir -p "$root$(dirname "$lib")"
    cp -L "$lib" "$root$lib"
  done
}
copy_with_libs "$attach" /bin/tandem-attach
copy_with_libs /sbin/mke2fs /sbin/mke2fs
ln -sf mke2fs "$root/sbin/mkfs.ext4"
[ -f /etc/mke2fs.conf ] && cp /etc/mke2fs.conf "$root/etc/"
# The dynamic loader at its canonical path, whatever ldd printed.
mkdir -p "$root/lib64"
cp -L /lib64/ld-linux-x86-64.so.2 "$root/lib64/"
cp "$config" "$root/etc/tandem.conf"
cp "$payload"/* "$root/payload/"
cp "$here/init" "$root/init"
chmod 755 "$root/init"
(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) > "$out/initramfs.gz"
echo "KERNEL=$kernel"
echo "INITRD=$out/initramfs.gz"
