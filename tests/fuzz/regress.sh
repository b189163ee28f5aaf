#!/bin/bash
# regress.sh TARGET... (`make fuzz-regress`, part of san-check): replays through each fuzz target
# built without libFuzzer (gcc, ASan+UBSan, tests/fuzz/standalone.c's main) its seed corpus, every
# input that once crashed it (tests/fuzz/regressions/TARGET) and the corpus grown by earlier
# `make fuzz` runs if there is one; the first target that fails stops it.
#   REGRESS_BIN  directory of the standalone targets (build/san/fuzz)
#   FUZZ_DIR     build/fuzz: corpus/TARGET (the seeds), work/TARGET (the grown corpus)
set -euo pipefail
: "${REGRESS_BIN:?}" "${FUZZ_DIR:?}"
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
for t in "$@"; do
        dirs=("$FUZZ_DIR/corpus/$t")
        [ ! -d "$HERE/regressions/$t" ] || dirs+=("$HERE/regressions/$t")
        [ ! -d "$FUZZ_DIR/work/$t" ] || dirs+=("$FUZZ_DIR/work/$t")
        ASAN_OPTIONS=detect_leaks=1 "$REGRESS_BIN/$t" "${dirs[@]}"
done
