#!/bin/bash
# Packer step 4, after the reboot: continue the run and wait until it is done.
# shellcheck disable=SC2034 # PLAN and VARS: the same prelude in every script
set -u
# In the image build: the real machine. In tests/integration/examples.sh: a --root sandbox.
R=${SANDBOX_ROOT:-}
gb() { "$R/usr/bin/gpubase" ${R:+--root "$R"} "$@"; }
PLAN=$R/etc/gpubase/plans/${GPUBASE_PLAN_FILE:?}
VARS=()
for v in ${GPUBASE_PLAN_VARS:-}; do VARS+=(--var "$v"); done
gb resume && gb wait --timeout "${GPUBASE_WAIT_TIMEOUT:-1800}"
