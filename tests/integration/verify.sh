#!/usr/bin/env bash
# GPU-stack checks, `gpubase verify`, the plan-time refusals and the driver-stale / config-changed
# conditions, against fixture hosts built by tests/fixtures/hosts/mkhost.sh (one per failure mode
# the checks must tell apart). Everything is read under --root: no GPU, no network. Run as root: the
# root's programs (nvidia-ctk, nvcc) and NVML run only inside the root (chroot), which needs it.
#   [GPUBASE=build/gpubase] [FAKE_NVML=build/fixtures/libnvidia-ml.so.1] tests/integration/verify.sh [TEST-NAME-REGEX]
# One line per test (PASS/FAIL name), then a summary; exits non-zero if any test failed.
# Tests named bug_* describe agent bugs that are known and not fixed yet: they are reported as
# XFAIL (expected to fail, not counted as failures) or XPASS (the bug is fixed: make it a t_ test).
# VERIFY_STRICT_BUGS=1 counts an XFAIL as a failure.
# R and T are set per test by run_test, in the subshell each test runs in:
# shellcheck disable=SC2031,SC2119
set -euo pipefail

VERIFY_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(cd "$VERIFY_DIR/../.." && pwd)
MKHOST=$REPO_DIR/tests/fixtures/hosts/mkhost.sh
GPUBASE=${GPUBASE:-$REPO_DIR/build/gpubase}
FAKE_NVML=${FAKE_NVML:-$REPO_DIR/build/fixtures/libnvidia-ml.so.1}
case $GPUBASE in /*) ;; *) GPUBASE=$PWD/$GPUBASE ;; esac
case $FAKE_NVML in /*) ;; *) FAKE_NVML=$PWD/$FAKE_NVML ;; esac
export GPUBASE FAKE_NVML
[ -x "$GPUBASE" ] || { echo "verify.sh: $GPUBASE is not built (make all)" >&2; exit 2; }
[ -f "$FAKE_NVML" ] || { echo "verify.sh: $FAKE_NVML is not built (make build/fixtures/libnvidia-ml.so.1)" >&2; exit 2; }

# shellcheck source=tests/integration/lib.sh
. "$VERIFY_DIR/lib.sh"

# ---- fixture hosts: each scenario built once, copied into every test's root ----

HOSTS=$IT_LOGDIR/hosts
mkdir -p "$HOSTS"
for scenario in $("$MKHOST" --list); do
        "$MKHOST" "$HOSTS/$scenario" "$scenario" >"$IT_LOGDIR/mkhost-$scenario.log" 2>&1 || {
                cat "$IT_LOGDIR/mkhost-$scenario.log" >&2
                echo "verify.sh: mkhost.sh $scenario failed" >&2
                exit 2
        }
done

# host SCENARIO: this test's root becomes a copy of that fixture host (mtimes kept).
host() {
        [ -d "$HOSTS/$1" ] || fail "no fixture host '$1'"
        cp -a "$HOSTS/$1/." "$R/"
}

# rehost SCENARIO: the root emptied, then a copy of another fixture host.
rehost() {
        rm -rf "${R:?}"/*
        host "$1"
}

# The GPU-stack checks `gpubase verify` reports, in its order.
ALL_CHECKS="gpu.present gpu.count gpu.model gpu.open-module-supported nouveau secureboot driver.operator driver.loaded"
ALL_CHECKS+=" driver.flavor driver.version driver.stale driver.next-kernel driver.origin driver.nvml driver.cuda-ceiling"
ALL_CHECKS+=" driver.held driver.persistence fabric.manager fabric.state nvlink.up gpu.ecc gpu.xid ctk.installed ctk.held"
ALL_CHECKS+=" runtime.configured runtime.restarted cdi.spec toolkit.nvcc"
# What a healthy single-GPU host without NVSwitches skips (no expected shape, no NVLink, no
# persistence daemon asked for, no kernel log in the fixture, no CDI spec, no host CUDA toolkit)
HEALTHY_SKIPS="gpu.count=skip gpu.model=skip driver.persistence=skip fabric.manager=skip fabric.state=skip nvlink.up=skip"
HEALTHY_SKIPS+=" gpu.xid=skip cdi.spec=skip toolkit.nvcc=skip"

# ---- verify --json helpers ----

# vj RC [ARGS...]: `gpubase verify --json ARGS` exits RC; its report is kept in $T/verify.json and
# must have the documented shape: rows {name, status, detail, fix}, a fix for every warn/fail, none
# for ok, and a summary that counts the rows.
vj() {
        local want=$1
        shift
        expect_rc "$want" gb verify --json "$@"
        cp "$T/out" "$T/verify.json"
        jq -e '
                (.checks | type == "array" and length > 0)
                and all(.checks[]; (keys == ["detail", "fix", "name", "status"])
                        and (.status | IN("ok", "warn", "fail", "skip"))
                        and (.detail | type == "string" and length > 0)
                        and (if .status == "ok" then .fix == null
                             elif .status == "skip" then true
                             else (.fix | type == "string" and length > 0) end))
                and (.summary | keys == ["fail", "ok", "skip", "warn"])
                and ([["ok", "warn", "fail", "skip"][] as $s | .summary[$s] == ([.checks[] | select(.status == $s)] | length)]
                     | all)
        ' "$T/verify.json" >/dev/null || {
                jq -c '.checks[]?, .summary?' "$T/verify.json" 2>&1 | sed 's/^/    | /' >&2
                fail "verify --json $*: not the documented report shape"
        }
        jq -r '.checks[] | [.name, .status, .detail, (.fix // "")] | join("\u001f")' "$T/verify.json" >"$T/rows"
        # the exit code follows the rows: 1 failures, else 2 warnings, else 0
        local expect=0
        if grep -q $'\x1ffail\x1f' "$T/rows"; then expect=1; elif grep -q $'\x1fwarn\x1f' "$T/rows"; then expect=2; fi
        eq "$want" "$expect" "exit code implied by the statuses"
}

# field NAME KEY: one field (status, detail or fix) of the row NAME; there must be exactly one.
# Read from $T/rows (one line per row, fields separated by \x1f), which vj writes: one jq per report.
field() {
        awk -F '\037' -v n="$1" -v k="$2" '
                BEGIN { c = k == "status" ? 2 : k == "detail" ? 3 : 4 }
                $1 == n { found++; v = $c }
                END { if (found != 1) { print "verify --json has " found + 0 " rows named " n > "/dev/stderr"; exit 1 } print v }
        ' "$T/rows" || fail "no single row named '$1'"
}

# check_is NAME STATUS [WORDS...]: row NAME has STATUS and its detail contains every WORD.
check_is() {
        local name=$1 want=$2 w
        shift 2
        field "$name" detail >"$T/detail"
        eq "$(field "$name" status)" "$want" "status of $name ($(cat "$T/detail"))"
        for w in "$@"; do contains "$T/detail" "$w" "detail of $name"; done
}

# fix_has NAME WORDS...: the fix of row NAME contains every WORD.
fix_has() {
        local name=$1 w
        shift
        field "$name" fix >"$T/fix"
        for w in "$@"; do contains "$T/fix" "$w" "fix of $name"; done
}

# not_ok: "name=status ..." of every warn/fail row, in report order.
not_ok() {
        awk -F '\037' '$2 == "warn" || $2 == "fail" { printf "%s%s=%s", n++ ? " " : "", $1, $2 } END { print "" }' "$T/rows"
}

# plan NAME <<YAML: writes $T/NAME.yaml; prints its path.
plan() {
        cat >"$T/$1.yaml"
        echo "$T/$1.yaml"
}

plan_driver() { # plan_driver NAME GLOB [CUDA...]: a gate with {driver.version: GLOB}, workloads.cuda CUDA...
        local name=$1 glob=$2 w=""
        shift 2
        [ $# -eq 0 ] || w="workloads: {cuda: [$(printf '"%s",' "$@" | sed 's/,$//')]}"
        plan "$name" <<EOF
version: 1
name: $name
$w
steps:
  - id: driver-check
    kind: gate
    checks: [{driver.version: "$glob"}]
EOF
}

# ---------------------------------------------------------------- one scenario each

# verify's table: colours on a terminal only; to a file or a pipe, plain text
t_colour_only_on_a_tty() {
        host healthy-h100
        expect_rc 0 gb verify
        ! grep -q $'\033' "$T/out" || fail "terminal escapes in verify's output to a file"
        script -qec "$GPUBASE --root $R verify" /dev/null >"$T/tty" 2>&1 </dev/null || fail "verify failed on a tty"
        grep -q $'\033\[32m' "$T/tty" || fail "no colour on a tty"
        NO_COLOR=1 script -qec "$GPUBASE --root $R verify" /dev/null >"$T/tty" 2>&1 </dev/null || fail "verify failed on a tty"
        ! grep -q $'\033' "$T/tty" || fail "terminal escapes under NO_COLOR"
}

t_healthy_h100_all_ok() {
        host healthy-h100
        snapshot "$R" >"$T/before"
        vj 0
        eq "$(jq -r '[.checks[].name] | join(" ")' "$T/verify.json")" "$ALL_CHECKS" "the checks verify reports"
        eq "$(jq -r '[.checks[] | select(.status != "ok") | "\(.name)=\(.status)"] | join(" ")' "$T/verify.json")" \
                "$HEALTHY_SKIPS" "rows that are not ok"
        eq "$(jq -c .summary "$T/verify.json")" '{"ok":19,"warn":0,"fail":0,"skip":9}' "summary"
        check_is gpu.present ok "H100" "(Hopper)"
        check_is gpu.open-module-supported ok "open module at branch 595"
        check_is driver.loaded ok "595.45.01"
        check_is driver.flavor ok "open module 595.45.01"
        check_is driver.stale ok "package nvidia-open 595.45.01" "module on disk 595.45.01" "loaded 595.45.01"
        check_is driver.origin ok "developer.download.nvidia.com"
        check_is driver.nvml ok "NVML answers" "driver 595.45.01" "1 GPU" "compute capability 9.0" "CUDA ceiling 13.0"
        check_is driver.cuda-ceiling ok "13.0"
        check_is driver.held ok "nvidia-open 595.45.01-1 is held" "nvidia-driver-pinning-595"
        check_is ctk.installed ok "all four packages at 1.19.0-1" "nvidia-ctk 1.19.0"
        check_is ctk.held ok "all 4"
        check_is runtime.configured ok "nvidia-container-runtime" "1 other setting kept"
        check_is runtime.restarted ok "docker.service started at 2025-11-03T10:05:00Z"
        check_is toolkit.nvcc skip "no host CUDA toolkit"
        # text: one row per check, no fix line, the counts
        expect_rc 0 gb verify
        eq "$(grep -c . "$T/out")" 29 "text lines (28 rows + the counts)"
        not_contains "$T/out" "fix:" "healthy text report"
        out_has "19 ok, 0 warn, 0 fail, 9 skip"
        # read-only: nothing under the root changed, no state written
        snapshot "$R" >"$T/after"
        diff "$T/before" "$T/after" >&2 || fail "verify changed the root"
        absent "$R/var/lib/gpubase"
}

# verify reads what it needs once: NVIDIA's list names the H100, so pci.ids is never opened, not
# even its path resolved (the fixture has a copy of the host's in the root), nor libpci loaded; the
# PCI bus is listed once and dpkg's status read once for all the checks and facts; libapt-pkg and
# libarchive (and what they pull in) are not loaded.
t_reads_once_and_loads_no_apt() {
        host healthy-h100
        [ -s "$R/usr/share/misc/pci.ids" ] || fail "the fixture host has no pci.ids: the test proves nothing"
        expect_rc 0 env "$NO_LSAN" strace -f -y -o "$T/strace" -e trace=open,openat,openat2,read "$GPUBASE" --root "$R" verify --json
        jq -r '.checks[] | [.name, .status, .detail, (.fix // "")] | join("\u001f")' "$T/out" >"$T/rows"
        check_is gpu.present ok "H100" "(Hopper)"
        not_contains "$T/strace" "pci.ids" "the files verify opened"
        # read to its end once (each reader still looks whether it changed: open, fstat)
        eq "$(grep -cE 'read\([0-9]+<[^>]*/var/lib/dpkg/status>, "", [0-9]+\) += 0' "$T/strace")" 1 \
                "reads of dpkg's status to its end"
        eq "$(grep -cE 'sys/bus/pci/devices", O_RDONLY\|O_NONBLOCK\|O_CLOEXEC\|O_DIRECTORY' "$T/strace")" 1 \
                "listings of the PCI bus"
        local lib libs="libapt-pkg libgpubase-apt libarchive libxml2 libicu libpci"
        # libstdc++ too, unless the binary links it itself (san-check's build: the sanitizer's runtime)
        ldd "$GPUBASE" | grep -q 'libstdc++' || libs+=" libstdc++"
        for lib in $libs; do
                not_contains "$T/strace" "$lib" "the files verify opened"
        done
}

# NVIDIA recommends the open module on Hopper (H100/H200), and the proprietary one still works there:
# a warning with the reason, not a failure
t_proprietary_h100() {
        host proprietary-h100
        vj 2
        eq "$(not_ok)" "gpu.open-module-supported=warn driver.flavor=warn" "checks not ok"
        check_is driver.flavor warn "proprietary kernel module 535.104.05" "H100" "recommends the open kernel module on Hopper" \
                "still works"
        fix_has driver.flavor "open module (nvidia-open" "nvidia-driver-pinning-<branch>"
        check_is gpu.open-module-supported warn "NVIDIA recommends" "Hopper" "0000:01:00.0"
        fix_has gpu.open-module-supported "open module (nvidia-open"
        check_is driver.loaded ok "535.104.05"
}

t_stale_module() {
        host stale-module
        vj 1
        eq "$(not_ok)" "driver.stale=fail driver.nvml=fail" "failing checks"
        check_is driver.stale fail "reboot required" "package nvidia-open 595.58.02" "module on disk 595.58.02" \
                "loaded 595.45.01"
        fix_has driver.stale "reboot" "hold the driver packages"
        check_is driver.nvml fail "Failed to initialize NVML: Driver/library version mismatch" "loaded module 595.45.01"
        fix_has driver.nvml "reboot"
        # the ceiling still comes from somewhere: the table, for the loaded driver (595.45.01 is past
        # 13.1 Update 1's 590.48.01, short of 13.2's 595.45.04)
        check_is driver.cuda-ceiling ok "13.1" "CUDA/driver table" "595.45.01"

        # the reboot: the new module is loaded and NVML answers again
        simulate_reboot
        printf '595.58.02\n' >"$R/sys/module/nvidia/version"
        sed -i 's/595\.45\.01/595.58.02/' "$R/proc/driver/nvidia/version"
        printf 'driver=595.58.02\ncuda=13000\n' >"$R/usr/lib/x86_64-linux-gnu/fake-nvml.conf"
        vj 0
        check_is driver.stale ok "package nvidia-open 595.58.02" "module on disk 595.58.02" "loaded 595.58.02"
        check_is driver.nvml ok "driver 595.58.02"
}

t_secureboot_unloaded() {
        host secureboot-unloaded
        vj 1
        eq "$(not_ok)" "secureboot=fail driver.loaded=fail driver.stale=fail driver.nvml=fail" "failing checks"
        check_is secureboot fail "Secure Boot is enabled" "nvidia-open 595.45.01-1" "not loaded" "unsigned module"
        fix_has secureboot "mokutil --import" "MokManager"
        check_is driver.loaded fail "not loaded"
        fix_has driver.loaded "Secure Boot"
        check_is driver.stale fail "installed but not loaded" "loaded none"
        check_is driver.nvml fail "driver is not loaded"
        check_is driver.flavor skip
        check_is driver.version skip
        check_is driver.cuda-ceiling skip

        # the same machine with Secure Boot off: the module is simply not loaded yet
        printf '\x06\x00\x00\x00\x00' >"$R/sys/firmware/efi/efivars/SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c"
        vj 1
        check_is secureboot ok "disabled"
        fix_has driver.loaded "nvidia-open 595.45.01-1 is installed" "reboot"

        # Secure Boot on, before any driver is installed: a warning about what is coming
        printf '\x06\x00\x00\x00\x01' >"$R/sys/firmware/efi/efivars/SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c"
        rm -f "$R/var/lib/dpkg/status"
        rm -rf "$R/lib/modules"
        vj 1
        check_is secureboot warn "Secure Boot is enabled" "signing key"
        fix_has secureboot "mok.pub"
}

t_nouveau_loaded() {
        host nouveau-loaded
        vj 1
        eq "$(not_ok)" "nouveau=fail driver.loaded=fail driver.stale=fail driver.nvml=fail" "failing checks"
        check_is nouveau fail "nouveau module is loaded"
        fix_has nouveau "blacklist nouveau" "options nouveau modeset=0" "update-initramfs -u" "reboot"
        fix_has driver.loaded "nouveau"
        # /proc/modules alone is enough to see it
        rm -rf "$R/sys/module/nouveau"
        vj 1
        check_is nouveau fail "nouveau module is loaded"
        # and without it nouveau is not loaded
        rm -f "$R/proc/modules"
        vj 1
        check_is nouveau ok "not loaded"
}

t_volta_595() {
        host volta-595
        # as it is (proprietary 580, the last branch for Volta): the GPU and the module are fine
        # (its exit code and driver.flavor: see bug_volta_proprietary_580_is_ok)
        gb verify --json >"$T/verify.json" || true
        jq -r '.checks[] | [.name, .status, .detail, (.fix // "")] | join("\u001f")' "$T/verify.json" >"$T/rows"
        check_is gpu.present ok "Tesla V100" "(Volta)"
        check_is gpu.open-module-supported ok "proprietary module at branch 580"
        check_is driver.version ok "580.95.05"
        # against a plan that wants branch 595
        vj 1 --plan "$(plan_driver want-595 "595.*")"
        check_is gpu.open-module-supported fail "Tesla V100" "Volta" "branch 595 no longer supports Volta" "580 was the last"
        fix_has gpu.open-module-supported "580"
        check_is driver.version fail "580.95.05" "595.*"
        fix_has driver.version "595.*"
}

t_cuda13_on_570() {
        host cuda13-on-570
        vj 0
        check_is driver.cuda-ceiling ok "12.8" "NVML, driver 570.86.15"
        vj 1 --plan "$(plan workloads-13 <<'EOF'
version: 1
name: workloads-13
workloads: {cuda: ["12.4", "13.0"]}
steps:
  - {id: noop, kind: gate, checks: [driver.loaded]}
EOF
)"
        eq "$(not_ok)" "driver.cuda-ceiling=fail" "failing checks"
        check_is driver.cuda-ceiling fail "workload CUDA 13.0" "ceiling 12.8" "570.86.15" "CUDA driver version is insufficient"
        fix_has driver.cuda-ceiling "580.65.06" "12.8"
        # CUDA 12.8 is exactly what 570 serves
        vj 0 --plan "$(plan workloads-128 <<'EOF'
version: 1
name: workloads-128
workloads: {cuda: ["12.8"]}
steps:
  - {id: noop, kind: gate, checks: [driver.loaded]}
EOF
)"
        check_is driver.cuda-ceiling ok "covers workloads 12.8"
}

t_daemon_json_no_runtime() {
        host daemon-json-no-runtime
        vj 1
        eq "$(not_ok)" "runtime.configured=fail" "failing checks"
        check_is runtime.configured fail "/etc/docker/daemon.json" "no runtimes.nvidia" "never configured"
        fix_has runtime.configured "nvidia-ctk runtime configure --runtime=docker" "restart docker"
}

# daemon.json variants on the healthy host (each written before docker's start time)
t_daemon_json_variants() {
        host healthy-h100
        local dj=$R/etc/docker/daemon.json
        put_dj() {
                printf '%s' "$1" >"$dj"
                touch -d 2025-11-03T10:00:00Z "$dj"
        }
        put_dj '{"runtimes": {"nvidia": {"path": "/usr/bin/nvidia-container-runtime", "runtimeArgs": []}}}'
        vj 2
        eq "$(not_ok)" "runtime.configured=warn" "checks not ok (runtimeArgs)"
        check_is runtime.configured warn "runtimeArgs" "args"
        put_dj '{"runtimes": {"nvidia": {"path": "runc", "args": []}}}'
        vj 1
        check_is runtime.configured fail 'runtimes.nvidia.path is "runc"'
        put_dj '{"runtimes": {"nvidia": {"args": []}}}'
        vj 1
        check_is runtime.configured fail "runtimes.nvidia.path is missing"
        put_dj '{"features": {"cdi": true}, "log-driver": "journald"}'
        vj 0
        check_is runtime.configured ok "CDI mode"
        put_dj '{"default-runtime": "nvidia", "runtimes": {"nvidia": {"args": [], "path": "nvidia-container-runtime"}}}'
        vj 0
        check_is runtime.configured ok "default runtime nvidia" "0 other settings"
        put_dj '{"runtimes": {"nvidia": {"args": [], "path": "nvidia-container-runtime"}}'
        vj 1
        check_is runtime.configured fail "/etc/docker/daemon.json is not valid" "invalid JSON at byte"
        fix_has runtime.configured "repair the file by hand"
        put_dj ''
        vj 1
        check_is runtime.configured fail "is not valid" "unexpected end of file"
        put_dj '["runtimes"]'
        vj 1
        check_is runtime.configured fail "not a JSON object"
        rm -f "$dj"
        vj 1
        check_is runtime.configured fail "/etc/docker/daemon.json does not exist"
        check_is runtime.restarted skip "no configuration file"
}

t_daemon_json_changed_after_start() {
        host daemon-json-changed-after-start
        vj 1
        eq "$(not_ok)" "runtime.restarted=fail" "failing checks"
        check_is runtime.restarted fail "changed at 2025-11-03T10:20:00Z" "docker.service started at 2025-11-03T10:05:00Z" \
                "does not use the nvidia runtime yet"
        fix_has runtime.restarted "restart docker" "systemctl restart docker.service"
        # docker restarted
        touch -d 2025-11-03T10:30:00Z "$R/run/docker.pid"
        vj 0
        check_is runtime.restarted ok "started at 2025-11-03T10:30:00Z"
        # docker not running at all
        rm -f "$R/run/docker.pid"
        vj 0
        check_is runtime.restarted skip "docker.service is not running"
}

t_containerd_no_import() {
        host containerd-no-import
        vj 1
        eq "$(not_ok)" "runtime.configured=fail" "failing checks"
        check_is runtime.configured fail "/etc/containerd/conf.d/99-nvidia.toml is never read" "no imports line"
        fix_has runtime.configured 'imports = ["/etc/containerd/conf.d/*.toml"]' "restart containerd"
        check_is runtime.restarted ok "containerd.service started at 2025-11-03T10:05:00Z"
        # the import added (now: after containerd started)
        { echo 'imports = ["/etc/containerd/conf.d/*.toml"]'; cat "$R/etc/containerd/config.toml"; } >"$T/config.toml"
        cp "$T/config.toml" "$R/etc/containerd/config.toml"
        vj 1
        eq "$(not_ok)" "runtime.restarted=fail" "failing checks after the import"
        check_is runtime.configured ok "99-nvidia.toml"
        check_is runtime.restarted fail "containerd.service"
        fix_has runtime.restarted "systemctl restart containerd.service"
        touch "$R/run/containerd/containerd.sock"
        vj 0
        # an imports line that names another directory
        sed -i 's|^imports = .*|imports = ["/etc/containerd/other.d/*.toml"]|' "$R/etc/containerd/config.toml"
        touch -d 2025-11-03T10:00:00Z "$R/etc/containerd/config.toml"
        vj 1
        check_is runtime.configured fail "does not cover it"
}

# the host name of the Debian archive this machine's apt sources use (the fixture's list is named
# after it: mkhost.sh)
debian_archive_host() {
        local uri
        uri=$("$IT_DIR/../lib/debian-mirror.sh" --uri) || fail "this machine's apt sources name no Debian archive"
        uri=${uri#*://}
        echo "${uri%%/*}"
}

t_distro_origin() {
        host distro-origin
        vj 1
        eq "$(not_ok)" "driver.origin=fail" "failing checks"
        check_is driver.origin fail "nvidia-open-kernel-dkms 525.147.05-4~deb12u1" "distribution's package" \
                "$(debian_archive_host)" "not developer.download.nvidia.com's"
        fix_has driver.origin "developer.download.nvidia.com"
        check_is driver.stale ok "525.147.05"
        # no list offers that version: cannot tell
        rm -rf "$R/var/lib/apt/lists"
        vj 2
        check_is driver.origin warn "cannot tell where" "525.147.05-4~deb12u1"
}

# No NVIDIA GPU on the bus, Debian's module installed (make e2e-real's guest): the module cannot load,
# and driver.loaded says why instead of sending the reader to dmesg; the module on disk is found
# through Debian's modprobe configuration (nvidia-current-open.ko)
t_no_gpu_on_bus() {
        host no-gpu-distro
        vj 1
        check_is driver.loaded fail "no NVIDIA GPU on the PCI bus"
        fix_has driver.loaded "No such device" "instance type"
        check_is gpu.present fail "no NVIDIA GPU on the PCI bus"
        facts_are '.driver.on_disk == "535.261.03" and .driver.installed == "535.261.03" and .driver.loaded == null'
}

# An H200 that Debian 12's pci.ids does not know: named and placed by NVIDIA's list
t_h200_unknown() {
        host h200-unknown
        vj 0
        check_is gpu.present ok "1x NVIDIA H200 (Hopper)"
        check_is gpu.open-module-supported ok
        facts_are '.gpus[0].name == "NVIDIA H200" and .gpus[0].arch == "Hopper"'
}

# A device neither NVIDIA's list nor pci.ids names: unknown, a warning that says what, never a guess
t_unlisted_gpu() {
        host unlisted-gpu
        vj 2
        eq "$(not_ok)" "gpu.present=warn gpu.open-module-supported=warn" "checks not ok"
        check_is gpu.present warn "10de:2ffe" "architecture unknown" "not in NVIDIA's list (driver 595.45.04)" "pci.ids"
        fix_has gpu.present "by hand" "update-pciids"
        check_is gpu.open-module-supported warn "cannot tell" "10de:2ffe"
        facts_are '.gpus[0].id == "10de:2ffe" and .gpus[0].name == null and .gpus[0].arch == null'
}

# Today's GPUs, none of which Debian 12's pci.ids names, on a healthy R595 GA stack: the right name
# and architecture from NVIDIA's list, no warning
t_current_gpus_healthy() {
        local s name arch
        while IFS=: read -r s name arch; do
                rehost "$s"
                vj 0
                eq "$(jq -r '[.checks[] | select(.status != "ok") | "\(.name)=\(.status)"] | join(" ")' "$T/verify.json")" \
                        "$HEALTHY_SKIPS" "$s: rows that are not ok"
                check_is gpu.present ok "1x $name ($arch)"
                check_is gpu.open-module-supported ok "open module" "supports every GPU"
                check_is driver.flavor ok "open module 595.45.04"
                check_is driver.cuda-ceiling ok "13.2" "595.45.04"
                facts_are ".gpus[0].name == \"$name\" and .gpus[0].arch == \"${arch#Grace }\""
                case $arch in Grace*) facts_are '.gpus[0].grace == true' ;; *) facts_are '.gpus[0].grace == false' ;; esac
                facts_are '.cuda_ceiling == "13.2"'
        done <<'HOSTS'
b200:NVIDIA B200:Blackwell
gb200:NVIDIA GB200:Grace Blackwell
h200-nvl:NVIDIA H200 NVL:Hopper
rtx-pro-6000-blackwell:NVIDIA RTX PRO 6000 Blackwell Workstation Edition:Blackwell
gh200:NVIDIA GH200 120GB:Grace Hopper
HOSTS
}

# The proprietary module on Blackwell or Grace Hopper: NVIDIA requires the open one there
t_proprietary_on_blackwell_and_grace_hopper_fails() {
        local s
        for s in b200 gb200 rtx-pro-6000-blackwell gh200; do
                rehost "$s"
                printf 'NVRM version: NVIDIA UNIX x86_64 Kernel Module  595.45.04  Thu Feb 26 2026\n' \
                        >"$R/proc/driver/nvidia/version"
                vj 1
                eq "$(not_ok)" "gpu.open-module-supported=fail driver.flavor=fail" "$s: failing checks"
                check_is driver.flavor fail "proprietary kernel module 595.45.04" "requires the open kernel module"
                fix_has driver.flavor "install nvidia-open" "nvidia-driver-pinning-<branch>" "reboot"
                check_is gpu.open-module-supported fail "requires the open kernel module"
        done
        # H200 NVL is Hopper without Grace: recommended, a warning
        rehost h200-nvl
        printf 'NVRM version: NVIDIA UNIX x86_64 Kernel Module  595.45.04  Thu Feb 26 2026\n' >"$R/proc/driver/nvidia/version"
        vj 2
        check_is driver.flavor warn "recommends the open kernel module on Hopper"
}

t_nvml_library_missing() {
        host healthy-h100
        rm -f "$R/usr/lib/x86_64-linux-gnu/libnvidia-ml.so.1"
        vj 1
        eq "$(not_ok)" "driver.nvml=fail" "failing checks"
        check_is driver.nvml fail "libnvidia-ml.so.1" "missing"
        check_is driver.cuda-ceiling ok "13.1" "CUDA/driver table, loaded driver 595.45.01"
}

# ---------------------------------------------------------------- verify --json's facts

# facts_are JQ: the report's .facts satisfies JQ (a jq boolean over .facts); on failure it is shown.
facts_are() {
        jq -e ".facts | $1" "$T/verify.json" >/dev/null || {
                jq -c .facts "$T/verify.json" | sed 's/^/    | /' >&2
                fail "verify --json facts: not $1"
        }
}

FACT_KEYS='["ctk","cuda_ceiling","cuda_ceiling_source","driver","gpus","kernels","nvml","nvswitches","runtime"]'
CTK4='"nvidia-container-toolkit","nvidia-container-toolkit-base","libnvidia-container-tools","libnvidia-container1"'

t_facts_converged() {
        host healthy-h100
        vj 0
        eq "$(jq -c 'keys' "$T/verify.json")" '["checks","facts","format","summary"]' "top-level keys"
        facts_are "keys == $FACT_KEYS"
        facts_are '.driver == {"loaded": "595.45.01", "flavor": "open", "on_disk": "595.45.01", "installed": "595.45.01",
                               "package": "nvidia-open", "package_version": "595.45.01-1"}'
        facts_are '.nvml == {"status": "ok", "driver": "595.45.01"}'
        facts_are '.cuda_ceiling == "13.0" and .cuda_ceiling_source == "nvml"'
        facts_are ".ctk == {\"version\": \"1.19.0-1\", \"packages\": ([$CTK4] | map({(.): \"1.19.0-1\"}) | add)}"
        facts_are '.runtime == {"name": "docker", "default_runtime": null, "cdi": false}'
        facts_are '(.gpus | length) == 1 and .gpus[0].pci == "0000:01:00.0" and .gpus[0].id == "10de:2330"
                   and .gpus[0].arch == "Hopper" and (.gpus[0].name | test("H100"))'
        # the text report is for people: no facts there
        expect_rc 0 gb verify
        not_contains "$T/out" "cuda_ceiling"

        # another driver and ceiling on the same layout
        rehost cuda13-on-570
        vj 0
        facts_are '.driver.loaded == "570.86.15" and .cuda_ceiling == "12.8" and .cuda_ceiling_source == "nvml"'
        # without NVML the ceiling comes from the CUDA/driver table, for the loaded module
        rehost healthy-h100
        rm -f "$R/usr/lib/x86_64-linux-gnu/libnvidia-ml.so.1"
        vj 1
        facts_are '.nvml == {"status": "no-library", "driver": null} and .cuda_ceiling == "13.1"
                   and .cuda_ceiling_source == "table" and .driver.loaded == "595.45.01"'
}

t_facts_without_driver() {
        host secureboot-unloaded
        printf '\x06\x00\x00\x00\x00' >"$R/sys/firmware/efi/efivars/SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c"
        # installed, not loaded yet: what is on disk is known, nothing that needs the module is
        vj 1
        facts_are '.driver == {"loaded": null, "flavor": null, "on_disk": "595.45.01", "installed": "595.45.01",
                               "package": "nvidia-open", "package_version": "595.45.01-1"}'
        facts_are '.nvml.status == "driver-not-loaded" and .nvml.driver == null'
        facts_are '.cuda_ceiling == null and .cuda_ceiling_source == null and .ctk.version == "1.19.0-1"'
        # nothing installed at all: nulls, never guesses
        rm -f "$R/var/lib/dpkg/status" "$R/usr/lib/x86_64-linux-gnu/libnvidia-ml.so.1"
        rm -rf "$R/lib/modules"
        vj 1
        facts_are "keys == $FACT_KEYS"
        facts_are '.driver == {"loaded": null, "flavor": null, "on_disk": null, "installed": null, "package": null,
                               "package_version": null}'
        facts_are '.nvml == {"status": "no-library", "driver": null}'
        facts_are '.cuda_ceiling == null and .cuda_ceiling_source == null'
        facts_are ".ctk == {\"version\": null, \"packages\": ([$CTK4] | map({(.): null}) | add)}"
        facts_are '(.gpus | length) == 1 and .gpus[0].arch == "Hopper"'
        # no PCI bus to read: no GPU list, not an empty one
        rm -rf "$R/sys/bus/pci"
        gb verify --json >"$T/verify.json" || true
        facts_are '.gpus == null'
}

t_facts_stale_and_mixed() {
        host stale-module
        vj 1
        facts_are '.driver.loaded == "595.45.01" and .driver.on_disk == "595.58.02" and .driver.installed == "595.58.02"'
        facts_are '.nvml.status == "version-mismatch" and .cuda_ceiling_source == "table"'
        # the toolkit at two versions: no single version, each package's own
        rehost healthy-h100
        local st=$R/var/lib/dpkg/status
        awk '/^Package: / { p = $2 } /^Version: / && p == "libnvidia-container1" { $0 = "Version: 1.18.0-1" } { print }' \
                "$st" >"$T/status"
        cp "$T/status" "$st"
        vj 1
        facts_are '.ctk.version == null and .ctk.packages["libnvidia-container1"] == "1.18.0-1"
                   and .ctk.packages["nvidia-container-toolkit"] == "1.19.0-1"'
        # CDI mode and a default runtime, as daemon.json says
        printf '%s' '{"default-runtime": "nvidia", "features": {"cdi": true}}' >"$R/etc/docker/daemon.json"
        gb verify --json >"$T/verify.json" || true
        facts_are '.runtime == {"name": "docker", "default_runtime": "nvidia", "cdi": true}'
}

# packages not held, the toolkit at two versions (dpkg's status file edited on the healthy host)
t_held_and_ctk_versions() {
        host healthy-h100
        local st=$R/var/lib/dpkg/status
        # nvidia-open and libnvidia-container-tools selected "install" instead of "hold"
        awk '/^Package: / { p = $2 } /^Status: hold / && (p == "nvidia-open" || p == "libnvidia-container-tools") {
                sub(/^Status: hold /, "Status: install ") } { print }' "$st" >"$T/status"
        cp "$T/status" "$st"
        vj 1
        eq "$(not_ok)" "driver.held=fail ctk.held=fail" "failing checks"
        check_is driver.held fail "nvidia-open is not held" "Driver/library version mismatch"
        fix_has driver.held "apt-mark hold nvidia-open"
        check_is ctk.held fail "not held: libnvidia-container-tools"
        fix_has ctk.held "apt-mark hold libnvidia-container-tools"
        # libnvidia-container1 one version behind
        awk '/^Package: / { p = $2 } /^Version: / && p == "libnvidia-container1" { $0 = "Version: 1.18.0-1" } { print }' \
                "$st" >"$T/status"
        cp "$T/status" "$st"
        vj 1
        check_is ctk.installed fail "different versions" "libnvidia-container1 1.18.0-1" "nvidia-container-toolkit 1.19.0-1"
        fix_has ctk.installed "pin all four to one version"
        # and one of the four missing
        awk 'BEGIN { RS = ""; ORS = "\n\n" } !/^Package: libnvidia-container1\n/' "$st" >"$T/status"
        cp "$T/status" "$st"
        vj 1
        check_is ctk.installed fail "missing: libnvidia-container1"
        fix_has ctk.installed "install all four packages at 1.19.0-1"
}

# The CUDA repository's layout as a plan installs it: the module's package (nvidia-kernel-open-dkms)
# is not held itself; the held metapackage nvidia-open depends on exactly its version, which locks it.
t_held_through_metapackage() {
        host healthy-h100
        local st=$R/var/lib/dpkg/status
        awk '{ print } /^Package: nvidia-open$/ { print "Depends: nvidia-kernel-open-dkms (= 595.45.01-1)" }' "$st" >"$T/status"
        printf '\nPackage: nvidia-kernel-open-dkms\nStatus: install ok installed\nArchitecture: amd64\nVersion: 595.45.01-1\nDescription: module\n' >>"$T/status"
        cp "$T/status" "$st"
        # the repository's list offers the module's package too (driver.origin looks it up)
        local l
        l=$(grep -l '^Package: nvidia-open$' "$R"/var/lib/apt/lists/*_Packages | head -1)
        printf '\nPackage: nvidia-kernel-open-dkms\nArchitecture: amd64\nVersion: 595.45.01-1\nFilename: ./k.deb\n\n' >>"$l"
        vj 0
        check_is driver.held ok "nvidia-kernel-open-dkms 595.45.01-1 is held (through nvidia-open" "nvidia-driver-pinning-595"
        # a looser dependency does not lock the module's package
        sed -i 's/^Depends: nvidia-kernel-open-dkms (= 595.45.01-1)$/Depends: nvidia-kernel-open-dkms (>= 595.45.01-1)/' "$st"
        vj 1
        eq "$(not_ok)" "driver.held=fail" "failing checks"
        check_is driver.held fail "nvidia-kernel-open-dkms is not held"
        fix_has driver.held "apt-mark hold nvidia-kernel-open-dkms"
}

# the DKMS module on disk was built for another kernel than the running one
t_module_built_for_other_kernel() {
        host healthy-h100
        local ko=$R/lib/modules/6.1.0-test/updates/dkms/nvidia.ko
        cat >"$T/modinfo.c" <<'EOF'
__attribute__((section(".modinfo"), used)) static const char m_version[] = "version=595.45.01";
__attribute__((section(".modinfo"), used)) static const char m_vermagic[] = "vermagic=6.1.0-old SMP preempt mod_unload modversions ";
EOF
        "${CC:-cc}" -c "$T/modinfo.c" -o "$ko"
        vj 1
        eq "$(not_ok)" "driver.stale=fail" "failing checks"
        check_is driver.stale fail "built for kernel '6.1.0-old'" "running kernel is 6.1.0-test"
        fix_has driver.stale "dkms autoinstall" "6.1.0-test"
}

# kernel_ko RELEASE VERSION: the nvidia module VERSION built for kernel RELEASE, where DKMS puts it
kernel_ko() {
        local ko=$R/lib/modules/$1/updates/dkms/nvidia.ko
        mkdir -p "$(dirname "$ko")"
        cat >"$T/ko.c" <<EOF
__attribute__((section(".modinfo"), used)) static const char m_version[] = "version=$2";
__attribute__((section(".modinfo"), used)) static const char m_vermagic[] = "vermagic=$1 SMP preempt mod_unload modversions ";
EOF
        "${CC:-cc}" -c "$T/ko.c" -o "$ko"
}

# two_kernels: the healthy host runs 6.1.0-9-amd64 (module built for it) and 6.1.0-28-amd64 is
# installed beside it (a kernel upgrade), with no module: dpkg's order makes 28 the newer one,
# where strcmp() would pick 9
two_kernels() {
        host healthy-h100
        rm -rf "$R/lib/modules/6.1.0-test" "$R/boot/vmlinuz-6.1.0-test"
        printf '6.1.0-9-amd64\n' >"$R/proc/sys/kernel/osrelease"
        mkdir -p "$R/boot" "$R/lib/modules/6.1.0-28-amd64/kernel"
        printf 'kernel image\n' >"$R/boot/vmlinuz-6.1.0-9-amd64"
        printf 'kernel image\n' >"$R/boot/vmlinuz-6.1.0-28-amd64"
        printf 'not a kernel\n' >"$R/boot/vmlinuz-6.1.0-99-amd64.dpkg-bak"
        ln -s vmlinuz-6.1.0-28-amd64 "$R/boot/vmlinuz"
        kernel_ko 6.1.0-9-amd64 595.45.01
}

t_next_kernel_without_module() {
        two_kernels
        vj 1
        eq "$(not_ok)" "driver.stale=warn driver.next-kernel=fail" "checks not ok"
        check_is driver.next-kernel fail "kernel 6.1.0-28-amd64 boots next (the newest of 2 installed) and has no nvidia module, nor its headers" \
                "6.1.0-9-amd64 (running): 595.45.01; 6.1.0-28-amd64 (next): no module"
        fix_has driver.next-kernel "install linux-headers-6.1.0-28-amd64" "reboot only then"
        check_is driver.stale warn "kernel 6.1.0-28-amd64, which boots next, has no nvidia module"
        facts_are '.kernels == [{"release": "6.1.0-9-amd64", "running": true, "next": false, "headers": false, "module": "595.45.01"},
                                {"release": "6.1.0-28-amd64", "running": false, "next": true, "headers": false, "module": null}]'
        # the text report names the kernel and the fix
        expect_rc 1 gb verify
        out_has "kernel 6.1.0-28-amd64 boots next"
        out_has "fix: install linux-headers-6.1.0-28-amd64"
        # headers there (by hand): the fix is DKMS's
        mkdir -p "$R/lib/modules/6.1.0-28-amd64/build"
        : >"$R/lib/modules/6.1.0-28-amd64/build/Makefile"
        vj 1
        fix_has driver.next-kernel "dkms autoinstall -k 6.1.0-28-amd64"
        facts_are '.kernels[1].headers == true'
        # built, but an older driver's module: still not what the next boot needs
        kernel_ko 6.1.0-28-amd64 595.40.01
        vj 1
        check_is driver.next-kernel fail "kernel 6.1.0-28-amd64 boots next with the nvidia module 595.40.01, the installed package is 595.45.01"
        # built for both: ok
        kernel_ko 6.1.0-28-amd64 595.45.01
        vj 0
        check_is driver.next-kernel ok "kernel 6.1.0-28-amd64 boots next and has the module 595.45.01"
        check_is driver.stale ok "loaded 595.45.01"
        facts_are '[.kernels[].module] == ["595.45.01", "595.45.01"]'
}

# the running kernel is the newest: nothing else to build for; no /boot at all: nothing to judge
t_next_kernel_running_or_none() {
        two_kernels
        rm "$R/boot/vmlinuz-6.1.0-28-amd64"
        vj 0
        check_is driver.next-kernel ok "kernel 6.1.0-9-amd64 boots next and has the module 595.45.01 (6.1.0-9-amd64 (running, next): 595.45.01)"
        rm -rf "${R:?}/boot"
        vj 0
        check_is driver.next-kernel skip "no kernel image in /boot"
        facts_are '.kernels == null'
}

# an optional host CUDA toolkit above the driver's ceiling
t_toolkit_nvcc() {
        host cuda13-on-570
        mkdir -p "$R/usr/local/cuda/bin"
        cat >"$R/usr/local/cuda/bin/nvcc" <<'EOF'
#!/bin/sh
echo "nvcc: NVIDIA (R) Cuda compiler driver"
echo "Cuda compilation tools, release 13.0, V13.0.48"
EOF
        chmod 0755 "$R/usr/local/cuda/bin/nvcc"
        vj 1
        eq "$(not_ok)" "toolkit.nvcc=fail" "failing checks"
        check_is toolkit.nvcc fail "host CUDA toolkit 13.0 is above the driver's ceiling 12.8"
        fix_has toolkit.nvcc "12.8"
        sed -i 's/release 13.0, V13.0.48/release 12.8, V12.8.93/' "$R/usr/local/cuda/bin/nvcc"
        vj 0
        check_is toolkit.nvcc ok "12.8 <= ceiling 12.8"
}

# ---------------------------------------------------------------- verify --plan, text output

t_verify_plan_intent() {
        host healthy-h100
        vj 1 --plan "$(plan_driver want-570 "570.*")"
        check_is driver.version fail "the loaded module is 595.45.01" "570.*"
        fix_has driver.version "570.*"
        check_is gpu.open-module-supported ok "branch 570"
        vj 0 --plan "$(plan_driver want-595 "595.*" 12.8 13.0)"
        check_is driver.version ok "595.45.01 matches 595.*"
        check_is driver.cuda-ceiling ok "covers workloads 12.8, 13.0"
        vj 1 --plan "$(plan stack <<'EOF'
version: 1
name: stack
steps:
  - id: stack
    kind: gate
    checks: [{driver.flavor: proprietary}, {ctk.installed: "1.18.0-1"}, {driver.origin: "example.com/repo"}]
EOF
)"
        check_is driver.flavor fail "open module 595.45.01 is loaded, the plan wants the proprietary one"
        check_is ctk.installed fail "installed 1.19.0-1, the plan wants 1.18.0-1"
        check_is driver.origin fail "example.com/repo"
}

t_text_output_fix_lines() {
        host stale-module
        expect_rc 1 gb verify
        out_has "driver.stale"
        out_has "fix: reboot to load the installed driver"
        out_has "fix: reboot to load the module that matches"
        eq "$(grep -c 'fix:' "$T/out")" 2 "fix lines (one per failing check)"
        out_has "16 ok, 0 warn, 2 fail, 10 skip"
        # warnings get their fix too, and exit 2
        rehost unlisted-gpu
        expect_rc 2 gb verify
        out_has "fix: check the GPU model by hand"
        eq "$(grep -c 'fix:' "$T/out")" 2 "fix lines (one per warning)"
}

# ---------------------------------------------------------------- plan-time refusals

t_refusal_volta_branch_595() {
        host volta-595
        local p
        p=$(plan_driver want-595 "595.*")
        snapshot "$R" >"$T/before"
        expect_rc 65 gb plan check "$p"
        err_has "plan refused"
        err_has "Volta"
        err_has "580"
        err_has "580"
        expect_rc 65 gb run "$p"
        err_has "Volta"
        err_has "580"
        # refused before anything ran
        absent "$R/$STATE_REL"
        snapshot "$R" >"$T/after"
        diff "$T/before" "$T/after" >&2 || fail "a refused run changed the root"
        # the same plan is fine on an H100
        rehost healthy-h100
        expect_rc 0 gb plan check "$p"
        out_has "is valid"
}

t_refusal_cuda13_on_570() {
        host cuda13-on-570
        local p
        p=$(plan_driver cuda13-570 "570.*" 13.0)
        expect_rc 65 gb plan check "$p"
        err_has "13.0"
        err_has "580.65.06"
        err_has "branch 570"
        err_has "12.8"
        expect_rc 65 gb run "$p" --reboot=exit
        err_has "580.65.06"
        absent "$R/$STATE_REL"
        # workloads that branch 570 serves, or a branch that serves 13.0: accepted
        expect_rc 0 gb plan check "$(plan_driver cuda128-570 "570.*" 12.8)"
        expect_rc 0 gb plan check "$(plan_driver cuda13-580 "580.*" 13.0)"
        # on the healthy H100: the branch-595 plan with CUDA 13.0 workloads passes
        rehost healthy-h100
        expect_rc 0 gb plan check "$(plan_driver cuda13-595 "595.*" 13.0)"
        # the 570 plan is wrong whatever the host
        expect_rc 65 gb plan check "$p"
        err_has "580.65.06"
}

# plan_flavor NAME FLAVOR GLOB: a gate with {driver.flavor: FLAVOR} and {driver.version: GLOB}
plan_flavor() {
        plan "$1" <<EOF
version: 1
name: $1
steps:
  - id: driver-check
    kind: gate
    checks: [{driver.flavor: $2}, {driver.version: "$3"}]
EOF
}

t_refusal_proprietary_on_blackwell_and_grace_hopper() {
        local p s
        p=$(plan_flavor proprietary-595 proprietary "595.*")
        for s in b200 gb200 rtx-pro-6000-blackwell gh200; do
                rehost "$s"
                snapshot "$R" >"$T/before"
                expect_rc 65 gb plan check "$p"
                err_has "plan refused"
                err_has "requires the open kernel module"
                err_has "nvidia-open"
                expect_rc 65 gb run "$p"
                absent "$R/$STATE_REL"
                snapshot "$R" >"$T/after"
                diff "$T/before" "$T/after" >&2 || fail "a refused run changed the root"
        done
        # the proprietary module on an H100 or H200 NVL is recommended against, not refused
        for s in healthy-h100 h200-nvl; do
                rehost "$s"
                expect_rc 0 gb plan check "$p"
        done
        # the open module on Blackwell is what NVIDIA asks for
        rehost b200
        expect_rc 0 gb plan check "$(plan_flavor open-595 open "595.*")"
}

t_refusal_open_before_turing() {
        host volta-595
        expect_rc 65 gb plan check "$(plan_flavor open-580 open "580.*")"
        err_has "Tesla V100"
        err_has "Turing and newer only"
        err_has "nvidia-driver-pinning-580"
        not_contains "$T/err" "cuda-drivers-580" "the refusal's advice"
        expect_rc 0 gb plan check "$(plan_flavor proprietary-580 proprietary "580.*")"
}

# The CUDA/driver table through 13.2 Update 2, a release newer than the table, and the local table
t_cuda_table_current() {
        host b200
        # 13.1 and 13.2, GA and Update 1: served by 595, not by 580; 13.1 Update 1 by 590
        expect_rc 0 gb plan check "$(plan_driver cuda132-595 "595.*" 13.1 13.1.1 13.2 13.2.1 12.9.1)"
        expect_rc 0 gb plan check "$(plan_driver cuda131-590 "590.*" 13.1.1 13.0.2)"
        expect_rc 65 gb plan check "$(plan_driver cuda132-590 "590.*" 13.2)"
        err_has "driver branch 590 serves CUDA up to 13.1, but workload CUDA 13.2 needs driver 595.45.04"
        expect_rc 65 gb plan check "$(plan_driver cuda131-580 "580.*" 13.1)"
        err_has "590.44.01"
        vj 0 --plan "$(plan_driver cuda132-595b "595.*" 13.2 13.2.1)"
        check_is driver.cuda-ceiling ok "CUDA ceiling 13.2" "covers workloads 13.2, 13.2.1"
        # newer than the table: refused, naming the newest known row and the local table
        local p
        p=$(plan_driver cuda133-595 "595.*" 13.3)
        expect_rc 65 gb plan check "$p"
        err_has "workloads.cuda 13.3 is newer than the newest CUDA release in the CUDA/driver table, 13.2 Update 2 (driver 595.71.05"
        err_has "/etc/gpubase/cuda-driver.tsv"
        # not a release at all
        expect_rc 65 gb plan check "$(plan_driver cuda127 "595.*" 12.7)"
        err_has "12.7 is not a CUDA release in the CUDA/driver table"
        # the site's table adds 13.3 ...
        mkdir -p "$R/etc/gpubase"
        printf '# our rows\n13.3\t600.20.01\n' >"$R/etc/gpubase/cuda-driver.tsv"
        expect_rc 65 gb plan check "$p"
        err_has "driver branch 595 serves CUDA up to 13.2, but workload CUDA 13.3 needs driver 600.20.01"
        expect_rc 0 gb plan check "$(plan_driver cuda133-600 "600.*" 13.3)"
        # ... and overrides a built-in row
        printf '13.3\t600.20.01\n13.0\t590.10.00\n' >"$R/etc/gpubase/cuda-driver.tsv"
        expect_rc 65 gb plan check "$(plan_driver cuda13-580 "580.*" 13.0)"
        err_has "workload CUDA 13.0 needs driver 590.10.00"
        # a malformed row is refused with its line
        printf '13.3 600.20.01\n' >"$R/etc/gpubase/cuda-driver.tsv"
        expect_rc 65 gb plan check "$p"
        err_has "/etc/gpubase/cuda-driver.tsv:1"
        vj 1 --plan "$p"
        check_is driver.cuda-ceiling fail "local CUDA/driver table is not valid"
        # without the local file, the built-in table again
        rm -f "$R/etc/gpubase/cuda-driver.tsv"
        expect_rc 0 gb plan check "$(plan_driver cuda13-580b "580.*" 13.0)"
}

# The local table also gives the ceiling when NVML cannot: a driver newer than the built-in table
t_cuda_local_table_ceiling() {
        host b200
        rm -f "$R/usr/lib/x86_64-linux-gnu/libnvidia-ml.so.1"
        printf '600.20.01\n' >"$R/sys/module/nvidia/version"
        gb verify --json >"$T/verify.json" || true
        facts_are '.cuda_ceiling == "13.2" and .cuda_ceiling_source == "table"'
        mkdir -p "$R/etc/gpubase"
        printf '13.3\t600.20.01\n' >"$R/etc/gpubase/cuda-driver.tsv"
        gb verify --json >"$T/verify.json" || true
        facts_are '.cuda_ceiling == "13.3" and .cuda_ceiling_source == "table"'
}

# plans/data/gen-gpus.py: the GPU table from the open module's README, and what it refuses to guess
t_gen_gpus_script() {
        local gen=$REPO_DIR/plans/data/gen-gpus.py
        cat >"$T/README.md" <<'MD'
This is the source release of the NVIDIA Linux open GPU kernel modules,
version 595.45.04.

## Compatible GPUs

| Product Name                                            | PCI ID         |
| ------------------------------------------------------- | -------------- |
| NVIDIA H100 80GB HBM3                                   | 2330 10DE 16C0 |
| NVIDIA GH200 120GB                                      | 2342 10DE 16EB |
| NVIDIA GH200 480GB                                      | 2342 10DE 1809 |
| NVIDIA B200                                             | 2901 10DE 1999 |
| NVIDIA TITAN RTX                                        | 1E02           |

## Something else
| Not a GPU                                               | 9999           |
MD
        "$gen" "$T/README.md" 2026-03-05 >"$T/gpus.tsv" 2>"$T/err" || fail "gen-gpus.py failed: $(cat "$T/err")"
        eq "$(grep -vc '^#' "$T/gpus.tsv")" 4 "generated rows (one per device ID, sorted)"
        eq "$(grep -v '^#' "$T/gpus.tsv" | cut -f1 | tr '\n' ' ')" "1E02 2330 2342 2901 " "device IDs"
        grep -q $'^2901\tBlackwell\tyes\t-\tno\tNVIDIA B200$' "$T/gpus.tsv" || fail "B200 row"
        grep -q $'^2342\tHopper\tyes\t-\tyes\tNVIDIA GH200 120GB$' "$T/gpus.tsv" || fail "GH200 row"
        contains "$T/gpus.tsv" "# release: 595.45.04" "generated header"
        contains "$T/gpus.tsv" "# date: 2026-03-05" "generated header"
        # an ID in a block with no architecture decided: refused, not guessed
        sed 's/| 2901 10DE 1999 |/| 3A01 10DE 1999 |/' "$T/README.md" >"$T/README-new.md"
        if "$gen" "$T/README-new.md" 2026-03-05 >/dev/null 2>"$T/err"; then fail "an unknown block was accepted"; fi
        contains "$T/err" "3A01" "gen-gpus.py's refusal"
        # a pci.ids that disagrees with the blocks stops it
        printf '10de  NVIDIA Corporation\n\t2901  AD102 [made up]\n' >"$T/pci.ids"
        if "$gen" "$T/README.md" 2026-03-05 "$T/pci.ids" >/dev/null 2>"$T/err"; then fail "a disagreement was accepted"; fi
        contains "$T/err" "pci.ids says" "gen-gpus.py's refusal"
        # --driver-readme: the pre-Turing IDs of the driver README's appendix A1, open no, last branch 580
        cat >"$T/README.txt" <<'TXT'
the 550.163.01 driver, and then go to the Supported Products List.

A1. CURRENT NVIDIA GPUS

 NVIDIA GPU product                               Device PCI ID*  VDPAU features
 -----------------------------------------------  --------------  --------------
 Tesla M60                                        13F2            E
 Tesla P40                                        1B38            H
 NVIDIA GeForce MX250                             1D52            H
 NVIDIA GeForce MX250                             1D52 17AA 22B0  H
 NVIDIA TITAN V                                   1D81            J
 Tesla V100-SXM2-16GB                             1DB1 10DE 1212  J
 NVIDIA TITAN RTX                                 1E02            J

Below are the legacy GPUs that are no longer supported in the unified driver.

 GeForce GTX 680                                  1180            D
TXT
        sed -i '1s/^/Please go to the archive page, follow the link for\n/' "$T/README.txt"
        "$gen" --driver-readme "$T/README.txt" "$T/README.md" 2026-03-05 >"$T/gpus.tsv" 2>"$T/err" ||
                fail "gen-gpus.py --driver-readme failed: $(cat "$T/err")"
        eq "$(grep -v '^#' "$T/gpus.tsv" | cut -f1 | tr '\n' ' ')" "13F2 1B38 1D52 1D81 1DB1 1E02 2330 2342 2901 " \
                "device IDs with the pre-Turing ones (the legacy 470 list's 1180 left out)"
        grep -q $'^1B38\tPascal\tno\t580\tno\tTesla P40$' "$T/gpus.tsv" || fail "P40 row"
        grep -q $'^1D52\tPascal\tno\t580\tno\tNVIDIA GeForce MX250$' "$T/gpus.tsv" || fail "GP108 row (block 1D, low half)"
        grep -q $'^1D81\tVolta\tno\t580\tno\tNVIDIA TITAN V$' "$T/gpus.tsv" || fail "GV100 row (block 1D, high half)"
        grep -q $'^1E02\tTuring\tyes\t-\tno\tNVIDIA TITAN RTX$' "$T/gpus.tsv" || fail "Turing stays the open table's row"
        contains "$T/gpus.tsv" "release" "header"
        contains "$T/gpus.tsv" "550.163.01" "the driver README's release in the header"
        # a Turing-or-later ID in the driver README that the open module's table lacks: refused
        sed -i 's/^ NVIDIA TITAN RTX                                 1E02 /&/; s/1E02            J/1E04            J/' "$T/README.txt"
        if "$gen" --driver-readme "$T/README.txt" "$T/README.md" 2026-03-05 >/dev/null 2>"$T/err"; then
                fail "a Turing ID missing from the open table was accepted"
        fi
        contains "$T/err" "1E04" "gen-gpus.py's refusal"
}

# ---------------------------------------------------------------- when: driver-stale / config-changed

# shellcheck disable=SC2016 # ${root} is the plan's variable
REBOOT_IF_STALE='version: 1
name: reboot-if-stale
steps:
  - id: reboot
    kind: reboot
    when: driver-stale
    checks: [driver.stale]
  - id: after
    kind: command
    argv: [touch, "${root}/after"]
    creates: /after'

t_when_driver_stale_healthy() {
        host healthy-h100
        local p
        p=$(plan reboot-if-stale <<<"$REBOOT_IF_STALE")
        expect_rc 0 gb run "$p"
        eq "$(states)" "reboot=skipped after=done" "step states"
        sj '.steps[] | select(.id == "reboot") | .detail' >"$T/detail"
        contains "$T/detail" "driver.stale" "the reboot step's detail"
        if [ -e "$R/$ACTIONS_REL" ]; then
                not_contains "$R/$ACTIONS_REL" "reboot" "host-actions.log"
        fi
        eq "$(sj .reboots)" 0 "reboots"
}

t_when_driver_stale_reboots() {
        host stale-module
        local p
        p=$(plan reboot-if-stale <<<"$REBOOT_IF_STALE")
        expect_rc 3 gb run "$p" --reboot=exit
        eq "$(states)" "reboot=reboot-requested after=pending" "step states"
        sj '.steps[] | select(.id == "reboot") | .detail' >"$T/detail"
        contains "$T/detail" "reboot required" "the reboot step's detail"
        absent "$R/after"
        # the reboot loads the installed module
        simulate_reboot
        printf '595.58.02\n' >"$R/sys/module/nvidia/version"
        sed -i 's/595\.45\.01/595.58.02/' "$R/proc/driver/nvidia/version"
        printf 'driver=595.58.02\ncuda=13000\n' >"$R/usr/lib/x86_64-linux-gnu/fake-nvml.conf"
        expect_rc 0 gb resume --reboot=exit
        eq "$(states)" "reboot=done after=done" "step states after the reboot"
        eq "$(sj .reboots)" 1 "reboots"
        [ -e "$R/after" ] || fail "the step after the reboot did not run"
}

t_when_driver_stale_reboot_now() {
        host stale-module
        local p
        p=$(plan reboot-if-stale <<<"$REBOOT_IF_STALE")
        expect_rc 3 gb run "$p"
        contains "$R/$ACTIONS_REL" "reboot" "host-actions.log"
}

# shellcheck disable=SC2016
RESTART_IF_CHANGED='version: 1
name: restart-if-changed
steps:
  - id: restart-docker
    kind: command
    when: config-changed
    argv: [touch, "${root}/restarted"]'

t_when_config_changed() {
        host healthy-h100
        local p
        p=$(plan restart-if-changed <<<"$RESTART_IF_CHANGED")
        expect_rc 0 gb run "$p"
        eq "$(states)" "restart-docker=skipped" "step states on a restarted docker"
        absent "$R/restarted"
        rehost daemon-json-changed-after-start
        expect_rc 0 gb run "$p"
        eq "$(states)" "restart-docker=done" "step states after daemon.json changed"
        [ -e "$R/restarted" ] || fail "the restart step did not run"
}

# ---------------------------------------------------------------- regressions (bugs found by these tests, fixed)

# A Volta host on the proprietary 580 driver is set up exactly right (the open module cannot drive
# Volta), yet driver.flavor warns "the open module is the default from 560" and verify exits 2.
t_volta_proprietary_580_is_ok() {
        host volta-595
        vj 0
        check_is driver.flavor ok
}

# A glob's leading digits are taken as the branch ("58[0-9].*" -> branch 58, "5*" -> 5), so a plan
# whose driver serves CUDA 13.0 is refused: "driver branch 58 serves CUDA up to (none in the table)".
t_glob_branch_not_leading_digits() {
        host healthy-h100
        expect_rc 0 gb plan check "$(plan_driver glob "58[0-9].*" 13.0)"
}

# `verify --plan` adds the plan's own {driver.version: "595.*"} as a second row next to the
# driver.version row that already uses the plan's glob: the same result twice, counted twice.
t_verify_plan_rows_once() {
        host volta-595
        vj 1 --plan "$(plan_driver want-595 "595.*")"
        eq "$(jq '[.checks[] | select(.name | startswith("driver.version"))] | length' "$T/verify.json")" 1 \
                "driver.version rows"
}

# An H200 that pci.ids does not know running the proprietary module was judged differently from an
# H100. Both are now judged by NVIDIA's rule for Hopper (H100/H200: the open module recommended, the
# proprietary one warned about with the reason).
t_h200_proprietary_judged_as_hopper() {
        host h200-unknown
        printf 'NVRM version: NVIDIA UNIX x86_64 Kernel Module  595.45.01  Thu Oct 30 2025\n' \
                >"$R/proc/driver/nvidia/version"
        vj 2
        check_is driver.flavor warn "proprietary" "NVIDIA H200 (Hopper)" "recommends the open kernel module"
}

# daemon.json that dockerd (Go's encoding/json) and nvidia-ctk refuse is accepted, because json-c's
# tokener is not in strict mode: a trailing comma, single quotes, comments, NaN. The daemon does not
# start, and verify says "nvidia runtime configured".
t_daemon_json_strict() {
        host healthy-h100
        printf '%s' '{"runtimes": {"nvidia": {"args": [], "path": "nvidia-container-runtime"}},}' >"$R/etc/docker/daemon.json"
        touch -d 2025-11-03T10:00:00Z "$R/etc/docker/daemon.json"
        vj 1
        check_is runtime.configured fail "is not valid"
}

IT_XFAIL=0
IT_XPASS=0
# run_bug NAME FUNCTION: like run_test, for a test that fails until an agent bug is fixed.
run_bug() {
        local name=$1 before=$IT_FAIL pass_before=$IT_PASS
        run_test "$name" "$2" >"$IT_LOGDIR/$name.result"
        if [ "$IT_FAIL" -gt "$before" ]; then
                if [ "${VERIFY_STRICT_BUGS:-0}" = 1 ]; then
                        cat "$IT_LOGDIR/$name.result"
                        return
                fi
                IT_FAIL=$before
                unset 'IT_FAILED_NAMES[-1]'
                IT_XFAIL=$((IT_XFAIL + 1))
                echo "XFAIL $name: $(grep -m1 'assertion failed' "$IT_LOGDIR/$name.log" | sed 's/^ *assertion failed: //')"
        elif [ "$IT_PASS" -gt "$pass_before" ]; then
                IT_PASS=$pass_before
                IT_XPASS=$((IT_XPASS + 1))
                echo "XPASS $name: the bug is fixed; rename it to a t_ test"
        else
                cat "$IT_LOGDIR/$name.result"
        fi
}

# ---------------------------------------------------------------- HGX boards (NVSwitches)

# plan_hgx: a gate that states the board's shape once (expect:) and takes every HGX check
plan_hgx() {
        plan hgx <<EOF
version: 1
name: hgx
expect: {gpus: 8, model: "H100*", nvswitches: 4}
steps:
  - id: board
    kind: gate
    checks: [gpu.count, gpu.model, driver.persistence, fabric.manager, fabric.state, nvlink.up, gpu.ecc, gpu.xid]
EOF
}

# the healthy board: everything ok, the switches in the facts
t_hgx_h100_healthy() {
        host hgx-h100
        vj 0 --plan "$(plan_hgx)"
        eq "$(not_ok)" "" "checks not ok"
        check_is gpu.present ok "8x NVIDIA H100 80GB HBM3"
        check_is gpu.count ok "8 NVIDIA GPUs on the PCI bus, as expected"
        check_is gpu.model ok "all 8 GPUs match 'H100*'"
        check_is fabric.manager ok "nvidia-fabricmanager 595.45.01 matches the driver 595.45.01, held" "enabled and active"
        check_is fabric.state ok "fabric completed, status success on all 8 GPUs"
        check_is driver.persistence ok "nvidia-persistenced.service enabled and active" "persistence mode on for all 8 GPUs"
        check_is nvlink.up ok "all 144 NVLinks of 8 GPUs active"
        check_is gpu.ecc ok "ECC enabled on all 8 GPUs"
        check_is gpu.xid ok "no Xid error"
        facts_are '.nvswitches.count == 4 and (.nvswitches.ids | length == 4 and all(. == "10de:22a3"))'
        # the gate passes as a plan step too
        expect_rc 0 gb plan check "$T/hgx.yaml"
        # without a plan the shape is not known: the two shape checks skip, the rest still judge
        vj 0
        check_is gpu.count skip "no count expected"
        check_is gpu.model skip "no model expected"
        check_is fabric.manager ok "matches the driver"
        # the shape as parameters of the checks themselves
        plan shape >/dev/null <<EOF
version: 1
name: shape
steps:
  - id: board
    kind: gate
    checks: [{gpu.count: 4}, {gpu.model: "A100*"}]
EOF
        vj 1 --plan "$T/shape.yaml"
        check_is gpu.count fail "8 NVIDIA GPUs on the PCI bus, 4 expected"
        check_is gpu.model fail "8 of 8 GPUs do not match 'A100*'" "GPU 0 is 'NVIDIA H100 80GB HBM3'"
        # NVML gone: the fabric state comes from nvidia-smi -q
        rm "$R/usr/lib/x86_64-linux-gnu/libnvidia-ml.so.1"
        vj 1
        check_is fabric.state ok "fabric completed, status success on all 8 GPUs (nvidia-smi -q)"
        check_is nvlink.up skip "NVML does not answer"
}

t_hgx_h100_without_fabric_manager() {
        host hgx-h100-no-fm
        vj 1 --plan "$(plan_hgx)"
        eq "$(not_ok)" "fabric.manager=fail fabric.state=fail" "checks not ok"
        check_is fabric.manager fail "Fabric Manager is not installed" "4 NVSwitches" "driver 595.45.01"
        fix_has fabric.manager "nvidia-fabricmanager=595.45.01-*" "system not yet initialized"
        check_is fabric.state fail "GPU fabric not ready on 8 of 8 GPUs" "GPU 0 (00000000:18:00.0): not started"
        fix_has fabric.state "fabricmanager.log"
}

t_hgx_h100_fabric_manager_version_mismatch() {
        host hgx-h100-fm-mismatch
        vj 1 --plan "$(plan_hgx)"
        eq "$(not_ok)" "fabric.manager=fail" "checks not ok"
        check_is fabric.manager fail "nvidia-fabricmanager 595.40.01 does not match the driver 595.45.01"
        fix_has fabric.manager "nvidia-fabricmanager=595.45.01-*" "hold"
}

t_hgx_h100_seven_of_eight_gpus() {
        host hgx-h100-7gpus
        vj 1 --plan "$(plan_hgx)"
        eq "$(not_ok)" "gpu.count=fail" "checks not ok"
        check_is gpu.count fail "7 NVIDIA GPUs on the PCI bus, 8 expected"
        fix_has gpu.count "missing from the bus"
}

t_hgx_h100_link_down() {
        host hgx-h100-link-down
        vj 1 --plan "$(plan_hgx)"
        eq "$(not_ok)" "nvlink.up=fail" "checks not ok"
        check_is nvlink.up fail "1 of 144 NVLinks inactive: GPU 3 (00000000:5D:00.0) link 7"
}

t_hgx_h100_xid_in_kernel_log() {
        host hgx-h100-xid
        vj 1 --plan "$(plan_hgx)"
        eq "$(not_ok)" "gpu.xid=fail" "checks not ok"
        check_is gpu.xid fail "Xid 79 (GPU has fallen off the bus)" "NVRM: Xid (PCI:0000:9a:00): 79"
        # as a gate, the run stops on it
        expect_rc 1 gb run "$T/hgx.yaml" --reboot=exit
        err_has "Xid 79"
}

# a driver plan without Fabric Manager is refused on an NVSwitch board, naming the package; the
# shipped plan (Fabric Manager when nvswitch-present) is not
t_refusal_no_fabric_manager_on_nvswitch_host() {
        host hgx-h100-no-fm
        local p
        p=$(plan nofm <<EOF
version: 1
name: nofm
steps:
  - id: driver
    kind: apt-install
    packages: ["nvidia-driver-pinning-595", "nvidia-open"]
    hold: true
EOF
)
        snapshot "$R" >"$T/before"
        expect_rc 65 gb plan check "$p"
        err_has "plan refused"
        err_has "4 NVSwitches (LS10)"
        err_has "no Fabric Manager"
        err_has "nvidia-fabricmanager"
        expect_rc 65 gb run "$p" --reboot=exit
        absent "$R/$STATE_REL"
        snapshot "$R" >"$T/after"
        diff "$T/before" "$T/after" >&2 || fail "a refused run changed the root"
        # branch 580 names the package by its branch
        sed -i 's/"nvidia-driver-pinning-595", "nvidia-open"/"nvidia-open-580"/' "$p"
        expect_rc 65 gb plan check "$p"
        err_has "nvidia-fabricmanager-580"
        # the shipped plan installs it when NVSwitches are present: not refused
        expect_rc 0 gb plan check "$REPO_DIR/plans/debian-12.yaml"
        # Debian's own packaging has no Fabric Manager: refused
        expect_rc 65 gb plan check "$REPO_DIR/plans/debian-12-distro.yaml"
        err_has "no Fabric Manager"
        # the same plan on a board without NVSwitches is fine
        rehost healthy-h100
        expect_rc 0 gb plan check "$p"
}

# ---------------------------------------------------------------- not root

# as_nobody ARGS...: gpubase --root $R ARGS as the user nobody (every directory down to $R
# searchable by others, as a machine's are), its output in $T/out and $T/err; prints the exit code.
as_nobody() {
        local d=$R rc=0
        while [ "$d" != / ] && [ "$d" != /tmp ]; do
                chmod o+x "$d"
                d=$(dirname "$d")
        done
        setpriv --reuid=nobody --regid=nogroup --clear-groups "$GPUBASE" --root "$R" "$@" >"$T/out" 2>"$T/err" || rc=$?
        echo "$rc"
}

# a check that cannot read dpkg's database fails and says why; it never reports the packages as
# absent ("not installed")
t_not_root_unreadable_dpkg_database() {
        host healthy-h100
        chmod 600 "$R/var/lib/dpkg/status"
        eq "$(as_nobody verify --json)" 1 "exit code of verify as nobody"
        cp "$T/out" "$T/verify.json"
        jq -r '.checks[] | [.name, .status, .detail, (.fix // "")] | join("\u001f")' "$T/verify.json" >"$T/rows"
        check_is ctk.installed fail "cannot read /var/lib/dpkg/status: Permission denied"
        fix_has ctk.installed "run gpubase verify as root"
        check_is ctk.held fail "cannot read /var/lib/dpkg/status: Permission denied"
        check_is driver.held fail "cannot read /var/lib/dpkg/status: Permission denied"
        not_contains "$T/out" "not installed" "verify as nobody"
        # readable again: the toolkit is found (its programs are not run: not root)
        chmod 644 "$R/var/lib/dpkg/status"
        as_nobody verify --json >/dev/null
        cp "$T/out" "$T/verify.json"
        jq -r '.checks[] | [.name, .status, .detail, (.fix // "")] | join("\u001f")' "$T/verify.json" >"$T/rows"
        check_is ctk.installed ok "all four packages at 1.19.0-1"
        check_is ctk.held ok "all 4"
}

# the lock and the state are root's: a user is asked whether they meant to be root
t_not_root_lock_and_state_hint() {
        host healthy-h100
        local p
        p=$(plan hint <<EOF
version: 1
name: hint
steps:
  - id: a
    kind: gate
    checks: [{file-exists: /etc/os-release}]
EOF
)
        expect_rc 0 gb run "$p"
        chmod 644 "$p"
        eq "$(as_nobody run "$p")" 1 "exit code of run as nobody"
        err_has "cannot take the lock $R/run/gpubase.lock: Permission denied (are you root?"
        # status reads the secrets-free copy a run publishes in /run; without it, the state itself
        eq "$(as_nobody status)" 0 "exit code of status as nobody, from /run/gpubase/status.json"
        rm "$R/run/gpubase/status.json"
        eq "$(as_nobody status)" 1 "exit code of status as nobody"
        err_has "the state file $R/var/lib/gpubase/state.json can be read only by root"
        err_has "run \`sudo gpubase status\`"
}

# ---------------------------------------------------------------- main

FILTER=${1:-}
for fn in $(declare -F | awk '{print $3}' | grep -E '^(t|bug)_'); do
        case $fn in
        t_*) name=${fn#t_} ;;
        *) name=bug-${fn#bug_} ;;
        esac
        [ -z "$FILTER" ] || [[ "$name" =~ $FILTER ]] || continue
        case $fn in
        t_*) run_test "$name" "$fn" ;;
        *) run_bug "$name" "$fn" ;;
        esac
done
[ "$IT_XFAIL$IT_XPASS" = 00 ] || echo "known agent bugs: $IT_XFAIL still failing (XFAIL), $IT_XPASS fixed (XPASS)"
summary
