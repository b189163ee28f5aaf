#!/bin/bash
# make shellcheck: shellcheck over every shell script in the repository (the tests, the examples,
# the packaging, .ci/run) with the settings of .shellcheckrc, at shellcheck's default severity;
# any finding fails. A script is a file named *.sh or *.bash, or one whose first line starts a shell.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts=()
while IFS= read -r -d '' f; do
        case $f in
        *.sh | *.bash) scripts+=("$f") ;;
        *) if head -n 1 "$f" | grep -qE '^#! *(/usr)?/bin/(env +)?(ba|da)?sh( |$)'; then scripts+=("$f"); fi ;;
        esac
done < <(find . -path ./build -prune -o -path ./.git -prune -o -type f -print0 | LC_ALL=C sort -z)
[ "${#scripts[@]}" -gt 0 ] || { echo "shellcheck: no shell script found" >&2; exit 1; }
shellcheck "${scripts[@]}"
echo "shellcheck: ${#scripts[@]} scripts clean"
