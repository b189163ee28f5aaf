#!/usr/bin/env bash
# The examples under examples/, each exercised: Packer (validate, fmt, and the template's scripts in
# its order against a --root sandbox with a simulated reboot), cloud-init (schema, the embedded
# plan, the runcmd line and the unit's resume in a sandbox) and Ansible (syntax check, and the
# rolling playbook on two local --root sandboxes whose drivers differ: the fleet report must name
# the disagreement). Sandboxes are fixture GPU hosts from tests/fixtures/hosts/mkhost.sh.
#   GPUBASE=/abs/gpubase [FAKE_NVML=/abs/libnvidia-ml.so.1] tests/integration/examples.sh [TEST-NAME-REGEX]
# A tool that is not installed (packer, cloud-init, ansible-playbook: `make deps`) skips its tests.
# shellcheck disable=SC2031,SC2119
set -euo pipefail

# shellcheck source=tests/integration/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

SRC_DIR=$(cd "$IT_DIR/../.." && pwd)
EX=$SRC_DIR/examples
FAKE_NVML=${FAKE_NVML:-$SRC_DIR/build/fixtures/libnvidia-ml.so.1}
[ -f "$FAKE_NVML" ] || { echo "examples.sh: $FAKE_NVML is not built (make build/fixtures/libnvidia-ml.so.1)" >&2; exit 2; }
export FAKE_NVML
HOSTS=$IT_LOGDIR/hosts
for s in healthy-h100 cuda13-on-570; do
        "$SRC_DIR/tests/fixtures/hosts/mkhost.sh" "$HOSTS/$s" "$s" >"$IT_LOGDIR/mkhost-$s.log" 2>&1 || {
                cat "$IT_LOGDIR/mkhost-$s.log" >&2
                exit 2
        }
done

# host SCENARIO [DIR]: DIR (default: this test's root) becomes a copy of a fixture host.
host() {
        mkdir -p "${2:-$R}"
        cp -a "$HOSTS/$1/." "${2:-$R}/"
}

need() {
        command -v "$1" >/dev/null || {
                echo "$1 is not installed (make deps installs it)"
                exit 77
        }
}

# ---------------------------------------------------------------- Packer

t_packer_validate() {
        need packer
        cd "$EX/packer"
        expect_rc 0 packer fmt -check .
        # the file provisioner checks that the package it uploads exists: any .deb will do here
        : >"$T/gpubase.deb"
        expect_rc 0 packer validate -var "gpubase_deb=$T/gpubase.deb" -var-file=gpu-image.pkrvars.hcl gpu-image.pkr.hcl
        # gpubase comes from its package, with its dependencies (apt-get install, not a bare binary)
        grep -q 'source *= local.deb' gpu-image.pkr.hcl || fail "the template does not upload the .deb"
        # shellcheck disable=SC2016 # the script's text, literally
        grep -qF 'apt_install "$UP/gpubase.deb"' scripts/10-install.sh || fail "10-install.sh does not apt-get install the .deb"
        # Packer >= 1.10 needs the Amazon plugin declared (packer 1.6.6 here knows no required_plugins:
        # plugins.pkr.hcl is checked by fmt, which parses it, not by validate)
        grep -q 'source *= "github.com/hashicorp/amazon"' plugins.pkr.hcl || fail "no required_plugins for the Amazon builder"
        # the reboot protocol as the README describes it
        grep -A4 'scripts/20-run.sh' gpu-image.pkr.hcl | grep -q 'valid_exit_codes = \[0, 3\]' ||
                fail "20-run.sh's provisioner does not accept exit 3"
        grep -A4 'scripts/30-reboot-if-pending.sh' gpu-image.pkr.hcl | grep -q 'expect_disconnect = true' ||
                fail "the reboot provisioner does not expect the disconnect"
        grep -B4 'scripts/40-resume.sh' gpu-image.pkr.hcl | grep -q 'pause_before' ||
                fail "the resume provisioner does not pause before"
        local s
        for s in scripts/*.sh; do
                eq "$(head -n 1 "$s")" "#!/bin/bash" "$s's shebang"
        done
}

t_packer_sequence_in_sandbox() {
        host healthy-h100
        printf 'b1e5a7e0c1d24f0e9a7b3c5d7e9f1a2b\n' >"$R/etc/machine-id"
        # what the template's file provisioners upload: a package with gpubase as the .deb installs
        # it (/usr/bin/gpubase; `make deb` is not run by this suite), and the plans
        mkdir -p "$R/tmp/gpubase-upload" "$T/pkg/DEBIAN" "$T/pkg/usr/bin"
        cp "$GPUBASE" "$T/pkg/usr/bin/gpubase"
        printf 'Package: gpubase\nVersion: 0.1.0\nArchitecture: all\nMaintainer: test <test@example.invalid>\nDescription: test\n' \
                >"$T/pkg/DEBIAN/control"
        dpkg-deb --root-owner-group --build "$T/pkg" "$R/tmp/gpubase-upload/gpubase.deb" >/dev/null
        cp -r "$SRC_DIR/plans" "$R/tmp/gpubase-upload/plans"
        # the demo plan (runs anywhere) and, as the shipped plans end, docker restarted after its
        # configuration changed
        {
                cat "$SRC_DIR/plans/demo.yaml"
                printf '\n  - id: docker-restart\n    kind: service-restart\n    unit: docker.service\n    when: config-changed\n'
        } >"$R/tmp/gpubase-upload/plans/sandbox.yaml"
        # the reboot: a new boot id, and the demo plan's "driver" loaded
        cat >"$T/reboot.sh" <<EOF
#!/bin/bash
echo rebooted >>"$T/reboots"
cat /proc/sys/kernel/random/uuid >"$R/$BOOT_ID_REL"
sed -n 2p "$R/var/lib/demo/nvidia-open.version" >"$R/sys/module/nvidia/version"
EOF
        chmod +x "$T/reboot.sh"
        export SANDBOX_ROOT=$R GPUBASE_PLAN_FILE=sandbox.yaml GPUBASE_PLAN_VARS="branch=595" REBOOT_COMMAND=$T/reboot.sh
        export GPUBASE_WAIT_TIMEOUT=60
        # the scripts in the template's order, each with the exit code its provisioner accepts
        local s order=() want
        mapfile -t order < <(grep -o 'scripts/[0-9][0-9]-[a-z-]*\.sh' "$EX/packer/gpu-image.pkr.hcl")
        eq "${order[*]}" "scripts/10-install.sh scripts/20-run.sh scripts/30-reboot-if-pending.sh scripts/40-resume.sh scripts/50-verify.sh scripts/60-cleanup.sh" "the template's scripts"
        for s in "${order[@]}"; do
                case $s in *20-run.sh) want=3 ;; *) want=0 ;; esac
                expect_rc "$want" "$EX/packer/$s"
                case $s in
                *20-run.sh)
                        eq "$(sj .run_state)" reboot-pending "run_state after 20-run.sh"
                        absent "$T/reboots"
                        ;;
                *30-reboot-if-pending.sh) eq "$(cat "$T/reboots")" rebooted "reboots" ;;
                *40-resume.sh) eq "$(sj .run_state)" "done" "run_state after 40-resume.sh" ;;
                *50-verify.sh)
                        out_has "0 fail"
                        tar -tzf "$R/var/tmp/gpubase-report.tar.gz" >"$T/report.list"
                        contains "$T/report.list" "gpubase-report/files/var/lib/gpubase/state.json"
                        ;;
                esac
        done
        # the image: no run, no machine id, nothing uploaded; the plan's work is there
        absent "$R/var/lib/gpubase/state.json"
        eq "$(stat -c %s "$R/etc/machine-id")" 0 "size of /etc/machine-id"
        absent "$R/tmp/gpubase-upload"
        [ -x "$R/usr/bin/gpubase" ] || fail "gpubase is not installed in the image"
        contains "$R/etc/modprobe.d/blacklist-nouveau.conf" "blacklist nouveau"
        # --reboot=exit: gpubase rebooted nothing itself; it restarted docker after configuring it
        eq "$(cat "$R/$ACTIONS_REL")" "restart docker.service" "host actions"
        # a second 30-reboot-if-pending.sh on a finished run reboots nothing
        expect_rc 0 gb status
}

# ---------------------------------------------------------------- cloud-init

# the write_files entry for PATH, from user-data
write_file_content() {
        python3 - "$EX/cloud-init/user-data" "$1" <<'EOF'
import sys, yaml
doc = yaml.safe_load(open(sys.argv[1]))
for f in doc["write_files"]:
    if f["path"] == sys.argv[2]:
        sys.stdout.write(f["content"])
        break
else:
    sys.exit("no write_files entry for " + sys.argv[2])
EOF
}

t_cloud_init_schema() {
        need cloud-init
        expect_rc 0 cloud-init schema --config-file "$EX/cloud-init/user-data"
        out_has "Valid cloud-config"
        eq "$(head -n 1 "$EX/cloud-init/user-data")" "#cloud-config" "first line"
        write_file_content /etc/gpubase/plan.yaml >"$T/plan.yaml"
        cmp "$SRC_DIR/plans/debian-12.yaml" "$T/plan.yaml" || fail "the plan in user-data is not plans/debian-12.yaml"
        expect_rc 0 gb plan show "$T/plan.yaml"
}

t_cloud_init_runcmd_then_unit_in_sandbox() {
        need python3
        host healthy-h100
        # write_files, with the demo plan (runs anywhere) in place of the real one
        mkdir -p "$R/etc/gpubase"
        cp "$SRC_DIR/plans/demo.yaml" "$R/etc/gpubase/plan.yaml"
        cp -r "$SRC_DIR/plans/demo" "$R/etc/gpubase/demo"
        # gpubase on PATH acts on the sandbox; /etc/gpubase paths are moved into it
        mkdir -p "$T/bin"
        cat >"$T/bin/gpubase" <<EOF
#!/bin/bash
args=()
for a in "\$@"; do case \$a in /etc/gpubase/*) args+=("$R\$a") ;; *) args+=("\$a") ;; esac; done
exec "$GPUBASE" --root "$R" "\${args[@]}"
EOF
        chmod +x "$T/bin/gpubase"
        python3 -c 'import sys, yaml; c = yaml.safe_load(open(sys.argv[1]))["runcmd"][0]; print(c[2] if isinstance(c, list) else c)' \
                "$EX/cloud-init/user-data" >"$T/runcmd"
        contains "$T/runcmd" "gpubase run /etc/gpubase/plan.yaml"
        # cloud-init runs it with sh -c: exit 3 (reboot under way) is not a failure
        expect_rc 0 env PATH="$T/bin:$PATH" sh -c "$(cat "$T/runcmd")"
        eq "$(sj .run_state)" reboot-pending "run_state after runcmd"
        eq "$(cat "$R/$ACTIONS_REL")" $'enable gpubase.service\nreboot' "host actions of the first boot"
        # the reboot; then what gpubase.service runs
        simulate_reboot
        sed -n 2p "$R/var/lib/demo/nvidia-open.version" >"$R/sys/module/nvidia/version"
        local exec
        exec=$(sed -n 's/^ExecStart=@BINDIR@\///p' "$SRC_DIR/packaging/systemd/gpubase.service.in")
        eq "$exec" "gpubase resume" "the unit's ExecStart"
        grep -qx 'ConditionPathExists=/var/lib/gpubase/state.json' "$SRC_DIR/packaging/systemd/gpubase.service.in" ||
                fail "the unit does not run only with a state"
        # shellcheck disable=SC2086
        expect_rc 0 env PATH="$T/bin:$PATH" $exec
        eq "$(sj .run_state)" "done" "run_state after the unit ran"
        eq "$(cat "$R/$ACTIONS_REL")" $'enable gpubase.service\nreboot\ndisable gpubase.service' "host actions after the run"
}

# ---------------------------------------------------------------- Ansible

# inventory NODE=SCENARIO...: local nodes on --root sandboxes under $T.
inventory() {
        local n
        {
                echo "[gpu_nodes]"
                for n in "$@"; do
                        host "${n#*=}" "$T/${n%%=*}"
                        echo "${n%%=*} ansible_connection=local gpubase_root=$T/${n%%=*}"
                done
                cat <<EOF

[gpu_nodes:vars]
ansible_python_interpreter=/usr/bin/python3
gpubase_become=false
gpubase_bin=$GPUBASE
gpubase_plan_src=$FIXTURES/basic.yaml
gpubase_vars=["greeting=hello"]
gpubase_reboot_command="cat /proc/sys/kernel/random/uuid > {{ gpubase_root }}/$BOOT_ID_REL"
gpubase_serial=1
EOF
        } >"$T/inventory.ini"
}

ap() {
        ANSIBLE_NOCOLOR=1 ANSIBLE_LOCAL_TEMP=$T/.ansible-local ANSIBLE_REMOTE_TEMP=$T/.ansible-remote \
                ANSIBLE_RETRY_FILES_ENABLED=0 HOME=$T ansible-playbook "$@"
}

t_ansible_syntax_check() {
        need ansible-playbook
        expect_rc 0 ap -i "$EX/ansible/inventory.example.ini" --syntax-check "$EX/ansible/site.yml"
        local d
        for d in tasks defaults handlers meta vars; do
                [ -f "$EX/ansible/roles/gpubase/$d/main.yml" ] || fail "the role has no $d/main.yml"
        done
}

t_ansible_fleet_reports_driver_disagreement() {
        need ansible-playbook
        inventory node-a=healthy-h100 node-b=cuda13-on-570
        expect_rc 2 ap -i "$T/inventory.ini" -e "gpubase_report=$T/fleet.json" "$EX/ansible/site.yml"
        out_has "hosts disagree on driver: node-a=595.45.01, node-b=570.86.15; CUDA ceiling: node-a=13.0, node-b=12.8"
        # the versions come from verify --json's facts, not from the checks' wording
        not_contains "$EX/ansible/site.yml" "regex_search" "the fleet report"
        contains "$EX/ansible/site.yml" "n.facts.driver"
        not_contains "$T/out" "CTK: node-a"
        # both nodes went through the rollout: run, (simulated) reboot, resume, done
        local n
        for n in node-a node-b; do
                eq "$(jq -r .run_state "$T/$n/$STATE_REL")" "done" "$n's run"
                eq "$(jq -r .reboots "$T/$n/$STATE_REL")" 1 "$n's reboots"
                [ -e "$T/$n/after-reboot" ] || fail "$n: the step after the reboot did not run"
        done
        jq -e '.drivers == ["595.45.01", "570.86.15"] and .ctk == ["1.19.0-1"] and .cuda_ceilings == ["13.0", "12.8"]
               and .nodes["node-a"].run_state == "done" and .nodes["node-b"].verify.fail == 0
               and (.disagreements | length) == 2 and .not_done == []' "$T/fleet.json" >/dev/null ||
                { cat "$T/fleet.json" >&2; fail "the fleet report is not as expected"; }
        # serial: 1 — node-a's whole run came before node-b's
        grep -n 'TASK \[gpubase : gpubase run --reboot=exit\]' "$T/out" | head -2 >"$T/runs"
        [ "$(wc -l <"$T/runs")" = 2 ] || fail "expected one run task per batch"
}

t_ansible_fleet_agrees() {
        need ansible-playbook
        inventory node-a=healthy-h100 node-b=healthy-h100
        expect_rc 0 ap -i "$T/inventory.ini" -e "gpubase_report=$T/fleet.json" "$EX/ansible/site.yml"
        out_has "2 nodes agree: driver 595.45.01, CTK 1.19.0-1"
        jq -e '.disagreements == [] and .drivers == ["595.45.01"]' "$T/fleet.json" >/dev/null || fail "fleet report"
        # a second rollout of a converged fleet: no reboot (the reboot handlers are not notified;
        # before the role they were tasks, shown as skipped), and nothing changed
        expect_rc 0 ap -i "$T/inventory.ini" -e "gpubase_report=$T/fleet.json" "$EX/ansible/site.yml"
        not_contains "$T/out" "RUNNING HANDLER" "the converged rerun"
        eq "$(jq -r .reboots "$T/node-a/$STATE_REL")" 0 "reboots of the converged rerun"
        recap_changed node-a 0
        recap_changed node-b 0
}

# recap_changed HOST N: the PLAY RECAP of the last ansible-playbook says changed=N for HOST.
recap_changed() {
        local got
        got=$(sed -n "/^PLAY RECAP/,\$ s/^$1 *:.* changed=\([0-9]*\) .*/\1/p" "$T/out")
        [ "$got" = "$2" ] || { sed -n '/^PLAY RECAP/,$p' "$T/out" >&2; fail "changed=$got for $1 in the recap, expected $2"; }
}

# recap_changed_some HOST: changed is more than 0 for HOST.
recap_changed_some() {
        local got
        got=$(sed -n "/^PLAY RECAP/,\$ s/^$1 *:.* changed=\([0-9]*\) .*/\1/p" "$T/out")
        if [ -z "$got" ] || [ "$got" -eq 0 ]; then
                sed -n '/^PLAY RECAP/,$p' "$T/out" >&2
                fail "changed=$got for $1, expected some"
        fi
}

# The role is idempotent: the first rollout changes the node and reboots it, the second reports
# changed=0 for the node; under --check (gpubase run --dry-run) nothing on the node changes, the
# node is reported as one a run would change, with the steps under --diff; on the converged node
# --check reports changed=0.
t_ansible_role_idempotent_and_check_mode() {
        need ansible-playbook
        inventory node-a=healthy-h100
        snapshot "$T/node-a" >"$T/before"
        expect_rc 0 ap -i "$T/inventory.ini" -e "gpubase_report=$T/fleet.json" --check --diff "$EX/ansible/site.yml"
        snapshot "$T/node-a" >"$T/after"
        diff "$T/before" "$T/after" >&2 || fail "--check changed the node"
        recap_changed_some node-a
        contains "$T/out" "gpubase run --dry-run" "the --check rollout"
        contains "$T/out" "[1/5] conf" "--diff: the steps a run would change"
        # ...told from the dry run's JSON events (run --json: index, total, step, kind, detail), not
        # from its plain step lines ("[1/5] conf  file  done  0.00s  would write ...")
        contains "$T/out" "[1/5] conf (file): would write /etc/gpubase-it/app.conf" "--diff: the step from its event"
        contains "$T/out" "[3/5] reboot (reboot): reboot requested: an earlier step changed" "--diff: the reboot the dry run predicts"
        not_contains "$T/out" "[4/5] after" "--diff: steps after a reboot are not predicted"
        # the real rollout: changed, through the reboot
        expect_rc 0 ap -i "$T/inventory.ini" -e "gpubase_report=$T/fleet.json" "$EX/ansible/site.yml"
        recap_changed_some node-a
        contains "$T/out" "RUNNING HANDLER [gpubase : gpubase resume]" "the first rollout"
        eq "$(jq -r .run_state "$T/node-a/$STATE_REL")" "done" "node-a's run"
        eq "$(jq -r .reboots "$T/node-a/$STATE_REL")" 1 "node-a's reboots"
        # converged: changed=0, with and without --check
        expect_rc 0 ap -i "$T/inventory.ini" -e "gpubase_report=$T/fleet.json" "$EX/ansible/site.yml"
        recap_changed node-a 0
        expect_rc 0 ap -i "$T/inventory.ini" -e "gpubase_report=$T/fleet.json" --check --diff "$EX/ansible/site.yml"
        recap_changed node-a 0
        recap_changed localhost 0
}

# make demo's script: to a pipe or a log it writes plain text (no terminal escapes, from the
# script or from gpubase); on a terminal its headings are bold
t_demo_plain_when_not_a_tty() {
        GPUBASE=$GPUBASE KEEP=0 "$EX/demo/demo.sh" >"$T/demo.out" 2>&1 || { cat "$T/demo.out" >&2; fail "demo.sh failed"; }
        contains "$T/demo.out" "demo finished: run done"
        ! grep -q $'\033' "$T/demo.out" || { grep -n $'\033' "$T/demo.out" | cat -v >&2; fail "terminal escapes in the demo's output to a file"; }
        # under a pseudo-terminal (script(1)) the headings are bold
        script -qec "GPUBASE=$GPUBASE $EX/demo/demo.sh" /dev/null >"$T/demo.tty" 2>&1 </dev/null || fail "demo.sh failed on a tty"
        grep -q $'\033\[1m== demo finished: run done' "$T/demo.tty" || fail "no bold heading on a tty"
}

for t in $(declare -F | awk '{print $3}' | grep '^t_'); do
        if [ -z "${1:-}" ] || [[ $t =~ $1 ]]; then
                run_test "${t#t_}" "$t"
        fi
done
summary
