#!/bin/bash
# fresh-machine.sh: the README's two commands on a fresh Debian machine, as a new user would run them.
#
# Builds an mmdebstrap minbase root of this machine's Debian release with only git, make and
# ca-certificates (the Debian archive read from this machine's apt sources:
# tests/lib/debian-mirror.sh), clones the checkout into it (what is committed: HEAD), puts ../shared
# beside it as CI has it, and runs tests/ci/inside.sh there, chrooted, with a clean environment:
# `make demo`, the checks on what it installed, then `make check`. A package the Makefile forgets to
# install cannot hide behind one that was installed on this machine by hand.
#
# Everything runs in its own mount and PID namespaces (unshare): the mounts it makes (proc, sys,
# dev) and any the tests make are gone when it ends, also when it fails or is killed, and no process
# started inside outlives it. The root is deleted at the end unless FRESH_KEEP=1.
#   FRESH_DIR   where to build the root (default: a new directory under /var/tmp)
#   FRESH_KEEP  1: keep the root afterwards (for a look inside)
# Needs root and the network (the Debian archive). Installs mmdebstrap on this machine if missing.
set -euo pipefail
export LC_ALL=C
HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$(cd "$HERE/../.." && pwd)
say() { printf 'fresh-machine: %s\n' "$*"; }
die() { printf 'fresh-machine: %s\n' "$*" >&2; exit 1; }

if [ "${1:-}" = --inside-namespace ]; then
        # second half, in the new namespaces: mount what a machine has, chroot, run inside.sh
        R=$2
        mount --make-rprivate /
        mount -t proc proc "$R/proc"
        mount -t sysfs sysfs "$R/sys"
        mount --rbind /dev "$R/dev"
        rc=0
        chroot "$R" /usr/bin/env -i HOME=/root LANG=C.UTF-8 TERM=dumb CI=true \
                PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
                /bin/bash /root/gpubase/tests/ci/inside.sh || rc=$?
        umount -R "$R/dev" "$R/sys" "$R/proc" 2>/dev/null || true
        exit "$rc"
fi

[ "$(id -u)" = 0 ] || die "needs root (mmdebstrap, chroot, mount)"
command -v unshare >/dev/null || die "unshare (util-linux) is missing"
if ! command -v mmdebstrap >/dev/null; then
        say "installing mmdebstrap on this machine"
        apt-get update -q >/dev/null || die "apt-get update failed"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends mmdebstrap >/dev/null ||
                die "cannot install mmdebstrap"
fi
codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
[ -n "$codename" ] || die "/etc/os-release has no VERSION_CODENAME"
mapfile -t sources < <("$SRC/tests/lib/debian-mirror.sh" --sources) || true
[ "${#sources[@]}" -gt 0 ] || die "this machine's apt sources name no Debian archive for $codename"

WORK=${FRESH_DIR:-$(mktemp -d /var/tmp/gpubase-fresh.XXXXXX)}
mkdir -p "$WORK"
[ -z "$(ls -A "$WORK")" ] || die "$WORK is not empty"
R=$WORK/root
# shellcheck disable=SC2317 # called by the trap
cleanup() {
        local rc=$?
        if [ "${FRESH_KEEP:-0}" = 1 ]; then
                say "kept $R"
        elif [ -d "$WORK" ]; then
                # the namespace is gone, so nothing is mounted under $R any more; --one-file-system all the same
                rm -rf --one-file-system "$WORK" || say "could not remove $WORK"
        fi
        exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

t0=$(date +%s)
say "minbase root of $codename in $R, from: ${sources[*]}"
# shellcheck disable=SC2016 # the hooks are run by mmdebstrap, which gives them the root as $1
mmdebstrap --variant=minbase --include=git,make,ca-certificates --quiet \
        --customize-hook='printf "#!/bin/sh\n# a chroot: no service starts here (they would run beside this machine'"'"'s own)\nexit 101\n" > "$1/usr/sbin/policy-rc.d"; chmod 0755 "$1/usr/sbin/policy-rc.d"' \
        "$codename" "$R" "${sources[@]}" >"$WORK/mmdebstrap.log" 2>&1 || {
        tail -30 "$WORK/mmdebstrap.log" >&2
        die "mmdebstrap failed"
}
cp /etc/resolv.conf "$R/etc/resolv.conf"
git clone -q --no-hardlinks "$SRC" "$R/root/gpubase"
if [ -d "$SRC/../shared" ]; then cp -a "$SRC/../shared" "$R/root/shared"; fi
say "root ready in $(($(date +%s) - t0)) s: $(chroot "$R" dpkg-query -W -f='.\n' | wc -l) packages;" \
        "checkout $(git -C "$R/root/gpubase" rev-parse --short HEAD)"

rc=0
unshare --mount --pid --fork --propagation private -- "$0" --inside-namespace "$R" || rc=$?
say "done in $(($(date +%s) - t0)) s, exit $rc"
exit "$rc"
