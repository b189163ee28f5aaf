#!/bin/bash
# run.sh TARGET...: runs each libFuzzer target for FUZZ_SECONDS (`make fuzz` calls it).
#   FUZZ_BIN   directory of the built targets (build/fuzz/bin)
#   FUZZ_DIR   build/fuzz: corpus/TARGET (seeds, read only), work/TARGET (the corpus grown by
#              earlier runs; new inputs go there), artifacts/TARGET/ (crashes, leaks, timeouts)
#   FUZZ_SECONDS  per target (default 60)
#   FUZZ_ARGS  more libFuzzer flags (e.g. -jobs=2 -workers=2)
#   TMPDIR     where the targets write their inputs and extract bundles (default /dev/shm when it
#              is writable: fuzz_bundle fsyncs every file it extracts, which a disk makes slow)
# Prints one line per target (executions, corpus size, coverage) and fails if any target crashed;
# the crashing input is in artifacts/TARGET/. Add it to tests/fuzz/regressions/TARGET/ once fixed.
set -euo pipefail
: "${FUZZ_BIN:?}" "${FUZZ_DIR:?}"
SECS=${FUZZ_SECONDS:-60}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
declare -A DICT=([fuzz_plan]=plan.dict [fuzz_state]=json.dict [fuzz_daemon_json]=json.dict [fuzz_bundle]=bundle.dict
        [fuzz_pgp]=pgp.dict [fuzz_dpkg_status]=dpkg.dict)
declare -A MAXLEN=([fuzz_plan]=65536 [fuzz_state]=65536 [fuzz_daemon_json]=16384 [fuzz_deb]=65536 [fuzz_bundle]=65536
        [fuzz_pgp]=65536 [fuzz_dpkg_status]=65536)
if [ -z "${TMPDIR:-}" ] && [ -d /dev/shm ] && [ -w /dev/shm ]; then export TMPDIR=/dev/shm; fi
failed=0
summary=()
for t in "$@"; do
        work=$FUZZ_DIR/work/$t art=$FUZZ_DIR/artifacts/$t log=$FUZZ_DIR/logs/$t.log
        mkdir -p "$work" "$art" "$(dirname "$log")"
        args=(-max_total_time="$SECS" -timeout=10 -rss_limit_mb=2048 -max_len="${MAXLEN[$t]:-65536}"
                -print_final_stats=1 -artifact_prefix="$art/")
        [ -z "${DICT[$t]:-}" ] || args+=(-dict="$HERE/${DICT[$t]}")
        echo "fuzz: $t for ${SECS}s (log: $log)"
        rc=0
        dirs=("$work" "$FUZZ_DIR/corpus/$t")
        [ ! -d "$HERE/regressions/$t" ] || dirs+=("$HERE/regressions/$t")
        # shellcheck disable=SC2086 # FUZZ_ARGS is a list of flags
        "$FUZZ_BIN/$t" "${args[@]}" ${FUZZ_ARGS:-} "${dirs[@]}" >"$log" 2>&1 || rc=$?
        execs=$(awk '/stat::number_of_executed_units/ {print $2}' "$log" | tail -n 1)
        cov=$(grep -oE 'cov: [0-9]+ ft: [0-9]+' "$log" | tail -n 1 || true)
        corpus=$(find "$work" -type f | wc -l)
        if [ "$rc" != 0 ]; then
                failed=$((failed + 1))
                summary+=("FAIL $t: exit $rc after ${execs:-?} executions; artifacts in $art")
                grep -E 'ERROR|SUMMARY|property violated|runtime error' "$log" | head -n 10 | sed 's/^/    /'
        else
                summary+=("$(printf 'ok   %-17s %10s executions in %ss, %s; %s inputs in its grown corpus' "$t" "${execs:-?}" "$SECS" "${cov:-?}" "$corpus")")
        fi
done
printf '%s\n' "${summary[@]}"
[ "$failed" = 0 ] || { echo "fuzz: $failed target(s) crashed"; exit 1; }
