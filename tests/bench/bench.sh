#!/usr/bin/env bash
# make bench: figures for a converged host, printed and written as markdown. Never fails on speed
# (only when something does not work: a run that does not converge, a command that errors).
#   GPUBASE=/abs/gpubase MEASURE=/abs/measure BENCH_CHECKPOINT=/abs/bench-checkpoint \
#   FAKE_NVML=/abs/libnvidia-ml.so.1 [RUNS=11] [BENCH_OUT=FILE] tests/bench/bench.sh
#
# The sandbox: a --root converged with the bench plan (tests/fixtures/repo's signed repositories:
# keyring .deb, signed source, the driver pinned and held, a reboot, the toolkit held, files and a
# command), then, each timed RUNS times (the median is reported; peak RSS is the largest):
#   no-op rerun    `gpubase run PLAN` on the converged root: every step probed, all skipped
#   shell no-op    the same probes as a shell script of dpkg-query/md5sum/gpg/cmp/stat calls
#   status         `gpubase status` and `status --json`
#   verify         `gpubase verify` on tests/fixtures/hosts' healthy-h100 host (every check ok),
#                  and on the converged sandbox (no GPU there: most checks fail, same work)
#   plan check     `gpubase plan check PLAN` (load, validate, match, plan-time refusals)
#   checkpoint     one state_save() of the converged run's state: serialise, write, fsync, rename,
#                  fsync of the directory (tests/bench/checkpoint.c, linked against the agent); and
#                  a no-op rerun of plans of 16 and 256 file steps through engine_run(), per step
# Targets the project designs for (reported, not enforced): no-op rerun within 1.2x the shell
# script, status and verify under 50 ms, peak RSS under 32 MB.
set -euo pipefail
export LC_ALL=C

: "${GPUBASE:?}" "${MEASURE:?}" "${BENCH_CHECKPOINT:?}" "${FAKE_NVML:?}"
RUNS=${RUNS:-11}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TESTS=$(dirname "$HERE")
W=$(mktemp -d "${TMPDIR:-/tmp}/gpubase-bench.XXXXXX")
trap 'rm -rf "$W"' EXIT
R=$W/root

echo "bench: building the fixture repositories"
"$TESTS/fixtures/repo/build-repo.sh" "$W/repo" >"$W/repo.log" 2>&1 || { cat "$W/repo.log"; exit 1; }
# shellcheck source=/dev/null
. "$W/repo/env.sh"

PLAN=$W/plan.yaml
cat >"$PLAN" <<EOF
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
  - id: reboot
    kind: reboot
  - id: ctk
    kind: apt-install
    packages: ["nvidia-container-toolkit=1.19.0-1", "nvidia-container-toolkit-base=1.19.0-1", "libnvidia-container-tools=1.19.0-1", "libnvidia-container1=1.19.0-1"]
    hold: true
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
chmod 0644 "$PLAN"

echo "bench: converging the sandbox"
mkdir -p "$R/etc" "$R/proc/sys/kernel/random"
printf 'ID=debian\nVERSION_ID="12"\n' >"$R/etc/os-release"
cat /proc/sys/kernel/random/uuid >"$R/proc/sys/kernel/random/boot_id"
rc=0
"$GPUBASE" --root "$R" run "$PLAN" --reboot=exit >"$W/converge.log" 2>&1 || rc=$?
[ "$rc" = 3 ] || { cat "$W/converge.log"; echo "bench: the first run exited $rc, expected 3"; exit 1; }
cat /proc/sys/kernel/random/uuid >"$R/proc/sys/kernel/random/boot_id"
"$GPUBASE" --root "$R" resume --reboot=exit >"$W/converge.log" 2>&1 || { cat "$W/converge.log"; exit 1; }
"$GPUBASE" --root "$R" run "$PLAN" --reboot=exit >"$W/noop.log" 2>&1 || { cat "$W/noop.log"; exit 1; }
states=$("$GPUBASE" --root "$R" status --json | jq -r '[.steps[] | .state] | unique | join(",")')
[ "$states" = skipped ] || { cat "$W/noop.log"; echo "bench: the rerun is not a no-op: $states"; exit 1; }

echo "bench: the healthy-h100 fixture host"
FAKE_NVML=$FAKE_NVML "$TESTS/fixtures/hosts/mkhost.sh" "$W/h100" healthy-h100 >"$W/mkhost.log" 2>&1 ||
        { cat "$W/mkhost.log"; exit 1; }

# ---- the shell script that checks what the no-op rerun checks
NOOP=$W/noop.sh
cat >"$NOOP" <<'EOF'
#!/bin/sh
# The bench plan's probes, as a shell script would do them (ROOT KEY_FPR CTK_KEY_FILE). Exit 0:
# everything in place.
set -e
R=$1 FPR=$2 CTK_KEY=$3
Q() { dpkg-query --admindir="$R/var/lib/dpkg" -W -f='${db:Status-Abbrev} ${Version}\n' "$@"; }
# conf, final: content and mode
[ "$(stat -c %a "$R/etc/gpubase-bench/app.conf")" = 644 ]
[ "$(cat "$R/etc/gpubase-bench/app.conf")" = alpha ]
[ "$(stat -c %a "$R/etc/gpubase-bench/final.conf")" = 600 ]
[ "$(cat "$R/etc/gpubase-bench/final.conf")" = final ]
# cuda-keyring: installed at 1.1-1, its files intact, its keyring holds the key
[ "$(Q cuda-keyring)" = "ii  1.1-1" ]
(cd "$R" && md5sum --quiet -c "$R/var/lib/dpkg/info/cuda-keyring.md5sums" >/dev/null)
gpg --batch --no-default-keyring --show-keys --with-colons "$R/usr/share/keyrings/cuda-archive-keyring.gpg" 2>/dev/null |
        grep -q "^fpr:::::::::$FPR:"
# ctk-repo: the source and its keyring as written
grep -qx "Signed-By: /usr/share/keyrings/ctk-repo-keyring.gpg" "$R/etc/apt/sources.list.d/ctk-repo.sources"
gpg --batch --no-default-keyring --show-keys --with-colons "$R/usr/share/keyrings/ctk-repo-keyring.gpg" 2>/dev/null |
        grep -q "^fpr:::::::::$(gpg --batch --show-keys --with-colons "$CTK_KEY" 2>/dev/null | awk -F: '/^fpr/ {print $10; exit}'):"
# driver: pinning package and driver installed and held, at 595.*
for p in nvidia-driver-pinning-595 nvidia-open; do
        case $(Q "$p") in "hi  595"*) ;; *) exit 1 ;; esac
done
# ctk: the four packages at 1.19.0-1, held
for p in nvidia-container-toolkit nvidia-container-toolkit-base libnvidia-container-tools libnvidia-container1; do
        [ "$(Q "$p")" = "hi  1.19.0-1" ]
done
# marker: the command's creates:
[ -e "$R/var/lib/bench-marker" ]
EOF
chmod +x "$NOOP"
sh "$NOOP" "$R" "$KEY_FPR" "$CTK_KEY_FILE" || { echo "bench: the shell no-op script does not pass on the converged root"; exit 1; }
rm -f "$R/var/lib/bench-marker"
if sh "$NOOP" "$R" "$KEY_FPR" "$CTK_KEY_FILE" 2>/dev/null; then echo "bench: the shell no-op script misses drift"; exit 1; fi
touch "$R/var/lib/bench-marker"

# ---- measurements
declare -A MED MIN MAX RSS RC
m() { # NAME CMD...
        local name=$1 out
        shift
        out=$("$MEASURE" "$RUNS" -- "$@") || { echo "bench: $name: the runs did not all exit alike"; exit 1; }
        read -r "MED[$name]" "MIN[$name]" "MAX[$name]" "RSS[$name]" "RC[$name]" <<<"$out"
        printf '  %-22s median %8.2f ms  (min %.2f, max %.2f)  peak RSS %6.1f MB  exit %s\n' "$name" \
                "${MED[$name]}" "${MIN[$name]}" "${MAX[$name]}" "$(awk -v k="${RSS[$name]}" 'BEGIN { print k / 1024 }')" "${RC[$name]}"
}

echo "bench: $RUNS runs each"
m "no-op rerun" "$GPUBASE" --root "$R" run "$PLAN" --reboot=exit
m "shell no-op" sh "$NOOP" "$R" "$KEY_FPR" "$CTK_KEY_FILE"
m "status" "$GPUBASE" --root "$R" status
m "status --json" "$GPUBASE" --root "$R" status --json
m "verify (healthy H100)" "$GPUBASE" --root "$W/h100" verify
m "verify (sandbox)" "$GPUBASE" --root "$R" verify
m "plan check" "$GPUBASE" --root "$R" plan check "$PLAN"
if [ "${RC[no-op rerun]}" != 0 ] || [ "${RC[shell no-op]}" != 0 ] || [ "${RC[status]}" != 0 ] || [ "${RC[plan check]}" != 0 ]; then
        echo "bench: a command failed"
        exit 1
fi
mkdir -p "$R/var/lib/gpubase-bench-ckpt"
read -r CK_MED CK_MIN CK_MAX CK_BYTES <<<"$("$BENCH_CHECKPOINT" "$R/var/lib/gpubase/state.json" "$R/var/lib/gpubase-bench-ckpt" 101)"
printf '  %-22s median %8.3f ms  (min %.3f, max %.3f)  %s bytes, 101 writes\n' "checkpoint write" \
        "$(awk -v u="$CK_MED" 'BEGIN { print u / 1000 }')" "$(awk -v u="$CK_MIN" 'BEGIN { print u / 1000 }')" \
        "$(awk -v u="$CK_MAX" 'BEGIN { print u / 1000 }')" "$CK_BYTES"
# per no-op step at 16 and 256 file steps (the state is written once per rerun: linear in steps)
mkdir -p "$W/steps"
while read -r _ n us per save bytes; do
        printf '  %-22s median %8.3f ms  %.3f ms per step  (state write %.3f ms, %s bytes)\n' "no-op rerun, $n steps" \
                "$(awk -v u="$us" 'BEGIN { print u / 1000 }')" "$(awk -v u="$per" 'BEGIN { print u / 1000 }')" \
                "$(awk -v u="$save" 'BEGIN { print u / 1000 }')" "$bytes"
done < <("$BENCH_CHECKPOINT" --steps 16,256 "$W/steps" "$RUNS")
ratio=$(awk -v a="${MED[no-op rerun]}" -v b="${MED[shell no-op]}" 'BEGIN { printf "%.2f", a / b }')
peak=0
for k in "${!RSS[@]}"; do [ "${RSS[$k]}" -le "$peak" ] || peak=${RSS[$k]}; done
echo "  no-op rerun / shell no-op: ${ratio}x (target: within 1.2x)"
echo "  peak RSS of any gpubase command: $(awk -v k="$peak" 'BEGIN { printf "%.1f", k / 1024 }') MB (target: under 32 MB)"

# ---- the machine
cpu=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)
fs=$(df -T "$W" | awk 'NR == 2 {print $2}')
machine="$cpu, $(nproc) CPUs, $(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo) RAM, Linux $(uname -r), $(. /etc/os-release && echo "$PRETTY_NAME"); sandbox on $fs"

fmt() { awk -v v="$1" 'BEGIN { printf "%.1f", v }'; }
mb() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
row() { echo "| $1 | $(fmt "${MED[$1]}") | $(fmt "${MIN[$1]}") – $(fmt "${MAX[$1]}") | $(mb "${RSS[$1]}") | $2 |"; }
report() {
        echo "## $(date -u +%Y-%m-%d) — $("$GPUBASE" --version 2>/dev/null | head -n 1)"
        echo
        echo "Machine: $machine. $RUNS runs per figure (median; range), \`make bench\`."
        echo
        echo "| what | median ms | range ms | peak RSS MB | target |"
        echo "|---|---:|---:|---:|---|"
        row "no-op rerun" "within 1.2x of the shell script: ${ratio}x"
        row "shell no-op" "(dpkg-query, md5sum, gpg, cmp, stat)"
        row "status" "< 50 ms"
        row "status --json" "< 50 ms"
        row "verify (healthy H100)" "< 50 ms"
        row "verify (sandbox)" "(no GPU: most checks fail)"
        row "plan check" ""
        echo "| checkpoint write (fsync) | $(awk -v u="$CK_MED" 'BEGIN { printf "%.2f", u / 1000 }') | $(awk -v u="$CK_MIN" 'BEGIN { printf "%.2f", u / 1000 }') – $(awk -v u="$CK_MAX" 'BEGIN { printf "%.2f", u / 1000 }') | | $CK_BYTES bytes |"
        echo
        echo "Peak RSS of any gpubase command: $(mb "$peak") MB (target: under 32 MB)."
}
echo
report | tee "${BENCH_OUT:-$W/results.md}"
if [ -n "${BENCH_OUT:-}" ]; then
        echo
        echo "bench: written to $BENCH_OUT; copy it into tests/bench/RESULTS.md when the figures change materially"
fi
