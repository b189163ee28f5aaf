#!/bin/sh
# noop-checks.sh ROOT KEY_FPR CTK_KEY_FILE: the bench plan's probes (tests/bench/bench.sh) as a shell
# script would do them, with dpkg-query, md5sum, gpg, grep and stat. Exit 0: everything in place.
# make bench times it against `gpubase run` on the same converged root; noop-checks.yml is the
# same for ansible-playbook.
set -e
R=$1 FPR=$2 CTK_KEY=$3
Q() { dpkg-query --admindir="$R/var/lib/dpkg" -W -f='${db:Status-Abbrev} ${Version}\n' "$@"; }
# conf, final: content and mode
[ "$(stat -c %a "$R/etc/gpubase-bench/app.conf")" = 644 ]
[ "$(cat "$R/etc/gpubase-bench/app.conf")" = alpha ]
[ "$(stat -c %a "$R/etc/gpubase-bench/final.conf")" = 600 ]
[ "$(cat "$R/etc/gpubase-bench/final.conf")" = final ]
# cuda-keyring: installed at 1.1-1, its files intact, its keyring holds the key
[ "$(Q cuda-keyring)" = "ii  1.1-1" ]
(cd "$R" && md5sum --quiet -c "$R/var/lib/dpkg/info/cuda-keyring.md5sums" >/dev/null)
gpg --batch --no-default-keyring --show-keys --with-colons "$R/usr/share/keyrings/cuda-archive-keyring.gpg" 2>/dev/null |
        grep -q "^fpr:::::::::$FPR:"
# ctk-repo: the source and its keyring as written
grep -qx "Signed-By: /usr/share/keyrings/ctk-repo-keyring.gpg" "$R/etc/apt/sources.list.d/ctk-repo.sources"
gpg --batch --no-default-keyring --show-keys --with-colons "$R/usr/share/keyrings/ctk-repo-keyring.gpg" 2>/dev/null |
        grep -q "^fpr:::::::::$(gpg --batch --show-keys --with-colons "$CTK_KEY" 2>/dev/null | awk -F: '/^fpr/ {print $10; exit}'):"
# driver: pinning package and driver installed and held, at 595.*
for p in nvidia-driver-pinning-595 nvidia-open; do
        case $(Q "$p") in "hi  595"*) ;; *) exit 1 ;; esac
done
# ctk: the four packages at 1.19.0-1, held
for p in nvidia-container-toolkit nvidia-container-toolkit-base libnvidia-container-tools libnvidia-container1; do
        [ "$(Q "$p")" = "hi  1.19.0-1" ]
done
# marker: the command's creates:
[ -e "$R/var/lib/bench-marker" ]
