# shellcheck shell=bash
# Sourced by tests/e2e/real/run.sh: the checks on the provisioned tree, the repair and the boot.
# Uses run.sh's ROOT, W, GB, KOLD, KNEW, HERE and its ok/bad/expect/timed helpers.

# A command chrooted into the tree with /proc mounted (dkms reads /proc and /dev/fd), in a private
# mount namespace: nothing stays mounted
in_tree_proc() {
        # shellcheck disable=SC2016 # the inner shell's
        private_ns sh -c 'mount -t proc proc "$1/proc" && mount --rbind /dev "$1/dev" &&
                r=$1 && shift && exec chroot "$r" "$@"' sh "$ROOT" "$@"
}

# The module file DKMS installed for kernel $1 (Debian renames it: nvidia-current-open.ko)
module_file() { find "$ROOT/lib/modules/$1/updates" -name 'nvidia-current-open.ko*' 2>/dev/null | head -1 || true; }

# check_tree PHASE: the tree as gpubase left it, judged from outside
check_tree() {
        local phase=$1 want k ko st p
        want=$(pkg_version nvidia-open-kernel-dkms)
        want=${want%-*}
        expect "[$phase] nvidia-open-kernel-dkms installed (upstream version)" "$want" "535.261.03"
        for k in "$KOLD" "$KNEW"; do
                ko=$(module_file "$k")
                if [ -z "$ko" ]; then bad "[$phase] kernel $k: no nvidia-current-open.ko under /lib/modules/$k/updates"; continue; fi
                expect "[$phase] kernel $k: modinfo -F version ${ko#"$ROOT"}" "$(modinfo -F version "$ko")" "$want"
                expect_match "[$phase] kernel $k: vermagic" "$(modinfo -F vermagic "$ko")" "^$k "
        done
        st=$(in_tree_proc dkms status 2>&1 | tee "$W/$phase.dkms-status") || true
        for k in "$KOLD" "$KNEW"; do
                expect_match "[$phase] dkms status in the tree: installed for $k" "$st" "nvidia-current-open/$want, $k, x86_64: installed"
        done
        for p in nvidia-open-kernel-dkms firmware-nvidia-gsp nvidia-smi libcuda1; do
                # shellcheck disable=SC2016 # dpkg-query's format
                expect "[$phase] $p held" "$(chroot "$ROOT" dpkg-query -W -f '${db:Status-Want}' "$p" 2>&1)" hold
        done
        local bl
        bl=$(grep -rlx 'blacklist nouveau' "$ROOT/etc/modprobe.d" | grep -v '/nvidia' | head -1 || true)
        if [ -n "$bl" ]; then
                ok "[$phase] nouveau blacklisted by the plan: ${bl#"$ROOT"}"
                for k in "$KOLD" "$KNEW"; do
                        # the whole listing first: grep -q would stop lsinitramfs early (SIGPIPE, pipefail)
                        if chroot "$ROOT" lsinitramfs "/boot/initrd.img-$k" | grep -x "${bl#"$ROOT"/}" >/dev/null; then
                                ok "[$phase] initramfs of $k has ${bl#"$ROOT"}"
                        else bad "[$phase] initramfs of $k lacks ${bl#"$ROOT"} (not updated)"; fi
                done
        else bad "[$phase] no file of the plan's in /etc/modprobe.d says 'blacklist nouveau'"; fi
        "$GB" verify --root "$ROOT" --json >"$W/$phase.verify.json" 2>"$W/$phase.verify.err" || true
        local v=$W/$phase.verify.json
        expect "[$phase] verify facts: driver.installed" "$(jq -r '.facts.driver.installed' "$v")" "$want"
        expect "[$phase] verify facts: driver.package" "$(jq -r '.facts.driver.package' "$v")" nvidia-open-kernel-dkms
        expect "[$phase] verify facts: kernels and their modules" \
                "$(jq -r '[.facts.kernels[] | "\(.release)=\(.module) next=\(.next)"] | join(" ")' "$v")" \
                "$KOLD=$want next=false $KNEW=$want next=true"
        expect "[$phase] verify: driver.next-kernel" "$(jq -r '.checks[] | select(.name == "driver.next-kernel") | .status' "$v")" ok
        expect "[$phase] verify: driver.held" "$(jq -r '.checks[] | select(.name == "driver.held") | .status' "$v")" ok
}

# The next kernel loses its headers and its module (as a kernel installed without its headers is:
# nothing built for it); the rerun's driver step notices and installs the headers, whose DKMS hook
# builds the module again
repair_part() {
        local want
        want=$(pkg_version nvidia-open-kernel-dkms)
        want=${want%-*}
        log "repair: removing linux-headers-$KNEW and the module built for it"
        in_tree_proc dkms remove "nvidia-current-open/$want" -k "$KNEW" >"$W/repair.prep" 2>&1 || bad "dkms remove -k $KNEW failed: $(tail -2 "$W/repair.prep")"
        DEBIAN_FRONTEND=noninteractive in_tree_proc dpkg -r "linux-headers-$KNEW" >>"$W/repair.prep" 2>&1 || bad "dpkg -r linux-headers-$KNEW failed"
        [ -z "$(module_file "$KNEW")" ] || bad "the module of $KNEW is still there after dkms remove"
        "$GB" verify --root "$ROOT" --json >"$W/broken.verify.json" 2>/dev/null || true
        expect "[broken] verify: driver.next-kernel" "$(jq -r '.checks[] | select(.name == "driver.next-kernel") | .status' "$W/broken.verify.json")" fail
        # a first-boot-pending tree answers a rerun with "first boot pending" and probes nothing:
        # the run is forgotten first (reset), so that the new run re-probes every step
        "$GB" --root "$ROOT" reset >"$W/repair.reset" 2>&1 || bad "gpubase --root TREE reset failed: $(tail -2 "$W/repair.reset")"
        log "repair: gpubase --root TREE reset, then --image run again"
        image_run repair
        timed "repair rerun (headers, DKMS for 1 kernel, initramfs)" "$(cat "$W/repair.secs")"
        expect "repair rerun exit (first boot pending)" "$(cat "$W/repair.rc")" 3
        expect_match "repair rerun: the driver step noticed the kernel without its module" "$(cat "$W/repair.out")" "$KNEW boots next and has no nvidia module"
        expect_match "repair rerun: the driver step installed linux-headers-$KNEW" "$(cat "$W/repair.out")" "linux-headers-$KNEW"
        # shellcheck disable=SC2016 # dpkg-query's format
        expect "linux-headers-$KNEW installed again" "$(chroot "$ROOT" dpkg-query -W -f '${db:Status-Abbrev}' "linux-headers-$KNEW" 2>&1 | tr -d ' ')" ii
        check_tree repair
}

# serial.log's part NAME (between the guest's marker lines)
# the same without systemd's status lines (escape sequences) and the part's "rc=N" line: its JSON
serial_json() { serial_part "$1" | grep -v $'\e' | sed '/^rc=[0-9]*$/d'; }
serial_part() { tr -d '\r' <"$W/serial.log" | awk -v n="==== e2e-real $1 ====" '$0 == n { on = 1; next } on && /^==== e2e-real end ====/ { exit } on'; }

# boot_start: the tree as it is now becomes a raw disk, and qemu boots it in the background (the
# repair goes on meanwhile in the tree; the disk is a copy). boot_judge waits for it and judges.
boot_start() {
        local t d=$ROOT/usr/local/lib/gpubase-e2e
        mkdir -p "$d"
        cp "$HERE/../guest/real-report.sh" "$d/guest-report.sh"
        cat >"$ROOT/etc/systemd/system/e2e-real-report.service" <<UNIT
[Unit]
Description=gpubase e2e-real report
After=gpubase.service
[Service]
Type=oneshot
ExecStart=/usr/local/lib/gpubase-e2e/guest-report.sh
TimeoutStartSec=15min
[Install]
WantedBy=multi-user.target
UNIT
        ln -sf /etc/systemd/system/e2e-real-report.service "$ROOT/etc/systemd/system/multi-user.target.wants/e2e-real-report.service"
        t=$(date +%s)
        rm -f "$W/disk.raw"
        mkfs.ext4 -q -F -L e2e-real -d "$ROOT" "$W/disk.raw" 8G || die "mkfs.ext4 -d of the tree failed"
        # the unit and the script are the guest's only: the tree itself goes on without them
        rm -rf "$d" "$ROOT/etc/systemd/system/e2e-real-report.service" "$ROOT/etc/systemd/system/multi-user.target.wants/e2e-real-report.service"
        timed "disk (mkfs.ext4 -d of the tree)" $(($(date +%s) - t))
        log "boot: qemu (TCG, no GPU), kernel $KNEW, the tree's own initramfs; in the background, up to $BOOT_TIMEOUT s"
        BOOT_T0=$(date +%s)
        timeout "$BOOT_TIMEOUT" qemu-system-x86_64 -accel tcg -cpu qemu64 -m 2048 -smp 1 -nographic -no-reboot \
                -kernel "$ROOT/boot/vmlinuz-$KNEW" -initrd "$ROOT/boot/initrd.img-$KNEW" \
                -append "root=/dev/vda rw console=ttyS0 cryptomgr.notests mitigations=off apparmor=0 systemd.show_status=0" \
                -drive "file=$W/disk.raw,if=virtio,format=raw" -device virtio-rng-pci \
                -serial "file:$W/serial.log" -monitor none -display none >"$W/qemu.log" 2>&1 &
        BOOT_PID=$!
}

boot_judge() {
        wait "$BOOT_PID" || true
        timed "boot (TCG, until the guest powered off)" $(($(date +%s) - BOOT_T0))
        grep -q '^==== e2e-real done ====' <(tr -d '\r' <"$W/serial.log") ||
                { tail -30 "$W/serial.log"; bad "the guest never finished its report (serial log: $W/serial.log)"; return; }
        local st
        st=$(serial_part status)
        expect "boot: gpubase wait" "$(serial_part wait-rc | sed -n 's/^wait=//p')" 1
        expect "boot: the run's state" "$(jq -r '.run_state' <<<"${st%rc=*}" 2>&1)" failed
        expect_match "boot: the run stopped at driver-reboot's post-reboot checks" \
                "$(jq -r '.steps[] | select(.id == "driver-reboot") | .state + " " + .error' <<<"${st%rc=*}" 2>&1)" \
                '^failed after the reboot: .*no NVIDIA GPU on the PCI bus'
        expect_match "boot: the run's error says there is no GPU" "$(jq -r '.error' <<<"${st%rc=*}" 2>&1)" 'no NVIDIA GPU on the PCI bus'
        expect_match "boot: the steps after it did not run" \
                "$(jq -r '[.steps[] | select(.id == "ctk-repo" or .id == "ctk" or .id == "smoke") | .state] | unique | join(",")' <<<"${st%rc=*}" 2>&1)" '^pending$'
        expect_match "boot: the genuine module refuses to load without a GPU (modprobe)" "$(serial_part modprobe)" 'No such device'
        expect_match "boot: no nvidia module loaded" "$(serial_part lsmod)" 'no nvidia module loaded'
        expect_match "boot: the kernel log names the cause" "$(serial_part dmesg)" 'NVRM: No NVIDIA (GPU|devices) found'
        expect "boot: verify's driver.loaded" "$(serial_json verify | jq -r '.checks[]? | select(.name == "driver.loaded") | .status + ": " + .detail' 2>&1)" \
                "fail: no NVIDIA GPU on the PCI bus"
}
