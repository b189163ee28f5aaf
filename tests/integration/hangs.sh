#!/usr/bin/env bash
# Integration tier: nothing makes the agent hang or lose track of a run (issue 11, items 4-6).
#   GPUBASE=/abs/path/to/gpubase tests/integration/hangs.sh [TEST-NAME-REGEX]
# - a command step ends when its program exits, not when what it left running closes the output;
#   the leftovers of its process group are named and killed (detach: true keeps them); a timeout
#   kills the group and only a timeout that fired says "timed out";
# - `wait` and `status` see an agent that died (kill -9) and a reboot that nothing will resume;
# - SIGTERM and SIGINT stop the step's processes, record it as interrupted, exit 143 / 130, and
#   `resume` finishes the run.
# Every command that could hang runs under `timeout 60`, so that the suite itself cannot.
# R and T are set per test by run_test (lib.sh), in the subshell each test runs in:
# shellcheck disable=SC2031,SC2016
set -euo pipefail

# shellcheck source=tests/integration/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# gbt ARGS...: gpubase on this test's root, killed after 60 s.
gbt() {
        timeout 60 "$GPUBASE" --root "$R" "$@"
}

# one_command_plan FILE ID ARGV-YAML [MORE-YAML]: a plan of one command step.
one_command_plan() {
        {
                printf 'version: 1\nname: hangs\nsteps:\n  - id: %s\n    kind: command\n    argv: %s\n' "$2" "$3"
                [ -z "${4:-}" ] || printf '%s\n' "$4"
        } >"$1"
}

# gone PID: no such process, or only a zombie (an orphan's parent may be slow to reap it).
gone() {
        [ ! -e "/proc/$1" ] && return 0
        [ "$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null || echo Z)" = Z ]
}

# gone_within PID SECONDS WHAT
gone_within() {
        local _
        for _ in $(seq 1 $(($2 * 20))); do
                gone "$1" && return 0
                sleep 0.05
        done
        fail "$3 (pid $1) still runs after $2 s"
}

# wait_file PATH: until it exists and is not empty (at most 10 s).
wait_file() {
        local _
        for _ in $(seq 1 200); do
                [ -s "$1" ] && return 0
                sleep 0.05
        done
        fail "$1 did not appear within 10 s"
}

# took_ms_below MS T0 WHAT
took_ms_below() {
        local t=$(($(now_ms) - $2))
        [ "$t" -lt "$1" ] || fail "$3 took $t ms (more than $1)"
}

# ---------------------------------------------------------------- command steps

t_background_child_killed() {
        one_command_plan "$T/p.yaml" bg '[sh, -c, "sleep 15 & echo $! > \"$GPUBASE_ROOT/bg.pid\"; echo started"]'
        local t0 pid
        t0=$(now_ms)
        expect_rc 0 gbt run "$T/p.yaml"
        took_ms_below 10000 "$t0" "a step whose program left a sleep 15 behind"
        pid=$(cat "$R/bg.pid")
        gone_within "$pid" 5 "the sleep the command left behind"
        # named by its command name: "sleep", or "sh" when the fork had not yet run sleep
        out_has "killed what it left running: "
        out_has " (pid $pid)"
        eq "$(step_state bg)" "done" "the step's state"
        sj '.steps[0].detail' >"$T/detail"
        contains "$T/detail" "killed what it left running: " "the step's detail"
        contains "$T/detail" " (pid $pid)" "the step's detail"
}

t_detach_keeps_leftovers() {
        one_command_plan "$T/p.yaml" svc '[sh, -c, "sleep 30 & echo $! > \"$GPUBASE_ROOT/svc.pid\"; echo started"]' \
                '    detach: true'
        local t0 pid
        t0=$(now_ms)
        expect_rc 0 gbt run "$T/p.yaml"
        took_ms_below 10000 "$t0" "a detached step"
        pid=$(cat "$R/svc.pid")
        BG_PIDS+=("$pid") # killed by the cleanup
        sleep 0.5
        gone "$pid" && fail "detach: true, yet the process the command started (pid $pid) was killed"
        sj '.steps[0].detail' >"$T/detail"
        contains "$T/detail" "left running (detach: true): " "the step's detail"
        contains "$T/detail" " (pid $pid)" "the step's detail"
        kill "$pid"
}

t_daemon_out_of_group_does_not_block() {
        # a daemon that leaves the process group (setsid) and keeps the output pipe open
        need_tools hangs setsid
        one_command_plan "$T/p.yaml" daemon '[sh, -c, "setsid sleep 30 & echo $! > \"$GPUBASE_ROOT/d.pid\"; echo started"]'
        local t0
        t0=$(now_ms)
        expect_rc 0 gbt run "$T/p.yaml"
        BG_PIDS+=("$(cat "$R/d.pid")")
        took_ms_below 10000 "$t0" "a step whose program started a daemon"
        eq "$(step_state daemon)" "done" "the step's state"
}

t_timeout_kills_group() {
        one_command_plan "$T/p.yaml" slow \
                '[sh, -c, "sleep 30 & echo $! > \"$GPUBASE_ROOT/bg.pid\"; echo $$$$ > \"$GPUBASE_ROOT/sh.pid\"; sleep 30"]' \
                '    timeout: 1'
        local t0
        t0=$(now_ms)
        expect_rc 1 gbt run "$T/p.yaml"
        took_ms_below 10000 "$t0" "a step with timeout: 1"
        err_has "timed out after 1s"
        gone_within "$(cat "$R/sh.pid")" 5 "the timed-out program"
        gone_within "$(cat "$R/bg.pid")" 5 "what the timed-out program started"
        eq "$(step_state slow)" failed "the step's state"
}

t_quick_failure_not_timed_out() {
        one_command_plan "$T/p.yaml" quick '[sh, -c, "sleep 15 & echo $! > \"$GPUBASE_ROOT/bg.pid\"; exit 3"]' \
                '    timeout: 5'
        local t0
        t0=$(now_ms)
        expect_rc 1 gbt run "$T/p.yaml"
        took_ms_below 4500 "$t0" "a step that fails at once"
        err_has "sh exited with status 3"
        not_contains "$T/err" "timed out" "stderr"
        sj '.steps[0].error' >"$T/error"
        not_contains "$T/error" "timed out" "the step's error"
        contains "$T/error" "killed what it left running: " "the step's error"
        contains "$T/error" " (pid $(cat "$R/bg.pid"))" "the step's error"
        gone_within "$(cat "$R/bg.pid")" 5 "the sleep the failed command left behind"
}

# ---------------------------------------------------------------- a dead agent, an unattended reboot

# slow_plan FILE: one step that sleeps 30 s unless $GPUBASE_ROOT/fast exists; it writes its pid and
# its background child's pid first.
slow_plan() {
        one_command_plan "$1" long '[sh, -c, "sleep 30 & echo $! > \"$GPUBASE_ROOT/bg.pid\"; echo $$$$ > \"$GPUBASE_ROOT/sh.pid\"; [ -e \"$GPUBASE_ROOT/fast\" ] && exit 0; wait"]'
}

t_dead_agent() {
        slow_plan "$T/p.yaml"
        "$GPUBASE" --root "$R" run "$T/p.yaml" >"$T/bg.out" 2>"$T/bg.err" &
        local pid=$! t0
        BG_PIDS+=("$pid")
        wait_file "$R/sh.pid"
        BG_PIDS+=("$(cat "$R/bg.pid")") # an orphan once its parent dies with the agent
        kill -9 "$pid"
        wait "$pid" 2>/dev/null || true
        t0=$(now_ms)
        expect_rc 1 gbt wait
        took_ms_below 5000 "$t0" "wait on a dead agent"
        err_has "the agent (pid $pid) died during step 'long'"
        err_has 'run `gpubase resume`'
        expect_rc 1 gbt status
        out_has "died during step 'long'"
        eq "$(sj .agent_died)" true "agent_died in status --json"
        eq "$(sj .run_state)" running "run_state (as the agent left it)"
        touch "$R/fast"
        expect_rc 0 gbt resume
        eq "$(sj .run_state)" "done" "run_state after resume"
        eq "$(sj .agent_died)" false "agent_died after resume"
}

t_reboot_unattended() {
        # --reboot=exit enables no unit: after the reboot nothing goes on with the run
        expect_rc 3 gbt run "$FIXTURES/basic.yaml" --reboot=exit
        simulate_reboot
        local t0
        t0=$(now_ms)
        expect_rc 3 gbt wait
        took_ms_below 5000 "$t0" "wait on a reboot that nothing resumes"
        err_has "gpubase.service is not enabled"
        err_has 'run `gpubase resume`'
        expect_rc 3 gbt status
        out_has "gpubase.service is not enabled"
        sj .advice >"$T/advice"
        contains "$T/advice" 'run `gpubase resume`' "status --json advice"
        expect_rc 0 gbt resume --reboot=exit
        eq "$(sj .run_state)" "done" "run_state after resume"
}

t_reboot_with_unit_waits() {
        # --reboot=now (simulated under --root) enables gpubase.service: the unit resumes the run,
        # so wait keeps waiting
        expect_rc 3 gbt run "$FIXTURES/basic.yaml"
        contains "$R/$ACTIONS_REL" "enable gpubase.service" "host-actions.log"
        simulate_reboot
        expect_rc 1 gbt wait --timeout 1
        err_has "timed out after 1s"
        expect_rc 3 gbt status
        not_contains "$T/out" "not enabled" "status"
}

# ---------------------------------------------------------------- SIGTERM, SIGINT

# interrupted SIGNAL CODE: the agent gets SIGNAL during the long step.
interrupted() {
        slow_plan "$T/p.yaml"
        "$GPUBASE" --root "$R" run "$T/p.yaml" >"$T/bg.out" 2>"$T/bg.err" &
        local pid=$! rc=0 t0 sh bg
        BG_PIDS+=("$pid")
        wait_file "$R/sh.pid"
        sh=$(cat "$R/sh.pid")
        bg=$(cat "$R/bg.pid")
        BG_PIDS+=("$bg")
        t0=$(now_ms)
        kill "-$1" "$pid"
        wait "$pid" || rc=$?
        took_ms_below 8000 "$t0" "stopping on $1"
        check_no_sanitizer_report "$T/bg.err" "the interrupted run"
        eq "$rc" "$2" "exit code after $1"
        contains "$T/bg.err" "stopped by SIG$1 during step 'long'" "the agent's stderr"
        contains "$T/bg.err" 'gpubase resume' "the agent's stderr"
        gone_within "$sh" 3 "the step's program"
        gone_within "$bg" 3 "what the step's program started"
        eq "$(sj .run_state)" interrupted "run_state"
        eq "$(step_state long)" interrupted "the step's state"
        expect_rc 1 gbt status
        out_has "interrupted"
        expect_rc 1 gbt wait
        err_has "interrupted"
        touch "$R/fast"
        expect_rc 0 gbt resume
        eq "$(sj .run_state)" "done" "run_state after resume"
        eq "$(sj '.steps[0].attempts')" 2 "attempts of the interrupted step"
}

t_sigterm_during_command() {
        interrupted TERM 143
}

t_sigint_during_command() {
        interrupted INT 130
}

ALL_TESTS=(
        background_child_killed
        detach_keeps_leftovers
        daemon_out_of_group_does_not_block
        timeout_kills_group
        quick_failure_not_timed_out
        dead_agent
        reboot_unattended
        reboot_with_unit_waits
        sigterm_during_command
        sigint_during_command
)

run_listed "${1:-}"
