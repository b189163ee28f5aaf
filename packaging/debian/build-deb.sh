#!/bin/bash
# build-deb.sh STAGE OUTDIR VERSION — turn a `make install DESTDIR=STAGE PREFIX=/usr
# UNITDIR=/lib/systemd/system` tree into OUTDIR/gpubase_VERSION_ARCH.deb (called by `make deb`).
#
# The control file comes from packaging/debian/control through dpkg-gencontrol, with Depends
# computed by dpkg-shlibdeps from the NEEDED entries of the binary and of /usr/lib/gpubase/
# libgpubase-apt.so, the shim over libapt-pkg that gpubase opens with dlopen (and Installed-Size
# from the tree); libarchive, also opened with dlopen, is named in the control file.
# No conffiles: the plans under /usr/share/gpubase are data, a site's own plan lives elsewhere.
# The unit is shipped but not enabled (no postinst): gpubase enables it only while a run waits for
# a reboot. postrm drops a leftover enablement and, on purge, the checkpoint.
set -euo pipefail
export LC_ALL=C TZ=UTC

[ $# -eq 3 ] || { echo "usage: build-deb.sh STAGE OUTDIR VERSION" >&2; exit 64; }
STAGE=$(realpath -- "$1")
OUTDIR=$(realpath -m -- "$2")
VERSION=$3
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)

for tool in dpkg-deb dpkg-shlibdeps dpkg-gencontrol dpkg-architecture gzip md5sum; do
        command -v "$tool" >/dev/null || { echo "build-deb.sh: missing $tool (dpkg-dev)" >&2; exit 1; }
done
[ -x "$STAGE/usr/bin/gpubase" ] || { echo "build-deb.sh: $STAGE/usr/bin/gpubase missing (make install first)" >&2; exit 1; }
shim=$STAGE/usr/lib/gpubase/libgpubase-apt.so
[ -f "$shim" ] || { echo "build-deb.sh: $shim missing (make install installs it)" >&2; exit 1; }
# the changelog's version is what dpkg-gencontrol would take without -v: keep them in step
clv=$(sed -n '1s/^gpubase (\([^)]*\)).*/\1/p' "$HERE/changelog")
[ "$clv" = "$VERSION" ] || echo "build-deb.sh: warning: packaging/debian/changelog says $clv, building $VERSION" >&2

# timestamps from the changelog entry, so that a rebuild of the same tree is byte-identical
SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(date -d "$(sed -n 's/^ -- .*>  //p' "$HERE/changelog" | head -1)" +%s)}
export SOURCE_DATE_EPOCH

# Debian layout: man pages and the changelog compressed, documentation under /usr/share/doc
man=$STAGE/usr/share/man/man1/gpubase.1
[ -f "$man" ] || { echo "build-deb.sh: $man missing (make install installs it)" >&2; exit 1; }
gzip -9nf "$man"
install -d "$STAGE/usr/share/doc/gpubase"
gzip -9nc "$HERE/changelog" >"$STAGE/usr/share/doc/gpubase/changelog.gz"
chmod 644 "$STAGE/usr/share/doc/gpubase/changelog.gz"
strip --strip-debug --remove-section=.comment --remove-section=.note "$STAGE/usr/bin/gpubase"
strip --strip-debug --remove-section=.comment --remove-section=.note "$shim"

rm -rf "$STAGE/DEBIAN"
install -d -m 755 "$STAGE/DEBIAN"
install -m 755 "$HERE/postrm" "$STAGE/DEBIAN/postrm"

# dpkg-shlibdeps and dpkg-gencontrol want a debian/ directory: a scratch one
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir "$work/debian"
cp "$HERE/control" "$HERE/changelog" "$work/debian/"
(
        cd "$work"
        dpkg-shlibdeps -Tdebian/substvars -e"$STAGE/usr/bin/gpubase" -e"$shim" 2> >(grep -v 'binaries to analyze should already be installed' >&2)
        dpkg-gencontrol -pgpubase -v"$VERSION" -Tdebian/substvars -P"$STAGE" -fdebian/files
)
(cd "$STAGE" && find . -path ./DEBIAN -prune -o -type f -printf '%P\n' | LC_ALL=C sort | xargs -d '\n' md5sum) >"$STAGE/DEBIAN/md5sums"
chmod 644 "$STAGE/DEBIAN/md5sums" "$STAGE/DEBIAN/control"
find "$STAGE" -newermt "@$SOURCE_DATE_EPOCH" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +

arch=$(dpkg-architecture -qDEB_HOST_ARCH)
mkdir -p "$OUTDIR"
deb=$OUTDIR/gpubase_${VERSION}_${arch}.deb
dpkg-deb --root-owner-group -Zxz --build "$STAGE" "$deb" >/dev/null
echo "$deb"
