#!/bin/bash
# build-tree.sh OUT.tar.zst KVER_OLD KVER_NEW — the root `make e2e-real` provisions: Debian 12 with
# two kernels and their headers, contrib, non-free and non-free-firmware in its apt sources (from the
# archive this machine's apt sources name, tests/lib/debian-mirror.sh), systemd as PID 1 and the
# shared libraries the gpubase .deb depends on. Nothing of the driver: the plan installs that.
# - The tree keeps its apt sources: `gpubase --root TREE --image run` installs from them.
# - Its own initramfs is kept small (MODULES=list: virtio, ext4; lz4), so that the
#   `update-initramfs -u -k all` of the image run stays short; the guest boots through it.
# - /etc/machine-id is empty (a first boot), no timers, a persistent journal, root without a
#   password, no getty on the console (the guest's report goes there).
# tests/e2e/real/run.sh caches the result keyed on this script, the two kernel versions and the
# archive's Release date. Needs root and the network.
set -euo pipefail
export LC_ALL=C
[ $# -eq 3 ] || { echo "usage: build-tree.sh OUT.tar.zst KVER_OLD KVER_NEW" >&2; exit 64; }
OUT=$1 KOLD=$2 KNEW=$3
HERE=$(cd "$(dirname "$0")" && pwd)
COMPS="main contrib non-free non-free-firmware"
mapfile -t SRC < <("$HERE/../../lib/debian-mirror.sh" --sources | awk -v c="$COMPS" '{ print $1, $2, $3, c }')
[ ${#SRC[@]} -ge 1 ] || { echo "build-tree.sh: no Debian sources on this machine" >&2; exit 1; }

PKGS=systemd,systemd-sysv,udev,dbus,kmod,initramfs-tools,lz4,zstd,ca-certificates,pciutils,jq
PKGS=$PKGS,libyaml-0-2,libjson-c5,libsystemd0,libssl3,libkmod2,libpci3,pci.ids,libarchive13,libapt-pkg6.0
PKGS=$PKGS,linux-image-$KOLD,linux-headers-$KOLD,linux-image-$KNEW,linux-headers-$KNEW

tmp=$OUT.tmp
rm -f "$tmp"
# shellcheck disable=SC2016 # the hooks are run by mmdebstrap, which gives them the root as $1
mmdebstrap --mode=root --variant=apt --format=tar --include="$PKGS" \
        --dpkgopt='path-exclude=/usr/share/man/*' \
        --dpkgopt='path-exclude=/usr/share/locale/*' \
        --dpkgopt='path-exclude=/usr/share/doc/*' \
        --dpkgopt='path-include=/usr/share/doc/*/copyright' \
        --setup-hook='mkdir -p "$1/etc/initramfs-tools/conf.d" && printf "MODULES=list\nCOMPRESS=lz4\n" > "$1/etc/initramfs-tools/conf.d/e2e.conf"' \
        --customize-hook='printf "%s\n" virtio_pci virtio_blk ext4 virtio_rng > "$1/etc/initramfs-tools/modules"' \
        --customize-hook='chroot "$1" update-initramfs -u -k all >/dev/null' \
        --customize-hook='echo gpubase-real > "$1/etc/hostname"; printf "127.0.0.1 localhost\n127.0.1.1 gpubase-real\n" > "$1/etc/hosts"' \
        --customize-hook=': > "$1/etc/machine-id"; rm -f "$1/var/lib/dbus/machine-id"' \
        --customize-hook='rm -f "$1"/etc/systemd/system/timers.target.wants/*; mkdir -p "$1/var/log/journal"' \
        --customize-hook='printf "/dev/vda / ext4 rw,errors=remount-ro 0 0\n" > "$1/etc/fstab"' \
        --customize-hook='chroot "$1" passwd -d root >/dev/null' \
        --customize-hook='chroot "$1" systemctl mask -q e2scrub_reap.service getty@tty1.service serial-getty@ttyS0.service systemd-binfmt.service' \
        --customize-hook='rm -rf "$1"/var/cache/apt/*.bin "$1"/var/cache/apt/archives/*.deb' \
        --customize-hook='printf "%s\n" "Acquire::Languages \"none\";" "APT::Architectures { \"amd64\"; };" > "$1/etc/apt/apt.conf.d/90e2e"' \
        bookworm "$tmp" "${SRC[@]}"
zstd -q -T2 -6 --rm -f "$tmp" -o "$OUT"
