#!/bin/bash
# make-smoke-image.sh OUT.tar REF CUDA: the container smoke test's image for the e2e guest, made
# without a docker daemon: a docker-archive tarball (what `docker save` writes, and what `docker
# load` and `ctr images import` read) of one layer holding /usr/bin/nvidia-smi, the static stand-in of
# tests/fixtures/container/standin.c, which prints what the NVIDIA runtime stand-in
# (tests/fixtures/repo/build-repo.sh's nvidia-container-runtime) injected: the device nodes and the
# host's fake-nvml.conf. The config says NVIDIA_REQUIRE_CUDA=cuda>=CUDA, as NVIDIA's CUDA base
# images do. REF is the name gpubase's plan runs (its default image for the guest's CUDA ceiling).
set -euo pipefail
[ $# -eq 3 ] || { echo "usage: make-smoke-image.sh OUT.tar REF CUDA" >&2; exit 64; }
OUT=$1 REF=$2 CUDA=$3
TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
mkdir -p "$W/rootfs/usr/bin" "$W/rootfs/usr/lib/x86_64-linux-gnu" "$W/rootfs/dev" "$W/rootfs/proc" "$W/rootfs/sys"
gcc -std=gnu11 -O2 -Wall -Wextra -Werror -static "$TOP/tests/fixtures/container/standin.c" -o "$W/rootfs/usr/bin/nvidia-smi"
strip "$W/rootfs/usr/bin/nvidia-smi"
python3 - "$W/rootfs" "$OUT" "$REF" "$CUDA" <<'EOF'
import hashlib, io, json, os, sys, tarfile
root, out, ref, cuda = sys.argv[1:5]
layer = io.BytesIO()
with tarfile.open(fileobj=layer, mode="w", format=tarfile.USTAR_FORMAT) as t:
    for d, dirs, files in sorted(os.walk(root)):
        dirs.sort()
        for n in sorted(dirs) + sorted(files):
            p = os.path.join(d, n)
            i = t.gettarinfo(p, os.path.relpath(p, root))
            i.uid = i.gid = 0
            i.uname = i.gname = "root"
            i.mtime = 1767225600
            if i.isfile():
                with open(p, "rb") as f:
                    t.addfile(i, f)
            else:
                t.addfile(i)
data = layer.getvalue()
diff = hashlib.sha256(data).hexdigest()
config = json.dumps({
    "architecture": "amd64", "os": "linux", "created": "2026-01-01T00:00:00Z",
    "config": {"Env": ["PATH=/usr/bin:/bin", "NVIDIA_REQUIRE_CUDA=cuda>=" + cuda,
                       "NVIDIA_DRIVER_CAPABILITIES=compute,utility"], "Cmd": ["nvidia-smi"]},
    "rootfs": {"type": "layers", "diff_ids": ["sha256:" + diff]},
    "history": [{"created": "2026-01-01T00:00:00Z", "created_by": "gpubase e2e smoke image"}],
}, sort_keys=True).encode()
cfg = hashlib.sha256(config).hexdigest()
manifest = json.dumps([{"Config": cfg + ".json", "RepoTags": [ref], "Layers": [diff + "/layer.tar"]}]).encode()
repo, tag = ref.rsplit(":", 1)
repositories = json.dumps({repo: {tag: diff}}).encode()
with tarfile.open(out, "w", format=tarfile.USTAR_FORMAT) as t:
    def add(name, blob):
        i = tarfile.TarInfo(name)
        i.size = len(blob)
        i.mtime = 1767225600
        t.addfile(i, io.BytesIO(blob))
    d = tarfile.TarInfo(diff)
    d.type = tarfile.DIRTYPE
    d.mode = 0o755
    d.mtime = 1767225600
    t.addfile(d)
    add(diff + "/layer.tar", data)
    add(cfg + ".json", config)
    add("manifest.json", manifest)
    add("repositories", repositories)
EOF
