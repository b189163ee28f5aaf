#!/bin/bash
# make-e2e-repo.sh OUTDIR KVER KDIR — the signed apt repository the e2e guest installs from.
#
# Starts from tests/fixtures/repo/build-repo.sh (keys, the pinning packages, the Container Toolkit
# repository as built there) and makes, under OUTDIR/srv (which the test puts at /srv/repo in the
# guest, reached through file:///srv/repo URIs):
#   cuda/         cuda-keyring 1.1-1 (its sources list points at file:///srv/repo/cuda/),
#                 nvidia-driver-pinning-595, and nvidia-open / nvidia-kernel-open-dkms /
#                 libnvidia-compute 595.45.01-1 whose kernel package ships a real module:
#                 tests/fixtures/module built for the guest kernel KVER (prebuilt, as Ubuntu's
#                 linux-modules-nvidia-* are: DKMS under TCG would cost ~70 s per install) at
#                 /lib/modules/KVER/updates/dkms/nvidia.ko, /etc/modules-load.d/nvidia.conf, depmod
#                 in postinst; and whose library package ships the fake NVML
#                 (tests/fixtures/nvml/fake-nvml.c) with fake-nvml.conf saying the same version;
#                 nvidia-fabricmanager 595.45.01-1 as build-repo.sh built it
#   cuda-enodev/  the same, signed by the same key, but the kernel package also ships
#                 /etc/modprobe.d/nvidia-e2e.conf `options nvidia fail=1`: the module's init returns
#                 -ENODEV ("no usable GPU"). The failure scenario puts it at /srv/repo/cuda
#   cuda-hgx/     the same as cuda/, signed by the same key, as an NVSwitch board's driver
#                 repository: nvidia-open also depends on nvidia-persistenced (= its version), a
#                 stand-in daemon and its unit. The packer scenario (an NVSwitch guest) puts it at
#                 /srv/repo/cuda
#   ctk/          the fixture's Container Toolkit repository, as build-repo.sh signed it
#   keys/         ctk-key.asc (the apt-source step's key_url)
#   cuda-later/   "the repository later": cuda/ plus 595.58.03-1 of the three driver packages,
#                 signed by the same key. The drift scenario puts it in cuda/'s place and upgrades
#                 the driver with apt-get behind the plan's back
#   next/         those three 595.58.03-1 packages alone
# and OUTDIR/e2e.env: KVER, KEY_FPR, CTK_KEY_FPR, CUDA_KEYRING_SHA256.
#
# Needs what build-repo.sh needs, plus the guest kernel's headers in KDIR and kmod (modinfo).
set -euo pipefail
umask 022
export LC_ALL=C TZ=UTC

die() { echo "make-e2e-repo.sh: $*" >&2; exit 1; }
[ $# -eq 3 ] || die "usage: make-e2e-repo.sh OUTDIR KVER KDIR"
OUT=$(realpath -m -- "$1")
KVER=$2
KDIR=$3
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
TOP=$(cd "$HERE/../.." && pwd -P)
GUEST_REPO=/srv/repo
VERSIONS=(595.45.01 595.58.03)
SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-1767225600}
export SOURCE_DATE_EPOCH
MAINT="gpubase test fixture <fixture@gpubase.invalid>"
LIBDIR=/usr/lib/x86_64-linux-gnu

[ -d "$KDIR" ] || die "no kernel headers at $KDIR (apt-get install linux-headers-$KVER)"
command -v modinfo >/dev/null || die "missing modinfo (kmod)"

rm -rf "$OUT"
mkdir -p "$OUT"
"$TOP/tests/fixtures/repo/build-repo.sh" "$OUT/base" >/dev/null
# shellcheck source=/dev/null
. "$OUT/base/env.sh"

W=$OUT/work
SRV=$OUT/srv
mkdir -p "$W" "$SRV/cuda" "$SRV/cuda-enodev" "$SRV/cuda-hgx" "$SRV/cuda-later" "$SRV/keys" "$SRV/next"
cp -a "$OUT/base/ctk" "$SRV/ctk"
cp "$CTK_KEY_ASC" "$SRV/keys/ctk-key.asc"

g() { gpg --homedir "$FIXTURE_GNUPGHOME" --batch --quiet --no-tty --pinentry-mode loopback --passphrase '' "$@"; }
trap 'GNUPGHOME=$FIXTURE_GNUPGHOME gpgconf --kill gpg-agent 2>/dev/null || true' EXIT

# ---------------------------------------------------------------- helpers (as build-repo.sh)
S=$W/stage
stage() { rm -rf "$S"; mkdir -p "$S/DEBIAN"; }
put() { # PATH MODE CONTENT
        mkdir -p "$(dirname "$S$1")"
        printf '%s' "$3" >"$S$1"
        chmod "$2" "$S$1"
}
build() { # OUTFILE NAME VERSION ARCH DESCRIPTION [CONTROL-LINE...]
        local file=$1 name=$2 ver=$3 arch=$4 desc=$5 line
        shift 5
        (cd "$S" && find . -path ./DEBIAN -prune -o -type f -printf '%P\n' | sort |
                while read -r f; do md5sum "$f"; done) >"$S/DEBIAN/md5sums"
        {
                echo "Package: $name"
                echo "Version: $ver"
                echo "Architecture: $arch"
                echo "Maintainer: $MAINT"
                echo "Installed-Size: $(du -sk --exclude=DEBIAN "$S" | cut -f1)"
                for line in "$@"; do echo "$line"; done
                echo "Section: ${SECTION:-utils}"
                echo "Priority: optional"
                echo "Description: $desc"
                echo " Test fixture built by gpubase's tests/e2e/make-e2e-repo.sh for the e2e guest."
        } >"$S/DEBIAN/control"
        chmod 755 "$S" "$S/DEBIAN"
        find "$S" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
        dpkg-deb --root-owner-group -Zxz --build "$S" "$file" >/dev/null
}

# ---------------------------------------------------------------- cuda-keyring for /srv/repo
stage
install -D -m 644 "$KEY_FILE" "$S/usr/share/keyrings/cuda-archive-keyring.gpg"
put "$CUDA_LIST_FILE" 644 "deb [signed-by=/usr/share/keyrings/cuda-archive-keyring.gpg] file://$GUEST_REPO/cuda/ /
"
echo "$CUDA_LIST_FILE" >"$S/DEBIAN/conffiles"
KEYRING=$W/cuda-keyring_1.1-1_all.deb
build "$KEYRING" cuda-keyring 1.1-1 all "GPG keyring for the CUDA repository"

# ---------------------------------------------------------------- the module, per version
[ -f "$KDIR/Makefile" ] || die "$KDIR is not a kernel build tree"
for v in "${VERSIONS[@]}"; do
        d=$W/module-$v
        rm -rf "$d"
        cp -r "$TOP/tests/fixtures/module" "$d"
        make -s -C "$d" KDIR="$KDIR" NV_VERSION="$v" >"$W/module-$v.log" 2>&1 || { cat "$W/module-$v.log" >&2; die "building the module $v for $KVER failed"; }
        strip --strip-debug "$d/nvidia.ko"
        magic=$(modinfo -F vermagic "$d/nvidia.ko")
        case "$magic" in
        "$KVER "*) ;;
        *) die "nvidia.ko $v: vermagic '$magic' does not match the guest kernel $KVER" ;;
        esac
        [ "$(modinfo -F version "$d/nvidia.ko")" = "$v" ] || die "nvidia.ko $v: modinfo -F version says '$(modinfo -F version "$d/nvidia.ko")'"
done

# the fake NVML, once (it reads its version from fake-nvml.conf beside itself)
gcc -std=gnu17 -O2 -Wall -Wextra -Werror -fPIC -shared -Wl,-soname,libnvidia-ml.so.1 \
        -o "$W/libnvidia-ml.so" "$TOP/tests/fixtures/nvml/fake-nvml.c"

# ---------------------------------------------------------------- driver packages
# driver_pkgs UPSTREAM OUTDIR VARIANT(""|enodev|hgx)
driver_pkgs() {
        local up=$1 dir=$2 variant=$3 ver="$1-1" postinst deps
        stage
        install -D -m 644 "$W/module-$up/nvidia.ko" "$S/lib/modules/$KVER/updates/dkms/nvidia.ko"
        put /etc/modules-load.d/nvidia.conf 644 "nvidia
"
        echo /etc/modules-load.d/nvidia.conf >"$S/DEBIAN/conffiles"
        if [ "$variant" = enodev ]; then
                put /etc/modprobe.d/nvidia-e2e.conf 644 "# gpubase e2e: the stand-in module's init fails with -ENODEV (no usable GPU)
options nvidia fail=1
"
                echo /etc/modprobe.d/nvidia-e2e.conf >>"$S/DEBIAN/conffiles"
        fi
        put "/usr/src/nvidia-$up/dkms.conf" 644 "PACKAGE_NAME=\"nvidia\"
PACKAGE_VERSION=\"$up\"
AUTOINSTALL=\"yes\"
BUILT_MODULE_NAME[0]=\"nvidia\"
DEST_MODULE_LOCATION[0]=\"/updates/dkms\"
# gpubase e2e fixture: the module is shipped prebuilt for $KVER in /lib/modules/$KVER/updates/dkms
"
        put /usr/lib/gpubase-fixture/nvidia-module-version 644 "$up
"
        postinst="#!/bin/sh
set -e
# the prebuilt module for $KVER: let modprobe find it
if [ -d /lib/modules/$KVER ]; then depmod -a $KVER; fi
"
        put /DEBIAN/postinst 755 "$postinst"
        put /DEBIAN/postrm 755 "$postinst"
        SECTION=kernel build "$dir/nvidia-kernel-open-dkms_${ver}_amd64.deb" nvidia-kernel-open-dkms "$ver" amd64 \
                "NVIDIA open GPU kernel module (prebuilt stand-in for $KVER)" \
                "Conflicts: nvidia-kernel-open-580" "Replaces: nvidia-kernel-open-580"

        stage
        install -D -m 644 "$W/libnvidia-ml.so" "$S$LIBDIR/libnvidia-ml.so.$up"
        ln -s "libnvidia-ml.so.$up" "$S$LIBDIR/libnvidia-ml.so.1"
        put "$LIBDIR/fake-nvml.conf" 644 "# gpubase e2e: what the fake NVML answers
driver=$up
"
        echo "activate-noawait ldconfig" >"$S/DEBIAN/triggers"
        SECTION=libs build "$dir/libnvidia-compute_${ver}_amd64.deb" libnvidia-compute "$ver" amd64 \
                "NVIDIA compute libraries (fake NVML for the e2e tier)" \
                "Multi-Arch: same" "Conflicts: libnvidia-compute-580" "Replaces: libnvidia-compute-580"

        deps="nvidia-kernel-open-dkms (= $ver), libnvidia-compute (= $ver)"
        if [ "$variant" = hgx ]; then
                # nvidia-persistenced, which gpubase wants running on an NVSwitch host: its stand-in
                # forks a daemon and writes its PID file, as the unit (Type=forking) expects;
                # persistence mode itself is what the fake NVML says
                stage
                put /usr/bin/nvidia-persistenced 755 "#!/bin/sh
# gpubase e2e stand-in for nvidia-persistenced $up (tests/e2e/make-e2e-repo.sh)
mkdir -p /run/nvidia-persistenced
sleep infinity >/dev/null 2>&1 &
echo \$! >/run/nvidia-persistenced/nvidia-persistenced.pid
"
                put /lib/systemd/system/nvidia-persistenced.service 644 "[Unit]
Description=NVIDIA Persistence Daemon (gpubase e2e stand-in)

[Service]
Type=forking
PIDFile=/run/nvidia-persistenced/nvidia-persistenced.pid
ExecStart=/usr/bin/nvidia-persistenced
ExecStopPost=/bin/rm -rf /run/nvidia-persistenced

[Install]
WantedBy=multi-user.target
"
                build "$dir/nvidia-persistenced_${ver}_amd64.deb" nvidia-persistenced "$ver" amd64 \
                        "NVIDIA persistence daemon (stand-in for the e2e tier)"
                deps+=", nvidia-persistenced (= $ver)"
        fi
        stage
        mkdir -p "$S/usr/share/doc/nvidia-open"
        build "$dir/nvidia-open_${ver}_amd64.deb" nvidia-open "$ver" amd64 \
                "NVIDIA driver with the open kernel module (meta package)" "Depends: $deps"
}
driver_pkgs 595.45.01 "$SRV/cuda" ""
driver_pkgs 595.45.01 "$SRV/cuda-enodev" enodev
driver_pkgs 595.45.01 "$SRV/cuda-hgx" hgx
driver_pkgs 595.58.03 "$SRV/next" ""
for d in cuda cuda-enodev cuda-hgx; do
        cp "$KEYRING" "$OUT/base/debs/nvidia-driver-pinning-595_595-1_all.deb" "$SRV/$d/"
done
# Fabric Manager at the driver's version, as build-repo.sh makes it (a stand-in daemon that starts
# where an NVSwitch is on the PCI bus), for the shipped plan's nvswitch-present steps
for d in cuda cuda-hgx; do cp "$OUT/base/debs/nvidia-fabricmanager_595.45.01-1_amd64.deb" "$SRV/$d/"; done
cp "$SRV/cuda/"*.deb "$SRV/next/"*.deb "$SRV/cuda-later/"

# ---------------------------------------------------------------- index and sign (as build-repo.sh)
index() { # DIR
        (
                cd "$1"
                apt-ftparchive packages . >Packages
                gzip -9n <Packages >Packages.gz
                apt-ftparchive \
                        -o APT::FTPArchive::Release::Origin=NVIDIA \
                        -o APT::FTPArchive::Release::Label="NVIDIA CUDA" \
                        -o APT::FTPArchive::Release::Suite=stable \
                        -o APT::FTPArchive::Release::Codename=debian12 \
                        -o APT::FTPArchive::Release::Architectures="amd64 all" \
                        -o APT::FTPArchive::Release::Date="$(date -u -d "@$SOURCE_DATE_EPOCH" '+%a, %d %b %Y %H:%M:%S UTC')" \
                        -o APT::FTPArchive::Release::Description="gpubase e2e fixture: NVIDIA CUDA" \
                        release . >"$W/Release"
                mv "$W/Release" Release
                g --digest-algo SHA512 --local-user "$KEY_FPR!" --clearsign -o InRelease Release
                g --digest-algo SHA512 --local-user "$KEY_FPR!" --detach-sign --armor -o Release.gpg Release
        )
}
index "$SRV/cuda"
index "$SRV/cuda-enodev"
index "$SRV/cuda-hgx"
index "$SRV/cuda-later"

{
        printf 'KVER=%q\n' "$KVER"
        printf 'KEY_FPR=%q\n' "$KEY_FPR"
        printf 'CTK_KEY_FPR=%q\n' "$CTK_KEY_FPR"
        printf 'CUDA_KEYRING_SHA256=%q\n' "$(sha256sum "$KEYRING" | cut -d' ' -f1)"
        printf 'GUEST_REPO=%q\n' "$GUEST_REPO"
} >"$OUT/e2e.env"
rm -rf "$W"
echo "make-e2e-repo.sh: $SRV for $KVER (module ${VERSIONS[*]})" >&2
