#!/usr/bin/python3
"""tools-check: every command the tests and the build call comes from a package in the Makefile's lists.

Usage: TOOLS_PACKAGES="pkg ..." tests/tools-check.py FILE...

FILE is a shell script or the Makefile (its recipes are read). Each script is parsed by shfmt
(--to-json), so that only words in command position count: the first word of every simple
command, and the command after a wrapper (env, timeout, xargs, ...). A name is accepted when it is
a shell builtin or keyword, a function defined in one of the files, a stand-in that the tests
build themselves (STAND_INS below, each with where it comes from), or when the program that a
fresh machine's PATH finds for it belongs to a package that TOOLS_PACKAGES installs, directly or
as a dependency, or to a package every Debian minbase has (Essential or Priority: required).
Anything else fails the check, naming the file and line: a tool used by a test but installed by
nothing in the lists would pass on this machine and fail on a fresh one.

The search is deliberately by package ownership, not by presence: on a developer's machine with
extra packages installed, an omission is still caught.
"""
import json
import os
import re
import subprocess
import sys

# Commands the tests make themselves, put first in PATH or into a fixture root; never a package's.
# Commands the tests make themselves and call by name (name: where it comes from); today every
# stand-in is called through a variable or a path, so there are none.
STAND_INS = {}
# Wrappers whose next non-option word is itself a command.
WRAPPERS = {"env", "timeout", "xargs", "nice", "nohup", "setsid", "stdbuf", "exec", "command",
            "time", "sudo", "ionice", "unbuffer"}
# Options of wrappers that take a value (so the value is not taken for the command).
WRAPPER_VALUE_OPTS = {"-s", "--signal", "-k", "--kill-after", "-n", "-u", "-I", "-P", "-d",
                      "-L", "-E", "-c", "-w", "-o", "-e", "-i"}
FRESH_PATH = "/usr/sbin:/usr/bin:/sbin:/bin"


def die(msg):
    print("tools-check: " + msg, file=sys.stderr)
    sys.exit(2)


def lit(word):
    """The literal text of a shfmt Word, or None when any part is not a plain literal."""
    parts = word.get("Parts") or []
    out = ""
    for p in parts:
        if p.get("Type") == "Lit":
            out += p.get("Value", "")
        elif p.get("Type") in ("SglQuoted",):
            out += p.get("Value", "")
        elif p.get("Type") == "DblQuoted" and all(q.get("Type") == "Lit" for q in p.get("Parts") or []):
            out += "".join(q.get("Value", "") for q in p.get("Parts") or [])
        else:
            return None
    return out


def walk(node, calls, funcs):
    if isinstance(node, dict):
        t = node.get("Type")
        if t == "FuncDecl":
            funcs.add(node["Name"]["Value"])
        if t == "CallExpr" and node.get("Args"):
            words = [lit(a) for a in node["Args"]]
            line = node["Args"][0]["Pos"]["Line"]
            i = 0
            while i < len(words) and words[i] is not None:
                name = words[i]
                calls.append((name, line))
                if name not in WRAPPERS:
                    break
                i += 1
                while i < len(words) and words[i] is not None and (
                        words[i].startswith("-") or re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", words[i])
                        or (name == "timeout" and re.match(r"^[0-9.]+[smhd]?$", words[i]))):
                    if words[i] in WRAPPER_VALUE_OPTS and name != "env":
                        i += 1
                    i += 1
        for v in node.values():
            walk(v, calls, funcs)
    elif isinstance(node, list):
        for v in node:
            walk(v, calls, funcs)


def parse_shell(text, name):
    # shfmt reads the subscript of ${array[key]} as arithmetic and refuses associative keys such as
    # ${RC[no-op rerun]}; the subscript is never a command, so it is blanked (lines stay in place)
    text = re.sub(r"\$\{(#?[A-Za-z_][A-Za-z0-9_]*)\[[^]$()\n]*\]\}", r"${\1[0]}", text)
    r = subprocess.run(["shfmt", "--to-json"], input=text, capture_output=True, text=True)
    if r.returncode != 0:
        return None, r.stderr.strip()
    return json.loads(r.stdout), None


def makefile_recipes(path):
    """The Makefile's recipe lines as shell text, with their line numbers kept (make variables
    become a placeholder word, $$ becomes $)."""
    lines = open(path, encoding="utf-8").read().split("\n")
    out = []
    for n, raw in enumerate(lines, 1):
        if raw.startswith("\t"):
            s = raw[1:].lstrip("@-+ ")
            s = re.sub(r"\$[({][^)}]*[)}]", "MAKEVAR", s).replace("$$", "$")
            out.append((n, s))
    return out


def installed_closure(packages):
    """The packages that installing PACKAGES brings, with their dependencies (all alternatives)."""
    r = subprocess.run(["apt-cache", "depends", "--recurse", "--no-recommends", "--no-suggests",
                        "--no-conflicts", "--no-breaks", "--no-replaces", "--no-enhances"] + packages,
                       capture_output=True, text=True)
    if r.returncode != 0:
        die("apt-cache depends failed (run apt-get update first?): " + r.stderr.strip())
    names = set(packages)
    for line in r.stdout.splitlines():
        m = re.match(r"^\s*\|?(?:Pre)?Depends: <?([^>\s]+)>?", line) or re.match(r"^([a-z0-9][^\s:]*)$", line)
        if m:
            names.add(m.group(1))
    return names


def minbase_packages():
    r = subprocess.run(["dpkg-query", "-W", "-f", "${Package}\t${Essential}\t${Priority}\n"],
                       capture_output=True, text=True, check=True)
    out = set()
    for line in r.stdout.splitlines():
        pkg, ess, prio = (line.split("\t") + ["", ""])[:3]
        if ess == "yes" or prio == "required":
            out.add(pkg)
    return out


def owner(path):
    cands = [path, os.path.realpath(path)]
    for p in list(cands):  # merged /usr: dpkg may know /bin/x as /usr/bin/x or the other way
        if p.startswith("/usr/"):
            cands.append(p[4:])
        else:
            cands.append("/usr" + p)
    for p in cands:
        r = subprocess.run(["dpkg-query", "-S", p], capture_output=True, text=True)
        if r.returncode == 0:
            for line in r.stdout.splitlines():
                pkgs, _, fpath = line.partition(": ")
                if fpath == p and "diversion" not in pkgs:
                    return [x.strip().split(":")[0] for x in pkgs.split(",")]
    return None


def main():
    files = sys.argv[1:]
    wanted = os.environ.get("TOOLS_PACKAGES", "").split()
    if not files or not wanted:
        die("usage: TOOLS_PACKAGES='pkg ...' tools-check.py FILE...")
    builtins = set(subprocess.run(["bash", "-c", "compgen -b; compgen -k"], capture_output=True,
                                  text=True, check=True).stdout.split())
    calls, funcs, problems = [], set(), []
    for f in files:
        if os.path.basename(f) == "Makefile":
            for n, s in makefile_recipes(f):
                tree, _ = parse_shell(s, f)
                if tree is None:
                    continue  # a recipe fragment (a continued line): its head word is read on its own line
                c = []
                walk(tree, c, funcs)
                calls += [(name, f, n) for name, _ in c]
            continue
        text = open(f, encoding="utf-8").read()
        tree, err = parse_shell(text, f)
        if tree is None:
            problems.append(f"{f}: shfmt cannot parse it: {err}")
            continue
        c = []
        walk(tree, c, funcs)
        calls += [(name, f, line) for name, line in c]

    allowed = installed_closure(wanted) | minbase_packages()
    seen = {}
    for name, f, line in calls:
        if (not name or "/" in name or name in builtins or name in funcs or name in STAND_INS
                or name == "MAKEVAR" or not re.match(r"^[A-Za-z0-9_.+-]+$", name)
                or re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", name)):
            continue
        seen.setdefault(name, []).append(f"{f}:{line}")
    checked = 0
    for name, where in sorted(seen.items()):
        r = subprocess.run(["bash", "-c", 'PATH="$1" command -v -- "$2"', "_", FRESH_PATH, name],
                           capture_output=True, text=True)
        path = r.stdout.strip()
        first = where[0] + (f" (and {len(where) - 1} more)" if len(where) > 1 else "")
        if r.returncode != 0 or not path.startswith("/"):
            problems.append(f"{first}: '{name}' is not installed here (PATH {FRESH_PATH}); add the "
                            f"package that provides it to the Makefile's lists, or list it in "
                            f"tests/tools-check.py's STAND_INS if the tests make it themselves")
            continue
        pkgs = owner(path)
        if not pkgs:
            problems.append(f"{first}: '{name}' is {path}, which no Debian package owns")
            continue
        if not any(p in allowed for p in pkgs):
            problems.append(f"{first}: '{name}' comes from {', '.join(pkgs)}, which no package in the "
                            f"Makefile's lists installs: add {pkgs[0]} to them")
            continue
        checked += 1
    for p in problems:
        print("tools-check: " + p, file=sys.stderr)
    if problems:
        print(f"tools-check: {len(problems)} problem(s)", file=sys.stderr)
        sys.exit(1)
    print(f"tools-check: {checked} commands used by {len(files)} files, each from a listed package")


if __name__ == "__main__":
    main()
