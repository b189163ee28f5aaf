#!/usr/bin/env bash
# valgrind (`make valgrind`): the engine's suite (tests/integration/run.sh) and the apt suite's tests
# of libapt sessions (APT_TESTS: the keyring, the pinning package, scopes, holds, the cache files)
# with every gpubase run under memcheck. A valgrind error exits 99 (not 1, which is gpubase's own
# "failed" and expected by many tests) and also leaves a log in VALGRIND_DIR, which must be empty
# at the end. Leaks: definite and indirect are errors. libapt's own reads of uninitialised padding
# are suppressed (tests/valgrind-libapt.supp says which). Under valgrind every run is 20-50 times
# slower, so the tests that assert timings cannot hold: their failures are reported but do not fail
# the run (TIMING_TESTS); any other does.
#   GPUBASE=/abs/build/gpubase FAKE_NVML=/abs/build/fixtures/libnvidia-ml.so.1 \
#   VALGRIND_DIR=/abs/build/valgrind tests/valgrind.sh
set -euo pipefail
cd "$(dirname "$0")/.."

: "${GPUBASE:?set GPUBASE to the gpubase binary to run under valgrind (make valgrind does)}"
DIR=${VALGRIND_DIR:-$(dirname "$GPUBASE")/valgrind}
VALGRIND="valgrind -q --error-exitcode=99 --leak-check=full --show-leak-kinds=definite,indirect \
--errors-for-leak-kinds=definite,indirect --child-silent-after-fork=yes \
--suppressions=$PWD/tests/valgrind-libapt.supp"
# apt.sh's tests that open libapt sessions and hold under valgrind (those that trace which programs
# a run starts see valgrind's own start instead, and are left out)
APT_TESTS="^(keyring_chain_installs|keyring_reads_lists_only_when_needed|pinning_package_first_takes_effect|\
pinning_package_installed_without_lists|scoped_resolution|scoped_prefetch|drift_hold_removed|\
install_builds_caches_when_read)$"
TIMING_TESTS="lock_second_agent_busy wait_on_running_agent command_timeout_kills_group probing_rerun_keeps_last_state"

rm -rf "$DIR"
mkdir -p "$DIR"
# the tests call $GPUBASE: a wrapper that runs the real binary under memcheck, one log per process
printf '#!/bin/sh\nexec %s --log-file=%q/%%p.log %q "$@"\n' "$VALGRIND" "$DIR" "$GPUBASE" >"$DIR/gpubase"
chmod +x "$DIR/gpubase"
GPUBASE=$DIR/gpubase tests/integration/run.sh | tee "$DIR/run.out" || true
GPUBASE=$DIR/gpubase tests/integration/apt.sh "$APT_TESTS" | tee "$DIR/apt.out" || true

# valgrind's own notes on system calls it does not know (openat2 and pidfd_open in valgrind 3.19:
# the call fails with ENOSYS there, and gpubase takes its fallback) are not gpubase's errors
for log in "$DIR"/*.log; do
        [ -e "$log" ] || continue
        sed -i -E '/^--[0-9]+-- (WARNING: unhandled [a-z0-9_-]+ syscall: [0-9]+|You may be able to write your own handler\.|Read the file README_MISSING_SYSCALL_OR_IOCTL\.|Nevertheless we consider this a bug\.  Please report|it at http:\/\/valgrind\.org\/support\/bug_reports\.html\.)$/d' "$log"
done
bad=$(find "$DIR" -name '*.log' -size +0 | sort)
if [ -n "$bad" ]; then
        # shellcheck disable=SC2086 # one path a line, none with spaces (the pids)
        cat $bad
        echo "valgrind: errors in $bad"
        exit 1
fi
failed=$(sed -n 's/^FAIL \([a-z0-9_]*\).*/\1/p' "$DIR/run.out" "$DIR/apt.out")
other=""
for t in $failed; do
        case " $TIMING_TESTS " in *" $t "*) ;; *) other="$other $t" ;; esac
done
if [ -n "$other" ]; then
        echo "valgrind: tests failed under valgrind:$other"
        exit 1
fi
for suite in run apt; do
        grep -q '^integration: ' "$DIR/$suite.out" || {
                echo "valgrind: $suite.sh did not finish"
                exit 1
        }
done
runs=$(find "$DIR" -maxdepth 1 -name '*.log' | wc -l)
echo "valgrind: $runs gpubase runs under memcheck: no errors, no leaks" \
        "${failed:+(timing tests that cannot hold under valgrind: ${failed//$'\n'/ })}"
