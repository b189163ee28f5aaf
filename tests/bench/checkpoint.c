/* bench-checkpoint STATE.json DIR RUNS: the cost of one checkpoint as the engine writes it.
 * Reads STATE.json (a converged run's state), then writes it RUNS times with state_save() to
 * DIR/state.json: serialise, temp file, write, fsync, rename, fsync of the directory. Prints
 * "median_us min_us max_us bytes". DIR should be on the filesystem that holds /var/lib/gpubase. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plan/state.h"
#include "host/host.h"

static int cmp_u64(const void *a, const void *b) {
        uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;
        return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
        if (argc != 4) {
                fprintf(stderr, "usage: bench-checkpoint STATE.json DIR RUNS\n");
                return 64;
        }
        _cleanup_(state_freep) State *s = NULL;
        _cleanup_free_ char *why = NULL;
        int r = state_load(argv[1], &s, &why);
        if (r < 0) {
                fprintf(stderr, "%s: %s\n", argv[1], why ? why : strerror(-r));
                return 1;
        }
        int runs = atoi(argv[3]);
        if (runs < 1)
                return 64;
        _cleanup_free_ char *path = xasprintf("%s/state.json", argv[2]);
        uint64_t *t = xcalloc((size_t) runs, sizeof(uint64_t));
        for (int i = 0; i < runs; i++) {
                uint64_t t0 = mono_usec();
                r = state_save(path, s);
                t[i] = mono_usec() - t0;
                if (r < 0) {
                        fprintf(stderr, "%s: %s\n", path, strerror(-r));
                        free(t);
                        return 1;
                }
        }
        _cleanup_free_ char *json = state_to_json(s, true);
        qsort(t, (size_t) runs, sizeof(uint64_t), cmp_u64);
        uint64_t median = runs % 2 ? t[runs / 2] : (t[runs / 2 - 1] + t[runs / 2]) / 2;
        printf("%llu %llu %llu %zu\n", (unsigned long long) median, (unsigned long long) t[0],
               (unsigned long long) t[runs - 1], strlen(json) + 1);
        free(t);
        return 0;
}
