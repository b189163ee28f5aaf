#!/usr/bin/env bash
# Integration tier: the real gpubase binary against throw-away roots (--root DIR).
#   GPUBASE=/abs/path/to/gpubase tests/integration/run.sh [TEST-NAME-REGEX]
# One line per test (PASS/FAIL name), then a summary; exits non-zero if any test failed.
# Plans are in tests/fixtures/integration/; the malformed-plan corpus is tests/fixtures/plans/bad/.
# R and T are set per test by run_test (lib.sh), in the subshell each test runs in:
# shellcheck disable=SC2031,SC2119
set -euo pipefail

# shellcheck source=tests/integration/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

BASIC=$FIXTURES/basic.yaml
BAD_CORPUS=$TESTS_DIR/fixtures/plans/bad
BAD_CORPUS_MIN=30

# ---------------------------------------------------------------- reboot protocol

t_reboot_exit_cycle() {
        expect_rc 3 gb run "$BASIC" --reboot=exit
        eq "$(sj .run_state)" reboot-pending "run_state after the reboot request"
        eq "$(states)" "conf=done marker=done reboot=reboot-requested after=pending final=pending" "step states"
        eq "$(sj .boot_id)" "$(cat "$R/$BOOT_ID_REL")" "boot_id recorded at the reboot request"
        eq "$(sj .plan)" "$BASIC" "plan path"
        sj '[has("run_state", "plan", "boot_id", "reboots", "steps"),
             (.steps[] | has("id", "kind", "state", "attempts", "detail", "error"))] | all' >"$T/keys"
        eq "$(cat "$T/keys")" true "status --json has the documented keys"
        eq "$(sj '[.steps[].kind] | join(",")')" "file,command,reboot,command,file" "step kinds"
        file_is "$R/etc/gpubase-it/app.conf" "greeting=hello"
        [ -e "$R/marker" ] || fail "the command step before the reboot did not run"
        absent "$R/after-reboot"
        absent "$R/$ACTIONS_REL" # --reboot=exit asks nobody to reboot

        # no reboot happened: exit 3, state untouched
        cp "$R/$STATE_REL" "$T/state.before"
        expect_rc 3 gb resume --reboot=exit
        err_has "reboot still pending"
        cmp "$T/state.before" "$R/$STATE_REL" || fail "resume with an unchanged boot id changed state.json"
        expect_rc 3 gb run "$BASIC" --reboot=exit
        err_has "reboot still pending"
        cmp "$T/state.before" "$R/$STATE_REL" || fail "run with an unchanged boot id changed state.json"

        # the reboot happened
        simulate_reboot
        expect_rc 0 gb resume --reboot=exit
        eq "$(sj .run_state)" "done" "run_state after the reboot"
        eq "$(sj .reboots)" 1 "reboots"
        eq "$(states)" "conf=done marker=done reboot=done after=done final=done" "step states"
        eq "$(sj '.steps[] | select(.id == "reboot") | .reboots')" 1 "reboot step's own reboot count"
        [ -e "$R/after-reboot" ] || fail "the command step after the reboot did not run"
        file_is "$R/etc/gpubase-it/final.conf" "done"
        eq "$(stat -c %a "$R/etc/gpubase-it/app.conf")" 640 "mode of the file step's file"
        expect_rc 0 gb resume --reboot=exit # done: nothing to resume
        expect_rc 0 gb status

        # a rerun of a converged root: everything skipped, no reboot
        local run1
        run1=$(sj .run_id)
        expect_rc 0 gb run "$BASIC" --reboot=exit
        eq "$(sj .run_state)" "done" "run_state of the rerun"
        eq "$(states)" "conf=skipped marker=skipped reboot=skipped after=skipped final=skipped" "rerun step states"
        [ "$(sj .run_id)" != "$run1" ] || fail "a rerun after done should be a new run"
        [ "$(sj .reboots)" -le 1 ] || fail "a rerun counted another reboot"
        absent "$R/$ACTIONS_REL"
        # the default --reboot=now must not reboot a converged root either
        expect_rc 0 gb run "$BASIC"
        eq "$(sj '.steps[] | select(.id == "reboot") | .state')" skipped "reboot step of a second rerun"
        absent "$R/$ACTIONS_REL"
}

t_reboot_now_logs_host_actions() {
        expect_rc 3 gb run "$BASIC" --reboot=now
        eq "$(sj .run_state)" reboot-pending "run_state"
        eq "$(step_state reboot)" reboot-requested "reboot step"
        eq "$(cat "$R/$ACTIONS_REL")" $'enable gpubase.service\nreboot' "host-actions.log after the reboot request"

        # the machine did not reboot: no second reboot is asked for
        expect_rc 3 gb resume
        err_has "reboot still pending"
        eq "$(cat "$R/$ACTIONS_REL")" $'enable gpubase.service\nreboot' "host-actions.log after a resume in the same boot"

        simulate_reboot
        expect_rc 0 gb resume
        eq "$(sj .run_state)" "done" "run_state after the reboot"
        eq "$(sj .reboots)" 1 "reboots"
        eq "$(sj .unit_enabled)" false "unit_enabled once done"
        eq "$(cat "$R/$ACTIONS_REL")" $'enable gpubase.service\nreboot\ndisable gpubase.service' \
                "host-actions.log once done"
}

t_reboot_never_fails() {
        expect_rc 1 gb run "$BASIC" --reboot=never
        err_has "--reboot"
        eq "$(sj .run_state)" failed "run_state"
        eq "$(states)" "conf=done marker=done reboot=failed after=pending final=pending" "step states"
        sj '.steps[] | select(.id == "reboot") | .error' >"$T/e"
        contains "$T/e" "--reboot" "the reboot step's error"
        absent "$R/$ACTIONS_REL"
        absent "$R/after-reboot"
        # the way out the message suggests: resume with --reboot=exit, reboot, resume
        expect_rc 3 gb resume --reboot=exit
        simulate_reboot
        expect_rc 0 gb resume --reboot=exit
        eq "$(sj .run_state)" "done" "run_state after the suggested way out"
}

t_reboot_check_fails_no_loop() {
        local plan=$FIXTURES/reboot-check.yaml
        expect_rc 3 gb run "$plan" --reboot=now
        eq "$(cat "$R/$ACTIONS_REL")" $'enable gpubase.service\nreboot' "host-actions.log after the first request"
        # after the reboot the check fails; max_reboots: 2 allows one more reboot
        simulate_reboot
        expect_rc 3 gb resume
        eq "$(sj .run_state)" reboot-pending "run_state after the first failed check"
        eq "$(sj .reboots)" 1 "reboots after the first reboot"
        eq "$(cat "$R/$ACTIONS_REL")" $'enable gpubase.service\nreboot\nreboot' "host-actions.log after the second request"
        # after the second reboot it still fails: no third reboot, the run fails
        simulate_reboot
        expect_rc 1 gb resume
        err_has "max_reboots"
        eq "$(sj .run_state)" failed "run_state"
        eq "$(sj .reboots)" 2 "reboots"
        eq "$(states)" "change=done reboot=failed after=pending" "step states"
        sj '.steps[] | select(.id == "reboot") | .error' >"$T/e"
        contains "$T/e" "/proof" "the reboot step's error"
        eq "$(grep -c '^reboot$' "$R/$ACTIONS_REL")" 2 "reboots asked of the host"
        absent "$R/after.txt"
        # resuming again in another boot does not reboot either
        simulate_reboot
        expect_rc 1 gb resume
        eq "$(grep -c '^reboot$' "$R/$ACTIONS_REL")" 2 "reboots asked of the host after another resume"
        absent "$R/after.txt"
        # fixed: the run finishes and the unit is disabled again
        touch "$R/proof"
        expect_rc 0 gb resume
        eq "$(sj .run_state)" "done" "run_state after the fix"
        file_is "$R/after.txt" "after"
        eq "$(grep -c '^reboot$' "$R/$ACTIONS_REL")" 2 "reboots asked of the host after the fix"
        eq "$(tail -n 1 "$R/$ACTIONS_REL")" "disable gpubase.service" "last host action"
}

t_reset_forgets_and_disables_unit() {
        expect_rc 3 gb run "$BASIC" --reboot=now
        expect_rc 0 gb reset
        absent "$R/$STATE_REL"
        eq "$(tail -n 1 "$R/$ACTIONS_REL")" "disable gpubase.service" "last host action after reset"
        expect_rc 0 gb reset
        out_has "no run"
        expect_rc 0 gb status --json
        eq "$(jq -r .run_state "$T/out")" idle "run_state after reset"
}

# ---------------------------------------------------------------- failing checks

t_failing_check_stops_run() {
        local plan=$FIXTURES/fail-check.yaml
        expect_rc 1 gb run "$plan"
        err_has "/needed"
        eq "$(sj .run_state)" failed "run_state"
        eq "$(states)" "first=done needs=failed later=pending last=pending" "step states"
        sj '.steps[] | select(.id == "needs") | .error' >"$T/e"
        contains "$T/e" "file-exists" "the failed step's error"
        contains "$T/e" "/needed" "the failed step's error"
        sj .error >"$T/e"
        contains "$T/e" "needs" "the run's error"
        expect_rc 1 gb status
        out_has "failed"
        out_has "/needed"
        # nothing after the failed step ran
        absent "$R/later-ran"
        absent "$R/last.txt"
        file_is "$R/first.txt" "first"

        # resume without a fix fails the same way, and still runs nothing after it
        expect_rc 1 gb resume
        eq "$(step_state needs)" failed "needs after a resume without a fix"
        eq "$(sj '.steps[] | select(.id == "needs") | .attempts')" 2 "attempts of the failed step"
        absent "$R/later-ran"

        # fix the cause: resume re-probes the failed step and finishes
        touch "$R/needed"
        expect_rc 0 gb resume
        eq "$(sj .run_state)" "done" "run_state after the fix"
        eq "$(sj .error)" null "run error after the fix"
        case $(step_state needs) in done | skipped) ;; *) fail "needs is $(step_state needs) after the fix" ;; esac
        eq "$(step_state later)" "done" "later"
        eq "$(step_state last)" "done" "last"
        [ -e "$R/later-ran" ] || fail "the step after the fixed one did not run"
        file_is "$R/last.txt" "last"
}

t_failing_command_check_gate() {
        local plan=$FIXTURES/fail-gate.yaml
        expect_rc 1 gb run "$plan"
        eq "$(states)" "gate=failed after-gate=pending" "step states"
        sj '.steps[] | select(.id == "gate") | .error' >"$T/e"
        contains "$T/e" "command-succeeds" "the gate's error"
        contains "$T/e" "status 1" "the gate's error"
        expect_rc 1 gb status
        out_has "command-succeeds"
        absent "$R/after-gate.txt"
        touch "$R/open"
        expect_rc 0 gb resume
        eq "$(states)" "gate=done after-gate=done" "step states after the fix"
        file_is "$R/after-gate.txt" "passed"
}

t_command_env_and_unless() {
        expect_rc 0 gb run "$FIXTURES/commands.yaml"
        file_is "$R/env.txt" "bar baz|$R|env"
        eq "$(states)" "env=done unless=done" "step states"
        [ -e "$R/unless-ran" ] || fail "the unless: command did not run its step"
        rm "$R/unless-ran"
        touch "$R/skip-me"
        expect_rc 0 gb run "$FIXTURES/commands.yaml"
        eq "$(states)" "env=skipped unless=skipped" "step states on the rerun"
        absent "$R/unless-ran"
}

t_command_failure_message() {
        expect_rc 1 gb run "$FIXTURES/cmd-fail.yaml"
        err_has "status 2"
        err_has "the real reason"
        eq "$(states)" "boom=failed never=pending" "step states"
        sj '.steps[] | select(.id == "boom") | .error' >"$T/e"
        contains "$T/e" "status 2" "the step's error"
        contains "$T/e" "the real reason" "the step's error"
        absent "$R/never.txt"
}

t_command_missing_program() {
        expect_rc 1 gb run "$FIXTURES/cmd-missing.yaml"
        err_has "gpubase-it-no-such-program"
        eq "$(step_state missing)" failed "step state"
}

t_command_timeout_kills_group() {
        local t0 t1
        t0=$(now_ms)
        expect_rc 1 gb run "$FIXTURES/cmd-timeout.yaml"
        t1=$(now_ms)
        err_has "timed out"
        [ $((t1 - t0)) -lt 5000 ] || fail "a 1 s timeout took $((t1 - t0)) ms"
        [ -s "$R/child.pid" ] || fail "the command did not record its child"
        local child
        child=$(cat "$R/child.pid")
        sleep 0.2
        # gone, or a zombie waiting for an init that does not reap (as in some containers)
        local pstate
        pstate=$(awk '{ print $3 }' "/proc/$child/stat" 2>/dev/null || true)
        if [ -n "$pstate" ] && [ "$pstate" != Z ] && [ "$pstate" != X ]; then
                kill -9 "$child" 2>/dev/null || true
                fail "the command's child (pid $child, state $pstate) outlived the timeout"
        fi
}

t_rerun_repairs_drift() {
        touch "$R/needed"
        expect_rc 0 gb run "$FIXTURES/fail-check.yaml"
        printf 'tampered\n' >"$R/last.txt"
        chmod 0600 "$R/first.txt"
        expect_rc 0 gb run "$FIXTURES/fail-check.yaml"
        eq "$(states)" "first=done needs=skipped later=skipped last=done" "step states of the repairing rerun"
        file_is "$R/last.txt" "last"
        eq "$(stat -c %a "$R/first.txt")" 644 "mode of the repaired file"
        expect_rc 0 gb run "$FIXTURES/fail-check.yaml"
        eq "$(states)" "first=skipped needs=skipped later=skipped last=skipped" "step states once converged"
}

t_other_plan_while_unfinished() {
        expect_rc 3 gb run "$BASIC" --reboot=exit
        cp "$R/$STATE_REL" "$T/state.before"
        expect_rc 65 gb run "$FIXTURES/fail-gate.yaml"
        err_has "resume"
        cmp "$T/state.before" "$R/$STATE_REL" || fail "a refused run of another plan changed state.json"
        absent "$R/after-gate.txt"
}

# ---------------------------------------------------------------- corrupt state

# corrupt_case KIND: a state file damaged as after a crash or a disk problem is never overwritten:
# every command exits 1 naming the file, the file stays byte-identical; `reset` removes it.
corrupt_case() {
        local sf=$R/$STATE_REL
        case $1 in
        garbage)
                mkdir -p "$(dirname "$sf")"
                { printf 'this is not json \x01\x02\xff\n'; head -c 200 /dev/urandom; } >"$sf"
                ;;
        truncated)
                expect_rc 3 gb run "$BASIC" --reboot=exit
                local n
                n=$(stat -c %s "$sf")
                head -c $((n / 2)) "$sf" >"$T/half"
                cat "$T/half" >"$sf"
                ;;
        empty)
                mkdir -p "$(dirname "$sf")"
                : >"$sf"
                ;;
        wrong-shape)
                mkdir -p "$(dirname "$sf")"
                printf '{"format": 1, "run_state": "done"}\n' >"$sf"
                ;;
        esac
        chmod 0600 "$sf"
        cp "$sf" "$T/corrupt.orig"
        simulate_reboot # whatever the file says, a changed boot id must not tempt anything into rewriting it
        local cmd
        for cmd in "run $BASIC --reboot=exit" "resume --reboot=exit" "status" "status --json" "wait --timeout 1"; do
                # shellcheck disable=SC2086
                expect_rc 1 gb $cmd
                err_has "$sf"
                cmp "$T/corrupt.orig" "$sf" || fail "'gpubase $cmd' changed the corrupt state file"
        done
        absent "$R/after-reboot"
        expect_rc 0 gb reset
        absent "$sf"
        # and the next run starts from scratch (its probes find what is already there: after the
        # truncated case's first run and the reboot, nothing changes, so no reboot is needed)
        if [ "$1" = truncated ]; then
                expect_rc 0 gb run "$BASIC" --reboot=exit
                eq "$(states)" "conf=skipped marker=skipped reboot=skipped after=done final=done" "new run after reset"
        else
                expect_rc 3 gb run "$BASIC" --reboot=exit
                eq "$(sj .run_state)" reboot-pending "run_state of a new run after reset"
        fi
}
t_corrupt_state_garbage() { corrupt_case garbage; }
t_corrupt_state_truncated() { corrupt_case truncated; }
t_corrupt_state_empty() { corrupt_case empty; }
t_corrupt_state_wrong_shape() { corrupt_case wrong-shape; }

# ---------------------------------------------------------------- changed plan

t_changed_plan_needs_replan() {
        local plan
        plan=$(plan_copy basic.yaml)
        expect_rc 3 gb run "$plan" --reboot=exit
        # edit a step after the reboot
        sed -i 's/content: "done\\n"/content: "changed\\n"/' "$plan"
        grep -q 'changed' "$plan" || fail "could not edit the plan copy"
        simulate_reboot
        cp "$R/$STATE_REL" "$T/state.before"
        expect_rc 65 gb resume --reboot=exit
        err_has "--replan"
        cmp "$T/state.before" "$R/$STATE_REL" || fail "a refused resume changed state.json"
        expect_rc 65 gb run "$plan" --reboot=exit
        err_has "--replan"
        cmp "$T/state.before" "$R/$STATE_REL" || fail "a refused run changed state.json"
        absent "$R/after-reboot"

        expect_rc 0 gb resume --replan --reboot=exit
        eq "$(sj .run_state)" "done" "run_state after --replan"
        eq "$(sj .reboots)" 1 "reboots after --replan"
        eq "$(step_state final)" "done" "the edited step"
        file_is "$R/etc/gpubase-it/final.conf" "changed"
        [ -e "$R/after-reboot" ] || fail "after-reboot step did not run"
}

# ---------------------------------------------------------------- lock

t_lock_second_agent_busy() {
        local plan=$FIXTURES/slow.yaml pid agent
        "$GPUBASE" --root "$R" run "$plan" >"$T/bg.out" 2>"$T/bg.err" &
        pid=$!
        BG_PIDS+=("$pid")
        agent=$(wait_for_agent)
        eq "$agent" "$pid" "agent_pid in status --json"
        local cmd
        for cmd in "run $plan" "resume" "reset"; do
                # shellcheck disable=SC2086
                expect_rc 75 gb $cmd
                err_has "pid $pid"
        done
        # status works while the agent runs
        expect_rc 0 gb status
        out_has "pid $pid"
        eq "$(sj .run_state)" running "run_state while the agent runs"
        eq "$(step_state nap)" running "the sleeping step"
        local rc=0
        wait "$pid" || rc=$?
        check_no_sanitizer_report "$T/bg.err" "background run"
        eq "$rc" 0 "exit code of the agent that held the lock"
        eq "$(sj .run_state)" "done" "run_state after the agent finished"
        eq "$(sj .agent_pid)" null "agent_pid after the agent finished"
        file_is "$R/woke.txt" "woke"
        # the lock is free again
        expect_rc 0 gb reset
}

# ---------------------------------------------------------------- dry run

t_dry_run_changes_nothing() {
        local before after
        before=$(snapshot "$R")
        expect_rc 0 gb run "$BASIC" --dry-run
        out_has "would"
        out_has "/etc/gpubase-it/app.conf"
        out_has "reboot"
        after=$(snapshot "$R")
        [ "$before" = "$after" ] || {
                diff <(echo "$before") <(echo "$after") >&2 || true
                fail "--dry-run changed the root"
        }
        absent "$R/$LOCK_REL"
        absent "$R/run"
        absent "$R/var"
        absent "$R/marker"
}

t_dry_run_keeps_existing_state() {
        expect_rc 3 gb run "$BASIC" --reboot=exit
        simulate_reboot
        cp "$R/$STATE_REL" "$T/state.before"
        local before after cmd
        for cmd in "resume --dry-run --reboot=exit" "run $BASIC --dry-run --reboot=exit" "reset --dry-run"; do
                before=$(snapshot "$R")
                sleep 0.02 # so that a rewrite shows in the mtimes
                # shellcheck disable=SC2086
                expect_rc 0 gb $cmd
                after=$(snapshot "$R")
                cmp "$T/state.before" "$R/$STATE_REL" || fail "'gpubase $cmd' changed state.json"
                [ "$before" = "$after" ] || {
                        diff <(echo "$before") <(echo "$after") >&2 || true
                        fail "'gpubase $cmd' changed the root"
                }
        done
        # the real resume still does the work
        expect_rc 0 gb resume --reboot=exit
        eq "$(sj .run_state)" "done" "run_state"
}

# ---------------------------------------------------------------- checkpoints

# A converged rerun only reads the machine: its state is written once, at the end (one rename of
# state.json, at most two fsyncs: the file and its directory), not before and after every step.
t_noop_rerun_writes_state_once() {
        touch "$R/needed"
        expect_rc 0 gb run "$FIXTURES/fail-check.yaml"
        local before nsync nrename
        before=$(sj .run_id)
        expect_rc 0 env "$NO_LSAN" strace -f -o "$T/strace" -e trace=fsync,fdatasync,syncfs,sync,rename,renameat,renameat2 \
                "$GPUBASE" --root "$R" run "$FIXTURES/fail-check.yaml"
        eq "$(states)" "first=skipped needs=skipped later=skipped last=skipped" "step states of the no-op rerun"
        eq "$(sj .run_state)" "done" "run_state after the no-op rerun"
        [ "$(sj .run_id)" != "$before" ] || fail "the no-op rerun kept the last run's id"
        nsync=$(grep -cE '(fsync|fdatasync|syncfs|sync)\(' "$T/strace" || true)
        # the state once, and its secrets-free copy for status without root (/run/gpubase/status.json,
        # replaced without fsync)
        nrename=$(grep -E 'rename(at2?)?\(' "$T/strace" | grep -vc '"status.json"' || true)
        [ "$nsync" -le 2 ] || fail "the no-op rerun made $nsync fsync/fdatasync/syncfs calls, expected at most 2: $(grep -E 'sync\(' "$T/strace" | tr '\n' ' ')"
        eq "$nrename" 1 "renames of the no-op rerun (besides status.json)"
        contains "$T/strace" '"state.json"' "the no-op rerun's one rename"
        contains "$T/strace" '"status.json"' "the public status copy"
}

# While a rerun of a converged plan only probes (here a gate whose check takes 8 s), the state file
# is the last run's, untouched; `wait` does not take that run's "done" for the running one's; a kill
# then loses nothing, and the next run converges.
t_probing_rerun_keeps_last_state() {
        expect_rc 0 gb run "$FIXTURES/slow-probe.yaml"
        local before sum pid
        before=$(sj .run_id)
        sum=$(sha256sum <"$R/$STATE_REL")
        "$GPUBASE" --root "$R" run "$FIXTURES/slow-probe.yaml" >"$T/bg.out" 2>"$T/bg.err" &
        pid=$!
        BG_PIDS+=("$pid")
        wait_for_agent >/dev/null
        expect_rc 1 gb wait --timeout 1
        err_has "timed out"
        kill -0 "$pid" 2>/dev/null || fail "the rerun finished within a second; the test proves nothing"
        eq "$(sha256sum <"$R/$STATE_REL")" "$sum" "the state file while the rerun probes"
        kill -9 "$pid" 2>/dev/null || fail "the rerun finished before it was killed; the test proves nothing"
        wait "$pid" 2>/dev/null || true
        eq "$(sj .run_id)" "$before" "run id after the probing rerun was killed"
        eq "$(sj .run_state)" "done" "run_state after the probing rerun was killed"
        expect_rc 0 gb run "$FIXTURES/slow-probe.yaml"
        eq "$(states)" "conf=skipped slow-gate=done last=skipped" "step states of the next run"
        [ "$(sj .run_id)" != "$before" ] || fail "the next run kept the last run's id"
}

# status, plan check and --version do not load libapt-pkg, libarchive nor what they pull in
# (libxml2, ICU, libstdc++), nor libcrypto, libsystemd (libgcrypt under it), libkmod and libpci:
# those are opened with dlopen by the commands that use them. plan check scans the PCI bus itself
# and opens libpci only to name a GPU from pci.ids.
t_light_commands_load_no_apt_nor_archive() {
        touch "$R/needed"
        expect_rc 0 gb run "$FIXTURES/fail-check.yaml"
        local args lib libs="libapt-pkg libgpubase-apt libarchive libxml2 libicu libcrypto libsystemd libgcrypt libkmod libpci"
        # libstdc++ too, unless the binary links it itself (san-check's build: the sanitizer's runtime)
        ldd "$GPUBASE" | grep -q 'libstdc++' || libs+=" libstdc++"
        for args in "--version" "status" "status --json" "plan check $FIXTURES/fail-check.yaml"; do
                # shellcheck disable=SC2086 # the arguments, split on purpose
                expect_rc 0 env "$NO_LSAN" strace -f -o "$T/strace" -e trace=open,openat,openat2 "$GPUBASE" --root "$R" $args
                for lib in $libs; do
                        not_contains "$T/strace" "$lib" "the files 'gpubase $args' opened"
                done
                contains "$T/strace" "libjson-c" "the files 'gpubase $args' opened"
        done
        # a PCI bus of GPUs NVIDIA's list names (H100 SXM5): plan check reads it from sysfs, libpci
        # stays unloaded; a GPU the list lacks (V100 DGXS) is named from pci.ids, through libpci
        local dev=$R/sys/bus/pci/devices/0000:1b:00.0
        mkdir -p "$dev"
        printf '0x10de\n' >"$dev/vendor"
        printf '0x2330\n' >"$dev/device"
        printf '0x030200\n' >"$dev/class"
        expect_rc 0 env "$NO_LSAN" strace -f -o "$T/strace" -e trace=open,openat,openat2 "$GPUBASE" --root "$R" \
                plan check "$FIXTURES/fail-check.yaml"
        contains "$T/strace" "0000:1b:00.0/class" "the files 'gpubase plan check' opened"
        not_contains "$T/strace" "libpci" "the files 'gpubase plan check' opened on a bus of listed GPUs"
        printf '0x1db2\n' >"$dev/device"
        expect_rc 0 env "$NO_LSAN" strace -f -o "$T/strace" -e trace=open,openat,openat2 "$GPUBASE" --root "$R" \
                plan check "$FIXTURES/fail-check.yaml"
        contains "$T/strace" "libpci" "the files 'gpubase plan check' opened for a GPU the list lacks"
}

# Under systemd (NOTIFY_SOCKET set, as gpubase.service has it) each step's status reaches the
# service manager; outside it a run does not even load libsystemd for that.
t_notify_only_under_systemd() {
        touch "$R/open"
        # a datagram socket standing in for the service manager's: what it receives, one per line
        /usr/bin/python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(30)
with open(sys.argv[2], "w") as out:
    while True:
        try:
            d = s.recv(4096)
        except socket.timeout:
            break
        out.write(d.decode() + "\n")
        out.flush()
' "$T/notify.sock" "$T/notify.txt" &
        BG_PIDS+=("$!")
        local _
        for _ in $(seq 100); do [ -S "$T/notify.sock" ] && break; sleep 0.05; done
        expect_rc 0 env NOTIFY_SOCKET="$T/notify.sock" "$GPUBASE" --root "$R" run "$FIXTURES/fail-gate.yaml"
        for _ in $(seq 100); do grep -q "STATUS=step 1/" "$T/notify.txt" 2>/dev/null && break; sleep 0.05; done
        contains "$T/notify.txt" "STATUS=step 1/" "what the service manager received"
        expect_rc 0 env -u NOTIFY_SOCKET "$NO_LSAN" strace -f -o "$T/strace" -e trace=open,openat,openat2 \
                "$GPUBASE" --root "$R" run "$FIXTURES/fail-gate.yaml"
        not_contains "$T/strace" "libsystemd" "the files a run outside systemd opened"
}

# ---------------------------------------------------------------- wait

t_wait_done() {
        touch "$R/open"
        expect_rc 0 gb run "$FIXTURES/fail-gate.yaml"
        expect_rc 0 gb wait
        out_has "done"
}

t_wait_failed() {
        expect_rc 1 gb run "$FIXTURES/fail-gate.yaml"
        expect_rc 1 gb wait
        err_has "failed"
}

t_wait_reboot_pending() {
        expect_rc 3 gb run "$BASIC" --reboot=exit
        expect_rc 3 gb wait
        err_has "reboot"
}

t_wait_on_running_agent() {
        local pid t0 t1
        "$GPUBASE" --root "$R" run "$FIXTURES/slow.yaml" >"$T/bg.out" 2>"$T/bg.err" &
        pid=$!
        BG_PIDS+=("$pid")
        wait_for_agent >/dev/null
        t0=$(now_ms)
        expect_rc 1 gb wait --timeout 1
        t1=$(now_ms)
        err_has "timed out"
        if [ $((t1 - t0)) -lt 900 ] || [ $((t1 - t0)) -gt 2500 ]; then
                fail "wait --timeout 1 took $((t1 - t0)) ms"
        fi
        kill -0 "$pid" 2>/dev/null || fail "the agent finished before wait --timeout 1 ended; the test proves nothing"

        # without a timeout, wait returns 0 once the agent is done
        expect_rc 0 gb wait
        eq "$(sj .run_state)" "done" "run_state when wait returned"
        local rc=0
        wait "$pid" || rc=$?
        eq "$rc" 0 "exit code of the background agent"
}

# ---------------------------------------------------------------- plans

t_bad_plan_corpus() {
        local files=() f first spec loc text n=0 bad=0
        if [ -d "$BAD_CORPUS" ]; then
                shopt -s nullglob
                files=("$BAD_CORPUS"/*.yaml)
                shopt -u nullglob
        fi
        if [ "${#files[@]}" -lt "$BAD_CORPUS_MIN" ]; then
                fail "the malformed-plan corpus $BAD_CORPUS has ${#files[@]} plans, at least $BAD_CORPUS_MIN are required"
        fi
        for f in "${files[@]}"; do
                n=$((n + 1))
                first=$(head -n 1 "$f")
                spec=${first#\# expect: }
                if [ "$spec" = "$first" ] || ! [[ $spec =~ ^([0-9]+):([0-9]+):\ (.+)$ ]]; then
                        echo "  $f: first line is not '# expect: LINE:COL: TEXT': $first" >&2
                        bad=$((bad + 1))
                        continue
                fi
                loc="${BASH_REMATCH[1]}:${BASH_REMATCH[2]}"
                text=${BASH_REMATCH[3]}
                local rc=0
                gb plan check "$f" >"$T/out" 2>"$T/err" || rc=$?
                check_no_sanitizer_report "$T/err" "plan check $f"
                if [ "$rc" != 65 ]; then
                        echo "  $f: exit $rc, expected 65; stderr: $(head -c 300 "$T/err")" >&2
                        bad=$((bad + 1))
                elif ! grep -qF -- "$f:$loc:" "$T/err"; then
                        echo "  $f: stderr lacks '$f:$loc:': $(head -c 300 "$T/err")" >&2
                        bad=$((bad + 1))
                elif ! grep -qF -- "$text" "$T/err"; then
                        echo "  $f: stderr lacks '$text': $(head -c 300 "$T/err")" >&2
                        bad=$((bad + 1))
                fi
        done
        echo "corpus: $n plans, $bad wrong"
        [ "$bad" = 0 ] || fail "$bad of $n malformed plans were not rejected as their first line expects"
}

t_plan_check_valid() {
        local p
        for p in basic fail-check fail-gate slow vars metachar; do
                expect_rc 0 gb plan check "$FIXTURES/$p.yaml"
                out_has "valid"
        done
        absent "$R/var"
        absent "$R/run"
}

t_plan_show_expands_vars() {
        local arch
        arch=$(uname -m)
        [ "$arch" = arm64 ] && arch=aarch64
        expect_rc 0 gb plan show "$FIXTURES/vars.yaml"
        out_has "echo hello-world os=debian ver=12 distro=debian12 arch=$arch"
        out_has "/opt/hello/debian12.txt"
        # shellcheck disable=SC2016 # a literal ${
        not_contains "$T/out" '${' "plan show output"
        # the expanded values are what runs
        expect_rc 0 gb run "$FIXTURES/vars.yaml"
        file_is "$R/opt/hello/debian12.txt" "hello-world"
}

t_plan_refused_by_match() {
        local plan=$FIXTURES/refused.yaml
        expect_rc 65 gb plan check "$plan"
        err_has "plan refused"
        expect_rc 65 gb run "$plan"
        err_has "plan refused"
        absent "$R/never.txt"
        absent "$R/$STATE_REL"
        # the root's os-release decides, not the host's
        printf 'ID=ubuntu\nVERSION_ID="24.04"\n' >"$R/etc/os-release"
        expect_rc 0 gb plan check "$plan"
        printf 'ID=ubuntu\nVERSION_ID="22.04"\n' >"$R/etc/os-release"
        expect_rc 65 gb plan check "$plan"
        err_has "plan refused"
}

# ---------------------------------------------------------------- CLI

t_usage() {
        expect_rc 64 "$GPUBASE" frobnicate
        err_has "frobnicate"
        expect_rc 64 "$GPUBASE" --frobnicate status
        err_has "--frobnicate"
        expect_rc 64 "$GPUBASE" status --frobnicate
        expect_rc 64 gb run
        expect_rc 64 gb plan check
        expect_rc 64 gb plan frob "$BASIC"
        expect_rc 64 gb run "$BASIC" --reboot=sometimes
        err_has "--reboot"
        expect_rc 64 gb status --reboot=exit
        expect_rc 64 gb wait --timeout soon
        expect_rc 64 "$GPUBASE"
        expect_rc 64 "$GPUBASE" --root
        expect_rc 64 "$GPUBASE" --root "$R/does-not-exist" status
        expect_rc 0 "$GPUBASE" --help
        local c
        for c in run resume status wait plan reset; do
                grep -qE "^  $c( |$)" "$T/out" || fail "--help does not list '$c'"
        done
        out_has "--root"
        out_has "--reboot"
        out_has "--dry-run"
        expect_rc 0 "$GPUBASE" --version
        grep -qE '^gpubase [0-9]+\.[0-9]+\.[0-9]+' "$T/out" || fail "--version printed '$(cat "$T/out")'"
        absent "$R/var"
        absent "$R/run"
}

t_status_idle() {
        expect_rc 0 gb status
        out_has "idle"
        expect_rc 0 gb status --json
        eq "$(jq -r .run_state "$T/out")" idle "run_state"
        eq "$(jq -r '.steps | length' "$T/out")" 0 "steps"
        eq "$(jq -r .reboots "$T/out")" 0 "reboots"
        expect_rc 1 gb resume
        err_has "no run"
        absent "$R/var"
}

t_state_file_hygiene() {
        expect_rc 3 gb run "$BASIC" --reboot=exit
        eq "$(stat -c %a "$R/$STATE_REL")" 600 "state.json mode while reboot-pending"
        simulate_reboot
        expect_rc 0 gb resume --reboot=exit
        expect_rc 1 gb run "$FIXTURES/fail-check.yaml"
        expect_rc 0 gb reset
        expect_rc 1 gb run "$FIXTURES/fail-check.yaml"
        eq "$(stat -c %a "$R/$STATE_REL")" 600 "state.json mode"
        eq "$(stat -c %u "$R/$STATE_REL")" "$(id -u)" "state.json owner"
        jq -e . "$R/$STATE_REL" >/dev/null || fail "state.json is not JSON"
        # what a run killed while writing its checkpoint or its public status leaves, the next one removes
        : >"$R/var/lib/gpubase/.#state.json.a1b2c3d4"
        mkdir -p "$R/run/gpubase"
        : >"$R/run/gpubase/.#status.json.d7e1ea8a"
        expect_rc 0 gb reset
        expect_rc 1 gb run "$FIXTURES/fail-check.yaml"
        local tmp
        tmp=$(find "$R" -name '.#*')
        [ -z "$tmp" ] || fail "temporary files left behind: $tmp"
}

t_shell_metachars_literal() {
        cd "$R" # a shell would create pwned* here
        expect_rc 0 gb run "$FIXTURES/metachar.yaml"
        eq "$(sj .run_state)" "done" "run_state"
        [ -f "$R/a; touch pwned1 && touch pwned2 | touch pwned3 \$(touch pwned4) \`touch pwned5\` > pwned6" ] ||
                fail "the file with the literal name was not created"
        [ -f "$R/b \$(touch pwned7)" ] || fail "the file 'b \$(touch pwned7)' was not created"
        file_is "$R/d;touch pwned9" "\$(touch pwned10) \`touch pwned11\` ; rm -rf / ; \$HOME"
        local found
        found=$(find "$R" "$T" -name 'pwned*')
        [ -z "$found" ] || fail "a shell interpreted a plan string: $found"
        # the creates: probe took its path literally too
        expect_rc 0 gb run "$FIXTURES/metachar.yaml"
        eq "$(step_state literal-creates)" skipped "literal-creates on the rerun"
        found=$(find "$R" "$T" -name 'pwned*')
        [ -z "$found" ] || fail "a shell interpreted a plan string: $found"
}

# ---------------------------------------------------------------- main

ALL_TESTS=(
        reboot_exit_cycle
        reboot_now_logs_host_actions
        reboot_never_fails
        reboot_check_fails_no_loop
        reset_forgets_and_disables_unit
        failing_check_stops_run
        failing_command_check_gate
        command_env_and_unless
        command_failure_message
        command_missing_program
        command_timeout_kills_group
        rerun_repairs_drift
        other_plan_while_unfinished
        corrupt_state_garbage
        corrupt_state_truncated
        corrupt_state_empty
        corrupt_state_wrong_shape
        changed_plan_needs_replan
        lock_second_agent_busy
        dry_run_changes_nothing
        dry_run_keeps_existing_state
        noop_rerun_writes_state_once
        probing_rerun_keeps_last_state
        light_commands_load_no_apt_nor_archive
        notify_only_under_systemd
        wait_done
        wait_failed
        wait_reboot_pending
        wait_on_running_agent
        bad_plan_corpus
        plan_check_valid
        plan_show_expands_vars
        plan_refused_by_match
        usage
        status_idle
        state_file_hygiene
        shell_metachars_literal
)

run_listed "${1:-}"
