#!/bin/bash
# Prints the source files of agent/ and shim/ longer than MAX_FILE lines (default 600) and the
# functions longer than MAX_FUNC lines (default 80), one line each; exit 1 when there is any.
# A function is counted from the line that names it to its closing brace, both included. It is
# found by the layout this tree keeps: the definition starts in column 0 ("int foo(...) {",
# parameters possibly continued on indented lines) and its closing brace is a "}" in column 0.
# Usage: tests/sizes.sh [FILE...]   (default: every .c, .h and .cc under agent/ and shim/)
set -euo pipefail
cd "$(dirname "$0")/.."

max_file=${MAX_FILE:-600}
max_func=${MAX_FUNC:-80}
if [ "$#" -gt 0 ]; then
        files=("$@")
else
        mapfile -t files < <(find agent shim -type f \( -name '*.c' -o -name '*.h' -o -name '*.cc' \) | sort)
fi

bad=0
for f in "${files[@]}"; do
        n=$(wc -l <"$f")
        if [ "$n" -gt "$max_file" ]; then
                echo "sizes: $f: $n lines (at most $max_file)"
                bad=1
        fi
done

# state: 0 outside, 1 in a signature (waiting for its "{"), 2 in a body
awk -v max="$max_func" '
FNR == 1 { state = 0 }
state == 2 {
        if ($0 ~ /^}/) {
                len = FNR - start + 1
                if (len > max) { printf "sizes: %s:%d: %s() is %d lines (at most %d)\n", FILENAME, start, name, len, max; bad = 1 }
                state = 0
        }
        next
}
state == 1 && /^[ \t]/ {
        if ($0 ~ /;[ \t]*$/) state = 0
        else if ($0 ~ /\{[ \t]*$/) state = 2
        next
}
{ state = 0 }
/^[A-Za-z_][^=;]*\(/ && !/^(typedef|struct|enum|union|extern|namespace|#)/ {
        sig = $0
        sub(/\(.*/, "", sig)
        k = split(sig, w, /[^A-Za-z0-9_:~]+/)
        name = w[k]
        start = FNR
        if ($0 ~ /\{[ \t]*$/) state = 2
        else if ($0 ~ /;[ \t]*$/) state = 0
        else state = 1
}
END { exit bad }
' "${files[@]}" || bad=1

if [ "$bad" != 0 ]; then
        echo "sizes: split what is above along its seams (docs/CODING_STYLE.md)"
        exit 1
fi
echo "sizes: ${#files[@]} files in agent/ and shim/: none over $max_file lines, no function over $max_func"
