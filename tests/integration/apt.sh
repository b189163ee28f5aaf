#!/usr/bin/env bash
# APT tier: gpubase's apt steps (apt-keyring-deb, apt-source, apt-install), the container-runtime and
# service-restart steps and the shipped plans, for real, under --root, against the local signed
# repositories that tests/fixtures/repo/build-repo.sh builds (no network but loopback, no apt-get);
# its NVIDIA-like layout is served over HTTP on 127.0.0.1 for the keyring's chain of trust.
#   [GPUBASE=build/gpubase] [FAKE_NVML=build/fixtures/libnvidia-ml.so.1] tests/integration/apt.sh [TEST-NAME-REGEX]
# One line per test (PASS/FAIL name), then a summary; exits non-zero if any test failed. About a
# minute; needs dpkg-deb, apt-ftparchive, gpg and gcc (make deps), perl and python3 (the HTTP
# server), no network.
# APT_KEEP=1 keeps the fixture repositories (in $TMPDIR/gpubase-aptit.*) for a look afterwards.
#
# Every gpubase call goes through `ga`, whose PATH starts with fake apt-get, apt, apt-cache and
# apt-mark that only leave a mark: gpubase must never run them (dpkg stays reachable).
# A root is made a GPU host by gpu_root (an H100 in sysfs, pci.ids, a kernel release, docker
# "running" since 2025), and "rebooted" into the driver the packages installed by boot_root.
# R and T are set per test by run_test, in the subshell each test runs in:
# shellcheck disable=SC2031,SC2119
set -euo pipefail

APT_IT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRC_DIR=$(cd "$APT_IT_DIR/../.." && pwd)
GPUBASE=${GPUBASE:-$SRC_DIR/build/gpubase}
FAKE_NVML=${FAKE_NVML:-$SRC_DIR/build/fixtures/libnvidia-ml.so.1}
case $GPUBASE in /*) ;; *) GPUBASE=$PWD/$GPUBASE ;; esac
case $FAKE_NVML in /*) ;; *) FAKE_NVML=$PWD/$FAKE_NVML ;; esac
export GPUBASE FAKE_NVML
[ -x "$GPUBASE" ] || { echo "apt.sh: $GPUBASE is not built (make all)" >&2; exit 2; }
[ -f "$FAKE_NVML" ] || { echo "apt.sh: $FAKE_NVML is not built (make build/fixtures/libnvidia-ml.so.1)" >&2; exit 2; }

# shellcheck source=tests/integration/lib.sh
. "$APT_IT_DIR/lib.sh"

PLANS=$SRC_DIR/plans
need_tools apt.sh dpkg dpkg-deb dpkg-divert apt-ftparchive gpg gcc strace

# ---------------------------------------------------------------- the fixture repositories (once)

APT_WORK=$(mktemp -d "${TMPDIR:-/tmp}/gpubase-aptit.XXXXXX")
# shellcheck disable=SC2064
trap "[ -n '${APT_KEEP:-}' ] || rm -rf '$APT_WORK'; rm -rf '$IT_LOGDIR'" EXIT

# One HTTP server on loopback for the whole script, serving $APT_WORK: the fixture's NVIDIA layout
# (repo/nvidia/repos/<distro>/<arch>/) is reached at $FIXTURE_NVIDIA_URL, which its keyring
# packages name as their repository.
python3 -c 'import http.server, os, sys
class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass
os.chdir(sys.argv[1])
s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
with open(sys.argv[2] + ".tmp", "w") as f:
    f.write(str(s.server_address[1]))
os.rename(sys.argv[2] + ".tmp", sys.argv[2])
s.serve_forever()' "$APT_WORK" "$APT_WORK/http.port" 2>"$APT_WORK/http.err" &
HTTP_PID=$!
# (errexit holds in the trap too: the killed server's status must not become the script's)
# shellcheck disable=SC2064
trap "kill $HTTP_PID 2>/dev/null || true; wait $HTTP_PID 2>/dev/null || true; [ -n '${APT_KEEP:-}' ] || rm -rf '$APT_WORK'; rm -rf '$IT_LOGDIR'" EXIT
for _ in $(seq 1 200); do [ -s "$APT_WORK/http.port" ] && break; sleep 0.05; done
[ -s "$APT_WORK/http.port" ] || { echo "apt.sh: the HTTP server did not start: $(cat "$APT_WORK/http.err")" >&2; exit 1; }
FIXTURE_NVIDIA_URL=http://127.0.0.1:$(cat "$APT_WORK/http.port")/repo/nvidia
export FIXTURE_NVIDIA_URL

fixture_repos apt "$APT_WORK/repo"

# the fixture's nvidia-ctk, for the container-runtime tests that do not install the toolkit
CTK_X=$APT_WORK/ctk-x
dpkg-deb -x "$FIXTURE_REPO_DIR"/debs/nvidia-container-toolkit-base_1.19.0-1_amd64.deb "$CTK_X"

# fake apt front ends: each leaves a line in APT_MARKER and fails
FAKEBIN=$APT_WORK/fakebin
APT_MARKER=$APT_WORK/apt-frontend-called
mkdir -p "$FAKEBIN"
for f in apt-get apt apt-cache apt-mark; do
        printf '#!/bin/sh\necho "%s $*" >>%s\nexit 1\n' "$f" "$APT_MARKER" >"$FAKEBIN/$f"
        chmod 755 "$FAKEBIN/$f"
done

DAEMON_JSON_REL=etc/docker/daemon.json
OLD_TIME=$FIXTURE_OLD_TIME

# ---------------------------------------------------------------- helpers

# ga ARGS...: gpubase on this test's root, with the fake apt front ends first in PATH.
ga() {
        PATH="$FAKEBIN:$PATH" "$GPUBASE" --root "$R" "$@"
}

# said TEXT: stdout or stderr of the last expect_rc contains TEXT.
said() {
        cat "$T/out" "$T/err" >"$T/all"
        contains "$T/all" "$1" "the output"
}

# dpkg_r ARGS...: dpkg on the root, the way gpubase runs it.
dpkg_r() {
        dpkg --root="$R" --force-script-chrootless --force-not-root --log="$R/var/log/dpkg.log" "$@"
}

not_installed() {
        local s
        s=$(pkg_status "$1")
        case $s in "" | *" not-installed "* | *" config-files "*) ;; *) fail "$1 is installed: $s" ;; esac
}

# no_packages: the root's dpkg database holds no package at all.
no_packages() {
        local f=$R/var/lib/dpkg/status
        if [ -f "$f" ] && grep -q '^Package: ' "$f"; then
                sed 's/^/    | /' "$f" >&2
                fail "dpkg status lists packages"
        fi
}

# no_repo_files: no keyring, source list or preferences were written.
no_repo_files() {
        local d found
        for d in usr/share/keyrings etc/apt/sources.list.d etc/apt/preferences.d etc/apt/trusted.gpg.d; do
                [ -d "$R/$d" ] || continue
                found=$(find "$R/$d" -mindepth 1 -not -type d)
                [ -z "$found" ] || fail "files were written: $found"
        done
}

# frontends_untouched: no fake apt front end ran (so far, in this whole script).
frontends_untouched() {
        if [ -s "$APT_MARKER" ]; then
                sed 's/^/    | /' "$APT_MARKER" >&2
                fail "gpubase executed an apt front end"
        fi
}

# set_os ID VERSION: the root's os-release.
set_os() {
        local pretty
        case $1 in
        ubuntu) pretty="Ubuntu $2 LTS" ;;
        *) pretty="Debian GNU/Linux $2" ;;
        esac
        printf 'PRETTY_NAME="%s"\nNAME="%s"\nID=%s\nVERSION_ID="%s"\n' "$pretty" "${pretty%% *}" "$1" "$2" >"$R/etc/os-release"
}

# shipped_vars [CTK_URI]: --var arguments that point a shipped plan at the fixture.
shipped_vars() {
        SV=(--var "cuda_keyring_url=file://$CUDA_KEYRING_DEB"
                --var "cuda_key_fpr=$KEY_FPR" --var "ctk_repo=${1:-$REPO_CTK_URI}"
                --var "ctk_key_url=file://$CTK_KEY_ASC" --var "ctk_key_fpr=$CTK_KEY_FPR"
                --var "driver_origin=$FIXTURE_REPO_DIR/cuda/")
}

# converged_states: what a rerun of a converged shipped plan shows.
CONVERGED="preflight=done nouveau-blacklist=skipped upgrade-blacklist=skipped cuda-keyring=skipped ctk-repo=skipped driver=skipped"
CONVERGED+=" fabric-manager=skipped driver-reboot=skipped persistence=skipped fabric-manager-start=skipped ctk=skipped runtime=skipped docker-restart=skipped smoke=done"

# shipped_installed: what a shipped plan leaves in the root.
shipped_installed() {
        installed cuda-keyring 1.1-1
        installed nvidia-driver-pinning-595 595-1 hold
        installed nvidia-open 595.45.01-1 hold
        installed nvidia-kernel-open-dkms 595.45.01-1
        installed libnvidia-compute 595.45.01-1
        local p
        for p in nvidia-container-toolkit nvidia-container-toolkit-base libnvidia-container-tools libnvidia-container1; do
                installed "$p" 1.19.0-1 hold
        done
        [ -f "$R/usr/share/keyrings/cuda-archive-keyring.gpg" ] || fail "cuda-keyring's keyring is missing"
        [ -f "$R/etc/apt/sources.list.d/cuda-debian12-x86_64.list" ] || fail "cuda-keyring's source list is missing"
        [ -f "$R/etc/apt/sources.list.d/ctk-repo.sources" ] || fail "ctk-repo.sources is missing"
        contains "$R/etc/apt/sources.list.d/ctk-repo.sources" "Signed-By: /usr/share/keyrings/ctk-repo-keyring.gpg"
        [ -f "$R/etc/apt/preferences.d/nvidia-driver-pinning-595" ] || fail "the pinning package's preferences are missing"
        [ "$(jq -r '.runtimes.nvidia.path' "$R/$DAEMON_JSON_REL")" = nvidia-container-runtime ] ||
                fail "daemon.json has no nvidia runtime: $(cat "$R/$DAEMON_JSON_REL")"
        upgrade_blacklist_written
}

# upgrade_blacklist_written: the shipped plans' unattended-upgrades blacklist, as apt reads it: every
# package of the driver, Fabric Manager, the toolkit and the kernel is matched by one of its entries.
upgrade_blacklist_written() {
        local f=$R/etc/apt/apt.conf.d/51gpubase-upgrade-blacklist re
        [ -f "$f" ] || fail "the unattended-upgrades blacklist is missing"
        apt-config -c "$f" dump Unattended-Upgrade::Package-Blacklist >"$T/blacklist" ||
                fail "apt cannot read $f"
        for re in nvidia- libnvidia- cuda-drivers linux-image- linux-headers- linux-modules- linux-generic; do
                contains "$T/blacklist" "Unattended-Upgrade::Package-Blacklist:: \"$re\";"
        done
        # each name a plan installs or holds, or a kernel upgrade brings, starts with an entry
        # (unattended-upgrades matches with Python's re.match: from the start of the name)
        local pkg
        for pkg in nvidia-open nvidia-kernel-open-dkms libnvidia-compute nvidia-driver-pinning-595 \
                nvidia-fabricmanager-595 libnvidia-nscq-595 nvidia-container-toolkit nvidia-container-toolkit-base \
                libnvidia-container-tools libnvidia-container1 linux-image-amd64 linux-image-6.1.0-28-amd64 \
                linux-headers-generic linux-generic-hwe-24.04 linux-modules-nvidia-595-server-open-generic; do
                sed -n 's/^Unattended-Upgrade::Package-Blacklist:: "\(.*\)";$/\1/p' "$T/blacklist" |
                        while read -r re; do case $pkg in "$re"*) echo yes ;; esac; done | grep -q yes ||
                        fail "no blacklist entry matches $pkg"
        done
}

# plain_output_ok: $T/out of a run without a terminal is gpubase(1)'s plain format (OUTPUT): step
# lines and check lines only, never dpkg's own (that goes to apt's term.log) nor apt's progress.
plain_output_ok() {
        local bad
        bad=$(grep -vE '^(\[[0-9]+/[0-9]+\] +[^ ]+ +[a-z-]+ +(done|skipped|failed|reboot-requested|interrupted) +[0-9]+\.[0-9]{2}s  .*|      check .*)$' "$T/out" || true)
        [ -z "$bad" ] || fail "lines outside the documented plain format: $bad"
        [ -s "$R/var/log/apt/term.log" ] || fail "apt's term.log holds nothing of dpkg's output"
}

# converge PLAN [CTK_URI]: a shipped plan from a bare GPU root to done (run, reboot, resume).
converge() {
        local plan=$1
        shipped_vars "${2:-}"
        expect_rc 3 ga run "$plan" --reboot=exit "${SV[@]}"
        plain_output_ok
        eq "$(sj .run_state)" reboot-pending "run_state at the reboot"
        eq "$(states)" "preflight=done nouveau-blacklist=done upgrade-blacklist=done cuda-keyring=done ctk-repo=done driver=done fabric-manager=skipped driver-reboot=reboot-requested persistence=pending fabric-manager-start=pending ctk=pending runtime=pending docker-restart=pending smoke=pending" "step states at the reboot"
        installed nvidia-open 595.45.01-1 hold
        not_installed nvidia-container-toolkit
        expect_rc 3 ga resume --reboot=exit # no reboot yet: still pending
        boot_root
        expect_rc 0 ga resume --reboot=exit
        eq "$(sj .run_state)" "done" "run_state after the reboot"
        eq "$(states)" "preflight=done nouveau-blacklist=done upgrade-blacklist=done cuda-keyring=done ctk-repo=done driver=done fabric-manager=skipped driver-reboot=done persistence=skipped fabric-manager-start=skipped ctk=done runtime=done docker-restart=done smoke=done" "step states after the reboot"
        eq "$(sj .reboots)" 1 "reboots"
        shipped_installed
        eq "$(grep -c 'restart docker.service' "$R/$ACTIONS_REL")" 1 "docker restarts in host-actions.log"
}

# rerun_converged PLAN: a rerun changes nothing: all skipped but the gate, no dpkg activity.
rerun_converged() {
        local plan=$1
        shipped_vars "${2:-}"
        cp "$R/var/lib/dpkg/status" "$T/status.before"
        cp "$R/var/log/dpkg.log" "$T/dpkglog.before"
        cp "$R/$ACTIONS_REL" "$T/actions.before"
        cp "$R/$DAEMON_JSON_REL" "$T/daemon.before"
        snapshot "$R/etc" >"$T/etc.before"
        expect_rc 0 ga run "$plan" --reboot=exit "${SV[@]}"
        eq "$(sj .run_state)" "done" "run_state of the converged rerun"
        eq "$(states)" "$CONVERGED" "step states of the converged rerun"
        cmp -s "$T/status.before" "$R/var/lib/dpkg/status" || fail "the converged rerun changed dpkg's status file"
        cmp -s "$T/dpkglog.before" "$R/var/log/dpkg.log" || {
                diff "$T/dpkglog.before" "$R/var/log/dpkg.log" >&2 || true
                fail "the converged rerun ran dpkg"
        }
        cmp -s "$T/actions.before" "$R/$ACTIONS_REL" || fail "the converged rerun restarted or rebooted something"
        cmp -s "$T/daemon.before" "$R/$DAEMON_JSON_REL" || fail "the converged rerun changed daemon.json"
        snapshot "$R/etc" >"$T/etc.after"
        diff "$T/etc.before" "$T/etc.after" >&2 || fail "the converged rerun changed files under /etc"
        frontends_untouched
}

# plan_file NAME: writes stdin to $T/NAME.yaml, prints its path.
plan_file() {
        cat >"$T/$1.yaml"
        echo "$T/$1.yaml"
}

# ---------------------------------------------------------------- the shipped plans

t_plan_debian12() {
        gpu_root
        converge "$PLANS/debian-12.yaml"
        rerun_converged "$PLANS/debian-12.yaml"
        # a reboot on a converged host is a no-op as well
        boot_root
        rerun_converged "$PLANS/debian-12.yaml"
        frontends_untouched
}

t_plan_ubuntu2204() {
        gpu_root
        set_os ubuntu 22.04
        converge "$PLANS/ubuntu-22.04.yaml"
        rerun_converged "$PLANS/ubuntu-22.04.yaml"
}

t_plan_ubuntu2404() {
        gpu_root
        set_os ubuntu 24.04
        converge "$PLANS/ubuntu-24.04.yaml"
        rerun_converged "$PLANS/ubuntu-24.04.yaml"
}

# nvswitches: the root becomes an HGX board's: 4 NVSwitches (LS10 management endpoints) on the bus.
nvswitches() {
        local bus d
        for bus in 05 06 07 08; do
                d=$R/sys/bus/pci/devices/0000:$bus:00.0
                mkdir -p "$d"
                printf '0x10de\n' >"$d/vendor"
                printf '0x22a3\n' >"$d/device"
                printf '0x068000\n' >"$d/class"
        done
}

# An NVSwitch host: the shipped plan's nvswitch-present condition holds, Fabric Manager is installed
# from the driver's repository at exactly the driver's version (595.45.01-1, though 595.58.03-1 is
# offered there too), held, and enabled and started after the driver reboot with nvidia-persistenced
t_plan_debian12_nvswitch_fabric_manager() {
        gpu_root
        nvswitches
        shipped_vars
        expect_rc 3 ga run "$PLANS/debian-12.yaml" --reboot=exit "${SV[@]}"
        eq "$(step_state fabric-manager)" "done" "fabric-manager at the reboot"
        installed nvidia-open 595.45.01-1 hold
        installed nvidia-fabricmanager 595.45.01-1 hold
        [ -f "$R/lib/systemd/system/nvidia-fabricmanager.service" ] || fail "Fabric Manager's unit is missing"
        # the driver's packages bring nvidia-persistenced's unit (the fixture's do not: it is put here)
        mkdir -p "$R/lib/systemd/system"
        printf '[Service]\nPIDFile=/var/run/nvidia-persistenced/nvidia-persistenced.pid\n' \
                >"$R/lib/systemd/system/nvidia-persistenced.service"
        boot_root
        expect_rc 0 ga resume --reboot=exit
        eq "$(sj .run_state)" "done" "run_state after the reboot"
        eq "$(states)" "preflight=done nouveau-blacklist=done upgrade-blacklist=done cuda-keyring=done ctk-repo=done driver=done fabric-manager=done driver-reboot=done persistence=done fabric-manager-start=done ctk=done runtime=done docker-restart=done smoke=done" "step states after the reboot"
        local u
        for u in nvidia-persistenced.service nvidia-fabricmanager.service; do
                contains "$R/$ACTIONS_REL" "enable $u" "host-actions.log"
                contains "$R/$ACTIONS_REL" "start $u" "host-actions.log"
        done
        [ -f "$R/run/nvidia-fabricmanager/nv-fabricmanager.pid" ] || fail "Fabric Manager was not started"
        # (the lists are copies apt decompressed from the repository's Packages.gz, named after it)
        expect_rc 0 ga verify --json --plan "$PLANS/debian-12.yaml" "${SV[@]}"
        eq "$(jq -r '[.checks[] | select(.status == "warn" or .status == "fail") | .name] | join(" ")' "$T/out")" \
                "" "verify's rows that are not ok"
        eq "$(jq -r '.checks[] | select(.name == "driver.origin") | .detail' "$T/out")" \
                "nvidia-kernel-open-dkms 595.45.01-1 comes from $FIXTURE_REPO_DIR/cuda/" "driver.origin"
        eq "$(jq -r '.checks[] | select(.name == "fabric.manager") | .detail' "$T/out")" \
                "nvidia-fabricmanager 595.45.01 matches the driver 595.45.01, held; nvidia-fabricmanager.service enabled and active" \
                "fabric.manager"
        eq "$(jq -r '.checks[] | select(.name == "fabric.state") | .status' "$T/out")" ok "fabric.state"
        eq "$(jq -r '.checks[] | select(.name == "driver.persistence") | .status' "$T/out")" ok "driver.persistence"
        eq "$(jq -c .facts.nvswitches.count "$T/out")" 4 "facts.nvswitches.count"
        # a rerun changes nothing: Fabric Manager stays where it is
        expect_rc 0 ga run "$PLANS/debian-12.yaml" --reboot=exit "${SV[@]}"
        eq "$(step_state fabric-manager)" skipped "fabric-manager on the rerun"
        eq "$(step_state fabric-manager-start)" skipped "fabric-manager-start on the rerun"
        installed nvidia-fabricmanager 595.45.01-1 hold
}

# The same plan without an NVSwitch: nothing of Fabric Manager is installed or started
t_plan_debian12_no_nvswitch_no_fabric_manager() {
        gpu_root
        shipped_vars
        expect_rc 3 ga run "$PLANS/debian-12.yaml" --reboot=exit "${SV[@]}"
        eq "$(step_state fabric-manager)" skipped "fabric-manager"
        contains "$R/$STATE_REL" "no NVSwitch on the PCI bus" "state.json"
        not_installed nvidia-fabricmanager
}

t_plan_refused_on_other_os() {
        gpu_root
        set_os ubuntu 24.04
        shipped_vars
        expect_rc 65 ga run "$PLANS/debian-12.yaml" --reboot=exit "${SV[@]}"
        said "refused"
        absent "$R/var/lib/dpkg/status"
}

# prefetch: the driver step downloads the toolkit's archives before the reboot; after it, the
# repositories are gone and the plan still finishes. `copy:` makes apt download into the archive
# cache as from a remote repository (with file: it uses the .debs in place).
t_prefetch_offline_after_reboot() {
        gpu_root
        cp -a "$FIXTURE_REPO_DIR/ctk" "$T/ctk-mirror"
        shipped_vars "copy://$T/ctk-mirror"
        expect_rc 3 ga run "$PLANS/debian-12.yaml" --reboot=exit "${SV[@]}"
        local p
        for p in nvidia-container-toolkit nvidia-container-toolkit-base libnvidia-container-tools libnvidia-container1; do
                [ -f "$R/var/cache/apt/archives/${p}_1.19.0-1_amd64.deb" ] ||
                        fail "the archive of $p was not prefetched: $(ls "$R/var/cache/apt/archives")"
                not_installed "$p"
        done
        # the lists are the root's own files, not links into the mirror
        local lists
        lists=$(find "$R/var/lib/apt/lists" -name '*ctk-mirror*Packages*')
        if [ -z "$lists" ] || [ ! -f "$lists" ] || [ -L "$lists" ]; then
                fail "the ctk-mirror list is not a copy: $lists"
        fi
        # the network goes away: the toolkit's repository, needed after the reboot, is unreachable
        mv "$T/ctk-mirror" "$T/ctk-mirror.gone"
        boot_root
        expect_rc 0 ga resume --reboot=exit
        eq "$(sj .run_state)" "done" "run_state after the offline resume"
        shipped_installed
        frontends_untouched
}

# A power cut after libapt renamed its downloaded lists into place but before they reached the
# disk leaves them empty (seen in the e2e VM's hard-reset scenario): libapt then cannot build its
# cache ("Splitting of clearsigned file ... failed"). The next resume must not fail that way forever:
# it discards the broken lists, fetches them again and finishes.
t_power_cut_empty_lists() {
        gpu_root
        shipped_vars
        expect_rc 3 ga run "$PLANS/debian-12.yaml" --reboot=exit "${SV[@]}"
        local f n=0
        for f in "$R"/var/lib/apt/lists/*; do
                { [ "${f##*/}" != lock ] && [ ! -d "$f" ]; } || continue
                rm -f "$f"
                : >"$f"
                n=$((n + 1))
        done
        [ "$n" -gt 0 ] || fail "no package lists to break"
        boot_root
        expect_rc 0 ga resume --reboot=exit
        said "the package lists did not parse"
        eq "$(sj .run_state)" "done" "run_state after the resume over empty lists"
        shipped_installed
        local empty
        empty=$(find "$R/var/lib/apt/lists" -maxdepth 1 -name '*InRelease' -empty)
        eq "$empty" "" "empty InRelease files left after the resume"
}

# ---------------------------------------------------------------- nouveau, Secure Boot

# nouveau_loaded: the root's kernel has nouveau loaded (as /sys/module shows a loaded module).
nouveau_loaded() {
        mkdir -p "$R/sys/module/nouveau"
        printf 'live\n' >"$R/sys/module/nouveau/initstate"
}

# initramfs_image: the root's /boot has the running kernel's initramfs, built in 2025.
initramfs_image() {
        mkdir -p "$R/boot"
        printf 'initramfs\n' >"$R/boot/initrd.img-$FIXTURE_KREL"
        touch -d "$FIXTURE_OLD_TIME" "$R/boot/initrd.img-$FIXTURE_KREL"
}

# secureboot_on: an EFI machine with Secure Boot enabled (attributes, then the value 1).
secureboot_on() {
        mkdir -p "$R/sys/firmware/efi/efivars"
        printf '\006\000\000\000\001' >"$R/sys/firmware/efi/efivars/SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c"
}

# dkms_key [enrolled]: a DKMS signing certificate (DER) at /var/lib/dkms/mok.pub; with "enrolled",
# also in shim's MOK list as the kernel shows it (an EFI_SIGNATURE_LIST holding the certificate).
dkms_key() {
        mkdir -p "$R/var/lib/dkms"
        openssl req -new -x509 -newkey rsa:2048 -nodes -keyout "$T/mok.key" -outform DER -out "$R/var/lib/dkms/mok.pub" \
                -days 3650 -subj "/CN=gpubase fixture DKMS signing key/" 2>/dev/null
        if [ "${1:-}" = enrolled ]; then
                mkdir -p "$R/sys/firmware/efi/efivars"
                { printf '\007\000\000\000'; head -c 44 /dev/zero; cat "$R/var/lib/dkms/mok.pub"; } \
                        >"$R/sys/firmware/efi/efivars/MokListRT-605dab50-e046-4300-abb6-3dd810dd8b23"
        fi
}

# A shipped plan, unmodified (only its repositories and their keys overridden), on a host with nouveau
# loaded: the preflight reports it as the plan's to fix, the blacklist step writes the modprobe.d
# file and rebuilds the initramfs (a recorded host action under --root), and the one reboot clears
# it; the run ends done, and a rerun changes nothing.
t_plan_nouveau_loaded() {
        gpu_root
        initramfs_image
        nouveau_loaded
        local conf=$R/etc/modprobe.d/blacklist-nouveau.conf
        shipped_vars
        expect_rc 3 ga run "$PLANS/debian-12.yaml" --reboot=exit "${SV[@]}"
        said "nouveau is loaded; this plan clears it: step 'nouveau-blacklist' blacklists it and rebuilds the initramfs, and step 'driver-reboot' reboots without it"
        eq "$(states)" "preflight=done nouveau-blacklist=done upgrade-blacklist=done cuda-keyring=done ctk-repo=done driver=done fabric-manager=skipped driver-reboot=reboot-requested persistence=pending fabric-manager-start=pending ctk=pending runtime=pending docker-restart=pending smoke=pending" "step states at the reboot"
        file_is "$conf" $'blacklist nouveau\noptions nouveau modeset=0'
        eq "$(grep -c '^update-initramfs -u -k all$' "$R/$ACTIONS_REL")" 1 "initramfs rebuilds in host-actions.log"
        [ "$R/boot/initrd.img-$FIXTURE_KREL" -nt "$conf" ] || [ "$(stat -c %Y "$R/boot/initrd.img-$FIXTURE_KREL")" -ge "$(stat -c %Y "$conf")" ] ||
                fail "the initramfs is older than the blacklist"
        # the reboot: the driver loads, nouveau does not
        boot_root
        rm -rf "$R/sys/module/nouveau"
        expect_rc 0 ga resume --reboot=exit
        eq "$(sj .run_state)" "done" "run_state after the reboot"
        shipped_installed
        rerun_converged "$PLANS/debian-12.yaml"
        eq "$(grep -c '^update-initramfs' "$R/$ACTIONS_REL")" 1 "initramfs rebuilds after the rerun"
        # drift: an initramfs rebuilt from an older state (the blacklist newer than it) is rebuilt again
        touch -d "$FIXTURE_OLD_TIME" "$R/boot/initrd.img-$FIXTURE_KREL"
        expect_rc 0 ga run "$PLANS/debian-12.yaml" --reboot=exit "${SV[@]}"
        eq "$(step_state nouveau-blacklist)" "done" "nouveau-blacklist with a stale initramfs"
        eq "$(grep -c '^update-initramfs' "$R/$ACTIONS_REL")" 2 "initramfs rebuilds after the drift"
        # a converged host that came up with nouveau loaded beside the current driver: nothing to
        # install, but the reboot step still reboots (driver-stale covers a loaded nouveau)
        nouveau_loaded
        expect_rc 3 ga run "$PLANS/debian-12.yaml" --reboot=exit "${SV[@]}"
        said "nouveau is loaded: a boot with it blacklisted hands the GPU to the nvidia driver"
        eq "$(step_state driver)" skipped "driver (current) with nouveau loaded"
        eq "$(step_state driver-reboot)" reboot-requested "driver-reboot with nouveau loaded beside the current driver"
        boot_root
        rm -rf "$R/sys/module/nouveau"
        expect_rc 0 ga resume --reboot=exit
        eq "$(sj .run_state)" "done" "run_state after the second reboot"
        frontends_untouched
}

# The reboot did not clear nouveau: the reboot step's checks fail (no second reboot), and nothing
# after it runs.
t_plan_nouveau_after_reboot() {
        gpu_root
        initramfs_image
        nouveau_loaded
        shipped_vars
        expect_rc 3 ga run "$PLANS/debian-12.yaml" --reboot=exit "${SV[@]}"
        boot_root # nouveau is still there
        expect_rc 1 ga resume --reboot=exit
        said "check nouveau failed: nouveau is still loaded after the reboot of step 'driver-reboot', although step 'nouveau-blacklist' blacklisted it"
        said "lsinitramfs"
        eq "$(step_state driver-reboot)" failed "driver-reboot"
        eq "$(step_state ctk)" pending "ctk (after the failed step)"
        eq "$(sj .reboots)" 1 "reboots"
        not_installed nvidia-container-toolkit
        # without a plan that blacklists it, a loaded nouveau fails the preflight as before
        expect_rc 0 gb reset
        plan=$(printf '%s\n' 'version: 1' 'name: gate' 'steps:' '  - {id: preflight, kind: gate, checks: [nouveau]}' | plan_file gate)
        expect_rc 1 ga run "$plan"
        said "the nouveau module is loaded and holds the GPU"
}

# Secure Boot on and a plan with no signing route: refused before anything changes (exit 65), naming
# both routes; `plan check` says the same.
t_secureboot_refused_at_plan_time() {
        gpu_root
        secureboot_on
        shipped_vars
        snapshot "$R" >"$T/before"
        expect_rc 65 ga run "$PLANS/debian-12.yaml" --reboot=exit "${SV[@]}"
        said "Secure Boot is on and the plan installs a kernel module that DKMS builds, with no signing route"
        said "mokutil --import /var/lib/dkms/mok.pub"
        said "--var signing_route=dkms-mok"
        said "linux-modules-nvidia-<branch>-server-open"
        snapshot "$R" >"$T/after"
        cmp -s "$T/before" "$T/after" || { diff "$T/before" "$T/after" >&2; fail "the refused run changed the root"; }
        expect_rc 65 ga plan check "$PLANS/debian-12.yaml" "${SV[@]}"
        said "with no signing route"
        # the dkms-mok route, but no key yet / a key that is not enrolled
        expect_rc 65 ga plan check "$PLANS/debian-12.yaml" "${SV[@]}" --var signing_route=dkms-mok
        said "there is no DKMS signing key yet"
        dkms_key
        expect_rc 65 ga run "$PLANS/debian-12.yaml" --reboot=exit "${SV[@]}" --var signing_route=dkms-mok
        said "the DKMS key /var/lib/dkms/mok.pub is not enrolled"
        absent "$R/$STATE_REL"
        no_packages
}

# The accepted signing routes: an enrolled DKMS key runs the shipped plan through to the reboot; a
# plan that installs Ubuntu's signed modules passes the plan-time check as it is.
t_secureboot_signing_routes() {
        gpu_root
        secureboot_on
        dkms_key enrolled
        shipped_vars
        expect_rc 0 ga plan check "$PLANS/debian-12.yaml" "${SV[@]}" --var signing_route=dkms-mok
        expect_rc 3 ga run "$PLANS/debian-12.yaml" --reboot=exit "${SV[@]}" --var signing_route=dkms-mok -v
        said "the DKMS signing key /var/lib/dkms/mok.pub is enrolled"
        eq "$(step_state driver-reboot)" reboot-requested "driver-reboot"
        # signed-modules: recognised from the packages
        set_os ubuntu 24.04
        local plan
        plan=$(printf '%s\n' 'version: 1' 'name: signed' 'steps:' '  - id: preflight' '    kind: gate' '    checks: [secureboot]' \
                '  - id: driver' '    kind: apt-install' \
                '    packages: [nvidia-driver-595-server-open, linux-modules-nvidia-595-server-open-generic]' | plan_file signed)
        expect_rc 0 ga plan check "$plan"
        # declared, but the packages are not there
        sed -i 's/checks: \[secureboot\]/checks: [{secureboot: signed-modules}]/; s/, linux-modules-nvidia-595-server-open-generic//' "$plan"
        expect_rc 65 ga plan check "$plan"
        said "declares the signing route signed-modules but installs no linux-modules-nvidia-* package"
        # a route that does not exist
        sed -i 's/signed-modules}/mok}/' "$plan"
        expect_rc 65 ga plan check "$plan"
        said "secureboot's parameter is the plan's signing route: none, dkms-mok or signed-modules"
}

# `plan check` of every shipped plan on the host it is for (an H100 host, Secure Boot off).
t_plan_check_shipped() {
        gpu_root
        local spec f os ver
        for spec in ubuntu-22.04:ubuntu:22.04 ubuntu-24.04:ubuntu:24.04 debian-12:debian:12 debian-12-distro:debian:12 \
                debian-12-containerd:debian:12 debian-13:debian:13; do
                IFS=: read -r f os ver <<<"$spec"
                set_os "$os" "$ver"
                expect_rc 0 ga plan check "$PLANS/$f.yaml"
                out_has "is valid"
        done
        expect_rc 0 ga plan show "$PLANS/debian-13.yaml"
        out_has "distro       debian13"
        out_has "cuda_repo    https://developer.download.nvidia.com/compute/cuda/repos/debian13/x86_64"
        out_has "0218 2E60 104F CDC2 6EAE 1B85 97A5 D4CB 8793 F200"
        # every shipped plan is accounted for here
        local shipped=("$PLANS"/*.yaml)
        eq "$(printf '%s\n' "${shipped[@]}" | grep -vc '/demo\.yaml$')" 6 "shipped plans"
}

# ---------------------------------------------------------------- apt front ends

t_apt_frontends_never_executed() {
        [ "$(PATH="$FAKEBIN:$PATH" command -v apt-get)" = "$FAKEBIN/apt-get" ] || fail "the fake apt-get is not first in PATH"
        PATH="$FAKEBIN:$PATH" command -v dpkg >/dev/null || fail "dpkg is not reachable"
        # the fakes work: they leave a mark (in a private copy, so the shared marker stays clean)
        sed "s|$APT_MARKER|$T/mark|" "$FAKEBIN/apt-get" >"$T/apt-get"
        sh "$T/apt-get" install x || true
        contains "$T/mark" "apt-get install x"
        gpu_root
        set_os ubuntu 24.04
        converge "$PLANS/ubuntu-24.04.yaml"
        frontends_untouched
}

# ---------------------------------------------------------------- refusals

keyring_plan() { # DEB-URL SHA256
        plan_file keyring <<EOF
version: 1
name: keyring
steps:
  - id: cuda-keyring
    kind: apt-keyring-deb
    url: $1
    sha256: $2
    fingerprint: $KEY_FPR
EOF
}

t_refuse_keyring_checksum() {
        local plan
        plan=$(keyring_plan "file://$CUDA_KEYRING_DEB" "$CUDA_KEYRING_EVIL_SHA256")
        expect_rc 1 ga run "$plan"
        said "refusing cuda-keyring_1.1-1_all.deb: its sha256 is $CUDA_KEYRING_SHA256, the plan pins $CUDA_KEYRING_EVIL_SHA256"
        eq "$(step_state cuda-keyring)" failed "cuda-keyring step"
        no_packages
        no_repo_files
        # the shipped plans pin no sum: a swapped package is refused by its repository's signed index
        expect_rc 0 gb reset
        gpu_root
        shipped_vars
        expect_rc 1 ga run "$PLANS/debian-12.yaml" --reboot=exit "${SV[@]:2}" --var "cuda_keyring_url=file://$NV_SWAPPED_DEB"
        said "its sha256 is $NV_SWAPPED_SHA256, but the repository it names ($NV_REPO_URL/), signed by key $KEY_FPR, lists $NV_KEYRING_SHA256 for cuda-keyring 1.1-1"
        no_packages
        no_repo_files
}

t_refuse_keyring_wrong_key() {
        # the right name, the pinned file's sum, but another key inside
        mkdir -p "$T/wk"
        cp "$CUDA_KEYRING_WRONGKEY_DEB" "$T/wk/cuda-keyring_1.1-1_all.deb"
        local plan
        plan=$(keyring_plan "file://$T/wk/cuda-keyring_1.1-1_all.deb" "$CUDA_KEYRING_WRONGKEY_SHA256")
        expect_rc 1 ga run "$plan"
        said "refusing cuda-keyring_1.1-1_all.deb: its keyring holds $WRONG_FPR, the plan pins $KEY_FPR"
        no_packages
        no_repo_files
}

t_refuse_keyring_outside_dirs() {
        mkdir -p "$T/ev"
        cp "$CUDA_KEYRING_EVIL_DEB" "$T/ev/cuda-keyring_1.1-1_all.deb"
        local plan
        plan=$(keyring_plan "file://$T/ev/cuda-keyring_1.1-1_all.deb" "$CUDA_KEYRING_EVIL_SHA256")
        expect_rc 1 ga run "$plan"
        said "refusing cuda-keyring_1.1-1_all.deb: it would write /etc/cron.d/evil"
        no_packages
        no_repo_files
        absent "$R/etc/cron.d/evil"
}

# the allowed directories include preferences.d and /usr/share/doc (NVIDIA's 2022 layout)
t_keyring_full_layout_allowed() {
        mkdir -p "$T/full"
        cp "$CUDA_KEYRING_FULL_DEB" "$T/full/cuda-keyring_1.1-1_all.deb"
        local plan
        plan=$(keyring_plan "file://$T/full/cuda-keyring_1.1-1_all.deb" "$CUDA_KEYRING_FULL_SHA256")
        expect_rc 0 ga run "$plan"
        installed cuda-keyring 1.1-1
        [ -f "$R/etc/apt/preferences.d/cuda-repository-pin-600" ] || fail "the keyring's preferences file is missing"
        [ -f "$R/usr/share/doc/cuda-keyring/changelog.Debian.gz" ] || fail "the keyring's changelog is missing"
        cp "$R/var/lib/dpkg/status" "$T/status.before"
        expect_rc 0 ga run "$plan"
        eq "$(step_state cuda-keyring)" skipped "cuda-keyring on the rerun"
        cmp -s "$T/status.before" "$R/var/lib/dpkg/status" || fail "the rerun changed dpkg's status"
}

# The keyring package is installed without reading the root's package lists (a real host's hold
# 60,000 packages): libapt sees dpkg's status and the package alone. One that depends on a package
# that is not installed is installed again with the lists, and its dependency with it.
t_keyring_reads_lists_only_when_needed() {
        gpu_root
        # the toolkit's repository and its lists, fetched by an install
        ctk_steps 1.19.0-1 >"$T/ctk-steps"
        expect_rc 0 ga run "$(source_plan "file://$CTK_KEY_ASC" "$CTK_KEY_FPR" "$REPO_CTK_URI" "$T/ctk-steps")"
        compgen -G "$R/var/lib/apt/lists/*_Packages*" >/dev/null || fail "the install fetched no package lists"
        dpkg_r -P nvidia-container-toolkit nvidia-container-toolkit-base libnvidia-container-tools >"$T/dpkg.out" 2>&1 ||
                { cat "$T/dpkg.out" >&2; fail "dpkg -P of the toolkit failed"; }
        expect_rc 0 gb reset
        expect_rc 0 env "$NO_LSAN" strace -f -qq -o "$T/trace" -e trace=openat \
                "$GPUBASE" --root "$R" run "$(keyring_plan "file://$CUDA_KEYRING_DEB" "$CUDA_KEYRING_SHA256")"
        installed cuda-keyring 1.1-1
        if grep -E '_Packages[^"]*", .* = [0-9]+$' "$T/trace" >"$T/lists"; then
                fail "the keyring step read the package lists: $(head -3 "$T/lists")"
        fi
        absent "$R/var/log/apt/eipp.log.xz" # apt's planner log is not written
        contains "$R/var/log/apt/history.log" "Install: cuda-keyring:amd64 (1.1-1)"
        # its probe on the rerun checks the files against dpkg's md5sums without loading libcrypto
        expect_rc 0 env "$NO_LSAN" strace -f -qq -o "$T/trace" -e trace=openat \
                "$GPUBASE" --root "$R" run "$(keyring_plan "file://$CUDA_KEYRING_DEB" "$CUDA_KEYRING_SHA256")"
        eq "$(step_state cuda-keyring)" skipped "the keyring step on the rerun"
        not_contains "$T/trace" "libcrypto" "the files the rerun opened"
        dpkg_r -P cuda-keyring >"$T/dpkg.out" 2>&1 || { cat "$T/dpkg.out" >&2; fail "dpkg -P cuda-keyring failed"; }
        expect_rc 0 gb reset
        mkdir -p "$T/dep"
        cp "$CUDA_KEYRING_DEPENDS_DEB" "$T/dep/cuda-keyring_1.1-1_all.deb"
        expect_rc 0 ga run "$(keyring_plan "file://$T/dep/cuda-keyring_1.1-1_all.deb" "$CUDA_KEYRING_DEPENDS_SHA256")"
        installed cuda-keyring 1.1-1
        installed libnvidia-container-tools 1.19.0-1
}

# ---------------------------------------------------------------- the keyring's chain of trust
# No sha256 in the plan: the key in the package has the pinned fingerprint, that key signs the
# InRelease of the repository the package's source list names, and the Packages index listed there
# gives the package's sha256. The fixture repositories are laid out like NVIDIA's and served over
# loopback HTTP.

chain_plan() { # DEB-URL FINGERPRINT
        plan_file chain <<EOF
version: 1
name: chain
steps:
  - id: cuda-keyring
    kind: apt-keyring-deb
    url: $1
    fingerprint: $2
EOF
}

# root_snapshot / root_untouched: nothing under the root changed but gpubase's own state and lock.
root_filter() {
        grep -vE '^\.(|/var|/var/lib|/var/lib/gpubase|/var/lib/gpubase/.*|/run|/run/gpubase\.lock|/run/gpubase|/run/gpubase/status\.json) ' || true
}
root_snapshot() {
        snapshot "$R" | root_filter >"$T/root.before"
}
root_untouched() {
        snapshot "$R" | root_filter >"$T/root.after"
        diff "$T/root.before" "$T/root.after" >&2 || fail "files were written under the root"
}

t_keyring_chain_installs() {
        local plan
        plan=$(chain_plan "$NV_REPO_URL/cuda-keyring_1.1-1_all.deb" "$KEY_FPR")
        expect_rc 0 ga plan check "$plan"
        expect_rc 0 ga run "$plan"
        said "installed cuda-keyring 1.1-1 (key fingerprint checked; its sha256 is the one"
        said "in an index signed by key $KEY_FPR"
        installed cuda-keyring 1.1-1
        contains "$R/etc/apt/sources.list.d/cuda-debian12-x86_64.list" "$NV_REPO_URL/ /"
        # the repository's lists were fetched apart: the root's lists are not
        [ -z "$(find "$R/var/lib/apt/lists" -name '*InRelease' 2>/dev/null)" ] || fail "the check left lists in the root"
        cp "$R/var/lib/dpkg/status" "$T/status.before"
        expect_rc 0 ga run "$plan"
        eq "$(step_state cuda-keyring)" skipped "cuda-keyring on the rerun"
        cmp -s "$T/status.before" "$R/var/lib/dpkg/status" || fail "the rerun changed dpkg's status"
        frontends_untouched
}

# aarch64 hosts take NVIDIA's sbsa repository; its keyring package names that one
t_keyring_chain_sbsa() {
        local plan
        plan=$(chain_plan "$NV_SBSA_REPO_URL/cuda-keyring_1.1-1_all.deb" "$KEY_FPR")
        expect_rc 0 ga run "$plan"
        installed cuda-keyring 1.1-1
        contains "$R/etc/apt/sources.list.d/cuda-debian12-sbsa.list" "$NV_SBSA_REPO_URL/ /"
}

t_keyring_chain_refuse_swapped() {
        local plan
        plan=$(chain_plan "$FIXTURE_NVIDIA_URL/swapped/cuda-keyring_1.1-1_all.deb" "$KEY_FPR")
        root_snapshot
        expect_rc 1 ga run "$plan"
        said "refusing cuda-keyring_1.1-1_all.deb: its sha256 is $NV_SWAPPED_SHA256, but the repository it names ($NV_REPO_URL/), signed by key $KEY_FPR, lists $NV_KEYRING_SHA256 for cuda-keyring 1.1-1"
        eq "$(step_state cuda-keyring)" failed "cuda-keyring step"
        root_untouched
        no_packages
        no_repo_files
}

t_keyring_chain_refuse_other_signer() {
        local plan
        plan=$(chain_plan "$NV_RESIGNED_REPO_URL/cuda-keyring_1.1-1_all.deb" "$KEY_FPR")
        root_snapshot
        expect_rc 1 ga run "$plan"
        said "refusing cuda-keyring_1.1-1_all.deb: the repository it names ($NV_RESIGNED_REPO_URL/) is not signed by key $KEY_FPR"
        said "NO_PUBKEY ${WRONG_FPR:24}"
        eq "$(step_state cuda-keyring)" failed "cuda-keyring step"
        root_untouched
        no_packages
        no_repo_files
}

t_keyring_chain_refuse_wrong_fingerprint() {
        local plan
        plan=$(chain_plan "$NV_REPO_URL/cuda-keyring_1.1-1_all.deb" "$WRONG_FPR")
        root_snapshot
        expect_rc 1 ga run "$plan"
        said "refusing cuda-keyring_1.1-1_all.deb: its keyring holds $KEY_FPR, the plan pins $WRONG_FPR"
        eq "$(step_state cuda-keyring)" failed "cuda-keyring step"
        root_untouched
        no_packages
        no_repo_files
}

# a keyring package that names no repository: nothing can vouch for it but a pinned sha256
t_keyring_chain_refuse_no_source() {
        local plan
        dpkg-deb -R "$FIXTURE_REPO_DIR/nvidia/repos/debian12/x86_64/cuda-keyring_1.1-1_all.deb" "$T/x"
        rm -f "$T/x/etc/apt/sources.list.d/"* "$T/x/DEBIAN/conffiles"
        mkdir -p "$T/nosrc"
        dpkg-deb --root-owner-group -b "$T/x" "$T/nosrc/cuda-keyring_1.1-1_all.deb" >/dev/null
        plan=$(chain_plan "file://$T/nosrc/cuda-keyring_1.1-1_all.deb" "$KEY_FPR")
        root_snapshot
        expect_rc 1 ga run "$plan"
        said "refusing cuda-keyring_1.1-1_all.deb: it names no apt repository (no .list or .sources file), so none can vouch for it; pin its sha256 in the plan instead"
        root_untouched
        no_packages
        no_repo_files
}

# neither sha256 nor fingerprint: nothing to trust the package by
t_keyring_chain_needs_a_pin() {
        plan_file nopin >/dev/null <<EOF
version: 1
name: nopin
steps:
  - id: cuda-keyring
    kind: apt-keyring-deb
    url: $NV_REPO_URL/cuda-keyring_1.1-1_all.deb
EOF
        expect_rc 65 ga plan check "$T/nopin.yaml"
        said "needs sha256 or fingerprint"
}

# A shipped plan as it ships, only its repository URLs (and the fixture's keys) overridden: the
# keyring from the NVIDIA-like repository over HTTP, trusted through the chain, then the driver.
t_plan_debian12_nvidia_layout() {
        gpu_root
        expect_rc 3 ga run "$PLANS/debian-12.yaml" --reboot=exit --var "cuda_repo=$NV_REPO_URL" \
                --var "cuda_key_fpr=$KEY_FPR" --var "ctk_repo=$REPO_CTK_URI" --var "ctk_key_url=file://$CTK_KEY_ASC" \
                --var "ctk_key_fpr=$CTK_KEY_FPR" --var "driver_origin=$NV_REPO_URL/"
        eq "$(states)" "preflight=done nouveau-blacklist=done upgrade-blacklist=done cuda-keyring=done ctk-repo=done driver=done fabric-manager=skipped driver-reboot=reboot-requested persistence=pending fabric-manager-start=pending ctk=pending runtime=pending docker-restart=pending smoke=pending" "step states at the reboot"
        installed cuda-keyring 1.1-1
        installed nvidia-open 595.45.01-1 hold
        contains "$R/etc/apt/sources.list.d/cuda-debian12-x86_64.list" "$NV_REPO_URL/ /"
}

source_plan() { # KEY-URL FINGERPRINT URI [EXTRA-STEPS-FILE]
        {
                cat <<EOF
version: 1
name: source
steps:
  - id: ctk-repo
    kind: apt-source
    key_url: $1
    fingerprint: $2
    uri: $3
EOF
                [ -z "${4:-}" ] || cat "$4"
        } | plan_file source
}

t_refuse_source_wrong_fingerprint() {
        local plan
        plan=$(source_plan "file://$CTK_KEY_ASC" "$WRONG_FPR" "$REPO_CTK_URI")
        expect_rc 1 ga run "$plan"
        said "refusing the key from file://$CTK_KEY_ASC: its fingerprint is $CTK_KEY_FPR, the plan pins $WRONG_FPR; nothing was written"
        said "Do not paste the fingerprint found here into the plan without checking it"
        no_packages
        no_repo_files
        # a binary key that is not the pinned one
        plan=$(source_plan "file://$WRONG_KEY_FILE" "$CTK_KEY_FPR" "$REPO_CTK_URI")
        expect_rc 0 gb reset
        expect_rc 1 ga run "$plan"
        said "its fingerprint is $WRONG_FPR, the plan pins $CTK_KEY_FPR"
        no_packages
        no_repo_files
}

ctk_steps() { # CTK-VERSION-OR-GLOB [EXTRA-KEY-LINES...]
        local v=$1 l
        shift
        printf '  - id: ctk\n    kind: apt-install\n    packages: ["nvidia-container-toolkit=%s", "nvidia-container-toolkit-base=%s", "libnvidia-container-tools=%s", "libnvidia-container1=%s"]\n    hold: true\n' \
                "$v" "$v" "$v" "$v"
        for l in "$@"; do printf '    %s\n' "$l"; done
}

# ctk_plan URI CTK-VERSION [EXTRA-KEY-LINES...]: apt-source + apt-install of the four CTK packages.
ctk_plan() {
        local uri=$1
        shift
        ctk_steps "$@" >"$T/ctk-steps"
        source_plan "file://$CTK_KEY_ASC" "$CTK_KEY_FPR" "$uri" "$T/ctk-steps"
}

t_refuse_unsigned_repository() {
        local plan
        plan=$(ctk_plan "$REPO_UNSIGNED_URI" 1.19.0-1)
        expect_rc 1 ga run "$plan"
        eq "$(step_state ctk)" failed "ctk step"
        said "$FIXTURE_REPO_DIR/unsigned"
        said "is not signed"
        no_packages
        frontends_untouched
}

CTK_PKGS=(nvidia-container-toolkit nvidia-container-toolkit-base libnvidia-container-tools libnvidia-container1)

# ctk_by_hand VERSION: the four CTK packages of VERSION installed with dpkg and held, as an admin would.
ctk_by_hand() {
        local p debs=()
        for p in "${CTK_PKGS[@]}"; do debs+=("$FIXTURE_REPO_DIR/ctk/${p}_$1_amd64.deb"); done
        dpkg_r -i "${debs[@]}" >"$T/dpkg.out" 2>&1 || { cat "$T/dpkg.out" >&2; fail "dpkg -i failed"; }
        for p in "${CTK_PKGS[@]}"; do echo "$p hold"; done | dpkg_r --set-selections
        for p in "${CTK_PKGS[@]}"; do installed "$p" "$1" hold; done
}

t_refuse_moving_held_package() {
        ctk_by_hand 1.18.0-1
        cp "$R/var/lib/dpkg/status" "$T/status.before"
        local plan
        plan=$(ctk_plan "$REPO_CTK_URI" 1.19.0-1)
        expect_rc 1 ga run "$plan"
        said "is held at 1.18.0-1 and the plan would move it to 1.19.0-1; refusing"
        said "unhold: true"
        eq "$(step_state ctk)" failed "ctk step"
        cmp -s "$T/status.before" "$R/var/lib/dpkg/status" || fail "the refused step changed dpkg's status"
        # unhold: true moves the pin: unhold, install, hold
        plan=$(ctk_plan "$REPO_CTK_URI" 1.19.0-1 "unhold: true")
        expect_rc 0 gb reset
        expect_rc 0 ga run "$plan"
        local p
        for p in "${CTK_PKGS[@]}"; do installed "$p" 1.19.0-1 hold; done
        cp "$R/var/lib/dpkg/status" "$T/status.before"
        expect_rc 0 ga run "$plan"
        eq "$(step_state ctk)" skipped "ctk on the rerun"
        cmp -s "$T/status.before" "$R/var/lib/dpkg/status" || fail "the converged rerun changed dpkg's status"
}

# the plan's ctk variable may name an older release than the repository's newest: each package
# depends on its siblings at "= the same version", so all four must be resolved at that version.
t_ctk_older_release() {
        local plan
        plan=$(ctk_plan "$REPO_CTK_URI" 1.18.0-1)
        expect_rc 0 ga run "$plan"
        local p
        for p in "${CTK_PKGS[@]}"; do installed "$p" 1.18.0-1 hold; done
}

t_refuse_glob_matching_nothing() {
        local plan
        plan=$(ctk_plan "$REPO_CTK_URI" "1.17.*")
        expect_rc 1 ga run "$plan"
        said "no version of nvidia-container-toolkit matches 1.17.*"
        said "1.19.0-1"
        said "1.18.0-1"
        eq "$(step_state ctk)" failed "ctk step"
        no_packages
        # a glob that matches installs the highest match
        plan=$(ctk_plan "$REPO_CTK_URI" "1.*")
        expect_rc 0 gb reset
        expect_rc 0 ga run "$plan"
        local p
        for p in "${CTK_PKGS[@]}"; do installed "$p" 1.19.0-1 hold; done
}

# ---------------------------------------------------------------- the dpkg lock

t_dpkg_lock_timeout() {
        local plan pid
        plan=$(ctk_plan "$REPO_CTK_URI" 1.19.0-1 "lock_timeout: 1")
        mkdir -p "$R/var/lib/dpkg"
        # apt's locks are fcntl (POSIX) locks, not flock: hold lock-frontend the way another apt
        # would (struct flock as on LP64 Linux: type, whence, start, len, pid)
        perl -MFcntl -e 'open(my $f, ">", $ARGV[0]) or die "$ARGV[0]: $!";
                my $l = pack("s s x4 q q i x4", F_WRLCK, 0, 0, 0, 0); fcntl($f, F_SETLKW, $l) or die "fcntl: $!";
                open(my $r, ">", $ARGV[1]) or die; print $r $$; close $r; sleep 8' \
                "$R/var/lib/dpkg/lock-frontend" "$T/locked" &
        BG_PIDS+=($!)
        for _ in $(seq 1 100); do [ -s "$T/locked" ] && break; sleep 0.05; done
        [ -s "$T/locked" ] || fail "the lock holder did not start"
        pid=$(cat "$T/locked")
        grep -qE "POSIX +ADVISORY +WRITE +$pid " /proc/locks || fail "process $pid holds no fcntl write lock"
        local t0 t1 waiter rc=0
        t0=$(now_ms)
        expect_rc 75 ga run --json "$plan"
        t1=$(now_ms)
        said "the dpkg lock is still held after 1s"
        cp "$T/all" "$T/lock-message"
        cp "$T/out" "$T/events"
        [ $((t1 - t0)) -ge 900 ] || fail "gave up after $((t1 - t0)) ms, not after the 1 s lock_timeout"
        [ $((t1 - t0)) -lt 6000 ] || fail "waited $((t1 - t0)) ms for a 1 s lock_timeout"
        no_packages
        # busy, not failed (before: the step and the run were recorded failed, so `gpubase wait`
        # gave up while gpubase.service was about to retry): the step is pending again, with why
        eq "$(step_state ctk)" pending "ctk step after the busy exit"
        eq "$(sj .run_state)" busy "run state after the busy exit"
        eq "$(sj '.steps[] | select(.id == "ctk") | .attempts')" 1 "ctk attempts"
        sj '.steps[] | select(.id == "ctk") | .error' | grep -q "the dpkg lock is still held after 1s" ||
                fail "the pending ctk step does not say why: $(sj '.steps[] | select(.id == "ctk")')"
        eq "$(jq -r 'select(.event == "step-busy") | "\(.step) \(.changed)"' "$T/events")" "ctk false" "run --json: step-busy"
        eq "$(jq -r 'select(.event == "step-failed") | .step' "$T/events")" "" "run --json: step-failed events"
        eq "$(jq -r 'select(.event == "run-finished") | "\(.run_state) \(.exit_code)"' "$T/events")" "busy 75" "run-finished"
        # the events and the busy status as the shipped JSON Schemas say (python3-jsonschema)
        sj . >"$T/status-busy.json"
        /usr/bin/python3 - "$SRC_DIR/packaging/schema" "$T/events" "$T/status-busy.json" <<'EOF' || fail "the busy run's JSON does not match the schemas"
import json, sys
import jsonschema
def check(name, docs):
    schema = json.load(open(f"{sys.argv[1]}/{name}.schema.json"))
    v = jsonschema.validators.validator_for(schema)(schema)
    errs = [e.message for d in docs for e in v.iter_errors(d)]
    for e in errs:
        print(f"  {name}: {e}", file=sys.stderr)
    return not errs
events = [json.loads(l) for l in open(sys.argv[2]).read().splitlines()]
ok = check("run-events", events) & check("status", [json.load(open(sys.argv[3]))])
sys.exit(0 if ok and events else 1)
EOF
        # nothing starts it again (no gpubase.service restart pending): status and wait say what to run
        expect_rc 75 ga status
        out_has "nothing starts it again"
        out_has "run \`gpubase resume\` once the lock is free"
        t0=$(now_ms)
        expect_rc 75 ga wait
        [ $(($(now_ms) - t0)) -lt 3000 ] || fail "wait took $(($(now_ms) - t0)) ms to give up on a busy run"
        err_has "nothing starts it again"
        # gpubase.service exited 75 and systemd will start it again (ActiveState activating, SubState
        # auto-restart; under --root, the actions log's "activating gpubase.service" says so): the
        # run is in progress for status and wait
        echo "activating gpubase.service" >>"$R/$ACTIONS_REL"
        eq "$(sj .advice)" null "status --json advice while gpubase.service restarts"
        expect_rc 1 ga wait --timeout 1
        err_has "timed out after 1s; the run is busy"
        ga wait >"$T/wait.out" 2>&1 &
        waiter=$!
        BG_PIDS+=("$waiter")
        sleep 0.5
        kill -0 "$waiter" 2>/dev/null || fail "wait returned while gpubase.service was to start again: $(cat "$T/wait.out")"
        kill "$pid" 2>/dev/null || true
        wait "${BG_PIDS[0]}" 2>/dev/null || true
        # the restarted unit's resume (the lock is free now) finishes the step and the run
        expect_rc 0 ga resume
        installed nvidia-container-toolkit 1.19.0-1 hold
        eq "$(sj '.steps[] | select(.id == "ctk") | "\(.state) \(.attempts) \(.error)"')" "done 2 null" "ctk after the retry"
        wait "$waiter" || rc=$?
        eq "$rc" 0 "exit of the wait that began while the run was busy ($(cat "$T/wait.out"))"
        contains "$T/wait.out" "done" "wait's output"
        # the message names who holds the lock
        contains "$T/lock-message" "held by process $pid" "the lock timeout message"
}

# ---------------------------------------------------------------- kernels and the driver step

# kernel_root [KVER...]: a GPU root that runs 6.1.0-9-amd64 (its headers installed) with
# 6.1.0-28-amd64 installed beside it (a kernel upgrade not booted yet; no headers), and KVER too:
# each one's image in /boot and its /lib/modules directory, as linux-image-<kver> leaves them.
kernel_root() {
        local k
        gpu_root
        printf '6.1.0-9-amd64\n' >"$R/proc/sys/kernel/osrelease"
        mkdir -p "$R/boot" "$R/var/lib/dpkg/info" "$R/var/lib/dpkg/updates" "$R/var/log"
        touch "$R/var/lib/dpkg/status"
        for k in 6.1.0-9-amd64 6.1.0-28-amd64 "$@"; do
                printf 'gpubase fixture: the image of %s\n' "$k" >"$R/boot/vmlinuz-$k"
                mkdir -p "$R/lib/modules/$k/kernel"
        done
        dpkg_r -i "$FIXTURE_REPO_DIR/debs/linux-headers-6.1.0-9-amd64_6.1.0-9-amd64_amd64.deb" >"$T/dpkg.out" 2>&1 ||
                { cat "$T/dpkg.out" >&2; fail "dpkg -i of the headers failed"; }
}

# kernel_plan [EXTRA-KEY-LINES...]: the driver from the CUDA fixture, the distribution's kernel
# packages from the kernel fixture repository, then the driver reboot.
kernel_plan() {
        local l
        {
                cat <<EOF
version: 1
name: kernel
steps:
  - id: cuda-repo
    kind: apt-source
    key_url: file://$KEY_ASC
    fingerprint: $KEY_FPR
    uri: $REPO_CUDA_URI
  - id: kernel-repo
    kind: apt-source
    key_url: file://$KEY_ASC
    fingerprint: $KEY_FPR
    uri: $REPO_KERNEL_URI
  - id: driver
    kind: apt-install
    packages: ["nvidia-driver-pinning-595", "nvidia-open"]
    hold: true
EOF
                for l in "$@"; do printf '    %s\n' "$l"; done
                cat <<EOF
  - id: driver-reboot
    kind: reboot
    when: driver-stale
    checks: [driver.loaded]
EOF
        } | plan_file kernel
}

# A driver whose DKMS build fails against an installed kernel (what Debian's genuine nvidia-open
# 535.261.03 did against Debian 12's 6.1.0-56 in make e2e-real): the driver step fails naming DKMS,
# the module, the kernel, the compiler's error and the build log, not dpkg's exit status alone.
t_driver_step_names_dkms_failure() {
        kernel_root
        touch "$R/usr/src/linux-headers-6.1.0-9-amd64/gpubase-fixture-incompatible"
        expect_rc 1 ga run "$(kernel_plan)" --reboot=exit
        eq "$(step_state driver)" failed "the driver step"
        said "DKMS could not build nvidia 595.45.01 for kernel 6.1.0-9-amd64: nvidia/nv-pci.c:223:9: error: too few arguments to function pci_resize_resource (the build log: /var/lib/dkms/nvidia/595.45.01/build/make.log): this driver release does not build against that kernel"
        said "(dpkg's output: $R/var/log/apt/term.log)"
        sj '.steps[] | select(.id == "driver") | .error' | grep -q "DKMS could not build nvidia 595.45.01 for kernel 6.1.0-9-amd64" ||
                fail "the step's recorded error does not name the DKMS failure"
}

# module_for KVER VERSION: the fixture's DKMS built nvidia VERSION for KVER (its .modinfo strings).
module_for() {
        local ko=$R/lib/modules/$1/updates/dkms/nvidia.ko
        [ -f "$ko" ] || fail "no module was built for $1"
        grep -qa "version=$2" "$ko" || fail "the module for $1 is not version $2"
        grep -qa "vermagic=$1 " "$ko" || fail "the module for $1 was not built for it"
}

# The next kernel's headers are missing: the driver step installs them (DKMS's header hook then
# builds the module for it) before it lets the plan go on to the reboot.
t_driver_step_installs_next_kernel_headers() {
        kernel_root
        local plan
        plan=$(kernel_plan)
        expect_rc 3 ga run "$plan" --reboot=exit
        eq "$(states)" "cuda-repo=done kernel-repo=done driver=done driver-reboot=reboot-requested" "step states"
        installed linux-headers-6.1.0-28-amd64 6.1.0-28-amd64
        installed linux-headers-6.1.0-9-amd64 6.1.0-9-amd64
        module_for 6.1.0-9-amd64 595.45.01
        module_for 6.1.0-28-amd64 595.45.01
        expect_rc 1 gb verify --json # the module is not loaded yet: the reboot is still to come
        jq -e '.checks[] | select(.name == "driver.next-kernel") | .status == "ok"' "$T/out" >/dev/null ||
                fail "driver.next-kernel is not ok: $(jq -c '.checks[] | select(.name == "driver.next-kernel")' "$T/out")"
        frontends_untouched
}

# A kernel whose headers no repository offers boots next: the driver step fails, naming it and the
# fix, and the plan never reaches the reboot; once the kernel is gone, a rerun goes on.
t_driver_step_refuses_next_kernel_without_module() {
        kernel_root 6.1.0-30-amd64
        local plan
        plan=$(kernel_plan)
        expect_rc 1 ga run "$plan" --reboot=exit
        eq "$(states)" "cuda-repo=done kernel-repo=done driver=failed driver-reboot=pending" "step states"
        said "kernel 6.1.0-30-amd64 boots next and has no nvidia module, and linux-headers-6.1.0-30-amd64, which DKMS needs to build it, cannot be installed"
        said "remove kernel 6.1.0-30-amd64"
        [ ! -f "$R/$ACTIONS_REL" ] || not_contains "$R/$ACTIONS_REL" "reboot"
        # the older kernels got their module on the way
        module_for 6.1.0-28-amd64 595.45.01
        expect_rc 1 gb verify
        out_has "kernel 6.1.0-30-amd64 boots next (the newest of 3 installed) and has no nvidia module, nor its headers"
        # headers there but the module not built (DKMS failed, say): the step still refuses
        mkdir -p "$R/lib/modules/6.1.0-30-amd64/build" && : >"$R/lib/modules/6.1.0-30-amd64/build/Makefile"
        expect_rc 1 ga run "$plan" --reboot=exit
        said "not going on to a reboot: kernel 6.1.0-30-amd64, which boots next (the newest installed), has no nvidia module"
        said "dkms autoinstall -k 6.1.0-30-amd64"
        eq "$(step_state driver-reboot)" pending "the reboot step"
        # the kernel removed: the rerun goes on to the reboot
        rm -rf "$R/boot/vmlinuz-6.1.0-30-amd64" "$R/lib/modules/6.1.0-30-amd64"
        expect_rc 3 ga run "$plan" --reboot=exit
        eq "$(step_state driver-reboot)" reboot-requested "the reboot step after the kernel went"
}

# drop_kernel_module KVER: kernel KVER without the nvidia module and its headers (DKMS's build of
# it and linux-headers-KVER removed), as a kernel upgrade that arrived after the driver leaves it.
drop_kernel_module() {
        dpkg_r -r "linux-headers-$1" >"$T/dpkg.out" 2>&1 || { cat "$T/dpkg.out" >&2; fail "dpkg -r of the headers failed"; }
        rm -rf "$R/lib/modules/$1/updates" "$R/lib/modules/$1/build"
}

# drop_lists [PATTERN]: the root's package lists removed as image mode's tidy-up removes what a run
# downloaded (every file of /var/lib/apt/lists but the lock, gpubase's stamp of the refresh kept);
# with PATTERN, only the files whose names contain it.
drop_lists() {
        local f n=0
        for f in "$R"/var/lib/apt/lists/*; do
                { [ "${f##*/}" != lock ] && [ ! -d "$f" ] && [[ ${f##*/} == *"${1:-}"* ]]; } || continue
                rm -f "$f"
                n=$((n + 1))
        done
        [ "$n" -gt 0 ] || fail "no package lists to remove (${1:-all})"
}

# An image build removes the lists it fetched; a rerun whose driver packages are installed has no
# other reason to refresh them. When the next kernel then lacks the module and its headers, the
# driver step refreshes the lists before the header package counts as missing, and installs it:
# with the lists gone entirely, with the lists there but without the kernel repository's, and with
# the indexes there but not their signed release files. With
# `update: never` it refreshes nothing and fails, saying so and how to fix it.
# rerun_repairs PLAN WHAT: after a reset, a rerun of PLAN installs the headers of the kernel whose
# module was dropped and builds the module again, with WHAT
rerun_repairs() {
        expect_rc 0 gb reset
        expect_rc 3 ga run "$1" --reboot=exit
        eq "$(step_state driver)" "done" "the driver step with $2"
        installed linux-headers-6.1.0-28-amd64 6.1.0-28-amd64
        module_for 6.1.0-28-amd64 595.45.01
}

t_driver_step_refreshes_lists_for_headers() {
        kernel_root
        local plan kernel_lists
        plan=$(kernel_plan)
        expect_rc 3 ga run "$plan" --reboot=exit
        module_for 6.1.0-28-amd64 595.45.01
        [ -f "$R/var/lib/gpubase/apt-lists.stamp" ] || fail "no stamp of the refresh after the first run"
        # the lists gone entirely (a golden image's first boot)
        drop_kernel_module 6.1.0-28-amd64
        drop_lists
        expect_rc 0 gb reset
        expect_rc 3 ga run "$plan" --reboot=exit
        eq "$(states)" "cuda-repo=skipped kernel-repo=skipped driver=done driver-reboot=reboot-requested" "step states"
        installed linux-headers-6.1.0-28-amd64 6.1.0-28-amd64
        module_for 6.1.0-28-amd64 595.45.01
        installed nvidia-open 595.45.01-1 hold
        # the lists there, but not the kernel repository's (its file names carry its path)
        kernel_lists=${REPO_KERNEL_URI#file://}
        kernel_lists=${kernel_lists//\//_}
        drop_kernel_module 6.1.0-28-amd64
        drop_lists "$kernel_lists"
        [ -n "$(find "$R/var/lib/apt/lists" -maxdepth 1 -name '*Packages')" ] || fail "no lists left"
        rerun_repairs "$plan" "the kernel repository's lists missing"
        # the indexes there without their signed release files: libapt reads them as untrusted and
        # would refuse the headers' archive ("refusing unauthenticated archives"): they count as
        # missing
        drop_kernel_module 6.1.0-28-amd64
        drop_lists InRelease
        [ -n "$(find "$R/var/lib/apt/lists" -maxdepth 1 -name '*Packages')" ] || fail "no indexes left"
        rerun_repairs "$plan" "the release files missing"
        [ -n "$(find "$R/var/lib/apt/lists" -maxdepth 1 -name '*InRelease')" ] ||
                fail "the release files were not fetched again"
        # update: never keeps its meaning: nothing refreshed, the failure says why and what to do
        plan=$(kernel_plan "update: never")
        drop_kernel_module 6.1.0-28-amd64
        drop_lists
        expect_rc 0 gb reset
        expect_rc 1 ga run "$plan" --reboot=exit
        eq "$(step_state driver)" failed "the driver step with update: never"
        said "linux-headers-6.1.0-28-amd64, which DKMS needs to build it, cannot be installed"
        said "the package lists are missing (update: never)"
        [ -z "$(find "$R/var/lib/apt/lists" -maxdepth 1 -name '*Packages')" ] || fail "update: never refreshed the lists"
        not_installed linux-headers-6.1.0-28-amd64
        frontends_untouched
}

# hold_kernel: true holds the kernel metapackages the host has (and only those).
t_driver_step_hold_kernel() {
        kernel_root
        dpkg_r -i "$FIXTURE_REPO_DIR/debs/linux-image-amd64_6.1.28-1_amd64.deb" \
                "$FIXTURE_REPO_DIR/debs/linux-headers-amd64_6.1.28-1_amd64.deb" >"$T/dpkg.out" 2>&1 ||
                { cat "$T/dpkg.out" >&2; fail "dpkg -i of the metapackages failed"; }
        local plan
        plan=$(kernel_plan "hold_kernel: true")
        expect_rc 0 ga plan show "$plan"
        said "kernel metapackages held"
        expect_rc 3 ga run "$plan" --reboot=exit
        dpkg_r --get-selections >"$T/selections"
        contains "$T/selections" "$(printf 'linux-image-amd64\t\t\t\thold')"
        contains "$T/selections" "$(printf 'linux-headers-amd64\t\t\t\thold')"
        contains "$T/selections" "$(printf 'linux-headers-6.1.0-28-amd64\t\t\tinstall')"
        # a hold lifted by hand: a new run's probe sees it and puts it back
        expect_rc 0 gb reset
        echo "linux-image-amd64 install" | dpkg_r --set-selections
        expect_rc 3 ga run "$plan" --reboot=exit
        eq "$(step_state driver)" "done" "the driver step with the hold lifted"
        installed linux-image-amd64 6.1.28-1 hold
        # without the key, nothing is held
        expect_rc 0 gb reset
        echo "linux-image-amd64 install" | dpkg_r --set-selections
        plan=$(kernel_plan)
        expect_rc 3 ga run "$plan" --reboot=exit
        installed linux-image-amd64 6.1.28-1
}

# ---------------------------------------------------------------- output on a terminal (a real pty)

# tty_run COLS RC ARGS...: gpubase --root $R ARGS on a pseudo-terminal COLS wide (pty-run.py), its
# exit code RC; what the terminal received is in $T/tty.
tty_run() {
        local cols=$1 want=$2 rc=0
        shift 2
        PATH="$FAKEBIN:$PATH" /usr/bin/python3 "$APT_IT_DIR/pty-run.py" "$cols" "$T/tty" "$GPUBASE" --root "$R" "$@" ||
                rc=$?
        [ "$rc" = "$want" ] || { cat -v "$T/tty" >&2; fail "exit code $rc on a terminal, expected $want: $*"; }
}

# tty_ok COLS: $T/tty holds to gpubase(1)'s OUTPUT (tty-check.py); the step lines as shown go to $T/steps.
tty_ok() {
        /usr/bin/python3 "$APT_IT_DIR/tty-check.py" "$1" "$T/tty" >"$T/steps" || { cat -v "$T/tty" >&2; fail "the terminal output above"; }
}

t_tty_output() {
        gpu_root
        shipped_vars
        # 72 columns: narrower than the shipped plan's step lines, which must be cut, not wrapped
        tty_run 72 3 run "$PLANS/debian-12.yaml" --reboot=exit "${SV[@]}"
        tty_ok 72
        eq "$(awk '{print $2 "=" $4}' "$T/steps" | tr '\n' ' ')" \
                "preflight=done nouveau-blacklist=done upgrade-blacklist=done cuda-keyring=done ctk-repo=done driver=done fabric-manager=skipped driver-reboot=reboot-requested " \
                "the step lines on the terminal"
        grep -q '…$' "$T/steps" || fail "no line was cut to the 72 columns: $(cat "$T/steps")"
        # apt's progress was shown (a bar, in place), dpkg's own lines went to apt's term.log
        grep -q 'installing  \[#' "$T/tty" || fail "no install bar on the terminal"
        contains "$R/var/log/apt/term.log" "Unpacking nvidia-open" "apt's term.log"
        contains "$R/var/log/apt/term.log" "Setting up nvidia-open" "apt's term.log"
        # the kind column fits the longest kind: apt-keyring-deb and container-runtime line up
        boot_root
        tty_run 200 0 resume --reboot=exit
        tty_ok 200
        eq "$(awk '{print $2 "=" $3}' "$T/steps" | tr '\n' ' ')" "driver-reboot=reboot persistence=service-enable fabric-manager-start=service-enable ctk=apt-install runtime=container-runtime docker-restart=service-restart smoke=container-smoke " \
                "the step lines after the reboot"
}

t_tty_quiet() {
        gpu_root
        shipped_vars
        tty_run 100 3 run -q "$PLANS/debian-12.yaml" --reboot=exit "${SV[@]}"
        tty_ok 100
        # one line per step and nothing else: no status line, no check line (besides the reboot
        # notice on stderr)
        tr -d '\r' <"$T/tty" | sed 's/\x1b\[[0-9;]*m//g' | grep -v '^gpubase: reboot needed' >"$T/plain"
        eq "$(wc -l <"$T/plain")" 8 "lines of run -q: $(cat "$T/plain")"
        eq "$(grep -c '^\[[0-9]*/14\] ' "$T/plain")" 8 "step lines of run -q"
        expect_rc 64 ga run -q -v "$PLANS/debian-12.yaml"
        err_has "-q and -v do not go together"
}

t_tty_lock_wait() {
        local plan pid
        plan=$(ctk_plan "$REPO_CTK_URI" 1.19.0-1 "lock_timeout: 20")
        mkdir -p "$R/var/lib/dpkg"
        perl -MFcntl -e 'open(my $f, ">", $ARGV[0]) or die "$ARGV[0]: $!";
                my $l = pack("s s x4 q q i x4", F_WRLCK, 0, 0, 0, 0); fcntl($f, F_SETLKW, $l) or die "fcntl: $!";
                open(my $r, ">", $ARGV[1]) or die; print $r $$; close $r; sleep 4' \
                "$R/var/lib/dpkg/lock-frontend" "$T/locked" &
        BG_PIDS+=($!)
        for _ in $(seq 1 100); do [ -s "$T/locked" ] && break; sleep 0.05; done
        [ -s "$T/locked" ] || fail "the lock holder did not start"
        pid=$(cat "$T/locked")
        tty_run 120 0 run "$plan"
        tty_ok 120
        # the wait was shown live, in place, with who holds the lock and for how long
        grep -qE "waiting for the dpkg lock held by process $pid \(perl\), [1-3]s/20s" "$T/tty" ||
                { cat -v "$T/tty" >&2; fail "no live line for the dpkg lock wait"; }
        installed nvidia-container-toolkit 1.19.0-1 hold
}

# ---------------------------------------------------------------- pinning, pin:, origin:

driver_plan() { # PACKAGES-YAML [EXTRA-KEY-LINES...]
        local pk=$1 l
        shift
        {
                cat <<EOF
version: 1
name: driver
steps:
  - id: cuda-repo
    kind: apt-source
    key_url: file://$KEY_ASC
    fingerprint: $KEY_FPR
    uri: $REPO_CUDA_URI
  - id: cuda-next-repo
    kind: apt-source
    key_file: /keys/repo-key.gpg
    fingerprint: $KEY_FPR
    uri: $REPO_CUDA_NEXT_URI
  - id: driver
    kind: apt-install
    packages: $pk
    hold: true
EOF
                for l in "$@"; do printf '    %s\n' "$l"; done
        } | plan_file driver
}

t_pinning_package_first_takes_effect() {
        mkdir -p "$R/keys"
        cp "$KEY_FILE" "$R/keys/repo-key.gpg" # key_file is read inside the root
        # without the pinning package, 610 is the candidate
        local plan
        plan=$(driver_plan '["nvidia-open"]')
        expect_rc 0 ga run "$plan"
        installed nvidia-open 610.43.02-1 hold
        # a fresh root: the pinning package listed first holds the branch
        rm -rf "$R"
        mkdir -p "$R/keys"
        fill_root "$R"
        cp "$KEY_FILE" "$R/keys/repo-key.gpg"
        plan=$(driver_plan '["nvidia-driver-pinning-595", "nvidia-open"]' 'pin: "595.*"')
        expect_rc 0 ga run "$plan"
        installed nvidia-driver-pinning-595 595-1 hold
        installed nvidia-open 595.58.03-1 hold
        installed nvidia-kernel-open-dkms 595.58.03-1
        not_installed nvidia-driver-pinning-610
        local pin=$R/etc/apt/preferences.d/gpubase-driver
        [ -f "$pin" ] || fail "pin: did not write /etc/apt/preferences.d/gpubase-driver"
        contains "$pin" "Package: nvidia-open"
        contains "$pin" "Pin: version 595.*"
        contains "$pin" "Pin-Priority: 1001"
        not_contains "$pin" "nvidia-driver-pinning"
        cp "$pin" "$T/pin.before"
        cp "$R/var/lib/dpkg/status" "$T/status.before"
        expect_rc 0 ga run "$plan"
        eq "$(step_state driver)" skipped "driver on the rerun"
        cmp -s "$T/status.before" "$R/var/lib/dpkg/status" || fail "the rerun changed dpkg's status"
        # the pin file is restored when it goes missing
        rm "$pin"
        expect_rc 0 ga run "$plan"
        eq "$(step_state driver)" "done" "driver after the pin file was removed"
        cmp -s "$T/pin.before" "$pin" || fail "the pin file was not restored as it was"
        cmp -s "$T/status.before" "$R/var/lib/dpkg/status" || fail "restoring the pin file changed dpkg's status"
}

# The pinning package is installed over dpkg's status and its own archive alone, fetched by the
# SHA256 of its signed index: libapt does not build the state of every listed package for it (and
# again for the rest). apt's history still records it. One that needs a package that is not
# installed (libnvidia-container1) is installed over the lists after all, and so is one whose
# repository no longer has its archive when apt's archive cache does (prefetched).
pinning_repos_plan() { # PINNING-SPEC CUDA-URI
        plan_file pinning <<EOF
version: 1
name: pinning
steps:
  - id: cuda-repo
    kind: apt-source
    key_file: /keys/repo-key.gpg
    fingerprint: $KEY_FPR
    uri: $2
  - id: pinning-repo
    kind: apt-source
    key_file: /keys/repo-key.gpg
    fingerprint: $KEY_FPR
    uri: $REPO_PINNING_DEPENDS_URI
  - id: ctk-repo
    kind: apt-source
    key_url: file://$CTK_KEY_ASC
    fingerprint: $CTK_KEY_FPR
    uri: $REPO_CTK_URI
  - id: driver
    kind: apt-install
    packages: ["$1", "nvidia-open"]
    hold: true
EOF
}

t_pinning_package_installed_without_lists() {
        mkdir -p "$R/keys"
        cp "$KEY_FILE" "$R/keys/repo-key.gpg"
        # every sources file offers the step's packages (no scope to narrow to): a session over
        # empty sources, dpkg's status and the archive alone
        expect_rc 0 env PATH="$FAKEBIN:$PATH" "$NO_LSAN" strace -f -qq -o "$T/trace" -e trace=openat \
                "$GPUBASE" --root "$R" run "$(driver_plan '["nvidia-driver-pinning-595", "nvidia-open"]')"
        installed nvidia-driver-pinning-595 595-1 hold
        installed nvidia-open 595.58.03-1 hold
        contains "$T/trace" "/local/sources.list" "the files the driver step opened"
        contains "$R/var/log/apt/history.log" "Install: nvidia-driver-pinning-595:amd64 (595-1)"

        # the toolkit's repository offers neither: over the sources that do (apt_install_set.c)
        rm -rf "$R"
        mkdir -p "$R/keys"
        fill_root "$R"
        cp "$KEY_FILE" "$R/keys/repo-key.gpg"
        expect_rc 0 ga -v run "$(pinning_repos_plan nvidia-driver-pinning-595=595-1 "$REPO_CUDA_URI")"
        said "resolving over the sources that offer the packages (2 of 3 sources files)"
        installed nvidia-driver-pinning-595 595-1 hold
        installed nvidia-open 595.45.01-1 hold
        contains "$R/var/log/apt/history.log" "Install: nvidia-driver-pinning-595:amd64 (595-1)"
        not_contains "$R/var/log/apt/history.log" "libnvidia-container1"

        # one that depends on a package that is not installed
        rm -rf "$R"
        mkdir -p "$R/keys"
        fill_root "$R"
        cp "$KEY_FILE" "$R/keys/repo-key.gpg"
        expect_rc 0 ga run "$(pinning_repos_plan nvidia-driver-pinning-595=595-2 "$REPO_CUDA_URI")"
        installed nvidia-driver-pinning-595 595-2 hold
        installed nvidia-open 595.45.01-1 hold
        case $(pkg_status libnvidia-container1) in
        "install ok installed "*) ;;
        *) fail "libnvidia-container1, the pinning package's dependency, is not installed: $(pkg_status libnvidia-container1)" ;;
        esac

        # its archive in apt's cache only (prefetched), gone from the repository
        rm -rf "$R"
        mkdir -p "$R/keys" "$R/var/cache/apt/archives"
        fill_root "$R"
        cp "$KEY_FILE" "$R/keys/repo-key.gpg"
        cp -a "${REPO_CUDA_URI#file://}" "$T/cuda"
        mv "$T/cuda/nvidia-driver-pinning-595_595-1_all.deb" "$R/var/cache/apt/archives/"
        expect_rc 0 ga run "$(pinning_repos_plan nvidia-driver-pinning-595=595-1 "file://$T/cuda")"
        installed nvidia-driver-pinning-595 595-1 hold
        installed nvidia-open 595.45.01-1 hold
}

# The scope tests' root: the distribution's repository its only source (the vendor's comes with the
# plans' apt-source step, scope_plan).
distro_source() {
        mkdir -p "$R/keys" "$R/etc/apt"
        cp "$KEY_FILE" "$R/keys/repo-key.gpg"
        printf 'deb [signed-by=/keys/repo-key.gpg] %s/ /\n' "$REPO_SCOPE_DISTRO_URI" >"$R/etc/apt/sources.list"
}

# scope_plan PACKAGE...: the vendor's repository as a plan source, one apt-install step per package.
scope_plan() {
        local p
        {
                cat <<EOF
version: 1
name: scope
steps:
  - id: vendor-repo
    kind: apt-source
    key_file: /keys/repo-key.gpg
    fingerprint: $KEY_FPR
    uri: $REPO_SCOPE_VENDOR_URI
EOF
                for p in "$@"; do
                        printf '  - id: %s\n    kind: apt-install\n    packages: [%s]\n' "$p" "$p"
                done
        } | plan_file scope
}

# apt-install resolves over the sources files that offer the step's packages (the vendor's), and
# keeps that result only where it is what apt over every source gives; else it resolves again over
# all of them. The distribution's repository is the machine's own sources.list.
t_scoped_resolution() {
        local plan
        distro_source
        plan=$(scope_plan scope-alone scope-shared scope-needs scope-recommends scope-provides)
        expect_rc 0 ga -v run "$plan"
        # the vendor's repository has all it needs: resolved there alone
        installed scope-alone 1.0-1
        installed scope-alone-lib 1.0-1
        said "resolving over the sources that offer the packages (1 of 2 sources files)"
        # the vendor's scope-lib would do, but apt over every source takes the distribution's newer one
        installed scope-lib 2.0-1
        grep -Eq "instead: (scope-lib is offered by other sources too|scope-shared Depends scope-lib, which other)" \
                "$T/out" || fail "scope-shared was not resolved again over every source"
        # what only the distribution offers: a dependency, a recommendation
        installed scope-distro-only 1.0-1
        said "resolving over every source instead: cannot mark scope-needs for installation"
        installed scope-extra 1.0-1
        said "resolving over every source instead: scope-recommends Recommends scope-extra, which other sources offer"
        # a name the distribution provides too (Provides)
        said "resolving over every source instead: scope-provides Depends scope-api, which other sources offer"
        installed scope-provides 1.0-1
        eq "$(grep -c "resolving over every source instead" "$T/out")" 4 "steps resolved again over every source"
        # the scoped sessions neither read nor replaced the root's package cache files
        [ ! -e "$R/var/cache/apt/pkgcache.bin" ] || fail "pkgcache.bin was written"
        cp "$R/var/log/dpkg.log" "$T/dpkglog.before"
        expect_rc 0 ga run "$plan"
        cmp -s "$T/dpkglog.before" "$R/var/log/dpkg.log" || fail "the rerun ran dpkg"
}

# `origin:` is checked over the scope (it holds every file that offers the step's packages): no
# cache over every source is built, not by the update either (a session over every source writes
# srcpkgcache.bin), and a wrong origin is refused all the same, naming where the version comes from.
t_scoped_origin() {
        distro_source
        local plan
        plan=$(scope_plan scope-alone)
        printf '    origin: %s/\n' "${REPO_SCOPE_VENDOR_URI#file://}" >>"$plan"
        expect_rc 0 ga -v run "$plan"
        said "resolving over the sources that offer the packages (1 of 2 sources files)"
        installed scope-alone 1.0-1
        [ ! -e "$R/var/cache/apt/srcpkgcache.bin" ] || fail "a cache over every source was built"
        dpkg_r -P scope-alone scope-alone-lib >/dev/null
        sed -i 's|^    origin: .*|    origin: elsewhere.example|' "$plan"
        expect_rc 0 gb reset
        expect_rc 1 ga run "$plan"
        said "no version of scope-alone comes from elsewhere.example (scope-alone 1.0-1 comes from file:"
        not_installed scope-alone
}

# `prefetch:` resolves the later steps' packages over the sources that offer them, as an install
# does, and over every source where that result would not stand (scope-shared needs scope-lib, which
# the distribution offers newer): what it downloads is what apt over every source would.
t_scoped_prefetch() {
        distro_source
        local plan
        plan=$(scope_plan scope-alone scope-suggests scope-shared)
        sed -i '/^    packages: \[scope-alone\]$/a\    prefetch: [scope-suggests, scope-shared]' "$plan"
        expect_rc 0 ga -v run "$plan"
        said "prefetch of step 'scope-suggests': resolving over the sources that offer the packages (1 of 2 sources files)"
        said "prefetch of step 'scope-shared': resolving over every source instead:"
        installed scope-suggests 1.0-1
        installed scope-lib 2.0-1
}

# Suggests count as apt's configuration makes them count: not by default, as dependencies with
# APT::Install-Suggests (the root's apt.conf.d).
t_scoped_resolution_suggests() {
        distro_source
        mkdir -p "$R/etc/apt/apt.conf.d"
        expect_rc 0 ga -v run "$(scope_plan scope-suggests)"
        installed scope-suggests 1.0-1
        not_installed scope-extra
        said "resolving over the sources that offer the packages (1 of 2 sources files)"
        not_contains "$T/out" "resolving over every source instead" "the output"
        dpkg_r -P scope-suggests >/dev/null
        printf 'APT::Install-Suggests "true";\n' >"$R/etc/apt/apt.conf.d/90suggests"
        expect_rc 0 gb reset
        expect_rc 0 ga -v run "$(scope_plan scope-suggests)"
        said "resolving over every source instead: scope-suggests Suggests scope-extra, which other sources offer"
        installed scope-extra 1.0-1
}

# What each list offers is kept in /var/cache/gpubase/list-names, a file per list: the next process
# reads that instead of the list; a cache file that does not hold (cut short, overwritten) is made
# again from the list; one whose list is gone is removed.
t_list_names_cache() {
        local plan names=$R/var/cache/gpubase/list-names distro
        distro_source
        plan=$(scope_plan scope-alone)
        expect_rc 0 ga run "$plan"
        distro=$(cd "$names" && ls -- *scope-distro_Packages.names)
        [ -s "$names/$distro" ] || fail "no cache file for the distribution's list: $(ls "$names")"
        ls "$names"/*scope-vendor_Packages.names >/dev/null || fail "no cache file for the vendor's list"
        cp "$names/$distro" "$T/distro.names"
        again() { # run the plan's step again (its packages purged), its list opens traced
                dpkg_r -P scope-alone scope-alone-lib >/dev/null 2>&1
                expect_rc 0 env PATH="$FAKEBIN:$PATH" "$NO_LSAN" strace -f -qq -o "$T/trace" -e trace=openat \
                        "$GPUBASE" --root "$R" run "$plan"
                installed scope-alone 1.0-1
        }
        again
        not_contains "$T/trace" "lists/${distro%.names}" "the files the second process opened"
        # overwritten with the same size: the list is read again, the file made again
        local size
        size=$(stat -c %s "$names/$distro")
        head -c "$size" /dev/zero >"$names/$distro"
        again
        contains "$T/trace" "lists/${distro%.names}" "the files the third process opened"
        cmp -s "$T/distro.names" "$names/$distro" || fail "the cache file was not made again"
        # cut short
        truncate -s 70 "$names/$distro"
        again
        cmp -s "$T/distro.names" "$names/$distro" || fail "the cut-off cache file was not made again"
        # the distribution's source and list gone: its cache file too; and a temporary file that a
        # killed process left (a minute old or more), not one that may still be written
        : >"$R/etc/apt/sources.list"
        rm "$R/var/lib/apt/lists/${distro%.names}"
        : >"$names/$distro.Ab12Cd"
        : >"$names/$distro.Ef34Gh"
        touch -d '2 minutes ago' "$names/$distro.Ab12Cd"
        again
        [ ! -e "$names/$distro" ] || fail "the cache file of a list that is gone was kept"
        [ ! -e "$names/$distro.Ab12Cd" ] || fail "a stale temporary file was kept"
        [ -e "$names/$distro.Ef34Gh" ] || fail "a temporary file that may still be written was removed"
        rm "$names/$distro.Ef34Gh"
        # (written as NAME.names.<6 random characters>, mkstemp's, then renamed)
        [ -z "$(find "$names" -name '*.names.*')" ] || fail "a temporary file was left in $names"
}

# A run that changes something before an apt-install step (here a file step) reads what the lists
# offer ahead, in a child process that runs no program, beside that change: the step itself finds it
# in the cache and reads no list outside its scope. A run that changes nothing starts no process.
t_list_names_ahead() {
        local plan main reader
        distro_source
        plan=$(scope_plan scope-alone)
        expect_rc 0 ga run "$plan" # the lists, the sources: as a machine has them
        dpkg_r -P scope-alone scope-alone-lib >/dev/null
        rm -r "$R/var/cache/gpubase/list-names"
        sed -i 's|^steps:$|steps:\n  - id: marker\n    kind: file\n    path: /etc/marker\n    content: "x\\n"|' "$plan"
        expect_rc 0 env PATH="$FAKEBIN:$PATH" "$NO_LSAN" strace -f -qq -o "$T/trace" -e trace=openat,execve \
                "$GPUBASE" --root "$R" run "$plan"
        installed scope-alone 1.0-1
        main=$(head -n 1 "$T/trace" | cut -d' ' -f1)
        grep 'scope-distro_Packages"' "$T/trace" >"$T/opens" || fail "nothing read the distribution's list"
        reader=$(cut -d' ' -f1 "$T/opens" | sort -u)
        [ "$reader" != "$main" ] || fail "gpubase read the distribution's list itself: $(cat "$T/opens")"
        eq "$(wc -l <<<"$reader")" 1 "processes that read the distribution's list"
        ! grep -q "^$reader execve" "$T/trace" || fail "the process that read the list ran a program"
        ls "$R/var/cache/gpubase/list-names/"*scope-distro_Packages.names >/dev/null ||
                fail "no cache file for the distribution's list"
        expect_rc 0 env PATH="$FAKEBIN:$PATH" "$NO_LSAN" strace -f -qq -o "$T/trace" -e trace=clone,clone3,fork,vfork \
                "$GPUBASE" --root "$R" run "$plan"
        [ ! -s "$T/trace" ] || fail "a run that changed nothing started a process: $(cat "$T/trace")"
}

# A source without signed-by (the distribution's, as many machines have it, its key in
# trusted.gpg.d): the scope learns what its list offers without reading its Release file (libapt's
# parse of the entry would load it whole only to learn its signer), and nothing else reads it when
# the step resolves over the vendor's repository alone.
t_scope_skips_release_of_unsigned_by_source() {
        local plan
        mkdir -p "$R/etc/apt/trusted.gpg.d" "$R/keys"
        cp "$KEY_FILE" "$R/keys/repo-key.gpg"
        cp "$KEY_FILE" "$R/etc/apt/trusted.gpg.d/distro.gpg"
        printf 'deb %s/ /\n' "$REPO_SCOPE_DISTRO_URI" >"$R/etc/apt/sources.list"
        plan=$(scope_plan scope-alone)
        expect_rc 0 ga run "$plan" # the lists, as a machine has them
        ls "$R/var/lib/apt/lists/"*scope-distro*Release >/dev/null 2>&1 || fail "no Release file of the distribution's"
        dpkg_r -P scope-alone scope-alone-lib >/dev/null
        expect_rc 0 env PATH="$FAKEBIN:$PATH" "$NO_LSAN" strace -f -qq -o "$T/trace" -e trace=openat \
                "$GPUBASE" --root "$R" -v run "$plan"
        said "resolving over the sources that offer the packages (1 of 2 sources files)"
        installed scope-alone 1.0-1
        ! grep -E 'scope-distro[^"]*Release", [^)]*\) = [0-9]' "$T/trace" ||
                fail "the distribution's Release file was read"
        grep -q 'scope-distro[^"]*_Packages' "$T/trace" || fail "the distribution's list was not looked at"
}

# The read ahead leaves the parent's things alone: a probe's session (here `origin:`'s, kept open
# for the later probes) has its scratch copy of the sources in a directory of its own, which the
# child must not remove as it opens a session of its own (it removes only the one it made).
t_list_names_ahead_leaves_probe_session() {
        local plan pid
        distro_source
        expect_rc 0 ga run "$(scope_plan scope-alone)"
        plan=$(scope_plan scope-alone scope-suggests)
        # scope-alone's probe opens the probes' session (origin:), then a file step changes something
        sed -i "/^    packages: \[scope-alone\]$/a\\    origin: ${REPO_SCOPE_VENDOR_URI#file://}/\n  - id: marker\n    kind: file\n    path: /etc/marker\n    content: \"x\\\\n\"" "$plan"
        expect_rc 0 env PATH="$FAKEBIN:$PATH" "$NO_LSAN" strace -f -qq -o "$T/trace" -e trace=mkdir,unlinkat \
                "$GPUBASE" --root "$R" run "$plan"
        installed scope-suggests 1.0-1
        local main removed d
        main=$(head -n 1 "$T/trace" | cut -d' ' -f1)
        local pids
        mapfile -t pids < <(cut -d' ' -f1 "$T/trace" | sort -u)
        for pid in "${pids[@]}"; do
                [ "$pid" != "$main" ] || continue
                removed=$(sed -n "s/^$pid unlinkat(.*\"\(gpubase-apt\.[^\"]*\)\", AT_REMOVEDIR) = 0$/\1/p" "$T/trace")
                for d in $removed; do
                        grep -q "^$pid mkdir(\"/tmp/$d\"" "$T/trace" ||
                                fail "process $pid removed /tmp/$d, which it did not make: $(grep gpubase-apt "$T/trace")"
                done
        done
}

# The cache directory is the root's: a link there to an absolute path is followed inside the root.
t_list_names_cache_confined() {
        distro_source
        mkdir -p "$R/var/cache/gpubase" "$T/outside"
        ln -s "$T/outside" "$R/var/cache/gpubase/list-names"
        expect_rc 0 ga run "$(scope_plan scope-alone)"
        installed scope-alone 1.0-1
        [ -z "$(ls -A "$T/outside")" ] || fail "the cache was written outside the root: $(ls "$T/outside")"
        ls "$R$T/outside"/*scope-distro_Packages.names >/dev/null || fail "no cache file inside the root"
}

# Lists kept compressed (Acquire::GzipIndexes, as container images set it) are read by an
# apt-install that follows a download in the same process (an apt-source's key_url): libapt works
# out the compression types once per process, and a first session that only downloaded left them
# as "uncompressed" alone, so that the packages of those lists were unknown.
t_compressed_lists_after_download() {
        distro_source
        plan_file lists >"$T/plan.path" <<EOF
version: 1
name: lists
steps:
  - id: extra
    kind: apt-install
    packages: [scope-extra]
EOF
        expect_rc 0 ga run "$(cat "$T/plan.path")"
        gzip "$R"/var/lib/apt/lists/*scope-distro_Packages
        expect_rc 0 gb reset
        plan_file compressed >"$T/plan.path" <<EOF
version: 1
name: compressed
steps:
  - id: vendor-repo
    kind: apt-source
    key_url: file://$KEY_ASC
    fingerprint: $KEY_FPR
    uri: $REPO_SCOPE_VENDOR_URI
  - id: distro
    kind: apt-install
    packages: [scope-distro-only]
    update: never
EOF
        expect_rc 0 ga run "$(cat "$T/plan.path")"
        installed scope-distro-only 1.0-1
}

t_origin_mismatch_names_source() {
        mkdir -p "$R/keys"
        cp "$KEY_FILE" "$R/keys/repo-key.gpg"
        local plan
        plan=$(driver_plan '["nvidia-driver-pinning-595", "nvidia-open"]' "origin: developer.download.nvidia.com")
        expect_rc 1 ga run "$plan"
        eq "$(step_state driver)" failed "driver step"
        # refused before nvidia-open is installed: no version of it comes from there
        said "no version of nvidia-open comes from developer.download.nvidia.com"
        said "comes from file:$FIXTURE_REPO_DIR/cuda"
        not_installed nvidia-open
        # the rerun does not take it for done
        expect_rc 1 ga run "$plan"
        said "no version of nvidia-open comes from developer.download.nvidia.com"
        # the repository's path (or its Release Origin) is accepted
        plan=$(driver_plan '["nvidia-driver-pinning-595", "nvidia-open"]' "origin: NVIDIA")
        expect_rc 0 gb reset
        expect_rc 0 ga run "$plan"
}

# ---------------------------------------------------------------- drift

t_drift_hold_removed() {
        gpu_root
        converge "$PLANS/debian-12.yaml"
        printf 'nvidia-open install\nnvidia-container-toolkit install\n' | dpkg_r --set-selections
        installed nvidia-open 595.45.01-1 install
        shipped_vars
        expect_rc 0 ga run "$PLANS/debian-12.yaml" --reboot=exit "${SV[@]}"
        eq "$(step_state driver)" "done" "driver after the hold was removed"
        eq "$(step_state ctk)" "done" "ctk after the hold was removed"
        eq "$(step_state driver-reboot)" skipped "driver-reboot (nothing to load)"
        shipped_installed
        rerun_converged "$PLANS/debian-12.yaml"
}

t_drift_sources_deleted() {
        gpu_root
        converge "$PLANS/debian-12.yaml"
        local f=$R/etc/apt/sources.list.d/ctk-repo.sources
        cp "$f" "$T/sources.before"
        cp "$R/var/lib/dpkg/status" "$T/status.before"
        rm "$f"
        shipped_vars
        expect_rc 0 ga run "$PLANS/debian-12.yaml" --reboot=exit "${SV[@]}"
        eq "$(step_state ctk-repo)" "done" "ctk-repo after its sources file was deleted"
        cmp -s "$T/sources.before" "$f" || fail "ctk-repo.sources was not restored as it was"
        cmp -s "$T/status.before" "$R/var/lib/dpkg/status" || fail "restoring the sources file changed dpkg's status"
        rerun_converged "$PLANS/debian-12.yaml"
}

# cuda-keyring's source list is a conffile: dpkg does not bring a deleted conffile back on a
# plain reinstall (README of the fixture: it needs --force-confmiss).
t_drift_keyring_list_deleted() {
        gpu_root
        converge "$PLANS/debian-12.yaml"
        local f=$R/etc/apt/sources.list.d/cuda-debian12-x86_64.list
        cp "$f" "$T/list.before"
        rm "$f"
        shipped_vars
        expect_rc 0 ga run "$PLANS/debian-12.yaml" --reboot=exit "${SV[@]}"
        [ -f "$f" ] || fail "cuda-keyring's source list was not restored (step cuda-keyring: $(sj '.steps[] | select(.id == "cuda-keyring") | "\(.state): \(.detail)"'))"
        cmp -s "$T/list.before" "$f" || fail "cuda-keyring's source list was not restored as it was"
        eq "$(step_state cuda-keyring)" "done" "cuda-keyring after its list was deleted"
        rerun_converged "$PLANS/debian-12.yaml"
}

# upgrade_outside VERSION: what an admin does by hand: unhold, then dpkg -i the three driver
# packages of that version from cuda-next (a repository this root does not have).
upgrade_outside() {
        printf 'nvidia-open install\n' | dpkg_r --set-selections
        dpkg_r -i "$FIXTURE_REPO_DIR"/cuda-next/{nvidia-open,nvidia-kernel-open-dkms,libnvidia-compute}_"$1"-1_amd64.deb >"$T/dpkg.out" 2>&1 ||
                { cat "$T/dpkg.out" >&2; fail "dpkg -i of $1 failed"; }
        installed nvidia-open "$1-1"
}

# Another branch installed by hand: the pinning package (priority 1000 for 595.*) makes 595.45.01
# the candidate again, the package is not held any more, so the rerun moves it back and re-holds it.
# The loaded module (595.45.01) then matches: no reboot.
t_drift_driver_other_branch() {
        gpu_root
        converge "$PLANS/debian-12.yaml"
        upgrade_outside 610.43.02
        shipped_vars
        expect_rc 0 ga run "$PLANS/debian-12.yaml" --reboot=exit "${SV[@]}"
        eq "$(step_state driver)" "done" "driver after the upgrade outside the plan"
        eq "$(step_state driver-reboot)" skipped "driver-reboot"
        shipped_installed
        rerun_converged "$PLANS/debian-12.yaml"
}

# The same, but the admin held the other branch again (dpkg -i itself drops a hold): the plan
# refuses to move a held package and says how; once the hold is gone, the rerun restores 595.
t_drift_driver_other_branch_held() {
        gpu_root
        converge "$PLANS/debian-12.yaml"
        upgrade_outside 610.43.02
        printf 'nvidia-open hold\n' | dpkg_r --set-selections
        cp "$R/var/lib/dpkg/status" "$T/status.before"
        shipped_vars
        expect_rc 1 ga run "$PLANS/debian-12.yaml" --reboot=exit "${SV[@]}"
        said "nvidia-open is held at 610.43.02-1 and the plan would move it to 595.45.01-1; refusing"
        eq "$(step_state driver)" failed "driver step"
        cmp -s "$T/status.before" "$R/var/lib/dpkg/status" || fail "the refused step changed dpkg's status"
        printf 'nvidia-open install\n' | dpkg_r --set-selections
        expect_rc 0 ga resume --reboot=exit
        eq "$(sj .run_state)" "done" "run_state after the hold was lifted"
        shipped_installed
        rerun_converged "$PLANS/debian-12.yaml"
}

# A newer build of the same branch, from a repository the plan does not know. The plan says
# "nvidia-open of branch 595 from the CUDA repository (origin:), held": the installed version is
# from elsewhere, nothing holds it, and the CUDA repository offers 595.45.01: the rerun moves it
# back to 595.45.01 and re-holds it.
t_drift_driver_same_branch_foreign() {
        gpu_root
        converge "$PLANS/debian-12.yaml"
        upgrade_outside 595.58.03
        shipped_vars
        expect_rc 0 ga run "$PLANS/debian-12.yaml" --reboot=exit "${SV[@]}"
        eq "$(step_state driver)" "done" "driver after the upgrade outside the plan"
        shipped_installed
        rerun_converged "$PLANS/debian-12.yaml"
}

# ---------------------------------------------------------------- container runtime

runtime_plan() {
        plan_file runtime <<EOF
version: 1
name: runtime
steps:
  - id: runtime
    kind: container-runtime
    runtime: docker
    checks: [{runtime.configured: docker}]
  - id: docker-restart
    kind: service-restart
    unit: docker.service
    when: config-changed
    checks: [{runtime.restarted: docker}]
EOF
}

# ctk_in_root: the fixture's nvidia-ctk (static) in the root, behind a wrapper that records each
# call in the root's /var/log/ctk-calls: under --root gpubase runs it inside the root (chroot), so
# the wrapper, and the shell it needs, are there too.
ctk_in_root() {
        mkdir -p "$R/usr/bin" "$R/var/log"
        "$TESTS_DIR/fixtures/add-shell.sh" "$R"
        cp "$CTK_X/usr/bin/nvidia-ctk" "$R/usr/bin/nvidia-ctk.fixture"
        printf '#!/bin/sh\necho "$*" >>/var/log/ctk-calls\nexec /usr/bin/nvidia-ctk.fixture "$@"\n' >"$R/usr/bin/nvidia-ctk"
        chmod 755 "$R/usr/bin/nvidia-ctk"
        CTK_CALLS=$R/var/log/ctk-calls
}

# runtime_root: docker running since 2025 and the fixture's nvidia-ctk (ctk_in_root).
runtime_root() {
        docker_running "$OLD_TIME"
        mkdir -p "$R/etc/docker"
        ctk_in_root
}

restarts() {
        if [ -f "$R/$ACTIONS_REL" ]; then grep -c '^restart docker.service$' "$R/$ACTIONS_REL" || true; else echo 0; fi
}

t_runtime_missing_daemon_json() {
        runtime_root
        local plan
        plan=$(runtime_plan)
        expect_rc 0 ga run "$plan"
        local f=$R/$DAEMON_JSON_REL
        [ -f "$f" ] || fail "daemon.json was not created"
        eq "$(jq -r '.runtimes.nvidia.path' "$f")" nvidia-container-runtime "runtimes.nvidia.path"
        contains "$CTK_CALLS" "--config=/$DAEMON_JSON_REL" # inside the root
        absent "$f.gpubase-backup" # there was nothing to back up
        eq "$(restarts)" 1 "docker restarts"
        eq "$(states)" "runtime=done docker-restart=done" "step states"
        # converged: no nvidia-ctk, no restart
        cp "$f" "$T/daemon.before"
        expect_rc 0 ga run "$plan"
        eq "$(states)" "runtime=skipped docker-restart=skipped" "step states of the rerun"
        eq "$(restarts)" 1 "docker restarts after the rerun"
        eq "$(wc -l <"$CTK_CALLS")" 1 "nvidia-ctk calls"
        cmp -s "$T/daemon.before" "$f" || fail "the rerun changed daemon.json"
        # the configuration changes while docker runs: restart, once
        touch -d "$OLD_TIME" "$R/run/docker.pid"
        touch -d "2025-06-01T00:00:00Z" "$f"
        expect_rc 0 ga run "$plan"
        eq "$(states)" "runtime=skipped docker-restart=done" "step states after daemon.json changed"
        eq "$(restarts)" 2 "docker restarts after daemon.json changed"
}

t_runtime_other_keys_kept() {
        runtime_root
        local f=$R/$DAEMON_JSON_REL
        printf '{\n  "data-root": "/srv/docker",\n  "log-driver": "json-file",\n  "log-opts": {"max-size": "100m"}\n}\n' >"$f"
        touch -d "2024-06-01T00:00:00Z" "$f"
        cp "$f" "$T/daemon.orig"
        expect_rc 0 ga run "$(runtime_plan)"
        eq "$(jq -r '."data-root"' "$f")" /srv/docker "data-root"
        eq "$(jq -r '."log-driver"' "$f")" json-file "log-driver"
        eq "$(jq -r '."log-opts"."max-size"' "$f")" 100m "log-opts.max-size"
        eq "$(jq -r '.runtimes.nvidia.path' "$f")" nvidia-container-runtime "runtimes.nvidia.path"
        [ -f "$f.gpubase-backup" ] || fail "no backup of daemon.json"
        cmp -s "$T/daemon.orig" "$f.gpubase-backup" || fail "the backup is not the previous daemon.json"
        eq "$(restarts)" 1 "docker restarts"
}

t_runtime_invalid_daemon_json() {
        runtime_root
        local f=$R/$DAEMON_JSON_REL
        printf '{\n  "log-driver": "json-file",\n  "runtimes": {\n' >"$f"
        cp -p "$f" "$T/daemon.orig"
        expect_rc 1 ga run "$(runtime_plan)"
        said "/etc/docker/daemon.json is not valid JSON (invalid JSON at byte 47: unexpected end of file)"
        said "nothing was changed"
        eq "$(step_state runtime)" failed "runtime step"
        cmp -s "$T/daemon.orig" "$f" || fail "the invalid daemon.json was changed"
        [ "$(stat -c %Y "$f")" = "$(stat -c %Y "$T/daemon.orig")" ] || fail "the invalid daemon.json was rewritten"
        absent "$CTK_CALLS" # nvidia-ctk never ran
        absent "$f.gpubase-backup"
        eq "$(restarts)" 0 "docker restarts"
}

# nvidia-ctk is called with its real flags only: the root's nvidia-ctk runs inside the root, so
# --config is the machine's own path there (no environment variable of our own), and the fixture's
# stand-in refuses a flag the real CLI does not define.
t_runtime_ctk_real_flags() {
        runtime_root
        expect_rc 0 ga run "$(runtime_plan)"
        eq "$(cat "$CTK_CALLS")" "runtime configure --runtime=docker --config=/$DAEMON_JSON_REL" "the nvidia-ctk call"
        contains "$R/$DAEMON_JSON_REL" '"nvidia"' # written inside the root
        # the stand-in: an unknown flag fails and writes nothing, as urfave/cli does
        expect_rc 1 "$CTK_X/usr/bin/nvidia-ctk" runtime configure --runtime=docker --config="$T/x.json" --root="$R"
        err_has "flag provided but not defined: --root=$R"
        absent "$T/x.json"
        expect_rc 1 "$CTK_X/usr/bin/nvidia-ctk" runtime configure --runtime=docker --config="$T/x.json" --runtime-name=x
        err_has "flag provided but not defined: --runtime-name=x"
        absent "$T/x.json"
        # without --config the stand-in uses the machine's own path, as the real tool does (a dry run
        # here: it prints the result and writes nothing)
        expect_rc 0 "$CTK_X/usr/bin/nvidia-ctk" runtime configure --runtime=docker --dry-run
        out_has '"nvidia"'
}

# containerd under --root: nvidia-ctk runs inside the root, so --config, --drop-in-config and the
# imports line it writes name the machine's paths.
t_runtime_containerd_root() {
        mkdir -p "$R/etc/containerd" "$R/run/containerd"
        ctk_in_root
        printf 'version = 2\n\n[plugins."io.containerd.grpc.v1.cri"]\n  sandbox_image = "registry.k8s.io/pause:3.9"\n' \
                >"$R/etc/containerd/config.toml"
        local plan
        plan=$(printf '%s\n' 'version: 1' 'name: containerd' 'steps:' '  - id: runtime' '    kind: container-runtime' \
                '    runtime: containerd' '    checks: [{runtime.configured: containerd}]' | plan_file containerd)
        expect_rc 0 ga run "$plan"
        eq "$(cat "$CTK_CALLS")" "runtime configure --runtime=containerd --config=/etc/containerd/config.toml --drop-in-config=/etc/containerd/conf.d/99-nvidia.toml" "the nvidia-ctk call"
        contains "$R/etc/containerd/conf.d/99-nvidia.toml" 'BinaryName = "/usr/bin/nvidia-container-runtime"'
        eq "$(head -1 "$R/etc/containerd/config.toml")" 'imports = ["/etc/containerd/conf.d/*.toml"]' "the imports line"
        not_contains "$R/etc/containerd/config.toml" "$R" "config.toml"
        contains "$R/etc/containerd/config.toml" 'sandbox_image = "registry.k8s.io/pause:3.9"'
        eq "$(step_state runtime)" "done" "runtime step"
        expect_rc 0 ga run "$plan"
        eq "$(step_state runtime)" skipped "runtime step of the rerun"
        eq "$(wc -l <"$CTK_CALLS")" 1 "nvidia-ctk calls"
}

# ---------------------------------------------------------------- main

ALL_TESTS=(
        plan_debian12
        rerun_no_child_cache_reused
        install_builds_caches_when_read
        plan_debian12_nvswitch_fabric_manager
        plan_debian12_no_nvswitch_no_fabric_manager
        tty_output
        tty_quiet
        tty_lock_wait
        plan_ubuntu2204
        plan_ubuntu2404
        plan_refused_on_other_os
        plan_nouveau_loaded
        plan_nouveau_after_reboot
        secureboot_refused_at_plan_time
        secureboot_signing_routes
        plan_check_shipped
        prefetch_offline_after_reboot
        power_cut_empty_lists
        apt_frontends_never_executed
        refuse_keyring_checksum
        refuse_keyring_wrong_key
        refuse_keyring_outside_dirs
        keyring_full_layout_allowed
        keyring_reads_lists_only_when_needed
        keyring_chain_installs
        keyring_chain_sbsa
        keyring_chain_refuse_swapped
        keyring_chain_refuse_other_signer
        keyring_chain_refuse_wrong_fingerprint
        keyring_chain_refuse_no_source
        keyring_chain_needs_a_pin
        plan_debian12_nvidia_layout
        refuse_source_wrong_fingerprint
        refuse_unsigned_repository
        refuse_moving_held_package
        ctk_older_release
        refuse_glob_matching_nothing
        dpkg_lock_timeout
        driver_step_installs_next_kernel_headers
        driver_step_names_dkms_failure
        driver_step_refuses_next_kernel_without_module
        driver_step_refreshes_lists_for_headers
        driver_step_hold_kernel
        pinning_package_first_takes_effect
        pinning_package_installed_without_lists
        scoped_resolution
        scoped_origin
        scoped_resolution_suggests
        scoped_prefetch
        list_names_cache
        list_names_ahead
        list_names_ahead_leaves_probe_session
        scope_skips_release_of_unsigned_by_source
        list_names_cache_confined
        compressed_lists_after_download
        origin_mismatch_names_source
        drift_hold_removed
        drift_sources_deleted
        drift_keyring_list_deleted
        drift_driver_other_branch
        drift_driver_other_branch_held
        drift_driver_same_branch_foreign
        runtime_missing_daemon_json
        runtime_other_keys_kept
        runtime_invalid_daemon_json
        runtime_ctk_real_flags
        runtime_containerd_root
        distro_dry_run_real_archive
)

# The distribution plan against Debian's real archive (reachable from this project's machines):
# plan check passes and a dry run resolves the real nvidia packages and their dependencies, in an
# alternate root where it writes nothing. The plan is headless: the open module (contrib), its GSP
# firmware (firmware-nvidia-gsp), nvidia-smi and libcuda1, not the nvidia-driver metapackage.
# The sources are those of an installed Debian 12, security suite included (this machine's suites,
# from tests/lib/debian-mirror.sh): bookworm-security updates the proprietary stack (nvidia-smi,
# libcuda1, firmware-nvidia-gsp, nvidia-alternative) past the open module, which stays at bookworm's
# version (make e2e-real found this: each glob alone picked its newest, apt could not mark the
# driver). All four must resolve to the one version the open module has.
t_distro_dry_run_real_archive() {
        mkdir -p "$R/etc/apt/sources.list.d" "$R/usr/share/keyrings"
        cp /usr/share/keyrings/debian-archive-keyring.gpg "$R/usr/share/keyrings/"
        "$IT_DIR/../lib/debian-mirror.sh" --sources | awk '{ print $1, "[signed-by=/usr/share/keyrings/debian-archive-keyring.gpg]", $2, $3,
                "main contrib non-free non-free-firmware" }' >"$R/etc/apt/sources.list.d/debian.list" ||
                fail "this machine's apt sources name no Debian archive"
        expect_rc 0 ga plan check "$PLANS/debian-12-distro.yaml"
        snapshot "$R" >"$T/before"
        expect_rc 0 ga run --dry-run "$PLANS/debian-12-distro.yaml"
        said "resolves to nvidia-open-kernel-dkms 535."
        said "firmware-nvidia-gsp 535."
        said "nvidia-smi 535."
        said "libcuda1 535."
        said "more packages"
        local v
        v=$(grep -o 'resolves to .* and [0-9]* more' "$T/out" | grep -oE '(nvidia-open-kernel-dkms|firmware-nvidia-gsp|nvidia-smi|libcuda1) [^ ,]+' |
                awk '{ sub(/-[^-]*$/, "", $2); print $2 }' | sort -u)
        eq "$(wc -l <<<"$v")" 1 "upstream versions the four driver packages resolve to ($(tr '\n' ' ' <<<"$v"))"
        snapshot "$R" >"$T/after"
        cmp -s "$T/before" "$T/after" || { diff "$T/before" "$T/after" | sed 's/^/    | /' >&2; fail "the dry run wrote into the root"; }
}

# traced_rerun PLAN: a converged rerun of a shipped plan under strace (execve, openat) into
# $T/trace; every step skipped but the gate.
traced_rerun() {
        shipped_vars
        expect_rc 0 env PATH="$FAKEBIN:$PATH" "$NO_LSAN" strace -f -qq -o "$T/trace" -e trace=execve,openat \
                "$GPUBASE" --root "$R" run "$1" --reboot=exit "${SV[@]}"
        eq "$(states)" "$CONVERGED" "step states of the traced rerun"
}

# no_child WHAT: $T/trace shows no program executed but gpubase itself (and the toolkit's
# `nvidia-ctk --version`, which the ctk.installed check of the runtime step runs in the root on
# purpose: it asks the installed binary; and docker, which the shipped plans' last step, the
# container smoke test, runs at every run: it is never skipped).
no_child() {
        local execs
        execs=$(grep 'execve(' "$T/trace" | tail -n +2 | grep -v 'execve("/usr/bin/nvidia-ctk", \["/usr/bin/nvidia-ctk", "--version"\]' |
                grep -v 'execve("/usr/bin/docker", \["/usr/bin/docker", ' || true)
        [ -z "$execs" ] || fail "$1 executed programs: $execs"
}

# most_reads FILE-PATTERN: how often the most opened file matching the pattern was opened
# successfully in $T/trace.
most_reads() {
        awk -v pat="$1" '/openat\(/ && $0 ~ pat && / = [0-9]+$/ && match($0, /"[^"]*"/) { n[substr($0, RSTART, RLENGTH)]++ }
                END { m = 0; for (k in n) if (n[k] > m) m = n[k]; print m }' "$T/trace"
}

# A converged rerun probes the apt-install steps from dpkg's status (read once) and opens libapt
# once, for the driver's `origin:`, over the package cache it keeps in the root's /var/cache/apt:
# no child process at all (architectures come from dpkg's arch file, not from `dpkg
# --print-foreign-architectures`), pkgcache.bin and srcpkgcache.bin reused (not rewritten), each
# Packages list read at most once. A changed list makes libapt rebuild the cache.
t_rerun_no_child_cache_reused() {
        gpu_root
        converge "$PLANS/debian-12.yaml"
        printf 'amd64\ni386\n' >"$R/var/lib/dpkg/arch" # a foreign architecture, as dpkg --add-architecture writes it
        local c=$R/var/cache/apt/pkgcache.bin s=$R/var/cache/apt/srcpkgcache.bin before n
        traced_rerun "$PLANS/debian-12.yaml"
        if ! [ -f "$c" ] || ! [ -f "$s" ]; then
                fail "libapt kept no cache files in the root: $(ls "$R/var/cache/apt")"
        fi
        before=$(stat -c '%i %y' "$c" "$s")
        traced_rerun "$PLANS/debian-12.yaml"
        no_child "a converged rerun"
        eq "$(stat -c '%i %y' "$c" "$s")" "$before" "the package caches after a second rerun (reused, not rebuilt)"
        n=$(most_reads '_Packages')
        [ "$n" -le 1 ] || fail "a Packages list was read $n times by one rerun"
        eq "$(most_reads 'var/lib/dpkg/status"')" 1 "reads of dpkg's status"
        contains "$T/trace" "$R/var/lib/dpkg/arch"
        # a list that changed (as an update leaves it): the cache is rebuilt from it
        touch "$R"/var/lib/apt/lists/*cuda*_Packages
        traced_rerun "$PLANS/debian-12.yaml"
        [ "$(stat -c '%i %y' "$c" "$s")" != "$before" ] || fail "the package caches were not rebuilt after a list changed"
        [ "$(most_reads '_Packages')" -ge 1 ] || fail "no Packages list was read to rebuild the cache"
        no_child "the rerun that rebuilt the cache"
        frontends_untouched
}

# An install builds libapt's cache files when a step reads them, not after every dpkg run: libapt's
# own dpkg run (pkgDPkgPM::Go) would rebuild both in gpubase's process for a next apt command, and
# each reopen (after dpkg, after a hold) would build pkgcache.bin again whether anything read it or
# not (4 and 11 writes before). Up to the reboot the shipped plan writes srcpkgcache.bin no more
# (once before: the driver step's prefetch of the toolkit, which read every source; it resolves over
# the toolkit's repository now). The step's own packages are
# resolved over the repository that offers them (apt_install_set.c), and its update (the lists are
# stale: `update: auto`) builds no cache (it built it twice before: over the old lists, then over the
# new); the keyring step reads no lists at all. pkgcache.bin (the lists merged with
# dpkg's status) is never written by a session that installs: dpkg's next run makes it stale, so it
# is built in memory (6 writes before); a probe's read-only session writes it, for the reruns.
t_install_builds_caches_when_read() {
        gpu_root
        shipped_vars
        mkdir -p "$R/var/cache/apt"
        echo "a probe's pkgcache.bin" >"$R/var/cache/apt/pkgcache.bin"
        expect_rc 3 env PATH="$FAKEBIN:$PATH" "$NO_LSAN" strace -f -qq -o "$T/trace" -e trace=rename \
                "$GPUBASE" --root "$R" -v run "$PLANS/debian-12.yaml" --reboot=exit "${SV[@]}"
        installed nvidia-open 595.45.01-1 hold
        said "prefetch of step 'ctk': resolving over the sources that offer the packages"
        eq "$(grep -cE '/srcpkgcache\.bin\.[^"]*", "[^"]*/srcpkgcache\.bin"\) = 0' "$T/trace")" 0 \
                "writes of srcpkgcache.bin up to the reboot"
        eq "$(grep -cE '/pkgcache\.bin\.[^"]*", "[^"]*/pkgcache\.bin"\) = 0' "$T/trace")" 0 \
                "writes of pkgcache.bin up to the reboot"
        # one a probe wrote does not outlive an install: dpkg can change its status within the same
        # second at the same size (another version of the same length), which libapt takes as valid
        absent "$R/var/cache/apt/pkgcache.bin"
}

t_no_apt_frontend_in_any_test() {
        frontends_untouched
}

run_listed "${1:-}" no_apt_frontend_in_any_test
