#!/usr/bin/env bash
# Bash completion (packaging/completion/gpubase.bash) and the gpubase-plan(5) man page.
#   [GPUBASE=/abs/gpubase] tests/integration/completion.sh [TEST-NAME-REGEX]
# Completion is driven the way bash drives it (COMP_WORDS split at "=", COMP_CWORD), with
# bash-completion's _init_completion when it is installed. The man page must render without
# warnings and name every step kind, check and condition the agent knows.
# shellcheck disable=SC2031,SC2119
set -euo pipefail
SRC_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
GPUBASE=${GPUBASE:-$SRC_DIR/build/gpubase}
export GPUBASE
# shellcheck source=tests/integration/lib.sh
. "$SRC_DIR/tests/integration/lib.sh"
COMPLETION=$SRC_DIR/packaging/completion/gpubase.bash
MANPAGE=$SRC_DIR/packaging/gpubase-plan.5
MANPAGE1=$SRC_DIR/packaging/gpubase.1
COMMANDS="run resume status wait verify plan reset bundle report"

# comp WORD...: the completions bash would offer for the last word (one per line, sorted).
comp() {
        PATH="$(dirname "$GPUBASE"):$PATH" bash --norc --noprofile -c '
                [ -r /usr/share/bash-completion/bash_completion ] && . /usr/share/bash-completion/bash_completion
                . "$0"
                COMP_WORDS=()
                for w in "$@"; do
                        if [[ $w == -*=* ]]; then COMP_WORDS+=("${w%%=*}" "=" "${w#*=}"); else COMP_WORDS+=("$w"); fi
                done
                COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
                COMP_LINE="$*"
                COMP_POINT=${#COMP_LINE}
                _gpubase gpubase "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}" 2>/dev/null
                printf "%s\n" "${COMPREPLY[@]}"
        ' "$COMPLETION" "$@" | LC_ALL=C sort
}

# offers EXPECTED WORD...: the completions, space-separated, are EXPECTED
offers() {
        local want=$1 got
        shift
        got=$(comp "$@" | tr '\n' ' ' | sed 's/ $//')
        [ "$got" = "$want" ] || fail "completing '$*': got '$got', expected '$want'"
}

t_completion_subcommands() {
        offers "bundle help plan report reset resume run status verify wait watch" gpubase ""
        offers "bundle plan report reset resume run status verify wait watch" gpubase help ""
        offers "report reset resume" gpubase re
        offers "check show" gpubase plan ""
        offers "create inspect" gpubase bundle ""
        offers "check disable enable status" gpubase watch ""
        offers "report reset resume" gpubase --root /tmp re
}

t_completion_options() {
        offers "--reboot=" gpubase run --reb
        offers "exit" gpubase run --reboot=e
        offers "exit never now" gpubase resume --reboot=
        offers "--json" gpubase status --j
        offers "--plan" gpubase verify --pl
        offers "--smoke" gpubase verify --sm
        comp gpubase verify -- >"$T/o"
        contains "$T/o" "--var"
        not_contains "$T/o" "--reboot="
        offers "--output" gpubase report --ou
        offers "--bundle" gpubase run --bu
        offers "--json" gpubase resume --j
        offers "--textfile" gpubase verify --te
        offers "--quiet" gpubase resume --qu
}

t_completion_files() {
        mkdir -p "$T/p/sub"
        touch "$T/p/a.yaml" "$T/p/b.yml" "$T/p/notes.txt" "$T/p/b.tar.zst" "$T/p/r.tar.gz"
        offers "$T/p/a.yaml $T/p/b.yml $T/p/sub" gpubase run "$T/p/"
        offers "$T/p/a.yaml $T/p/b.yml $T/p/sub" gpubase plan check "$T/p/"
        offers "$T/p/a.yaml $T/p/b.yml $T/p/sub" gpubase verify --plan "$T/p/"
        offers "$T/p/b.tar.zst $T/p/r.tar.gz $T/p/sub" gpubase run --bundle "$T/p/"
        offers "$T/p/b.tar.zst $T/p/r.tar.gz $T/p/sub" gpubase bundle inspect "$T/p/"
        offers "$T/p/sub" gpubase --root "$T/p/"
}

t_completion_plan_variables() {
        offers "ctk= ctk_key_fpr= ctk_key_url= ctk_repo= cuda_key_fpr= cuda_keyring_url= cuda_repo=" gpubase run "$SRC_DIR/plans/debian-12.yaml" --var c
        offers "branch=" gpubase run "$SRC_DIR/plans/debian-12.yaml" --var=b
        # built-ins cannot be overridden: not offered
        comp gpubase verify --plan "$SRC_DIR/plans/debian-12.yaml" --var "" >"$T/o"
        contains "$T/o" "cuda_keyring_url="
        not_contains "$T/o" "deb_arch="
}

t_man_page_renders_and_is_complete() {
        LC_ALL=C.UTF-8 groff -man -Tutf8 -ww -z "$MANPAGE" 2>"$T/warn" || fail "groff failed"
        [ ! -s "$T/warn" ] || { cat "$T/warn" >&2; fail "groff warnings"; }
        LC_ALL=C.UTF-8 MANWIDTH=200 man -l "$MANPAGE" 2>/dev/null | col -b >"$T/page" || true
        [ -s "$T/page" ] || LC_ALL=C.UTF-8 groff -man -Tutf8 "$MANPAGE" | col -b >"$T/page"
        local k
        while read -r k; do
                contains "$T/page" "$k" "gpubase-plan(5) (step kind $k)"
        done < <(grep -h '^\s*\.name = "' "$SRC_DIR"/agent/steps/*.c | sed 's/.*"\(.*\)".*/\1/')
        while read -r k; do
                contains "$T/page" "$k" "gpubase-plan(5) (check $k)"
        done < <(grep -h '\.name = "' "$SRC_DIR"/agent/checks/*.c | sed 's/.*"\(.*\)".*/\1/')
        for k in always changed driver-stale config-changed nvswitch-present persistenced-installed; do
                contains "$T/page" "$k" "gpubase-plan(5) (condition $k)"
        done
        # every parameter key of every step kind
        for k in $(sed -n 's/.*_keys\[\] = {\(.*\)/\1/p; s/^ *\("[a-z_]*",.*NULL};\)/\1/p' "$SRC_DIR"/agent/steps/*.c |
                grep -o '"[a-z_]*"' | tr -d '"'); do
                contains "$T/page" "$k" "gpubase-plan(5) (parameter $k)"
        done
}

# `gpubase help` and `gpubase help CMD` exit 0; every command's help lists every option it takes
# (those the completion offers for it), and no other
t_help_lists_options() {
        local c o
        "$GPUBASE" help >"$T/help" || fail "gpubase help exited $?"
        for c in $COMMANDS; do contains "$T/help" "  $c " "gpubase help (command $c)"; done
        for c in $COMMANDS; do
                "$GPUBASE" help "$c" >"$T/help-$c" || fail "gpubase help $c exited $?"
                "$GPUBASE" "$c" --help >"$T/dash-$c" || fail "gpubase $c --help exited $?"
                cmp -s "$T/help-$c" "$T/dash-$c" || fail "gpubase help $c and gpubase $c --help differ"
                contains "$T/help-$c" "Usage: gpubase [OPTIONS] $c" "gpubase help $c"
                contains "$T/help-$c" "Options:" "gpubase help $c"
                for o in $(bash -c '. "$0"; _gpubase_opts "$1"' "$COMPLETION" "$c"); do
                        o=${o%=}
                        case $o in
                        --*) grep -qE -- "^  (-[a-z], )?$o([ =]|$)" "$T/help-$c" ;;
                        *) grep -qE -- "^  $o, --" "$T/help-$c" ;;
                        esac || fail "gpubase help $c does not list $o"
                done
        done
        # options a command does not take are not listed
        not_contains "$T/help-status" "--reboot" "gpubase help status"
        not_contains "$T/help-wait" "--json" "gpubase help wait"
        contains "$T/help-wait" "--timeout SECONDS" "gpubase help wait"
        local rc=0
        "$GPUBASE" help nosuch >/dev/null 2>"$T/err" || rc=$?
        eq "$rc" 64 "gpubase help nosuch"
}

# a mistyped command gets the nearest one; a word like no command gets none
t_unknown_command_did_you_mean() {
        local rc=0
        "$GPUBASE" stauts >/dev/null 2>"$T/err" || rc=$?
        eq "$rc" 64 "exit code of a mistyped command"
        contains "$T/err" "unknown command 'stauts' (did you mean 'status'?)" "stderr"
        rc=0
        "$GPUBASE" frobnicate >/dev/null 2>"$T/err" || rc=$?
        eq "$rc" 64 "exit code of an unknown command"
        not_contains "$T/err" "did you mean" "stderr of an unknown command"
}

# gpubase(1) renders without warnings and names every command, every option of `gpubase --help`,
# and the OUTPUT format
t_man_page_1_complete() {
        LC_ALL=C.UTF-8 groff -man -Tutf8 -ww -z "$MANPAGE1" 2>"$T/warn" || fail "groff failed"
        [ ! -s "$T/warn" ] || { cat "$T/warn" >&2; fail "groff warnings in gpubase(1)"; }
        LC_ALL=C.UTF-8 MANWIDTH=200 man -l "$MANPAGE1" 2>/dev/null | col -b >"$T/page1" || true
        [ -s "$T/page1" ] || LC_ALL=C.UTF-8 groff -man -Tutf8 "$MANPAGE1" | col -b >"$T/page1"
        local c o
        for c in $COMMANDS "bundle create" "bundle inspect" "help"; do
                grep -qE "^       $c( |$)" "$T/page1" || fail "gpubase(1) has no entry for the command $c"
        done
        for o in $("$GPUBASE" --help | grep -oE '^  (-[a-z], )?--[a-z-]+' | grep -oE -- '--[a-z-]+'); do
                grep -qE -- "^       (-[a-z], )?$o" "$T/page1" || fail "gpubase(1) has no entry for the option $o"
        done
        for o in "-o, --output" "-q, --quiet"; do contains "$T/page1" "$o" "gpubase(1)"; done
        contains "$T/page1" "waiting for the dpkg lock held by process PID (NAME)" "gpubase(1) OUTPUT"
        # the package installs the plans under /usr/share: gpubase-plan(5) says so
        LC_ALL=C.UTF-8 MANWIDTH=200 man -l "$MANPAGE" 2>/dev/null | col -b >"$T/page5" || true
        contains "$T/page5" "/usr/share/gpubase/plans/" "gpubase-plan(5) FILES"
}

for t in $(declare -F | awk '{print $3}' | grep '^t_'); do
        if [ -z "${1:-}" ] || [[ $t =~ $1 ]]; then
                run_test "${t#t_}" "$t"
        fi
done
summary
