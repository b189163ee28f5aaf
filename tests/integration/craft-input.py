#!/usr/bin/env python3
"""craft-input.py MODE OUT.tar.gz: a small gpubase bundle made from nothing (a manifest, a one-step
plan) with one thing wrong, for the input checks of input.sh.

MODE:
  unlisted-big  a 100 MiB entry the manifest does not list, right after the plan
  oversize      an entry larger than the size the manifest gives it
  no-space      the manifest lists a file larger than the free space of the directory SIZE-DIR
                (third argument), which the bundle does not even hold
  many          80,000 empty files, all listed, then the first of them a second time
  unlisted-dir  a listed file in repo/local/, its directories, then a directory nothing listed is in"""
import hashlib
import io
import json
import os
import sys
import tarfile

mode, out = sys.argv[1:3]
PLAN = b"name: input-bundle\nsteps:\n  - id: hello\n    kind: file\n    path: /etc/gpubase-it/hello.conf\n    content: hi\n"
EMPTY = hashlib.sha256(b"").hexdigest()


def listed(path, data, kind="deb"):
    return {"path": path, "sha256": hashlib.sha256(data).hexdigest(), "size": len(data), "kind": kind}


files = [listed("plan.yaml", PLAN, "plan")]
entries = [("plan.yaml", PLAN)]
if mode == "unlisted-big":
    entries.append(("repo/local/big.deb", b"\0" * (100 * 1024 * 1024)))
elif mode == "oversize":
    files.append(listed("repo/local/a.deb", b"small"))
    entries.append(("repo/local/a.deb", b"small, and then a great deal more than the manifest says" * 1000))
elif mode == "no-space":
    st = os.statvfs(sys.argv[3])
    files.append({"path": "repo/local/huge.deb", "sha256": EMPTY, "size": st.f_bavail * st.f_frsize + (1 << 30),
                  "kind": "deb"})
elif mode == "many":
    names = ["f/%05d" % i for i in range(80000)]
    files += [{"path": n, "sha256": EMPTY, "size": 0, "kind": "deb"} for n in names]
    entries += [(n, b"") for n in names] + [(names[0], b"")]
elif mode == "unlisted-dir":
    files.append(listed("repo/local/a.deb", b"a"))
    entries += [("repo/", None), ("repo/local/", None), ("repo/local/a.deb", b"a"), ("junk/", None)]
else:
    sys.exit("unknown mode " + mode)

manifest = json.dumps({"format": 1, "created": "2026-01-01T00:00:00Z", "gpubase_version": "0.1.0", "os": "debian-12",
                       "arch": "amd64", "plan": {"name": "input-bundle", "sha256": hashlib.sha256(PLAN).hexdigest(),
                                                 "source": "plan.yaml", "vars": []},
                       "files": files}).encode()
with tarfile.open(out, "w:gz", format=tarfile.PAX_FORMAT, compresslevel=1) as dst:
    for name, data in [("manifest.json", manifest)] + entries:
        ti = tarfile.TarInfo(name)
        if data is None:
            ti.type = tarfile.DIRTYPE
            ti.mode = 0o755
            dst.addfile(ti)
            continue
        ti.size = len(data)
        ti.mode = 0o644
        dst.addfile(ti, io.BytesIO(data))
