#!/bin/sh
# verify-checks.sh ROOT: the read-only checks `gpubase verify` makes on a healthy fixture host
# (tests/fixtures/hosts: healthy-h100), as a shell script would make them: the GPU on the PCI bus
# and its name, nouveau, Secure Boot, the loaded module and its flavour, the packages (version,
# origin, holds), the module on disk, the toolkit's packages and nvidia-ctk, docker's runtime and
# its restart, nvcc. Not NVML (no shell tool reads it without nvidia-smi). Exit 0: all as expected.
set -e
R=$1
Q() { dpkg-query --admindir="$R/var/lib/dpkg" -W -f='${db:Status-Abbrev} ${Version}\n' "$@"; }
# gpu.present: an NVIDIA display controller, named from pci.ids
n=0
for d in "$R"/sys/bus/pci/devices/*; do
        [ "$(cat "$d/vendor")" = 0x10de ] || continue
        case $(cat "$d/class") in 0x03*) ;; *) continue ;; esac
        dev=$(sed 's/^0x//' "$d/device")
        awk -v id="$dev" '/^10de / {v = 1; next} /^[0-9a-f]/ {v = 0} v && $1 == id {found = 1; exit} END {exit !found}' \
                "$R/usr/share/misc/pci.ids"
        n=$((n + 1))
done
[ "$n" -ge 1 ]
# nouveau, secureboot (no EFI: legacy)
[ ! -d "$R/sys/module/nouveau" ]
[ ! -d "$R/sys/firmware/efi" ]
# driver.loaded, flavor, version, stale: the loaded module, the package, the module on disk agree
loaded=$(cat "$R/sys/module/nvidia/version")
grep -q "Open Kernel Module.* $loaded " "$R/proc/driver/nvidia/version"
pkg=$(Q nvidia-open)
case $pkg in "hi  $loaded-"*) ;; *) exit 1 ;; esac
[ "$(modinfo -F version "$R/lib/modules/$(cat "$R/proc/sys/kernel/osrelease")/updates/dkms/nvidia.ko")" = "$loaded" ]
# driver.origin: a list of the CUDA repository offers that version
grep -l -A8 "^Package: nvidia-open$" "$R"/var/lib/apt/lists/*_Packages | xargs grep -q "^Version: ${pkg#hi  }$"
# driver.held: the pinning package too
case $(Q nvidia-driver-pinning-595) in "hi  "*) ;; *) exit 1 ;; esac
# ctk.installed, ctk.held: the four packages at one version, held; nvidia-ctk says the same
for p in nvidia-container-toolkit nvidia-container-toolkit-base libnvidia-container-tools libnvidia-container1; do
        [ "$(Q "$p")" = "hi  1.19.0-1" ]
done
chroot "$R" /usr/bin/nvidia-ctk --version | grep -q "version 1.19.0"
# runtime.configured, runtime.restarted
[ "$(jq -r '.runtimes.nvidia.path' "$R/etc/docker/daemon.json")" = nvidia-container-runtime ]
find "$R/run/docker.pid" -newer "$R/etc/docker/daemon.json" | grep -q .
# toolkit.nvcc: optional
[ -x "$R/usr/local/cuda/bin/nvcc" ] || true
