#!/bin/bash
# tests/e2e/run.sh — gpubase on a real Debian 12 machine: systemd as PID 1 in a qemu guest, gpubase
# installed from its .deb, the driver from a signed apt repository whose kernel package ships a
# real (stand-in) `nvidia` module. `make e2e` runs it; see tests/e2e/README.md.
#
# Environment:
#   GPUBASE_DEB        the package to test (make deb builds it)                   [required]
#   E2E_SCENARIOS      default "happy packer failure drift cloudinit reset image" (drift continues happy's disk)
#   E2E_RESET_SEEDS    seeds of the hard-reset scenario, default "1 2 3 4" (make check: "1 2")
#   E2E_JOBS           guests at a time, default 2 (each -smp 1); 1 runs them one by one (-smp 2)
#   E2E_BOOT_BUDGET    seconds per expected boot a guest may run before it counts as hung (240)
#   E2E_OPS_BUDGET     seconds more for the happy guest's exit-75 retry and drift-watch checks (480)
#   E2E_ACCEL          kvm or tcg; default: kvm only if the cpu has vmx/svm and /dev/kvm is usable
#   E2E_CACHE, E2E_WORK  build/e2e-cache (the guest image), build/e2e (everything of this run)
# Exit 0 only if every scenario passed. A guest that does not start, or hangs, fails the tier.
set -euo pipefail
export LC_ALL=C TZ=UTC
umask 022

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
TOP=$(cd "$HERE/../.." && pwd -P)
CACHE=${E2E_CACHE:-$TOP/build/e2e-cache}
# shellcheck source=tests/lib/private-ns.sh
. "$TOP/tests/lib/private-ns.sh"
W=${E2E_WORK:-$TOP/build/e2e}
DEB=${GPUBASE_DEB:-}
SCENARIOS=${E2E_SCENARIOS:-happy packer failure drift cloudinit reset image}
RESET_SEEDS=${E2E_RESET_SEEDS:-1 2 3 4}
JOBS=${E2E_JOBS:-2}
BOOT_BUDGET=${E2E_BOOT_BUDGET:-240}
OPS_BUDGET=${E2E_OPS_BUDGET:-480}
FIRST_BOOT_TIMEOUT=${E2E_FIRST_BOOT_TIMEOUT:-240}
T0=$(date +%s)

elapsed() { echo "$(($(date +%s) - T0))s"; }
log() { echo "e2e [$(elapsed)]: $*"; }
die() {
        echo "e2e: FAIL: $*" >&2
        exit 1
}

# ------------------------------------------------------------------ preconditions
[ "$(id -u)" = 0 ] || die "the e2e tier needs root (mmdebstrap --mode=root, chroot, mkfs.ext4 -d)"
for t in qemu-system-x86_64 qemu-img mmdebstrap mkfs.ext4 zstd socat jq modinfo modprobe cpio dpkg-deb apt-ftparchive gpg make gcc; do
        command -v "$t" >/dev/null || die "missing $t: run \`make deps-e2e\`"
done
{ [ -n "$DEB" ] && [ -f "$DEB" ]; } || die "GPUBASE_DEB must name the gpubase .deb (\`make deb\`), got '$DEB'"
ACCEL=${E2E_ACCEL:-}
if [ -z "$ACCEL" ]; then
        # /dev/kvm may exist without hardware virtualisation (a paravirtualised kvm module that wants
        # a specially built guest kernel): a stock kernel then hangs in its decompressor or dies with
        # a KVM emulation failure under -accel kvm. Only vmx/svm makes KVM worth trying.
        if grep -qwE 'vmx|svm' /proc/cpuinfo && [ -w /dev/kvm ]; then ACCEL=kvm; else ACCEL=tcg; fi
fi
case "$ACCEL" in
kvm) CPU=host ;;
tcg) CPU=qemu64 ;; # much faster than -cpu max under TCG
*) die "E2E_ACCEL must be kvm or tcg" ;;
esac
[ "$JOBS" -ge 1 ] 2>/dev/null || die "E2E_JOBS must be a number >= 1"
SMP=${E2E_SMP:-$(((JOBS >= 2) ? 1 : 2))}
# cryptomgr.notests: the kernel's crypto self-tests cost ~20 s of every boot under TCG;
# mitigations=off: no retpolines in an emulated CPU. Neither changes what the test looks at.
# apparmor=0: docker loads its AppArmor profile with apparmor_parser, which the minimal guest lacks
KERNEL_ARGS=${E2E_KERNEL_ARGS:-cryptomgr.notests mitigations=off apparmor=0}

# ------------------------------------------------------------------ the guest image (cached)
mkdir -p "$CACHE"
key=$(sha256sum "$HERE/build-image.sh" | cut -c1-16)
IMG=$CACHE/debian12-$key.tar.zst
exec 9>"$CACHE/.lock"
flock 9
if [ -s "$IMG" ]; then
        log "guest image: $IMG (cached)"
        IMAGE_STATE=cached
else
        log "guest image: building $IMG (mmdebstrap, about 1 min, 3-4 under load)"
        t=$(date +%s)
        "$HERE/build-image.sh" "$IMG" >"$CACHE/build-$key.log" 2>&1 || {
                tail -30 "$CACHE/build-$key.log" >&2
                die "building the guest image failed (log: $CACHE/build-$key.log)"
        }
        find "$CACHE" -maxdepth 1 \( \( -name 'debian12-*.tar.zst' ! -name "debian12-$key.tar.zst" \) -o \
                \( -name 'build-*.log' ! -name "build-$key.log" \) \) -delete
        log "guest image built in $(($(date +%s) - t))s"
        IMAGE_STATE="built now"
fi
flock -u 9

# ------------------------------------------------------------------ the guest's root
rm -rf "$W"
mkdir -p "$W/root" "$W/s"
ROOT=$W/root
tar --zstd -xpf "$IMG" -C "$ROOT" --numeric-owner
mapfile -t kvers < <(ls "$ROOT/lib/modules")
[ ${#kvers[@]} -eq 1 ] || die "the guest image holds ${#kvers[@]} kernels (${kvers[*]}), expected one"
KVER=${kvers[0]}
# the initramfs moves /dev, /proc, /sys and /run onto these: they must exist in the root
mkdir -p "$ROOT/dev" "$ROOT/proc" "$ROOT/sys" "$ROOT/run" "$ROOT/tmp"
cp "$ROOT/boot/vmlinuz-$KVER" "$W/vmlinuz"
# The initramfs: tests/e2e/guest/e2e-init.c as /init, with the modules the root disk needs (and
# virtio-rng, which seeds the kernel's RNG before systemd asks for random bytes). It mounts
# /dev/vda and starts systemd, which is all Debian's initramfs does on this machine, without its
# udev coldplug and scripts (under TCG a large part of every boot).
mkdir -p "$W/initramfs/m"
gcc -static -Os -o "$W/initramfs/init" "$HERE/guest/e2e-init.c" || die "cannot build the guest's /init (gcc -static: libc6-dev)"
for m in virtio_pci virtio_blk crc32c_generic ext4 virtio_rng; do
        modprobe -d "$ROOT" -S "$KVER" --show-depends "$m" || die "the guest kernel has no module $m"
done | awk '$1 == "insmod" && !seen[$2]++ { print $2 }' | while read -r ko; do
        [[ $ko == *.ko ]] || die "module $ko: only uncompressed modules are handled"
        cp "$ko" "$W/initramfs/m/" && echo "/m/$(basename "$ko")"
done >"$W/initramfs/modules"
[ "$(wc -l <"$W/initramfs/modules")" -ge 5 ] || die "too few modules for the initramfs"
(cd "$W/initramfs" && find . | cpio -o -H newc --quiet) >"$W/initrd.img" || die "cannot pack the initramfs (cpio)"
log "guest kernel $KVER; initramfs: /init and $(wc -l <"$W/initramfs/modules") modules"
# an NVSwitch's PCI function for the guests that want one (NVSWITCH=ID in boot_vm): qemu has no
# such device; tests/e2e/nvswitch-dev.c answers its x-pci-proxy-dev's configuration accesses
gcc -std=gnu11 -O2 -Wall -Wextra -Werror -o "$W/nvswitch-dev" "$HERE/nvswitch-dev.c" || die "cannot build tests/e2e/nvswitch-dev.c"

# the stand-in module is built against the guest kernel's headers, on this host
KDIR=/usr/src/linux-headers-$KVER
if [ ! -f "$KDIR/Makefile" ]; then
        log "installing linux-headers-$KVER (the guest kernel's headers)"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "linux-headers-$KVER" >"$W/headers.log" 2>&1 ||
                { apt-get update -q >>"$W/headers.log" 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "linux-headers-$KVER" >>"$W/headers.log" 2>&1; } ||
                {
                        tail -20 "$W/headers.log" >&2
                        die "cannot install linux-headers-$KVER: the module cannot be built for the guest kernel"
                }
fi

# ------------------------------------------------------------------ the repository
t=$(date +%s)
"$HERE/make-e2e-repo.sh" "$W/repo" "$KVER" "$KDIR" 2>"$W/repo.log" || {
        cat "$W/repo.log" >&2
        die "building the e2e repository failed"
}
# shellcheck source=/dev/null
. "$W/repo/e2e.env"
log "repository built in $(($(date +%s) - t))s (module for $KVER, key $KEY_FPR)"

# ------------------------------------------------------------------ payload
# dpkg inside the image (chroot), not `dpkg --root` from here: dpkg resolves the users and groups
# of the image's statoverride file (dbus's messagebus) in the running system's databases, and a
# build machine without dbus has no such group
cp "$DEB" "$ROOT/tmp/gpubase.deb"
chroot "$ROOT" dpkg --log=/dev/null -i /tmp/gpubase.deb >"$W/dpkg-gpubase.log" 2>&1 || {
        cat "$W/dpkg-gpubase.log" >&2
        die "dpkg -i $DEB inside the guest image failed"
}
rm -f "$ROOT/tmp/gpubase.deb"
{ [ -x "$ROOT/usr/bin/gpubase" ] && [ -f "$ROOT/lib/systemd/system/gpubase.service" ]; } || die "the .deb did not install gpubase and its unit"
[ ! -e "$ROOT/etc/systemd/system/multi-user.target.wants/gpubase.service" ] || die "installing the .deb enabled gpubase.service"
cp -a "$W/repo/srv" "$ROOT/srv/repo"
mkdir -p "$ROOT/srv/e2e"
# The shipped Debian 12 plan, as the package installed it, with one change: the preflight gate
# cannot ask for gpu.present, because qemu has no NVIDIA device to put on the guest's PCI bus.
# (gpu.open-module-supported stays: with no GPU it skips.) The URLs and keys come in as --var
# overrides, which the run keeps for resume.
shipped=$ROOT/usr/share/gpubase/plans/debian-12.yaml
# shellcheck disable=SC2016 # the plan's own ${signing_route}, matched literally
from='    checks: [gpu.present, gpu.open-module-supported, {secureboot: "${signing_route}"}, nouveau]'
# shellcheck disable=SC2016 # as above
to='    checks: [gpu.open-module-supported, {secureboot: "${signing_route}"}, nouveau]   # e2e: no NVIDIA device on qemu'"'"'s PCI bus'
[ "$(grep -cxF "$from" "$shipped")" = 1 ] || die "$shipped changed: its preflight line is not '$from' (update tests/e2e/run.sh)"
awk -v from="$from" -v to="$to" '$0 == from { print to; next } { print }' "$shipped" >"$ROOT/srv/e2e/plan.yaml"
# The happy scenario's plan: the same with lock_timeout: 15 on the ctk step, so that the dpkg lock
# its guest holds at boot 2 (e2e-scenario.sh, arm_dpkg_busy) makes the resume exit 75 quickly.
awk '/^  - id: / { ctk = ($3 == "ctk") } { print } ctk && $0 == "    hold: true" { print "    lock_timeout: 15" }' \
        "$ROOT/srv/e2e/plan.yaml" >"$ROOT/srv/e2e/plan-busy.yaml"
[ "$(grep -c '^    lock_timeout: 15$' "$ROOT/srv/e2e/plan-busy.yaml")" = 1 ] ||
        die "$shipped changed: its ctk step has no 'hold: true' line to put lock_timeout after (update tests/e2e/run.sh)"
# the containerd variant, with the same change (the happy scenario's last boot runs it)
shipped_ctrd=$ROOT/usr/share/gpubase/plans/debian-12-containerd.yaml
[ "$(grep -cxF "$from" "$shipped_ctrd")" = 1 ] || die "$shipped_ctrd changed: its preflight line is not '$from'"
awk -v from="$from" -v to="$to" '$0 == from { print to; next } { print }' "$shipped_ctrd" >"$ROOT/srv/e2e/plan-containerd.yaml"
# The container smoke test's image: the CUDA base image gpubase picks for the guest's ceiling (the fake
# NVML's 13.0), built here as a docker-archive (make-smoke-image.sh) whose nvidia-smi is a stand-in
# reading what the NVIDIA runtime stand-in injected; the plans load it through smoke_archive.
"$HERE/make-smoke-image.sh" "$ROOT/srv/e2e/smoke-image.tar" nvcr.io/nvidia/cuda:13.0.0-base-ubuntu24.04 13.0 ||
        die "cannot build the smoke test's image"
cat >"$ROOT/srv/e2e/vars" <<EOF
cuda_repo=file://$GUEST_REPO/cuda
cuda_key_fpr=$KEY_FPR
ctk_repo=file://$GUEST_REPO/ctk
ctk_key_url=file://$GUEST_REPO/keys/ctk-key.asc
ctk_key_fpr=$CTK_KEY_FPR
driver_origin=$GUEST_REPO/cuda
smoke_archive=/srv/e2e/smoke-image.tar
EOF
# The packer scenario replays examples/packer: its provisioners as the template lists them (read
# from the template now, tests/e2e/packer-steps.sh), its scripts copied unchanged, and the plan
# directory it uploads (the e2e plan under the template's default plan_file name). The harness
# supplies what -var-file would: plan_vars, the fixture's repository values.
"$HERE/packer-steps.sh" "$TOP/examples/packer/gpu-image.pkr.hcl" "$ROOT/srv/e2e/packer" ||
        die "cannot read the provisioners of examples/packer/gpu-image.pkr.hcl"
mkdir -p "$ROOT/srv/e2e/packer/scripts" "$ROOT/srv/e2e/packer/plans"
while IFS=$'\t' read -r kind a _; do
        [ "$kind" != script ] || install -m 755 "$TOP/examples/packer/scripts/$a" "$ROOT/srv/e2e/packer/scripts/$a" ||
                die "the template runs scripts/$a, which examples/packer/scripts does not have"
        # shellcheck disable=SC2016 # the template's own expression, literally
        case "$kind:$a" in
        inline:* | script:* | upload:local.deb | 'upload:${local.plans}/' | download:/var/tmp/*) ;;
        *) die "examples/packer/gpu-image.pkr.hcl: the harness does not know the provisioner '$kind $a' (teach tests/e2e/guest/e2e-scenario.sh)" ;;
        esac
done <"$ROOT/srv/e2e/packer/steps"
# the package the template uploads (local.deb): the one under test
cp "$DEB" "$ROOT/srv/e2e/packer/gpubase.deb"
plan_file=$(sed -n 's/^GPUBASE_PLAN_FILE=//p' "$ROOT/srv/e2e/packer/env")
[ -n "$plan_file" ] || die "the template's environment has no GPUBASE_PLAN_FILE"
cp "$ROOT/srv/e2e/plan.yaml" "$ROOT/srv/e2e/packer/plans/$plan_file"
sed -i "s|^GPUBASE_PLAN_VARS=.*|GPUBASE_PLAN_VARS=$(tr '\n' ' ' <"$ROOT/srv/e2e/vars" | sed 's/ $//')|" "$ROOT/srv/e2e/packer/env"

# The cloud-init scenario: examples/cloud-init/user-data as a NoCloud seed, with the changes this
# machine needs made mechanically (cloudinit_user_data below): the preflight line as in the plan
# above, and each var of /srv/e2e/vars set in the embedded plan's vars. Nothing else changes: the
# runcmd is the example's.
cloudinit_user_data() { # USER-DATA VARS-FILE
        local name val n
        awk -v from="${from#    }" -v to="${to#    }" '
		{ line = $0; ind = line; sub(/[^ ].*$/, "", ind) }
		substr(line, length(ind) + 1) == from { print ind to; hits++; next }
		{ print }
		END { if (hits != 1) { print "preflight line found " hits + 0 " times" > "/dev/stderr"; exit 1 } }' "$1" >"$W/user-data.tmp" || return 1
        while IFS= read -r v; do
                name=${v%%=*} val=${v#*=}
                n=$(grep -cE "^ +$name: \".*\"$" "$W/user-data.tmp" || true)
                [ "$n" = 1 ] || { echo "var $name found $n times in the embedded plan's vars" >&2; return 1; }
                awk -v name="$name" -v val="$val" '
			match($0, "^ +" name ": \"") && /"$/ { ind = $0; sub(/[^ ].*$/, "", ind); print ind name ": \"" val "\""; next }
			{ print }' "$W/user-data.tmp" >"$W/user-data.tmp2" && mv "$W/user-data.tmp2" "$W/user-data.tmp"
        done <"$2"
        cat "$W/user-data.tmp"
        rm -f "$W/user-data.tmp"
}
seed=$ROOT/var/lib/cloud/seed/nocloud
mkdir -p "$seed" "$ROOT/etc/cloud/cloud.cfg.d"
cloudinit_user_data "$TOP/examples/cloud-init/user-data" "$ROOT/srv/e2e/vars" >"$seed/user-data" ||
        die "examples/cloud-init/user-data changed: the e2e changes no longer apply (update tests/e2e/run.sh)"
printf 'instance-id: gpubase-e2e-1\nlocal-hostname: gpubase-e2e\n' >"$seed/meta-data"
# The image's cloud-init configuration (not the user-data's): the seed is on the disk, so no other
# datasource is probed. This machine has no partition table to grow, no sshd to make host keys
# for, and no en_US.UTF-8 locale (update-locale refuses it): cloud-init's resizefs, ssh and locale
# modules would fail there, and cloud-init report an error.
cat >"$ROOT/etc/cloud/cloud.cfg.d/90-e2e.cfg" <<'EOF'
datasource_list: [NoCloud]
resize_rootfs: false
growpart: {mode: "off"}
ssh_genkeytypes: []
locale: false
EOF
diff -u "$TOP/examples/cloud-init/user-data" "$seed/user-data" >"$W/user-data.diff" || true
install -D -m 755 "$HERE/guest/e2e-scenario.sh" "$ROOT/usr/local/lib/gpubase-e2e/e2e-scenario.sh"
install -m 644 "$HERE/guest/e2e-scenario.service" "$ROOT/etc/systemd/system/e2e-scenario.service"
ln -sf /etc/systemd/system/e2e-scenario.service "$ROOT/etc/systemd/system/multi-user.target.wants/e2e-scenario.service"
# an identity of its own (the cached image has none): not a first boot, no preset-all
od -An -tx1 -N16 /dev/urandom | tr -d ' \n' >"$ROOT/etc/machine-id"
echo >>"$ROOT/etc/machine-id"

# one disk for every scenario: each boots a qcow2 overlay of it
cp "$ROOT/srv/e2e/packer/steps" "$W/packer-steps"
cp "$ROOT/srv/e2e/packer/env" "$W/packer-env"
mkfs.ext4 -q -F -L e2e-root -d "$ROOT" "$W/base.raw" 3G || die "mkfs.ext4 -d failed"
log "guest disk ready ($(du -sh "$W/base.raw" | cut -f1) used)"

# The image scenario: the same root, provisioned on this machine with `gpubase --root ROOT --image
# run` (the .deb's gpubase, the plan and vars the guests use), then made into a disk of its own.
# The repository's URLs are the guest's (file:///srv/repo/...): the run sees the repository copy
# at that path through a private mount namespace (a tmpfs over /srv there), so this machine's /srv
# is not touched. What the build did to this machine and left in the tree is recorded in
# $W/image-build/ for scenario_image.
image_build() {
        local d=$W/image-build gb=$W/image-build/x/usr/bin/gpubase kmods=/lib/modules/$KVER/modules.dep vars=() v rc=0
        rm -rf "$d"
        mkdir -p "$d"
        dpkg-deb -x "$DEB" "$d/x"
        while read -r v; do [ -n "$v" ] && vars+=(--var "$v"); done <"$ROOT/srv/e2e/vars"
        { sha256sum /var/lib/dpkg/status; find /etc/apt -name '*.list' -o -name '*.sources' | sort | xargs -r sha256sum
                sha256sum "$kmods" 2>/dev/null || echo "no $kmods"; } >"$d/host.before"
        wc -l </var/log/dpkg.log >"$d/dpkg-log.lines" 2>/dev/null || echo 0 >"$d/dpkg-log.lines"
        cp "$ROOT/srv/e2e/plan.yaml" "$d/plan.yaml"
        local t
        t=$(date +%s)
        # shellcheck disable=SC2016 # $1 and $@ belong to the inner shell
        private_ns sh -c 'mount -t tmpfs e2e /srv && mkdir /srv/repo &&
                mount --bind "$1/srv/repo" /srv/repo && shift && exec "$@"' sh "$ROOT" \
                "$gb" --root "$ROOT" --image run "${vars[@]}" "$d/plan.yaml" >"$d/run.out" 2>&1 || rc=$?
        echo "$rc" >"$d/run.rc"
        echo "$(($(date +%s) - t))" >"$d/run.secs"
        { sha256sum /var/lib/dpkg/status; find /etc/apt -name '*.list' -o -name '*.sources' | sort | xargs -r sha256sum
                sha256sum "$kmods" 2>/dev/null || echo "no $kmods"; } >"$d/host.after"
        tail -n +"$(($(cat "$d/dpkg-log.lines") + 1))" /var/log/dpkg.log >"$d/dpkg-log.new" 2>/dev/null || true
        awk -v r="$ROOT/" 'index($5, r) == 1 { print $5 }' /proc/self/mountinfo >"$d/mounts"
        jq -r '.image + " " + .plan + " " + .run_state' "$ROOT/var/lib/gpubase/state.json" >"$d/state.txt" 2>&1 || true
        [ -L "$ROOT/etc/systemd/system/multi-user.target.wants/gpubase.service" ] && echo enabled >"$d/unit.txt"
        [ -e "$ROOT/usr/sbin/policy-rc.d" ] && echo present >"$d/policy-rc.d"
        grep -c 'updates/dkms/nvidia.ko' "$ROOT$kmods" >"$d/tree-modules-dep" 2>/dev/null || true
        grep -rlF "$ROOT" "$ROOT/var/lib/gpubase" "$ROOT/etc/systemd" >"$d/host-paths" 2>/dev/null || true
        mkfs.ext4 -q -F -L e2e-root -d "$ROOT" "$W/image.raw" 3G || die "mkfs.ext4 -d of the image tree failed"
        log "image tree built on this machine in $(cat "$d/run.secs")s (gpubase --image exit $rc), disk ready"
}
[[ " $SCENARIOS " != *" image "* ]] || image_build
rm -rf "$ROOT"

# ------------------------------------------------------------------ one guest
# boot_vm DIR [RESET_AT JITTER]: boots DIR/disk.qcow2 with DIR/share as the 9p share until the guest
# powers off (exit 0) or VM_TIMEOUT passes (124). With RESET_AT, `system_reset` goes to the
# monitor JITTER seconds after that text first shows on the guest's serial console. With
# NVSWITCH=ID (hex), the guest's PCI bus also carries an NVSwitch's function 10de:ID (nvswitch-dev;
# the guest's memory is a memfd then, which qemu's proxy hands to the device process, as it wants).
boot_vm() {
        local dir=$1 reset_at=${2:-} jitter=${3:-0} rc pid deadline
        local VM_TIMEOUT=$((BOOT_BUDGET * ${BOOTS:-2} + ${EXTRA_SECS:-0}))
        local mon=$dir/monitor.sock
        local -a dev=() mem=()
        [ ${#mon} -lt 100 ] || die "monitor socket path too long: $mon"
        if [ -n "${NVSWITCH:-}" ]; then
                dev=("$W/nvswitch-dev" "$NVSWITCH" --)
                mem=(-object 'memory-backend-memfd,id=mem,size=1024M' -machine 'memory-backend=mem')
        fi
        timeout --kill-after=10 "$VM_TIMEOUT" "${dev[@]}" qemu-system-x86_64 \
                -name "gpubase-e2e-$(basename "$dir")" -accel "$ACCEL" -cpu "$CPU" -m 1024 "${mem[@]}" -smp "$SMP" \
                -nodefaults -no-user-config -display none \
                -serial "file:$dir/serial.log" \
                -kernel "$W/vmlinuz" -initrd "$W/initrd.img" \
                -append "root=/dev/vda rw console=ttyS0 loglevel=4 panic=10 $KERNEL_ARGS ${CLOUD_INIT_ARG-cloud-init=disabled}" \
                -drive "file=$dir/disk.qcow2,format=qcow2,if=virtio,cache=unsafe" \
                -device virtio-rng-pci \
                -virtfs "local,path=$dir/share,mount_tag=hostshare,security_model=none,multidevs=remap" \
                -monitor "unix:$mon,server=on,wait=off" \
                >"$dir/qemu.log" 2>&1 &
        pid=$!
        # watchdog: a kernel that panics or a guest that never reaches its scenario fails now, loudly,
        # instead of at VM_TIMEOUT
        (
                local t0=$SECONDS
                while kill -0 "$pid" 2>/dev/null; do
                        if grep -qE 'Kernel panic|No init found|Unable to mount root' "$dir/serial.log" 2>/dev/null; then
                                echo "the guest kernel panicked or found no root/init (serial log)" >"$dir/watchdog.txt"
                                kill "$pid" 2>/dev/null
                                break
                        fi
                        if [ ! -e "$dir/share/boots" ] && [ $((SECONDS - t0)) -gt "$FIRST_BOOT_TIMEOUT" ]; then
                                echo "the guest did not reach its scenario unit within ${FIRST_BOOT_TIMEOUT}s" >"$dir/watchdog.txt"
                                kill "$pid" 2>/dev/null
                                break
                        fi
                        sleep 2
                done
        ) &
        if [ -n "$reset_at" ]; then
                # hard reset: wait for the serial console to show the moment (an ERE), add the jitter, reset
                deadline=$(($(date +%s) + VM_TIMEOUT))
                while ! grep -qE -- "$reset_at" "$dir/serial.log" 2>/dev/null && kill -0 "$pid" 2>/dev/null && [ "$(date +%s)" -lt "$deadline" ]; do
                        sleep 0.2
                done
                if grep -qE -- "$reset_at" "$dir/serial.log" 2>/dev/null; then
                        sleep "$jitter"
                        if kill -0 "$pid" 2>/dev/null; then
                                echo "system_reset" | socat - "UNIX-CONNECT:$mon" >"$dir/monitor.log" 2>&1 &&
                                        echo "system_reset ${jitter}s after the console showed '$reset_at'; last console line then: $(tail -1 "$dir/serial.log" | tr -d '\r' | cut -c1-100)" >"$dir/reset.txt"
                        fi
                fi
        fi
        rc=0
        wait "$pid" || rc=$?
        wait
        [ ! -s "$dir/watchdog.txt" ] || bad "$(cat "$dir/watchdog.txt"); serial log tail: $(tail -5 "$dir/serial.log" | tr '\n' '|')"
        return "$rc"
}

# ------------------------------------------------------------------ assertions
# S_DIR: the scenario's report (failures, observed, result); VM: the guest's directory (serial.log,
# share/boots); SH: where the guest put this scenario's results (VM/share, or VM/share/drift).
S_DIR='' VM='' SH=''
bad() { echo "$*" >>"$S_DIR/failures"; }
obs() { echo "$*" >>"$S_DIR/observed"; }
sh_() { cat "$SH/$1" 2>/dev/null || true; }
expect() { # WHAT GOT WANT
        if [ "$2" = "$3" ]; then obs "$1: $2"; else bad "$1: got '$2', want '$3'"; fi
}
expect_match() { # WHAT GOT ERE
        if [[ $2 =~ $3 ]]; then obs "$1: $2"; else bad "$1: got '$2', want /$3/"; fi
}
status_field() { jq -r "$1" "$SH/status.json" 2>/dev/null || echo "?"; }
step_field() { jq -r --arg id "$1" ".steps[] | select(.id == \$id) | $2" "$SH/status.json" 2>/dev/null || echo "?"; }
verify_status() { jq -r --arg c "$1" '[.checks[]? | select(.name == $c) | .status] | first // "missing"' "$SH/${2:-verify.json}" 2>/dev/null || echo "?"; }
boots() { if [ -e "$VM/share/boots" ]; then wc -l <"$VM/share/boots"; else echo 0; fi; }
boot_id() { awk -v n="$1" '$1 == n { print $2 }' "$VM/share/boots"; }
boot_line() { awk -v n="$1" '$1 == n' "$VM/share/boots"; }
# the initramfs's /init says this once per boot, before anything of the guest's own can count
kernel_boots() { grep -c 'e2e-init: boot' "$VM/serial.log" 2>/dev/null || true; }

# the guest ran at all: boots recorded, and the phase finished
guest_started() { # MARKER
        if [ "$(boots)" -eq 0 ]; then
                bad "the guest never reached the scenario unit (no boots recorded): the VM did not start; serial log tail: $(tail -5 "$VM/serial.log" 2>/dev/null | tr '\n' '|')"
                return 1
        fi
        [ -e "$SH/${1:-finished}" ] || bad "the guest did not finish this scenario (no '${1:-finished}' marker); last guest log: $(tail -2 "$VM/share/guest.log" | tr '\n' '|')"
}

# the run ended done, the unit is disabled again, the driver and docker as the plan wants
assert_converged() { # MODULE-VERSION
        expect "run state" "$(status_field .run_state)" "done"
        expect "gpubase.service enabled at the end" "$(sh_ unit-enabled.txt)" disabled
        expect "loaded module (/sys/module/nvidia/version)" "$(sh_ module-loaded.txt)" "$1"
        expect "module on disk (modinfo -F version nvidia)" "$(sh_ module-disk.txt)" "$1"
        expect_match "/proc/driver/nvidia/version" "$(sh_ proc-version.txt)" "^NVRM version: NVIDIA UNIX Open Kernel Module for x86_64  $1  Release Build  \(gpubase-fixture\)  "
        expect_match "docker runtimes" "$(sh_ docker-runtimes.json)" '"nvidia":\{[^}]*"path":"nvidia-container-runtime"'
        expect "daemon.json runtimes.nvidia.path" "$(jq -r '.runtimes.nvidia.path' "$SH/daemon.json" 2>/dev/null)" nvidia-container-runtime
        for c in driver.loaded driver.flavor driver.version driver.stale driver.nvml ctk.installed ctk.held runtime.configured runtime.restarted; do
                expect "verify $c" "$(verify_status "$c")" ok
        done
        # the plan's driver step holds nvidia-open and the pinning package; nvidia-open depends on exactly
        # the installed nvidia-kernel-open-dkms, which that locks
        expect_match "verify driver.held" "$(verify_status driver.held):$(jq -r '.checks[] | select(.name == "driver.held") | .detail' "$SH/verify.json" 2>/dev/null)" \
                '^ok:nvidia-kernel-open-dkms .* is held \(through nvidia-open, .*nvidia-driver-pinning-595$'
        # every other check passes or skips: only gpu.present fails (qemu has no NVIDIA device)
        expect "verify --plan: the checks not ok" "$(jq -r '[.checks[] | select(.status == "fail" or .status == "warn") | .name] | join(" ")' "$SH/verify.json" 2>/dev/null)" gpu.present
}

# docker was restarted in the last boot while gpubase.service ran (RestartUnit over D-Bus)
assert_docker_restarted_by_unit() {
        local gs ds ge stops
        gs=$(sed -n 's/^ExecMainStartTimestampMonotonic=//p' "$SH/gpubase-unit.txt" 2>/dev/null)
        ge=$(sed -n 's/^ExecMainExitTimestampMonotonic=//p' "$SH/gpubase-unit.txt" 2>/dev/null)
        ds=$(sed -n 's/^ActiveEnterTimestampMonotonic=//p' "$SH/docker-unit.txt" 2>/dev/null)
        if [ -n "$gs" ] && [ -n "$ds" ] && [ -n "$ge" ] && [ "$gs" -gt 0 ] && [ "$ds" -gt "$gs" ] && [ "$ds" -le "$ge" ]; then
                obs "docker.service became active at ${ds}us, inside gpubase.service's run ${gs}..${ge}us (monotonic)"
        else
                bad "docker.service ActiveEnter ${ds:-?}us is not inside gpubase.service's run ${gs:-?}..${ge:-?}us"
        fi
        stops=$(grep -c 'Stopping docker.service\|Stopping Docker Application Container Engine' "$SH/journal-docker.txt" 2>/dev/null || true)
        if [ "${stops:-0}" -ge 1 ]; then obs "docker stopped and started again in that boot (journal: $stops stop)"; else bad "no docker restart in the last boot's journal"; fi
}

# a GPUBASE_* journal entry of a step, in the given boot
assert_journal_fields() { # BOOT_ID STEP STATE
        local n
        n=$(jq -r --arg b "${1//-/}" --arg s "$2" --arg st "$3" 'select(._BOOT_ID == $b and .GPUBASE_STEP == $s and .GPUBASE_STATE == $st) | .GPUBASE_RUN' \
                "$SH/journal-gpubase.json" 2>/dev/null | grep -c . || true)
        if [ "${n:-0}" -ge 1 ]; then
                obs "journal: GPUBASE_STEP=$2 GPUBASE_STATE=$3 in boot ${1:0:8}"
        else
                bad "journal: no GPUBASE_STEP=$2 GPUBASE_STATE=$3 entry in boot ${1:0:8}"
        fi
}

# a run that rebooted once (boot B1 -> B2) through logind and gpubase.service finished: wait,
# the reboot step's record, every step, the machine converged, docker restarted by the unit, journal
assert_done_after_one_reboot() { # B1 B2
        local st
        expect "gpubase wait exit" "$(sh_ wait.rc)" 0
        expect "reboots" "$(status_field .reboots)" 1
        expect_match "driver-reboot detail" "$(step_field driver-reboot .detail)" "^rebooted \(boot id ${1:0:8}… -> ${2:0:8}…\)"
        for st in driver driver-reboot ctk runtime docker-restart smoke; do
                expect "step $st" "$(step_field $st .state)" "done"
        done
        # the smoke test through the real dockerd, runc and the NVIDIA runtime stand-in; the image
        # came from smoke_archive (docker load)
        expect_match "smoke detail" "$(step_field smoke .detail)" \
                '^the container sees all 1 GPU and driver 595\.45\.01 \(docker run --rm --pull=never --network=none --runtime=nvidia -e NVIDIA_VISIBLE_DEVICES=all '
        assert_converged 595.45.01
        assert_docker_restarted_by_unit
        assert_journal_fields "$1" driver-reboot reboot-requested
        assert_journal_fields "$2" driver-reboot "done"
        assert_journal_fields "$2" docker-restart "done"
}

# the happy scenario's boot 2 (e2e-scenario.sh: arm_dpkg_busy, ops_checks): gpubase.service exited
# 75 while the dpkg lock was held, systemd started it again and it finished; STATUS= showed the
# step meanwhile; the journal has the MESSAGE_IDs and `journalctl -x` their catalog text; the drift
# watch's timer was enabled and its check found gpu.present failing and wrote the textfile
mid() { sed -n "s/^#define GPUBASE_MID_$1 \"\([0-9a-f]*\)\".*/\1/p" "$TOP/agent/host/journal.h"; }
assert_ops() { # B2
        local b=${1//-/} O=ops n
        expect "boot 2: the dpkg lock holder's dpkg -i" "$(sh_ $O/busy/dpkg.rc)" 0
        if [ -s "$SH/$O/busy/held" ]; then
                obs "boot 2: dpkg held its lock from $(sh_ $O/busy/held) s to $(sh_ $O/busy/released) s (uptime)"
        else
                bad "boot 2: the dpkg lock was never seen held"
        fi
        n=$(jq -r --arg b "$b" --arg m "$(mid RUN_STOPPED)" 'select(._BOOT_ID == $b and .MESSAGE_ID == $m and .GPUBASE_EXIT == "75" and .GPUBASE_STATE == "busy") | .GPUBASE_RUN' \
                "$SH/journal-gpubase.json" 2>/dev/null | grep -c . || true)
        if [ "${n:-0}" -ge 1 ]; then obs "boot 2: gpubase.service's resume exited 75 $n time(s), the run busy (run stopped, MESSAGE_ID $(mid RUN_STOPPED))"; else bad "boot 2: no run-stopped entry with GPUBASE_EXIT=75 and GPUBASE_STATE=busy"; fi
        expect "boot 2: the step the lock stopped (step-failed MESSAGE_ID, GPUBASE_STATE)" "$(jq -r --arg b "$b" --arg m "$(mid STEP_FAILED)" 'select(._BOOT_ID == $b and .MESSAGE_ID == $m) | "\(.GPUBASE_STEP)=\(.GPUBASE_STATE)"' "$SH/journal-gpubase.json" 2>/dev/null | sort -u | tr '\n' ' ')" "ctk=busy "
        # while systemd waited to start it again, the run was busy and the step pending (not failed)
        n=$(grep 'SubState=auto-restart' "$SH/$O/busy/samples.txt" 2>/dev/null | grep -o 'run_state=[a-z-]* ctk=[a-z-]*' | sort -u | tr '\n' ' ')
        expect "boot 2: the state while gpubase.service waited to start again" "$n" "run_state=busy ctk=pending "
        n=$(sed -n 's/^NRestarts=//p' "$SH/$O/gpubase-unit.txt")
        if [ "${n:-0}" -ge 1 ] && [ "$n" -le 8 ]; then obs "boot 2: systemd restarted gpubase.service $n time(s)"; else bad "boot 2: gpubase.service NRestarts=${n:-?} (want 1..8)"; fi
        expect "boot 2: run done entry" "$(jq -r --arg b "$b" --arg m "$(mid RUN_DONE)" 'select(._BOOT_ID == $b and .MESSAGE_ID == $m) | ._SYSTEMD_UNIT' "$SH/journal-gpubase.json" 2>/dev/null)" gpubase.service
        for m in RUN_STARTED STEP_DONE REBOOT_REQUESTED; do
                jq -r --arg m "$(mid $m)" 'select(.MESSAGE_ID == $m) | .MESSAGE_ID' "$SH/journal-gpubase.json" 2>/dev/null | grep -q . ||
                        bad "journal: no entry with MESSAGE_ID $(mid $m) ($m)"
        done
        expect_match "STATUS= while gpubase.service waited (systemctl show StatusText)" "$(grep -o 'StatusText=step [0-9]*/[0-9]*: ctk (apt-install)' "$SH/$O/busy/samples.txt" | head -1)" '^StatusText=step [0-9]+/[0-9]+: ctk \(apt-install\)$'
        expect_match "systemctl status gpubase.service while it ran" "$(grep -o 'Status: "step [^"]*"' "$SH/$O/busy/status-while-running.txt" | head -1)" '^Status: "step [0-9]+/[0-9]+: '
        # a `gpubase wait` started while the unit waited to start again returned 0 once the retry
        # had finished (before: 1 at once, the run being recorded failed)
        expect "boot 2: gpubase wait started during auto-restart (at $(sh_ $O/busy/wait-during-restart.started) s) exit" \
                "$(sh_ $O/busy/wait-during-restart.rc)" 0
        expect "boot 2: gpubase.service when that wait returned (at $(sh_ $O/busy/wait-during-restart.returned) s)" \
                "$(sort "$SH/$O/busy/wait-during-restart.unit" 2>/dev/null | tr '\n' ' ')" "ActiveState=inactive NRestarts=1 Result=success "
        if grep -q 'SubState=auto-restart' "$SH/$O/busy/samples.txt"; then
                obs "boot 2: gpubase.service was seen waiting to start again (SubState=auto-restart)"
        else
                bad "boot 2: gpubase.service never seen waiting to start again (SubState=auto-restart)"
        fi
        # journalctl -x: the catalog's explanation under each entry
        if grep -q "Every step of run" "$SH/$O/journal-x.txt" && grep -q "and the run stopped there" "$SH/$O/journal-x.txt"; then
                obs "journalctl -x shows the catalog's text for run done and step failed"
        else
                bad "journalctl -x does not show gpubase's catalog text"
        fi
        expect "gpubase's catalog entries known to journalctl" "$(grep -c ' gpubase: ' "$SH/$O/catalog.txt")" 7
        # the drift watch
        expect "gpubase watch enable" "$(sh_ $O/watch-enable.rc)" 0
        expect "gpubase-verify.timer enabled" "$(sh_ $O/timer-enabled.txt)" enabled
        expect "gpubase-verify.timer active" "$(sh_ $O/timer-active.txt)" active
        expect "gpubase-verify.service's check exit (gpu.present fails in qemu)" "$(sed -n 's/^ExecMainStatus=//p' "$SH/$O/verify-unit.txt")" 1
        n=$(jq -r --arg m "$(mid DRIFT_FOUND)" 'select(.MESSAGE_ID == $m) | .GPUBASE_DRIFT' "$SH/$O/journal-verify.json" 2>/dev/null)
        expect_match "drift found entry of gpubase-verify.service" "$n" '^gpu\.present fail: '
        if /usr/bin/python3 -c 'import sys; from prometheus_client.parser import text_string_to_metric_families as p
f = {m.name: m for m in p(open(sys.argv[1]).read())}
s = [x for x in f["gpubase_check_status"].samples if x.value == 1]
assert {x.labels["check"]: x.labels["status"] for x in s}["gpu.present"] == "fail"
assert [x.labels["state"] for x in f["gpubase_run_state"].samples if x.value == 1] == ["done"]
assert f["gpubase_driver_info"].samples[0].labels["loaded"] == "595.45.01"' "$SH/$O/gpubase.prom" 2>"$S_DIR/prom.err"; then
                obs "the textfile parses (prometheus_client): gpu.present fail, run done, driver 595.45.01"
        else
                bad "the textfile $SH/$O/gpubase.prom: $(tail -1 "$S_DIR/prom.err")"
        fi
        expect "gpubase-verify.timer after watch disable" "$(sh_ $O/timer-enabled-after.txt)" disabled
}

# ------------------------------------------------------------------ scenarios
# new_vm NAME BACKING-DISK-FORMAT BACKING-DISK CONF...: a guest directory with an overlay disk and
# a share whose scenario.conf holds CONF lines
new_vm() {
        local dir=$W/s/$1 fmt=$2 backing=$3
        shift 3
        rm -rf "$dir"
        mkdir -p "$dir/share"
        qemu-img create -q -f qcow2 -F "$fmt" -b "$backing" "$dir/disk.qcow2"
        printf '%s\n' "$@" >"$dir/share/scenario.conf"
        echo "$dir"
}
report_dir() { # NAME
        rm -rf "$W/s/$1.report"
        mkdir -p "$W/s/$1.report"
        echo "$W/s/$1.report"
}

# the containerd phase of happy's last boot (share/containerd): the shipped containerd plan on the
# converged machine, with no reboot, ends done with the smoke test through the real containerd
assert_containerd_phase() { # MODULE-VERSION
        local sh=$SH st
        SH=$VM/share/containerd
        if [ ! -e "$SH/run.rc" ]; then
                bad "the containerd phase did not run (no containerd/run.rc)"
                SH=$sh
                return
        fi
        expect "containerd plan: gpubase run exit" "$(sh_ run.rc)" 0
        expect "containerd plan: run state" "$(status_field .run_state)" "done"
        for st in driver driver-reboot ctk; do
                expect "containerd plan: step $st (converged already)" "$(step_field $st .state)" skipped
        done
        for st in runtime containerd-restart cdi smoke; do
                expect "containerd plan: step $st" "$(step_field $st .state)" "done"
        done
        expect_match "containerd smoke detail" "$(step_field smoke .detail)" \
                "^the container sees all 1 GPU and driver ${1//./\\.} \\(ctr --namespace gpubase run --rm --runtime io.containerd.runc.v2 --runc-binary /usr/bin/nvidia-container-runtime "
        expect_match "containerd's config.toml imports the drop-in" "$(sh_ config.toml)" 'imports = \["/etc/containerd/conf.d/\*\.toml"\]'
        expect_match "the drop-in names the NVIDIA runtime" "$(sh_ 99-nvidia.toml)" 'BinaryName = "/usr/bin/nvidia-container-runtime"'
        expect_match "the CDI spec names the driver" "$(sh_ cdi.yaml)" "libcuda\.so\.${1//./\\.}"
        expect_match "ctr images (imported from smoke_archive)" "$(sh_ ctr-images.txt)" 'nvcr\.io/nvidia/cuda:13\.0\.0-base-ubuntu24\.04'
        expect "verify --smoke: runtime.smoke (containerd)" "$(jq -r '.checks[] | select(.name == "runtime.smoke") | .status' "$SH/verify-smoke.json" 2>/dev/null)" ok
        expect "verify --smoke: cdi.spec" "$(jq -r '.checks[] | select(.name == "cdi.spec") | .status' "$SH/verify-smoke.json" 2>/dev/null)" ok
        obs "containerd phase: $(step_field smoke .detail)"
        SH=$sh
}

# happy path, and (DRIFT=1) the drift path continuing on the same machine
scenario_happy() { # DRIFT(0|1)
        local drift=$1 b1 b2 b3 rc
        VM=$(new_vm happy raw "$W/base.raw" SCENARIO=happy "DRIFT=$drift")
        S_DIR=$(report_dir happy) SH=$VM/share
        # OPS_BUDGET more: boot 2 waits out the dpkg lock (lock_timeout 15 s), the unit's RestartSec
        # (30 s), resumes again, then checks the drift watch (assert_ops)
        EXTRA_SECS=$OPS_BUDGET BOOTS=$((2 + drift)) boot_vm "$VM" ||
                bad "qemu exit $? (124: the guest hung, or rebooted in a loop, for $((BOOT_BUDGET * (2 + drift) + OPS_BUDGET))s)"
        if guest_started happy.done; then
                b1=$(boot_id 1) b2=$(boot_id 2)
                expect "boots until done (scenario unit)" "$(sh_ happy.done)" 2
                [ "$drift" = 1 ] || expect "boots (kernel, serial log)" "$(kernel_boots)" 2
                if [ -n "$b1" ] && [ -n "$b2" ] && [ "$b1" != "$b2" ]; then obs "boot ids: $b1 -> $b2"; else bad "boot ids not two distinct ones: '$b1' '$b2'"; fi
                expect "gpubase.service enabled before the run" "$(sh_ enabled-before-run.txt)" disabled
                expect "gpubase run --reboot=now exit" "$(sh_ run.rc)" 3
                expect "gpubase.service enabled when the reboot was requested" "$(sh_ enabled-after-run.txt)" enabled
                # when the scenario unit (After=gpubase.service) started, gpubase.service had exited 75
                # and was waiting to start again (assert_ops): its end is judged after `gpubase wait`
                obs "boot 2: when the scenario unit started: $(boot_line 2 | grep -o 'gpubase.service=[^ ]*')"
                expect_match "boot 2: gpubase.service ran again and succeeded (after wait)" \
                        "$(grep -E '^(ActiveState|Result|ExecMainStatus)=' "$SH/ops/gpubase-unit.txt" 2>/dev/null | sort | tr '\n' ' ')" \
                        '^ActiveState=(inactive|active) ExecMainStatus=0 Result=success $'
                assert_done_after_one_reboot "$b1" "$b2"
                # qemu's PCI bus has no NVSwitch: the shipped plan's Fabric Manager steps do nothing
                expect "step fabric-manager (when: nvswitch-present, false here)" "$(step_field fabric-manager .state)" skipped
                expect "step fabric-manager-start (when: nvswitch-present, false here)" "$(step_field fabric-manager-start .state)" skipped
                if grep -q '^nvidia-fabricmanager' "$SH/dpkg.txt"; then
                        bad "Fabric Manager is installed on a host without NVSwitches: $(grep '^nvidia-fabricmanager' "$SH/dpkg.txt" | tr '\n' ';')"
                else
                        obs "no Fabric Manager package installed (no NVSwitch on the bus)"
                fi
                assert_ops "$b2"
                for f in GPUBASE_RUN GPUBASE_PLAN GPUBASE_STEP GPUBASE_STATE; do
                        grep -q "^    $f=" "$SH/journal-unit-verbose.txt" || bad "journalctl -u gpubase -o verbose has no $f"
                done
                if grep -q '^    GPUBASE_STEP=docker-restart$' "$SH/journal-unit-verbose.txt"; then
                        obs "journalctl -u gpubase -o verbose: GPUBASE_RUN/PLAN/STEP/STATE, e.g. GPUBASE_STEP=docker-restart"
                else
                        bad "journalctl -u gpubase -o verbose has no GPUBASE_STEP=docker-restart"
                fi
        fi
        [ "$drift" = 1 ] || assert_containerd_phase 595.45.01
        finish_scenario happy
        [ "$drift" = 1 ] || return 0

        S_DIR=$(report_dir drift) SH=$VM/share/drift
        guest_started finished || { finish_scenario drift; return 0; }
        expect "apt-get upgrade of the driver to 595.58.03, outside the plan" "$(sh_ apt-upgrade.rc)" 0
        expect "module on disk after the upgrade" "$(sh_ drift-module-disk.txt)" 595.58.03
        expect "module loaded after the upgrade" "$(sh_ drift-module-loaded.txt)" 595.45.01
        expect "verify driver.stale after the drift" "$(verify_status driver.stale verify-drift.json)" fail
        obs "verify driver.stale said: $(jq -r '.checks[] | select(.name == "driver.stale") | .detail' "$SH/verify-drift.json" 2>/dev/null)"
        rc=$(sh_ run.rc)
        b3=$(boot_id 3)
        if [ "$rc" = 3 ]; then
                obs "rerun (boot 2, a new run): driver.stale -> reboot requested by the plan's driver-reboot step"
                expect "boots in all (scenario unit)" "$(boots)" 3
                expect "boots in all (kernel, serial log)" "$(kernel_boots)" 3
                expect_match "boot 3: gpubase.service ran and succeeded" "$(boot_line 3)" 'gpubase.service=(inactive|active)/success/0 '
                expect "gpubase wait exit" "$(sh_ wait.rc)" 0
                expect "reboots of the rerun" "$(status_field .reboots)" 1
                expect_match "driver-reboot detail" "$(step_field driver-reboot .detail)" "^rebooted \(boot id ${b2:0:8}… -> ${b3:0:8}…\)"
                assert_converged 595.58.03
        else
                obs "rerun exit $rc: no reboot (the pinned version restored?)"
                expect "rerun exit" "$rc" 0
                expect "boots in all" "$(boots)" 2
                assert_converged 595.45.01
        fi
        obs "driver packages at the end: $(grep -E '^(nvidia-open|nvidia-kernel-open-dkms|libnvidia-compute:?[a-z0-9]*) ' "$SH/dpkg.txt" | tr '\n' ';')"
        if [ "$rc" = 3 ]; then assert_containerd_phase 595.58.03; else assert_containerd_phase 595.45.01; fi
        finish_scenario drift
}

# an NVSwitch on the guest's bus (nvswitch-dev): the shipped plan installed Fabric Manager from the
# driver's repository at the driver's version, held it, and enabled and started its unit after the
# driver reboot; the stand-in daemon (which starts only where an NVSwitch is on the bus) runs; and
# nvidia-persistenced, which the driver brought, was enabled and started too
assert_fabric_manager() {
        expect "the guest's PCI bus: NVIDIA functions (sysfs: vendor device class)" "$(sh_ pci-nvidia.txt)" "0x10de 0x22a3 0x068000"
        expect "verify facts: nvswitches" "$(jq -c .facts.nvswitches "$SH/verify.json" 2>/dev/null)" '{"count":1,"ids":["10de:22a3"]}'
        expect "step fabric-manager (when: nvswitch-present)" "$(step_field fabric-manager .state)" "done"
        expect "step fabric-manager-start (when: nvswitch-present)" "$(step_field fabric-manager-start .state)" "done"
        expect "Fabric Manager package (dpkg)" "$(grep '^nvidia-fabricmanager ' "$SH/dpkg.txt")" "nvidia-fabricmanager 595.45.01-1 hold ok installed"
        expect "Fabric Manager held (apt-mark showhold)" "$(grep -c '^nvidia-fabricmanager$' "$SH/holds.txt")" 1
        expect "nvidia-fabricmanager.service enabled" "$(sh_ fm-enabled.txt)" enabled
        expect "nvidia-fabricmanager.service ActiveState/SubState/Result" \
                "$(for p in ActiveState SubState Result; do sed -n "s/^$p=//p" "$SH/fm-unit.txt" 2>/dev/null; done | tr '\n' /)" "active/running/success/"
        expect "nvidia-fabricmanager.service's main PID is its PID file's" "$(sed -n 's/^MainPID=//p' "$SH/fm-unit.txt" 2>/dev/null)" "$(sh_ fm-pid.txt)"
        expect_match "Fabric Manager's log" "$(sh_ fabricmanager.log)" 'Fabric Manager version 595\.45\.01 is running \(1 NVSwitch endpoints'
        expect "verify fabric.manager" "$(verify_status fabric.manager):$(jq -r '.checks[] | select(.name == "fabric.manager") | .detail' "$SH/verify.json" 2>/dev/null)" \
                "ok:nvidia-fabricmanager 595.45.01 matches the driver 595.45.01, held; nvidia-fabricmanager.service enabled and active"
        expect_match "verify fabric.state" "$(verify_status fabric.state):$(jq -r '.checks[] | select(.name == "fabric.state") | .detail' "$SH/verify.json" 2>/dev/null)" \
                '^ok:fabric completed, status success on all 1 GPUs \(NVML\)$'
        expect "step persistence (when: persistenced-installed)" "$(step_field persistence .state)" "done"
        expect "verify driver.persistence" "$(verify_status driver.persistence):$(jq -r '.checks[] | select(.name == "driver.persistence") | .detail' "$SH/verify.json" 2>/dev/null)" \
                "ok:nvidia-persistenced.service enabled and active; persistence mode on for all 1 GPUs"
}

# packer: examples/packer's provisioners replayed in the guest (see packer-steps.sh); a step's
# number is its place in the template's build block
packer_step() { awk -F '\t' -v f="$1" '$1 == "script" && $2 == f { printf "%02d\n", NR; exit }' "$W/packer-steps"; }
scenario_packer() {
        local n kind a codes _ i=0 run_n reboot_n resume_n verify_n clean_n
        # the machine is an NVSwitch board's (an HGX H100's switch, 10de:22a3, on its PCI bus), and
        # its driver repository the one for such boards (cuda-hgx: with nvidia-persistenced): the
        # shipped plan's Fabric Manager and persistence steps run
        VM=$(new_vm packer raw "$W/base.raw" SCENARIO=packer REPO=cuda-hgx)
        S_DIR=$(report_dir packer) SH=$VM/share
        NVSWITCH=22a3 BOOTS=2 boot_vm "$VM" || bad "qemu exit $? (124: the guest hung for $((BOOT_BUDGET * 2))s)"
        if guest_started; then
                expect "template provisioners replayed to the end" "$(sh_ packer.finished)" "done"
                [ ! -e "$SH/packer.failed" ] || bad "the build stopped at provisioner $(sh_ packer.failed): an exit code the template does not allow"
                while IFS=$'\t' read -r kind a codes _; do
                        i=$((i + 1))
                        n=$(printf '%02d' "$i")
                        [ -e "$SH/packer-$n.rc" ] || { bad "provisioner $n ($kind $a) did not run"; continue; }
                        if [ "$kind" = script ] && [[ ",$codes," != *",$(sh_ "packer-$n.rc"),"* ]]; then
                                if [ "$(sh_ "packer-$n.rc")" = 1 ] && [ "$(sh_ "packer-$n.not-ok")" = gpu.present ]; then
                                        obs "provisioner $n ($a): exit 1 only because gpu.present fails (no NVIDIA GPU in qemu); every other check ok"
                                else
                                        bad "provisioner $n ($a): exit $(sh_ "packer-$n.rc"), the template allows $codes (checks not ok: $(sh_ "packer-$n.not-ok"))"
                                fi
                        fi
                        [ "$kind" != script ] && [ "$(sh_ "packer-$n.rc")" != 0 ] && bad "provisioner $n ($kind $a) failed"
                done <"$W/packer-steps"
                obs "provisioners (from the template): $(tr '\n' ';' <"$SH/packer.log")"
                run_n=$(packer_step 20-run.sh) reboot_n=$(packer_step 30-reboot-if-pending.sh) resume_n=$(packer_step 40-resume.sh)
                verify_n=$(packer_step 50-verify.sh) clean_n=$(packer_step 60-cleanup.sh)
                expect "boots (scenario unit)" "$(boots)" 2
                expect "boots (kernel, serial log)" "$(kernel_boots)" 2
                obs "boot ids: $(boot_id 1) -> $(boot_id 2)"
                expect "20-run.sh (gpubase run --reboot=exit) exit" "$(sh_ "packer-$run_n.rc")" 3
                expect_match "after 20-run.sh: gpubase status exit, gpubase.service" "$(grep "^$run_n " "$SH/packer-observed")" " status=3 enabled=disabled$"
                expect "after 20-run.sh: gpubase wait exit" "$(sh_ "packer-$run_n-wait.rc")" 3
                expect_match "30-reboot-if-pending.sh output" "$(sh_ "packer-$reboot_n-30-reboot-if-pending.sh.out")" "gpubase asked for a reboot: rebooting"
                expect_match "boot 2: gpubase.service did not run" "$(boot_line 2)" 'gpubase.service=inactive/success/0 enabled=disabled state=reboot-pending'
                expect "40-resume.sh (resume, wait) exit" "$(sh_ "packer-$resume_n.rc")" 0
                expect_match "50-verify.sh (verify --plan, report) exit" "$(sh_ "packer-$verify_n.rc")" '^[012]$'
                if tar -tzf "$SH/packer-download-gpubase-report.tar.gz" >/dev/null 2>&1; then
                        obs "support report downloaded: $(tar -tzf "$SH/packer-download-gpubase-report.tar.gz" | wc -l) entries"
                        # (grep -c: with -q, tar would die of SIGPIPE, which pipefail counts)
                        [ "$(tar -tzf "$SH/packer-download-gpubase-report.tar.gz" | grep -c '/files/var/log/fabricmanager\.log$')" = 1 ] ||
                                bad "the support report has no Fabric Manager log (files/var/log/fabricmanager.log)"
                else bad "the support report (/var/tmp/gpubase-report.tar.gz) was not downloaded or is not a tar.gz"; fi
                expect "60-cleanup.sh exit" "$(sh_ "packer-$clean_n.rc")" 0
                expect "gpubase status after the clean-up" "$(sh_ status-after-cleanup.txt)" "no run (idle)"
                expect "reboots" "$(status_field .reboots)" 1
                expect "plan the run used" "$(status_field .plan)" "/etc/gpubase/plans/$(sed -n 's/^GPUBASE_PLAN_FILE=//p' "$W/packer-env")"
                expect_match "driver-reboot detail" "$(step_field driver-reboot .detail)" "^rebooted \(boot id $(boot_id 1 | cut -c1-8)… -> $(boot_id 2 | cut -c1-8)…\)"
                assert_converged 595.45.01
                assert_fabric_manager
        fi
        finish_scenario packer
}

# cloud-init: examples/cloud-init/user-data from a NoCloud seed; cloud-init's runcmd starts gpubase
scenario_cloudinit() {
        local b1 b2 n1 n2
        VM=$(new_vm cloudinit raw "$W/base.raw" SCENARIO=cloudinit)
        S_DIR=$(report_dir cloudinit) SH=$VM/share
        CLOUD_INIT_ARG="" BOOTS=2 boot_vm "$VM" || bad "qemu exit $? (124: the guest hung, or rebooted in a loop, for $((BOOT_BUDGET * 2))s)"
        if guest_started; then
                b1=$(boot_id 1) b2=$(boot_id 2)
                expect "boots (scenario unit)" "$(boots)" 2
                expect "boots (kernel, serial log)" "$(kernel_boots)" 2
                if [ -n "$b1" ] && [ -n "$b2" ] && [ "$b1" != "$b2" ]; then obs "boot ids: $b1 -> $b2"; else bad "boot ids not two distinct ones: '$b1' '$b2'"; fi
                # cloud-init's runcmd started the run: gpubase's entries of boot 1 came from cloud-final.service
                n1=$(jq -r --arg b "${b1//-/}" 'select(._BOOT_ID == $b and ._SYSTEMD_UNIT == "cloud-final.service" and .GPUBASE_STEP == "driver-reboot" and .GPUBASE_STATE == "reboot-requested") | .GPUBASE_RUN' \
                        "$SH/journal-gpubase.json" 2>/dev/null | grep -c . || true)
                expect "boot 1: cloud-final.service (runcmd) ran gpubase up to the reboot request (journal entries)" "${n1:-0}" 1
                n2=$(jq -r --arg b "${b2//-/}" 'select(._BOOT_ID == $b and ._SYSTEMD_UNIT == "cloud-final.service") | .MESSAGE' \
                        "$SH/journal-gpubase.json" 2>/dev/null | grep -c . || true)
                expect "boot 2: gpubase entries from cloud-final.service (runcmd runs once per instance)" "${n2:-0}" 0
                expect "plan the run used (the seed's write_files)" "$(status_field .plan)" /etc/gpubase/plan.yaml
                expect_match "boot 2: gpubase.service ran and succeeded" "$(boot_line 2)" 'gpubase.service=(inactive|active)/success/0 '
                expect "cloud-init status --wait exit (boot 2)" "$(sh_ cloud-init-status.rc)" 0
                expect_match "cloud-init status --long (boot 2)" "$(sh_ cloud-init-status.txt | tr '\n' ' ')" '(^| )status: done '
                expect "cloud-init's errors (result.json, boot 2)" "$(jq -c '.v1.errors' "$SH/cloud-init-result.json" 2>/dev/null)" "[]"
                expect "cloud-init's datasource" "$(jq -r '.v1.datasource' "$SH/cloud-init-result.json" 2>/dev/null | cut -d' ' -f1)" DataSourceNoCloud
                assert_done_after_one_reboot "$b1" "$b2"
        fi
        finish_scenario cloudinit
}

scenario_failure() {
        local b2 jn
        VM=$(new_vm failure raw "$W/base.raw" SCENARIO=failure)
        S_DIR=$(report_dir failure) SH=$VM/share
        BOOTS=2 boot_vm "$VM" || bad "qemu exit $? (124: the guest hung, or rebooted in a loop, for $((BOOT_BUDGET * 2))s)"
        if guest_started; then
                b2=$(boot_id 2)
                expect "boots (scenario unit)" "$(boots)" 2
                expect "boots (kernel, serial log): not rebooted a second time" "$(kernel_boots)" 2
                obs "boot ids: $(boot_id 1) -> $b2"
                expect "gpubase run --reboot=now exit" "$(sh_ run.rc)" 3
                expect_match "boot 2: gpubase.service failed" "$(boot_line 2)" 'gpubase.service=failed/exit-code/1 '
                expect "gpubase wait exit" "$(sh_ wait.rc)" 1
                expect "run state" "$(status_field .run_state)" failed
                expect "gpubase status exit" "$(sh_ status.rc)" 1
                expect "reboots" "$(status_field .reboots)" 1
                expect "driver-reboot state" "$(step_field driver-reboot .state)" failed
                expect_match "driver-reboot error" "$(step_field driver-reboot .error)" 'after the reboot: .*no NVIDIA GPU on the PCI bus.*not rebooting again'
                expect_match "run error" "$(status_field .error)" 'no NVIDIA GPU on the PCI bus'
                expect "ctk step (nothing after the failed step ran)" "$(step_field ctk .state)" pending
                expect "reboot/poweroff jobs queued after the failure" "$(grep -c 'reboot\|poweroff' "$SH/jobs.txt" 2>/dev/null || true)" 0
                expect_match "modprobe nvidia" "$(sh_ modprobe.out)" 'No such device'
                expect_match "loaded module" "$(sh_ module-loaded.txt)" 'No such file or directory'
                jn=$(jq -r --arg b "${b2//-/}" 'select(._BOOT_ID == $b and .GPUBASE_STEP == "driver-reboot" and .GPUBASE_STATE == "failed") | .MESSAGE' \
                        "$SH/journal-gpubase.json" 2>/dev/null | head -1)
                expect_match "journal (boot 2) GPUBASE_STATE=failed message" "$jn" 'no NVIDIA GPU on the PCI bus'
                if grep -q '^    GPUBASE_STATE=failed$' "$SH/journal-unit-verbose.txt"; then
                        obs "journalctl -u gpubase -o verbose: GPUBASE_STATE=failed"
                else
                        bad "journalctl -u gpubase -o verbose: no GPUBASE_STATE=failed"
                fi
                obs "gpubase.service after the failure: $(sh_ unit-enabled.txt) (the run is not done, so the unit stays enabled)"
        fi
        finish_scenario failure
}

# image: the tree was provisioned on this machine (image_build above); its first boot finishes the run
scenario_image() {
        local d=$W/image-build b1
        VM=$(new_vm image raw "$W/image.raw" SCENARIO=image)
        S_DIR=$(report_dir image) SH=$VM/share
        expect "gpubase --root TREE --image run exit (first boot pending)" "$(cat "$d/run.rc")" 3
        grep -q "first boot pending" "$d/run.out" || bad "gpubase --image run did not say 'first boot pending': $(tail -3 "$d/run.out" | tr '\n' '|')"
        if diff -u "$d/host.before" "$d/host.after" >"$d/host.diff"; then
                obs "this machine's dpkg status, apt sources and /lib/modules/$KVER/modules.dep unchanged"
        elif diff <(grep -v /var/lib/dpkg/status "$d/host.before") <(grep -v /var/lib/dpkg/status "$d/host.after") >/dev/null &&
                [ -s "$d/dpkg-log.new" ] && ! grep -qE 'nvidia|cuda|gpubase' "$d/dpkg-log.new"; then
                # a shared build machine: someone else's apt-get ran meanwhile (dpkg.log says what), none
                # of it a package of the plan
                obs "this machine's apt sources and modules.dep unchanged; its dpkg status changed by others meanwhile (dpkg.log: $(awk '$3 == "install" { print $4 }' "$d/dpkg-log.new" | head -5 | tr '\n' ' ')...), no package of the plan"
        else bad "the image build changed this machine: $(tr '\n' '|' <"$d/host.diff"); dpkg.log meanwhile: $(grep -E 'nvidia|cuda|gpubase' "$d/dpkg-log.new" | head -3 | tr '\n' '|')"; fi
        expect "mounts left in the tree" "$(wc -l <"$d/mounts")" 0
        expect "state after the build (image plan run_state)" "$(cat "$d/state.txt")" "first-boot /var/lib/gpubase/plan.yaml reboot-pending"
        expect "gpubase.service enabled in the tree" "$(cat "$d/unit.txt" 2>/dev/null)" enabled
        expect "policy-rc.d left in the tree" "$(cat "$d/policy-rc.d" 2>/dev/null)" ""
        expect "the driver package's postinst (depmod) ran in the tree, for its kernel" "$(cat "$d/tree-modules-dep" 2>/dev/null)" 1
        expect "files of the tree naming its path on the build host" "$(tr '\n' ' ' <"$d/host-paths")" ""
        obs "image build: $(grep -c 'done\|skipped' "$d/run.out") step lines; $(grep 'image ready' "$d/run.out" | cut -c1-160)"
        # one boot, but it does what happy's second boot does and what its first did after the build
        # (the toolkit, docker): the scenario unit comes after gpubase.service, late, so both the
        # budget and the first-boot watchdog get two boots' time
        FIRST_BOOT_TIMEOUT=$((FIRST_BOOT_TIMEOUT * 2)) BOOTS=2 boot_vm "$VM" ||
                bad "qemu exit $? (124: the guest hung for $((BOOT_BUDGET * 2)) s)"
        if guest_started; then
                b1=$(boot_id 1)
                expect "boots (scenario unit)" "$(boots)" 1
                expect "boots (kernel, serial log)" "$(kernel_boots)" 1
                expect_match "boot 1 (the image's first): gpubase.service ran and succeeded" "$(boot_line 1)" 'gpubase.service=(inactive|active)/success/0 '
                expect "gpubase wait exit" "$(sh_ wait.rc)" 0
                expect "reboots" "$(status_field .reboots)" 1
                expect_match "driver-reboot detail" "$(step_field driver-reboot .detail)" "^rebooted \(boot id image-bu… -> ${b1:0:8}…\)"
                for st in preflight driver driver-reboot ctk runtime docker-restart; do
                        expect "step $st" "$(step_field $st .state)" "done"
                done
                expect "state image after the first boot" "$(status_field .image)" null
                assert_converged 595.45.01
                assert_docker_restarted_by_unit
                assert_journal_fields "$b1" driver-reboot "done"
        fi
        finish_scenario image
}

# The moments a seed may cut off (text on the serial console, then a random 0..N-1 s more):
# the driver step's apt/dpkg work in boot 1, the clean reboot gpubase asked for, the Container
# Toolkit's apt/dpkg work resumed by gpubase.service in boot 2, docker's restart.
RESET_POINTS=('\[[0-9]+/[0-9]+\] +ctk-repo +apt-source|15' '\[[0-9]+/[0-9]+\] +driver-reboot +reboot +reboot-requested|3'
        '\[[0-9]+/[0-9]+\] +driver-reboot +reboot +done|15' '\[[0-9]+/[0-9]+\] +runtime +container-runtime|4')
scenario_reset() { # SEED
        local seed=$1 point at range jitter
        RANDOM=$seed
        point=${RESET_POINTS[$(((seed - 1) % ${#RESET_POINTS[@]}))]}
        at=${point%|*} range=${point#*|}
        jitter=$((RANDOM % range))
        VM=$(new_vm "reset-$seed" raw "$W/base.raw" SCENARIO=reset)
        S_DIR=$(report_dir "reset-$seed") SH=$VM/share
        BOOTS=3 boot_vm "$VM" "$at" "$jitter" || bad "qemu exit $? (124: did not converge within $((BOOT_BUDGET * 3))s)"
        if guest_started; then
                if [ -s "$VM/reset.txt" ]; then
                        obs "hard reset: $(cat "$VM/reset.txt")"
                else
                        bad "no reset was sent (the console never showed '$at', or the guest had finished): this seed tested nothing"
                fi
                obs "boots: $(boots) (kernel: $(kernel_boots)); orchestrator attempts (boot attempt state-before exit): $(tr '\n' ';' 2>/dev/null <"$SH/attempts")"
                obs "per boot: $(cut -d' ' -f1,4- "$SH/boots" | tr '\n' ';')"
                assert_converged 595.45.01
        fi
        finish_scenario "reset-$seed"
}

finish_scenario() { # NAME
        [ ! -s "$SH/timeouts.txt" ] || bad "commands timed out in the guest (see $SH/timeouts.txt): $(grep 'timed out' "$SH/timeouts.txt" | tr '\n' ';')"
        if [ -s "$S_DIR/failures" ]; then echo FAIL >"$S_DIR/result"; else echo PASS >"$S_DIR/result"; fi
        log "$1: $(cat "$S_DIR/result")"
}

# ------------------------------------------------------------------ schedule
# the scenarios to run; drift rides on happy's machine
items=()
want_drift=0
for s in $SCENARIOS; do
        case "$s" in
        happy | packer | failure | cloudinit | image) items+=("$s") ;;
        drift) want_drift=1 ;;
        reset) for seed in $RESET_SEEDS; do items+=("reset:$seed"); done ;;
        *) die "unknown scenario '$s' (happy packer failure drift cloudinit reset image)" ;;
        esac
done
if [ "$want_drift" = 1 ] && [[ " ${items[*]} " != *" happy "* ]]; then die "the drift scenario continues the happy one: run both"; fi
# a scenario's guest time, in seconds measured on 2 loaded cores (README "Timings"): the longest
# first, each to the least loaded lane, so that the lanes end close together
cost() {
        case "$1" in
        happy) echo $((280 + 110 * want_drift)) ;; # 200 s, and 80-100 s for the exit-75 retry and the drift watch's checks (README)
        cloudinit) echo 360 ;;
        reset:*) echo 290 ;;
        failure) echo 210 ;;
        image) echo 240 ;;
        *) echo 185 ;; # packer: 165 s, and about 20 s for Fabric Manager and persistence (measured)
        esac
}
mapfile -t longest_first < <(for it in "${items[@]}"; do echo "$(cost "$it") $it"; done | sort -s -k1,1nr | cut -d' ' -f2)
declare -a lane load
for ((i = 0; i < JOBS; i++)); do lane[i]="" load[i]=0; done
for it in "${longest_first[@]}"; do # greedy: the least loaded lane takes the next item
        k=0
        for ((i = 1; i < JOBS; i++)); do [ "${load[i]}" -lt "${load[k]}" ] && k=$i; done
        lane[k]+=" $it"
        load[k]=$((load[k] + $(cost "$it")))
done
run_item() {
        local t
        t=$(date +%s)
        case "$1" in
        happy) scenario_happy "$want_drift" ;;
        reset:*) scenario_reset "${1#reset:}" ;;
        *) "scenario_$1" ;;
        esac
        echo "$(($(date +%s) - t))" >"$W/s/$1.secs"
}
log "accelerator $ACCEL (-cpu $CPU, -smp $SMP), $JOBS guest(s) at a time"
pids=()
for ((i = 0; i < JOBS; i++)); do
        [ -n "${lane[i]}" ] || continue
        log "lane $((i + 1)):${lane[i]}"
        # a scenario whose verdict code trips over what a broken guest left (errexit) must not take
        # the rest of its lane with it: its report then says FAIL, the next scenario runs
        (for it in ${lane[i]}; do run_item "$it" || echo "verdict code of $it stopped early" >>"$W/s/${it/:/-}.report/failures"; done) &
        pids+=($!)
done
for p in "${pids[@]}"; do wait "$p" || true; done

# ------------------------------------------------------------------ report
failed=0
names=()
for it in "${items[@]}"; do
        names+=("${it/:/-}")
        [ "$it" = happy ] && [ "$want_drift" = 1 ] && names+=(drift)
done
echo
echo "==================== gpubase e2e: $(elapsed) in all (guest image ${IMAGE_STATE}), $ACCEL ===================="
for n in "${names[@]}"; do
        d=$W/s/$n.report
        mkdir -p "$d"
        secs=$(cat "$W/s/${n/reset-/reset:}.secs" 2>/dev/null || cat "$W/s/$n.secs" 2>/dev/null || echo "?")
        secs="${secs}s"
        [ "$n" = drift ] && secs="with happy"
        res=$(cat "$d/result" 2>/dev/null || echo FAIL)
        [ -f "$d/result" ] || echo "did not run" >>"$d/failures" 2>/dev/null || true
        echo "$res  $n (${secs}) — guest files: $W/s/${n/drift/happy}/"
        sed 's/^/        ok  /' "$d/observed" 2>/dev/null || true
        if [ -s "$d/failures" ] || [ "$res" != PASS ]; then
                sed 's/^/      FAIL  /' "$d/failures" 2>/dev/null || true
                failed=1
        fi
done
echo "=================================================================================="
if [ "$failed" != 0 ]; then
        echo "e2e: FAIL (serial logs and everything the guests recorded: $W/s/*/)" >&2
        exit 1
fi
echo "e2e: all scenarios passed"
