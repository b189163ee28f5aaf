# shellcheck shell=bash
# Shared helpers for the integration tier (sourced by every tests/integration/*.sh; bash, set -euo pipefail).
#
# Every test runs in a subshell of its own with a fresh work directory $W (removed by a trap):
#   $R  the --root sandbox: only fixture files (boot id, os-release) and what gpubase creates
#   $T  scratch space outside the root: captured output, copies of plans
# Commands are run through `expect_rc N CMD...`, which keeps stdout in $T/out and stderr in $T/err.

: "${GPUBASE:?set GPUBASE to the gpubase binary to test (make integration does)}"
# NO_LSAN: the environment for a gpubase run under strace: LeakSanitizer (san-check's build)
# cannot work under ptrace, so it is turned off for traced runs only.
# shellcheck disable=SC2034 # used by the scripts that source this file
NO_LSAN="ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
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

# sj [JQ-FILTER]: `gpubase status --json` (exit code 0, 1, 3 or 75 by run state) through jq -r.
# Fails the test if status fails for another reason or does not print JSON.
sj() {
        local rc=0
        "$GPUBASE" --root "$R" status --json >"$T/status.json" 2>"$T/status.err" || rc=$?
        check_no_sanitizer_report "$T/status.err" "status --json"
        case $rc in 0 | 1 | 3 | 75) ;; *)
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
# private_ns CMD...: CMD in its own mount namespace (tests/lib/private-ns.sh)
# shellcheck source=tests/lib/private-ns.sh
. "$TESTS_DIR/lib/private-ns.sh"

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
        smoke_standins
}

# smoke_standins: what a shipped plan's container smoke test needs in the root: docker and ctr
# stand-ins (tests/fixtures/container/standin.c, static: gpubase runs them inside the root), the
# device node /dev/nvidia0, and the CUDA base image gpubase picks for the fixture driver's CUDA
# ceiling (13.0) in docker's and containerd's stores. The test then passes once the plan has
# configured docker and restarted it, as on a real host.
smoke_standins() {
        local bin=$IT_LOGDIR/container-standin
        [ -x "$bin" ] || gcc -std=gnu11 -O2 -Wall -Wextra -Werror -static "$TESTS_DIR/fixtures/container/standin.c" -o "$bin"
        mkdir -p "$R/usr/bin" "$R/dev" "$R/var/lib/docker" "$R/var/lib/containerd"
        cp "$bin" "$R/usr/bin/docker"
        cp "$bin" "$R/usr/bin/ctr"
        : >"$R/dev/nvidia0"
        printf 'nvcr.io/nvidia/cuda:13.0.0-base-ubuntu24.04 13.0\n' >"$R/var/lib/docker/standin-images"
        cp "$R/var/lib/docker/standin-images" "$R/var/lib/containerd/standin-images"
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

# ---- the kill/resume loop (crash.sh, and faults.sh crash-apt) ----

# g ROOT ARGS...: gpubase on ROOT.
g() {
        local root=$1
        shift
        "$GPUBASE" --root "$root" "$@"
}

now_us() { echo $(($(date +%s%N) / 1000)); }

# rand_upto N: a random integer in [0, N]
rand_upto() {
        echo $((((RANDOM << 15) | RANDOM) % ($1 + 1)))
}

# the killer's delay for a run that is not to be killed (600 s)
CRASH_NO_KILL=600000000

# under_killer DELAY OUT ROOT ARGS...: gpubase ARGS on ROOT under $KILLER, which kills its whole process
# group (as a power cut would) after DELAY us; output to OUT. Sets RC (137: killed) and DUR_US.
under_killer() {
        local delay=$1 out=$2 root=$3 t0
        shift 3
        RC=0
        t0=$(now_us)
        "$KILLER" "$delay" -- "$GPUBASE" --root "$root" "$@" >"$out" 2>&1 || RC=$?
        DUR_US=$(($(now_us) - t0))
}

# crash_reference NAME ROOT PLAN OUT: the clean run the iterations are compared with: run PLAN
# (exit 3, a reboot pending), a new boot id, resume (exit 0, done). Sets RUN_US and RESUME_US (how
# long each took), REF_STATES ("id=state ..."), REF_REBOOTS. Exits the script on a failure.
# shellcheck disable=SC2034 # the results are for the scripts that source this file
crash_reference() {
        local name=$1 root=$2 plan=$3 out=$4
        mkdir -p "$root"
        fill_root "$root"
        under_killer "$CRASH_NO_KILL" "$out" "$root" run "$plan" --reboot=exit
        [ "$RC" = 3 ] || {
                cat "$out"
                echo "FAIL $name: the reference run exited $RC, expected 3 (reboot pending)"
                exit 1
        }
        RUN_US=$DUR_US
        simulate_reboot "$root"
        under_killer "$CRASH_NO_KILL" "$out" "$root" resume --reboot=exit
        [ "$RC" = 0 ] || {
                cat "$out"
                echo "FAIL $name: the reference resume exited $RC, expected 0"
                exit 1
        }
        RESUME_US=$DUR_US
        local st
        st=$(g "$root" status --json)
        REF_STATES=$(jq -r '[.steps[] | "\(.id)=\(.state)"] | join(" ")' <<<"$st")
        REF_REBOOTS=$(jq -r .reboots <<<"$st")
        [ "$(jq -r .run_state <<<"$st")" = "done" ] || {
                echo "FAIL $name: the reference run ended $(jq -r .run_state <<<"$st")"
                exit 1
        }
}

# crash_status ROOT: `status --json` after a kill must exit 0, 1 or 3 and print a JSON object; sets
# STATUS_JSON and STATUS_RC, or WHY and returns 1.
crash_status() {
        local err=$1.status-err
        STATUS_RC=0
        STATUS_JSON=$("$GPUBASE" --root "$1" status --json 2>"$err") || STATUS_RC=$?
        case $STATUS_RC in 0 | 1 | 3) ;; *)
                WHY="status --json exited $STATUS_RC after a kill: $(head -c 300 "$err")"
                return 1
                ;;
        esac
        if ! jq -e 'type == "object"' <<<"$STATUS_JSON" >/dev/null 2>&1; then
                WHY="status --json printed no JSON after a kill (exit $STATUS_RC): $(head -c 300 "$err")"
                return 1
        fi
        rm -f "$err"
}

# count_landed STATUS_JSON: one more kill where kill_landed says, in LANDED
declare -A LANDED=()
count_landed() {
        local where
        where=$(kill_landed "$1")
        LANDED[$where]=$((${LANDED[$where]:-0} + 1))
}

# print_counts ARRAY: an associative array's "count  key" lines, by key
print_counts() {
        local -n counts=$1
        local k
        for k in "${!counts[@]}"; do
                printf '  %5d  %s\n' "${counts[$k]}" "$k"
        done | LC_ALL=C sort -k2
}

# Totals over all iterations of crash_iteration: kills during run and during resume, resumes,
# simulated reboots, the most resumes one iteration needed.
CRASH_KILLS_RUN=0 CRASH_KILLS_RESUME=0 CRASH_RESUMES=0 CRASH_REBOOTS=0 CRASH_MAX_SEEN=0

# crash_iteration ROOT PLAN OUT: one iteration's runs in the fresh ROOT. `run PLAN --reboot=exit` is
# killed at a random instant in [0, CRASH_RUN_WINDOW] us; then, until a run exits 0: exit 3 writes a
# new boot id (a simulated reboot), 137 was a kill, and the next run is `resume --reboot=exit`
# (`run PLAN` again while there is no state file: a kill before the first checkpoint leaves nothing
# to resume), at most CRASH_MAX_RESUMES of them. The caller defines:
#   crash_resume_delay K     sets DELAY: when to kill the next resume (CRASH_NO_KILL: not at all);
#                            K kills have landed in this iteration so far
#   crash_after_kill ROOT    after a kill: is the state sound? (count_landed, crash_status)
#   crash_after_exit ROOT N  after a run that was not killed (N: 0 for the first run, then the
#                            number of the resume; DUR_US: how long it took)
#   crash_other_exit ROOT RC an exit that is none of 0, 3 and 137: 0 to resume all the same
# Each hook returns 1 with WHY set to end the iteration as failed, and so does crash_iteration. The
# last run's output is in OUT; LOG says what happened.
# shellcheck disable=SC2034,SC2153 # WHY is for the caller, DELAY set by its crash_resume_delay
crash_iteration() {
        local root=$1 plan=$2 out=$3 n=0 k=0 delay cmd
        local -a args=(run "$plan" --reboot=exit)
        LOG=""
        rm -rf "$root"
        mkdir -p "$root"
        fill_root "$root"
        delay=$(rand_upto "$CRASH_RUN_WINDOW")
        while :; do
                under_killer "$delay" "$out" "$root" "${args[@]}"
                cmd=${args[0]}
                if [ "$delay" = "$CRASH_NO_KILL" ]; then LOG+="$cmd exit $RC; "; else LOG+="$cmd (kill at ${delay}us) exit $RC; "; fi
                if [ "$RC" = 137 ]; then
                        k=$((k + 1))
                        if [ "$n" = 0 ]; then CRASH_KILLS_RUN=$((CRASH_KILLS_RUN + 1)); else CRASH_KILLS_RESUME=$((CRASH_KILLS_RESUME + 1)); fi
                        crash_after_kill "$root" || return 1
                else
                        crash_after_exit "$root" "$n" || return 1
                fi
                case $RC in
                0) break ;;
                3)
                        simulate_reboot "$root"
                        CRASH_REBOOTS=$((CRASH_REBOOTS + 1))
                        LOG+="reboot; "
                        ;;
                137) ;;
                *) crash_other_exit "$root" "$RC" || return 1 ;;
                esac
                n=$((n + 1))
                if [ "$n" -gt "$CRASH_MAX_RESUMES" ]; then
                        WHY="not done after $CRASH_MAX_RESUMES resumes"
                        return 1
                fi
                if [ -e "$root/$STATE_REL" ]; then args=(resume --reboot=exit); else args=(run "$plan" --reboot=exit); fi
                crash_resume_delay "$k"
                delay=$DELAY
                CRASH_RESUMES=$((CRASH_RESUMES + 1))
        done
        [ "$n" -le "$CRASH_MAX_SEEN" ] || CRASH_MAX_SEEN=$n
        return 0
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
# run_listed PATTERN [EXTRA...]: every test of ALL_TESTS whose name matches PATTERN (all when it is
# empty), then the EXTRA tests (names of t_ functions, always run), then how long they took and the
# summary: the end of every suite that lists its tests.
run_listed() {
        local pattern=$1 t t0
        shift
        t0=$(now_ms)
        for t in "${ALL_TESTS[@]}"; do
                if [ -n "$pattern" ] && ! [[ $t =~ $pattern ]]; then
                        continue
                fi
                run_test "$t" "t_$t"
        done
        for t in "$@"; do
                run_test "$t" "t_$t"
        done
        echo "took $(awk -v a="$t0" -v b="$(now_ms)" 'BEGIN { printf "%.1f", (b - a) / 1000 }')s"
        summary
}

summary() {
        echo "----"
        echo "integration: $IT_PASS passed, $IT_FAIL failed, $IT_SKIP skipped (gpubase: $GPUBASE)"
        if [ "$IT_FAIL" -gt 0 ]; then
                echo "failed: ${IT_FAILED_NAMES[*]}"
                return 1
        fi
        return 0
}
