#!/usr/bin/env python3
"""craft-bundle.py MODE GOOD.tar.gz OUT.tar.gz ESCAPE-TARGET: a copy of a good gpubase bundle with
one thing wrong, for the extraction refusals tested by bundle.sh.

MODE: absolute, dotdot, symlink-abs, symlink-up, hardlink-up, checksum, unlisted, manifest-not-first,
missing. ESCAPE-TARGET is the absolute path the escaping entries aim at (it must never appear)."""
import io
import os
import sys
import tarfile

mode, good, out, target = sys.argv[1:5]

with tarfile.open(good, "r:gz") as src:
    members = [(m, src.extractfile(m).read() if m.isfile() else None) for m in src.getmembers()]


def reg(name, data):
    ti = tarfile.TarInfo(name)
    ti.size = len(data)
    ti.mode = 0o644
    return ti, data


def link(name, linkname, kind):
    ti = tarfile.TarInfo(name)
    ti.type = kind
    ti.linkname = linkname
    return ti, None


extra = []
if mode == "absolute":
    extra.append(reg(target, b"written through an absolute path\n"))
elif mode == "dotdot":
    rel = os.path.relpath(target, "/")
    extra.append(reg("repo/" + "../" * 12 + rel, b"written through ..\n"))
elif mode == "symlink-abs":
    extra.append(link("repo/evil", os.path.dirname(target), tarfile.SYMTYPE))
elif mode == "symlink-up":
    extra.append(link("repo/evil", "../../../../../../../../" + os.path.relpath(os.path.dirname(target), "/"), tarfile.SYMTYPE))
elif mode == "hardlink-up":
    extra.append(link("evil", "../" + os.path.basename(target), tarfile.LNKTYPE))
elif mode == "unlisted":
    extra.append(reg("repo/local/extra_1.0_all.deb", b"not in the manifest\n"))
elif mode in ("checksum", "manifest-not-first", "missing"):
    pass
else:
    sys.exit("unknown mode " + mode)

if mode == "checksum":
    # the same size, one byte different: only the sha256 can tell
    for i, (m, data) in enumerate(members):
        if m.name.endswith(".deb") and m.name.startswith("repo/"):
            data = bytearray(data)
            data[-1] ^= 0x01
            members[i] = (m, bytes(data))
            break
if mode == "manifest-not-first":
    members = members[1:] + members[:1]
if mode == "missing":
    members = [x for x in members if not (x[0].name.endswith(".deb") and x[0].name.startswith("repo/"))][:] + \
        [x for x in members if x[0].name.endswith(".deb") and x[0].name.startswith("repo/")][1:]

with tarfile.open(out, "w:gz", format=tarfile.PAX_FORMAT) as dst:
    # the escaping entry right after the manifest: refused before anything else is written
    for i, (m, data) in enumerate(members):
        dst.addfile(m, io.BytesIO(data) if data is not None else None)
        if i == 0:
            for ti, d in extra:
                dst.addfile(ti, io.BytesIO(d) if d is not None else None)
