#!/usr/bin/env bash
# Hostile and malformed input (issue 11, items 7 to 12): bundles refused before a byte of them lands,
# state files checked on load, JSON output that is always valid UTF-8, daemon.json read with
# dockerd's types, exit codes that mean one thing, and plan paths that cannot name a directory.
#   GPUBASE=/abs/gpubase tests/integration/input.sh [TEST-NAME-REGEX]
# One line per test (PASS/FAIL name), then a summary; exits non-zero if any test failed.
# shellcheck disable=SC2031,SC2119
set -euo pipefail

# shellcheck source=tests/integration/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

BASIC=$FIXTURES/basic.yaml
CRAFT=$IT_DIR/craft-input.py
PY=/usr/bin/python3
need_tools input.sh python3

# json_ok FILE: FILE is one JSON document that Python's strict decoder accepts (valid UTF-8, no raw
# control characters).
json_ok() {
        "$PY" -c 'import json, sys; json.load(open(sys.argv[1], encoding="utf-8", errors="strict"))' "$1" 2>"$T/json.err" || {
                cat "$T/json.err" >&2
                fail "$1 is not valid JSON in UTF-8"
        }
}

# small_fs DIR SCRIPT: SCRIPT (bash, with $D set to DIR) in a private mount namespace where DIR is an
# 8 MiB tmpfs.
small_fs() {
        mkdir -p "$1"
        # shellcheck disable=SC2016 # expanded by the shell in the namespace
        D=$1 GPUBASE=$GPUBASE R=$R T=$T PY=$PY CRAFT=$CRAFT private_ns bash -euc 'mount -t tmpfs -o size=8m tmpfs "$D"; '"$2"
}

# ---------------------------------------------------------------- bundles (item 7)

# an unlisted 100 MiB entry is refused from its header: nothing of it lands in an 8 MiB bundle directory
t_bundle_unlisted_refused_before_writing() {
        "$PY" "$CRAFT" unlisted-big "$T/b.tar.gz"
        # shellcheck disable=SC2016 # expanded by the shell in the namespace
        small_fs "$R/var/lib/gpubase" '
                rc=0; "$GPUBASE" --root "$R" run --bundle "$T/b.tar.gz" >"$T/out" 2>"$T/err" || rc=$?
                echo "$rc" >"$T/rc"
                df --output=used -B1 "$D" | tail -n 1 >"$T/used"
                find "$D" -mindepth 1 >"$T/left"'
        eq "$(cat "$T/rc")" 1 "exit code"
        err_has "b.tar.gz: refusing 'repo/local/big.deb': it is not in the bundle's manifest"
        not_contains "$T/err" "No space left"
        eq "$(cat "$T/left")" "" "files left in the bundle directory"
        [ "$(cat "$T/used")" -lt 65536 ] || fail "$(cat "$T/used") bytes were used in the bundle directory"
}

t_bundle_entry_larger_than_listed() {
        "$PY" "$CRAFT" oversize "$T/b.tar.gz"
        expect_rc 1 gb run --bundle "$T/b.tar.gz"
        err_has "refusing 'repo/local/a.deb': it holds 56000 bytes, the manifest says 5"
        eq "$(find "$R/var/lib/gpubase" -mindepth 1)" "" "what the refusal left"
        absent "$R/etc/gpubase-it/hello.conf"
}

# a directory entry no listed file is in is refused too; the listed file's own directories are fine
t_bundle_unlisted_directory_refused() {
        "$PY" "$CRAFT" unlisted-dir "$T/b.tar.gz"
        expect_rc 1 gb run --bundle "$T/b.tar.gz"
        err_has "b.tar.gz: refusing the directory 'junk': no file the manifest lists is in it"
        eq "$(find "$R/var/lib/gpubase" -mindepth 1)" "" "what the refusal left"
}

# the manifest's sizes are checked against the free space before anything is written
t_bundle_no_space_refused_first() {
        # shellcheck disable=SC2016 # expanded by the shell in the namespace
        small_fs "$R/var/lib/gpubase" '
                "$PY" "$CRAFT" no-space "$T/b.tar.gz" "$D"
                rc=0; "$GPUBASE" --root "$R" run --bundle "$T/b.tar.gz" >"$T/out" 2>"$T/err" || rc=$?
                echo "$rc" >"$T/rc"
                find "$D" -mindepth 1 >"$T/left"'
        eq "$(cat "$T/rc")" 1 "exit code"
        err_has "b.tar.gz: its files need "
        err_has "free; free some space and run again"
        eq "$(cat "$T/left")" "" "files left in the bundle directory"
}

# 80,000 entries and a duplicate: found (the check is linear; the guard is only against a hang)
t_bundle_many_entries_duplicate() {
        "$PY" "$CRAFT" many "$T/b.tar.gz"
        expect_rc 1 timeout 120 "$GPUBASE" --root "$R" bundle inspect "$T/b.tar.gz"
        err_has "b.tar.gz: refusing 'f/00000': it is in the archive twice"
}

# a killed extraction's bundle.new.* is removed by the next run
t_bundle_stale_extraction_removed() {
        mkdir -p "$R/var/lib/gpubase/bundle.new.Ab12Cd/repo" "$R/var/lib/gpubase/bundle.new.keep"
        echo partial >"$R/var/lib/gpubase/bundle.new.Ab12Cd/repo/x.deb"
        "$PY" "$CRAFT" oversize "$T/b.tar.gz"
        expect_rc 1 gb run --bundle "$T/b.tar.gz"
        absent "$R/var/lib/gpubase/bundle.new.Ab12Cd"
        [ -d "$R/var/lib/gpubase/bundle.new.keep" ] || fail "a directory that is not a temp name was removed"
}

# ---------------------------------------------------------------- state files (item 8)

# state_set JQ-FILTER: rewrite the state file through jq (mode 0600 kept).
state_set() {
        jq "$1" "$R/$STATE_REL" >"$T/state.new"
        cat "$T/state.new" >"$R/$STATE_REL"
}

# a gate, or a command, "reboot-requested" is a state gpubase never writes: refused, nothing run
t_state_kind_state_refused() {
        local plan=$FIXTURES/fail-gate.yaml
        expect_rc 1 gb run "$plan"
        state_set '.steps[0].state = "reboot-requested" | .run_state = "reboot-pending"'
        cp "$R/$STATE_REL" "$T/state.orig"
        expect_rc 1 gb resume
        err_has "the state file $R/$STATE_REL is corrupt (step 1 ('gate', a gate step) is \"reboot-requested\", which a gate step never is)"
        err_has "gpubase reset"
        cmp "$T/state.orig" "$R/$STATE_REL" || fail "resume changed the refused state file"
        absent "$R/after-gate.txt"

        # a command marked reboot-requested with no boot id would be recorded done without running
        expect_rc 0 gb reset
        expect_rc 3 gb run "$BASIC" --reboot=exit
        state_set '(.steps[] | select(.id == "after")) |= (.state = "reboot-requested" | .reboot_boot_id = null)'
        simulate_reboot
        expect_rc 1 gb resume --reboot=exit
        err_has "('after', a command step) is \"reboot-requested\", which a command step never is"
        absent "$R/after-reboot"
        eq "$(jq -r '.steps[] | select(.id == "after") | .state' "$R/$STATE_REL")" reboot-requested "the file is left as it was"
}

# a state file others can write is not read: its vars would reach the commands resume runs
t_state_file_mode_checked() {
        expect_rc 3 gb run "$BASIC" --reboot=exit
        chmod 0666 "$R/$STATE_REL"
        simulate_reboot
        expect_rc 1 gb resume --reboot=exit
        err_has "refusing the state file $R/$STATE_REL: $R/$STATE_REL is writable by others (mode 0666)"
        err_has "(chmod go-w $R/$STATE_REL)"
        absent "$R/after-reboot"
        expect_rc 1 gb status
        err_has "refusing the state file"
        chmod 0600 "$R/$STATE_REL"
        expect_rc 0 gb resume --reboot=exit
        [ -e "$R/after-reboot" ] || fail "resume did not go on once the mode was fixed"
        # reset forgets such a file without reading it
        chmod 0666 "$R/$STATE_REL"
        expect_rc 0 gb reset
        out_has "removed the state file $R/$STATE_REL, unread ($R/$STATE_REL is writable by others (mode 0666)"
        absent "$R/$STATE_REL"
}

# an empty or cut-off state file is named, with what happened and what to do
t_state_empty_or_cut_off_message() {
        mkdir -p "$R/var/lib/gpubase"
        install -m 0600 /dev/null "$R/$STATE_REL"
        expect_rc 1 gb status
        err_has "the state file $R/$STATE_REL is corrupt (it is empty)"
        err_has "run \`gpubase reset\`"
        expect_rc 0 gb reset
        expect_rc 3 gb run "$BASIC" --reboot=exit
        head -c 200 "$R/$STATE_REL" >"$T/cut"
        cat "$T/cut" >"$R/$STATE_REL"
        expect_rc 1 gb status --json
        err_has "the state file $R/$STATE_REL is corrupt (it ends early at byte 200, in the middle of the document (cut off by a crash or a full disk?))"
        not_contains "$T/err" ": continue"
}

# ---------------------------------------------------------------- JSON out (item 9)

# a command that prints escape codes and bytes that are not UTF-8, a lot of them: status --json and
# the state file stay valid JSON in UTF-8, and the state keeps only the output's tail
t_json_out_valid_utf8() {
        cat >"$T/p.yaml" <<'EOF'
version: 1
name: noisy
steps:
  - id: noisy
    kind: command
    argv: [sh, -c, 'head -c 200000 /dev/zero | tr "\0" "\001"; printf "\033[31mred\377\376 and \300\257 done\n" >&2; exit 3']
EOF
        expect_rc 1 gb run "$T/p.yaml"
        json_ok "$R/$STATE_REL"
        expect_rc 1 gb status --json
        json_ok "$T/out"
        jq -r '.steps[0].error' "$T/out" >"$T/error"
        contains "$T/error" "$(printf '\033[31mred\357\277\275\357\277\275 and \357\277\275\357\277\275 done')" "the step's error"
        [ "$(jq -r '.steps[0].error | utf8bytelength' "$T/out")" -le 4096 ] || fail "the stored error is longer than 4 KiB"
        eq "$(jq -r '.steps[0].error | startswith("…")' "$T/out")" true "the stored error is a tail"
}

# ---------------------------------------------------------------- daemon.json (item 10)

# daemon_json TEXT: ROOT/etc/docker/daemon.json, then `verify --json` into $T/out (exit 0, 1 or 2)
daemon_json_verify() {
        mkdir -p "$R/etc/docker"
        printf '%s\n' "$1" >"$R/etc/docker/daemon.json"
        "$GPUBASE" --root "$R" verify --json >"$T/out" 2>"$T/err" || [ $? -le 2 ] || fail "verify --json failed"
        json_ok "$T/out"
}

# a string "false" is not CDI on: dockerd refuses the file, and so do the facts and the check
t_daemon_json_types() {
        daemon_json_verify '{"features": {"cdi": "false"}, "runtimes": {"nvidia": {"path": "nvidia-container-runtime"}}}'
        eq "$(jq -r '.facts.runtime.cdi' "$T/out")" null "facts.runtime.cdi"
        eq "$(jq -r '.checks[] | select(.name == "runtime.configured") | .status' "$T/out")" fail "runtime.configured"
        eq "$(jq -r '.checks[] | select(.name == "runtime.configured") | .detail' "$T/out")" \
                '/etc/docker/daemon.json is not valid: "features.cdi" must be true or false, not a string (dockerd refuses the file)' \
                "runtime.configured detail"
        daemon_json_verify '{"default-runtime": ["nvidia"]}'
        contains "$T/out" '\"default-runtime\" must be a string, not a list' "verify --json"
        daemon_json_verify '{"runtimes": {"nvidia": {"path": "nvidia-container-runtime", "runtimeArgs": "--debug"}}}'
        contains "$T/out" '\"runtimes.nvidia.runtimeArgs\" must be a list of strings, not a string' "verify --json"
        daemon_json_verify '{"runtimes": {"nvidia": "nvidia-container-runtime"}}'
        contains "$T/out" '\"runtimes.nvidia\" must be an object, not a string' "verify --json"
        # the right types: CDI on
        daemon_json_verify '{"features": {"cdi": true}, "runtimes": {"nvidia": {"path": "nvidia-container-runtime"}}}'
        eq "$(jq -r '.facts.runtime.cdi' "$T/out")" true "facts.runtime.cdi"
        eq "$(jq -r '.checks[] | select(.name == "runtime.configured") | .status' "$T/out")" ok "runtime.configured"
}

# 41 levels of nesting in a key gpubase does not read: dockerd takes it, and so does gpubase
t_daemon_json_deep_nesting() {
        local deep
        deep=$(printf '{"a": %.0s' $(seq 41))1$(printf '}%.0s' $(seq 41))
        daemon_json_verify "{\"log-opts\": $deep, \"runtimes\": {\"nvidia\": {\"path\": \"nvidia-container-runtime\"}}}"
        eq "$(jq -r '.checks[] | select(.name == "runtime.configured") | .status' "$T/out")" ok "runtime.configured"
        not_contains "$T/out" "nesting"
}

# ---------------------------------------------------------------- exit codes (item 11)

# a file step onto a bind-mounted file: rename(2) says EBUSY, which is not "another gpubase" (75)
t_exit_bind_mounted_file_not_busy() {
        mkdir -p "$R/etc/gpubase-it"
        : >"$R/etc/gpubase-it/app.conf"
        echo "mounted from outside" >"$T/outside.conf"
        # shellcheck disable=SC2016 # expanded by the shell in the namespace
        GPUBASE=$GPUBASE R=$R T=$T BASIC=$BASIC private_ns bash -euc '
                mount --bind "$T/outside.conf" "$R/etc/gpubase-it/app.conf"
                rc=0; "$GPUBASE" --root "$R" run "$BASIC" --reboot=exit >"$T/out" 2>"$T/err" || rc=$?
                echo "$rc" >"$T/rc"'
        eq "$(cat "$T/rc")" 1 "exit code"
        err_has "step 'conf' failed: cannot write /etc/gpubase-it/app.conf: it is a mount point (a file bind-mounted there?)"
        err_has "unmount it, or change the file it is mounted from"
        not_contains "$T/err" "another gpubase"
        file_is "$T/outside.conf" "mounted from outside"
        eq "$(step_state conf)" failed "the file step"
        eq "$(sj .run_state)" failed "run_state"
}

# ---------------------------------------------------------------- plans and options (item 12)

# paths that name a directory are refused with file:line and the fix
t_plan_path_names_directory() {
        local p want
        for p in /etc/x/ /etc/. /etc/.. /etc/./x.conf /; do
                printf 'version: 1\nname: dirpath\nsteps:\n  - id: a\n    kind: file\n    path: "%s"\n    content: x\n' "$p" >"$T/p.yaml"
                expect_rc 65 gb plan check "$T/p.yaml"
                case $p in
                /etc/x/) want="$T/p.yaml:6:11: path must name a file, found '/etc/x/', which names a directory (it ends in '/'); write the path of the file itself, e.g. '/etc/x/FILE'" ;;
                /etc/.) want="$T/p.yaml:6:11: path must name a file, found '/etc/.', which names a directory (it ends in '/.'); write the path of the file itself, e.g. '/etc/FILE'" ;;
                /etc/..) want="$T/p.yaml:6:11: path must name a file without '..', found '/etc/..'; write the file's path in full" ;;
                /etc/./x.conf) want="$T/p.yaml:6:11: path must name a file without '.' components, found '/etc/./x.conf'" ;;
                /) want="$T/p.yaml:6:11: path must name a file, found '/', which names a directory" ;;
                esac
                err_has "$want"
                expect_rc 65 gb run "$T/p.yaml"
        done
        absent "$R/etc/x"
        absent "$R/$STATE_REL"
}

# a plan saved with a UTF-8 byte order mark is read like the same plan without it
t_plan_utf8_bom_accepted() {
        # (the mark straight before a key: before a comment libyaml happened to take it)
        printf '\357\273\277' >"$T/bom.yaml"
        grep -v '^#' "$BASIC" >>"$T/bom.yaml"
        expect_rc 0 gb plan check "$T/bom.yaml"
        out_has "plan 'it-basic' is valid (5 steps)"
        expect_rc 3 gb run "$T/bom.yaml" --reboot=exit
        file_is "$R/etc/gpubase-it/app.conf" "greeting=hello"
}

# --root "" (an unset variable, typically) is a usage error, never the live machine
t_root_empty_is_usage_error() {
        local cmd
        for cmd in "status" "run $BASIC" "reset" "verify"; do
                # shellcheck disable=SC2086
                expect_rc 64 "$GPUBASE" --root "" $cmd
                err_has "--root needs a directory, not an empty string; to act on this machine leave --root out"
                eq "$(cat "$T/out")" "" "stdout of --root \"\" $cmd"
        done
        expect_rc 64 "$GPUBASE" --root= status
}

# directories gpubase creates under the root are 0755; only the state directory is 0700
t_created_directory_modes() {
        rm -rf "${R:?}/var" "${R:?}/run"
        expect_rc 3 gb run "$BASIC" --reboot=exit
        eq "$(stat -c %a "$R/var")" 755 "mode of /var"
        eq "$(stat -c %a "$R/var/lib")" 755 "mode of /var/lib"
        eq "$(stat -c %a "$R/var/lib/gpubase")" 700 "mode of the state directory"
        eq "$(stat -c %a "$R/etc/gpubase-it")" 755 "mode of a file step's directory"
        # the same when the state directory is first made for a bundle
        rm -rf "${R:?}/var"
        "$PY" "$CRAFT" oversize "$T/b.tar.gz"
        expect_rc 1 gb run --bundle "$T/b.tar.gz"
        eq "$(stat -c %a "$R/var/lib")" 755 "mode of /var/lib (bundle)"
        eq "$(stat -c %a "$R/var/lib/gpubase")" 700 "mode of the state directory (bundle)"
}

ALL_TESTS=(
        bundle_unlisted_refused_before_writing
        bundle_entry_larger_than_listed
        bundle_unlisted_directory_refused
        bundle_no_space_refused_first
        bundle_many_entries_duplicate
        bundle_stale_extraction_removed
        state_kind_state_refused
        state_file_mode_checked
        state_empty_or_cut_off_message
        json_out_valid_utf8
        daemon_json_types
        daemon_json_deep_nesting
        exit_bind_mounted_file_not_busy
        plan_path_names_directory
        plan_utf8_bom_accepted
        root_empty_is_usage_error
        created_directory_modes
)

run_listed "${1:-}"
