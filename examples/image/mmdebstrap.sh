#!/bin/sh
# A Debian 12 GPU image as a root tarball, built without booting it: mmdebstrap makes the tree,
# its customize hook runs gpubase in image mode on it (package scripts, DKMS and the initramfs
# inside the tree), and the image finishes the plan at its first boot through gpubase.service.
#   sudo PLAN=/usr/share/gpubase/plans/debian-12.yaml GPUBASE_DEB=./gpubase_0.1.0-1_amd64.deb \
#        examples/image/mmdebstrap.sh gpu-image.tar
# PLAN_VARS: extra `--var NAME=VALUE` words for gpubase. The hook's exit code 3 ("first boot
# pending") is what a finished image build gives; any other failure fails mmdebstrap.
set -eu
out=${1:?usage: mmdebstrap.sh OUT.tar}
: "${PLAN:=/usr/share/gpubase/plans/debian-12.yaml}" "${GPUBASE_DEB:?the gpubase .deb to put into the image}"
: "${PLAN_VARS:=}"
export PLAN PLAN_VARS
# the one line that matters is the customize hook: mmdebstrap runs it as `sh -c HOOK exec ROOTDIR`
# shellcheck disable=SC2016 # expanded by the hook's shell: $1 is the root, PLAN and PLAN_VARS exported
mmdebstrap --mode=root --variant=apt \
        --include=systemd-sysv,linux-image-amd64,linux-headers-amd64,initramfs-tools,dkms,ca-certificates,docker.io,"$GPUBASE_DEB" \
        --customize-hook='gpubase --root "$1" --image run $PLAN_VARS "$PLAN" || [ $? -eq 3 ]' \
        bookworm "$out"
