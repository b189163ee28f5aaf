/* bench-checkpoint: what checkpoints cost, as the engine writes them.
 *
 * bench-checkpoint STATE.json DIR RUNS
 *   Reads STATE.json (a converged run's state), then writes it RUNS times with state_save() to
 *   DIR/state.json: serialise, temp file, write, fsync, rename, fsync of the directory. Prints
 *   "median_us min_us max_us bytes". DIR should be on the filesystem that holds /var/lib/gpubase.
 *
 * bench-checkpoint --steps N[,N...] DIR RUNS
 *   For each N: a --root under DIR, a plan of N `file` steps converged by engine_run(), then RUNS
 *   no-op reruns (a fresh run of the same plan: every step probed and found satisfied, the state
 *   written once at the end) and RUNS state_save() calls of the N-step state. Prints one line per N:
 *   "steps N noop_median_us per_step_us save_median_us state_bytes", so that the growth with N can
 *   be read off (linear: per_step_us stays flat). Never fails on speed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/fs.h"
#include "engine/engine.h"
#include "engine/exitcode.h"
#include "plan/state.h"
#include "host/host.h"

static int cmp_u64(const void *a, const void *b) {
        uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;
        return x < y ? -1 : x > y;
}

static uint64_t median(uint64_t *t, int runs) {
        qsort(t, (size_t) runs, sizeof(uint64_t), cmp_u64);
        return runs % 2 ? t[runs / 2] : (t[runs / 2 - 1] + t[runs / 2]) / 2;
}

static int save_state_file(int argc, char **argv) {
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
        uint64_t med = median(t, runs);
        printf("%llu %llu %llu %zu\n", (unsigned long long) med, (unsigned long long) t[0],
               (unsigned long long) t[runs - 1], strlen(json) + 1);
        free(t);
        return 0;
}

static int write_text(const char *path, const char *text) {
        int r = mkdir_parents(path, 0755);
        return r < 0 ? r : write_file_atomic(path, text, strlen(text), 0644);
}

/* A root under dir with what a run needs (os-release, a boot id) and a plan of n file steps. */
static int make_root(const char *dir, size_t n, char **ret_root, char **ret_plan) {
        _cleanup_free_ char *root = xasprintf("%s/root-%zu", dir, n), *plan = xasprintf("%s/plan-%zu.yaml", dir, n);
        _cleanup_free_ char *osr = xasprintf("%s/etc/os-release", root);
        _cleanup_free_ char *boot = xasprintf("%s/proc/sys/kernel/random/boot_id", root);
        int r = write_text(osr, "ID=debian\nVERSION_ID=\"12\"\n");
        if (r >= 0)
                r = write_text(boot, "bench-boot\n");
        if (r < 0)
                return r;
        Buf b = {0};
        buf_printf(&b, "version: 1\nname: bench-%zu\nsteps:\n", n);
        for (size_t i = 0; i < n; i++)
                buf_printf(&b, "  - {id: f%zu, kind: file, path: /etc/bench/f%zu.conf, content: \"step %zu\\n\"}\n", i, i,
                           i);
        _cleanup_free_ char *text = buf_steal(&b);
        r = write_text(plan, text);
        if (r < 0)
                return r;
        *ret_root = TAKE_PTR(root);
        *ret_plan = TAKE_PTR(plan);
        return 0;
}

/* One engine run of a fresh state of p; its wall time in *ret_us. */
static int engine_once(Host *h, Plan *p, const char *spath, uint64_t *ret_us, State **ret_state) {
        _cleanup_(state_freep) State *st = NULL;
        int r = state_new(p, &st);
        if (r < 0)
                return r;
        Ctx ctx = {.host = h, .plan = p, .state = st, .reboot_mode = REBOOT_EXIT};
        uint64_t t0 = mono_usec();
        r = engine_run(&ctx, spath);
        *ret_us = mono_usec() - t0;
        if (r != EXIT_OK)
                return -EIO;
        if (ret_state)
                *ret_state = TAKE_PTR(st);
        return 0;
}

static int steps_row(FILE *figures, const char *dir, size_t n, int runs) {
        _cleanup_free_ char *root = NULL, *plan_path = NULL;
        _cleanup_(plan_freep) Plan *p = NULL;
        _cleanup_(state_freep) State *last = NULL;
        SrcError perr = {0};
        Host h = {0};
        uint64_t us;
        int r = make_root(dir, n, &root, &plan_path);
        if (r < 0 || (r = host_init(&h, root)) < 0)
                return r;
        r = plan_load(plan_path, &h, &p, &perr);
        if (r < 0) {
                _cleanup_free_ char *m = src_error_format(&perr);
                fprintf(stderr, "%s: %s\n", plan_path, m);
                src_error_done(&perr);
                host_done(&h);
                return r;
        }
        _cleanup_free_ char *spath = host_path(&h, GPUBASE_STATE_FILE);
        uint64_t *noop = xcalloc((size_t) runs, sizeof(uint64_t)), *save = xcalloc((size_t) runs, sizeof(uint64_t));
        r = engine_once(&h, p, spath, &us, NULL); /* converge: every step applies */
        for (int i = 0; r >= 0 && i < runs; i++) {
                last = state_free(last);
                r = engine_once(&h, p, spath, &noop[i], &last);
        }
        for (int i = 0; r >= 0 && i < runs; i++) {
                uint64_t t0 = mono_usec();
                r = state_save(spath, last);
                save[i] = mono_usec() - t0;
        }
        if (r >= 0) {
                _cleanup_free_ char *json = state_to_json(last, true);
                uint64_t nm = median(noop, runs);
                fprintf(figures, "steps %zu %llu %.1f %llu %zu\n", n, (unsigned long long) nm, (double) nm / (double) n,
                       (unsigned long long) median(save, runs), strlen(json) + 1);
        }
        free(noop);
        free(save);
        host_done(&h);
        return r;
}

static int steps_table(int argc, char **argv) {
        if (argc != 5) {
                fprintf(stderr, "usage: bench-checkpoint --steps N[,N...] DIR RUNS\n");
                return 64;
        }
        int runs = atoi(argv[4]);
        if (runs < 1)
                return 64;
        /* the engine's progress lines go to stdout: keep only the figures there */
        fflush(stdout);
        int out = dup(STDOUT_FILENO);
        FILE *figures = out >= 0 ? fdopen(out, "w") : NULL;
        if (!figures || !freopen("/dev/null", "w", stdout))
                return 1;
        _cleanup_free_ char *list = xstrdup(argv[2]);
        int rc = 0;
        for (char *save = NULL, *tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
                unsigned long n = strtoul(tok, NULL, 10);
                if (n < 1 || n > PLAN_MAX_STEPS) {
                        fprintf(stderr, "bench-checkpoint: %s steps: 1 to %d\n", tok, PLAN_MAX_STEPS);
                        rc = 64;
                        break;
                }
                int r = steps_row(figures, argv[3], n, runs);
                fflush(figures);
                if (r < 0) {
                        fprintf(stderr, "bench-checkpoint: %lu steps: %s\n", n, strerror(-r));
                        rc = 1;
                        break;
                }
        }
        fclose(figures);
        return rc;
}

int main(int argc, char **argv) {
        if (argc > 1 && streq(argv[1], "--steps"))
                return steps_table(argc, argv);
        return save_state_file(argc, argv);
}
