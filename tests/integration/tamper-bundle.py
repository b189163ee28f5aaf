#!/usr/bin/env python3
"""tamper-bundle.py GOOD.tar.gz OUT.tar.gz NAME=FILE...: a copy of a good gpubase bundle in which each
member NAME holds FILE's bytes instead, and whose manifest lists their new sha256 and size, so that
only the checks behind the manifest (the keyring package's signed indexes) can tell. For bundle.sh."""
import hashlib
import io
import json
import sys
import tarfile

good, out = sys.argv[1:3]
swap = {}
for arg in sys.argv[3:]:
    name, path = arg.split("=", 1)
    with open(path, "rb") as f:
        swap[name] = f.read()

with tarfile.open(good, "r:gz") as src:
    members = [(m, src.extractfile(m).read() if m.isfile() else None) for m in src.getmembers()]

manifest = json.loads(members[0][1])
for f in manifest["files"]:
    if f["path"] in swap:
        f["sha256"] = hashlib.sha256(swap[f["path"]]).hexdigest()
        f["size"] = len(swap[f["path"]])
missing = set(swap) - {f["path"] for f in manifest["files"]}
if missing:
    sys.exit("tamper-bundle.py: not in the bundle: %s" % ", ".join(sorted(missing)))

with tarfile.open(out, "w:gz") as dst:
    for m, data in members:
        if m.name == "manifest.json":
            data = json.dumps(manifest, indent=2).encode()
        elif m.name in swap:
            data = swap[m.name]
        m.size = len(data) if data is not None else m.size
        dst.addfile(m, io.BytesIO(data) if data is not None else None)
