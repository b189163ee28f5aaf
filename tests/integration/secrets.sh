#!/usr/bin/env bash
# Confinement of what gpubase reads and runs under --root, and what it shows of secrets (issue 11,
# items 2 and 3). Each case plants something hostile in the root, or a secret in a plan, and then
# looks OUTSIDE the root and in everything gpubase wrote or printed:
#   - `report` never follows a link out of the root (relative or absolute, file or directory), never
#     opens a FIFO or a device for reading (and so never hangs), writes its tarball 0600;
#   - a `secret: true` variable's value, and in the report every --var and env: value, never
#     appear in state.json, status, status --json, the run's output or the report; resume gets the
#     value back from the 0600 file the run left (or from `resume --var`);
#   - the root's nvcc, nvidia-smi, nvidia-ctk and libnvidia-ml.so.1 never run or load on the host:
#     markers they would write outside the root never appear (they run inside the root, chroot).
#   GPUBASE=/abs/gpubase [FAKE_NVML=/abs/libnvidia-ml.so.1] tests/integration/secrets.sh [TEST-NAME-REGEX]
# Needs root (chroot, mknod), like the other suites that build fixture hosts.
# shellcheck disable=SC2031,SC2119
set -euo pipefail

# shellcheck source=tests/integration/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

SRC_DIR=$(cd "$IT_DIR/../.." && pwd)
FAKE_NVML=${FAKE_NVML:-$SRC_DIR/build/fixtures/libnvidia-ml.so.1}
[ -f "$FAKE_NVML" ] || { echo "secrets.sh: $FAKE_NVML is not built (make build/fixtures/libnvidia-ml.so.1)" >&2; exit 2; }
export FAKE_NVML
HOSTS=$IT_LOGDIR/hosts
"$SRC_DIR/tests/fixtures/hosts/mkhost.sh" "$HOSTS/healthy-h100" healthy-h100 >"$IT_LOGDIR/mkhost.log" 2>&1 || {
        cat "$IT_LOGDIR/mkhost.log" >&2
        exit 2
}

# a file outside the root with a string found nowhere else; prints its path
sentinel() {
        mkdir -p "$W/outside"
        printf 'root:%s:19000:0:99999:7:::\n' "\$6\$SENTINEL-$1" >"$W/outside/shadow"
        echo "$W/outside/shadow"
}

# report_ok: a report of $R into $T/r.tar.gz (at most 60 s: a FIFO must not hang it), extracted to $T/x
report_ok() {
        expect_rc 0 timeout 60 "$GPUBASE" --root "$R" report -o "$T/r.tar.gz"
        rm -rf "$T/x"
        mkdir "$T/x"
        tar -xzf "$T/r.tar.gz" -C "$T/x"
        X=$T/x/gpubase-report
}

# not_in_report TEXT: nowhere in the tarball (any entry, any byte)
not_in_report() {
        if tar -xzOf "$T/r.tar.gz" | grep -aF -- "$1" >/dev/null; then
                fail "the report carries '$1'"
        fi
}

# ---- report: links, FIFOs, devices, mode ----

t_report_relative_link_out_of_the_root() {
        cp -a "$HOSTS/healthy-h100/." "$R/"
        sentinel rel >/dev/null
        mkdir -p "$R/var/log/apt" "$R/etc/apt/preferences.d"
        # as many ".." as it takes to reach / from the root, and more: they stop at the root
        ln -s "../../../../../../../../../../../../../../..$W/outside/shadow" "$R/var/log/dpkg.log"
        ln -s "../../../../../../../../../../../../../../..$W/outside" "$R/etc/apt/preferences.d/pins"
        # a link that stays inside the root is followed as after chroot
        ln -s ../../../etc/os-release "$R/var/log/apt/history.log"
        report_ok
        not_in_report "SENTINEL-rel"
        contains "$X/MANIFEST" "missing       files/var/log/dpkg.log"
        cmp "$R/etc/os-release" "$X/files/var/log/apt/history.log" || fail "a link inside the root was not followed there"
        absent "$X/files/var/log/dpkg.log"
}

t_report_absolute_link_out_of_the_root() {
        cp -a "$HOSTS/healthy-h100/." "$R/"
        sentinel abs >/dev/null
        printf 'version = 2 # SENTINEL-abs-dir\n' >"$W/outside/x.toml"
        rm -f "$R/etc/docker/daemon.json"
        ln -s "$W/outside/shadow" "$R/etc/docker/daemon.json"
        mkdir -p "$R/etc/containerd" "$R/var/lib/gpubase"
        ln -s "$W/outside" "$R/etc/containerd/conf.d"
        ln -s "$W/outside/shadow" "$R/var/lib/gpubase/host-actions.log"
        ln -sf "$W/outside/shadow" "$R/etc/hostname"
        report_ok
        not_in_report "SENTINEL-abs"
        contains "$X/MANIFEST" "missing       files/etc/docker/daemon.json"
        # the default name takes the root's /etc/hostname: not the host's file it points to
        expect_rc 0 gb report
        ls "$T" >"$T/names"
        not_contains "$T/names" SENTINEL "the report's default name"
        contains "$X/MANIFEST" "files/etc/containerd/conf.d/*.toml"
        # the link means what it would after chroot: the same path inside the root
        mkdir -p "$R$W/outside"
        printf '{"inside": "the root"}\n' >"$R$W/outside/shadow"
        report_ok
        not_in_report "SENTINEL-abs"
        cmp "$R$W/outside/shadow" "$X/files/etc/docker/daemon.json" || fail "an absolute link was not read inside the root"
}

# a state file under --root names a file of the machine as the run's plan: it is not a plan, so it
# is not collected
t_report_state_naming_a_host_file_as_plan() {
        cp -a "$HOSTS/healthy-h100/." "$R/"
        local s
        s=$(sentinel plan)
        cat >"$T/p.yaml" <<'EOF'
version: 1
name: p
steps:
  - {id: a, kind: file, path: /etc/a, content: "a\n"}
EOF
        expect_rc 0 gb run "$T/p.yaml"
        jq --arg p "$s" '.plan = $p' "$R/$STATE_REL" >"$T/st" && cat "$T/st" >"$R/$STATE_REL"
        report_ok
        not_in_report "SENTINEL-plan"
        contains "$X/MANIFEST" "does not load as a plan"
}

t_report_fifo_does_not_hang() {
        cp -a "$HOSTS/healthy-h100/." "$R/"
        mkdir -p "$R/var/log/apt" "$R/etc/containerd/conf.d"
        mkfifo "$R/var/log/dpkg.log" "$R/etc/containerd/conf.d/99-fifo.toml"
        rm -f "$R/etc/docker/daemon.json" "$R/etc/hostname"
        mkfifo "$R/etc/docker/daemon.json" "$R/etc/hostname" # read by verify's checks, and for the name
        report_ok
        expect_rc 0 timeout 60 "$GPUBASE" --root "$R" report
        contains "$X/MANIFEST" "skipped       files/var/log/dpkg.log"
        contains "$X/MANIFEST" "a FIFO, not read"
        contains "$X/MANIFEST" "skipped       files/etc/containerd/conf.d/99-fifo.toml"
        out_has "missing or skipped"
}

t_report_device_is_not_read() {
        cp -a "$HOSTS/healthy-h100/." "$R/"
        mkdir -p "$R/var/log/apt"
        mknod "$R/var/log/apt/term.log" c 1 5 2>/dev/null || { echo "mknod is not allowed here"; exit 77; }
        mknod "$R/var/log/apt/history.log" b 7 0 2>/dev/null || true
        report_ok
        contains "$X/MANIFEST" "skipped       files/var/log/apt/term.log"
        contains "$X/MANIFEST" "a character device, not read"
        absent "$X/files/var/log/apt/term.log"
}

t_report_too_large_is_skipped() {
        cp -a "$HOSTS/healthy-h100/." "$R/"
        mkdir -p "$R/var/log"
        truncate -s 65M "$R/var/log/dpkg.log"
        report_ok
        contains "$X/MANIFEST" "skipped       files/var/log/dpkg.log"
        contains "$X/MANIFEST" "over the report's bound"
}

t_report_tarball_is_0600() {
        cp -a "$HOSTS/healthy-h100/." "$R/"
        umask 022
        report_ok
        eq "$(stat -c %a "$T/r.tar.gz")" 600 "mode of a new report"
        # replacing an existing, wider file: still 0600 (a new file renamed over it)
        chmod 0644 "$T/r.tar.gz"
        report_ok
        eq "$(stat -c %a "$T/r.tar.gz")" 600 "mode of a report written over a 0644 file"
        local f
        expect_rc 0 gb report
        f=$(ls "$T"/gpubase-report-*.tar.gz)
        eq "$(stat -c %a "$f")" 600 "mode of the default-named report"
}

# ---- secrets: a secret variable, --var and env: values ----

# the plan: its step fails until $T/ok exists, printing the token (as a careless script would);
# then it writes the token it was given to $T/got
secret_plan() {
        cat >"$T/s.yaml" <<EOF
version: 1
name: secrets
vars:
  token: {secret: true}
  region: {value: "eu-west-1"}
steps:
  - id: login
    kind: command
    argv: [/bin/sh, -c, 'if [ -e "\$1" ]; then printf %s "\$0" >"\$2"; exit 0; fi; echo "login with \$0 refused"; exit 1',
           "\${token}", "$T/ok", "$T/got"]
    env: {API_KEY: "ENV-SENTINEL-4711"}
EOF
}

# secret_nowhere SECRET STATUS-RC: nowhere gpubase wrote or printed (the output of the last
# command, the state, status, status --json, any file under the root but the resume file)
secret_nowhere() {
        local f
        for f in "$T/out" "$T/err" "$R/$STATE_REL"; do
                not_contains "$f" "$1" "$f"
        done
        expect_rc "$2" gb status
        not_contains "$T/out" "$1" "status"
        sj . >"$T/status.all"
        not_contains "$T/status.all" "$1" "status --json"
        grep -raF -- "$1" "$R" --exclude=secret-vars && fail "the secret is in a file under the root"
        return 0
}

t_secret_var_never_shown() {
        cp -a "$HOSTS/healthy-h100/." "$R/"
        secret_plan
        expect_rc 1 gb run -v "$T/s.yaml" --var token=TOKEN-SENTINEL-0815 --var region=REGION-VALUE-9
        err_has "login with <redacted> refused"
        secret_nowhere TOKEN-SENTINEL-0815 1
        eq "$(sj '.vars | join(" ")')" "token=<redacted> region=REGION-VALUE-9" "the state's vars"
        contains "$R/$STATE_REL" "<redacted>"

        # kept for resume only in a 0600 file of the 0700 state directory
        eq "$(stat -c %a "$R/var/lib/gpubase/secret-vars")" 600 "mode of secret-vars"
        contains "$R/var/lib/gpubase/secret-vars" "token=TOKEN-SENTINEL-0815"

        # the report: neither the secret, nor the --var value, nor the env: value
        report_ok
        not_in_report TOKEN-SENTINEL-0815
        not_in_report REGION-VALUE-9
        not_in_report ENV-SENTINEL-4711
        absent "$X/files/var/lib/gpubase/secret-vars"
        contains "$X/README" "<redacted> everywhere"

        # plan show names the variable, never its value
        expect_rc 0 gb plan show "$T/s.yaml" --var token=TOKEN-SENTINEL-0815
        not_contains "$T/out" TOKEN-SENTINEL-0815 "plan show"
        out_has "token        <redacted> (secret)"

        # resume, as the unit would after a reboot: the value comes back from the file
        touch "$T/ok"
        expect_rc 0 gb resume
        file_is "$T/got" TOKEN-SENTINEL-0815
        secret_nowhere TOKEN-SENTINEL-0815 0
        absent "$R/var/lib/gpubase/secret-vars"
}

t_secret_var_resume_needs_it_again() {
        cp -a "$HOSTS/healthy-h100/." "$R/"
        secret_plan
        expect_rc 1 gb run "$T/s.yaml" --var token=TOKEN-SENTINEL-0816
        rm "$R/var/lib/gpubase/secret-vars"
        touch "$T/ok"
        expect_rc 1 gb resume
        err_has "gpubase resume --var token=VALUE"
        expect_rc 64 gb resume --var region=x
        err_has "resume takes --var only for a secret variable"
        expect_rc 0 gb resume --var token=TOKEN-SENTINEL-0816
        file_is "$T/got" TOKEN-SENTINEL-0816
        not_contains "$R/$STATE_REL" TOKEN-SENTINEL-0816
        # reset forgets the file too
        rm -f "$T/ok"
        expect_rc 0 gb reset
        expect_rc 1 gb run "$T/s.yaml" --var token=TOKEN-SENTINEL-0817
        contains "$R/var/lib/gpubase/secret-vars" TOKEN-SENTINEL-0817
        expect_rc 0 gb reset
        absent "$R/var/lib/gpubase/secret-vars"
}

t_secret_var_needs_a_value() {
        secret_plan
        expect_rc 65 gb plan check "$T/s.yaml"
        err_has "variable 'token' is secret and the plan gives it no value: give it with --var token=VALUE"
}

# ---- the root's programs and NVML: never on the host ----

# plant PATH MARKER OUTPUT: a program in the root that leaves MARKER (a path outside the root when
# run on the host; the same path under the root when run inside it) and prints OUTPUT
plant() {
        mkdir -p "$(dirname "$R$1")"
        printf '#!/bin/sh\necho ran >%s\nprintf "%%s\\n" "%s"\n' "$2" "$3" >"$R$1"
        chmod 0755 "$R$1"
}

t_root_programs_never_run_on_the_host() {
        cp -a "$HOSTS/healthy-h100/." "$R/"
        local m=$W/marker # the same path exists inside the root: where a program run there writes it
        mkdir -p "$R$W"
        plant /usr/local/cuda/bin/nvcc "$m-nvcc" "Cuda compilation tools, release 12.8, V12.8.93"
        plant /usr/bin/nvidia-ctk "$m-ctk" "NVIDIA Container Toolkit CLI version 1.19.0"
        plant /usr/bin/nvidia-smi "$m-smi" "595.45.01, NVIDIA H100 80GB HBM3, 9.0, 00000000:18:00.0"
        rm -f "$R/usr/lib/x86_64-linux-gnu/libnvidia-ml.so.1" # so that driver.nvml asks nvidia-smi
        gb verify --json >"$T/out" 2>"$T/err" || true
        report_ok
        for p in nvcc ctk smi; do
                absent "$m-$p"
        done
        # they ran inside the root (the fixture root has /bin/sh): the markers are there
        [ -f "$R$m-nvcc" ] || fail "nvcc did not run inside the root"
        [ -f "$R$m-ctk" ] || fail "nvidia-ctk did not run inside the root"
        [ -f "$R$m-smi" ] || fail "nvidia-smi did not run inside the root"
        jq -r '.checks[] | select(.name == "toolkit.nvcc") | .detail' "$X/verify.json" >"$T/d"
        contains "$T/d" "run inside the root, chroot"

        # without a shell in the root they cannot start there, and are not run at all
        rm -f "$R$m"-* "$R/bin/sh"
        gb verify --json >"$T/out" 2>"$T/err" || true
        jq -r '.checks[] | select(.name == "toolkit.nvcc") | "\(.status) \(.detail)"' "$T/out" >"$T/d"
        contains "$T/d" "skip /usr/local/cuda/bin/nvcc is there but was not run: under --root"
        jq -r '.checks[] | select(.name == "ctk.installed") | .detail' "$T/out" >"$T/d"
        contains "$T/d" "nvidia-ctk not run: under --root"
        for p in nvcc ctk smi; do
                absent "$m-$p"
                absent "$R$m-$p"
        done

        # run: the container-runtime step runs the root's nvidia-ctk inside the root too (the
        # planted one fails there, as it configures nothing), never on the host
        "$TESTS_DIR/fixtures/add-shell.sh" "$R"
        local plan=$T/runtime.yaml
        printf '%s\n' 'version: 1' 'name: runtime' 'steps:' '  - id: runtime' '    kind: container-runtime' \
                '    runtime: docker' >"$plan"
        printf '{}\n' >"$R/etc/docker/daemon.json" # not configured yet: the step has work to do
        expect_rc 1 gb run "$plan"
        absent "$m-ctk"
        [ -f "$R$m-ctk" ] || fail "nvidia-ctk of the run did not run inside the root"
        # without one in the root: refused before anything is changed
        rm -f "$R/usr/bin/nvidia-ctk" "$R$m-ctk"
        expect_rc 0 gb reset
        expect_rc 1 gb run "$plan"
        err_has "the root has no /usr/bin/nvidia-ctk to run inside it"
        absent "$m-ctk"
}

t_root_nvml_never_loaded_on_the_host() {
        cp -a "$HOSTS/healthy-h100/." "$R/"
        local m=$W/nvml-marker lib=$R/usr/lib/x86_64-linux-gnu/libnvidia-ml.so.1
        mkdir -p "$R$W"
        cat >"$T/evil.c" <<EOF
#include <stdio.h>
__attribute__((constructor)) static void planted(void) {
        FILE *f = fopen("$m", "w");
        if (f)
                fclose(f);
}
int nvmlInit_v2(void) { return 9; }
int nvmlShutdown(void) { return 0; }
int nvmlDeviceGetCount_v2(unsigned *n) { *n = 0; return 0; }
int nvmlDeviceGetHandleByIndex_v2(unsigned i, void **d) { (void) i; *d = 0; return 2; }
EOF
        "${CC:-cc}" -shared -fPIC -o "$lib" "$T/evil.c"
        gb verify --json >"$T/out" 2>"$T/err" || true
        report_ok
        absent "$m"
        [ -f "$R$m" ] || fail "the root's NVML was not loaded inside the root"
        jq -r '.checks[] | select(.name == "driver.nvml") | .detail' "$T/x/gpubase-report/verify.json" >"$T/d"
        contains "$T/d" "NVML: the driver is not loaded"
}

for t in $(declare -F | awk '{print $3}' | grep '^t_'); do
        if [ -z "${1:-}" ] || [[ $t =~ $1 ]]; then
                run_test "${t#t_}" "$t"
        fi
done
summary
