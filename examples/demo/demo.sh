#!/usr/bin/env bash
# make demo: run examples/demo/demo.yaml in a throwaway root, through a simulated reboot, to done.
# Touches nothing outside that directory (kept with KEEP=1).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
G=${GPUBASE:-$here/../../build/gpubase}
root=$(mktemp -d /tmp/gpubase-demo.XXXXXX)
[ "${KEEP:-0}" = 1 ] || trap 'rm -rf "$root"' EXIT

# bold headings on a terminal only (and not under NO_COLOR): a log or a pipe gets plain text
if [ -t 1 ] && [ -z "${NO_COLOR:-}" ]; then bold=$'\033[1m' plain=$'\033[0m'; else bold='' plain=''; fi
say() { printf '\n%s== %s%s\n' "$bold" "$*" "$plain"; }
run() { printf '$ %s\n' "$*"; set +e; "$@" 2>&1; rc=$?; set -e; printf '(exit %d)\n' "$rc"; }

# A minimal machine: os-release and a boot id, as the kernel would provide them.
mkdir -p "$root/etc" "$root/proc/sys/kernel/random"
printf 'ID=debian\nVERSION_ID="12"\nPRETTY_NAME="Debian GNU/Linux 12 (demo root)"\n' > "$root/etc/os-release"
cat /proc/sys/kernel/random/uuid > "$root/proc/sys/kernel/random/boot_id"

say "root: $root"
run "$G" --root "$root" plan check "$here/../../plans/demo.yaml"

say "first run: stops at the reboot (exit 3), the unit is enabled and a reboot requested"
run "$G" --root "$root" run "$here/../../plans/demo.yaml"
echo "host actions so far:"; sed 's/^/  /' "$root/var/lib/gpubase/host-actions.log"

say "resume without a reboot: refused, state untouched"
run "$G" --root "$root" resume

say "simulated reboot: new boot id, the driver's module is now loaded"
cat /proc/sys/kernel/random/uuid > "$root/proc/sys/kernel/random/boot_id"
mkdir -p "$root/sys/module/nvidia"
sed -n 2p "$root/var/lib/demo/nvidia-open.version" > "$root/sys/module/nvidia/version"
run "$G" --root "$root" resume

say "status"
run "$G" --root "$root" status

say "rerun on the converged root: every step skipped, no reboot"
run "$G" --root "$root" run "$here/../../plans/demo.yaml"
echo "host actions:"; sed 's/^/  /' "$root/var/lib/gpubase/host-actions.log"

"$G" --root "$root" status --json | grep -q '"run_state": "done"'
say "demo finished: run done"
