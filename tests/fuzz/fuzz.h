/* Shared by the fuzz targets: a scratch directory for the whole process, and the libFuzzer entry
 * points. The same targets are linked two ways: with libFuzzer (clang -fsanitize=fuzzer; `make
 * fuzz`), and with standalone.c, a main() that feeds them files (gcc, ASan+UBSan; `make
 * fuzz-regress` replays the seed corpora and every input a fuzzer ever crashed on). */
#pragma once

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* <TMPDIR>/gpubase-fuzz.XXXXXX, created once and removed at exit; aborts if it cannot be made. */
const char *fuzz_scratch_dir(void);
/* A property of the code under test does not hold: print why and abort (libFuzzer saves the input). */
_Noreturn void fuzz_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Writes size bytes to path (created or truncated, mode 0600); aborts on any error. */
void fuzz_write_file(const char *path, const uint8_t *data, size_t size);
