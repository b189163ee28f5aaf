#!/usr/bin/env bash
# Offline bundles: `gpubase bundle create` from the signed fixture repositories
# (tests/fixtures/repo/build-repo.sh), `bundle inspect`, and `gpubase run --bundle` on a GPU root
# with the repositories made unreachable, through a simulated reboot to done; then crafted
# archives that extraction must refuse (absolute paths, "..", links escaping the target,
# checksum mismatches, files the manifest does not list).
#   GPUBASE=/abs/gpubase [FAKE_NVML=/abs/libnvidia-ml.so.1] tests/integration/bundle.sh [TEST-NAME-REGEX]
# One line per test (PASS/FAIL name), then a summary; exits non-zero if any test failed.
# shellcheck disable=SC2031,SC2119
set -euo pipefail

# shellcheck source=tests/integration/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

SRC_DIR=$(cd "$IT_DIR/../.." && pwd)
PLANS=$SRC_DIR/plans
FAKE_NVML=${FAKE_NVML:-$SRC_DIR/build/fixtures/libnvidia-ml.so.1}
[ -f "$FAKE_NVML" ] || { echo "bundle.sh: $FAKE_NVML is not built (make build/fixtures/libnvidia-ml.so.1)" >&2; exit 2; }
need_tools bundle.sh dpkg dpkg-deb dpkg-divert apt-ftparchive gpg gcc python3 zstd

BW=$(mktemp -d "${TMPDIR:-/tmp}/gpubase-bundleit.XXXXXX")
# shellcheck disable=SC2064
trap "rm -rf '$BW' '$IT_LOGDIR'" EXIT
fixture_repos bundle "$BW/repo"
CRAFT=$IT_DIR/craft-bundle.py

# the shipped Debian 12 plan pointed at the fixture; origin NVIDIA is the repositories' Origin field,
# which the bundle's repositories keep
SV=(--var "cuda_keyring_url=file://$CUDA_KEYRING_DEB"
        --var "cuda_key_fpr=$KEY_FPR" --var "ctk_repo=$REPO_CTK_URI" --var "ctk_key_url=file://$CTK_KEY_ASC"
        --var "ctk_key_fpr=$CTK_KEY_FPR" --var "driver_origin=NVIDIA")
PLAN=$PLANS/debian-12.yaml
DEBS="libnvidia-compute=595.45.01-1 libnvidia-container-tools=1.19.0-1 libnvidia-container1=1.19.0-1"
DEBS+=" nvidia-container-toolkit-base=1.19.0-1 nvidia-container-toolkit=1.19.0-1 nvidia-driver-pinning-595=595-1"
# Fabric Manager too, at the driver's version (not the newer 595.58.03-1 the repository offers): its
# step's condition (nvswitch-present) is the target's to judge, at run time
DEBS+=" nvidia-fabricmanager=595.45.01-1 nvidia-kernel-open-dkms=595.45.01-1 nvidia-open=595.45.01-1"

# one good bundle (gzip, for the crafting script) made once, in a root of its own
GOOD=$BW/good.tar.gz
mkdir -p "$BW/mkroot"
fill_root "$BW/mkroot"
"$GPUBASE" --root "$BW/mkroot" bundle create "$PLAN" -o "$GOOD" "${SV[@]}" >"$IT_LOGDIR/good.log" 2>&1 || {
        cat "$IT_LOGDIR/good.log" >&2
        echo "FAIL bundle: bundle create failed" >&2
        exit 1
}

# ---- helpers ----

# offline: the fixture repositories disappear for this test (restored when it ends).
offline() {
        mv "$FIXTURE_REPO_DIR" "$FIXTURE_REPO_DIR.gone"
        # shellcheck disable=SC2064
        trap "mv '$FIXTURE_REPO_DIR.gone' '$FIXTURE_REPO_DIR' 2>/dev/null; cleanup" EXIT
        [ ! -e "$CUDA_KEYRING_DEB" ] || fail "the repository is still reachable"
}

# ---- tests ----

t_bundle_create_and_inspect() {
        snapshot "$R" >"$T/root.before"
        local b=$T/b.tar.zst
        expect_rc 0 gb bundle create "$PLAN" -o "$b" "${SV[@]}"
        out_has "cuda-keyring             apt-keyring-deb  bundled"
        out_has "ctk-repo                 apt-source       bundled"
        out_has "driver                   apt-install      bundled"
        out_has "fabric-manager           apt-install      bundled"
        out_has "ctk                      apt-install      bundled"
        out_has "wrote $b: 9 packages, 20 files"
        snapshot "$R" >"$T/root.after"
        diff "$T/root.before" "$T/root.after" >&2 || fail "bundle create changed the root"
        # zstd, manifest first
        [ "$(od -An -tx1 -N4 "$b" | tr -d ' ')" = 28b52ffd ] || fail "$b is not zstd-compressed"
        tar -I zstd -tf "$b" >"$T/list"
        eq "$(head -n 1 "$T/list")" manifest.json "first entry"
        eq "$(sed -n 2p "$T/list")" plan.yaml "second entry"

        expect_rc 0 gb bundle inspect "$b"
        out_has "plan:     debian-12-open-595"
        out_has "every one matches its sha256 in the manifest"
        expect_rc 0 gb bundle inspect --json "$b"
        cp "$T/out" "$T/m.json"
        eq "$(jq -r '[.files[] | select(.kind == "deb") | "\(.package)=\(.version)"] | sort | join(" ")' "$T/m.json")" \
                "$DEBS" "packages at their resolved versions, dependencies included"
        eq "$(jq -r '[.files[] | select(.kind == "keyring-deb") | .path] | join(" ")' "$T/m.json")" \
                "keyrings/cuda-keyring_1.1-1_all.deb" "keyring packages"
        # the signed indexes that vouched for the keyring package (no sha256 pinned): the offline run
        # checks the same chain against them
        eq "$(jq -r '[.files[] | select(.kind == "keyring-chain") | .path] | sort | join(" ")' "$T/m.json")" \
                "$(printf 'keyrings/cuda-keyring_1.1-1_all.deb.chain/1/%s ' InRelease Packages Packages.gz repository | sed 's/ $//')" \
                "the keyring package's signed indexes"
        eq "$(jq -r '[.files[] | select(.kind == "key") | .path] | join(" ")' "$T/m.json")" "keys/ctk-repo.key" "keys"
        eq "$(jq -r '.plan.vars | length' "$T/m.json")" 6 "the plan's --var values"
        # every sha256 in the manifest is the file's
        mkdir "$T/x"
        tar -I zstd -xf "$b" -C "$T/x"
        jq -r '.files[] | "\(.sha256)  \(.path)"' "$T/m.json" >"$T/sums"
        (cd "$T/x" && sha256sum --quiet -c "$T/sums") || fail "a sha256 of the manifest does not match its file"
        cmp "$PLAN" "$T/x/plan.yaml" || fail "plan.yaml is not the plan"
        cmp "$CUDA_KEYRING_DEB" "$T/x/keyrings/cuda-keyring_1.1-1_all.deb" || fail "the keyring package differs"
        cmp "${REPO_CUDA_URI#file://}/InRelease" "$T/x/keyrings/cuda-keyring_1.1-1_all.deb.chain/1/InRelease" ||
                fail "the bundled InRelease is not the repository's"
        eq "$(sed -n 2p "$T/x/keyrings/cuda-keyring_1.1-1_all.deb.chain/1/repository")" / "the saved repository's suite"
        cmp "$FIXTURE_REPO_DIR/debs/nvidia-open_595.45.01-1_amd64.deb" "$T/x/repo/local/nvidia-open_595.45.01-1_amd64.deb" ||
                fail "nvidia-open's archive differs from the repository's"
        contains "$T/x/repo/local/Release" "Origin: NVIDIA"
        contains "$T/x/repo/local/Packages" "Filename: ./nvidia-open_595.45.01-1_amd64.deb"
}

t_bundle_create_refusals() {
        expect_rc 64 gb bundle create "$PLAN" "${SV[@]}"
        err_has "-o FILE"
        expect_rc 1 gb bundle create "$PLAN" -o "$T/b.zip" "${SV[@]}"
        err_has ".tar.zst"
        expect_rc 64 gb bundle frobnicate "$PLAN"
        # the keyring's chain (its repository's signed index lists its sha256) is checked while bundling
        expect_rc 1 gb bundle create "$PLAN" -o "$T/b.tar.gz" "${SV[@]}" --var "cuda_keyring_url=file://$NV_SWAPPED_DEB"
        err_has "refusing cuda-keyring_1.1-1_all.deb: its sha256 is $NV_SWAPPED_SHA256, but the repository it names"
        absent "$T/b.tar.gz"
        # a plan for another OS cannot be resolved here
        printf 'ID=ubuntu\nVERSION_ID="24.04"\n' >"$R/etc/os-release"
        expect_rc 65 gb bundle create "$PLAN" -o "$T/b.tar.gz" "${SV[@]}"
        err_has "make the bundle on a machine like the target"
}

t_bundle_run_offline_to_done() {
        gpu_root
        offline
        # a pkgcache.bin an earlier probe left: the bundle's install (a scratch session) removes
        # it, or libapt could take it as valid after dpkg rewrote the status within the same second
        mkdir -p "$R/var/cache/apt"
        echo "a probe's pkgcache.bin" >"$R/var/cache/apt/pkgcache.bin"
        # the bundle's own plan, with the --var values it was made with
        expect_rc 3 gb run --bundle "$GOOD" --reboot=exit
        [ ! -e "$R/var/cache/apt/pkgcache.bin" ] || fail "the bundle's install left the root's pkgcache.bin"
        out_has "packages from the offline bundle"
        eq "$(sj .run_state)" reboot-pending "run_state at the reboot"
        eq "$(states)" "preflight=done nouveau-blacklist=done upgrade-blacklist=done cuda-keyring=done ctk-repo=done driver=done fabric-manager=skipped driver-reboot=reboot-requested persistence=pending fabric-manager-start=pending ctk=pending runtime=pending docker-restart=pending smoke=pending" "step states at the reboot"
        eq "$(sj .bundle)" /var/lib/gpubase/bundle "the run's bundle"
        installed cuda-keyring 1.1-1
        installed nvidia-open 595.45.01-1 hold
        installed nvidia-driver-pinning-595 595-1 hold
        # the machine's own apt lists were not touched (the bundle's go to a scratch directory)
        if [ -n "$(find "$R/var/lib/apt/lists" -type f 2>/dev/null)" ]; then
                find "$R/var/lib/apt/lists" >&2
                fail "the run wrote apt lists into the root"
        fi
        expect_rc 3 gb resume --reboot=exit # no reboot yet
        boot_root
        # resume goes on with the extracted bundle, checked again
        expect_rc 0 gb resume --reboot=exit
        eq "$(sj .run_state)" "done" "run_state after the reboot"
        eq "$(states)" "preflight=done nouveau-blacklist=done upgrade-blacklist=done cuda-keyring=done ctk-repo=done driver=done fabric-manager=skipped driver-reboot=done persistence=skipped fabric-manager-start=skipped ctk=done runtime=done docker-restart=done smoke=done" "step states after the reboot"
        local p
        for p in nvidia-container-toolkit nvidia-container-toolkit-base libnvidia-container-tools libnvidia-container1; do
                installed "$p" 1.19.0-1 hold
        done
        [ "$(jq -r '.runtimes.nvidia.path' "$R/etc/docker/daemon.json")" = nvidia-container-runtime ] ||
                fail "daemon.json has no nvidia runtime"
        # done: the packages are gone, the manifest and the plan stay
        eq "$(find "$R/var/lib/gpubase/bundle" -mindepth 1 -maxdepth 1 -printf '%f\n' | LC_ALL=C sort | tr '\n' ' ')" "manifest.json plan.yaml " "the bundle directory after the run"
        # the sources the plan wrote are the real ones, for when the network is back
        contains "$R/etc/apt/sources.list.d/ctk-repo.sources" "URIs: $REPO_CTK_URI"
        # a converged rerun from the bundle changes nothing
        cp "$R/var/lib/dpkg/status" "$T/status.before"
        expect_rc 0 gb run --bundle "$GOOD" --reboot=exit
        eq "$(states)" "preflight=done nouveau-blacklist=skipped upgrade-blacklist=skipped cuda-keyring=skipped ctk-repo=skipped driver=skipped fabric-manager=skipped driver-reboot=skipped persistence=skipped fabric-manager-start=skipped ctk=skipped runtime=skipped docker-restart=skipped smoke=done" "converged rerun"
        cmp -s "$T/status.before" "$R/var/lib/dpkg/status" || fail "the converged rerun changed dpkg's status"
        # without the bundle the same plan cannot reach its repositories
        expect_rc 0 gb reset
        rm -f "$R/var/lib/dpkg/status"
        touch "$R/var/lib/dpkg/status"
        expect_rc 1 gb run "$PLAN" --reboot=exit "${SV[@]}"
}

t_bundle_plan_must_match() {
        gpu_root
        # the same plan and --var values: accepted (a dry run: nothing is written)
        expect_rc 0 gb run --dry-run --bundle "$GOOD" "$PLAN" "${SV[@]}"
        out_has "dry run of plan 'debian-12-open-595'"
        out_has "resolves to nvidia-open 595.45.01-1"
        absent "$R/var/lib/gpubase"
        # another --var value: another plan
        expect_rc 65 gb run --bundle "$GOOD" "$PLAN" "${SV[@]}" --var ctk=1.18.0-1
        err_has "the bundle was made for plan 'debian-12-open-595'"
        absent "$R/var/lib/gpubase/state.json"
        expect_rc 65 gb run --bundle "$GOOD" "$PLAN"
        err_has "give the same plan and --var values"
        expect_rc 64 gb run
}

# crafted MODE: a copy of the good bundle with one thing wrong; running it must be refused with
# nothing extracted, nothing left behind, and nothing written where the entry aimed.
crafted() {
        local mode=$1 want=$2 esc=$T/escaped/target
        mkdir -p "$T/escaped"
        python3 "$CRAFT" "$mode" "$GOOD" "$T/$mode.tar.gz" "$esc"
        gpu_root
        expect_rc 1 gb run --bundle "$T/$mode.tar.gz" --reboot=exit
        err_has "$want"
        absent "$R/var/lib/gpubase/bundle"
        absent "$R/var/lib/gpubase/state.json"
        local partial
        for partial in "$R"/var/lib/gpubase/*bundle.new*; do
                [ ! -e "$partial" ] || fail "a partial extraction was left behind"
        done
        absent "$esc"
        [ -z "$(ls -A "$T/escaped")" ] || fail "something was written outside the target: $(ls -A "$T/escaped")"
        [ ! -e "$R/var/lib/dpkg/status" ] || ! grep -q '^Package:' "$R/var/lib/dpkg/status" || fail "packages were installed"
        expect_rc 1 gb bundle inspect "$T/$mode.tar.gz"
        err_has "$want"
}

t_bundle_refuses_absolute_path() { crafted absolute "an absolute path"; }
t_bundle_refuses_dotdot() { crafted dotdot 'a ".." component'; }
t_bundle_refuses_symlink_absolute() { crafted symlink-abs "it escapes the target directory"; }
t_bundle_refuses_symlink_up() { crafted symlink-up "it escapes the target directory"; }
t_bundle_refuses_hardlink_up() { crafted hardlink-up "it escapes the target directory"; }
t_bundle_refuses_checksum_mismatch() { crafted checksum "checksum mismatch for repo/local/"; }
t_bundle_refuses_unlisted_file() { crafted unlisted "is not in the bundle's manifest"; }
t_bundle_refuses_manifest_not_first() { crafted manifest-not-first "its first file must be manifest.json"; }
t_bundle_refuses_missing_file() { crafted missing "is in the manifest but not in the bundle"; }

# an extracted bundle changed between reboot and resume is refused, not used
t_bundle_resume_rechecks() {
        gpu_root
        offline
        expect_rc 3 gb run --bundle "$GOOD" --reboot=exit
        local deb
        deb=$(ls "$R"/var/lib/gpubase/bundle/repo/local-2/nvidia-container-toolkit_*.deb)
        printf 'x' >>"$deb"
        boot_root
        expect_rc 1 gb resume --reboot=exit
        err_has "checksum mismatch for repo/local-2/nvidia-container-toolkit_1.19.0-1_amd64.deb"
        eq "$(sj .run_state)" reboot-pending "run_state (untouched)"
        # the bundle again: extracted afresh, and the run goes on
        expect_rc 0 gb resume --bundle "$GOOD" --reboot=exit
        eq "$(sj .run_state)" "done" "run_state"
}

# The keyring package's chain of trust is checked again offline, against the signed indexes the
# bundle carries: a bundle whose manifest was made to match a swapped package, a changed index or a
# changed InRelease is refused at that link, before anything is installed.
tampered() {
        local name=$1 want=$2
        shift 2
        python3 "$IT_DIR/tamper-bundle.py" "$GOOD" "$T/$name.tar.gz" "$@"
        gpu_root
        expect_rc 1 gb run --bundle "$T/$name.tar.gz" --reboot=exit
        err_has "$want"
        eq "$(step_state cuda-keyring)" failed "cuda-keyring step ($name)"
        eq "$(pkg_status cuda-keyring)" "" "dpkg status of cuda-keyring ($name)"
        absent "$R/usr/share/keyrings/cuda-archive-keyring.gpg"
}

t_bundle_keyring_chain_offline() {
        local c=keyrings/cuda-keyring_1.1-1_all.deb.chain/1 k=keyrings/cuda-keyring_1.1-1_all.deb
        mkdir -p "$T/x"
        tar -xzf "$GOOD" -C "$T/x"
        offline
        # a keyring package with the pinned key and the right sources, but not the file the index lists
        dpkg-deb -R "$T/x/$k" "$T/deb"
        mkdir -p "$T/deb/usr/share/doc/cuda-keyring"
        printf 'not the published package\n' >"$T/deb/usr/share/doc/cuda-keyring/swapped"
        dpkg-deb --root-owner-group -b "$T/deb" "$T/swapped.deb" >/dev/null
        tampered swapped "refusing cuda-keyring_1.1-1_all.deb: its sha256 is $(sha256sum "$T/swapped.deb" | cut -d' ' -f1), but the repository it names" \
                "$k=$T/swapped.deb"
        err_has "lists $(sha256sum "$T/x/$k" | cut -d' ' -f1) for cuda-keyring 1.1-1"
        # an index that is not the one the InRelease lists
        sed 's/^Version: 1.1-1$/Version: 1.1-2/' "$T/x/$c/Packages" >"$T/Packages"
        gzip -9nc "$T/Packages" >"$T/Packages.gz"
        tampered index "does not match its InRelease" "$c/Packages=$T/Packages" "$c/Packages.gz=$T/Packages.gz"
        # an InRelease whose signed text was changed
        sed 's/^Label: NVIDIA CUDA$/Label: NVIDIA CUDA (changed)/' "$T/x/$c/InRelease" >"$T/InRelease"
        cmp -s "$T/InRelease" "$T/x/$c/InRelease" && fail "the InRelease was not changed"
        tampered inrelease "is not signed by key $KEY_FPR" "$c/InRelease=$T/InRelease"
        # saved indexes of a repository the package does not name
        printf 'file:/elsewhere/\n/\n\n' >"$T/repository"
        tampered elsewhere "the bundle carries the indexes of file:/elsewhere/, a repository its sources do not name" \
                "$c/repository=$T/repository"
}

for t in $(declare -F | awk '{print $3}' | grep '^t_'); do
        if [ -z "${1:-}" ] || [[ $t =~ $1 ]]; then
                run_test "${t#t_}" "$t"
        fi
done
summary
