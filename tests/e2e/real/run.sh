#!/bin/bash
# run.sh — `make e2e-real` (opt-in, not part of `make check`): the shipped headless Debian distro
# plan (plans/debian-12-distro.yaml) with Debian's genuine packages: nvidia-open-kernel-dkms (contrib),
# firmware-nvidia-gsp, nvidia-smi, libcuda1 and what they pull in, from the Debian archive this
# machine's apt sources name (tests/lib/debian-mirror.sh). See tests/e2e/README.md, "make e2e-real".
#   tree    a Debian 12 root with two kernels and their headers (build-tree.sh, cached)
#   image   `gpubase --root TREE --image run`; DKMS builds the open module for both kernels
#           inside the tree; checked from outside (modinfo, dkms status, holds, initramfs, verify)
#   repair  the next kernel loses its headers and its module; a rerun notices and rebuilds it
#   boot    the tree boots under qemu (no GPU): the run stops at the post-reboot checks with
#           "no NVIDIA GPU on the PCI bus", and the genuine module refuses to load
# Environment: GPUBASE_DEB (the .deb, required), E2E_REAL_PARTS (default "image repair boot"),
# E2E_REAL_KERNELS ("OLD NEW", default: the newest linux-image-amd64's kernel across the suites and the newest older one the
# archive still has), E2E_REAL_WORK (build/e2e-real), E2E_REAL_CACHE (build/e2e-real-cache),
# E2E_REAL_BOOT_TIMEOUT (1500 s), E2E_REAL_KEEP=1 (keep $W's tree and its image run: the checks,
# the repair and the boot again). Needs root, the network, mmdebstrap, qemu, dkms-free host (DKMS
# runs inside the tree). Exit 0 only when every assertion held.
set -euo pipefail
export LC_ALL=C
HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$HERE/../../.." && pwd)
DEB=${GPUBASE_DEB:?GPUBASE_DEB: the gpubase .deb (make deb)}
PARTS=${E2E_REAL_PARTS:-image repair boot}
W=${E2E_REAL_WORK:-$TOP/build/e2e-real}
CACHE=${E2E_REAL_CACHE:-$TOP/build/e2e-real-cache}
# shellcheck source=tests/lib/private-ns.sh
. "$TOP/tests/lib/private-ns.sh"
# shellcheck disable=SC2034 # used by checks.sh
BOOT_TIMEOUT=${E2E_REAL_BOOT_TIMEOUT:-1500}
T0=$(date +%s)
FAILS=0
TIMES=()
log() { echo "[$(date +%H:%M:%S)] e2e-real: $*"; }
die() { echo "e2e-real: $*" >&2; exit 1; }
ok() { echo "  ok    $*"; }
bad() { echo "  FAIL  $*"; FAILS=$((FAILS + 1)); }
expect() { if [ "$2" = "$3" ]; then ok "$1: $2"; else bad "$1: '$2', expected '$3'"; fi; }
expect_match() { if [[ $2 =~ $3 ]]; then ok "$1"; else bad "$1: '$(head -c 400 <<<"$2")' does not match /$3/"; fi; }
timed() { TIMES+=("$1: $2 s"); log "$1 took $2 s"; }
[ "$(id -u)" = 0 ] || die "needs root (mmdebstrap, chroot, mkfs.ext4 -d)"
[ -f "$DEB" ] || die "$DEB: no such file (make deb)"

# ------------------------------------------------------------------ the kernels
if [ -n "${E2E_REAL_KERNELS:-}" ]; then
        read -r KOLD KNEW <<<"$E2E_REAL_KERNELS"
else
        # every suite an installed Debian 12 follows (bookworm, -updates, -security): the current
        # kernel is the newest linux-image-amd64's (a kernel behind it would make dkms's
        # Recommends, linux-headers-amd64, bring the newer kernel's headers and a third build), the
        # older one the newest older ABI with its image and headers still in the archive
        mkdir -p "$CACHE"
        : >"$CACHE/Packages"
        while read -r _ uri suite _; do
                curl -sSf "$uri/dists/$suite/main/binary-amd64/Packages.xz" | xzcat >>"$CACHE/Packages" ||
                        die "cannot read $suite main's Packages from the archive"
        done < <("$TOP/tests/lib/debian-mirror.sh" --sources)
        cur=$(awk '/^Package: / { p = $2 } p == "linux-image-amd64" && /^Version: / { v = $2 }
                p == "linux-image-amd64" && /^Depends: / { split($2, d, ","); sub(/^linux-image-/, "", d[1]); print v, d[1] }' \
                "$CACHE/Packages" | sort -V | tail -1 | cut -d' ' -f2)
        read -r KOLD KNEW < <(awk '/^Package: linux-(image|headers)-6\.[0-9.]+-[0-9]+-amd64$/ { k = $2; sub(/^linux-(image|headers)-/, "", k); n[k, $2 ~ /image/]++ }
                END { for (x in n) { split(x, y, SUBSEP); if ((y[1], 1 - y[2]) in n) print y[1] } }' "$CACHE/Packages" |
                sort -uV | awk -v cur="$cur" '{ l[++m] = $1 } END { for (i = m; i > 0; i--) if (l[i] == cur) { if (i > 1) print l[i - 1], cur; exit } }')
fi
{ [ -n "${KOLD:-}" ] && [ -n "${KNEW:-}" ]; } || die "cannot pick two kernels from the archive (set E2E_REAL_KERNELS=\"OLD NEW\")"
log "kernels: $KOLD (older) and $KNEW (current, boots next)"

# ------------------------------------------------------------------ the tree (cached)
key=$( { sha256sum <"$HERE/build-tree.sh"; echo "$KOLD $KNEW"; } | sha256sum | cut -c1-16)
TREE_TAR=$CACHE/tree-$key.tar.zst
exec 9>"$CACHE/.lock"
flock 9
if [ "${E2E_REAL_KEEP:-}" = 1 ] && [ -d "$W/root/var/lib/gpubase" ]; then
        TIMES+=("tree: kept")
elif [ -s "$TREE_TAR" ]; then
        log "tree: $TREE_TAR (cached)"
        TIMES+=("tree: cached")
else
        log "tree: building $TREE_TAR (mmdebstrap: two kernels, their headers; several minutes)"
        t=$(date +%s)
        "$HERE/build-tree.sh" "$TREE_TAR" "$KOLD" "$KNEW" >"$CACHE/build-$key.log" 2>&1 || {
                tail -30 "$CACHE/build-$key.log" >&2
                die "building the tree failed (log: $CACHE/build-$key.log)"
        }
        timed "tree (mmdebstrap, cold)" $(($(date +%s) - t))
fi
flock -u 9

ROOT=$W/root
GB=$W/x/usr/bin/gpubase
in_tree() { chroot "$ROOT" "$@"; }
if [ "${E2E_REAL_KEEP:-}" = 1 ] && [ -d "$ROOT/var/lib/gpubase" ]; then
        # a rerun of the checks on the tree of an earlier run (its image run is not repeated when
        # $W/image.rc exists)
        log "tree: $ROOT kept (E2E_REAL_KEEP=1)"
else
        rm -rf "$W"
        mkdir -p "$ROOT"
        tar --zstd -xpf "$TREE_TAR" -C "$ROOT" --numeric-owner
        dpkg-deb -x "$DEB" "$W/x"
        cp "$DEB" "$ROOT/tmp/gpubase.deb"
        in_tree dpkg --log=/dev/null -i /tmp/gpubase.deb >"$W/dpkg-gpubase.log" 2>&1 || { cat "$W/dpkg-gpubase.log" >&2; die "dpkg -i gpubase in the tree failed"; }
        rm -f "$ROOT/tmp/gpubase.deb"
fi
# The shipped plan with one change: the preflight gate cannot ask for gpu.present (qemu has no
# NVIDIA device), so that the boot goes on to the driver's post-reboot checks
shipped=$ROOT/usr/share/gpubase/plans/debian-12-distro.yaml
# shellcheck disable=SC2016 # the plan's own ${signing_route}, matched literally
from='    checks: [gpu.present, {secureboot: "${signing_route}"}, nouveau]'
# shellcheck disable=SC2016 # as above
to='    checks: [{secureboot: "${signing_route}"}, nouveau]   # e2e-real: no NVIDIA device on qemu'"'"'s PCI bus'
[ "$(grep -cxF "$from" "$shipped")" = 1 ] || die "$shipped changed: its preflight line is not '$from' (update tests/e2e/real/run.sh)"
awk -v from="$from" -v to="$to" '$0 == from { print to; next } { print }' "$shipped" >"$W/plan.yaml"

# gpubase --root TREE --image run, output to $W/$1.out, exit status to $1.rc, seconds to $1.secs
image_run() {
        local t rc=0
        t=$(date +%s)
        "$GB" --root "$ROOT" --image run "$W/plan.yaml" >"$W/$1.out" 2>&1 || rc=$?
        echo "$rc" >"$W/$1.rc"
        echo $(($(date +%s) - t)) >"$W/$1.secs"
}
# shellcheck disable=SC2016 # dpkg-query's format
pkg_version() { in_tree dpkg-query -W -f '${Version}' "$1" 2>/dev/null; }
# shellcheck source=tests/e2e/real/checks.sh
. "$HERE/checks.sh"

if [[ " $PARTS " == *" image "* ]]; then
        if [ "${E2E_REAL_KEEP:-}" = 1 ] && [ -f "$W/image.rc" ]; then
                log "image: the run of $(date -r "$W/image.out" +%H:%M) is kept (E2E_REAL_KEEP=1)"
        else
                log "image: gpubase --root TREE --image run (DKMS builds the open module for both kernels; many minutes on 2 cores)"
                image_run image
        fi
        timed "image run (apt, DKMS for 2 kernels, initramfs)" "$(cat "$W/image.secs")"
        # The archive's driver may not build against the archive's kernels (nvidia-open 535.261.03
        # against 6.1.0-56 and -57 in 2026-12: pci_resize_resource() took a fourth argument). Then
        # gpubase must refuse to go on and name that failure; what the tier checks after it (the
        # modules, the repair, the boot) cannot hold, and is not run, so the one cause stands alone.
        if grep -q "DKMS could not build" "$W/image.out"; then
                bad "Debian's driver does not build against these kernels ($KOLD, $KNEW): $(grep -o 'DKMS could not build[^;]*' "$W/image.out" | head -1)"
                expect "gpubase --image run exit (the driver step failed)" "$(cat "$W/image.rc")" 1
                expect_match "gpubase named the failed build: kernel, compiler error, build log" "$(cat "$W/image.out")" \
                        "DKMS could not build nvidia-current-open [0-9.]+ for kernel ($KOLD|$KNEW): .*error: .*\(the build log: /var/lib/dkms/nvidia-current-open/[0-9.]+/build/make.log\)"
                PARTS=""
        else
                expect "gpubase --image run exit (first boot pending)" "$(cat "$W/image.rc")" 3
                grep -q "first boot pending" "$W/image.out" || bad "the image run did not say 'first boot pending': $(tail -3 "$W/image.out" | tr '\n' '|')"
                check_tree image
        fi
fi
# the boot works on a copy of the tree (its disk), so it runs while the repair rebuilds the module
[[ " $PARTS " != *" boot "* ]] || boot_start
[[ " $PARTS " != *" repair "* ]] || repair_part
[[ " $PARTS " != *" boot "* ]] || boot_judge

echo "==================== gpubase e2e-real: $(($(date +%s) - T0)) s in all ===================="
printf '  %s\n' "${TIMES[@]}"
if [ "$FAILS" -gt 0 ]; then echo "e2e-real: $FAILS assertion(s) failed (work: $W)"; exit 1; fi
echo "e2e-real: every assertion held (work: $W)"
