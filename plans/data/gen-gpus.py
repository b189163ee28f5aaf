#!/usr/bin/env python3
"""Generates plans/data/gpus.tsv, gpubase's table of NVIDIA GPUs by PCI device ID.

    plans/data/gen-gpus.py [--driver-readme README.txt] README.md RELEASE-DATE [PCI.IDS] > plans/data/gpus.tsv

README.md is the README of NVIDIA's open-gpu-kernel-modules at a release tag (its "Compatible GPUs"
table lists every PCI device ID that release's open module drives); RELEASE-DATE is that tag's
date (YYYY-MM-DD; `git log -1 --format=%ad --date=short <tag>`). With PCI.IDS (Debian 12's
/usr/share/misc/pci.ids, say), every device pci.ids names by its chip is checked against the
architecture this script gives it, and any disagreement stops the script.

Per device ID, one row: the architecture, whether the open module drives it, the last driver
branch that supports it ("-": still supported by this release), whether it is a Grace superchip,
and the product name (the row without subsystem IDs if the table has one, else its first row).

The architecture comes from the device ID's upper byte: NVIDIA gives each chip generation its own
blocks of device IDs. The blocks below cover every ID of the 595.45.04 table; an ID outside them
stops the script, so a new release's new blocks are decided by a person, not guessed.

Pre-Turing GPUs (Maxwell, Pascal, Volta) are not in the open module's table. With --driver-readme,
they come from the driver README's supported-products appendix ("A1. Current NVIDIA GPUs", the
README.txt NVIDIA ships with the driver; Debian's nvidia-driver package installs it as
/usr/share/doc/nvidia-driver/README.txt.gz): every ID of a pre-Turing block listed there becomes a
row with open "no" and last branch 580 (NVIDIA's 580 branch is the last for these three
architectures). A Turing-or-later ID listed there but missing from the open module's table stops
the script: which table is right is for a person to decide. Without --driver-readme the file says
that these GPUs are not listed, and gpubase names them from pci.ids.
"""
import re
import sys

ARCH_BY_BLOCK = {
    0x1E: "Turing", 0x1F: "Turing", 0x21: "Turing",
    0x20: "Ampere", 0x22: "Ampere", 0x24: "Ampere", 0x25: "Ampere",
    0x23: "Hopper",
    0x26: "Ada", 0x27: "Ada", 0x28: "Ada",
    0x29: "Blackwell", 0x2B: "Blackwell", 0x2C: "Blackwell", 0x2D: "Blackwell", 0x2E: "Blackwell",
    0x2F: "Blackwell", 0x31: "Blackwell",
}
# Blocks of the pre-Turing generations (from the driver README only); 0x1D is shared: GP108 below
# 0x1D80, GV100 from there (Volta's own block begins with the TITAN V, 1D81)
PRE_TURING_BY_BLOCK = {
    0x13: "Maxwell", 0x14: "Maxwell", 0x16: "Maxwell", 0x17: "Maxwell",
    0x15: "Pascal", 0x1B: "Pascal", 0x1C: "Pascal",
}
LEGACY_LAST_BRANCH = "580"
# pci.ids chip codes ("GH100", "TU104GL") and the architecture each means
CHIP_ARCH = {"TU": "Turing", "GA": "Ampere", "GH": "Hopper", "AD": "Ada", "GB": "Blackwell",
             "GV": "Volta", "GP": "Pascal", "GM": "Maxwell"}
# Grace superchips: the product name says so (GH200, GB200, GB300, GB10)
GRACE = re.compile(r"^NVIDIA G[HB][0-9]+\b")


def die(msg):
    sys.stderr.write("gen-gpus.py: %s\n" % msg)
    sys.exit(1)


def read_readme(path):
    text = open(path, encoding="utf-8").read()
    m = re.search(r"open GPU kernel modules,\s+version\s+([0-9]+\.[0-9]+(?:\.[0-9]+)?)\.", text)
    if not m:
        die("%s: no 'version X.Y.Z.' line" % path)
    release = m.group(1)
    sec = text.split("## Compatible GPUs", 1)
    if len(sec) != 2:
        die("%s: no 'Compatible GPUs' section" % path)
    rows = []
    for line in sec[1].splitlines():
        if line.startswith("## "):
            break
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 2 or not re.fullmatch(r"[0-9A-Fa-f]{4}( [0-9A-Fa-f]{4} [0-9A-Fa-f]{4})?", cells[1]):
            continue
        ids = cells[1].upper().split()
        rows.append((ids[0], len(ids) == 3, cells[0]))
    if not rows:
        die("%s: the Compatible GPUs table has no rows" % path)
    return release, rows


def pre_turing_arch(dev):
    d = int(dev, 16)
    if d >> 8 == 0x1D:
        return "Pascal" if d < 0x1D80 else "Volta"
    return PRE_TURING_BY_BLOCK.get(d >> 8)


def read_driver_readme(path):
    """(release, rows) from the README.txt of the driver: its appendix A1 (current GPUs)."""
    text = open(path, encoding="utf-8", errors="replace").read()
    m = re.search(r"follow the link for\s+the\s+([0-9]+\.[0-9]+(?:\.[0-9]+)?)\s+driver", text)
    if not m:
        die("%s: no 'follow the link for the X.Y.Z driver' line (not the driver's README.txt?)" % path)
    parts = text.rsplit("A1. CURRENT NVIDIA GPUS", 1)
    if len(parts) != 2 or "Below are the legacy GPUs" not in parts[1]:
        die("%s: no appendix 'A1. CURRENT NVIDIA GPUS' ending at the legacy lists" % path)
    rows = []
    row = re.compile(r"^ (\S.*?)\s{2,}([0-9A-F]{4})((?: [0-9A-F]{4}){2})?(?:\s+\S+)?\s*$")
    for line in parts[1].split("Below are the legacy GPUs", 1)[0].splitlines():
        r = row.match(line)
        if r:
            rows.append((r.group(2), bool(r.group(3)), r.group(1)))
    if not rows:
        die("%s: appendix A1 has no rows" % path)
    return m.group(1), rows


def first_names(rows):
    """Per device ID: the name of its row without subsystem IDs, else of its first row."""
    names = {}
    for dev, with_subsys, name in rows:
        if dev not in names or (not with_subsys and names[dev][1]):
            names[dev] = (name, with_subsys)
    return {dev: v[0] for dev, v in names.items()}


def legacy_rows(path, open_ids):
    release, rows = read_driver_readme(path)
    out = []
    for dev, name in first_names(rows).items():
        arch = pre_turing_arch(dev)
        if arch:
            out.append((dev, arch, "no", LEGACY_LAST_BRANCH, "no", name))
        elif int(dev, 16) >> 8 in ARCH_BY_BLOCK:
            if dev not in open_ids:
                die("device %s (%s): in the driver README's list but not in the open module's table" % (dev, name))
        else:
            die("device %s (%s): its block %02X has no architecture here" % (dev, name, int(dev, 16) >> 8))
    return release, out


def read_pci_ids(path):
    chips = {}
    vendor = None
    for line in open(path, encoding="utf-8", errors="replace"):
        if re.match(r"^[0-9a-f]{4} ", line):
            vendor = line[:4]
        elif vendor == "10de" and re.match(r"^\t[0-9a-f]{4} ", line):
            m = re.match(r"([A-Z]{2})[0-9]", line[6:].strip())
            if m and m.group(1) in CHIP_ARCH:
                chips[line[1:5].upper()] = (CHIP_ARCH[m.group(1)], line[6:].strip())
    return chips


def main():
    args = sys.argv[1:]
    driver_readme = None
    if len(args) >= 2 and args[0] == "--driver-readme":
        driver_readme, args = args[1], args[2:]
    if len(args) not in (2, 3) or not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", args[1]):
        die("usage: gen-gpus.py [--driver-readme README.txt] README.md RELEASE-DATE [PCI.IDS]")
    release, rows = read_readme(args[0])
    date = args[1]
    names = first_names(rows)
    out = []
    for dev in names:
        arch = ARCH_BY_BLOCK.get(int(dev, 16) >> 8)
        if not arch:
            die("device %s: its block %02X has no architecture here; add it to ARCH_BY_BLOCK" % (dev, int(dev, 16) >> 8))
        name = names[dev]
        out.append((dev, arch, "yes", "-", "yes" if GRACE.match(name) else "no", name))
    n_open = len(out)
    legacy_release = None
    if driver_readme:
        legacy_release, legacy = legacy_rows(driver_readme, names)
        out += legacy
    out.sort(key=lambda row: int(row[0], 16))
    checked = 0
    if len(args) == 3:
        chips = read_pci_ids(args[2])
        for dev, arch, *_ in out:
            if dev in chips:
                checked += 1
                if chips[dev][0] != arch:
                    die("device %s: pci.ids says %s (%s), the blocks say %s" % (dev, chips[dev][1], chips[dev][0], arch))
    p = sys.stdout.write
    p("# NVIDIA GPUs by PCI device ID (vendor 10de), built into gpubase: GPU names, architectures and\n")
    p("# the open/proprietary kernel module rule. Generated by plans/data/gen-gpus.py; do not edit.\n")
    p("# Source: NVIDIA open-gpu-kernel-modules README.md, section \"Compatible GPUs\", release %s\n" % release)
    p("# (tag %s, %s): one row per PCI device ID listed there (%d IDs). Rows that add\n" % (release, date, n_open))
    p("# subsystem IDs are folded into their device ID; the name is the device-only row's, else the\n")
    p("# first row's.\n")
    p("# Architecture: from the device ID's block (gen-gpus.py, ARCH_BY_BLOCK)")
    if checked:
        p(", checked against the chip\n# codes pci.ids gives %d of these IDs (no disagreement)" % checked)
    p(".\n")
    if legacy_release:
        p("# Maxwell, Pascal and Volta (%d IDs; open no, last branch %s): the driver README.txt of release\n"
          % (len(out) - n_open, LEGACY_LAST_BRANCH))
        p("# %s, appendix A1 \"Current NVIDIA GPUs\" (as Debian's nvidia-driver package ships it),\n" % legacy_release)
        p("# every ID of a pre-Turing block listed there; its Turing-and-later IDs are all in the table above.\n")
        p("# An unlisted ID is never guessed: gpubase names it from pci.ids.\n")
    else:
        p("# Maxwell, Pascal and Volta (last branch 580) are not listed: the open module does not drive them\n")
        p("# and no driver README (--driver-readme) was given to gen-gpus.py. gpubase names such GPUs from\n")
        p("# pci.ids, and never guesses an unlisted one.\n")
    p("# release: %s\n" % release)
    p("# date: %s\n" % date)
    p("# Columns: device_id<TAB>arch<TAB>open<TAB>last_branch<TAB>grace<TAB>name\n")
    p("#   open: the open kernel module drives it (yes/no); last_branch: the last driver branch that\n")
    p("#   supports it, \"-\" if this release does; grace: a Grace superchip (GH200, GB200, GB300, GB10)\n")
    for row in out:
        p("\t".join(row) + "\n")


if __name__ == "__main__":
    main()
