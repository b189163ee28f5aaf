#!/bin/bash
# Runs inside the e2e guest at every boot (e2e-scenario.service, ordered after gpubase.service).
# It plays the orchestrator of one scenario — starts the run, reboots the machine where Packer
# would, installs a newer driver behind the plan's back — and records what the guest shows in the
# 9p share (/mnt/host), which tests/e2e/run.sh reads after qemu exits and judges. This script
# asserts nothing itself. The scenario comes from /mnt/host/scenario.conf (SCENARIO=...).
set -u
export LC_ALL=C PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
SHARE=/mnt/host
PLAN=/srv/e2e/plan.yaml

if ! mountpoint -q "$SHARE"; then
        mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144 hostshare "$SHARE" || {
                echo "e2e: FATAL: cannot mount the 9p share; powering off" >/dev/console
                systemctl poweroff --no-block
                exit 1
        }
fi
# shellcheck source=/dev/null
. "$SHARE/scenario.conf"
VARS=()
while read -r v; do [ -n "$v" ] && VARS+=(--var "$v"); done </srv/e2e/vars

say() {
        echo "e2e[$SCENARIO]: $*" >/dev/console
        echo "$(cut -d' ' -f1 /proc/uptime) boot $N: $*" >>"$SHARE/guest.log"
}
state_of() { [ -e /var/lib/gpubase/state.json ] && jq -r '.run_state' /var/lib/gpubase/state.json 2>/dev/null || echo none; }

BOOT=$(cat /proc/sys/kernel/random/boot_id)
if [ "${1:-}" = watch ]; then
        # a watcher this script started in this boot (cloudinit): the boot is recorded already
        N=$(wc -l <"$SHARE/boots")
else
        N=1
        [ ! -f "$SHARE/boots" ] || N=$(($(wc -l <"$SHARE/boots") + 1))
        # boot N: its id, what gpubase.service did in it (it ran before this unit), the run's state
        echo "$N $BOOT $(date +%s) gpubase.service=$(systemctl show -p ActiveState --value gpubase.service)/$(systemctl show -p Result --value gpubase.service)/$(systemctl show -p ExecMainStatus --value gpubase.service) enabled=$(systemctl is-enabled gpubase.service 2>&1) state=$(state_of)" >>"$SHARE/boots"
        systemctl show gpubase.service >"$SHARE/boot-$N-gpubase-unit.txt"
        [ -e /var/lib/gpubase/state.json ] && cp /var/lib/gpubase/state.json "$SHARE/boot-$N-state.json"
        say "boot $N ($BOOT), run state $(state_of)"
fi

# the reboot that gpubase asks logind for stops this unit: finish writing what was seen first
trap '' TERM

# R: where this phase's results go (the share; the drift phase of happy+drift uses a subdirectory)
R=$SHARE
collect() {
        local d=$R
        say "collecting results"
        # each under a time limit: a command that hangs must not cost the whole scenario; what hung
        # is recorded (timeouts.txt) with the processes at that moment
        T() {
                local out=$1 rc
                shift
                timeout 60 "$@" >"$d/$out" 2>&1
                rc=$?
                if [ "$rc" = 124 ]; then
                        echo "$out: $* timed out (60 s)" >>"$d/timeouts.txt"
                        for p in /proc/[0-9]*; do # no procps in the guest
                                echo "  ${p#/proc/} $(cat "$p/wchan" 2>/dev/null) $(tr '\0' ' ' <"$p/cmdline" 2>/dev/null)"
                        done >>"$d/timeouts.txt"
                        say "TIMEOUT: $*"
                fi
                return "$rc"
        }
        timeout 60 gpubase status --json >"$d/status.json" 2>"$d/status.err"
        echo $? >"$d/status.rc"
        T status.txt gpubase status
        cp /var/lib/gpubase/state.json "$d/state.json" 2>/dev/null
        T journal-unit-verbose.txt journalctl -u gpubase.service -o verbose --no-pager
        T journal-gpubase.json journalctl -o json --no-pager SYSLOG_IDENTIFIER=gpubase
        T journal-boots.txt journalctl --list-boots --no-pager
        T journal-docker.txt journalctl -b 0 -u docker.service -o short-monotonic --no-pager
        T journal-this-boot.txt journalctl -b 0 -o short-monotonic --no-pager
        T unit-enabled.txt systemctl is-enabled gpubase.service
        T wants.txt ls /etc/systemd/system/multi-user.target.wants/
        T gpubase-unit.txt systemctl show gpubase.service
        T docker-unit.txt systemctl show docker.service
        T jobs.txt systemctl list-jobs --no-legend
        T docker-runtimes.json docker info --format '{{json .Runtimes}}'
        cp /etc/docker/daemon.json "$d/daemon.json" 2>/dev/null
        T module-loaded.txt cat /sys/module/nvidia/version
        T proc-version.txt head -1 /proc/driver/nvidia/version
        T module-disk.txt modinfo -F version nvidia
        # shellcheck disable=SC2016 # dpkg-query's format
        T dpkg.txt dpkg-query -W -f='${Package} ${Version} ${Status}\n' 'nvidia-*' 'libnvidia-*' cuda-keyring
        T holds.txt apt-mark showhold
        # NVIDIA's functions on the PCI bus (sysfs, as libpci reads it), and Fabric Manager's unit
        for p in /sys/bus/pci/devices/*; do
                [ "$(cat "$p/vendor")" != 0x10de ] || echo "$(cat "$p/vendor") $(cat "$p/device") $(cat "$p/class")"
        done >"$d/pci-nvidia.txt" 2>&1
        T fm-enabled.txt systemctl is-enabled nvidia-fabricmanager.service
        T fm-unit.txt systemctl show nvidia-fabricmanager.service
        cp /run/nvidia-fabricmanager/nv-fabricmanager.pid "$d/fm-pid.txt" 2>/dev/null
        cp /var/log/fabricmanager.log "$d/fabricmanager.log" 2>/dev/null
        timeout 60 gpubase verify --plan "$PLAN" "${VARS[@]}" --json >"$d/verify.json" 2>"$d/verify.err"
        echo $? >"$d/verify.rc"
        echo "$BOOT" >"$d/final-boot-id"
        sync
}
finish() {
        collect
        say "done; powering off"
        echo "$N" >"$R/finished"
        echo "$N" >"$SHARE/finished"
        sync
        systemctl poweroff --no-block
        exit 0
}
# run NAME ARGS...: gpubase ARGS, output and exit code into the share as NAME.out / NAME.rc
run() {
        local name=$1 rc
        shift
        say "gpubase $*"
        # also on the console: the serial log is the host's live view (the hard-reset scenario waits
        # there for the step it means to cut off)
        gpubase "$@" > >(tee "$R/$name.out" >/dev/console) 2>&1
        rc=$?
        echo "$rc" >"$R/$name.rc"
        say "gpubase $1: exit $rc"
        sync
        return "$rc"
}
first_run() { # ARGS: the first `gpubase run` of a scenario; a reboot is under way when it exits 3
        systemctl is-enabled gpubase.service >"$R/enabled-before-run.txt" 2>&1
        echo "$N" >"$R/run.boot"
        touch "$SHARE/run.started"
        sync
        run run run "$@" "${VARS[@]}" "$PLAN"
        RUN_RC=$?
        systemctl is-enabled gpubase.service >"$R/enabled-after-run.txt" 2>&1
        systemctl list-jobs --no-legend >"$R/jobs-after-run.txt" 2>&1
        sync
}
# the drift phase: the machine is done; a newer driver arrives outside the plan; run the plan again
drift_start() {
        R=$SHARE/drift
        mkdir -p "$R"
        gpubase verify --plan "$PLAN" "${VARS[@]}" --json >"$R/verify-before.json" 2>"$R/verify-before.err"
        echo $? >"$R/verify-before.rc"
        # the repository publishes 595.58.03; an admin (or an unattended upgrade that ignores holds)
        # upgrades the driver with apt, outside the plan: the module on disk is now newer than the
        # loaded one
        say "the repository now offers 595.58.03; upgrading the driver with apt-get, behind the plan's back"
        mv /srv/repo/cuda /srv/repo/cuda-before && mv /srv/repo/cuda-later /srv/repo/cuda
        {
                apt-get update -q &&
                        DEBIAN_FRONTEND=noninteractive apt-get install -y -q --allow-change-held-packages \
                                nvidia-open=595.58.03-1 nvidia-kernel-open-dkms=595.58.03-1 libnvidia-compute=595.58.03-1
        } >"$R/apt-upgrade.out" 2>&1
        echo $? >"$R/apt-upgrade.rc"
        apt-mark showhold >"$R/holds-after-upgrade.txt" 2>&1
        modinfo -F version nvidia >"$R/drift-module-disk.txt" 2>&1
        cat /sys/module/nvidia/version >"$R/drift-module-loaded.txt" 2>&1
        gpubase verify --plan "$PLAN" "${VARS[@]}" --json >"$R/verify-drift.json" 2>"$R/verify-drift.err"
        echo $? >"$R/verify-drift.rc"
        first_run --reboot=now
        [ "$RUN_RC" = 3 ] && { say "reboot under way"; exit 0; }
        finish
}

# The happy scenario's unit-and-journal part (gpubase.service's retry after exit 75, STATUS=, the
# MESSAGE_IDs and their catalog text, the drift watch's timer). arm_dpkg_busy, in boot 1: at the
# next boot a unit ordered before gpubase.service holds the dpkg lock through a real `dpkg -i` (a
# package whose preinst waits), as unattended-upgrades does after a boot; the plan used
# (/srv/e2e/plan-busy.yaml) gives its ctk step lock_timeout: 15, so the resume exits 75. The
# preinst returns, and dpkg lets the lock go, once systemd is about to start gpubase.service again
# (SubState auto-restart; at most 600 s): the retry 30 s later finds the lock free. While
# gpubase.service waits and retries, what systemctl shows of it is sampled every second.
BUSY=/srv/e2e/busy
arm_dpkg_busy() {
        mkdir -p "$BUSY/pkg/DEBIAN"
        printf 'Package: e2e-dpkg-busy\nVersion: 1\nArchitecture: all\nMaintainer: e2e <e2e@localhost>\nDescription: holds the dpkg lock for a while (tests/e2e)\n' >"$BUSY/pkg/DEBIAN/control"
        cat >"$BUSY/pkg/DEBIAN/preinst" <<'PREINST'
#!/bin/sh
i=0
while [ "$(systemctl show -p SubState --value gpubase.service)" != auto-restart ] &&
        [ "$(systemctl show -p NRestarts --value gpubase.service)" = 0 ] && [ $i -lt 600 ]; do
        sleep 1
        i=$((i + 1))
done
PREINST
        chmod 755 "$BUSY/pkg/DEBIAN/preinst"
        dpkg-deb --build "$BUSY/pkg" "$BUSY/e2e-dpkg-busy.deb" >"$SHARE/busy-build.out" 2>&1
        cat >"$BUSY/hold.sh" <<'HOLD'
#!/bin/bash
# started by e2e-dpkg-busy.service before gpubase.service; returns once dpkg holds its lock
B=/srv/e2e/busy
rm -f "$B/armed"
(
        dpkg -i "$B/e2e-dpkg-busy.deb" >"$B/dpkg.out" 2>&1
        echo $? >"$B/dpkg.rc"
        cut -d' ' -f1 /proc/uptime >"$B/released"
) &
ino=$(stat -c %i /var/lib/dpkg/lock)
for _ in $(seq 300); do
        grep -q ":$ino " /proc/locks && break
        sleep 0.1
done
cut -d' ' -f1 /proc/uptime >"$B/held"
(
        st() { echo "run_state=$(jq -r .run_state /var/lib/gpubase/state.json 2>/dev/null) ctk=$(jq -r '.steps[] | select(.id == "ctk") | .state' /var/lib/gpubase/state.json 2>/dev/null)"; }
        for _ in $(seq 240); do
                # the run's state read before and after the unit's, and given only when it held
                # still in between: systemd may start the retry (ctk running) between two reads
                s1=$(st)
                u=$(systemctl show -p ActiveState -p SubState -p NRestarts -p StatusText gpubase.service | tr '\n' ' ')
                s2=$(st)
                if [ "$s1" = "$s2" ]; then s=$s1; else s="(the run's state changed while sampled)"; fi
                echo "$(cut -d' ' -f1 /proc/uptime) $u$s"
                # `gpubase wait` started while systemd waits to start gpubase.service again (the
                # scenario unit's own wait may start only after the retry): it must wait for the retry
                if [ ! -e "$B/wait-during-restart.started" ] && [ "$(systemctl show -p SubState --value gpubase.service)" = auto-restart ]; then
                        cut -d' ' -f1 /proc/uptime >"$B/wait-during-restart.started"
                        (
                                gpubase wait --timeout 540 >"$B/wait-during-restart.out" 2>&1
                                echo $? >"$B/wait-during-restart.rc"
                                cut -d' ' -f1 /proc/uptime >"$B/wait-during-restart.returned"
                                # renamed into place: ops_checks copies it as soon as the name exists
                                systemctl show -p NRestarts -p ActiveState -p Result gpubase.service >"$B/wait-during-restart.unit.tmp"
                                mv "$B/wait-during-restart.unit.tmp" "$B/wait-during-restart.unit"
                        ) &
                fi
                if [ ! -e "$B/status-while-running.txt" ] && systemctl show -p StatusText --value gpubase.service | grep -q '^step'; then
                        systemctl status --no-pager gpubase.service >"$B/status-while-running.txt" 2>&1
                fi
                [ -e "$B/released" ] && [ "$(systemctl show -p ActiveState --value gpubase.service)" = inactive ] && break
                sleep 1
        done >"$B/samples.txt"
) &
exit 0
HOLD
        chmod 755 "$BUSY/hold.sh"
        cat >/etc/systemd/system/e2e-dpkg-busy.service <<UNIT
[Unit]
Description=e2e: hold the dpkg lock while gpubase.service resumes, as unattended-upgrades would
Before=gpubase.service
ConditionPathExists=$BUSY/armed

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=$BUSY/hold.sh

[Install]
WantedBy=multi-user.target
UNIT
        systemctl enable e2e-dpkg-busy.service >"$SHARE/busy-enable.out" 2>&1
        touch "$BUSY/armed"
}
# ops_checks, in boot 2 once the run is done: what the lock holder saw, the journal's catalog text,
# and the drift watch's timer and check (results in $SHARE/ops)
ops_checks() {
        local d=$SHARE/ops
        mkdir -p "$d"
        # the lock holder's own `gpubase wait` (hold.sh) returns about when the scenario's did
        for _ in $(seq 60); do
                [ ! -e "$BUSY/wait-during-restart.started" ] || [ -e "$BUSY/wait-during-restart.unit" ] && break
                sleep 0.5
        done
        cp -a "$BUSY/." "$d/busy/" 2>/dev/null
        rm -rf "$d/busy/pkg" "$d/busy/e2e-dpkg-busy.deb"
        systemctl show gpubase.service >"$d/gpubase-unit.txt"
        timeout 60 journalctl -b 0 -x --no-pager SYSLOG_IDENTIFIER=gpubase >"$d/journal-x.txt" 2>&1
        timeout 60 journalctl --list-catalog --no-pager >"$d/catalog.txt" 2>&1
        timeout 60 gpubase watch enable >"$d/watch-enable.out" 2>&1
        echo $? >"$d/watch-enable.rc"
        systemctl is-enabled gpubase-verify.timer >"$d/timer-enabled.txt" 2>&1
        systemctl show -p ActiveState --value gpubase-verify.timer >"$d/timer-active.txt" 2>&1
        systemctl list-timers --all --no-pager gpubase-verify.timer >"$d/timers.txt" 2>&1
        # what the timer starts, now: verify against the run's plan; gpu.present fails (no NVIDIA
        # device in qemu), which is drift to the watch
        timeout 120 systemctl start gpubase-verify.service >"$d/verify-service-start.out" 2>&1
        echo $? >"$d/verify-service-start.rc"
        systemctl show gpubase-verify.service >"$d/verify-unit.txt"
        timeout 60 journalctl -b 0 -o json --no-pager -u gpubase-verify.service >"$d/journal-verify.json" 2>&1
        cp /var/lib/prometheus/node-exporter/gpubase.prom "$d/gpubase.prom" 2>/dev/null
        timeout 60 gpubase watch disable >"$d/watch-disable.out" 2>&1
        systemctl is-enabled gpubase-verify.timer >"$d/timer-enabled-after.txt" 2>&1
        sync
}
# the containerd phase: the shipped containerd plan run on the machine the docker plan converged
# (no reboot: the driver and the toolkit are there), which configures containerd, restarts it, writes
# the CDI spec and ends with the smoke test through containerd; results in containerd/
containerd_phase() {
        R=$SHARE/containerd
        mkdir -p "$R"
        say "the containerd plan on the converged machine"
        run run run "${VARS[@]}" /srv/e2e/plan-containerd.yaml
        ctr --namespace gpubase images ls -q >"$R/ctr-images.txt" 2>&1
        cp /etc/containerd/config.toml "$R/config.toml" 2>/dev/null
        cp /etc/containerd/conf.d/99-nvidia.toml "$R/99-nvidia.toml" 2>/dev/null
        cp /etc/cdi/nvidia.yaml "$R/cdi.yaml" 2>/dev/null
        systemctl show containerd.service >"$R/containerd-unit.txt"
        timeout 120 gpubase verify --smoke --plan /srv/e2e/plan-containerd.yaml "${VARS[@]}" --json >"$R/verify-smoke.json" 2>"$R/verify-smoke.err"
        echo $? >"$R/verify-smoke.rc"
        sync
}
# the last boot of happy (and drift): the results so far, then the containerd phase, then off
end_with_containerd() {
        collect
        echo "$N" >"$R/finished" # this phase's results are complete (drift's are judged on it)
        containerd_phase
        finish
}

case "$SCENARIO" in
happy)
        # the e2e plan with lock_timeout: 15 on its ctk step (tests/e2e/run.sh), for arm_dpkg_busy
        PLAN=/srv/e2e/plan-busy.yaml
        # gpubase run --reboot=now: it reboots through logind; gpubase.service resumes in boot 2.
        # With DRIFT=1 the same machine goes on with the drift phase (results in drift/).
        if [ ! -e "$SHARE/run.rc" ]; then
                arm_dpkg_busy
                first_run --reboot=now
                [ "$RUN_RC" = 3 ] && { say "reboot under way"; exit 0; }
                finish
        fi
        if [ ! -e "$SHARE/happy.done" ]; then
                run wait wait --timeout 540
                ops_checks
                echo "$N" >"$SHARE/happy.done"
                if [ "${DRIFT:-0}" = 1 ]; then
                        collect
                        drift_start
                fi
                end_with_containerd
        fi
        R=$SHARE/drift
        run wait wait --timeout 540
        end_with_containerd
        ;;
image)
        # the tree was provisioned on the build host (gpubase --root TREE --image run): this is its
        # first boot, in which gpubase.service (before this unit) finished the run
        run wait wait --timeout 540
        finish
        ;;
packer)
        # examples/packer's template, replayed: its provisioners in order (/srv/e2e/packer/steps, read
        # from gpu-image.pkr.hcl at test time by tests/e2e/packer-steps.sh), its scripts copied verbatim
        # from examples/packer/scripts, run as its execute_command runs them (env VARS SCRIPT, as root).
        # Where a provisioner expects the connection to drop (the reboot), the next boot carries on with
        # the provisioner after it, as Packer does once it has reconnected. Between provisioners, only
        # observations that change nothing (status, is-enabled).
        P=/srv/e2e/packer
        mapfile -t ENV <"$P/env"
        next=$(cat "$SHARE/packer.next" 2>/dev/null || echo 1)
        # REPO=cuda-hgx (an NVSwitch guest): that variant of the driver repository, before the build
        if [ "$next" = 1 ] && [ -n "${REPO:-}" ]; then
                mv /srv/repo/cuda /srv/repo/cuda-plain && mv "/srv/repo/$REPO" /srv/repo/cuda
                say "repository: the $REPO variant"
        fi
        mapfile -t STEPS <"$P/steps"
        i=0
        for line in "${STEPS[@]}"; do
                i=$((i + 1))
                [ "$i" -ge "$next" ] || continue
                IFS=$'\t' read -r kind a b c <<<"$line"
                echo "$((i + 1))" >"$SHARE/packer.next"
                sync
                n=$(printf '%02d' "$i")
                case "$kind" in
                inline)
                        say "packer $n: inline: $a"
                        sh -c "$a" >"$SHARE/packer-$n.out" 2>&1
                        rc=$?
                        ok=0
                        ;;
                upload)
                        say "packer $n: file $a -> $b"
                        # shellcheck disable=SC2016 # the template's words, literally
                        case "$a" in
                        local.deb) install -D -m 644 "$P/gpubase.deb" "$b" ;;
                        '${local.plans}/') mkdir -p "$b" && cp -r "$P/plans/." "$b/" ;;
                        *) false ;;
                        esac
                        rc=$?
                        ok=0
                        ;;
                download)
                        say "packer $n: download $a"
                        cp "$a" "$SHARE/packer-download-$(basename "$a")"
                        rc=$?
                        ok=0
                        ;;
                script)
                        say "packer $n: script $a (valid exit codes $b)"
                        # the results, before the template's clean-up (`gb reset`) forgets the run and the journal
                        if grep -q '^gb reset' "$P/scripts/$a"; then collect; fi
                        [ "$c" = 1 ] && trap 'exit 0' TERM # the reboot it starts stops this unit: that is the disconnect
                        env "${ENV[@]}" "$P/scripts/$a" > >(tee "$SHARE/packer-$n-$a.out" >/dev/console) 2>&1
                        rc=$?
                        ok=$rc
                        [[ ",$b," == *",$rc,"* ]] && ok=0
                        # qemu has no NVIDIA GPU, so gpu.present fails in any verify: a verify script's exit 1
                        # counts as its Packer build would count it on a GPU machine only if nothing else fails
                        if [ "$ok" != 0 ] && [ "$rc" = 1 ] && grep -q '^gb verify' "$P/scripts/$a"; then
                                notok=$(gpubase verify --plan "$P/plans/$(sed -n 's/^GPUBASE_PLAN_FILE=//p' "$P/env")" "${VARS[@]}" --json 2>/dev/null |
                                        jq -r '[.checks[] | select(.status == "fail" or .status == "warn") | .name] | join(" ")')
                                echo "$notok" >"$SHARE/packer-$n.not-ok"
                                [ "$notok" = gpu.present ] && ok=0
                        fi
                        ;;
                esac
                echo "$rc" >"$SHARE/packer-$n.rc"
                echo "$n $kind $a rc=$rc" >>"$SHARE/packer.log"
                sync
                if [ "$ok" != 0 ]; then
                        say "packer $n: exit $rc is not a valid exit code: the build stops here"
                        echo "$n" >"$SHARE/packer.failed"
                        finish
                fi
                if [ "$kind" = script ]; then
                        gpubase status >/dev/null 2>&1
                        echo "$n $a status=$? enabled=$(systemctl is-enabled gpubase.service 2>&1)" >>"$SHARE/packer-observed"
                        if [ "$rc" = 3 ]; then
                                gpubase wait --timeout 30 >/dev/null 2>&1
                                echo "$?" >"$SHARE/packer-$n-wait.rc"
                        fi
                fi
                if [ "$c" = 1 ] && [ "$kind" = script ]; then
                        say "packer $n: waiting for the connection to drop (the reboot)"
                        sleep 120
                        say "packer $n: no reboot came; going on as Packer would"
                fi
        done
        echo "done" >"$SHARE/packer.finished"
        gpubase status >"$SHARE/status-after-cleanup.txt" 2>&1
        echo $? >"$SHARE/status-after-cleanup.rc"
        say "done; powering off"
        echo "$N" >"$SHARE/finished"
        sync
        systemctl poweroff --no-block
        exit 0
        ;;
cloudinit)
        # Debian's cloud-init with the NoCloud seed in /var/lib/cloud/seed/nocloud (examples/cloud-init/
        # user-data, the fixture's values put in by run.sh): its runcmd starts gpubase, which reboots
        # the machine; gpubase.service finishes the run in boot 2. This script starts nothing.
        if [ "${1:-}" != watch ]; then
                # This unit is part of multi-user.target, which cloud-final.service (the runcmd) is
                # ordered after: it must end now, and a watcher ordered after cloud-final.service carries on.
                systemd-run --quiet --no-block --unit="e2e-cloudinit-watch-$N" --property=After=cloud-final.service \
                        --property=RequiresMountsFor=/mnt/host /usr/local/lib/gpubase-e2e/e2e-scenario.sh watch
                exit 0
        fi
        if [ "$N" = 1 ]; then
                # cloud-init's final stage is over: the reboot gpubase asked for should be under way; if
                # none comes within a minute, record what there is (the host then fails the scenario)
                trap 'exit 0' TERM
                sleep 60
                say "no reboot within 60 s after cloud-init's final stage"
        else
                timeout 300 cloud-init status --wait --long >"$SHARE/cloud-init-status.txt" 2>&1
                echo $? >"$SHARE/cloud-init-status.rc"
                run wait wait --timeout 540
        fi
        cp /run/cloud-init/result.json "$SHARE/cloud-init-result.json" 2>/dev/null
        cp /run/cloud-init/status.json "$SHARE/cloud-init-status.json" 2>/dev/null
        cp /var/log/cloud-init-output.log "$SHARE/cloud-init-output.log" 2>/dev/null
        cp /var/log/cloud-init.log "$SHARE/cloud-init.log" 2>/dev/null
        timeout 60 systemd-analyze blame >"$SHARE/blame.txt" 2>&1
        finish
        ;;
failure)
        # the kernel package whose module does not load (-ENODEV): the reboot's checks fail, once
        if [ ! -e "$SHARE/run.rc" ]; then
                mv /srv/repo/cuda /srv/repo/cuda-good && mv /srv/repo/cuda-enodev /srv/repo/cuda
                say "repository: the -ENODEV module variant"
                first_run --reboot=now
                [ "$RUN_RC" = 3 ] && { say "reboot under way"; exit 0; }
                finish
        fi
        run wait wait --timeout 540
        # a second reboot, if one were wrongly requested, would already be queued or under way
        sleep 5
        modprobe nvidia >"$SHARE/modprobe.out" 2>&1
        echo $? >"$SHARE/modprobe.rc"
        finish
        ;;
reset)
        # hard resets at random moments (the host's qemu monitor): whatever boot this is, carry the
        # run on as an orchestrator would (run again, or resume), until it is done
        touch "$SHARE/run.started"
        sync
        for attempt in 1 2 3; do
                st=$(state_of)
                case "$st" in
                done) finish ;;
                none) run "run-b$N-a$attempt" run --reboot=now "${VARS[@]}" "$PLAN" ;;
                *) run "resume-b$N-a$attempt" resume --reboot=now ;;
                esac
                rc=$?
                echo "$N $attempt $st $rc" >>"$SHARE/attempts"
                [ "$rc" = 3 ] && { say "reboot under way"; exit 0; }
                [ "$rc" = 75 ] && sleep 2
        done
        finish
        ;;
*)
        say "unknown scenario '$SCENARIO'"
        finish
        ;;
esac
