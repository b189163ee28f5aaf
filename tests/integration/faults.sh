#!/usr/bin/env bash
# Fault injection: the real binary under --root, with the faults a provisioning run meets in the
# field, each made real rather than simulated inside gpubase (the agent has no test-only code path):
#
#   dpkg_lock_held           another process holds dpkg's frontend lock (a real fcntl lock): gpubase
#                            waits lock_timeout, exits 75 naming the holder, and finishes once it is
#                            released; a second gpubase meanwhile exits 75 too
#   repo_unreachable_start   the repository's server is down at the first update: the URL is named
#   repo_unreachable_mid_run the server goes away between two apt-install steps (after a reboot):
#                            the URL is named, nothing is reported done that is not, dpkg is clean,
#                            and the run finishes once the server is back
#   disk_full_checkpoint     ENOSPC while writing the checkpoint (a 256 KiB tmpfs mounted on the
#                            state directory, filled by a plan step): the previous checkpoint survives
#                            byte for byte, the message names the file, no temp file is left
#   disk_full_first_checkpoint  the same before any checkpoint exists: nothing runs
#   readonly_state_dir       the state directory is a read-only mount: status still reads it, run
#                            changes nothing and names the file
#   plan_writable_by_others  a plan file (or a directory above it) writable by group or others, or
#                            owned by another user, is refused (65), like sshd's StrictModes
#   state_dir_writable_by_others  the same for the state directory (1)
#   A second agent while one runs (75, naming the holder's pid) is tests/integration/run.sh
#   lock_second_agent_busy; dpkg_lock_held repeats it while the first agent waits for dpkg.
#
# The mounts need root (CAP_SYS_ADMIN); without it those tests are skipped and say so. The apt tests
# build the signed fixture repository (tests/fixtures/repo/build-repo.sh) once, and use python3 to
# hold an fcntl lock and to serve the repository over HTTP.
#
#   GPUBASE=/abs/gpubase tests/integration/faults.sh [TEST-NAME-REGEX]
#   GPUBASE=/abs/gpubase KILLER=/abs/killer KILLS=1000 tests/integration/faults.sh crash-apt
# FAULTS_KEEP=1 keeps the work directory (and the roots of failed crash-apt iterations).
#
# crash-apt (`make crash-apt`, minutes, not in `make check`): SIGKILL gpubase (with its dpkg: the
# whole process group, as a power cut would) at random instants across a plan with apt steps
# (keyring .deb, signed source, pinned and held installs, a reboot) until KILLS kills have landed.
# After every gpubase run, killed or not, no step may be recorded done whose packages dpkg does not
# have fully installed; every iteration must resume to the reference end state (step states,
# reboots, dpkg's packages, files), with `dpkg --audit` clean and no temp file left.
# The full runs and where their kills landed: tests/RESULTS.md.
set -euo pipefail

# shellcheck source=tests/integration/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

MODE=tests
if [ "${1:-}" = crash-apt ]; then
        MODE=crash-apt
        shift
fi

# ---------------------------------------------------------------- shared

FAULTS_WORK=$(mktemp -d "${TMPDIR:-/tmp}/gpubase-faults.XXXXXX")
# shellcheck disable=SC2064
if [ -n "${FAULTS_KEEP:-}" ]; then
        trap "rm -rf '$IT_LOGDIR'; echo 'faults: kept $FAULTS_WORK'" EXIT
else
        trap "chmod -R u+rwX '$FAULTS_WORK' 2>/dev/null; rm -rf '$FAULTS_WORK' '$IT_LOGDIR'" EXIT
fi

can_mount() {
        local d=$FAULTS_WORK/mount-probe
        mkdir -p "$d"
        if mount -t tmpfs -o size=64k tmpfs "$d" 2>/dev/null; then
                umount "$d"
                return 0
        fi
        return 1
}
CAN_MOUNT=no
if [ "$(id -u)" = 0 ] && can_mount; then CAN_MOUNT=yes; fi

need_mount() {
        if [ "$CAN_MOUNT" != yes ]; then
                echo "mounting a filesystem needs root with CAP_SYS_ADMIN; this fault could not be injected here"
                exit 77
        fi
}

REPO_OK=""
# the fixture repository, built once (about 5 s); sets its variables (env.sh)
need_repo() {
        command -v python3 >/dev/null || {
                echo "python3 is needed to hold an fcntl lock and to serve the repository (make deps installs it)"
                exit 77
        }
        [ -n "$REPO_OK" ] || {
                echo "the fixture repository did not build: $(tail -n 3 "$FAULTS_WORK/repo.log" 2>/dev/null)"
                exit 1
        }
        # shellcheck source=/dev/null
        . "$FAULTS_WORK/repo/env.sh"
}
build_repo() {
        if "$TESTS_DIR/fixtures/repo/build-repo.sh" "$FAULTS_WORK/repo" >"$FAULTS_WORK/repo.log" 2>&1; then
                REPO_OK=yes
        fi
}

# dpkg_pkgs ROOT: "name version status" of every package in the root's dpkg database, sorted
dpkg_pkgs() {
        [ -f "$1/var/lib/dpkg/status" ] || return 0
        dpkg-query --admindir="$1/var/lib/dpkg" -W -f='${Package} ${Version} ${Status}\n' | LC_ALL=C sort
}

# dpkg_audit ROOT: what `dpkg --audit` has to say about the root (empty: consistent)
dpkg_audit() {
        [ -f "$1/var/lib/dpkg/status" ] || return 0
        dpkg --root="$1" --audit 2>&1 || true
}

# pkg_line ROOT NAME: "version status" of one package, empty if dpkg does not know it
pkg_line() {
        dpkg_pkgs "$1" | awk -v p="$2" '$1 == p { $1 = ""; sub(/^ /, ""); print }'
}

fully_installed() { # ROOT NAME
        case $(pkg_line "$1" "$2") in
        *" install ok installed" | *" hold ok installed") return 0 ;;
        *) return 1 ;;
        esac
}

# said TEXT: stdout or stderr of the last expect_rc contains TEXT.
said() {
        cat "$T/out" "$T/err" >"$T/all"
        contains "$T/all" "$1" "the output"
}

# plan_file NAME: stdin to $T/NAME.yaml (mode 0644, as a plan must be); prints its path.
plan_file() {
        cat >"$T/$1.yaml"
        chmod 0644 "$T/$1.yaml"
        echo "$T/$1.yaml"
}

CTK_PKGS=(nvidia-container-toolkit nvidia-container-toolkit-base libnvidia-container-tools libnvidia-container1)

# ctk_install_step ID VERSION [EXTRA-KEY-LINES...]: an apt-install step of the four CTK packages
ctk_install_step() {
        local id=$1 v=$2 l
        shift 2
        printf '  - id: %s\n    kind: apt-install\n    packages: ["nvidia-container-toolkit=%s", "nvidia-container-toolkit-base=%s", "libnvidia-container-tools=%s", "libnvidia-container1=%s"]\n    hold: true\n' \
                "$id" "$v" "$v" "$v" "$v"
        for l in "$@"; do printf '    %s\n' "$l"; done
}

# ---------------------------------------------------------------- the dpkg lock

# hold_dpkg_lock SECONDS: another process takes dpkg's frontend lock in $R the way apt does (an
# fcntl write lock) and keeps it SECONDS; sets HOLDER (its pid).
hold_dpkg_lock() {
        mkdir -p "$R/var/lib/dpkg"
        rm -f "$T/locked"
        python3 -c 'import fcntl, os, sys, time
f = open(sys.argv[1], "w")
fcntl.lockf(f, fcntl.LOCK_EX)
open(sys.argv[2], "w").write(str(os.getpid()))
time.sleep(float(sys.argv[3]))' "$R/var/lib/dpkg/lock-frontend" "$T/locked" "$1" &
        BG_PIDS+=($!)
        local _
        for _ in $(seq 1 200); do [ -s "$T/locked" ] && break; sleep 0.05; done
        [ -s "$T/locked" ] || fail "the lock holder did not start"
        HOLDER=$(cat "$T/locked")
}

t_dpkg_lock_held() {
        need_repo
        local plan t0 t1 agent rc=0
        plan=$({
                printf 'version: 1\nname: faults-lock\nsteps:\n'
                printf '  - id: ctk-repo\n    kind: apt-source\n    key_url: file://%s\n    fingerprint: %s\n    uri: %s\n' \
                        "$CTK_KEY_ASC" "$CTK_KEY_FPR" "$REPO_CTK_URI"
                ctk_install_step ctk 1.19.0-1 "lock_timeout: 3"
        } | plan_file lock)

        # held past lock_timeout: 75 after waiting, naming the holder; nothing installed
        hold_dpkg_lock 60
        t0=$(now_ms)
        expect_rc 75 gb run "$plan"
        t1=$(now_ms)
        said "the dpkg lock is still held after 3s"
        said "held by process $HOLDER (python3)"
        # the wait was told as it went (not on a terminal: its first second, then every 30 s)
        grep -qE "^      waiting for the dpkg lock held by process $HOLDER \(python3\), [0-3]s/3s$" "$T/out" ||
                fail "no line for the dpkg lock wait: $(cat "$T/out")"
        [ $((t1 - t0)) -ge 2900 ] || fail "gave up after $((t1 - t0)) ms, before the 3 s lock_timeout"
        [ $((t1 - t0)) -lt 15000 ] || fail "waited $((t1 - t0)) ms for a 3 s lock_timeout"
        eq "$(step_state ctk-repo)" "done" "the step before"
        # busy, not failed: the step is pending again (gpubase.service's restart, or resume, runs it)
        eq "$(step_state ctk)" "pending" "the step that waited"
        eq "$(sj .run_state)" "busy" "run_state"
        local p
        for p in "${CTK_PKGS[@]}"; do eq "$(pkg_line "$R" "$p")" "" "dpkg status of $p"; done
        kill "$HOLDER"
        wait "${BG_PIDS[0]}" 2>/dev/null || true

        # held for a while, shorter than lock_timeout: gpubase waits and finishes. Meanwhile a second
        # gpubase is refused with 75 naming the first (see also run.sh lock_second_agent_busy).
        # (libapt tries once a second and not at the very end of DPkg::Lock::Timeout: a lock
        # released in its last second is missed, so the holder lets go well before.)
        hold_dpkg_lock 1
        "$GPUBASE" --root "$R" resume >"$T/bg.out" 2>"$T/bg.err" &
        agent=$!
        BG_PIDS+=("$agent")
        eq "$(wait_for_agent)" "$agent" "agent_pid while it waits for dpkg"
        expect_rc 75 gb resume
        err_has "pid $agent"
        wait "$agent" || rc=$?
        check_no_sanitizer_report "$T/bg.err" "resume waiting for the dpkg lock"
        [ "$rc" = 0 ] || { cat "$T/bg.out" "$T/bg.err"; fail "exit code of the resume that waited for the lock: $rc"; }
        eq "$(sj .run_state)" "done" "run_state after the lock was released"
        for p in "${CTK_PKGS[@]}"; do eq "$(pkg_line "$R" "$p")" "1.19.0-1 hold ok installed" "dpkg status of $p"; done
        eq "$(dpkg_audit "$R")" "" "dpkg --audit"
}

# ---------------------------------------------------------------- repository unreachable

# serve DIR [PORT]: an HTTP server for DIR on 127.0.0.1 (PORT, or a free one); sets PORT, SERVER.
serve() {
        rm -f "$T/port"
        python3 -c 'import http.server, os, sys
class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass
os.chdir(sys.argv[1])
s = http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[3])), Quiet)
with open(sys.argv[2] + ".tmp", "w") as f:
    f.write(str(s.server_address[1]))
os.rename(sys.argv[2] + ".tmp", sys.argv[2])
s.serve_forever()' "$1" "$T/port" "${2:-0}" 2>"$T/http.err" &
        SERVER=$!
        BG_PIDS+=("$SERVER")
        local _
        for _ in $(seq 1 200); do [ -s "$T/port" ] && break; sleep 0.05; done
        [ -s "$T/port" ] || fail "the HTTP server did not start: $(cat "$T/http.err")"
        PORT=$(cat "$T/port")
}

stop_server() {
        kill "$SERVER" 2>/dev/null || true
        wait "$SERVER" 2>/dev/null || true
}

# http_plan NAME URI: a signed source on URI, one package, a reboot, then the rest of the toolkit
# (from lists already there: update: never), then a file
http_plan() {
        {
                printf 'version: 1\nname: faults-%s\nsteps:\n' "$1"
                printf '  - id: ctk-repo\n    kind: apt-source\n    key_url: file://%s\n    fingerprint: %s\n    uri: %s\n' \
                        "$CTK_KEY_ASC" "$CTK_KEY_FPR" "$2"
                printf '  - id: lib\n    kind: apt-install\n    packages: ["libnvidia-container1=1.19.0-1"]\n'
                printf '  - id: reboot\n    kind: reboot\n'
                ctk_install_step ctk 1.19.0-1 "update: never"
                printf '  - id: final\n    kind: file\n    path: /etc/faults/final.conf\n    content: "final\\n"\n'
        } | plan_file "$1"
}

t_repo_unreachable_start() {
        need_repo
        serve "$FIXTURE_REPO_DIR"
        stop_server # the port is now closed: connection refused
        local plan
        plan=$(http_plan unreachable "http://127.0.0.1:$PORT/ctk")
        expect_rc 1 gb run "$plan" --reboot=exit
        said "http://127.0.0.1:$PORT/ctk"
        said "Connection refused"
        eq "$(step_state ctk-repo)" "done" "the apt-source step (it only writes the source)"
        eq "$(step_state lib)" "failed" "the step that needed the repository"
        eq "$(sj '[.steps[] | select(.state == "pending") | .id] | join(" ")')" "reboot ctk final" "steps that did not run"
        eq "$(dpkg_pkgs "$R")" "" "dpkg's database"
        absent "$R/etc/faults/final.conf"
}

t_repo_unreachable_mid_run() {
        need_repo
        serve "$FIXTURE_REPO_DIR"
        local plan port
        port=$PORT
        plan=$(http_plan midrun "http://127.0.0.1:$port/ctk")
        expect_rc 3 gb run "$plan" --reboot=exit
        eq "$(states)" "ctk-repo=done lib=done reboot=reboot-requested ctk=pending final=pending" "states at the reboot"
        # the network goes away across the reboot
        stop_server
        simulate_reboot
        expect_rc 1 gb resume --reboot=exit
        said "cannot download http://127.0.0.1:$port/ctk/"
        said "Connection refused"
        eq "$(states)" "ctk-repo=done lib=done reboot=done ctk=failed final=pending" "states after the failed download"
        sj .error >"$T/error"
        contains "$T/error" "http://127.0.0.1:$port/ctk/" "the run's recorded error"
        # nothing half-done: the step that failed installed nothing, what was done is installed
        fully_installed "$R" libnvidia-container1 || fail "libnvidia-container1: $(pkg_line "$R" libnvidia-container1)"
        local p
        for p in nvidia-container-toolkit nvidia-container-toolkit-base libnvidia-container-tools; do
                eq "$(pkg_line "$R" "$p")" "" "dpkg status of $p"
        done
        eq "$(dpkg_audit "$R")" "" "dpkg --audit"
        absent "$R/etc/faults/final.conf"
        # back online: resume finishes
        serve "$FIXTURE_REPO_DIR" "$port"
        expect_rc 0 gb resume --reboot=exit
        eq "$(states)" "ctk-repo=done lib=done reboot=done ctk=done final=done" "states once the server is back"
        for p in "${CTK_PKGS[@]}"; do eq "$(pkg_line "$R" "$p")" "1.19.0-1 hold ok installed" "dpkg status of $p"; done
        eq "$(dpkg_audit "$R")" "" "dpkg --audit"
        stop_server
}

# ---------------------------------------------------------------- disk full, read-only

# mount_small_state_dir: a 256 KiB tmpfs on $R/var/lib/gpubase (unmounted when the test ends)
mount_small_state_dir() {
        need_mount
        STATE_MNT=$R/var/lib/gpubase
        mkdir -p "$STATE_MNT"
        mount -t tmpfs -o size=256k,mode=0700 tmpfs "$STATE_MNT" || fail "cannot mount a tmpfs on $STATE_MNT"
        # shellcheck disable=SC2064
        trap "umount -l '$STATE_MNT' 2>/dev/null || true; cleanup" EXIT
}

# fill_plan NAME: file, then a command that keeps a copy of the checkpoint as it is at that
# moment and fills the state directory (at most 4 MiB, never more: it must be the small mount),
# then a file. The command runs once (creates: /filled).
fill_plan() {
        plan_file "$1" <<EOF
version: 1
name: faults-$1
steps:
  - id: first
    kind: file
    path: /etc/faults/first.conf
    content: "first\n"
  - id: fill
    kind: command
    argv: [sh, -c, 'cp "\$0/var/lib/gpubase/state.json" "\$1" && touch "\$0/filled" && head -c 4194304 /dev/zero >"\$0/var/lib/gpubase/filler" 2>/dev/null; true', "\${root}", "$T/checkpoint-before-fill.json"]
    creates: /filled
  - id: last
    kind: file
    path: /etc/faults/last.conf
    content: "last\n"
EOF
}

t_disk_full_checkpoint() {
        mount_small_state_dir
        local plan sf=$R/$STATE_REL
        plan=$(fill_plan fill)
        expect_rc 1 gb run "$plan"
        [ -s "$R/var/lib/gpubase/filler" ] || fail "the state directory was not filled"
        err_has "cannot write the checkpoint $sf: No space left on device"
        err_has "the previous checkpoint is kept"
        # the previous checkpoint survived, byte for byte, and still reads
        cmp "$T/checkpoint-before-fill.json" "$sf" || fail "the checkpoint changed"
        jq -e '.steps[1].state == "running" and .steps[1].applying' "$sf" >/dev/null ||
                fail "the surviving checkpoint is not the one written before the step: $(cat "$sf")"
        eq "$(find "$R/var/lib/gpubase" -name '.#*' | wc -l)" 0 "temp files left beside the checkpoint"
        eq "$(states)" "first=done fill=running last=pending" "states read back"
        absent "$R/etc/faults/last.conf"
        # space again: resume picks the run up where the checkpoint says
        rm -f "$R/var/lib/gpubase/filler"
        expect_rc 0 gb resume
        eq "$(states)" "first=done fill=done last=done" "states after resume"
        file_is "$R/etc/faults/last.conf" "last"
}

t_disk_full_first_checkpoint() {
        mount_small_state_dir
        head -c 4194304 /dev/zero >"$STATE_MNT/filler" 2>/dev/null || true
        local plan
        plan=$(fill_plan fill)
        expect_rc 1 gb run "$plan"
        err_has "cannot write the checkpoint $R/$STATE_REL: No space left on device"
        absent "$R/$STATE_REL"
        absent "$R/etc/faults/first.conf"
        eq "$(find "$STATE_MNT" -name '.#*' | wc -l)" 0 "temp files left"
}

t_readonly_state_dir() {
        need_mount
        local plan sf=$R/$STATE_REL d=$R/var/lib/gpubase
        plan=$(plan_copy basic.yaml)
        expect_rc 3 gb run "$plan" --reboot=exit
        cp "$sf" "$T/state.before"
        # shellcheck disable=SC2064
        trap "umount -l '$d' 2>/dev/null || true; cleanup" EXIT
        { mount --bind "$d" "$d" && mount -o remount,bind,ro "$d"; } || fail "cannot make $d read-only"
        simulate_reboot
        # reading works
        expect_rc 3 gb status
        eq "$(sj .run_state)" "reboot-pending" "run_state read from the read-only directory"
        # continuing does not: nothing is done, the message names the file and the cause
        expect_rc 1 gb resume --reboot=exit
        err_has "cannot write the checkpoint $sf: Read-only file system"
        cmp "$T/state.before" "$sf" || fail "the state changed"
        absent "$R/after-reboot"
        expect_rc 1 gb reset
        err_has "$sf"
        umount "$d"
        trap cleanup EXIT
        expect_rc 0 gb resume --reboot=exit
        eq "$(sj .run_state)" "done" "run_state once the directory is writable"
}

# ---------------------------------------------------------------- no shell, ever

# Shell metacharacters in every string of the apt steps (run.sh's shell_metachars_literal does the
# same for command, file and check strings): if any reached a shell, files named pwned* would appear
# in the working directory, the root or /tmp. The strings must be refused or used as data.
t_apt_strings_no_shell() {
        need_repo
        # shellcheck disable=SC2016 # shell syntax that must reach apt unexpanded
        local m='x; touch pwned1 && touch pwned2 | touch pwned3 $(touch pwned4) `touch pwned5` > pwned6'
        mkdir -p "$T/cwd"
        cd "$T/cwd"
        # one plan per string, so that each one is used (a failing step stops the ones after it);
        # each may be refused at load (65) or fail as data (1), never reach a shell
        local -a steps=(
                "  - {id: k, kind: apt-keyring-deb, url: 'file://$CUDA_KEYRING_DEB?$m', sha256: $CUDA_KEYRING_SHA256, fingerprint: $KEY_FPR}"
                "  - {id: k, kind: apt-keyring-deb, path: '/keys/$m.deb', sha256: $CUDA_KEYRING_SHA256}"
                "  - {id: s, kind: apt-source, key_url: 'file://$CTK_KEY_ASC?$m', fingerprint: $CTK_KEY_FPR, uri: '$REPO_CTK_URI'}"
                "  - {id: s, kind: apt-source, key_url: 'file://$CTK_KEY_ASC', fingerprint: $CTK_KEY_FPR, uri: '$REPO_CTK_URI/$m'}
  - {id: i, kind: apt-install, packages: [libnvidia-container1], update: always}"
                "  - {id: s, kind: apt-source, key_url: 'file://$CTK_KEY_ASC', fingerprint: $CTK_KEY_FPR, uri: '$REPO_CTK_URI', suite: '$m'}"
                "  - {id: s, kind: apt-source, key_url: 'file://$CTK_KEY_ASC', fingerprint: $CTK_KEY_FPR, uri: '$REPO_CTK_URI', name: '$m'}"
                "  - {id: i, kind: apt-install, packages: ['libnvidia-container1=1.19.0-1; touch pwned7', '\$(touch pwned8)']}"
                "  - {id: i, kind: apt-install, packages: [libnvidia-container1], pin: '$m', origin: '$m'}"
                "  - {id: c, kind: container-runtime, runtime: '$m'}"
                "  - {id: r, kind: service-restart, unit: '$m'}"
        )
        local i plan rc
        for i in "${!steps[@]}"; do
                plan=$T/meta$i.yaml
                printf 'version: 1\nname: faults-metachar-%s\nsteps:\n%s\n' "$i" "${steps[$i]}" >"$plan"
                chmod 0644 "$plan"
                # a root each: a source written by one plan must not break the next one's apt
                mkdir -p "$W/r$i"
                fill_root "$W/r$i"
                rc=0
                "$GPUBASE" --root "$W/r$i" run "$plan" >"$T/out" 2>"$T/err" || rc=$?
                check_no_sanitizer_report "$T/err" "metacharacter plan $i"
                case $rc in 0 | 1 | 65) ;; *) fail "metacharacter plan $i: exit $rc: $(cat "$T/err")" ;; esac
                echo "metacharacter plan $i: exit $rc: $(grep -v '^ ' "$T/err" | head -c 300 | tr '\n' ' ')" >>"$T/meta.log"
        done
        local found
        # find exits 1 when a directory of another process's vanishes under it in the shared tmp
        # directory: only what it prints counts
        found=$(find "$T/cwd" "$W" "${TMPDIR:-/tmp}" -maxdepth 3 -name 'pwned*' 2>/dev/null | head -n 5 || true)
        [ -z "$found" ] || fail "a shell ran plan text: $found"
        [ -z "${FAULTS_KEEP:-}" ] || cp "$T/meta.log" "$FAULTS_WORK/apt-strings.log"
}

# ---------------------------------------------------------------- StrictModes

t_plan_writable_by_others() {
        local plan dir
        dir=$T/plans
        mkdir -m 0755 "$dir"
        cp "$FIXTURES/basic.yaml" "$dir/basic.yaml"
        plan=$dir/basic.yaml
        chmod 0666 "$plan"
        expect_rc 65 gb run "$plan" --reboot=exit
        err_has "refusing the plan $plan: $plan is writable by others (mode 0666)"
        err_has "chmod go-w $plan"
        absent "$R/$STATE_REL"
        absent "$R/etc/gpubase-it/app.conf"
        # reading it is fine: only running it is refused
        expect_rc 0 gb plan check "$plan"
        chmod 0664 "$plan"
        expect_rc 65 gb run "$plan" --reboot=exit
        err_has "is writable by its group (mode 0664)"
        # a symlink to it does not hide it
        ln -s "$plan" "$T/link.yaml"
        expect_rc 65 gb run "$T/link.yaml" --reboot=exit
        err_has "$plan is writable by its group"
        chmod 0644 "$plan"
        # a directory above it
        chmod 0777 "$dir"
        expect_rc 65 gb run "$plan" --reboot=exit
        err_has "$dir is writable by others (mode 0777)"
        # a sticky one is fine above the file (others cannot replace it), like /tmp
        chmod 1777 "$dir"
        expect_rc 3 gb run "$plan" --reboot=exit
        chmod 0755 "$dir"
        # owned by someone else
        if [ "$(id -u)" = 0 ]; then
                chown 65534 "$plan"
                simulate_reboot
                expect_rc 65 gb resume --reboot=exit
                err_has "$plan is owned by uid 65534"
                chown 0 "$plan"
        fi
        # made writable during the run: resume refuses it too
        chmod 0646 "$plan"
        simulate_reboot
        expect_rc 65 gb resume --reboot=exit
        err_has "is writable by others (mode 0646)"
        absent "$R/after-reboot"
        chmod 0644 "$plan"
        expect_rc 0 gb resume --reboot=exit
}

t_state_dir_writable_by_others() {
        local plan d=$R/var/lib/gpubase
        plan=$(plan_copy basic.yaml)
        mkdir -p "$d"
        chmod 0777 "$d"
        expect_rc 1 gb run "$plan" --reboot=exit
        err_has "refusing the state directory $d: $d is writable by others (mode 0777)"
        absent "$R/$STATE_REL"
        absent "$R/etc/gpubase-it/app.conf"
        chmod 0775 "$d"
        expect_rc 1 gb run "$plan" --reboot=exit
        err_has "is writable by its group (mode 0775)"
        chmod 0700 "$d"
        chmod 0777 "$R/var/lib"
        expect_rc 1 gb run "$plan" --reboot=exit
        err_has "$R/var/lib is writable by others (mode 0777)"
        chmod 0755 "$R/var/lib"
        expect_rc 3 gb run "$plan" --reboot=exit
        # a planted state: resume refuses to read it, status still shows it
        chmod 1777 "$d"
        simulate_reboot
        expect_rc 1 gb resume --reboot=exit
        err_has "refusing the state directory $d"
        expect_rc 3 gb status
        chmod 0700 "$d"
        expect_rc 0 gb resume --reboot=exit
}

# ---------------------------------------------------------------- crash-apt

crash_apt() {
        : "${KILLER:?set KILLER to the killer binary (make crash-apt builds it)}"
        local kills_wanted=${KILLS:-1000} max_resumes=${MAX_RESUMES:-30} show=${SHOW_FAILURES:-5}
        command -v python3 >/dev/null || true
        build_repo
        [ -n "$REPO_OK" ] || {
                cat "$FAULTS_WORK/repo.log"
                echo "FAIL crash-apt: the fixture repository did not build"
                exit 1
        }
        # shellcheck source=/dev/null
        . "$FAULTS_WORK/repo/env.sh"
        local W=$FAULTS_WORK/crash
        mkdir -p "$W"
        PLAN=$W/plan.yaml
        {
                printf 'version: 1\nname: crash-apt\nsteps:\n'
                printf '  - id: conf\n    kind: file\n    path: /etc/gpubase-crash/a.conf\n    content: "alpha\\n"\n'
                printf '  - id: cuda-keyring\n    kind: apt-keyring-deb\n    url: file://%s\n    sha256: %s\n    fingerprint: %s\n' \
                        "$CUDA_KEYRING_DEB" "$CUDA_KEYRING_SHA256" "$KEY_FPR"
                printf '  - id: ctk-repo\n    kind: apt-source\n    key_url: file://%s\n    fingerprint: %s\n    uri: %s\n' \
                        "$CTK_KEY_ASC" "$CTK_KEY_FPR" "$REPO_CTK_URI"
                printf '  - id: driver\n    kind: apt-install\n    packages: [nvidia-driver-pinning-595, nvidia-open]\n    hold: true\n    lock_timeout: 5\n'
                printf '  - id: reboot\n    kind: reboot\n'
                ctk_install_step ctk 1.19.0-1 "lock_timeout: 5"
                printf '  - id: final\n    kind: file\n    path: /etc/gpubase-crash/final.conf\n    content: "final\\n"\n'
        } >"$PLAN"
        chmod 0644 "$PLAN"
        # the packages each apt step leaves fully installed (dpkg's "install|hold ok installed")
        declare -gA STEP_PKGS=(
                [cuda-keyring]="cuda-keyring"
                [driver]="nvidia-driver-pinning-595 nvidia-open nvidia-kernel-open-dkms libnvidia-compute"
                [ctk]="${CTK_PKGS[*]}"
        )

        # the files the plan leaves under the root (not gpubase's, not apt's caches and logs)
        crash_files() {
                (cd "$1" && find ./etc ./usr -type f ! -name '.#*' -printf '%p %m\n' 2>/dev/null | LC_ALL=C sort |
                        while read -r p m; do echo "$p $m $(sha256sum <"$p" | cut -c1-16)"; done)
        }

        # ---- the reference run
        local ref=$W/reference rc=0
        crash_reference crash-apt "$ref" "$PLAN" "$W/ref.out"
        local REF_PKGS REF_FILES
        REF_PKGS=$(dpkg_pkgs "$ref")
        REF_FILES=$(crash_files "$ref")
        [ -z "$(dpkg_audit "$ref")" ] || { dpkg_audit "$ref"; echo "FAIL crash-apt: dpkg --audit after the reference run"; exit 1; }
        # a converged host is left alone: a rerun probes every step, changes nothing, runs no dpkg
        cp "$ref/var/log/dpkg.log" "$W/dpkg.log.before"
        g "$ref" run "$PLAN" --reboot=exit >"$W/ref.out" 2>&1 || rc=$?
        local rerun
        rerun=$(g "$ref" status --json | jq -r '[.steps[] | .state] | unique | join(",")')
        { [ "$rc" = 0 ] && [ "$rerun" = skipped ] && cmp -s "$W/dpkg.log.before" "$ref/var/log/dpkg.log"; } || {
                cat "$W/ref.out"
                echo "FAIL crash-apt: the rerun of the converged reference is not a no-op (exit $rc, step states $rerun)"
                exit 1
        }
        CRASH_RUN_WINDOW=$((RUN_US * 11 / 10))
        CRASH_RESUME_WINDOW=$(((RUN_US > RESUME_US ? RUN_US : RESUME_US) * 11 / 10))
        CRASH_MAX_RESUMES=$max_resumes
        echo "crash-apt: plan $PLAN"
        echo "crash-apt: reference: $REF_STATES; reboots $REF_REBOOTS; $(wc -l <<<"$REF_PKGS") packages"
        echo "crash-apt: clean run ${RUN_US} us, clean resume ${RESUME_US} us; kill windows ${CRASH_RUN_WINDOW} / ${CRASH_RESUME_WINDOW} us"
        echo "crash-apt: killing until $kills_wanted kills have landed"

        declare -A FAIL_WHY=()
        local kills_dpkg=0 iterations=0 failed=0 shown=0 T0
        T0=$(now_ms)

        # the hooks of crash_iteration (lib.sh)

        # consistent ROOT: after every gpubase run, killed or not: the state reads, and no step is
        # recorded done (or skipped) whose packages dpkg does not have fully installed
        consistent() {
                local root=$1 id
                crash_status "$root" || return 1
                for id in "${!STEP_PKGS[@]}"; do
                        local st p
                        st=$(jq -r --arg id "$id" '.steps[] | select(.id == $id) | .state' <<<"$STATUS_JSON")
                        [ "$st" = "done" ] || [ "$st" = skipped ] || continue
                        for p in ${STEP_PKGS[$id]}; do
                                fully_installed "$root" "$p" || {
                                        WHY="step $id is recorded $st but dpkg has $p as '$(pkg_line "$root" "$p")'"
                                        return 1
                                }
                        done
                done
                return 0
        }

        # after a kill: consistent, and count where the kill landed and whether dpkg was cut off
        crash_after_kill() {
                consistent "$1" || return 1
                if [ -n "$(dpkg_audit "$1")" ]; then kills_dpkg=$((kills_dpkg + 1)); fi
                count_landed "$STATUS_JSON"
        }

        # adapt WINDOW DURATION: the kill window follows how long a run that was not killed took
        # (the machine's load changes over a long run: a window too wide wastes iterations)
        adapt() {
                local w=$(((3 * $1 + $2 * 11 / 10) / 4))
                [ "$w" -ge 20000 ] || w=20000
                echo "$w"
        }

        # a run that was not killed: consistent, and the kill window of its kind follows its duration
        crash_after_exit() {
                if [ "$2" = 0 ]; then
                        CRASH_RUN_WINDOW=$(adapt "$CRASH_RUN_WINDOW" "$DUR_US")
                else
                        CRASH_RESUME_WINDOW=$(adapt "$CRASH_RESUME_WINDOW" "$DUR_US")
                fi
                consistent "$1"
        }

        crash_other_exit() {
                WHY="unexpected exit $2: $(grep -E 'error|fail' "$W/out" | tail -n 2 | tr '\n' ' ' | head -c 500)"
                return 1
        }

        # up to 4 kills an iteration, each resume killed with probability 2/3
        crash_resume_delay() {
                if [ "$1" -lt 4 ] && [ $((RANDOM % 3)) != 0 ]; then DELAY=$(rand_upto "$CRASH_RESUME_WINDOW"); else DELAY=$CRASH_NO_KILL; fi
        }

        one_iteration() {
                local root=$W/it$1 st got
                crash_iteration "$root" "$PLAN" "$W/out" || return 1
                st=$(g "$root" status --json 2>"$W/status.err") || true
                [ "$(jq -r .run_state <<<"$st" 2>/dev/null)" = "done" ] || { WHY="run_state $(jq -r .run_state <<<"$st") after exit 0"; return 1; }
                got=$(jq -r '[.steps[] | "\(.id)=\(.state)"] | join(" ")' <<<"$st")
                [ "$got" = "$REF_STATES" ] || { WHY="step states differ"; LOG+=$'\n'"      got:      $got"$'\n'"      expected: $REF_STATES"; return 1; }
                got=$(jq -r .reboots <<<"$st")
                [ "$got" = "$REF_REBOOTS" ] || { WHY="reboots $got, expected $REF_REBOOTS"; return 1; }
                got=$(dpkg_audit "$root")
                # shellcheck disable=SC2001 # indents every line
                [ -z "$got" ] || { WHY="dpkg --audit is not clean"; LOG+=$'\n'"$(sed 's/^/      /' <<<"$got")"; return 1; }
                got=$(dpkg_pkgs "$root")
                [ "$got" = "$REF_PKGS" ] || { WHY="dpkg's packages differ"; LOG+=$'\n'"$(diff <(echo "$REF_PKGS") <(echo "$got") | sed 's/^/      /')"; return 1; }
                got=$(crash_files "$root")
                [ "$got" = "$REF_FILES" ] || { WHY="the files differ"; LOG+=$'\n'"$(diff <(echo "$REF_FILES") <(echo "$got") | sed 's/^/      /')"; return 1; }
                got=$(find "$root" -name '.#*' | sed "s|^$root||" | tr '\n' ' ')
                [ -z "$got" ] || { WHY="temp files left: $got"; return 1; }
                rm -rf "$root"
                return 0
        }

        local kills=0
        while [ "$kills" -lt "$kills_wanted" ]; do
                iterations=$((iterations + 1))
                WHY="" LOG=""
                if ! one_iteration "$iterations"; then
                        failed=$((failed + 1))
                        FAIL_WHY[$WHY]=$((${FAIL_WHY[$WHY]:-0} + 1))
                        if [ "$shown" -lt "$show" ]; then
                                shown=$((shown + 1))
                                echo "FAIL crash-apt iteration $iterations: $WHY"
                                echo "      $LOG"
                        fi
                        if [ -n "${FAULTS_KEEP:-}" ]; then
                                cp "$W/out" "$W/it$iterations.out"
                                echo "      kept: $W/it$iterations (output: $W/it$iterations.out)"
                        else
                                rm -rf "$W/it$iterations"
                        fi
                fi
                kills=$((CRASH_KILLS_RUN + CRASH_KILLS_RESUME))
                if [ $((iterations % 25)) = 0 ]; then
                        echo "crash-apt: $iterations iterations, $kills kills, $failed failed ($((($(now_ms) - T0) / 1000))s)"
                fi
        done
        local took
        took=$(awk -v a="$T0" -v b="$(now_ms)" 'BEGIN { printf "%.0f", (b - a) / 1000 }')
        echo "crash-apt: where the kills landed (first unfinished step: state):"
        print_counts LANDED
        echo "crash-apt: kill windows at the end ${CRASH_RUN_WINDOW} / ${CRASH_RESUME_WINDOW} us"
        echo "crash-apt: $kills kills in $iterations iterations ($kills_dpkg left dpkg with work to finish or repair)," \
                "$CRASH_RESUMES resumes, $CRASH_REBOOTS simulated reboots, at most $CRASH_MAX_SEEN resumes in one iteration; ${took}s"
        if [ "$failed" -gt 0 ]; then
                print_counts FAIL_WHY
                echo "FAIL crash-apt: $failed of $iterations iterations did not end like the reference run"
                exit 1
        fi
        echo "PASS crash-apt: $iterations iterations, $kills kills, all ended like the reference run with dpkg consistent"
}

if [ "$MODE" = crash-apt ]; then
        crash_apt
        exit 0
fi

# ---------------------------------------------------------------- run the tests

ALL_TESTS=(
        dpkg_lock_held
        repo_unreachable_start
        repo_unreachable_mid_run
        disk_full_checkpoint
        disk_full_first_checkpoint
        readonly_state_dir
        apt_strings_no_shell
        plan_writable_by_others
        state_dir_writable_by_others
)

pattern=${1:-}
selected=()
for t in "${ALL_TESTS[@]}"; do
        if [ -z "$pattern" ] || [[ $t =~ $pattern ]]; then selected+=("$t"); fi
done
if [[ " ${selected[*]} " == *" dpkg_lock_held "* || " ${selected[*]} " == *" repo_unreachable"* ||
        " ${selected[*]} " == *" apt_strings_no_shell "* ]]; then
        T0=$(now_ms)
        build_repo
        echo "fixture repository built in $(awk -v a="$T0" -v b="$(now_ms)" 'BEGIN { printf "%.1f", (b - a) / 1000 }')s"
fi
echo "faults: mounts $( [ "$CAN_MOUNT" = yes ] && echo possible || echo "NOT possible (those tests are skipped)")"
T0=$(now_ms)
for t in "${selected[@]}"; do
        run_test "$t" "t_$t"
done
echo "note: a second agent while one runs (75) is run.sh's lock_second_agent_busy (and dpkg_lock_held here)"
echo "took $(awk -v a="$T0" -v b="$(now_ms)" 'BEGIN { printf "%.1f", (b - a) / 1000 }')s"
summary
