#!/bin/bash
# Packer step 3: reboot if, and only if, gpubase is waiting for one (status exits 3).
# shellcheck disable=SC2034 # PLAN and VARS: the same prelude in every script
set -u
# In the image build: the real machine. In tests/integration/examples.sh: a --root sandbox.
R=${SANDBOX_ROOT:-}
gb() { "$R/usr/bin/gpubase" ${R:+--root "$R"} "$@"; }
PLAN=$R/etc/gpubase/plans/${GPUBASE_PLAN_FILE:?}
VARS=()
for v in ${GPUBASE_PLAN_VARS:-}; do VARS+=(--var "$v"); done
gb status >/dev/null
rc=$?
if [ "$rc" = 3 ]; then
        echo "gpubase asked for a reboot: rebooting"
        ${REBOOT_COMMAND:-systemctl reboot}
        exit 0
fi
echo "no reboot pending (gpubase status exit $rc)"
[ "$rc" = 0 ]
