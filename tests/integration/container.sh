#!/usr/bin/env bash
# The container layer: the container smoke test (container-smoke step, `verify --smoke`), every
# failure it names, CDI (cdi-generate step, cdi.spec check, stale after a driver upgrade), containerd,
# and the GPU Operator refusal, against fixture hosts (tests/fixtures/hosts/mkhost.sh healthy-h100)
# with docker and ctr stand-ins (tests/fixtures/container/standin.c) and the fixture nvidia-ctk
# (tests/fixtures/repo/nvidia-ctk.c, with `cdi generate`), both static: gpubase runs them inside the
# root (chroot), which needs root.
#   [GPUBASE=build/gpubase] [FAKE_NVML=build/fixtures/libnvidia-ml.so.1] tests/integration/container.sh [TEST-NAME-REGEX]
# shellcheck disable=SC2031,SC2119
set -euo pipefail

CT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(cd "$CT_DIR/../.." && pwd)
GPUBASE=${GPUBASE:-$REPO_DIR/build/gpubase}
FAKE_NVML=${FAKE_NVML:-$REPO_DIR/build/fixtures/libnvidia-ml.so.1}
case $GPUBASE in /*) ;; *) GPUBASE=$PWD/$GPUBASE ;; esac
case $FAKE_NVML in /*) ;; *) FAKE_NVML=$PWD/$FAKE_NVML ;; esac
export GPUBASE FAKE_NVML
[ -x "$GPUBASE" ] || { echo "container.sh: $GPUBASE is not built (make all)" >&2; exit 2; }
[ -f "$FAKE_NVML" ] || { echo "container.sh: $FAKE_NVML is not built" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "container.sh: needs root (the root's programs run chrooted)" >&2; exit 2; }

# shellcheck source=tests/integration/lib.sh
. "$CT_DIR/lib.sh"

HOSTS=$IT_LOGDIR/hosts
BIN=$IT_LOGDIR/bin
mkdir -p "$HOSTS" "$BIN"
FAKE_NVML=$FAKE_NVML "$REPO_DIR/tests/fixtures/hosts/mkhost.sh" "$HOSTS/healthy-h100" healthy-h100 \
        >"$IT_LOGDIR/mkhost.log" 2>&1 || { cat "$IT_LOGDIR/mkhost.log" >&2; exit 2; }
gcc -std=gnu11 -O2 -Wall -Wextra -Werror -static "$REPO_DIR/tests/fixtures/container/standin.c" -o "$BIN/standin"
gcc -std=gnu11 -O2 -Wall -Wextra -Werror -DCTK_VERSION='"1.19.0"' "$REPO_DIR/tests/fixtures/repo/nvidia-ctk.c" \
        -o "$BIN/nvidia-ctk" -static -ljson-c -lm

IMAGE=nvcr.io/nvidia/cuda:13.0.0-base-ubuntu24.04 # gpubase's default for the fixture's ceiling (13.0)
LIB=usr/lib/x86_64-linux-gnu

# ct_host: this test's root becomes the healthy H100 host (driver 595.45.01, docker configured and
# restarted) with the container stand-ins: docker and ctr, the fixture nvidia-ctk, the NVIDIA runtime
# and its hook installed before docker started, /dev/nvidia0, and the default image in docker's store.
ct_host() {
        cp -a "$HOSTS/healthy-h100/." "$R/"
        mkdir -p "$R/usr/bin" "$R/dev" "$R/var/lib/docker" "$R/var/lib/containerd"
        cp "$BIN/standin" "$R/usr/bin/docker"
        cp "$BIN/standin" "$R/usr/bin/ctr"
        cp "$BIN/nvidia-ctk" "$R/usr/bin/nvidia-ctk"
        for f in nvidia-container-runtime nvidia-container-runtime-hook nvidia-container-cli; do
                printf '#!/bin/sh\nexit 0\n' >"$R/usr/bin/$f"
                chmod 755 "$R/usr/bin/$f"
                touch -d "2025-11-03T09:00:00Z" "$R/usr/bin/$f"
        done
        : >"$R/dev/nvidia0"
        printf '%s 13.0\n' "$IMAGE" >"$R/var/lib/docker/standin-images"
}

# gpus N: NVML (and the runtime) see N GPUs; /dev/nvidia0..N-1 exist.
gpus() {
        sed -i "s/^gpus=.*/gpus=$1/" "$R/$LIB/fake-nvml.conf"
        local i
        for ((i = 0; i < $1; i++)); do : >"$R/dev/nvidia$i"; done
}

# smoke_plan NAME [STEP-YAML-LINES...]: a plan whose only step is a container-smoke step with those keys.
smoke_plan() {
        local name=$1 l
        shift
        {
                printf 'version: 1\nname: %s\nsteps:\n  - id: smoke\n    kind: container-smoke\n' "$name"
                for l in "$@"; do printf '    %s\n' "$l"; done
        } >"$T/$name.yaml"
        echo "$T/$name.yaml"
}

# smoke_row: `verify --smoke --json` (any exit code); the runtime.smoke row into $T/status, $T/detail, $T/fix.
smoke_row() {
        set +e
        "$GPUBASE" --root "$R" verify --smoke --json "$@" >"$T/out" 2>"$T/err"
        set -e
        jq -e '.checks[] | select(.name | startswith("runtime.smoke"))' "$T/out" >"$T/row" ||
                fail "verify --smoke has no runtime.smoke row: $(cat "$T/err")"
        jq -r .status "$T/row" >"$T/status"
        jq -r .detail "$T/row" >"$T/detail"
        jq -r '.fix // ""' "$T/row" >"$T/fix"
}

smoke_is() { # smoke_is STATUS WORDS...: the row has STATUS and its detail every WORD
        eq "$(cat "$T/status")" "$1" "runtime.smoke status ($(cat "$T/detail"))"
        shift
        local w
        for w in "$@"; do contains "$T/detail" "$w" "runtime.smoke detail"; done
}

smoke_fix() {
        local w
        for w in "$@"; do contains "$T/fix" "$w" "runtime.smoke fix"; done
}

# image_tar FILE REF CUDA: a docker-archive tarball (manifest.json + its config), as docker save writes it.
image_tar() {
        python3 - "$1" "$2" "$3" <<'EOF'
import io, json, sys, tarfile
out, ref, cuda = sys.argv[1:4]
cfg = json.dumps({"config": {"Env": ["PATH=/usr/bin", "NVIDIA_REQUIRE_CUDA=cuda>=" + cuda]}}).encode()
man = json.dumps([{"Config": "cfg.json", "RepoTags": [ref], "Layers": []}]).encode()
with tarfile.open(out, "w", format=tarfile.USTAR_FORMAT) as t:
    for name, data in (("cfg.json", cfg), ("manifest.json", man)):
        i = tarfile.TarInfo(name)
        i.size = len(data)
        t.addfile(i, io.BytesIO(data))
EOF
}


# ---------------------------------------------------------------- docker: the passing case

t_docker_gpus_all_ok() {
        ct_host
        smoke_row
        smoke_is ok "all 1 GPU" "driver 595.45.01" "--gpus all" "$IMAGE" "nvidia-smi --query-gpu=driver_version,name,pci.bus_id"
        # without --smoke nothing is started and there is no such row
        expect_rc 0 gb verify --json
        [ "$(jq '[.checks[] | select(.name == "runtime.smoke")] | length' "$T/out")" = 0 ] ||
                fail "verify without --smoke reported runtime.smoke"
        # eight GPUs of an HGX board, every bus id seen
        gpus 8
        smoke_row
        smoke_is ok "all 8 GPUs"
}

t_smoke_step_in_a_plan() {
        ct_host
        local p
        p=$(smoke_plan smoke "runtime: docker" "timeout: 60")
        expect_rc 0 gb plan show "$p"
        out_has "docker run --rm --pull=never --network=none --gpus all"
        expect_rc 0 gb run "$p"
        eq "$(step_state smoke)" "done" "the smoke step"
        jq -r '.steps[] | select(.id == "smoke") | .detail' "$R/$STATE_REL" >"$T/d"
        contains "$T/d" "the container sees all 1 GPU and driver 595.45.01" "the step's detail"
}

# every shipped host plan (not the demo, which needs no GPU) ends with the smoke test; apt.sh's
# converge runs them to the end, the smoke test included
t_shipped_plans_end_with_the_smoke_test() {
        local f last n=0
        for f in "$REPO_DIR"/plans/*.yaml; do
                [ "$(basename "$f")" != demo.yaml ] || continue
                last=$(grep -E '^  - id: ' "$f" | tail -n 1)
                eq "$last" "  - id: smoke" "the last step of $(basename "$f")"
                sed -n '/^  - id: smoke$/,$p' "$f" >"$T/step"
                contains "$T/step" "kind: container-smoke" "$(basename "$f")'s last step"
                n=$((n + 1))
        done
        eq "$n" 6 "shipped host plans"
        expect_rc 0 gb plan show "$REPO_DIR/plans/debian-12-containerd.yaml"
        out_has "ctr --namespace gpubase run --rm --runtime io.containerd.runc.v2 --runc-binary /usr/bin/nvidia-container-runtime"
        out_has "nvidia-ctk cdi generate --output=/etc/cdi/nvidia.yaml"
        out_has "nvidia-ctk runtime configure --runtime=containerd --config=/etc/containerd/config.toml --drop-in-config=/etc/containerd/conf.d/99-nvidia.toml"
}

# ---------------------------------------------------------------- docker: each failure, its message

t_docker_not_restarted_after_toolkit() {
        ct_host
        # the toolkit (its hook) came after docker started: dockerd has no NVIDIA device driver
        touch -d "2025-11-03T10:30:00Z" "$R/usr/bin/nvidia-container-runtime-hook"
        smoke_row
        smoke_is fail "docker has no NVIDIA GPU support" "not configured, or docker was not restarted" \
                'could not select device driver "" with capabilities: [[gpu]]'
        smoke_fix "nvidia-ctk runtime configure --runtime=docker" "systemctl restart docker"
        # the step fails with the same message, and the run says so
        expect_rc 1 gb run "$(smoke_plan smoke "runtime: docker")"
        eq "$(step_state smoke)" failed "the smoke step"
        err_has "could not select device driver"
        err_has "fix: nvidia-ctk runtime configure --runtime=docker"
}

t_docker_unknown_runtime_nvidia() {
        ct_host
        # daemon.json gained the runtime after docker started (configured, not restarted)
        touch -d "2025-11-03T10:30:00Z" "$R/etc/docker/daemon.json"
        smoke_row --plan "$(smoke_plan smoke "runtime: docker" "request: runtime")"
        smoke_is fail "docker does not know the nvidia runtime" "unknown or invalid runtime name: nvidia" "--runtime=nvidia"
        smoke_fix "systemctl restart docker"
        # restarted: it passes
        touch -d "2025-11-03T10:40:00Z" "$R/run/docker.pid"
        smoke_row --plan "$T/smoke.yaml"
        smoke_is ok "all 1 GPU" "--runtime=nvidia -e NVIDIA_VISIBLE_DEVICES=all"
}

t_version_mismatch_in_the_container() {
        ct_host
        # the libraries were upgraded under a loaded module: the runtime's NVML refuses
        printf '595.45.04\n' >"$R/sys/module/nvidia/version"
        smoke_row
        smoke_is fail "the driver's libraries and the loaded kernel module are different versions" \
                "driver/library version mismatch"
        smoke_fix "reboot"
}

t_version_mismatch_on_the_host() {
        ct_host
        printf 'init_error=18\n' >>"$R/$LIB/fake-nvml.conf"
        smoke_row
        smoke_is fail "Driver/library version mismatch" "no container can use the GPUs"
        smoke_fix "reboot"
}

t_image_cuda_above_the_ceiling() {
        ct_host
        local img=nvcr.io/nvidia/cuda:13.2.0-base-ubuntu24.04
        printf '%s 13.2\n' "$img" >>"$R/var/lib/docker/standin-images"
        smoke_row --plan "$(smoke_plan cuda132 "image: $img")"
        smoke_is fail "the image needs a newer CUDA than the driver serves" "CUDA driver version is insufficient" \
                "unsatisfied condition: cuda>=13.2"
        smoke_fix "at most the driver's ceiling" "newer driver branch"
}

t_image_cuda_refused_at_plan_time() {
        ct_host
        cat >"$T/p570.yaml" <<EOF
version: 1
name: p570
steps:
  - id: driver-check
    kind: gate
    checks: [{driver.version: "570.*"}]
  - id: smoke
    kind: container-smoke
    image: nvcr.io/nvidia/cuda:13.0.0-base-ubuntu24.04
EOF
        snapshot "$R" >"$T/before"
        expect_rc 65 gb plan check "$T/p570.yaml"
        err_has "plan refused"
        err_has "needs CUDA 13.0.0, but driver branch 570 serves CUDA up to 12.8"
        err_has "CUDA driver version is insufficient"
        expect_rc 65 gb run "$T/p570.yaml"
        absent "$R/$STATE_REL"
        snapshot "$R" >"$T/after"
        diff "$T/before" "$T/after" >&2 || fail "a refused run changed the root"
        # an image within the ceiling is accepted
        sed -i 's/13.0.0-base/12.8.1-base/' "$T/p570.yaml"
        expect_rc 0 gb plan check "$T/p570.yaml"
}

t_no_gpu_visible() {
        ct_host
        rm "$R/dev/nvidia0"
        smoke_row
        smoke_is fail "the container sees no GPU" "No devices were found" "device cgroup"
        smoke_fix "/dev/nvidia0"
}

t_one_gpu_missing() {
        ct_host
        gpus 2
        rm "$R/dev/nvidia1"
        smoke_row
        smoke_is fail "the container sees 1 of the host's 2 GPUs" "missing: 00000000:2A:00.0"
        smoke_fix "NVIDIA_VISIBLE_DEVICES=all"
}

t_image_not_present_offline() {
        ct_host
        : >"$R/var/lib/docker/standin-images"
        smoke_row
        smoke_is fail "the image $IMAGE is not on this machine" "No such image"
        smoke_fix "archive: /path/image.tar" "pull: missing"
        # pull: missing with no registry reachable: the pull's own error
        smoke_row --plan "$(smoke_plan pull "pull: missing")"
        eq "$(cat "$T/status")" fail "status"
        contains "$T/detail" "no such host" "detail"
        # a registry that has it: pulled, then it passes
        printf '%s 13.0\n' "$IMAGE" >"$R/etc/standin-registry"
        smoke_row --plan "$T/pull.yaml"
        smoke_is ok "all 1 GPU"
        grep -q "^$IMAGE " "$R/var/lib/docker/standin-images" || fail "the image was not pulled"
}

t_image_from_an_archive() {
        ct_host
        : >"$R/var/lib/docker/standin-images"
        mkdir -p "$R/srv/images"
        image_tar "$R/srv/images/cuda.tar" "$IMAGE" 13.0
        expect_rc 0 gb run "$(smoke_plan archive "archive: /srv/images/cuda.tar")"
        eq "$(step_state smoke)" "done" "the smoke step"
        grep -q "^$IMAGE 13.0$" "$R/var/lib/docker/standin-images" || fail "docker load did not load the archive"
        # an archive that does not hold the image: said so
        : >"$R/var/lib/docker/standin-images"
        image_tar "$R/srv/images/other.tar" nvcr.io/nvidia/cuda:12.8.1-base-ubuntu24.04 12.8
        smoke_row --plan "$(smoke_plan other "archive: /srv/images/other.tar")"
        smoke_is fail "is not on this machine, and loading it from the archive did not provide it"
}

# an air-gapped host: bundle create carries the image archive (images/FILE), run --bundle loads the
# bundle's copy; the archive itself is not on the target
t_image_from_an_offline_bundle() {
        ct_host
        mkdir -p "$R/srv/images"
        image_tar "$R/srv/images/cuda.tar" "$IMAGE" 13.0
        local p
        p=$(smoke_plan bundled "archive: /srv/images/cuda.tar")
        expect_rc 0 gb bundle create "$p" -o "$T/b.tar.gz"
        expect_rc 0 gb bundle inspect "$T/b.tar.gz"
        out_has "images/cuda.tar"
        rm "$R/srv/images/cuda.tar"
        : >"$R/var/lib/docker/standin-images"
        expect_rc 0 gb run --bundle "$T/b.tar.gz"
        eq "$(step_state smoke)" "done" "the smoke step"
        grep -q "^$IMAGE 13.0$" "$R/var/lib/docker/standin-images" || fail "the bundle's image was not loaded"
}

t_docker_not_running() {
        ct_host
        rm "$R/run/docker.pid"
        smoke_row
        smoke_is fail "docker is not running" "Cannot connect to the Docker daemon"
        smoke_fix "systemctl start docker"
}

t_standins_refuse_unknown_flags() {
        ct_host
        set +e
        chroot "$R" /usr/bin/docker run --gpu all "$IMAGE" nvidia-smi >"$T/o" 2>&1
        local rc=$?
        chroot "$R" /usr/bin/ctr --namespace gpubase run --gpu 0 "$IMAGE" id nvidia-smi >"$T/o2" 2>&1
        local rc2=$?
        set -e
        eq "$rc" 125 "docker's exit code for an unknown flag"
        contains "$T/o" "unknown flag: --gpu" "docker"
        eq "$rc2" 1 "ctr's exit code for an unknown flag"
        contains "$T/o2" "flag provided but not defined: --gpu" "ctr"
}

# ---------------------------------------------------------------- containerd

# ct_containerd: containerd running, with the default image in its store.
ct_containerd() {
        mkdir -p "$R/run/containerd"
        : >"$R/run/containerd/containerd.sock"
        printf '%s 13.0\n' "$IMAGE" >"$R/var/lib/containerd/standin-images"
}

t_containerd_through_the_nvidia_runtime() {
        ct_host
        ct_containerd
        smoke_row --plan "$(smoke_plan ctrd "runtime: containerd")"
        smoke_is ok "all 1 GPU" "ctr --namespace gpubase run --rm --runtime io.containerd.runc.v2" \
                "--runc-binary /usr/bin/nvidia-container-runtime --env NVIDIA_VISIBLE_DEVICES=all"
        # no NVIDIA runtime installed
        rm "$R/usr/bin/nvidia-container-runtime"
        smoke_row --plan "$T/ctrd.yaml"
        smoke_is fail "the NVIDIA runtime (/usr/bin/nvidia-container-runtime) is not installed"
        smoke_fix "install nvidia-container-toolkit"
}

t_containerd_gpus_and_its_failures() {
        ct_host
        ct_containerd
        gpus 2
        smoke_row --plan "$(smoke_plan gpus "runtime: containerd" "request: gpus")"
        smoke_is ok "all 2 GPUs" "--gpus 0 --gpus 1"
        # an image that is not in containerd's store (offline)
        : >"$R/var/lib/containerd/standin-images"
        smoke_row --plan "$T/gpus.yaml"
        smoke_is fail "is not on this machine" "not found"
        # imported from an archive
        mkdir -p "$R/srv"
        image_tar "$R/srv/cuda.tar" "$IMAGE" 13.0
        smoke_row --plan "$(smoke_plan imp "runtime: containerd" "archive: /srv/cuda.tar")"
        smoke_is ok "all 2 GPUs"
        # containerd down
        rm "$R/run/containerd/containerd.sock"
        smoke_row --plan "$T/gpus.yaml"
        smoke_is fail "containerd is not running" "failed to dial"
        smoke_fix "systemctl start containerd"
}

# ---------------------------------------------------------------- CDI

# verify_rows: `gpubase verify --json ARGS` whatever it exits with; its rows into $T/rows (for check_is).
verify_rows() {
        set +e
        "$GPUBASE" --root "$R" verify --json "$@" >"$T/out" 2>"$T/err"
        set -e
        jq -r '.checks[] | [.name, .status, .detail, (.fix // "")] | join("\u001f")' "$T/out" >"$T/rows"
}

# check_is NAME STATUS [WORDS...]: row NAME of $T/rows has STATUS and its detail every WORD.
check_is() {
        local name=$1 want=$2 w
        shift 2
        awk -F '\037' -v n="$name" '$1 == n { print $2 > "/dev/stderr"; print $3 }' "$T/rows" 2>"$T/st" >"$T/detail"
        eq "$(cat "$T/st")" "$want" "status of $name ($(cat "$T/detail"))"
        for w in "$@"; do contains "$T/detail" "$w" "detail of $name"; done
}

fix_has() { # fix_has NAME WORDS...: the fix of row NAME has every WORD
        local name=$1 w
        shift
        awk -F '\037' -v n="$name" '$1 == n { print $4 }' "$T/rows" >"$T/fix"
        for w in "$@"; do contains "$T/fix" "$w" "fix of $name"; done
}

cdi_plan() {
        printf 'version: 1\nname: c\nsteps:\n  - id: cdi\n    kind: cdi-generate\n' >"$T/c.yaml"
        echo "$T/c.yaml"
}

t_cdi_unresolvable_then_generated() {
        ct_host
        # docker in CDI mode (features.cdi, no nvidia runtime entry), restarted after it
        printf '{\n    "features": {\n        "cdi": true\n    }\n}' >"$R/etc/docker/daemon.json"
        touch -d "2025-11-03T10:00:00Z" "$R/etc/docker/daemon.json"
        smoke_row
        smoke_is fail "the CDI spec does not name the devices asked for" "unresolvable CDI devices nvidia.com/gpu=all" \
                "--device nvidia.com/gpu=all"
        smoke_fix "nvidia-ctk cdi generate --output=/etc/cdi/nvidia.yaml"
        verify_rows
        check_is cdi.spec skip "CDI not in use"
        cat >"$T/cdi.yaml" <<EOF
version: 1
name: cdi
steps:
  - id: cdi
    kind: cdi-generate
  - id: smoke
    kind: container-smoke
    request: cdi
EOF
        expect_rc 0 gb run "$T/cdi.yaml"
        eq "$(states)" "cdi=done smoke=done" "the steps"
        contains "$R/etc/cdi/nvidia.yaml" "kind: nvidia.com/gpu" "the spec"
        contains "$R/etc/cdi/nvidia.yaml" "libcuda.so.595.45.01" "the spec"
        verify_rows --plan "$T/cdi.yaml"
        check_is cdi.spec ok "/etc/cdi/nvidia.yaml names all 1 GPU and driver 595.45.01"
        # a second run finds the spec current and leaves it alone
        local before
        before=$(stat -c %y "$R/etc/cdi/nvidia.yaml")
        expect_rc 0 gb reset
        expect_rc 0 gb run "$T/cdi.yaml"
        jq -r '.steps[] | select(.id == "cdi") | .detail' "$R/$STATE_REL" >"$T/d"
        contains "$T/d" "names all 1 GPU" "the satisfied step's detail"
        eq "$(stat -c %y "$R/etc/cdi/nvidia.yaml")" "$before" "the spec's mtime"
}

t_cdi_stale_after_a_driver_upgrade() {
        ct_host
        expect_rc 0 gb run "$(cdi_plan)"
        verify_rows
        check_is cdi.spec ok "driver 595.45.01"
        # the driver was upgraded and the machine rebooted into it: the spec still names the old one
        sed -i 's/^driver=.*/driver=595.58.03/' "$R/$LIB/fake-nvml.conf"
        printf '595.58.03\n' >"$R/sys/module/nvidia/version"
        verify_rows
        check_is cdi.spec fail "is stale: it names driver 595.45.01, the loaded driver is 595.58.03"
        fix_has cdi.spec "nvidia-ctk cdi generate --output=/etc/cdi/nvidia.yaml"
        # the plan run again writes it again
        expect_rc 0 gb reset
        expect_rc 0 gb run "$T/c.yaml"
        contains "$R/etc/cdi/nvidia.yaml" "libcuda.so.595.58.03" "the regenerated spec"
        not_contains "$R/etc/cdi/nvidia.yaml" "595.45.01" "the regenerated spec"
        # a GPU added after the spec: named as missing
        gpus 2
        verify_rows
        check_is cdi.spec fail "names 1 GPU (/dev/nvidiaN), the host has 2"
}

t_cdi_spec_that_does_not_parse() {
        ct_host
        mkdir -p "$R/etc/cdi"
        printf 'cdiVersion: 0.5.0\nkind: nvidia.com/gpu\ndevices: [\n' >"$R/etc/cdi/nvidia.yaml"
        verify_rows
        check_is cdi.spec fail "/etc/cdi/nvidia.yaml does not parse: /etc/cdi/nvidia.yaml:"
        printf 'cdiVersion: 0.5.0\nkind: nvidia.com/gpu\ndevices:\n  - name: "0"\n' >"$R/etc/cdi/nvidia.yaml"
        verify_rows
        check_is cdi.spec fail 'has no device named "all"'
        # cdi generate itself failing (NVML says mismatch): the step fails with nvidia-ctk's error
        rm "$R/etc/cdi/nvidia.yaml"
        printf 'init_error=18\n' >>"$R/$LIB/fake-nvml.conf"
        expect_rc 1 gb run "$(cdi_plan)"
        err_has "ERROR_LIB_RM_VERSION_MISMATCH"
}

# ---------------------------------------------------------------- the GPU Operator

# operator: the GPU Operator's driver container has its root mounted at /run/nvidia/driver.
operator() {
        mkdir -p "$R/run/nvidia/driver/usr/bin" "$R/run/nvidia/validations"
        : >"$R/run/nvidia/driver/usr/bin/nvidia-smi"
        : >"$R/run/nvidia/validations/driver-ready"
}

t_operator_driver_detected() {
        ct_host
        verify_rows
        check_is driver.operator ok "no GPU Operator driver container"
        operator
        verify_rows
        check_is driver.operator warn "GPU Operator's driver container manages this host's driver" \
                "its driver root is mounted at /run/nvidia/driver" "/run/nvidia/validations/driver-ready exists"
        fix_has driver.operator "driver.enabled=false" "toolkit.enabled=false"
        # a plan that installs a driver: a failure
        verify_rows --plan "$REPO_DIR/plans/debian-12.yaml"
        check_is driver.operator fail "and the plan installs a host driver"
}

t_operator_refuses_a_host_driver() {
        ct_host
        operator
        snapshot "$R" >"$T/before"
        expect_rc 65 gb plan check "$REPO_DIR/plans/debian-12.yaml"
        err_has "plan refused"
        err_has "GPU Operator's driver container manages this host's driver"
        err_has "driver.enabled=false"
        expect_rc 65 gb run "$REPO_DIR/plans/debian-12.yaml" --reboot=exit
        err_has "/run/nvidia/driver"
        absent "$R/$STATE_REL"
        snapshot "$R" >"$T/after"
        diff "$T/before" "$T/after" >&2 || fail "a refused run changed the root"
        # a plan for an operator host (no driver, container runtime and smoke test only) is accepted
        expect_rc 0 gb plan check "$(smoke_plan op "runtime: docker")"
}

ALL_TESTS=(
        docker_gpus_all_ok smoke_step_in_a_plan shipped_plans_end_with_the_smoke_test
        docker_not_restarted_after_toolkit docker_unknown_runtime_nvidia version_mismatch_in_the_container
        version_mismatch_on_the_host image_cuda_above_the_ceiling image_cuda_refused_at_plan_time no_gpu_visible
        one_gpu_missing image_not_present_offline image_from_an_archive image_from_an_offline_bundle docker_not_running
        standins_refuse_unknown_flags
        containerd_through_the_nvidia_runtime containerd_gpus_and_its_failures
        cdi_unresolvable_then_generated cdi_stale_after_a_driver_upgrade cdi_spec_that_does_not_parse
        operator_driver_detected operator_refuses_a_host_driver
)

run_listed "${1:-}"
