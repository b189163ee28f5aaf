/* Helpers for the fuzz targets (see fuzz.h). */
#include <fcntl.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "fuzz.h"

static char scratch[4096];

static int rm_one(const char *path, const struct stat *st, int type, struct FTW *ftw) {
        (void) st;
        (void) ftw;
        if (type == FTW_DP)
                (void) rmdir(path);
        else
                (void) unlink(path);
        return 0;
}

static void scratch_remove(void) {
        if (scratch[0])
                (void) nftw(scratch, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

const char *fuzz_scratch_dir(void) {
        if (scratch[0])
                return scratch;
        const char *tmp = getenv("TMPDIR");
        snprintf(scratch, sizeof scratch, "%s/gpubase-fuzz.XXXXXX", tmp && *tmp ? tmp : "/tmp");
        if (!mkdtemp(scratch)) {
                perror(scratch);
                abort();
        }
        atexit(scratch_remove);
        return scratch;
}

void fuzz_fail(const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        fputs("fuzz: property violated: ", stderr);
        vfprintf(stderr, fmt, ap);
        fputc('\n', stderr);
        va_end(ap);
        abort();
}

void fuzz_write_file(const char *path, const uint8_t *data, size_t size) {
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (fd < 0) {
                perror(path);
                abort();
        }
        while (size > 0) {
                ssize_t n = write(fd, data, size);
                if (n <= 0) {
                        perror(path);
                        abort();
                }
                data += n;
                size -= (size_t) n;
        }
        close(fd);
}
