# shellcheck shell=bash
# Shared helpers for the integration tier (sourced by every tests/integration/*.sh; bash, set -euo pipefail).
#
# Every test runs in a subshell of its own with a fresh work directory $W (removed by a trap):
#   $R  the --root sandbox: only fixture files (boot id, os-release) and what gpubase creates
#   $T  scratch space outside the root: captured output, copies of plans
# Commands are run through `expect_rc N CMD...`, which keeps stdout in $T/out and stderr in $T/err.

: "${GPUBASE:?set GPUBASE to the gpubase binary to test (make integration does)}"
command -v jq >/dev/null || { echo "the integration tests need jq (make deps installs it)" >&2; exit 2; }

IT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TESTS_DIR=$(dirname "$IT_DIR")
FIXTURES=$TESTS_DIR/fixtures/integration
BOOT_ID_REL=proc/sys/kernel/random/boot_id
# shellcheck disable=SC2034 # used by the scripts that source this file
STATE_REL=var/lib/gpubase/state.json
# shellcheck disable=SC2034
ACTIONS_REL=var/lib/gpubase/host-actions.log
# shellcheck disable=SC2034
LOCK_REL=run/gpubase.lock

# ---- sandbox ----

# fill_root DIR: the files gpubase reads from a machine (boot id, os-release: Debian 12).
fill_root() {
        mkdir -p "$1/proc/sys/kernel/random" "$1/etc"
        printf '%s\n' "$(new_boot_id_value)" >"$1/$BOOT_ID_REL"
        printf 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\nID=debian\nVERSION_ID="12"\n' \
                >"$1/etc/os-release"
}

new_boot_id_value() {
        if [ -r /proc/sys/kernel/random/uuid ]; then
                cat /proc/sys/kernel/random/uuid
        else
                printf '%04x%04x-%04x-%04x-%04x-%04x%04x%04x\n' $RANDOM $RANDOM $RANDOM $RANDOM $RANDOM $RANDOM $RANDOM $RANDOM
        fi
}

# simulate_reboot [ROOT]: a new boot id, as after a real reboot.
simulate_reboot() {
        printf '%s\n' "$(new_boot_id_value)" >"${1:-$R}/$BOOT_ID_REL"
}

# gb ARGS...: gpubase on this test's root.
gb() {
        "$GPUBASE" --root "$R" "$@"
}

# ---- assertions (each ends the test on failure) ----

fail() {
        echo "  assertion failed: $*" >&2
        exit 1
}

# sanitizer reports must never be hidden by an expected exit code
check_no_sanitizer_report() {
        if grep -qE 'ERROR: (Address|Leak|Memory|Thread)Sanitizer|runtime error:|SUMMARY: .*Sanitizer' "$1" 2>/dev/null; then
                sed 's/^/    | /' "$1" >&2
                fail "sanitizer report from: $2"
        fi
}

# expect_rc N CMD...: run CMD, stdout to $T/out and stderr to $T/err; its exit code must be N.
expect_rc() {
        local want=$1 rc=0
        shift
        "$@" >"$T/out" 2>"$T/err" || rc=$?
        check_no_sanitizer_report "$T/err" "$*"
        if [ "$rc" != "$want" ]; then
                {
                        echo "  command: $*"
                        echo "  stdout:"
                        sed 's/^/    | /' "$T/out"
                        echo "  stderr:"
                        sed 's/^/    | /' "$T/err"
                } >&2
                fail "exit code $rc, expected $want"
        fi
}

# contains FILE TEXT [what]: FILE contains TEXT (fixed string).
contains() {
        grep -qF -- "$2" "$1" || {
                sed 's/^/    | /' "$1" >&2
                fail "${3:-$1} does not contain '$2'"
        }
}

not_contains() {
        if grep -qF -- "$2" "$1"; then
                sed 's/^/    | /' "$1" >&2
                fail "${3:-$1} contains '$2'"
        fi
}

# out_has TEXT / err_has TEXT: on the output of the last expect_rc.
out_has() { contains "$T/out" "$1" "stdout"; }
err_has() { contains "$T/err" "$1" "stderr"; }

# sj [JQ-FILTER]: `gpubase status --json` (exit code 0, 1 or 3 by run state) through jq -r.
# Fails the test if status fails for another reason or does not print JSON.
sj() {
        local rc=0
        "$GPUBASE" --root "$R" status --json >"$T/status.json" 2>"$T/status.err" || rc=$?
        check_no_sanitizer_report "$T/status.err" "status --json"
        case $rc in 0 | 1 | 3) ;; *)
                cat "$T/status.err" >&2
                fail "status --json exited $rc"
                ;;
        esac
        jq -e 'type == "object"' "$T/status.json" >/dev/null 2>&1 || {
                cat "$T/status.json" "$T/status.err" >&2
                fail "status --json did not print a JSON object"
        }
        jq -r "${1:-.}" "$T/status.json"
}

# eq ACTUAL EXPECTED WHAT
eq() {
        [ "$1" = "$2" ] || fail "$3: got '$1', expected '$2'"
}

# step_state ID: the state of one step in status --json.
step_state() {
        sj ".steps[] | select(.id == \"$1\") | .state"
}

# states: "id=state id=state ..." for all steps.
states() {
        sj '[.steps[] | "\(.id)=\(.state)"] | join(" ")'
}

file_is() { # file_is PATH CONTENT
        [ -f "$1" ] || fail "$1 does not exist"
        local got
        got=$(cat "$1")
        [ "$got" = "$2" ] || fail "$1 contains '$got', expected '$2'"
}

absent() {
        if [ -e "$1" ] || [ -L "$1" ]; then
                fail "$1 exists but should not"
        fi
}

# snapshot DIR: every path with type, size, mode and mtime, sorted (to prove nothing changed).
snapshot() {
        (cd "$1" && find . -printf '%p %y %s %m %T@\n' | LC_ALL=C sort)
}

# plan_copy NAME: a private copy of a fixture plan in $T (for tests that edit it); prints its path.
plan_copy() {
        cp "$FIXTURES/$1" "$T/$1"
        echo "$T/$1"
}

# wait_for_agent: until status --json shows an agent holding the lock (at most 10 s); prints its pid.
wait_for_agent() {
        local _ pid
        for _ in $(seq 1 200); do
                pid=$("$GPUBASE" --root "$R" status --json 2>/dev/null | jq -r '.agent_pid // empty' 2>/dev/null || true)
                if [ -n "$pid" ]; then
                        echo "$pid"
                        return 0
                fi
                sleep 0.05
        done
        fail "no agent took the lock within 10 s"
}

now_ms() { date +%s%3N; }

# kill_landed STATUS_JSON: where a kill landed, for the crash tests' tally: the first step not
# done or skipped, with its state (and "+applying" when its apply had started)
kill_landed() {
        jq -r 'if (.steps | length) == 0 then "(no state yet)" else
                ([.steps[] | select(.state != "done" and .state != "skipped")] | first) as $s |
                if $s == null then "(after the last step)" else
                "\($s.id):\($s.state)\(if $s.applying then "+applying" else "" end)" end end' <<<"$1"
}

# ---- fixture GPU hosts and the signed fixture repositories (apt.sh, bundle.sh) ----

FIXTURE_LIBDIR=usr/lib/x86_64-linux-gnu
FIXTURE_KREL=6.1.0-gpubase-test
FIXTURE_OLD_TIME="2025-01-01T00:00:00Z"

# need_tools TIER TOOL...: every TOOL is on PATH, or the tier cannot run (exit 2).
need_tools() {
        local tier=$1 tool
        shift
        for tool in "$@"; do
                command -v "$tool" >/dev/null || {
                        echo "$tier: missing tool $tool (make deps installs it)" >&2
                        exit 2
                }
        done
}

# fixture_repos TIER DIR: builds the signed fixture repositories (tests/fixtures/repo/build-repo.sh)
# in DIR and reads their env.sh (FIXTURE_REPO_DIR, CUDA_KEYRING_DEB, KEY_FPR, REPO_CTK_URI, ...).
fixture_repos() {
        local t0 out
        t0=$(now_ms)
        if ! out=$("$TESTS_DIR/fixtures/repo/build-repo.sh" "$2" 2>&1); then
                echo "$out" >&2
                echo "FAIL $1: the fixture repository did not build" >&2
                exit 1
        fi
        # shellcheck source=/dev/null
        . "$2/env.sh"
        echo "fixture repositories built in $(awk -v a="$t0" -v b="$(now_ms)" 'BEGIN { printf "%.1f", (b - a) / 1000 }')s"
}

# pkg_status NAME: "want ok installed version" from the root's dpkg status, empty if not there.
pkg_status() {
        local f=$R/var/lib/dpkg/status
        [ -f "$f" ] || return 0
        awk -v p="$1" '
                /^Package: / { cur = ($2 == p); st = ""; v = "" }
                cur && /^Status: / { st = substr($0, 9) }
                cur && /^Version: / { v = $2 }
                cur && /^$/ { if (st != "") print st " " v; cur = 0 }
                END { if (cur && st != "") print st " " v }' "$f"
}

# installed NAME VERSION [hold|install]
installed() {
        eq "$(pkg_status "$1")" "${3:-install} ok installed $2" "dpkg status of $1"
}

# gpu_root: the root is an H100 host (sysfs PCI function, pci.ids, kernel release) whose docker has
# been running since 2025 (run/docker.pid's mtime is docker's start time under --root).
gpu_root() {
        local d=$R/sys/bus/pci/devices/0000:01:00.0 ids=/usr/share/misc/pci.ids
        [ -f "$ids" ] || ids=/usr/share/hwdata/pci.ids
        mkdir -p "$d" "$R/usr/share/misc" "$R/run"
        printf '0x10de\n' >"$d/vendor"
        printf '0x2330\n' >"$d/device"
        printf '0x030200\n' >"$d/class"
        printf '0x10de\n' >"$d/subsystem_vendor"
        printf '0x16c1\n' >"$d/subsystem_device"
        cp "$ids" "$R/usr/share/misc/pci.ids"
        printf '%s\n' "$FIXTURE_KREL" >"$R/proc/sys/kernel/osrelease"
        docker_running "$FIXTURE_OLD_TIME"
}

# docker_running TIME: docker (re)started at TIME.
docker_running() {
        mkdir -p "$R/run"
        printf '4242\n' >"$R/run/docker.pid"
        touch -d "$1" "$R/run/docker.pid"
}

# boot_root: a reboot into the driver that is installed: the module (the version the fixture's
# nvidia-kernel-open-dkms ships) is built on disk and loaded, NVML ($FAKE_NVML) answers at that
# version, and the boot id changes. The package's libnvidia-ml.so.1 is diverted once so that the
# fake NVML stays in place when dpkg reinstalls the library package.
boot_root() {
        local v src obj lib=$FIXTURE_LIBDIR krel=$FIXTURE_KREL
        v=$(cat "$R/usr/lib/gpubase-fixture/nvidia-module-version")
        mkdir -p "$R/sys/module/nvidia" "$R/proc/driver/nvidia" "$R/lib/modules/$krel/updates/dkms" "$R/$lib"
        printf '%s\n' "$v" >"$R/sys/module/nvidia/version"
        printf 'live\n' >"$R/sys/module/nvidia/initstate"
        printf 'NVRM version: NVIDIA UNIX Open Kernel Module for x86_64  %s  Release Build  (dvs-builder@U16-I3-B03-4-3)  Thu Oct 30 2025\nGCC version:  gcc version 12.2.0 (Debian 12.2.0-14)\n' \
                "$v" >"$R/proc/driver/nvidia/version"
        src=$T/modinfo.c
        obj=$R/lib/modules/$krel/updates/dkms/nvidia.ko
        cat >"$src" <<EOF
__attribute__((section(".modinfo"), used)) static const char m_version[] = "version=$v";
__attribute__((section(".modinfo"), used)) static const char m_license[] = "license=Dual MIT/GPL";
__attribute__((section(".modinfo"), used)) static const char m_name[] = "name=nvidia";
__attribute__((section(".modinfo"), used)) static const char m_vermagic[] = "vermagic=$krel SMP preempt mod_unload modversions ";
EOF
        gcc -c "$src" -o "$obj"
        if ! grep -qx "/$lib/libnvidia-ml.so.1" "$R/var/lib/dpkg/diversions" 2>/dev/null; then
                dpkg-divert --root="$R" --quiet --divert "/$lib/libnvidia-ml.so.1.gpubase-fixture" --rename \
                        --add "/$lib/libnvidia-ml.so.1"
        fi
        rm -f "$R/$lib/libnvidia-ml.so.1"
        cp "$FAKE_NVML" "$R/$lib/libnvidia-ml.so.1"
        printf 'driver=%s\ncuda=13000\n' "$v" >"$R/$lib/fake-nvml.conf"
        simulate_reboot "$R"
}

# ---- test runner ----

IT_PASS=0
IT_FAIL=0
IT_SKIP=0
IT_FAILED_NAMES=()
IT_LOGDIR=$(mktemp -d "${TMPDIR:-/tmp}/gpubase-it-logs.XXXXXX")
# shellcheck disable=SC2064
trap "rm -rf '$IT_LOGDIR'" EXIT

# run_test NAME FUNCTION: FUNCTION runs in a subshell with errexit, in a fresh root.
run_test() {
        local name=$1 fn=$2 rc=0 t0 t1
        local log="$IT_LOGDIR/$name.log"
        t0=$(now_ms)
        set +e
        (
                set -euo pipefail
                W=$(mktemp -d "${TMPDIR:-/tmp}/gpubase-it.XXXXXX")
                R=$W/root
                T=$W/work
                BG_PIDS=()
                # shellcheck disable=SC2317 # called by the trap
                cleanup() {
                        local p
                        for p in "${BG_PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
                        for p in "${BG_PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
                        chmod -R u+rwX "$W" 2>/dev/null || true
                        rm -rf "$W"
                }
                trap cleanup EXIT
                mkdir -p "$R" "$T"
                fill_root "$R"
                cd "$T"
                "$fn"
        ) >"$log" 2>&1
        rc=$?
        set -e
        t1=$(now_ms)
        local took
        took=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1fs", (b - a) / 1000 }')
        if [ "$rc" = 0 ]; then
                IT_PASS=$((IT_PASS + 1))
                echo "PASS $name ($took)"
        elif [ "$rc" = 77 ]; then
                IT_SKIP=$((IT_SKIP + 1))
                echo "SKIP $name: $(tail -n 1 "$log")"
        else
                IT_FAIL=$((IT_FAIL + 1))
                IT_FAILED_NAMES+=("$name")
                echo "FAIL $name ($took)"
                tail -n 60 "$log" | sed 's/^/    /'
        fi
}

# summary: one line; the exit status of the whole script.
summary() {
        echo "----"
        echo "integration: $IT_PASS passed, $IT_FAIL failed, $IT_SKIP skipped (gpubase: $GPUBASE)"
        if [ "$IT_FAIL" -gt 0 ]; then
                echo "failed: ${IT_FAILED_NAMES[*]}"
                return 1
        fi
        return 0
}
