#!/bin/bash
# build-deb.sh OUTDIR VERSION — OUTDIR/gpubase_VERSION_ARCH.deb and its -dbgsym package, built by
# debhelper (packaging/debian is the package's debian/ directory), then checked by lintian (called
# by `make deb`).
#
# dpkg-buildpackage wants debian/ at the top of the source tree: the sources (Makefile, agent/,
# shim/, plans/, packaging/) are copied to OUTDIR/deb/gpubase-VERSION with packaging/debian as
# debian/, and built there (`debian/rules`: the Makefile with dpkg-buildflags' hardening flags,
# `make install` into the package, dh_installsystemd for every unit, stripped binary, compressed man
# pages). lintian must report nothing but what packaging/debian/gpubase.lintian-overrides explains.
set -euo pipefail
export LC_ALL=C TZ=UTC

[ $# -eq 2 ] || { echo "usage: build-deb.sh OUTDIR VERSION" >&2; exit 64; }
OUTDIR=$(realpath -m -- "$1")
VERSION=$2
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
TOP=$(cd "$HERE/../.." && pwd -P)

for tool in dpkg-buildpackage dh lintian; do
        command -v "$tool" >/dev/null || { echo "build-deb.sh: missing $tool (make deps installs dpkg-dev, debhelper, lintian)" >&2; exit 1; }
done
# the changelog's version is what the package gets: keep it in step with the Makefile's
clv=$(sed -n '1s/^gpubase (\([^)]*\)).*/\1/p' "$HERE/changelog")
[ "$clv" = "$VERSION" ] || { echo "build-deb.sh: packaging/debian/changelog says $clv, the Makefile $VERSION" >&2; exit 1; }

work=$OUTDIR/deb
src=$work/gpubase-$VERSION
rm -rf "$work"
mkdir -p "$src"
cp -a "$TOP/Makefile" "$TOP/agent" "$TOP/shim" "$TOP/plans" "$TOP/packaging" "$src/"
cp -a "$HERE" "$src/debian"
rm -f "$src/debian/build-deb.sh"
(cd "$src" && dpkg-buildpackage -b -us -uc -j"$(nproc)" >"$work/build.log" 2>&1) || {
        tail -n 40 "$work/build.log" >&2
        echo "build-deb.sh: dpkg-buildpackage failed (all of it: $work/build.log)" >&2
        exit 1
}
arch=$(dpkg-architecture -qDEB_HOST_ARCH)
deb=$work/gpubase_${VERSION}_${arch}.deb
dbg=$work/gpubase-dbgsym_${VERSION}_${arch}.deb
[ -f "$deb" ] || { echo "build-deb.sh: dpkg-buildpackage made no $deb" >&2; exit 1; }
[ -f "$dbg" ] || { echo "build-deb.sh: dpkg-buildpackage made no $dbg (no debug symbols?)" >&2; exit 1; }
# every unit and journal catalog of packaging/systemd is in the package (debian/rules installs
# them through `make install`, whatever their names)
dpkg-deb -c "$deb" | awk '{ print $NF }' >"$work/contents"
for f in "$TOP"/packaging/systemd/*; do
        n=$(basename "$f" .in)
        case $n in
        *.catalog) p=./usr/lib/systemd/catalog/$n ;;
        *) p=./lib/systemd/system/$n ;;
        esac
        grep -qx -- "$p" "$work/contents" || { echo "build-deb.sh: $deb lacks $p (from $f)" >&2; exit 1; }
done
# every tag lintian reports at info level or above fails the build, unless overridden with a reason
lintian --fail-on error,warning,info --display-info --suppress-tags-from-file /dev/null "$deb" "$dbg" >"$work/lintian.log" 2>&1 || {
        cat "$work/lintian.log" >&2
        echo "build-deb.sh: lintian is not clean (above)" >&2
        exit 1
}
cp "$deb" "$dbg" "$OUTDIR/"
echo "$OUTDIR/$(basename "$deb")"
