#!/usr/bin/env bash
# `gpubase report`: the support tarball, made under --root from a fixture GPU host
# (tests/fixtures/hosts/mkhost.sh healthy-h100) after a run, and taken apart with tar.
#   GPUBASE=/abs/gpubase [FAKE_NVML=/abs/libnvidia-ml.so.1] tests/integration/report.sh [TEST-NAME-REGEX]
# One line per test (PASS/FAIL name), then a summary; exits non-zero if any test failed.
# shellcheck disable=SC2031,SC2119
set -euo pipefail

# shellcheck source=tests/integration/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

SRC_DIR=$(cd "$IT_DIR/../.." && pwd)
FAKE_NVML=${FAKE_NVML:-$SRC_DIR/build/fixtures/libnvidia-ml.so.1}
[ -f "$FAKE_NVML" ] || { echo "report.sh: $FAKE_NVML is not built (make build/fixtures/libnvidia-ml.so.1)" >&2; exit 2; }
export FAKE_NVML
HOSTS=$IT_LOGDIR/hosts
"$SRC_DIR/tests/fixtures/hosts/mkhost.sh" "$HOSTS/healthy-h100" healthy-h100 >"$IT_LOGDIR/mkhost.log" 2>&1 || {
        cat "$IT_LOGDIR/mkhost.log" >&2
        exit 2
}

# the fixture host, a finished run of a small plan, and the logs a real machine would have
report_root() {
        cp -a "$HOSTS/healthy-h100/." "$R/"
        cat >"$T/site.yaml" <<'EOF'
version: 1
name: report-fixture
vars: {branch: "595"}
steps:
  - id: blacklist
    kind: file
    path: /etc/modprobe.d/blacklist-nouveau.conf
    content: "blacklist nouveau\n"
  - id: check
    kind: gate
    checks: [driver.loaded]
EOF
        expect_rc 0 gb run "$T/site.yaml" --var branch=595
        mkdir -p "$R/var/log/apt" "$R/etc/containerd/conf.d" "$R/etc/apt/preferences.d"
        printf '2026-01-01 10:00:00 install nvidia-open:amd64 <none> 595.45.01-1\n' >"$R/var/log/dpkg.log"
        printf '\nStart-Date: 2026-01-01  10:00:00\nInstall: nvidia-open:amd64 (595.45.01-1)\n' >"$R/var/log/apt/history.log"
        printf 'version = 2\n[plugins]\n' >"$R/etc/containerd/conf.d/99-nvidia.toml"
        printf 'Package: nvidia-open\nPin: version 595.*\nPin-Priority: 1000\n' >"$R/etc/apt/preferences.d/nvidia-driver-pinning-595"
        touch -d "2025-11-03T10:00:00Z" "$R/etc/containerd/conf.d/99-nvidia.toml"
        # secrets that must never end up in a report
        mkdir -p "$R/root/.docker" "$R/etc/apt/auth.conf.d" "$R/etc/apt/sources.list.d"
        printf '{"auths": {"registry.example": {"auth": "c2VjcmV0LXBhc3N3b3Jk"}}}\n' >"$R/root/.docker/config.json"
        printf 'machine repo.example login u password SECRET-APT-PASSWORD\n' >"$R/etc/apt/auth.conf.d/repo.conf"
        printf 'deb https://u:SECRET-URI-PASSWORD@repo.example/debian bookworm main\n' >"$R/etc/apt/sources.list.d/private.list"
        printf 'version = 2\n[plugins."io.containerd.grpc.v1.cri".registry.configs."r".auth]\npassword = "SECRET-CONTAINERD"\n' \
                >"$R/etc/containerd/config.toml"
}

EXPECTED_ENTRIES="MANIFEST
README
files/etc/apt/preferences.d/nvidia-driver-pinning-595
files/etc/containerd/conf.d/99-nvidia.toml
files/etc/docker/daemon.json
files/etc/modprobe.d/blacklist-nouveau.conf
files/etc/os-release
files/proc/driver/nvidia/version
files/proc/sys/kernel/osrelease
files/sys/module/nvidia/version
files/var/lib/gpubase/state.json
files/var/log/apt/history.log
files/var/log/dpkg.log
plan/plan-show.txt
plan/site.yaml
verify.json"

t_report_contents_byte_identical() {
        report_root
        snapshot "$R" >"$T/root.before"
        expect_rc 0 gb report -o "$T/r.tar.gz"
        out_has "wrote $T/r.tar.gz"
        snapshot "$R" >"$T/root.after"
        diff "$T/root.before" "$T/root.after" >&2 || fail "report changed something in the root"

        tar -tzf "$T/r.tar.gz" | LC_ALL=C sort >"$T/list"
        # shellcheck disable=SC2001 # a prefix on every line of the list
        sed 's|^|gpubase-report/|' <<<"$EXPECTED_ENTRIES" | LC_ALL=C sort >"$T/want"
        diff "$T/want" "$T/list" >&2 || fail "tar -tzf lists other entries than expected"

        mkdir "$T/x"
        tar -xzf "$T/r.tar.gz" -C "$T/x"
        local X=$T/x/gpubase-report f
        for f in var/lib/gpubase/state.json var/log/dpkg.log var/log/apt/history.log etc/docker/daemon.json \
                etc/containerd/conf.d/99-nvidia.toml proc/driver/nvidia/version sys/module/nvidia/version \
                etc/os-release proc/sys/kernel/osrelease etc/apt/preferences.d/nvidia-driver-pinning-595 \
                etc/modprobe.d/blacklist-nouveau.conf; do
                cmp "$R/$f" "$X/files/$f" || fail "files/$f differs from the root's $f"
        done
        cmp "$T/site.yaml" "$X/plan/site.yaml" || fail "plan/site.yaml differs from the run's plan"
        contains "$X/plan/plan-show.txt" "plan:    report-fixture"
        # modification times are kept (runtime.restarted compares them)
        [ "$(stat -c %Y "$X/files/etc/containerd/conf.d/99-nvidia.toml")" = "$(stat -c %Y "$R/etc/containerd/conf.d/99-nvidia.toml")" ] ||
                fail "the drop-in's mtime was not kept"

        # verify.json is what `verify --json --plan` prints for the run's plan
        expect_rc 0 gb verify --json --plan "$T/site.yaml" --var branch=595
        jq -S . "$T/out" >"$T/verify.want"
        jq -S . "$X/verify.json" >"$T/verify.got" || fail "verify.json is not JSON"
        diff "$T/verify.want" "$T/verify.got" >&2 || fail "verify.json differs from gpubase verify --json --plan"
        eq "$(jq -r '.checks[] | select(.name == "driver.version") | .status' "$X/verify.json")" ok "driver.version in verify.json"

        # MANIFEST: what was collected and what was missing, and why
        contains "$X/MANIFEST" "collected     files/var/lib/gpubase/state.json"
        contains "$X/MANIFEST" "generated     verify.json"
        contains "$X/MANIFEST" "gpubase verify --json --plan $T/site.yaml (exit 0)"
        contains "$X/MANIFEST" "missing       files/var/log/apt/term.log"
        contains "$X/MANIFEST" "$R/var/log/apt/term.log: No such file or directory"
        contains "$X/MANIFEST" "not-collected journal.txt"
        contains "$X/README" "journal.txt: not collected under --root"
        contains "$X/README" "Root: $R"

        # nothing secret: none of the planted secrets is anywhere in the tarball
        if tar -xzOf "$T/r.tar.gz" | grep -aE 'SECRET|c2VjcmV0'; then
                fail "the report carries a secret"
        fi
}

t_report_to_stdout() {
        report_root
        "$GPUBASE" --root "$R" report -o - >"$T/r.tgz" 2>"$T/err" || fail "report -o - failed: $(cat "$T/err")"
        tar -tzf "$T/r.tgz" >"$T/list" || fail "report -o - did not write a tar.gz"
        contains "$T/list" "gpubase-report/MANIFEST"
        contains "$T/list" "gpubase-report/files/var/lib/gpubase/state.json"
}

t_report_without_a_run() {
        mkdir -p "$R/tmp"
        expect_rc 0 gb report -o "$T/r.tar.gz"
        mkdir "$T/x"
        tar -xzf "$T/r.tar.gz" -C "$T/x"
        contains "$T/x/gpubase-report/MANIFEST" "missing       files/var/lib/gpubase/state.json"
        contains "$T/x/gpubase-report/MANIFEST" "no run: no state file"
        jq -e '.summary' "$T/x/gpubase-report/verify.json" >/dev/null || fail "verify.json has no summary"
        [ -f "$T/x/gpubase-report/files/etc/os-release" ] || fail "os-release was not collected"
}

t_report_default_name_and_usage() {
        printf 'gpu-node-7\n' >"$R/etc/hostname"
        expect_rc 0 gb report
        local f
        f=$(ls "$T"/gpubase-report-gpu-node-7-*.tar.gz) || fail "no ./gpubase-report-HOST-TIME.tar.gz in the current directory"
        tar -tzf "$f" >/dev/null || fail "$f is not a tar.gz"
        expect_rc 64 gb report -o "$T/r.zip"
        err_has "FILE.tar.gz"
        expect_rc 64 gb report --json
        expect_rc 0 "$GPUBASE" report --help
        out_has "state.json"
        out_has "journal.txt"
        out_has "/etc/docker/daemon.json"
        out_has "/proc/driver/nvidia/version"
        out_has "No credentials or keys are collected"
        out_has "replaced by <redacted>"
        out_has "mode 0600"
        expect_rc 0 "$GPUBASE" --help
        out_has "report [-o FILE]"
}

# an HGX board: Fabric Manager's log and `nvidia-smi -q` (run inside the root) are in the report
t_report_hgx_fabric_manager_and_nvidia_smi() {
        "$SRC_DIR/tests/fixtures/hosts/mkhost.sh" "$T/hgx" hgx-h100 >"$T/mkhost.log" 2>&1 || fail "mkhost.sh hgx-h100: $(cat "$T/mkhost.log")"
        cp -a "$T/hgx/." "$R/"
        expect_rc 0 gb report -o "$T/r.tar.gz"
        mkdir "$T/x"
        tar -xzf "$T/r.tar.gz" -C "$T/x"
        local X=$T/x/gpubase-report
        cmp "$R/var/log/fabricmanager.log" "$X/files/var/log/fabricmanager.log" || fail "fabricmanager.log differs"
        contains "$X/nvidia-smi-q.txt" "GPU 00000000:DB:00.0"
        contains "$X/nvidia-smi-q.txt" "State                             : Completed"
        contains "$X/MANIFEST" "collected     nvidia-smi-q.txt"
        contains "$X/MANIFEST" "nvidia-smi -q (run inside the root, chroot), exit 0"
        contains "$X/MANIFEST" "collected     files/var/log/fabricmanager.log"
        eq "$(jq -r '.checks[] | select(.name == "fabric.manager") | .status' "$X/verify.json")" ok "fabric.manager in verify.json"
        eq "$(jq -c .facts.nvswitches.count "$X/verify.json")" 4 "facts.nvswitches.count in verify.json"
}

for t in $(declare -F | awk '{print $3}' | grep '^t_'); do
        if [ -z "${1:-}" ] || [[ $t =~ $1 ]]; then
                run_test "${t#t_}" "$t"
        fi
done
summary
