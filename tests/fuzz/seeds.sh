#!/bin/bash
# seeds.sh OUTDIR: the seed corpora of the fuzz targets, from the test fixtures, in OUTDIR/<target>/.
#   fuzz_plan         tests/fixtures/plans/{good,bad}, tests/fixtures/integration, plans/
#   fuzz_state        state files written by gpubase ($GPUBASE) running the integration fixture plans
#                     under --root: done, failed, reboot-pending, replanned, with --var
#   fuzz_daemon_json  tests/fuzz/seeds/daemon_json (the variants verify.sh and the unit tests use)
#   fuzz_deb          small .debs built here with dpkg-deb: a keyring package in every compression
#                     dpkg-deb offers, one with a symlink, one writing outside the keyring directories,
#                     one without md5sums, and a few broken ones (truncated, not an ar archive)
set -euo pipefail
export LC_ALL=C TZ=UTC
: "${GPUBASE:?set GPUBASE to the gpubase binary (the state seeds are written by it)}"
[ $# -eq 1 ] || { echo "usage: seeds.sh OUTDIR" >&2; exit 64; }
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TESTS=$(dirname "$HERE")
TOP=$(dirname "$TESTS")
OUT=$1
rm -rf "$OUT"
mkdir -p "$OUT"/{fuzz_plan,fuzz_state,fuzz_daemon_json,fuzz_deb}
W=$(mktemp -d "${TMPDIR:-/tmp}/gpubase-seeds.XXXXXX")
trap 'rm -rf "$W"' EXIT

# ---- plans
for f in "$TESTS"/fixtures/plans/good/*.yaml "$TESTS"/fixtures/plans/bad/*.yaml "$TESTS"/fixtures/integration/*.yaml \
	"$TOP"/plans/*.yaml; do
	cp "$f" "$OUT/fuzz_plan/$(basename "$(dirname "$f")")-$(basename "$f")"
done

# ---- states: what gpubase itself writes
n=0
root_for() {
	local r=$W/root$n
	mkdir -p "$r/proc/sys/kernel/random" "$r/etc"
	echo "00000000-0000-4000-8000-00000000000$((n % 10))" >"$r/proc/sys/kernel/random/boot_id"
	printf 'ID=debian\nVERSION_ID="12"\n' >"$r/etc/os-release"
	echo "$r"
}
keep_state() { # ROOT NAME
	if [ -s "$1/var/lib/gpubase/state.json" ]; then
		cp "$1/var/lib/gpubase/state.json" "$OUT/fuzz_state/$2.json"
	fi
}
for plan in basic fail-check fail-gate reboot-check vars commands cmd-fail refused; do
	f=$TESTS/fixtures/integration/$plan.yaml
	[ -f "$f" ] || continue
	n=$((n + 1))
	r=$(root_for)
	timeout 20 "$GPUBASE" --root "$r" run "$f" --reboot=exit >/dev/null 2>&1 || true
	keep_state "$r" "$plan-first"
	# the reboot happened: resume to the end (or the next stop)
	echo "00000000-0000-4000-8000-0000000000ff" >"$r/proc/sys/kernel/random/boot_id"
	timeout 20 "$GPUBASE" --root "$r" resume --reboot=exit >/dev/null 2>&1 || true
	keep_state "$r" "$plan-resumed"
done
# a run with --var, and one moved onto a changed plan with --replan
n=$((n + 1))
r=$(root_for)
cp "$TESTS/fixtures/integration/basic.yaml" "$W/p.yaml"
timeout 20 "$GPUBASE" --root "$r" run "$W/p.yaml" --reboot=exit --var greeting=bonjour >/dev/null 2>&1 || true
keep_state "$r" with-var
sed -i 's/done/changed/' "$W/p.yaml"
timeout 20 "$GPUBASE" --root "$r" resume --reboot=exit --replan >/dev/null 2>&1 || true
keep_state "$r" replanned
[ -n "$(ls "$OUT/fuzz_state")" ] || { echo "seeds.sh: $GPUBASE wrote no state file" >&2; exit 1; }

# ---- daemon.json
cp "$HERE"/seeds/daemon_json/* "$OUT/fuzz_daemon_json/"

# ---- .debs
deb() { # NAME COMPRESSION SETUP-FUNCTION
	local s=$W/deb-$1
	rm -rf "$s"
	mkdir -p "$s/DEBIAN" "$s/usr/share/keyrings" "$s/etc/apt/sources.list.d"
	printf 'not really a key\n' >"$s/usr/share/keyrings/cuda-archive-keyring.gpg"
	printf 'deb [signed-by=/usr/share/keyrings/cuda-archive-keyring.gpg] file:///repo/ /\n' \
		>"$s/etc/apt/sources.list.d/cuda.list"
	echo /etc/apt/sources.list.d/cuda.list >"$s/DEBIAN/conffiles"
	printf 'Package: cuda-keyring\nVersion: 1.1-1\nArchitecture: all\nMaintainer: gpubase fuzz seed <f@gpubase.invalid>\nDescription: seed\n' \
		>"$s/DEBIAN/control"
	"$3" "$s"
	(cd "$s" && find . -path ./DEBIAN -prune -o -type f -printf '%P\n' | sort | xargs -r md5sum) >"$s/DEBIAN/md5sums"
	[ "$1" != no-md5sums ] || rm -f "$s/DEBIAN/md5sums"
	find "$s" -exec touch -h -d @1767225600 {} +
	dpkg-deb --root-owner-group -Z"$2" --build "$s" "$OUT/fuzz_deb/$1.deb" >/dev/null
}
plain() { :; }
with_symlink() { ln -s cuda-archive-keyring.gpg "$1/usr/share/keyrings/link.gpg"; }
outside() { mkdir -p "$1/etc/cron.d" && echo '* * * * * root true' >"$1/etc/cron.d/evil"; }
scripts() { printf '#!/bin/sh\nexit 0\n' >"$1/DEBIAN/postinst" && chmod 755 "$1/DEBIAN/postinst"; }
deb keyring-xz xz plain
deb keyring-gzip gzip plain
deb keyring-none none plain
if [[ $(dpkg-deb --help 2>&1) == *zstd* ]]; then deb keyring-zstd zstd plain; fi
deb symlink xz with_symlink
deb outside gzip outside
deb postinst none scripts
deb no-md5sums gzip plain
head -c 300 "$OUT/fuzz_deb/keyring-none.deb" >"$OUT/fuzz_deb/truncated.deb"
printf '!<arch>\n' >"$OUT/fuzz_deb/empty-ar.deb"
printf 'this is not a package\n' >"$OUT/fuzz_deb/text.deb"

for d in "$OUT"/*; do echo "seeds: $(basename "$d"): $(ls "$d" | wc -l) files"; done
