#!/usr/bin/env bash
# Image mode: `gpubase --root TREE --image run PLAN` on a real Debian 12 tree (mmdebstrap
# --variant=essential of the machine's release, from the machine's own apt sources, cached as
# build/image-cache/bookworm-essential.tar; IMAGE_TREE_TAR overrides it). A marker package from a
# signed local repository has a postinst that writes a marker where it runs: the marker must be
# inside TREE and never on this machine. The machine's dpkg status and apt sources must be
# byte-identical before and after, nothing may stay mounted (also after kill -9), and the tree must
# be left as an image: no lock, no policy-rc.d, no boot id, no paths of the build host, the
# downloaded lists and archives removed. The first boot is simulated under --root (a boot id in
# TREE's /proc): the run goes on from the reboot step and ends done.
#   GPUBASE=/abs/gpubase tests/integration/image.sh [TEST-NAME-REGEX]
# Needs root (chroot, mount namespaces), mmdebstrap once (network: the machine's Debian mirror),
# dpkg-deb, apt-ftparchive, gpg, systemctl. One line per test, then a summary.
# shellcheck disable=SC2031,SC2119
set -euo pipefail

IMG_IT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRC_DIR=$(cd "$IMG_IT_DIR/../.." && pwd)
# shellcheck source=tests/integration/lib.sh
. "$IMG_IT_DIR/lib.sh"

need_tools image.sh dpkg-deb apt-ftparchive gpg systemctl unshare
[ "$(id -u)" = 0 ] || { echo "image.sh: image mode needs root (chroot, mount namespaces)" >&2; exit 2; }

IMAGE_TREE_TAR=${IMAGE_TREE_TAR:-$SRC_DIR/build/image-cache/bookworm-essential.tar}
if [ ! -s "$IMAGE_TREE_TAR" ]; then
        need_tools image.sh mmdebstrap
        mkdir -p "$(dirname "$IMAGE_TREE_TAR")"
        codename=$(. /etc/os-release && echo "$VERSION_CODENAME")
        echo "image.sh: building the test tree (mmdebstrap --variant=essential $codename, a few minutes, once)"
        nice -n 15 mmdebstrap --mode=root --variant=essential --format=tar "$codename" "$IMAGE_TREE_TAR.tmp" \
                "$("$SRC_DIR/tests/lib/debian-mirror.sh" --uri) $codename main" >"$IMAGE_TREE_TAR.log" 2>&1 ||
                { tail -20 "$IMAGE_TREE_TAR.log" >&2; exit 1; }
        mv "$IMAGE_TREE_TAR.tmp" "$IMAGE_TREE_TAR"
fi

# ---- the marker package and its signed repository (once) ----

IMG_WORK=$(mktemp -d "${TMPDIR:-/tmp}/gpubase-imageit.XXXXXX")
# shellcheck disable=SC2064
trap "rm -rf '$IMG_WORK' '$IT_LOGDIR'" EXIT
TOKEN=$(basename "$IMG_WORK")
HOST_MARKER=/tmp/gpubase-image-marker-$TOKEN
export GNUPGHOME=$IMG_WORK/gnupg
mkdir -m 700 "$GNUPGHOME"
gpg --batch --pinentry-mode loopback --passphrase '' --quick-gen-key "gpubase image test <image@test>" ed25519 sign never 2>/dev/null
KEY_FPR=$(gpg --with-colons --list-keys | awk -F: '$1=="fpr"{print $10; exit}')
REPO=$IMG_WORK/repo
mkdir -p "$REPO" "$IMG_WORK/pkg/DEBIAN"
cat >"$IMG_WORK/pkg/DEBIAN/control" <<EOF
Package: gpubase-image-marker
Version: 1.0
Architecture: all
Maintainer: gpubase tests <image@test>
Description: writes a marker where its postinst runs
EOF
# The postinst records where it ran and what it saw: the marker at an absolute path (inside TREE
# when chrooted, on this machine when not), /proc and /dev, and what policy-rc.d says of a start.
cat >"$IMG_WORK/pkg/DEBIAN/postinst" <<EOF
#!/bin/sh
set -e
echo ran >$HOST_MARKER
mkdir -p /var/lib/gpubase-image-marker
cd /var/lib/gpubase-image-marker
echo ran >ran
if [ -r /proc/self/status ]; then echo yes; else echo no; fi >proc
if [ -c /dev/null ]; then echo yes; else echo no; fi >dev
rc=0; /usr/sbin/policy-rc.d gpubase-image-marker start || rc=\$?; echo "\$rc" >policy-rc
EOF
chmod 755 "$IMG_WORK/pkg/DEBIAN/postinst"
dpkg-deb --root-owner-group -b "$IMG_WORK/pkg" "$REPO/gpubase-image-marker_1.0_all.deb" >/dev/null
(
        cd "$REPO"
        apt-ftparchive packages . >Packages
        apt-ftparchive -o APT::FTPArchive::Release::Origin=gpubase-image-test release . >Release
        gpg --batch --local-user "$KEY_FPR!" --clearsign -o InRelease Release
)
gpg --armor --export "$KEY_FPR" >"$IMG_WORK/repo-key.asc"
UNIT_IN=$SRC_DIR/packaging/systemd/gpubase.service.in

# ---- helpers ----

# mounts_below DIR: the mount points under DIR in this process's mount namespace.
mounts_below() {
        awk -v d="$1/" 'index($5, d) == 1 { print $5 }' /proc/self/mountinfo
}

# no_mounts: nothing mounted under the test's directory.
no_mounts() {
        local m
        m=$(mounts_below "$W")
        [ -z "$m" ] || fail "left mounted: $m"
}

# Never remove a tree with something mounted in it (a bound /dev would be emptied).
guard_cleanup() {
        local m
        for m in $(mounts_below "$W" | sort -r); do umount -l "$m" 2>/dev/null || true; done
        cleanup
}

# new_tree: $R becomes the test tree, with gpubase's unit installed as the package installs it.
new_tree() {
        trap guard_cleanup EXIT
        rm -rf "$R"
        mkdir -p "$R"
        tar -C "$R" -xf "$IMAGE_TREE_TAR"
        # the tree's own Debian sources are not what is tested (and would need the network)
        rm -f "$R/etc/apt/sources.list"
        mkdir -p "$R/lib/systemd/system"
        sed 's|@BINDIR@|/usr/bin|' "$UNIT_IN" >"$R/lib/systemd/system/gpubase.service"
        # the plan and its key file live together on the build host, outside the tree
        mkdir -p "$T/plans"
        cp "$IMG_WORK/repo-key.asc" "$T/plans/"
}

# host_record: what of this machine must not change (dpkg status, apt sources).
host_record() {
        {
                sha256sum /var/lib/dpkg/status
                find /etc/apt/sources.list /etc/apt/sources.list.d -type f -exec sha256sum {} + 2>/dev/null | sort
        } || true
}

# host_unchanged: host_record's files as before. This machine may be shared: when its dpkg status
# changed, dpkg.log must show someone else's packages meanwhile, and none of the plan's.
host_unchanged() {
        diff -u "$T/host.before" "$T/host.after" >&2 && return 0
        diff <(grep -v /var/lib/dpkg/status "$T/host.before") <(grep -v /var/lib/dpkg/status "$T/host.after") >&2 ||
                fail "the build host's apt sources changed"
        tail -n +"$(($(cat "$T/dpkg-log.lines") + 1))" /var/log/dpkg.log >"$T/dpkg-log.new" 2>/dev/null || true
        [ -s "$T/dpkg-log.new" ] || fail "the build host's dpkg status changed, and not by a dpkg of its own"
        if grep -q gpubase-image-marker "$T/dpkg-log.new"; then fail "the marker package was installed on the build host"; fi
        echo "  (the build host's dpkg status was changed meanwhile by others: $(awk '$3 == "install" { print $4 }' "$T/dpkg-log.new" | head -3 | tr '\n' ' '))"
}

# image_plan [EXTRA-STEPS-BEFORE-REBOOT]: the test plan in $T/plans/image.yaml.
image_plan() {
        cat >"$T/plans/image.yaml" <<EOF
version: 1
name: image-test
steps:
  - id: preflight
    kind: gate
    checks: [nouveau]
  - id: marker-repo
    kind: apt-source
    key_file: repo-key.asc
    fingerprint: "$KEY_FPR"
    uri: file://$REPO
    suite: /
  - id: marker
    kind: apt-install
    packages: [gpubase-image-marker]
  - id: hello
    kind: command
    argv: [/bin/sh, -c, 'echo "chrooted root=[\$GPUBASE_ROOT]" >/var/lib/hello']
    creates: /var/lib/hello
${1:-}
  - id: first-reboot
    kind: reboot
    when: always
    checks: [{file-exists: /var/lib/gpubase-image-marker/ran}]
  - id: late
    kind: file
    path: /etc/gpubase-late.conf
    content: "written at the first boot\n"
EOF
}

# first_boot: the tree boots (simulated: a boot id of its own in its /proc) and its gpubase.service
# runs `gpubase resume`.
first_boot() {
        mkdir -p "$R/proc/sys/kernel/random"
        new_boot_id_value >"$R/$BOOT_ID_REL"
        expect_rc 0 gb resume
        rm -rf "${R:?}/proc/sys"
}

# ---- tests ----

t_image_build_and_first_boot() {
        new_tree
        image_plan
        host_record >"$T/host.before"
        wc -l </var/log/dpkg.log >"$T/dpkg-log.lines" 2>/dev/null || echo 0 >"$T/dpkg-log.lines"
        cp -a "$R/etc/resolv.conf" "$T/resolv.before" 2>/dev/null || : >"$T/resolv.before"
        expect_rc 3 gb --image run "$T/plans/image.yaml"
        out_has "first boot pending"
        # the package's script ran inside the tree, chrooted, with /proc and /dev, and no service starts
        absent "$HOST_MARKER"
        file_is "$R$HOST_MARKER" ran
        file_is "$R/var/lib/gpubase-image-marker/proc" yes
        file_is "$R/var/lib/gpubase-image-marker/dev" yes
        file_is "$R/var/lib/gpubase-image-marker/policy-rc" 101
        file_is "$R/var/lib/hello" "chrooted root=[]"
        host_record >"$T/host.after"
        host_unchanged
        grep -q '^Package: gpubase-image-marker$' "$R/var/lib/dpkg/status" || fail "the marker is not installed in the tree"
        # nothing mounted, nothing of the run left behind
        no_mounts
        absent "$R/usr/sbin/policy-rc.d"
        absent "$R/var/lib/gpubase/image-mounts"
        absent "$R/$LOCK_REL"
        absent "$R/$BOOT_ID_REL"
        [ -z "$(ls -A "$R/proc")" ] || fail "$R/proc is not empty"
        [ ! -s "$R/etc/machine-id" ] || fail "the tree has a machine-id: $(cat "$R/etc/machine-id")"
        cmp -s "$R/etc/resolv.conf" "$T/resolv.before" 2>/dev/null || [ ! -e "$R/etc/resolv.conf" ] ||
                fail "the tree's resolv.conf changed"
        if grep -rlF "$W" "$R/var/lib/gpubase" "$R/etc" >"$T/hostpaths" 2>/dev/null; then
                cat "$T/hostpaths" >&2
                fail "paths of the build host are left in the tree"
        fi
        [ -z "$(find "$R/var/lib/apt/lists" -name '*Packages*' -o -name '*InRelease*')" ] || fail "apt lists left in the tree"
        [ -z "$(find "$R/var/cache/apt" -name '*.deb' -o -name '*.bin')" ] || fail "archives or caches left in the tree"
        [ -z "$(find "$R/var/cache/gpubase" -name '*.names' 2>/dev/null)" ] || fail "what the lists offered is left in the tree"
        # the state waits for the first boot, and gpubase.service starts it
        [ -L "$R/etc/systemd/system/multi-user.target.wants/gpubase.service" ] || fail "gpubase.service is not enabled in the tree"
        eq "$(jq -r .image "$R/$STATE_REL")" first-boot "state image"
        eq "$(jq -r .plan "$R/$STATE_REL")" /var/lib/gpubase/plan.yaml "state plan"
        eq "$(jq -r .boot_id "$R/$STATE_REL")" null "state boot id"
        eq "$(states)" "preflight=pending marker-repo=done marker=done hello=done first-reboot=reboot-requested late=pending" "steps"
        expect_rc 3 gb status
        out_has "state: first boot pending"
        expect_rc 3 gb wait --timeout 5
        err_has "first boot pending"
        # another build run sees that and changes nothing
        expect_rc 3 gb --image resume
        out_has "first boot pending"
        no_mounts
        # the first boot: the reboot counts as done, its checks run, the run finishes
        first_boot
        eq "$(sj .run_state)" "done" "run state after the first boot"
        eq "$(states)" "preflight=done marker-repo=done marker=done hello=done first-reboot=done late=done" "steps"
        file_is "$R/etc/gpubase-late.conf" "written at the first boot"
        eq "$(sj .image)" null "state image after the first boot"
}

# dpkg --root runs on the build host, so the names in the tree's statoverrides and in its
# packages' files must resolve through the tree's users and groups, not this machine's: a group only
# the tree has (messagebus, on a CI machine without dbus) made dpkg abort ("unknown system group
# ... in statoverride file") before it installed anything.
t_tree_users_and_groups() {
        new_tree
        image_plan
        ! getent group gpubase-tree-only >/dev/null || fail "this machine has a group gpubase-tree-only"
        echo "gpubase-tree-only:x:4242:" >>"$R/etc/group"
        mkdir -p "$R/var/lib/gpubase-tree-only"
        echo "root gpubase-tree-only 0750 /var/lib/gpubase-tree-only" >>"$R/var/lib/dpkg/statoverride"
        expect_rc 3 gb --image run "$T/plans/image.yaml"
        out_has "first boot pending"
        grep -q '^Package: gpubase-image-marker$' "$R/var/lib/dpkg/status" || fail "the marker is not installed in the tree"
        ! getent group gpubase-tree-only >/dev/null || fail "the tree's group reached this machine's databases"
        no_mounts
}

t_keep_cache() {
        new_tree
        image_plan
        # ${plan_dir} names the plan's directory on the build host, as a relative path does
        # shellcheck disable=SC2016 # the plan's own variable, literally
        sed -i 's|key_file: repo-key.asc|key_file: ${plan_dir}/repo-key.asc|' "$T/plans/image.yaml"
        # shellcheck disable=SC2016 # as above
        grep -qF 'key_file: ${plan_dir}/repo-key.asc' "$T/plans/image.yaml" || fail "the plan has no \${plan_dir} key_file"
        expect_rc 3 gb --image --keep-cache run "$T/plans/image.yaml"
        [ -n "$(find "$R/var/lib/apt/lists" -name '*Packages*')" ] || fail "--keep-cache did not keep the lists"
        [ -n "$(find "$R/var/cache/apt" -name '*.bin')" ] || fail "--keep-cache did not keep apt's package caches"
        no_mounts
}

t_refuse_not_offline() {
        new_tree
        image_plan "  - id: restart-early
    kind: service-restart
    unit: docker.service
  - id: gate-with-file
    kind: gate
    checks: [{file-exists: /etc/os-release}]
  - id: loaded-check
    kind: file
    path: /etc/x.conf
    content: x
    checks: [driver.loaded]"
        snapshot "$R" >"$T/tree.before"
        expect_rc 65 gb --image run "$T/plans/image.yaml"
        err_has "step 'restart-early'"
        err_has "a service-restart needs the booted machine"
        err_has "step 'loaded-check'"
        err_has "its check driver.loaded needs the booted machine"
        not_contains "$T/err" "gate-with-file"
        snapshot "$R" >"$T/tree.after"
        diff -u "$T/tree.before" "$T/tree.after" >&2 || fail "a refused plan changed the tree"
        no_mounts
}

t_refuse_without_unit() {
        new_tree
        image_plan
        rm "$R/lib/systemd/system/gpubase.service"
        expect_rc 65 gb --image run "$T/plans/image.yaml"
        err_has "has no gpubase.service"
        absent "$R/$STATE_REL"
        no_mounts
}

# kill -9 while a step runs (its program holds the tree's /proc): nothing stays mounted; the next
# run undoes what the killed one left (its policy-rc.d) and goes on to the first-boot checkpoint.
t_kill_resumes() {
        new_tree
        image_plan "  - id: slow
    kind: command
    argv: [/bin/sh, -c, 'test -r /proc/self/status && touch /var/lib/slow-started && sleep 30']"
        "$GPUBASE" --root "$R" --image run "$T/plans/image.yaml" >"$T/run1.out" 2>&1 &
        local pid=$! _
        BG_PIDS+=("$pid")
        for _ in $(seq 1 600); do [ -e "$R/var/lib/slow-started" ] && break; sleep 0.1; done
        [ -e "$R/var/lib/slow-started" ] || { cat "$T/run1.out" >&2; fail "the slow step never started"; }
        kill -9 "$pid"
        wait "$pid" 2>/dev/null || true
        no_mounts
        [ -e "$R/usr/sbin/policy-rc.d" ] || fail "expected the killed run's policy-rc.d (the next run removes it)"
        eq "$(jq -r '.steps[] | select(.id == "slow") | .state' "$R/$STATE_REL")" running "the killed step"
        # the slow step now finishes at once
        sed -i 's/ && sleep 30//' "$T/plans/image.yaml"
        expect_rc 3 gb --image --replan resume
        no_mounts
        absent "$R/usr/sbin/policy-rc.d"
        absent "$R/var/lib/gpubase/image-mounts"
        eq "$(jq -r .image "$R/$STATE_REL")" first-boot "state image"
        first_boot
        eq "$(sj .run_state)" "done" "run state after the first boot"
}

# gpubase itself chrooted, as in a build container or CI's fresh machine: its root is a plain
# directory, not a mount point. There "/" cannot be made private (EINVAL), and once gpubase has a
# mount namespace of its own /proc/self/exe names the binary as seen from outside the chroot, so
# libgpubase-apt.so must be found before. The outer root has this machine's programs bound in and
# its own copy of gpubase; the tree, the plan and the repository are where the test has them.
t_chrooted() {
        new_tree
        image_plan
        local C=$W/outer
        # only the test's own directories are bound in, not the one that holds $C: a path outside the
        # chroot must not happen to work inside it
        mkdir -p "$C/gb" "$C/proc" "$C/dev" "$C/usr" "$C/etc" "$C/var" "$C/tmp" "$C$R" "$C$T" "$C$IMG_WORK"
        cp "$GPUBASE" "$C/gb/gpubase"
        cp "$(dirname "$GPUBASE")/libgpubase-apt.so" "$C/gb/"
        local l
        for l in bin sbin lib lib64; do [ -L "/$l" ] && ln -s "usr/$l" "$C/$l"; done
        # shellcheck disable=SC2016 # expanded by the shell in the namespace
        C=$C R=$R T=$T IMG_WORK=$IMG_WORK private_ns bash -euc '
                for d in /usr /etc /var "$R" "$T" "$IMG_WORK"; do mount --bind "$d" "$C$d"; done
                mount --rbind /dev "$C/dev"
                mount -t proc proc "$C/proc"
                rc=0; chroot "$C" unshare -m true 2>/dev/null || rc=$?
                echo "$rc" >"$T/unshare.rc"
                rc=0; chroot "$C" /gb/gpubase --root "$R" --image run "$T/plans/image.yaml" >"$T/out" 2>"$T/err" || rc=$?
                echo "$rc" >"$T/rc"'
        [ "$(cat "$T/unshare.rc")" != 0 ] || fail "unshare -m works in the outer root: it is not the chroot this tests"
        [ "$(cat "$T/rc")" = 3 ] || { cat "$T/err" >&2; fail "exit code $(cat "$T/rc"), expected 3"; }
        out_has "first boot pending"
        absent "$HOST_MARKER"
        file_is "$R$HOST_MARKER" ran
        file_is "$R/var/lib/gpubase-image-marker/proc" yes
        file_is "$R/var/lib/gpubase-image-marker/dev" yes
        no_mounts
        absent "$R/usr/sbin/policy-rc.d"
        absent "$R/var/lib/gpubase/image-mounts"
        eq "$(states)" "preflight=pending marker-repo=done marker=done hello=done first-reboot=reboot-requested late=pending" "steps"
}

# A plan without a reboot step runs whole while the image is built, when nothing in it needs the
# booted machine: no first boot, the unit is not enabled, the tree is tidied the same way.
t_no_reboot_plan() {
        new_tree
        cat >"$T/plans/image.yaml" <<EOF
version: 1
name: image-noreboot
steps:
  - id: conf
    kind: file
    path: /etc/gpubase-image.conf
    content: "x\n"
EOF
        expect_rc 0 gb --image run "$T/plans/image.yaml"
        file_is "$R/etc/gpubase-image.conf" x
        absent "$R/etc/systemd/system/multi-user.target.wants/gpubase.service"
        eq "$(jq -r .run_state "$R/$STATE_REL")" "done" "run state"
        eq "$(jq -r .plan "$R/$STATE_REL")" /var/lib/gpubase/plan.yaml "state plan"
        absent "$R/$LOCK_REL"
        no_mounts
}

# An air-gapped build host: the plan's packages and keys come from an offline bundle made
# beforehand; the repository is gone while the image is built.
t_bundle() {
        new_tree
        image_plan
        mkdir -p "$W/mkroot"
        fill_root "$W/mkroot"
        expect_rc 0 "$GPUBASE" --root "$W/mkroot" bundle create "$T/plans/image.yaml" -o "$T/b.tar.zst"
        mv "$REPO" "$REPO.gone"
        # shellcheck disable=SC2064
        trap "mv '$REPO.gone' '$REPO' 2>/dev/null; guard_cleanup" EXIT
        expect_rc 3 gb --image run --bundle "$T/b.tar.zst" "$T/plans/image.yaml"
        out_has "packages from the offline bundle"
        file_is "$R/var/lib/gpubase-image-marker/ran" ran
        absent "$HOST_MARKER"
        no_mounts
        [ -f "$R/var/lib/gpubase/bundle/manifest.json" ] || fail "the bundle is not kept in the tree for the first boot"
        first_boot
        eq "$(sj .run_state)" "done" "run state after the first boot"
}

# examples/image/mmdebstrap.sh's customize hook, as mmdebstrap runs it (`sh -c HOOK exec ROOTDIR`),
# on the test tree: exit 0 (the hook accepts "first boot pending"), the image waits for its first boot.
t_example_mmdebstrap_hook() {
        new_tree
        image_plan
        local hook
        hook=$(sed -n "s/.*--customize-hook='\(.*\)' *\\\\\{0,1\}$/\1/p" "$SRC_DIR/examples/image/mmdebstrap.sh")
        [ -n "$hook" ] || fail "no customize hook found in examples/image/mmdebstrap.sh"
        expect_rc 0 env PATH="$(dirname "$GPUBASE"):$PATH" PLAN="$T/plans/image.yaml" PLAN_VARS= sh -c "$hook" exec "$R"
        eq "$(jq -r .image "$R/$STATE_REL")" first-boot "state image"
        file_is "$R/var/lib/gpubase-image-marker/ran" ran
        no_mounts
}

# examples/image/gpu-image-tree.pkr.hcl built for real by Packer (its null builder runs nothing
# remote) on the test tree.
t_example_packer() {
        command -v packer >/dev/null || { echo "packer is not installed (make deps installs it)"; exit 77; }
        new_tree
        image_plan
        expect_rc 0 env CHECKPOINT_DISABLE=1 HOME="$T" PACKER_CACHE_DIR="$T/packer-cache" packer build \
                -var "tree=$R" -var "plan=$T/plans/image.yaml" -var "gpubase=$GPUBASE" \
                "$SRC_DIR/examples/image/gpu-image-tree.pkr.hcl"
        out_has "first boot pending"
        eq "$(jq -r .image "$R/$STATE_REL")" first-boot "state image"
        file_is "$R/var/lib/gpubase-image-marker/ran" ran
        absent "$HOST_MARKER"
        no_mounts
}

t_usage() {
        expect_rc 64 "$GPUBASE" --image run /nonexistent.yaml
        err_has "--image needs --root"
        expect_rc 64 gb --keep-cache run /nonexistent.yaml
        err_has "--keep-cache applies to --image only"
        expect_rc 64 gb --image --dry-run run /nonexistent.yaml
        err_has "--dry-run does not apply with --image"
}

ALL_TESTS=(
        usage
        image_build_and_first_boot
        tree_users_and_groups
        keep_cache
        refuse_not_offline
        refuse_without_unit
        kill_resumes
        no_reboot_plan
        chrooted
        bundle
        example_mmdebstrap_hook
        example_packer
)

run_listed "${1:-}"
