#!/bin/bash
# build-image.sh OUT.tar.zst — the e2e tier's Debian 12 guest, as a tarball of its root.
#
# mmdebstrap (mode root) of bookworm with systemd as PID 1, udev, dbus, a stock kernel, docker.io,
# Debian's cloud-init and the shared libraries the gpubase .deb depends on.
# - /etc/machine-id is empty (run.sh gives every scenario its own); the timers are dropped (no
#   apt-daily in the middle of a test); the journal is persistent (the test reads the journal of
#   the boot before the reboot); the root has no fsck pass (ext4's journal replay at mount is what
#   a hard reset relies on).
# - docker starts without iptables or a bridge (3-4 s instead of ~11 s under TCG; nvidia-ctk keeps
#   both keys), containerd without its Kubernetes CRI plugin, which docker does not use.
# - Early-boot units this machine has no use for are masked (logins, module preloads for
#   dm/fuse/loop/drm/pstore, binfmt, debug/hugepage/config/fuse file systems): each costs a process
#   start, a second or more under TCG, at every boot.
# - apt: the Debian sources are emptied (the guest has no network, only the test's file:///
#   repositories), no translations, one architecture (libapt then does not ask dpkg for foreign
#   architectures at every cache open).
# - The guests boot with run.sh's own initramfs (guest/e2e-init.c); the image's own initramfs is
#   kept small (MODULES=list, lz4) only to keep this build short.
# - cloud-init is Debian's, configured by nothing here: run.sh puts the NoCloud seed and the
#   datasource list on the scenario disk, and disables cloud-init on the kernel command line of
#   every other scenario.
#
# run.sh caches the result under build/e2e-cache keyed on this script's sha256: any change here
# rebuilds the image. Needs root and the network: the Debian archive named by this machine's apt
# sources (tests/lib/debian-mirror.sh; E2E_MIRROR overrides it). About 1 min on 2 cores.
set -euo pipefail
export LC_ALL=C

[ $# -eq 1 ] || { echo "usage: build-image.sh OUT.tar.zst" >&2; exit 64; }
OUT=$1
MIRROR=${E2E_MIRROR:-$("$(dirname "$0")/../lib/debian-mirror.sh" --uri)}

# the gpubase package's runtime libraries (packaging/debian/control), so that `dpkg --root -i`
# finds its Depends satisfied; jq for the guest-side test scripts
PKGS=systemd,systemd-sysv,udev,dbus,kmod,linux-image-amd64,initramfs-tools,lz4,zstd,docker.io,ca-certificates
PKGS=$PKGS,libyaml-0-2,libjson-c5,libsystemd0,libssl3,libkmod2,libpci3,pci.ids,libarchive13,libapt-pkg6.0,jq
# Debian's cloud-init, for the scenario that boots examples/cloud-init/user-data from a NoCloud
# seed; every other scenario boots with `cloud-init=disabled` on the kernel command line, so that
# its generator leaves cloud-init.target out and it costs nothing there
PKGS=$PKGS,cloud-init

# Module directories of the stock kernel that a virtio guest never loads (hardware it does not
# have): without them the image is ~250 MB smaller, udev loads nothing useless at boot, and
# `depmod -a` (run by the driver package's postinst, as DKMS does) is several times faster under
# TCG. The kernel image itself is Debian's, unchanged.
TRIM="sound arch/x86/kvm drivers/media drivers/iio drivers/usb drivers/hid drivers/hwmon drivers/input
 drivers/platform drivers/scsi drivers/comedi drivers/ata drivers/mtd drivers/watchdog drivers/video
 drivers/misc drivers/i2c drivers/gpu drivers/leds drivers/infiniband drivers/bluetooth drivers/w1
 drivers/edac drivers/thermal drivers/mmc drivers/mfd drivers/net/wireless drivers/net/ethernet
 drivers/net/can drivers/net/usb drivers/isdn drivers/staging drivers/nfc drivers/firewire
 drivers/pcmcia drivers/spi drivers/gpio drivers/pinctrl drivers/power drivers/regulator drivers/ssb
 drivers/bcma drivers/atm drivers/parport drivers/target drivers/nvme drivers/fpga drivers/hsi
 drivers/ntb drivers/uio drivers/vfio drivers/crypto drivers/accel drivers/ptp drivers/pps
 net/wireless net/mac80211 net/bluetooth net/6lowpan net/ieee802154 net/nfc net/can net/sched
 net/rxrpc net/sctp net/tipc net/rds net/ceph fs/ocfs2 fs/gfs2 fs/nfs fs/nfsd fs/ceph fs/smb fs/cifs"
EXCL=()
for d in $TRIM; do EXCL+=("--dpkgopt=path-exclude=/lib/modules/*/kernel/$d/*"); done

tmp=$OUT.tmp
rm -f "$tmp"
# shellcheck disable=SC2016 # the hooks are run by mmdebstrap, which gives them the root as $1
mmdebstrap --mode=root --variant=apt --format=tar \
        --include="$PKGS" \
        --dpkgopt='path-exclude=/usr/share/man/*' \
        --dpkgopt='path-exclude=/usr/share/locale/*' \
        --dpkgopt='path-include=/usr/share/locale/locale.alias' \
        --dpkgopt='path-exclude=/usr/share/doc/*' \
        --dpkgopt='path-include=/usr/share/doc/*/copyright' \
        --dpkgopt='path-exclude=/usr/share/info/*' \
        "${EXCL[@]}" \
        --dpkgopt='path-exclude=/lib/modules/*/kernel/drivers/block/floppy.ko' \
        --setup-hook='mkdir -p "$1/etc/initramfs-tools/conf.d" && echo MODULES=list > "$1/etc/initramfs-tools/conf.d/e2e.conf"' \
        --customize-hook='printf "%s\n" virtio_pci virtio_blk ext4 9p 9pnet_virtio virtio_rng >> "$1/etc/initramfs-tools/modules"' \
        --customize-hook='echo COMPRESS=lz4 >> "$1/etc/initramfs-tools/conf.d/e2e.conf"' \
        --customize-hook='chroot "$1" update-initramfs -u -k all >/dev/null' \
        --customize-hook='echo gpubase-e2e > "$1/etc/hostname"' \
        --customize-hook='printf "127.0.0.1 localhost\n127.0.1.1 gpubase-e2e\n" > "$1/etc/hosts"' \
        --customize-hook=': > "$1/etc/machine-id"; rm -f "$1/var/lib/dbus/machine-id"' \
        --customize-hook='rm -f "$1"/etc/systemd/system/timers.target.wants/*' \
        --customize-hook='mkdir -p "$1/var/log/journal"' \
        --customize-hook='mkdir -p "$1/etc/docker" && printf "{\n    \"bridge\": \"none\",\n    \"iptables\": false\n}\n" > "$1/etc/docker/daemon.json"' \
        --customize-hook='printf "/dev/vda / ext4 rw,errors=remount-ro 0 0\nhostshare /mnt/host 9p trans=virtio,version=9p2000.L,msize=262144,nofail 0 0\n" > "$1/etc/fstab"; mkdir -p "$1/mnt/host"' \
        --customize-hook='chroot "$1" passwd -d root >/dev/null' \
        --customize-hook='echo "version = 2" > "$1/etc/containerd/config.toml"; echo "disabled_plugins = [\"io.containerd.grpc.v1.cri\"]" >> "$1/etc/containerd/config.toml"' \
        --customize-hook='chroot "$1" systemctl mask -q e2scrub_reap.service getty@tty1.service serial-getty@ttyS0.service \
		modprobe@dm_mod.service modprobe@fuse.service modprobe@loop.service modprobe@efi_pstore.service \
		modprobe@configfs.service modprobe@drm.service systemd-binfmt.service dev-hugepages.mount \
		sys-kernel-debug.mount sys-kernel-tracing.mount sys-kernel-config.mount sys-fs-fuse-connections.mount' \
        --customize-hook='rm -rf "$1"/var/cache/apt/*.bin "$1"/var/cache/apt/archives/*.deb "$1"/var/lib/apt/lists/*_*' \
        --customize-hook=': > "$1/etc/apt/sources.list"' \
        --customize-hook='printf "%s\n" "Acquire::Languages \"none\";" "APT::Architectures { \"amd64\"; };" > "$1/etc/apt/apt.conf.d/90e2e"' \
        bookworm "$tmp" "deb $MIRROR bookworm main"
zstd -q -T0 -6 --rm -f "$tmp" -o "$OUT"
