#!/bin/bash
# make sizes: no source file in agent/ or shim/ over MAX_FILE_LINES (600) lines and no function over
# MAX_FUNC_LINES (80) lines, counted from the line that names the function to its closing brace.
# Prints one line per unit over its limit and exits 1 if there is any (docs/CODING_STYLE.md says why).
# A function is recognised by the layout the code is written in: its name at column 0, its body
# closed by a "}" at column 0; prototypes, typedefs and initialised tables are not functions.
set -euo pipefail
cd "$(dirname "$0")/.."

max_file=${MAX_FILE_LINES:-600}
max_func=${MAX_FUNC_LINES:-80}
files=$(find agent shim -type f \( -name '*.c' -o -name '*.h' -o -name '*.cc' \) | sort)

# shellcheck disable=SC2086 # one word per file: the paths have no spaces
awk -v max_file="$max_file" -v max_func="$max_func" '
function report_file() {
        if (FNR_last > max_file) { printf "sizes: %s: %d lines (limit %d)\n", file, FNR_last, max_file; bad = 1 }
}
FNR == 1 {
        if (file != "") report_file()
        file = FILENAME; state = 0
}
{ FNR_last = FNR }
# outside a function: a line at column 0 that names a function and is not a declaration
state == 0 && /^[A-Za-z_].*\(/ && !/^(typedef|extern|enum|struct [A-Za-z_]+ *\{|union)/ && !/=/ && !/;[[:space:]]*$/ {
        name = $0; sub(/[[:space:]]*\(.*/, "", name); sub(/.*[[:space:]*&]/, "", name)
        start = FNR; state = 1
}
# its parameter list may run over several lines; a ";" first makes it a prototype
state == 1 {
        if ($0 ~ /;[[:space:]]*$/ && $0 !~ /\{/) { state = 0; next }
        if ($0 ~ /\{.*\}[[:space:]]*$/) { state = 0; next }   # a whole function on one line
        if ($0 ~ /\{[[:space:]]*$/ || $0 ~ /^\{/) { state = 2; next }
        next
}
state == 2 && /^}/ {
        n = FNR - start + 1
        if (n > max_func) { printf "sizes: %s:%d: %s() is %d lines (limit %d)\n", file, start, name, n, max_func; bad = 1 }
        state = 0
}
END {
        if (file != "") report_file()
        exit bad
}' $files && rc=0 || rc=$?

if [ "$rc" != 0 ]; then
        echo "sizes: units over the limits above; split them along their seams (docs/CODING_STYLE.md)"
        exit 1
fi
echo "sizes: $(echo "$files" | wc -l) files in agent/ and shim/: none over $max_file lines, no function over $max_func"
