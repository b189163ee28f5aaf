# shellcheck shell=bash
# Sourced by bench.sh: the real-sized sandboxes make bench measures, built once and kept in $CACHE
# (build/bench-cache) until the fixture repository, the bench plans or this machine's apt lists and
# dpkg status change. Needs GPUBASE, TESTS, CACHE.
#   $CACHE/repo              tests/fixtures/repo's signed repositories (env.sh)
#   $CACHE/plan.yaml         the bench plan (plan-origin.yaml: the driver step with `origin:`;
#                            plan-cold.yaml: `update: never`, for cold runs on prepared lists)
#   $CACHE/noop              converged with plan.yaml, then given a copy of this machine's package
#                            lists and sources beside the fixture's; its dpkg status is this
#                            machine's merged with the fixture packages
#   $CACHE/origin            the same, converged with plan-origin.yaml (libapt opened by the probe)
#   $CACHE/cold              before any run: the merged status, every list (this machine's and the
#                            fixture's), this machine's sources: a cold run copies it
#   $CACHE/steps-N           N no-op `file` steps (N = 16, 256), converged
# Mirror host names are read from this machine and never printed.

STEP_COUNTS=(16 256)

# bench_plan FILE [origin|cold]: the bench plan (two files, a keyring .deb, a signed source, the driver
# pinned and held, a reboot, the toolkit held, a command).
bench_plan() {
        local extra_driver="" extra_ctk=""
        case ${2:-} in
        origin) extra_driver="    origin: $FIXTURE_REPO_DIR/cuda/" ;;
        cold) extra_driver="    update: never" extra_ctk="    update: never" ;;
        esac
        cat >"$1" <<EOF
version: 1
name: bench
steps:
  - id: conf
    kind: file
    path: /etc/gpubase-bench/app.conf
    content: "alpha\n"
  - id: cuda-keyring
    kind: apt-keyring-deb
    url: file://$CUDA_KEYRING_DEB
    sha256: $CUDA_KEYRING_SHA256
    fingerprint: $KEY_FPR
  - id: ctk-repo
    kind: apt-source
    key_url: file://$CTK_KEY_ASC
    fingerprint: $CTK_KEY_FPR
    uri: $REPO_CTK_URI
  - id: driver
    kind: apt-install
    packages: [nvidia-driver-pinning-595, nvidia-open]
    hold: true
$extra_driver
  - id: reboot
    kind: reboot
  - id: ctk
    kind: apt-install
    packages: ["nvidia-container-toolkit=1.19.0-1", "nvidia-container-toolkit-base=1.19.0-1", "libnvidia-container-tools=1.19.0-1", "libnvidia-container1=1.19.0-1"]
    hold: true
$extra_ctk
  - id: marker
    kind: command
    argv: [touch, "\${root}/var/lib/bench-marker"]
    creates: /var/lib/bench-marker
  - id: final
    kind: file
    path: /etc/gpubase-bench/final.conf
    content: "final\n"
    mode: "0600"
EOF
        chmod 0644 "$1"
}

# steps_plan FILE N: N `file` steps.
steps_plan() {
        local i
        {
                printf 'version: 1\nname: steps-%s\nsteps:\n' "$2"
                for ((i = 1; i <= $2; i++)); do
                        printf '  - id: f%s\n    kind: file\n    path: /etc/bench/f%s\n    content: "%s\\n"\n' "$i" "$i" "$i"
                done
        } >"$1"
        chmod 0644 "$1"
}

# new_root DIR: a bare root for the bench plan, dpkg's status a copy of this machine's.
new_root() {
        mkdir -p "$1/etc" "$1/proc/sys/kernel/random" "$1/var/lib/dpkg"
        printf 'ID=debian\nVERSION_ID="12"\n' >"$1/etc/os-release"
        cat /proc/sys/kernel/random/uuid >"$1/proc/sys/kernel/random/boot_id"
        # the packages dpkg has installed (not those an apt run on this machine has half done)
        awk 'BEGIN { RS = ""; ORS = "\n\n" } /\nStatus: (install|hold) ok installed\n/' /var/lib/dpkg/status \
                >"$1/var/lib/dpkg/status"
}

# show FILE: a log, with the host names of this machine's package mirrors left out.
show() {
        local hosts h
        hosts=$("$TESTS/lib/debian-mirror.sh" --sources 2>/dev/null | awk '{print $2}' |
                sed -E 's|^[a-z+]+://([^/]+).*|\1|' | sort -u) || true
        local args=()
        for h in $hosts; do args+=(-e "s|$h|MIRROR|g"); done
        sed "${args[@]}" -e '' "$1"
}

# converge ROOT PLAN: run to the reboot, resume after it; fails unless the plan is done.
converge() {
        local rc=0
        "$GPUBASE" --root "$1" run "$2" --reboot=exit >"$CACHE/converge.log" 2>&1 || rc=$?
        [ "$rc" = 3 ] || { show "$CACHE/converge.log"; echo "bench: the first run exited $rc, expected 3"; return 1; }
        cat /proc/sys/kernel/random/uuid >"$1/proc/sys/kernel/random/boot_id"
        "$GPUBASE" --root "$1" resume --reboot=exit >"$CACHE/converge.log" 2>&1 || { show "$CACHE/converge.log"; return 1; }
}

# machine_apt ROOT: this machine's package lists and the sources they come from, beside the
# fixture's (the lists as they are: libapt only parses them to build its cache), and the update
# stamp after them, so that gpubase sees the lists as fresh.
machine_apt() {
        local sources
        sources=$("$TESTS/lib/debian-mirror.sh" --sources) || return 1
        find /var/lib/apt/lists -maxdepth 1 -type f -name '*_Packages*' -exec cp -p {} "$1/var/lib/apt/lists/" \;
        find /var/lib/apt/lists -maxdepth 1 -type f -name '*Release' -exec cp -p {} "$1/var/lib/apt/lists/" \;
        printf '%s\n' "$sources" >"$1/etc/apt/sources.list.d/machine.list"
        mkdir -p "$1/var/lib/gpubase"
        touch "$1/var/lib/gpubase/apt-lists.stamp"
}

# all_skipped ROOT PLAN: a rerun of PLAN on ROOT is a no-op.
all_skipped() {
        local states
        "$GPUBASE" --root "$1" run "$2" --reboot=exit >"$CACHE/noop.log" 2>&1 || { show "$CACHE/noop.log"; return 1; }
        states=$("$GPUBASE" --root "$1" status --json | jq -r '[.steps[] | .state] | unique | join(",")')
        [ "$states" = skipped ] || { show "$CACHE/noop.log"; echo "bench: the rerun of $2 is not a no-op: $states"; return 1; }
}

sandbox_key() {
        {
                find "$TESTS/fixtures/repo" "$TESTS/bench/sandbox.sh" -type f -print0 | sort -z | xargs -0 sha256sum
                stat -c '%n %s %Y' /var/lib/dpkg/status /var/lib/apt/lists/*_Packages* /etc/apt/sources.list* 2>/dev/null
                "$GPUBASE" --version | head -n 1
        } | sha256sum | cut -c1-16
}

sandbox_build() {
        local n
        rm -rf "$CACHE"
        mkdir -p "$CACHE"
        echo "bench: building the fixture repositories"
        "$TESTS/fixtures/repo/build-repo.sh" "$CACHE/repo" >"$CACHE/repo.log" 2>&1 || { show "$CACHE/repo.log"; return 1; }
        # shellcheck source=/dev/null
        . "$CACHE/repo/env.sh"
        bench_plan "$CACHE/plan.yaml"
        bench_plan "$CACHE/plan-origin.yaml" origin
        bench_plan "$CACHE/plan-cold.yaml" cold
        echo "bench: converging the real-sized sandbox (this machine's dpkg status: $(grep -c '^Package: ' /var/lib/dpkg/status) packages)"
        new_root "$CACHE/noop"
        converge "$CACHE/noop" "$CACHE/plan.yaml"
        echo "bench: adding this machine's package lists ($(du -sh /var/lib/apt/lists | cut -f1)) and their sources"
        # the cold template: the merged status before any run, every list (the fixture's from the
        # converged root), this machine's sources
        new_root "$CACHE/cold"
        mkdir -p "$CACHE/cold/var/lib/apt"
        cp -a "$CACHE/noop/var/lib/apt/lists" "$CACHE/cold/var/lib/apt/"
        mkdir -p "$CACHE/cold/etc/apt/sources.list.d"
        machine_apt "$CACHE/cold"
        machine_apt "$CACHE/noop"
        all_skipped "$CACHE/noop" "$CACHE/plan.yaml"
        cp -a "$CACHE/noop" "$CACHE/origin"
        all_skipped "$CACHE/origin" "$CACHE/plan-origin.yaml"
        for n in "${STEP_COUNTS[@]}"; do
                steps_plan "$CACHE/steps-$n.yaml" "$n"
                new_root "$CACHE/steps-$n"
                "$GPUBASE" --root "$CACHE/steps-$n" run "$CACHE/steps-$n.yaml" >"$CACHE/noop.log" 2>&1 || { show "$CACHE/noop.log"; return 1; }
                all_skipped "$CACHE/steps-$n" "$CACHE/steps-$n.yaml"
        done
        sandbox_key >"$CACHE/key"
}

# sandbox_ensure: the cached sandboxes, rebuilt when their inputs changed or one is no longer a
# no-op (a gpubase whose state format changed).
sandbox_ensure() {
        if [ -f "$CACHE/key" ] && [ "$(cat "$CACHE/key")" = "$(sandbox_key)" ]; then
                # shellcheck source=/dev/null
                . "$CACHE/repo/env.sh"
                if all_skipped "$CACHE/noop" "$CACHE/plan.yaml" >/dev/null 2>&1; then
                        echo "bench: the sandboxes in $CACHE are up to date"
                        return 0
                fi
        fi
        sandbox_build
}
