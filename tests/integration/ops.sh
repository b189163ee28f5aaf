#!/usr/bin/env bash
# Living with gpubase in operations: the systemd units and the journal's message catalog, the
# journal entries with their MESSAGE_IDs (under --root written to var/lib/gpubase/journal.log, the
# stand-in host/journal.c keeps for tests), `run --json` / `resume --json` events, the JSON Schemas
# of packaging/schema checked against real output (python3-jsonschema), `verify --textfile` read
# by the Prometheus text-format parser (python3-prometheus-client), `gpubase status` without root,
# and the drift watch (`gpubase watch`). Run as root (the units' ExecStart, setpriv, chrooted NVML).
#   [GPUBASE=build/gpubase] [FAKE_NVML=build/fixtures/libnvidia-ml.so.1] tests/integration/ops.sh [TEST-NAME-REGEX]
# R and T are set per test by run_test, in the subshell each test runs in:
# shellcheck disable=SC2031,SC2119
set -euo pipefail

OPS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(cd "$OPS_DIR/../.." && pwd)
GPUBASE=${GPUBASE:-$REPO_DIR/build/gpubase}
FAKE_NVML=${FAKE_NVML:-$REPO_DIR/build/fixtures/libnvidia-ml.so.1}
case $GPUBASE in /*) ;; *) GPUBASE=$PWD/$GPUBASE ;; esac
case $FAKE_NVML in /*) ;; *) FAKE_NVML=$PWD/$FAKE_NVML ;; esac
export GPUBASE FAKE_NVML
[ -x "$GPUBASE" ] || { echo "ops.sh: $GPUBASE is not built (make all)" >&2; exit 2; }
[ -f "$FAKE_NVML" ] || { echo "ops.sh: $FAKE_NVML is not built (make build/fixtures/libnvidia-ml.so.1)" >&2; exit 2; }
PY=/usr/bin/python3
"$PY" -c 'import jsonschema, prometheus_client' 2>/dev/null || {
        echo "ops.sh: needs python3-jsonschema and python3-prometheus-client (make deps installs them)" >&2
        exit 2
}
for tool in systemd-analyze journalctl setpriv; do
        command -v "$tool" >/dev/null || { echo "ops.sh: needs $tool (make deps)" >&2; exit 2; }
done

# shellcheck source=tests/integration/lib.sh
. "$OPS_DIR/lib.sh"

BASIC=$FIXTURES/basic.yaml
SCHEMAS=$REPO_DIR/packaging/schema
UNITS=$REPO_DIR/packaging/systemd
TEXTFILE=/var/lib/prometheus/node-exporter/gpubase.prom
HOSTS=$IT_LOGDIR/hosts
mkdir -p "$HOSTS"
"$REPO_DIR/tests/fixtures/hosts/mkhost.sh" "$HOSTS/healthy-h100" healthy-h100 >"$IT_LOGDIR/mkhost.log" 2>&1 || {
        cat "$IT_LOGDIR/mkhost.log" >&2
        exit 2
}

# the MESSAGE_IDs, read from the header the agent is built with
mid() { sed -n "s/^#define GPUBASE_MID_$1 \"\([0-9a-f]*\)\".*/\1/p" "$REPO_DIR/agent/host/journal.h"; }
MID_NAMES="RUN_STARTED STEP_DONE STEP_FAILED REBOOT_REQUESTED RUN_DONE RUN_STOPPED DRIFT_FOUND"

# validate SCHEMA FILE [lines]: FILE (one JSON document, or with "lines" one per line) is valid
# against packaging/schema/SCHEMA.schema.json
validate() {
        "$PY" - "$SCHEMAS/$1.schema.json" "$2" "${3:-doc}" <<'EOF' || fail "$2 does not match $1.schema.json"
import json, sys
import jsonschema
schema = json.load(open(sys.argv[1]))
cls = jsonschema.validators.validator_for(schema)
cls.check_schema(schema)
v = cls(schema)
text = open(sys.argv[2]).read()
docs = [json.loads(l) for l in text.splitlines()] if sys.argv[3] == "lines" else [json.loads(text)]
if not docs:
    sys.exit("no JSON at all")
bad = 0
for d in docs:
    for e in v.iter_errors(d):
        print("  schema:", e.message, "at", list(e.absolute_path), "in", json.dumps(d)[:300], file=sys.stderr)
        bad += 1
sys.exit(1 if bad else 0)
EOF
}

# journal_entries FILTER: the entries of the root's journal stand-in as a JSON array (one object of
# FIELD: value each), through jq FILTER
journal_entries() {
        [ -f "$R/var/lib/gpubase/journal.log" ] || fail "no journal entries were written"
        "$PY" -c '
import json, sys
out, cur = [], {}
for line in open(sys.argv[1]).read().split("\n"):
    if not line:
        if cur: out.append(cur)
        cur = {}
        continue
    k, _, v = line.partition("=")
    cur[k] = v
print(json.dumps(out))' "$R/var/lib/gpubase/journal.log" | jq -r "$1"
}

# ---------------------------------------------------------------- the units and the catalog

# every shipped unit, rendered as `make install` renders it, passes `systemd-analyze verify`
# without a word; the directives the unit promises are there
t_units_verify_clean() {
        local u
        for u in gpubase.service gpubase-verify.service; do
                sed "s|@BINDIR@|$(dirname "$GPUBASE")|g" "$UNITS/$u.in" >"$T/$u"
        done
        cp "$UNITS/gpubase-verify.timer" "$T/"
        # --man=no: Documentation=man:gpubase(1) is installed by the package, not here
        expect_rc 0 systemd-analyze verify --man=no "$T/gpubase.service" "$T/gpubase-verify.service" \
                "$T/gpubase-verify.timer"
        [ ! -s "$T/err" ] || { cat "$T/err" >&2; fail "systemd-analyze verify printed warnings"; }
        contains "$T/gpubase.service" "NotifyAccess=main"
        contains "$T/gpubase.service" "Restart=on-failure"
        contains "$T/gpubase.service" "Before=cloud-final.service"
        # 75 is retried: it is the only failure code not prevented
        grep -qE '^RestartPreventExitStatus=1 2 64 65 130 143( |$)' "$T/gpubase.service" || fail "RestartPreventExitStatus"
        ! grep -E '^RestartPreventExitStatus=.*\b75\b' "$T/gpubase.service" || fail "75 must be retried"
        contains "$T/gpubase.service" "StartLimitBurst="
        # the exposure recorded in README.md is what systemd-analyze says now
        local score
        score=$(systemd-analyze security --offline=true "$T/gpubase.service" 2>/dev/null |
                sed -n 's/.*Overall exposure level for gpubase.service: \([0-9.]*\).*/\1/p')
        [ -n "$score" ] || fail "systemd-analyze security gave no score"
        contains "$REPO_DIR/README.md" "systemd-analyze security gpubase.service\` gives $score" "README.md"
}

# the catalog parses, names every MESSAGE_ID the agent logs, and explains each with a fix
t_catalog_covers_every_message_id() {
        local c=$T/croot name id
        mkdir -p "$c/usr/lib/systemd/catalog" "$c/var/lib/systemd/catalog"
        cp "$UNITS/gpubase.catalog" "$c/usr/lib/systemd/catalog/"
        expect_rc 0 journalctl --root="$c" --update-catalog
        expect_rc 0 journalctl --root="$c" --list-catalog
        cp "$T/out" "$T/list"
        for name in $MID_NAMES; do
                id=$(mid "$name")
                [ ${#id} = 32 ] || fail "no MESSAGE_ID for $name in agent/host/journal.h"
                contains "$T/list" "$id gpubase: "
                expect_rc 0 journalctl --root="$c" --dump-catalog "$id"
                out_has "Support: man:gpubase(1)"
        done
        eq "$(wc -l <"$T/list")" 7 "catalog entries"
        expect_rc 0 journalctl --root="$c" --dump-catalog "$(mid STEP_FAILED)"
        out_has "gpubase resume"
        expect_rc 0 journalctl --root="$c" --dump-catalog "$(mid DRIFT_FOUND)"
        out_has "gpubase run PLAN"
}

# ---------------------------------------------------------------- journal and --json events

# run --json: stdout is nothing but events, each valid against the schema, in order; the people's
# lines go to stderr. resume --json after the reboot goes on; a converged rerun changes nothing.
t_run_json_events() {
        expect_rc 3 gb run --json --reboot=exit "$BASIC"
        cp "$T/out" "$T/ev1"
        validate run-events "$T/ev1" lines
        err_has "[1/5] conf"
        eq "$(jq -r .event "$T/ev1" | tr '\n' ' ')" \
                "run-started step-started step-done step-started step-done step-started reboot-requested run-finished " \
                "events of the first part"
        eq "$(jq -r 'select(.event == "step-done") | "\(.step)=\(.changed)"' "$T/ev1" | tr '\n' ' ')" \
                "conf=true marker=true " "changed flags"
        eq "$(jq -r 'select(.event == "run-finished") | "\(.run_state) \(.exit_code)"' "$T/ev1")" "reboot-pending 3" "run-finished"
        eq "$(jq -r 'select(.event == "reboot-requested") | "\(.step) \(.reboot)"' "$T/ev1")" "reboot exit" "reboot-requested"
        eq "$(jq -r .run_id "$T/ev1" | sort -u)" "$(sj .run_id)" "every event names the run"

        simulate_reboot
        expect_rc 0 gb resume --json --reboot=exit
        cp "$T/out" "$T/ev2"
        validate run-events "$T/ev2" lines
        eq "$(jq -r 'select(.event == "run-started") | .after_reboot' "$T/ev2")" true "after_reboot"
        eq "$(jq -r 'select(.event | startswith("step-") and . != "step-started") | "\(.step)=\(.event)/\(.changed)"' "$T/ev2" | tr '\n' ' ')" \
                "reboot=step-done/false after=step-done/true final=step-done/true " "steps after the reboot"
        eq "$(jq -r 'select(.event == "run-finished") | "\(.run_state) \(.exit_code)"' "$T/ev2")" "done 0" "run-finished"

        # converged: every step skipped, nothing changed
        expect_rc 0 gb run --json --reboot=exit "$BASIC"
        cp "$T/out" "$T/ev3"
        validate run-events "$T/ev3" lines
        eq "$(jq -r 'select(.event | startswith("step-") and . != "step-started") | .event' "$T/ev3" | sort -u)" \
                "step-skipped" "a converged rerun"
        eq "$(jq -r 'select(.changed == true) | .step' "$T/ev3")" "" "changed steps of a converged rerun"

        # a dry run tells what would change, with changed: true
        expect_rc 0 gb run --json --dry-run "$BASIC"
        validate run-events "$T/out" lines
        eq "$(jq -r 'select(.event == "run-started") | .dry_run' "$T/out")" true "dry_run"
}

# a failing step: step-failed with its error, run-finished failed/1; a usage error prints no event
t_run_json_failure() {
        cat >"$T/fail.yaml" <<'EOF'
version: 1
name: it-fail
steps:
  - id: boom
    kind: command
    argv: [sh, -c, "echo broken >&2; exit 4"]
EOF
        expect_rc 1 gb run --json "$T/fail.yaml"
        validate run-events "$T/out" lines
        eq "$(jq -r 'select(.event == "step-failed") | .step' "$T/out")" boom "step-failed"
        jq -r 'select(.event == "step-failed") | .error' "$T/out" | grep -q broken || fail "step-failed error"
        eq "$(jq -r 'select(.event == "run-finished") | "\(.run_state) \(.exit_code)"' "$T/out")" "failed 1" "run-finished"
        expect_rc 64 gb run --json
        [ ! -s "$T/out" ] || fail "a usage error printed on the event stream"
}

# the journal entries: one MESSAGE_ID per event, with the run's fields
t_journal_message_ids() {
        expect_rc 3 gb run --reboot=exit "$BASIC"
        local run
        run=$(sj .run_id)
        eq "$(journal_entries '[.[] | .MESSAGE_ID] | join(" ")')" \
                "$(mid RUN_STARTED) $(mid STEP_DONE) $(mid STEP_DONE) $(mid REBOOT_REQUESTED) $(mid RUN_STOPPED)" \
                "MESSAGE_IDs of the first part"
        eq "$(journal_entries '[.[] | select(.GPUBASE_RUN != "'"$run"'" or .GPUBASE_PLAN != "it-basic" or .SYSLOG_IDENTIFIER != "gpubase")] | length')" \
                0 "entries with the run's fields"
        eq "$(journal_entries '.[3] | "\(.GPUBASE_STEP) \(.GPUBASE_STATE) \(.GPUBASE_REBOOT) \(.PRIORITY)"')" \
                "reboot reboot-requested exit 5" "reboot requested entry"
        eq "$(journal_entries '.[1] | "\(.GPUBASE_STEP) \(.GPUBASE_STATE) \(.GPUBASE_CHANGED)"')" "conf done 1" "step entry"
        eq "$(journal_entries '.[4] | "\(.GPUBASE_STATE) \(.GPUBASE_EXIT)"')" "reboot-pending 3" "run stopped entry"
        simulate_reboot
        expect_rc 0 gb resume --reboot=exit
        eq "$(journal_entries '.[-1] | "\(.MESSAGE_ID) \(.GPUBASE_STATE) \(.PRIORITY)"')" "$(mid RUN_DONE) done 6" "run done entry"
        # a failed step: its own id, priority err, the error in MESSAGE
        rm -f "$R/var/lib/gpubase/journal.log" "$R/marker"
        cat >"$T/fail.yaml" <<'EOF'
version: 1
name: it-fail
steps:
  - id: boom
    kind: command
    argv: [sh, -c, "echo broken >&2; exit 4"]
EOF
        expect_rc 1 gb run "$T/fail.yaml"
        eq "$(journal_entries '[.[] | select(.MESSAGE_ID == "'"$(mid STEP_FAILED)"'")] | .[0] | "\(.GPUBASE_STEP) \(.GPUBASE_STATE) \(.PRIORITY)"')" \
                "boom failed 3" "step failed entry"
        journal_entries '.[] | select(.MESSAGE_ID == "'"$(mid STEP_FAILED)"'") | .MESSAGE' | grep -q broken ||
                fail "the failed step's entry does not carry its error"
        # a dry run writes no entry
        expect_rc 0 gb reset
        rm -f "$R/var/lib/gpubase/journal.log"
        expect_rc 0 gb run --dry-run "$BASIC"
        absent "$R/var/lib/gpubase/journal.log"
}

# ---------------------------------------------------------------- status and verify --json

t_status_and_verify_json_schemas() {
        expect_rc 0 gb status --json
        validate status "$T/out"
        eq "$(jq -r '"\(.format) \(.run_state)"' "$T/out")" "1 idle" "idle status"
        expect_rc 3 gb run --reboot=exit "$BASIC"
        expect_rc 3 gb status --json
        validate status "$T/out"
        eq "$(jq -r .format "$T/out")" 1 "status format"
        simulate_reboot
        expect_rc 0 gb resume --reboot=exit
        expect_rc 0 gb status --json
        validate status "$T/out"
        # verify on a healthy GPU host and on a bare root (failures, nulls)
        expect_rc 1 gb verify --json
        validate verify "$T/out"
        eq "$(jq -r .format "$T/out")" 1 "verify format"
        rm -rf "${R:?}"/*
        cp -a "$HOSTS/healthy-h100/." "$R/"
        expect_rc 0 gb verify --json
        validate verify "$T/out"
        eq "$(jq -r '.facts.driver.loaded' "$T/out")" 595.45.01 "a fact"
}

# gpubase status without root: the published copy, with secret values redacted as in the state
t_status_without_root() {
        cat >"$T/secret.yaml" <<'EOF'
version: 1
name: it-secret
vars:
  token: {value: "s3cr3t-t0ken", secret: true}
steps:
  - id: use
    kind: command
    argv: [sh, -c, "echo using ${token}"]
EOF
        expect_rc 0 gb run "$T/secret.yaml"
        local pub=$R/run/gpubase/status.json
        [ -f "$pub" ] || fail "no public status at $pub"
        eq "$(stat -c %a "$pub")" 644 "mode of the public status"
        eq "$(stat -c %a "$R/var/lib/gpubase")" 700 "mode of the state directory"
        not_contains "$pub" "s3cr3t-t0ken"
        chmod 755 "$W" "$T" # mktemp's 0700, so that nobody can reach the root
        local nobody=(setpriv --reuid=65534 --regid=65534 --clear-groups)
        expect_rc 0 "${nobody[@]}" "$GPUBASE" --root "$R" status --json
        validate status "$T/out"
        eq "$(jq -r '"\(.run_state) \(.plan_name) \(.steps[0].state)"' "$T/out")" "done it-secret done" "status as nobody"
        not_contains "$T/out" "s3cr3t-t0ken"
        expect_rc 0 "${nobody[@]}" "$GPUBASE" --root "$R" status
        out_has "state: done"
        # the state itself stays root's: nobody cannot read it
        ! "${nobody[@]}" cat "$R/$STATE_REL" >/dev/null 2>&1 || fail "nobody can read the state file"
        # reset forgets the published copy too; without one (a fresh boot before the run goes on)
        # status says so and how
        expect_rc 0 gb reset
        absent "$pub"
        expect_rc 1 "${nobody[@]}" "$GPUBASE" --root "$R" status
        err_has "sudo gpubase status"
}

# ---------------------------------------------------------------- Prometheus textfile

# prom FILE: the metric families of FILE as JSON, through the Prometheus project's own parser
prom() {
        "$PY" - "$1" <<'EOF'
import json, sys
from prometheus_client.parser import text_string_to_metric_families
fams = {}
for f in text_string_to_metric_families(open(sys.argv[1]).read()):
    fams[f.name] = {"type": f.type, "samples": [{"name": s.name, "labels": s.labels, "value": s.value} for s in f.samples]}
print(json.dumps(fams))
EOF
}

t_textfile_parsed_by_prometheus() {
        cp -a "$HOSTS/healthy-h100/." "$R/"
        expect_rc 3 gb run --reboot=exit "$BASIC" # a reboot step: the run stops, reboot-pending
        expect_rc 0 gb verify --textfile "$TEXTFILE"
        local f=$R$TEXTFILE
        [ -f "$f" ] || fail "no textfile at $f"
        eq "$(stat -c %a "$f")" 644 "the textfile's mode"
        ls "$(dirname "$f")" >"$T/dir"
        eq "$(cat "$T/dir")" gpubase.prom "only the textfile in its directory (no temp file left)"
        prom "$f" >"$T/prom.json" || fail "the Prometheus parser refused the textfile"
        # one gauge per check and status, exactly one of them 1 per check
        eq "$(jq -r '.gpubase_check_status.type' "$T/prom.json")" gauge "type"
        eq "$(jq -r '[.gpubase_check_status.samples[] | select(.value == 1)] | length' "$T/prom.json")" 28 "checks"
        eq "$(jq -r '.gpubase_check_status.samples | length' "$T/prom.json")" 112 "samples (28 checks x 4 states)"
        eq "$(jq -r '.gpubase_check_status.samples[] | select(.value == 1 and .labels.check == "driver.loaded") | .labels.status' "$T/prom.json")" \
                ok "driver.loaded"
        eq "$(jq -r '.gpubase_check_status.samples[] | select(.value == 1 and .labels.check == "toolkit.nvcc") | .labels.status' "$T/prom.json")" \
                skip "toolkit.nvcc"
        eq "$(jq -r '.gpubase_checks.samples[] | select(.labels.status == "ok") | .value' "$T/prom.json")" 19 "ok count"
        eq "$(jq -r '.gpubase_driver_info.samples[0].labels | "\(.loaded) \(.flavor) \(.installed)"' "$T/prom.json")" \
                "595.45.01 open 595.45.01" "driver info"
        jq -e '.gpubase_cuda_ceiling_info.samples[0].labels.version | test("^[0-9]+\\.[0-9]+$")' "$T/prom.json" >/dev/null ||
                fail "CUDA ceiling"
        jq -e '.gpubase_ctk_info.samples[0].labels | has("version")' "$T/prom.json" >/dev/null || fail "toolkit info"
        eq "$(jq -r '.gpubase_gpus.samples[0].value' "$T/prom.json")" 1 "GPU count"
        eq "$(jq -r '.gpubase_run_state.samples[] | select(.value == 1) | .labels.state' "$T/prom.json")" reboot-pending "run state"
        eq "$(jq -r '.gpubase_run_info.samples[0].labels.plan' "$T/prom.json")" it-basic "run info"
        jq -e '.gpubase_run_updated_timestamp_seconds.samples[0].value > 1.7e9' "$T/prom.json" >/dev/null || fail "run time"
        # a second write replaces the file whole; a relative path is refused
        expect_rc 0 gb verify --textfile "$TEXTFILE"
        prom "$f" >/dev/null || fail "the rewritten textfile does not parse"
        expect_rc 1 gb verify --textfile relative.prom
        err_has "absolute path"
}

# ---------------------------------------------------------------- the drift watch

# a plan on the healthy host whose step's check the watch can see drift from
watch_plan() { # REPAIR
        cat >"$T/watch.yaml" <<EOF
version: 1
name: it-watch
watch: {enable: true, repair: $1}
steps:
  - id: conf
    kind: file
    path: /etc/gpubase-it/app.conf
    content: "greeting=hello\n"
    checks: [{file-contains: {path: /etc/gpubase-it/app.conf, text: "greeting=hello"}}]
EOF
}

t_watch_enable_disable() {
        expect_rc 0 gb watch enable
        expect_rc 0 gb watch status
        out_has "gpubase-verify.timer: enabled"
        out_has "no run yet"
        expect_rc 0 gb watch disable
        eq "$(tr '\n' ' ' <"$R/$ACTIONS_REL")" \
                "enable gpubase-verify.timer start gpubase-verify.timer stop gpubase-verify.timer disable gpubase-verify.timer " \
                "what watch enable and disable did"
        expect_rc 0 gb watch status
        out_has "gpubase-verify.timer: disabled"
        expect_rc 64 gb watch sideways
        expect_rc 64 gb watch status --textfile /x.prom
        # nothing to watch yet: exit 0, no metrics
        expect_rc 0 gb watch check
        out_has "nothing checked"
}

t_watch_finds_drift() {
        cp -a "$HOSTS/healthy-h100/." "$R/"
        watch_plan false
        expect_rc 0 gb run "$T/watch.yaml"
        # the plan's watch.enable: the done run enabled and started the timer
        contains "$R/$ACTIONS_REL" "enable gpubase-verify.timer"
        contains "$R/$ACTIONS_REL" "start gpubase-verify.timer"
        rm -f "$R/var/lib/gpubase/journal.log"
        expect_rc 0 gb watch check
        prom "$R$TEXTFILE" >"$T/prom.json"
        eq "$(jq -r '.gpubase_check_status.samples[] | select(.value == 1 and (.labels.check | startswith("file-contains"))) | .labels.status' "$T/prom.json")" \
                ok "the plan's check"
        absent "$R/var/lib/gpubase/journal.log"
        # drift behind the plan's back
        echo "greeting=changed" >"$R/etc/gpubase-it/app.conf"
        expect_rc 1 gb watch check
        err_has "drift found"
        eq "$(journal_entries '.[0] | "\(.MESSAGE_ID) \(.PRIORITY) \(.GPUBASE_PLAN)"')" "$(mid DRIFT_FOUND) 3 it-watch" "drift entry"
        journal_entries '.[0].GPUBASE_DRIFT' | grep -q "file-contains.*fail" || fail "the drift entry names the failing check"
        prom "$R$TEXTFILE" >"$T/prom.json"
        eq "$(jq -r '.gpubase_check_status.samples[] | select(.value == 1 and (.labels.check | startswith("file-contains"))) | .labels.status' "$T/prom.json")" \
                fail "the plan's check after the drift"
        # read-only: the file stays as it was
        file_is "$R/etc/gpubase-it/app.conf" "greeting=changed"
}

t_watch_repairs_without_reboot() {
        cp -a "$HOSTS/healthy-h100/." "$R/"
        watch_plan true
        expect_rc 0 gb run "$T/watch.yaml"
        local run1
        run1=$(sj .run_id)
        echo "greeting=changed" >"$R/etc/gpubase-it/app.conf"
        rm -f "$R/$ACTIONS_REL" "$R/var/lib/gpubase/journal.log"
        expect_rc 0 gb watch check
        err_has "repairing: gpubase run $T/watch.yaml --reboot=never"
        file_is "$R/etc/gpubase-it/app.conf" "greeting=hello"
        eq "$(sj .run_state)" "done" "the repair run"
        [ "$(sj .run_id)" != "$run1" ] || fail "the repair is a new run"
        eq "$(journal_entries '[.[] | .MESSAGE_ID] | join(" ")')" \
                "$(mid DRIFT_FOUND) $(mid RUN_STARTED) $(mid STEP_DONE) $(mid RUN_DONE)" "drift, then the repair run"
        not_contains "$R/$ACTIONS_REL" "reboot"
        # the repair takes gpubase's lock: busy while another agent holds it
        echo "greeting=changed" >"$R/etc/gpubase-it/app.conf"
        mkdir -p "$R/run"
        flock "$R/$LOCK_REL" sleep 60 &
        BG_PIDS+=("$!")
        local _
        for _ in $(seq 50); do
                flock -n "$R/$LOCK_REL" true || break
                sleep 0.1
        done
        expect_rc 75 gb watch check
        err_has "another gpubase is running"
}

ALL_TESTS=(
        units_verify_clean
        catalog_covers_every_message_id
        run_json_events
        run_json_failure
        journal_message_ids
        status_and_verify_json_schemas
        status_without_root
        textfile_parsed_by_prometheus
        watch_enable_disable
        watch_finds_drift
        watch_repairs_without_reboot
)

run_listed "${1:-}"
