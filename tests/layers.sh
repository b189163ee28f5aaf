#!/bin/bash
# make layers: every #include "..." in agent/ and shim/ points down (or sideways) the order
#   base -> host -> plan -> checks -> steps -> engine -> cmd -> main.c
# A file in layer L may include headers of L and of the layers below it, never above. shim/ (the
# extern "C" wrapper around libapt-pkg) is host level: host/ and everything above may include
# shim/aptshim.h, base/ may not; shim/ itself ranks with host/.
# Includes are written from agent/ ("base/util.h") or from the top ("shim/aptshim.h"); a relative
# "../" include is refused, since it hides which layer it reaches. Exit 1 with one line per finding.
set -euo pipefail
cd "$(dirname "$0")/.."

# the order, lowest first: the Makefile's LAYERS (the same list when run by hand)
read -r -a layers <<<"${LAYERS:-base host plan checks steps engine cmd}"

rank() { # layer of a path or include target -> its number; nothing when it is in no layer
        local top=${1%%/*} i
        [ "$1" = main.c ] && { echo "${#layers[@]}"; return; }
        [ "$top" = shim ] && top=host
        for i in "${!layers[@]}"; do
                [ "${layers[$i]}" = "$top" ] && { echo "$i"; return; }
        done
        return 0
}

bad=0 n=0
while IFS= read -r f; do
        rel=${f#agent/}
        own=$(rank "$rel")
        if [ -z "$own" ]; then
                echo "layers: $f is in no layer (a folder of LAYERS under agent/, or shim/)"
                bad=1
                continue
        fi
        while IFS=: read -r line target; do
                n=$((n + 1))
                case "$target" in
                ../* | */../*)
                        echo "layers: $f:$line: relative include \"$target\"; write it from agent/ or the top"
                        bad=1
                        continue ;;
                esac
                # a bare name is the file's own folder (shim/aptshim.cc including "aptshim.h")
                [[ "$target" == */* ]] || target="$(dirname "$rel")/$target"
                to=$(rank "$target")
                if [ -z "$to" ]; then
                        echo "layers: $f:$line: \"$target\" is in no layer"
                        bad=1
                elif [ "$to" -gt "$own" ]; then
                        echo "layers: $f:$line: includes \"$target\", which is above it (${rel%%/*} may include only its own layer and those below)"
                        bad=1
                fi
        done < <(grep -n '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' "$f" | sed 's/^\([0-9]*\):[^"]*"\([^"]*\)".*/\1:\2/' || true)
done < <(find agent shim -type f \( -name '*.c' -o -name '*.h' -o -name '*.cc' \) | sort)

if [ "$bad" != 0 ]; then
        echo "layers: includes that point up; move the code to its layer, or declare the type lower down"
        exit 1
fi
echo "layers: $n includes in agent/ and shim/, none points up (${layers[*]} main.c, lowest first; shim with host)"
