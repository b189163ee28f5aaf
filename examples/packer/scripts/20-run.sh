#!/bin/bash
# Packer step 2: run the plan. 0: done; 3: a reboot is needed (Packer reboots, then 40-resume.sh);
# shellcheck disable=SC2034 # PLAN and VARS: the same prelude in every script
# anything else: the run failed, and gpubase status says which step and why.
set -u
# In the image build: the real machine. In tests/integration/examples.sh: a --root sandbox.
R=${SANDBOX_ROOT:-}
gb() { "$R/usr/bin/gpubase" ${R:+--root "$R"} "$@"; }
PLAN=$R/etc/gpubase/plans/${GPUBASE_PLAN_FILE:?}
VARS=()
for v in ${GPUBASE_PLAN_VARS:-}; do VARS+=(--var "$v"); done
gb run --reboot=exit "$PLAN" "${VARS[@]}"
rc=$?
case $rc in
0 | 3) exit $rc ;;
*)
        gb status
        exit $rc
        ;;
esac
