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
CRASH_MAX_RESUMES=${MAX_RESUMES:-20}
PLAN=${CRASH_PLAN:-$FIXTURES/crash.yaml}
SHOW_FAILURES=${SHOW_FAILURES:-5}

WORK=$(mktemp -d "${TMPDIR:-/tmp}/gpubase-crash.XXXXXX")
# shellcheck disable=SC2064
trap "chmod -R u+rwX '$WORK' 2>/dev/null; rm -rf '$WORK' '$IT_LOGDIR'" EXIT

# ---------------------------------------------------------------- the reference run

ref_root=$WORK/reference
crash_reference crash "$ref_root" "$PLAN" "$WORK/ref.out"
# the files the plan leaves (path, mode, sha256), everything but gpubase's own
ref_files() {
        (cd "$1" && find . -path ./var/lib/gpubase -prune -o -path ./proc -prune -o -path ./run -prune -o \
                -type f ! -name '.#*' -printf '%p %m\n' | LC_ALL=C sort | while read -r p m; do
                echo "$p $m $(sha256sum <"$p" | cut -c1-16)"
        done)
}
REF_FILES=$(ref_files "$ref_root")

# kill windows: 1.2 x the clean durations (at least 20 ms, so short runs still spread)
CRASH_RUN_WINDOW=$((RUN_US * 12 / 10))
CRASH_RESUME_WINDOW=$((RESUME_US * 12 / 10))
[ "$CRASH_RUN_WINDOW" -ge 20000 ] || CRASH_RUN_WINDOW=20000
[ "$CRASH_RESUME_WINDOW" -ge 20000 ] || CRASH_RESUME_WINDOW=20000

echo "crash: $ITERATIONS iterations of $PLAN"
echo "crash: reference: $REF_STATES; reboots $REF_REBOOTS"
echo "crash: clean run ${RUN_US} us, clean resume ${RESUME_US} us; kill windows ${CRASH_RUN_WINDOW} / ${CRASH_RESUME_WINDOW} us"

# ---------------------------------------------------------------- the iterations

declare -A FAIL_WHY=() # failure reason -> count
failed=0
shown=0

# the hooks of crash_iteration (lib.sh)

# every other resume is killed too
crash_resume_delay() {
        if [ $((RANDOM % 2)) = 0 ]; then DELAY=$(rand_upto "$CRASH_RESUME_WINDOW"); else DELAY=$CRASH_NO_KILL; fi
}

# after a kill the state must parse; count where the kill landed
crash_after_kill() {
        local sf=$1/$STATE_REL
        crash_status "$1" || return 1
        if [ -e "$sf" ] && ! jq -e 'type == "object"' "$sf" >/dev/null 2>&1; then
                WHY="the state file does not parse after a kill"
                return 1
        fi
        # 1: the run failed, or (since status knows a dead agent) the kill left it "running" with no
        # agent holding the lock
        if [ "$STATUS_RC" = 1 ] && [ "$(jq -r .run_state <<<"$STATUS_JSON")" != failed ] &&
                [ "$(jq -r .agent_died <<<"$STATUS_JSON")" != true ]; then
                WHY="status exited 1 after a kill: $(jq -c . <<<"$STATUS_JSON" | head -c 300)"
                return 1
        fi
        count_landed "$STATUS_JSON"
}

crash_after_exit() { :; }

# exit 1 (a run refused to start) is only expected where a kill left no state file behind
crash_other_exit() {
        if [ "$2" = 1 ] && [ ! -e "$1/$STATE_REL" ]; then return 0; fi
        if [ "$2" = 1 ]; then
                WHY="exit 1 with a state file: $(tail -n 2 "$WORK/out" | tr '\n' ' ' | head -c 400)"
        else
                WHY="unexpected exit $2: $(tail -n 2 "$WORK/out" | tr '\n' ' ' | head -c 400)"
        fi
        return 1
}

# one_iteration N: 0 if the root ended like the reference; else 1 with WHY and LOG set
one_iteration() {
        local root=$WORK/it$1
        crash_iteration "$root" "$PLAN" "$WORK/out" || return 1

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
print_counts LANDED
echo "crash: $((CRASH_KILLS_RUN + CRASH_KILLS_RESUME)) kills ($CRASH_KILLS_RUN during run, $CRASH_KILLS_RESUME during resume)," \
        "$CRASH_RESUMES resumes, $CRASH_REBOOTS simulated reboots, at most $CRASH_MAX_SEEN resumes in one iteration; ${took}s"
if [ "$failed" -gt 0 ]; then
        echo "crash: failures by reason:"
        print_counts FAIL_WHY
        echo "FAIL crash: $failed of $ITERATIONS iterations did not end like the reference run"
        exit 1
fi
echo "PASS crash: $ITERATIONS iterations ended like the reference run"
