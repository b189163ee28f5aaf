#!/bin/bash
# Packer step 5: every GPU-stack check against the plan (0 ok, 2 warnings, 1 failures), then a
# shellcheck disable=SC2034 # PLAN and VARS: the same prelude in every script
# support report that Packer downloads next to the template.
set -u
# In the image build: the real machine. In tests/integration/examples.sh: a --root sandbox.
R=${SANDBOX_ROOT:-}
gb() { "$R/usr/bin/gpubase" ${R:+--root "$R"} "$@"; }
PLAN=$R/etc/gpubase/plans/${GPUBASE_PLAN_FILE:?}
VARS=()
for v in ${GPUBASE_PLAN_VARS:-}; do VARS+=(--var "$v"); done
gb verify --plan "$PLAN" "${VARS[@]}"
rc=$?
mkdir -p "$R/var/tmp"
gb report -o "$R/var/tmp/gpubase-report.tar.gz" || exit 1
exit $rc
