/* main() for the fuzz targets without libFuzzer: runs LLVMFuzzerTestOneInput once on every file
 * named (directories: every file in them, sorted). Built with gcc under ASan+UBSan by `make
 * fuzz-regress`, so the seed corpora and the regression inputs (tests/fuzz/regressions/) are
 * replayed by `make check` on machines without clang. Exit 0 when every input ran; a crash aborts. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

static int run_file(const char *path) {
        FILE *f = fopen(path, "rb");
        if (!f) {
                fprintf(stderr, "%s: %s\n", path, strerror(errno));
                return -1;
        }
        size_t cap = 4096, len = 0;
        uint8_t *buf = malloc(cap);
        for (;;) {
                if (!buf)
                        abort();
                size_t n = fread(buf + len, 1, cap - len, f);
                len += n;
                if (n == 0)
                        break;
                if (len == cap)
                        buf = realloc(buf, cap *= 2);
        }
        fclose(f);
        /* libFuzzer hands over exactly `len` bytes: so does this, in a buffer of that size */
        uint8_t *exact = malloc(len ? len : 1);
        if (!exact)
                abort();
        memcpy(exact, buf, len);
        free(buf);
        LLVMFuzzerTestOneInput(exact, len);
        free(exact);
        return 0;
}

static int cmp(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

static int run_path(const char *path, unsigned *n) {
        struct stat st;
        if (stat(path, &st) < 0) {
                fprintf(stderr, "%s: %s\n", path, strerror(errno));
                return -1;
        }
        if (!S_ISDIR(st.st_mode)) {
                (*n)++;
                return run_file(path);
        }
        struct dirent **names = NULL;
        int k = scandir(path, &names, NULL, NULL), rc = 0;
        if (k < 0) {
                fprintf(stderr, "%s: %s\n", path, strerror(errno));
                return -1;
        }
        char **files = calloc((size_t) k + 1, sizeof(char *));
        int m = 0;
        for (int i = 0; i < k; i++) {
                if (names[i]->d_name[0] != '.') {
                        size_t l = strlen(path) + strlen(names[i]->d_name) + 2;
                        files[m] = malloc(l);
                        snprintf(files[m++], l, "%s/%s", path, names[i]->d_name);
                }
                free(names[i]);
        }
        free(names);
        qsort(files, (size_t) m, sizeof(char *), cmp);
        for (int i = 0; i < m; i++) {
                if (run_path(files[i], n) < 0)
                        rc = -1;
                free(files[i]);
        }
        free(files);
        return rc;
}

int main(int argc, char **argv) {
        unsigned n = 0;
        int rc = 0;
        LLVMFuzzerInitialize(&argc, &argv);
        for (int i = 1; i < argc; i++)
                if (run_path(argv[i], &n) < 0)
                        rc = 1;
        fprintf(stderr, "%s: %u inputs ran\n", argv[0], n);
        return rc;
}
