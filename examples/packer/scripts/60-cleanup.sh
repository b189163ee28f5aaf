#!/bin/bash
# Packer step 6: make an image of the machine. gpubase forgets the run (an instance started from the
# shellcheck disable=SC2034 # PLAN and VARS: the same prelude in every script
# image can run the plan again: every step is found in place and skipped), and the machine's
# identity, package caches and logs go.
set -u
# In the image build: the real machine. In tests/integration/examples.sh: a --root sandbox.
R=${SANDBOX_ROOT:-}
gb() { "$R/usr/bin/gpubase" ${R:+--root "$R"} "$@"; }
PLAN=$R/etc/gpubase/plans/${GPUBASE_PLAN_FILE:?}
VARS=()
for v in ${GPUBASE_PLAN_VARS:-}; do VARS+=(--var "$v"); done
gb reset || exit 1
rm -rf "$R/tmp/gpubase-upload" "$R/var/lib/gpubase/bundle" "$R/var/tmp/gpubase-report.tar.gz"
if [ -z "$R" ]; then
        apt-get clean
        command -v cloud-init >/dev/null && cloud-init clean --logs
        journalctl --rotate >/dev/null 2>&1 && journalctl --vacuum-time=1s >/dev/null 2>&1
fi
rm -f "$R/var/lib/dbus/machine-id"
if [ -e "$R/etc/machine-id" ]; then : >"$R/etc/machine-id"; fi
rm -f "$R/root/.bash_history"
exit 0
