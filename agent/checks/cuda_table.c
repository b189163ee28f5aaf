/* The CUDA table (facts.h): which minimum driver each CUDA release needs, built in from
 * plans/data/cuda-driver.tsv and overridden by the machine's local table. */
#include "checks/facts.h"

#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "host/version.h"
#include "checks/data.h"

/* "13.2.1" -> {13, 2, 1}; missing parts are 0. */
static void cuda_parts(const char *v, long p[3]) {
        const char *s = v;
        for (int i = 0; i < 3; i++) {
                p[i] = s && *s ? strtol(s, NULL, 10) : 0;
                s = s ? strchr(s, '.') : NULL;
                if (s)
                        s++;
        }
}

int cuda_version_cmp(const char *a, const char *b) {
        long x[3], y[3];
        cuda_parts(a, x);
        cuda_parts(b, y);
        for (int i = 0; i < 3; i++)
                if (x[i] != y[i])
                        return x[i] < y[i] ? -1 : 1;
        return 0;
}

int cuda_minor_cmp(const char *a, const char *b) {
        long x[3], y[3];
        cuda_parts(a, x);
        cuda_parts(b, y);
        for (int i = 0; i < 2; i++)
                if (x[i] != y[i])
                        return x[i] < y[i] ? -1 : 1;
        return 0;
}

char *cuda_version_from_int(int v) {
        return xasprintf("%d.%d", v / 1000, (v % 1000) / 10);
}

char *cuda_release_name(const char *cuda) {
        long p[3];
        cuda_parts(cuda, p);
        if (p[2] > 0)
                return xasprintf("%ld.%ld Update %ld", p[0], p[1], p[2]);
        return xasprintf("%ld.%ld", p[0], p[1]);
}

void cuda_table_done(CudaTable *t) {
        for (size_t i = 0; i < t->n; i++) {
                free(t->rows[i].cuda);
                free(t->rows[i].driver);
                free(t->rows[i].source);
        }
        free(t->rows);
        *t = (CudaTable){0};
}

/* A version: digits separated by single dots, at most `parts` parts, at least `min` of them. */
static bool is_dotted(const char *s, size_t len, int min, int parts) {
        int n = 0;
        size_t i = 0;
        while (i < len) {
                size_t d = 0;
                while (i + d < len && s[i + d] >= '0' && s[i + d] <= '9')
                        d++;
                if (d == 0 || d > 6)
                        return false;
                n++;
                i += d;
                if (i < len && s[i++] != '.')
                        return false;
                if (i == len && s[len - 1] == '.')
                        return false;
        }
        return n >= min && n <= parts;
}

int cuda_table_add(CudaTable *t, const char *text, const char *origin, bool local, char **reterr) {
        unsigned lineno = 0;
        for (const char *s = text; *s;) {
                const char *e = strchr(s, '\n');
                size_t len = e ? (size_t) (e - s) : strlen(s);
                lineno++;
                while (len > 0 && (s[len - 1] == '\r' || s[len - 1] == ' ' || s[len - 1] == '\t'))
                        len--;
                if (len > 0 && s[0] != '#') {
                        const char *t1 = memchr(s, '\t', len);
                        const char *t2 = t1 ? memchr(t1 + 1, '\t', (size_t) (s + len - t1 - 1)) : NULL;
                        size_t clen = t1 ? (size_t) (t1 - s) : 0;
                        size_t dlen = t1 ? (size_t) ((t2 ? t2 : s + len) - t1 - 1) : 0;
                        if (!t1 || !is_dotted(s, clen, 2, 3) || !is_dotted(t1 + 1, dlen, 2, 3)) {
                                return errorf(reterr, -EBADMSG,
                                              "%s:%u: not \"CUDA<TAB>minimum driver[<TAB>source]\" (e.g. "
                                              "\"13.2<TAB>595.45.04\"): \"%.*s\"",
                                              origin, lineno, (int) len, s);
                        }
                        _cleanup_free_ char *cuda = xstrndup(s, clen);
                        char *driver = xstrndup(t1 + 1, dlen);
                        char *source = local ? xasprintf("%s:%u", origin, lineno)
                                       : t2      ? xstrndup(t2 + 1, (size_t) (s + len - t2 - 1))
                                                 : xstrdup(origin);
                        CudaRow *row = NULL;
                        for (size_t i = 0; i < t->n && !row; i++)
                                if (cuda_version_cmp(t->rows[i].cuda, cuda) == 0)
                                        row = &t->rows[i];
                        if (!row) {
                                t->rows = xrealloc(t->rows, (t->n + 1) * sizeof *t->rows);
                                row = &t->rows[t->n++];
                                *row = (CudaRow){.cuda = TAKE_PTR(cuda)};
                        }
                        free(row->driver);
                        free(row->source);
                        row->driver = driver;
                        row->source = source;
                        row->local = local;
                }
                s += len;
                s += strcspn(s, "\n");
                if (*s)
                        s++;
        }
        return 0;
}

static const CudaTable *builtin_table(void) {
        static CudaTable t;
        static bool loaded;
        if (!loaded) {
                /* the built-in table is unit-tested: it parses */
                if (cuda_table_add(&t, gpubase_data_cuda_driver, "plans/data/cuda-driver.tsv", false, NULL) < 0)
                        abort();
                loaded = true;
        }
        return &t;
}

int cuda_table_load(const Host *h, CudaTable *ret, char **reterr) {
        const CudaTable *b = builtin_table();
        CudaTable t = {0};
        t.rows = xmalloc((b->n ? b->n : 1) * sizeof *t.rows);
        for (size_t i = 0; i < b->n; i++)
                t.rows[t.n++] = (CudaRow){.cuda = xstrdup(b->rows[i].cuda),
                                          .driver = xstrdup(b->rows[i].driver),
                                          .source = xstrdup(b->rows[i].source)};
        if (h) {
                _cleanup_free_ char *p = host_path(h, CUDA_LOCAL_TABLE);
                _cleanup_free_ char *text = NULL;
                int r = read_file(p, 1024 * 1024, &text, NULL);
                if (r < 0 && r != -ENOENT) {
                        cuda_table_done(&t);
                        return errorf(reterr, r, "cannot read %s: %s", CUDA_LOCAL_TABLE, strerror(-r));
                }
                if (r >= 0) {
                        r = cuda_table_add(&t, text, CUDA_LOCAL_TABLE, true, reterr);
                        if (r < 0) {
                                cuda_table_done(&t);
                                return r;
                        }
                }
        }
        *ret = t;
        return 0;
}

const CudaRow *cuda_table_find(const CudaTable *t, const char *cuda) {
        for (size_t i = 0; i < t->n; i++)
                if (cuda_version_cmp(t->rows[i].cuda, cuda) == 0)
                        return &t->rows[i];
        return NULL;
}

const CudaRow *cuda_table_newest(const CudaTable *t) {
        const CudaRow *best = NULL;
        for (size_t i = 0; i < t->n; i++)
                if (!best || cuda_version_cmp(t->rows[i].cuda, best->cuda) > 0)
                        best = &t->rows[i];
        return best;
}

char *cuda_table_ceiling(const CudaTable *t, const char *driver_version) {
        const CudaRow *best = NULL;
        for (size_t i = 0; i < t->n; i++)
                if (version_cmp(driver_version, t->rows[i].driver) >= 0 &&
                    (!best || cuda_version_cmp(t->rows[i].cuda, best->cuda) > 0))
                        best = &t->rows[i];
        if (!best)
                return NULL;
        long p[3];
        cuda_parts(best->cuda, p);
        return xasprintf("%ld.%ld", p[0], p[1]);
}
