#!/bin/bash
# inside.sh: run by fresh-machine.sh inside a fresh minbase root, chrooted, with a clean environment.
# The README's commands in order — `make demo`, then `make check` — and between them the promise the
# README makes about the demo: it installs only the build set (BUILD_DEPS: no test or proof tool)
# and nothing that starts at boot (no unit or init script enabled, none added).
set -euo pipefail
cd /root/gpubase
say() { printf 'fresh-machine: %s\n' "$*"; }
die() { printf 'fresh-machine: %s\n' "$*" >&2; exit 1; }
boot_links() { find /etc/systemd/system /etc/rc0.d /etc/rc1.d /etc/rc2.d /etc/rc3.d /etc/rc4.d /etc/rc5.d /etc/rc6.d /etc/rcS.d /etc/init.d 2>/dev/null | sort; }
packages() { dpkg-query -W -f='${Package}\n' | sort; }
size_mb() { dpkg-query -W -f='${Installed-Size}\n' | awk '{ s += $1 } END { printf "%d", s / 1024 }'; }

boot_links >/tmp/boot.before
packages >/tmp/pkgs.before
mb0=$(size_mb)

t=$(date +%s)
say "make demo"
make demo
say "make demo passed in $(($(date +%s) - t)) s"

packages >/tmp/pkgs.after
comm -13 /tmp/pkgs.before /tmp/pkgs.after >/tmp/pkgs.demo
say "make demo installed $(wc -l </tmp/pkgs.demo) packages, $(($(size_mb) - mb0)) MB"
# no package of the check set that is not also in the build set
build=$(make -s --no-print-directory print-deps | sed -n 's/^build: //p')
check=$(make -s --no-print-directory print-deps | sed -n 's/^check: //p')
{ [ -n "$build" ] && [ -n "$check" ]; } || die "make print-deps printed no package sets"
bad=""
for p in $check; do
        case " $build " in *" $p "*) continue ;; esac
        grep -qx "$p" /tmp/pkgs.demo && bad="$bad $p"
done
[ -z "$bad" ] || die "make demo installed test tools:$bad"
# the tools the issue names, by name, whatever the lists say
for p in cloud-init qemu-system-x86 packer ansible-core clang valgrind; do
        ! grep -qx "$p" /tmp/pkgs.after || die "make demo installed $p"
done
boot_links >/tmp/boot.after
if ! cmp -s /tmp/boot.before /tmp/boot.after; then
        diff /tmp/boot.before /tmp/boot.after >&2 || true
        die "make demo changed what starts at boot (above)"
fi
git status --porcelain --ignored | grep -v '^!! build/$' >/tmp/dirt || true
[ ! -s /tmp/dirt ] || { cat /tmp/dirt >&2; die "make demo left files in the checkout outside build/"; }
say "make demo: no test tool, nothing enabled at boot"

t=$(date +%s)
say "make check"
make check
say "make check passed in $(($(date +%s) - t)) s"
