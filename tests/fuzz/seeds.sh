#!/bin/bash
# seeds.sh OUTDIR: the seed corpora of the fuzz targets, from the test fixtures, in OUTDIR/<target>/.
#   fuzz_plan         tests/fixtures/plans/{good,bad}, tests/fixtures/integration, plans/
#   fuzz_state        state files written by gpubase ($GPUBASE) running the integration fixture plans
#                     under --root: done, failed, reboot-pending, replanned, with --var
#   fuzz_daemon_json  tests/fuzz/seeds/daemon_json (the variants verify.sh and the unit tests use)
#   fuzz_deb          small .debs built here with dpkg-deb: a keyring package in every compression
#                     dpkg-deb offers, one with a symlink, one writing outside the keyring directories,
#                     one without md5sums, and a few broken ones (truncated, not an ar archive)
#   fuzz_bundle       bundles written by `gpubase bundle create` from integration fixture plans (tar,
#                     gzip, zstd); one with keyrings, keys and a repository beside the plan; and that
#                     one spoilt the ways tests/integration/craft-bundle.py spoils bundles (absolute
#                     path, "..", escaping links, checksum mismatch, unlisted or missing file, manifest
#                     not first), all uncompressed so that mutations reach the tar headers
#   fuzz_pgp          keys made here with gpg (Ed25519 with a Curve25519 subkey, RSA with its
#                     subkey; binary and armored, alone and together, as one armor block and as two),
#                     the RFC 9580 samples of tests/unit/test-pgp.c (v4, v6), Debian's archive key if
#                     this machine has it; and what must be refused: a secret key, a detached
#                     signature (armored and binary), a clear-signed InRelease
#   fuzz_dpkg_status  var/lib/dpkg/status and the apt lists of the fixture hosts
#                     (tests/fixtures/hosts/mkhost.sh; needs $FAKE_NVML), and tests/fuzz/seeds/dpkg_status
#                     (held packages that lock exact versions, half-installed and config-files
#                     states, continuation lines)
set -euo pipefail
export LC_ALL=C TZ=UTC
: "${GPUBASE:?set GPUBASE to the gpubase binary (the state seeds are written by it)}"
[ $# -eq 1 ] || { echo "usage: seeds.sh OUTDIR" >&2; exit 64; }
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TESTS=$(dirname "$HERE")
TOP=$(dirname "$TESTS")
OUT=$1
rm -rf "$OUT"
mkdir -p "$OUT"/{fuzz_plan,fuzz_state,fuzz_daemon_json,fuzz_deb,fuzz_bundle,fuzz_pgp,fuzz_dpkg_status}
W=$(mktemp -d "${TMPDIR:-/tmp}/gpubase-seeds.XXXXXX")
cleanup() {
        [ ! -d "$W/gnupg" ] || gpgconf --homedir "$W/gnupg" --kill gpg-agent 2>/dev/null || true
        rm -rf "$W"
}
trap cleanup EXIT

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

# ---- bundles
n=$((n + 1))
r=$(root_for)
for plan in basic vars commands; do
        for ext in tar tar.gz tar.zst; do
                [ "$ext" != tar.zst ] || command -v zstd >/dev/null || continue
                timeout 20 "$GPUBASE" --root "$r" bundle create "$TESTS/fixtures/integration/$plan.yaml" \
                        -o "$OUT/fuzz_bundle/$plan.$ext" >/dev/null 2>&1 || true
        done
done
[ -s "$OUT/fuzz_bundle/basic.tar" ] || { echo "seeds.sh: $GPUBASE bundle create wrote no bundle" >&2; exit 1; }
# the basic bundle with what a real one carries beside the plan (directories included)
python3 - "$OUT/fuzz_bundle/basic.tar" "$OUT/fuzz_deb/keyring-xz.deb" "$W/rich.tar.gz" <<'EOF'
import hashlib, io, json, sys, tarfile
basic, deb, out = sys.argv[1:4]
with tarfile.open(basic) as src:
    manifest = json.loads(src.extractfile("manifest.json").read())
    plan = src.extractfile("plan.yaml").read()
extra = [("keyrings/cuda-keyring_1.1-1_all.deb", open(deb, "rb").read(), "keyring-deb"),
         ("keys/ctk-repo.key", b"-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nxx\n-----END PGP PUBLIC KEY BLOCK-----\n", "key"),
         ("repo/local/Packages", b"Package: nvidia-open\nVersion: 595.45.01-1\nFilename: ./nvidia-open_595.45.01-1_amd64.deb\n", "index"),
         ("repo/local/Release", b"Origin: NVIDIA\nLabel: NVIDIA\nSuite: ./\n", "index"),
         ("repo/local/nvidia-open_595.45.01-1_amd64.deb", open(deb, "rb").read()[:600], "deb")]
for path, data, kind in extra:
    manifest["files"].append({"path": path, "sha256": hashlib.sha256(data).hexdigest(), "size": len(data), "kind": kind})
def add(t, name, data=None):
    ti = tarfile.TarInfo(name)
    ti.mtime = 1767225600
    if data is None:
        ti.type, ti.mode = tarfile.DIRTYPE, 0o755
        t.addfile(ti)
    else:
        ti.size, ti.mode = len(data), 0o644
        t.addfile(ti, io.BytesIO(data))
with tarfile.open(out, "w:gz", format=tarfile.PAX_FORMAT) as t:
    add(t, "manifest.json", json.dumps(manifest, indent=2).encode() + b"\n")
    add(t, "plan.yaml", plan)
    for d in ("keyrings", "keys", "repo", "repo/local"):
        add(t, d + "/")
    for path, data, _ in extra:
        add(t, path, data)
EOF
gzip -dc "$W/rich.tar.gz" >"$OUT/fuzz_bundle/rich.tar"
for mode in absolute dotdot symlink-abs symlink-up hardlink-up checksum unlisted manifest-not-first missing; do
        python3 "$TESTS/integration/craft-bundle.py" "$mode" "$W/rich.tar.gz" "$W/$mode.tar.gz" /tmp/gpubase-fuzz-escaped
        gzip -dc "$W/$mode.tar.gz" >"$OUT/fuzz_bundle/bad-$mode.tar"
done
head -c 700 "$OUT/fuzz_bundle/rich.tar" >"$OUT/fuzz_bundle/bad-truncated.tar"

# ---- OpenPGP keyrings (and signatures handed over as keys)
rfc_sample() { # NAME (v4 or v6): the armored text of that constant in tests/unit/test-pgp.c
        awk -v n="$1" '$0 ~ "static const char " n "\\[\\] =" {on = 1} on {print} on && /;$/ {exit}' \
                "$TESTS/unit/test-pgp.c" | sed -E 's/^[^"]*"//; s/\\n"[;]?$//'
}
rfc_sample v4 >"$OUT/fuzz_pgp/rfc9580-v4.asc"
rfc_sample v6 >"$OUT/fuzz_pgp/rfc9580-v6.asc"
grep -q 'END PGP PUBLIC KEY BLOCK' "$OUT/fuzz_pgp/rfc9580-v6.asc" || { echo "seeds.sh: no v6 sample in test-pgp.c" >&2; exit 1; }
[ ! -f /usr/share/keyrings/debian-archive-bookworm-stable.gpg ] ||
        cp /usr/share/keyrings/debian-archive-bookworm-stable.gpg "$OUT/fuzz_pgp/debian-bookworm-stable.gpg"
if command -v gpg >/dev/null; then
        GH=$W/gnupg
        mkdir -m 700 "$GH"
        g() { gpg --homedir "$GH" --batch --quiet --no-tty --pinentry-mode loopback --passphrase '' "$@"; }
        g --quick-gen-key "fuzz seed ed25519 <ed@fuzz.gpubase.invalid>" ed25519 sign never
        ed=$(g --list-keys --with-colons | awk -F: '/^fpr/ {print $10; exit}')
        g --quick-add-key "$ed" cv25519 encr never
        g --quick-gen-key "fuzz seed rsa <rsa@fuzz.gpubase.invalid>" rsa2048 default never
        g --export "$ed" >"$OUT/fuzz_pgp/ed25519.gpg"
        g --armor --export "$ed" >"$OUT/fuzz_pgp/ed25519.asc"
        g --armor --export "rsa@fuzz.gpubase.invalid" >"$OUT/fuzz_pgp/rsa.asc"
        g --export >"$OUT/fuzz_pgp/two-keys.gpg"
        g --armor --export >"$OUT/fuzz_pgp/two-keys.asc"
        cat "$OUT/fuzz_pgp/ed25519.asc" "$OUT/fuzz_pgp/rsa.asc" >"$OUT/fuzz_pgp/two-blocks.asc"
        g --armor --export-secret-keys "$ed" >"$OUT/fuzz_pgp/secret.asc"
        printf 'Origin: NVIDIA\nLabel: NVIDIA CUDA\nSuite: stable\nSHA256:\n 0123 10 Packages\n' >"$W/Release"
        g --local-user "$ed" --armor --detach-sign -o "$OUT/fuzz_pgp/Release.gpg.asc" "$W/Release"
        g --local-user "$ed" --detach-sign -o "$OUT/fuzz_pgp/Release.gpg" "$W/Release"
        g --local-user "$ed" --clearsign -o "$OUT/fuzz_pgp/InRelease" "$W/Release"
else
        echo "seeds.sh: no gpg: fuzz_pgp starts from the RFC samples alone" >&2
fi

# ---- dpkg status files: the fixture hosts' (the distinct ones), and the hand-written variants
if [ -n "${FAKE_NVML:-}" ]; then
        for s in healthy-h100 b200 containerd-no-import cuda13-on-570 distro-origin proprietary-h100 stale-module volta-595; do
                "$TESTS/fixtures/hosts/mkhost.sh" "$W/host-$s" "$s" >/dev/null
                cp "$W/host-$s/var/lib/dpkg/status" "$OUT/fuzz_dpkg_status/$s.status"
                for l in "$W/host-$s"/var/lib/apt/lists/*_Packages; do
                        [ ! -f "$l" ] || cp "$l" "$OUT/fuzz_dpkg_status/$s-$(basename "$l" | cut -c1-40).Packages"
                done
        done
else
        echo "seeds.sh: FAKE_NVML not set: no fixture hosts among the dpkg status seeds" >&2
fi
cp "$HERE"/seeds/dpkg_status/* "$OUT/fuzz_dpkg_status/"

for d in "$OUT"/*; do echo "seeds: $(basename "$d"): $(find "$d" -mindepth 1 -maxdepth 1 | wc -l) files"; done
