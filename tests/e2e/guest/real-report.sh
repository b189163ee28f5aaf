#!/bin/bash
# Inside the booted tree of `make e2e-real` (e2e-real-report.service, after gpubase.service; copied
# there as /usr/local/lib/gpubase-e2e/guest-report.sh by tests/e2e/real/checks.sh): waits
# for gpubase's run, then writes what the host judges to the serial console between marker lines
# (==== e2e-real NAME ==== ... ==== e2e-real end ====) and powers the machine off. It acts on
# nothing but `modprobe nvidia`, which shows how the genuine module fails without a GPU.
exec >/dev/ttyS0 2>&1
part() { echo "==== e2e-real $1 ===="; shift; "$@" 2>&1; echo "rc=$?"; echo "==== e2e-real end ===="; }
timeout 600 gpubase wait >/dev/null 2>&1
part wait-rc sh -c 'gpubase wait; echo "wait=$?"'
part status gpubase status --json
part unit systemctl show -p ActiveState,Result,ExecMainStatus gpubase.service
# shellcheck disable=SC2016 # the inner shell's
part lspci sh -c 'for d in /sys/bus/pci/devices/*; do echo "${d##*/} $(cat "$d/vendor") $(cat "$d/class")"; done'
part modprobe modprobe -v nvidia
part lsmod sh -c 'grep -E "^nvidia" /proc/modules || echo "no nvidia module loaded"'
part dmesg sh -c 'dmesg | grep -iE "nvrm|nvidia" | tail -20'
part verify sh -c 'gpubase verify --json | jq -c .'
part journal journalctl -b -u gpubase --no-pager -o cat
echo "==== e2e-real done ===="
systemctl poweroff --no-block
