#!/bin/bash
# Packer step 1: install the uploaded gpubase and plans (/tmp/gpubase-upload).
# shellcheck disable=SC2034 # PLAN and VARS: the same prelude in every script
set -u
# In the image build: the real machine. In tests/integration/examples.sh: a --root sandbox.
R=${SANDBOX_ROOT:-}
gb() { "$R/usr/local/bin/gpubase" ${R:+--root "$R"} "$@"; }
PLAN=$R/etc/gpubase/plans/${GPUBASE_PLAN_FILE:?}
VARS=()
for v in ${GPUBASE_PLAN_VARS:-}; do VARS+=(--var "$v"); done
UP=$R/tmp/gpubase-upload
install -D -m 0755 "$UP/gpubase" "$R/usr/local/bin/gpubase" || exit 1
# its link to libapt-pkg: gpubase loads it from <bin>/../lib/gpubase when a step uses apt
install -D -m 0644 "$UP/libgpubase-apt.so" "$R/usr/local/lib/gpubase/libgpubase-apt.so" || exit 1
rm -rf "$R/etc/gpubase/plans"
mkdir -p "$R/etc/gpubase"
cp -r "$UP/plans" "$R/etc/gpubase/plans" || exit 1
gb --version
gb plan check "$PLAN" "${VARS[@]}"
