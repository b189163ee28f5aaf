#!/usr/bin/env bash
# Crash consistency: SIGKILL gpubase at random instants; every iteration must still resume to the
# same end state as a clean run, and the state file must parse (or be absent) after every kill.
#   GPUBASE=/abs/gpubase KILLER=/abs/killer ITERATIONS=200 tests/integration/crash.sh
#
# Each iteration, in a fresh root:
#   1. `killer D -- gpubase run PLAN --reboot=exit`, D random in [0, 1.2 x the clean duration];
#   2. loop (at most MAX_RESUMES times): exit 3 -> write a new boot id (a simulated reboot);
#      then `resume` (or `run PLAN` if the kill came before the first checkpoint), itself killed
#      at a random instant half of the time; stop at exit 0;
#   3. after every kill, `status --json` must print JSON and the state file must parse;
#   4. at the end: run done, every step's state, the reboot count and the files as in the
#      reference run.
# Prints where the kills landed (the first unfinished step and its state, from the state file), so
# that a run shows the kills were spread over the whole plan.
set -euo pipefail

# shellcheck source=tests/integration/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

: "${KILLER:?set KILLER to the killer binary (make crash builds it)}"
ITERATIONS=${ITERATIONS:-200}
MAX_RESUMES=${MAX_RESUMES:-20}
PLAN=${CRASH_PLAN:-$FIXTURES/crash.yaml}
SHOW_FAILURES=${SHOW_FAILURES:-5}

WORK=$(mktemp -d "${TMPDIR:-/tmp}/gpubase-crash.XXXXXX")
# shellcheck disable=SC2064
trap "chmod -R u+rwX '$WORK' 2>/dev/null; rm -rf '$WORK' '$IT_LOGDIR'" EXIT

now_us() { echo $(($(date +%s%N) / 1000)); }

# rand_upto N: a random integer in [0, N]
rand_upto() {
        echo $((((RANDOM << 15) | RANDOM) % ($1 + 1)))
}

# gpubase in root $1
g() {
        local root=$1
        shift
        "$GPUBASE" --root "$root" "$@"
}

# ---------------------------------------------------------------- the reference run

ref_root=$WORK/reference
mkdir -p "$ref_root"
fill_root "$ref_root"

# timed RESULT-VAR CMD...: run CMD (output discarded); sets RC and DUR_US
timed() {
        local t0 t1
        t0=$(now_us)
        RC=0
        "$@" >/dev/null 2>&1 || RC=$?
        t1=$(now_us)
        DUR_US=$((t1 - t0))
}

timed "$KILLER" 600000000 -- "$GPUBASE" --root "$ref_root" run "$PLAN" --reboot=exit
[ "$RC" = 3 ] || {
        g "$ref_root" run "$PLAN" --reboot=exit || true
        echo "FAIL crash: the reference run exited $RC, expected 3 (reboot pending)"
        exit 1
}
run_us=$DUR_US
simulate_reboot "$ref_root"
timed "$KILLER" 600000000 -- "$GPUBASE" --root "$ref_root" resume --reboot=exit
[ "$RC" = 0 ] || {
        echo "FAIL crash: the reference resume exited $RC, expected 0"
        exit 1
}
resume_us=$DUR_US

REF_STATES=$(g "$ref_root" status --json | jq -r '[.steps[] | "\(.id)=\(.state)"] | join(" ")')
REF_REBOOTS=$(g "$ref_root" status --json | jq -r .reboots)
REF_RUN_STATE=$(g "$ref_root" status --json | jq -r .run_state)
[ "$REF_RUN_STATE" = "done" ] || {
        echo "FAIL crash: the reference run ended $REF_RUN_STATE"
        exit 1
}
# the files the plan leaves (path, mode, sha256), everything but gpubase's own
ref_files() {
        (cd "$1" && find . -path ./var/lib/gpubase -prune -o -path ./proc -prune -o -path ./run -prune -o \
                -type f ! -name '.#*' -printf '%p %m\n' | LC_ALL=C sort | while read -r p m; do
                echo "$p $m $(sha256sum <"$p" | cut -c1-16)"
        done)
}
REF_FILES=$(ref_files "$ref_root")

# kill windows: 1.2 x the clean durations (at least 20 ms, so short runs still spread)
run_window=$((run_us * 12 / 10))
resume_window=$((resume_us * 12 / 10))
[ "$run_window" -ge 20000 ] || run_window=20000
[ "$resume_window" -ge 20000 ] || resume_window=20000

echo "crash: $ITERATIONS iterations of $PLAN"
echo "crash: reference: $REF_STATES; reboots $REF_REBOOTS"
echo "crash: clean run ${run_us} us, clean resume ${resume_us} us; kill windows ${run_window} / ${resume_window} us"

# ---------------------------------------------------------------- the iterations

declare -A LANDED=()   # where kills landed -> count
declare -A FAIL_WHY=() # failure reason -> count
kills_run=0
kills_resume=0
resumes_total=0
reboots_simulated=0
failed=0
shown=0
max_resumes_seen=0

# after_kill ROOT: the state must parse; count where the kill landed. Returns 1 (with WHY set) on a
# broken state.
after_kill() {
        local root=$1 sf=$1/$STATE_REL out rc=0
        out=$("$GPUBASE" --root "$root" status --json 2>"$WORK/status.err") || rc=$?
        case $rc in 0 | 1 | 3) ;; *)
                WHY="status --json exited $rc after a kill: $(head -c 300 "$WORK/status.err")"
                return 1
                ;;
        esac
        if ! jq -e 'type == "object"' <<<"$out" >/dev/null 2>&1; then
                WHY="status --json printed no JSON after a kill (exit $rc): $(head -c 300 "$WORK/status.err")"
                return 1
        fi
        if [ -e "$sf" ] && ! jq -e 'type == "object"' "$sf" >/dev/null 2>&1; then
                WHY="the state file does not parse after a kill"
                return 1
        fi
        if [ "$rc" = 1 ] && [ "$(jq -r .run_state <<<"$out")" != failed ]; then
                WHY="status exited 1 after a kill: $(head -c 300 "$WORK/status.err")"
                return 1
        fi
        local where
        where=$(kill_landed "$out")
        LANDED[$where]=$((${LANDED[$where]:-0} + 1))
        return 0
}

# one_iteration N: 0 if the root ended like the reference; else 1 with WHY and LOG set
one_iteration() {
        local root=$WORK/it$1 rc=0 delay n=0 cmd
        LOG=""
        rm -rf "$root"
        mkdir -p "$root"
        fill_root "$root"

        delay=$(rand_upto "$run_window")
        LOG+="run (kill at ${delay}us) "
        "$KILLER" "$delay" -- "$GPUBASE" --root "$root" run "$PLAN" --reboot=exit >"$WORK/out" 2>&1 || rc=$?
        LOG+="exit $rc; "
        if [ "$rc" = 137 ]; then
                kills_run=$((kills_run + 1))
                after_kill "$root" || return 1
        fi
        while [ "$rc" != 0 ]; do
                case $rc in
                3)
                        simulate_reboot "$root"
                        reboots_simulated=$((reboots_simulated + 1))
                        LOG+="reboot; "
                        ;;
                137) ;;
                1)
                        if [ -e "$root/$STATE_REL" ]; then
                                WHY="exit 1 with a state file: $(tail -n 2 "$WORK/out" | tr '\n' ' ' | head -c 400)"
                                return 1
                        fi
                        ;;
                *)
                        WHY="unexpected exit $rc: $(tail -n 2 "$WORK/out" | tr '\n' ' ' | head -c 400)"
                        return 1
                        ;;
                esac
                n=$((n + 1))
                if [ "$n" -gt "$MAX_RESUMES" ]; then
                        WHY="not done after $MAX_RESUMES resumes"
                        return 1
                fi
                # before the first checkpoint there is nothing to resume: start again
                if [ -e "$root/$STATE_REL" ]; then cmd=(resume --reboot=exit); else cmd=(run "$PLAN" --reboot=exit); fi
                if [ $((RANDOM % 2)) = 0 ]; then delay=$(rand_upto "$resume_window"); else delay=600000000; fi
                rc=0
                "$KILLER" "$delay" -- "$GPUBASE" --root "$root" "${cmd[@]}" >"$WORK/out" 2>&1 || rc=$?
                if [ "$delay" = 600000000 ]; then LOG+="${cmd[0]} exit $rc; "; else LOG+="${cmd[0]} (kill at ${delay}us) exit $rc; "; fi
                resumes_total=$((resumes_total + 1))
                if [ "$rc" = 137 ]; then
                        kills_resume=$((kills_resume + 1))
                        after_kill "$root" || return 1
                fi
        done
        [ "$n" -le "$max_resumes_seen" ] || max_resumes_seen=$n

        local st
        st=$(g "$root" status --json 2>&1) || true
        local got_state got_states got_reboots
        got_state=$(jq -r .run_state <<<"$st" 2>/dev/null || echo "?")
        got_states=$(jq -r '[.steps[] | "\(.id)=\(.state)"] | join(" ")' <<<"$st" 2>/dev/null || echo "?")
        got_reboots=$(jq -r .reboots <<<"$st" 2>/dev/null || echo "?")
        if [ "$got_state" != "done" ]; then
                WHY="run_state $got_state after exit 0"
                return 1
        fi
        if [ "$got_states" != "$REF_STATES" ]; then
                WHY="step states differ from the reference"
                LOG+=$'\n'"      got:      $got_states"$'\n'"      expected: $REF_STATES"
                return 1
        fi
        if [ "$got_reboots" != "$REF_REBOOTS" ]; then
                WHY="reboots $got_reboots, expected $REF_REBOOTS"
                LOG+=$'\n'"      reboot step: $(jq -c '.steps[] | select(.kind == "reboot") | {state, reboots, attempts, detail}' <<<"$st")"
                return 1
        fi
        local files
        files=$(ref_files "$root")
        if [ "$files" != "$REF_FILES" ]; then
                WHY="the files differ from the reference"
                LOG+=$'\n'"$(diff <(echo "$REF_FILES") <(echo "$files") | sed 's/^/      /')"
                return 1
        fi
        if [ -e "$root/$ACTIONS_REL" ]; then
                WHY="host-actions.log written under --reboot=exit: $(tr '\n' ' ' <"$root/$ACTIONS_REL")"
                return 1
        fi
        # a write cut off by the kill leaves a temp file; the next agent must have removed it
        local left
        left=$(find "$root" -name '.#*' -print | sed "s|^$root||" | tr '\n' ' ')
        if [ -n "$left" ]; then
                WHY="temp files left behind: $left"
                return 1
        fi
        rm -rf "$root"
        return 0
}

T0=$(now_ms)
for i in $(seq 1 "$ITERATIONS"); do
        WHY=""
        LOG=""
        if ! one_iteration "$i"; then
                failed=$((failed + 1))
                FAIL_WHY[$WHY]=$((${FAIL_WHY[$WHY]:-0} + 1))
                if [ "$shown" -lt "$SHOW_FAILURES" ]; then
                        shown=$((shown + 1))
                        echo "FAIL crash iteration $i: $WHY"
                        echo "      $LOG"
                        if [ -e "$WORK/it$i/$STATE_REL" ]; then
                                jq -c '{run_state, reboots, steps: [.steps[] | {id, state, applying, attempts}]}' \
                                        "$WORK/it$i/$STATE_REL" 2>/dev/null | sed 's/^/      state: /' || true
                        fi
                fi
                rm -rf "$WORK/it$i"
        fi
        if [ $((i % 50)) = 0 ]; then
                echo "crash: $i/$ITERATIONS iterations, $failed failed ($((($(now_ms) - T0) / 1000))s)"
        fi
done
took=$(awk -v a="$T0" -v b="$(now_ms)" 'BEGIN { printf "%.1f", (b - a) / 1000 }')

echo "crash: where the kills landed (first unfinished step: state):"
for k in "${!LANDED[@]}"; do
        printf '  %5d  %s\n' "${LANDED[$k]}" "$k"
done | sort -k2
echo "crash: $((kills_run + kills_resume)) kills ($kills_run during run, $kills_resume during resume), $resumes_total resumes," \
        "$reboots_simulated simulated reboots, at most $max_resumes_seen resumes in one iteration; ${took}s"
if [ "$failed" -gt 0 ]; then
        echo "crash: failures by reason:"
        for k in "${!FAIL_WHY[@]}"; do
                printf '  %5d  %s\n' "${FAIL_WHY[$k]}" "$k"
        done
        echo "FAIL crash: $failed of $ITERATIONS iterations did not end like the reference run"
        exit 1
fi
echo "PASS crash: $ITERATIONS iterations ended like the reference run"
