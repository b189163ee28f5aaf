#!/bin/bash
# Packer step 1: install the uploaded gpubase package (with the packages it depends on) and plans
# (/tmp/gpubase-upload).
# shellcheck disable=SC2034 # PLAN and VARS: the same prelude in every script
set -u
# In the image build: the real machine. In tests/integration/examples.sh: a --root sandbox.
R=${SANDBOX_ROOT:-}
gb() { "$R/usr/bin/gpubase" ${R:+--root "$R"} "$@"; }
PLAN=$R/etc/gpubase/plans/${GPUBASE_PLAN_FILE:?}
VARS=()
for v in ${GPUBASE_PLAN_VARS:-}; do VARS+=(--var "$v"); done
UP=$R/tmp/gpubase-upload
if [ -z "$R" ]; then
        # apt-get resolves the package's Depends; lists that are stale or missing on a fresh image are
        # refreshed once, only when the install needs them
        apt_install() { DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@"; }
        apt_install "$UP/gpubase.deb" || { apt-get update -q && apt_install "$UP/gpubase.deb"; } || exit 1
else
        # a --root sandbox (tests): the package's files; gpubase runs on the host, with its libraries
        dpkg-deb -x "$UP/gpubase.deb" "$R" || exit 1
fi
rm -rf "$R/etc/gpubase/plans"
mkdir -p "$R/etc/gpubase"
cp -r "$UP/plans" "$R/etc/gpubase/plans" || exit 1
gb --version
gb plan check "$PLAN" "${VARS[@]}"
