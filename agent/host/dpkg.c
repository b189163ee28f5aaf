/* dpkg's status and architectures, read directly (see dpkg.h). Written here rather than through
 * libdpkg, which Debian ships only as a static library with an unstable interface; libapt reads
 * the same file, but opening it costs a package cache (tens of MB on a real host's lists). */
#include "host/dpkg.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/error.h"

#define DPKG_STATUS_MAX (512 * 1024 * 1024)

/* The fields the parse keeps, in the order of scan_stanza()'s values. */
enum { F_PACKAGE, F_STATUS, F_ARCH, F_VERSION, _F_MAX };
static const struct {
        const char *name;
        size_t len;
} fields[_F_MAX] = {{"Package", 7}, {"Status", 6}, {"Architecture", 12}, {"Version", 7}};

/* One stanza from s, in one pass over its lines (dpkg's status is megabytes, read at every run):
 * the value of each field of fields[] (the first line of the first occurrence, blanks trimmed;
 * val[i] NULL when absent), and where it ends: at the blank line after it, or the end. */
static const char *scan_stanza(const char *s, const char *val[_F_MAX], size_t vlen[_F_MAX]) {
        for (size_t i = 0; i < _F_MAX; i++)
                val[i] = NULL, vlen[i] = 0;
        const char *l = s;
        while (*l && *l != '\n') {
                const char *e = strchrnul(l, '\n');
                /* most lines are other fields and continuations: let their first letter tell */
                char c = (char) (*l | 0x20);
                for (size_t i = 0; (c == 'p' || c == 's' || c == 'a' || c == 'v') && i < _F_MAX; i++) {
                        size_t n = fields[i].len;
                        if (val[i] || (size_t) (e - l) <= n || l[n] != ':' || strncasecmp(l, fields[i].name, n) != 0)
                                continue;
                        const char *v = l + n + 1, *ve = e;
                        while (v < e && (*v == ' ' || *v == '\t'))
                                v++;
                        while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
                                ve--;
                        val[i] = v;
                        vlen[i] = (size_t) (ve - v);
                        break;
                }
                l = *e ? e + 1 : e;
        }
        return l;
}

static int stanza_cmp(const void *a, const void *b) {
        const DpkgStanza *x = a, *y = b;
        int c = strcmp(x->name, y->name);
        return c ? c : (x->text > y->text) - (x->text < y->text);
}

/* The stanza's six strings in one allocation, name first (dpkg_status_done() frees name alone): a
 * thousand packages made seven thousand allocations. Status "hold ok installed" gives want, flag
 * and state (missing words ""). */
static void stanza_strings(DpkgStanza *p, const char *const val[_F_MAX], const size_t vlen[_F_MAX]) {
        const char *w[3], *q = val[F_STATUS] ? val[F_STATUS] : "", *qe = q + vlen[F_STATUS];
        size_t wn[3];
        for (size_t i = 0; i < 3; i++) {
                while (q < qe && (*q == ' ' || *q == '\t'))
                        q++;
                w[i] = q;
                while (q < qe && *q != ' ' && *q != '\t')
                        q++;
                wn[i] = (size_t) (q - w[i]);
        }
        const char *src[6] = {val[F_PACKAGE], val[F_ARCH], val[F_VERSION], w[0], w[1], w[2]};
        const size_t n[6] = {vlen[F_PACKAGE], vlen[F_ARCH], vlen[F_VERSION], wn[0], wn[1], wn[2]};
        char **dst[6] = {&p->name, &p->arch, &p->version, &p->want, &p->flag, &p->state};
        size_t total = 6;
        for (size_t i = 0; i < 6; i++)
                total += n[i];
        char *o = xmalloc(total);
        for (size_t i = 0; i < 6; i++) {
                *dst[i] = o;
                if (n[i])
                        memcpy(o, src[i], n[i]);
                o[n[i]] = '\0';
                o += n[i] + 1;
        }
}

void dpkg_status_parse(char *text, DpkgStatus *ret) {
        DpkgStatus st = {.text = text ? text : xstrdup("")};
        size_t cap = 0;
        for (const char *s = st.text; *s;) {
                while (*s == '\n')
                        s++;
                if (!*s)
                        break;
                const char *val[_F_MAX];
                size_t vlen[_F_MAX];
                const char *end = scan_stanza(s, val, vlen);
                if (vlen[F_PACKAGE] > 0) {
                        if (st.n == cap) {
                                cap = cap ? cap * 2 : 1024;
                                st.pkgs = realloc(st.pkgs, cap * sizeof *st.pkgs);
                                if (!st.pkgs)
                                        abort();
                        }
                        DpkgStanza *p = &st.pkgs[st.n++];
                        *p = (DpkgStanza){.text = s, .len = (size_t) (end - s)};
                        stanza_strings(p, val, vlen);
                }
                s = end;
        }
        if (st.n > 1)
                qsort(st.pkgs, st.n, sizeof *st.pkgs, stanza_cmp);
        *ret = st;
}

void dpkg_status_done(DpkgStatus *s) {
        for (size_t i = 0; i < s->n; i++)
                free(s->pkgs[i].name); /* and the other five strings with it (stanza_strings()) */
        free(s->pkgs);
        free(s->text);
        *s = (DpkgStatus){0};
}

/* The process's parse, and what the file was when it was read. */
static struct {
        char *path;
        struct stat st;
        bool have;
        DpkgStatus status;
} cache;

static bool same_file(const struct stat *a, const struct stat *b) {
        return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
               a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

int dpkg_status_get(const Host *h, const DpkgStatus **ret) {
        _cleanup_free_ char *path = host_path(h, DPKG_STATUS);
        struct stat st = {0};
        bool exists = stat(path, &st) == 0;
        if (!exists && errno != ENOENT)
                return negative_errno();
        if (cache.have && streq(cache.path, path) && same_file(&cache.st, &st)) {
                *ret = &cache.status;
                return 0;
        }
        char *text = NULL;
        if (exists) {
                int r = read_file(path, DPKG_STATUS_MAX, &text, NULL);
                if (r == -ENOENT)
                        st = (struct stat){0};
                else if (r < 0)
                        return r;
        }
        dpkg_status_done(&cache.status);
        free(cache.path);
        cache.path = TAKE_PTR(path);
        cache.st = st;
        cache.have = true;
        dpkg_status_parse(text, &cache.status);
        *ret = &cache.status;
        return 0;
}

const DpkgStanza *dpkg_status_lookup(const DpkgStatus *s, const char *name) {
        const char *colon = strchr(name, ':');
        _cleanup_free_ char *base = colon ? xstrndup(name, (size_t) (colon - name)) : xstrdup(name);
        const char *want = colon ? colon + 1 : dpkg_native_arch();
        /* the first stanza of that name (sorted: a binary search, then forward) */
        size_t lo = 0, hi = s->n;
        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                if (strcmp(s->pkgs[mid].name, base) < 0)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        const DpkgStanza *all = NULL;
        for (size_t i = lo; i < s->n && streq(s->pkgs[i].name, base); i++) {
                const DpkgStanza *p = &s->pkgs[i];
                if (want && streq(p->arch, want))
                        return p;
                if (!all && (streq(p->arch, "all") || !*p->arch || !want))
                        all = p;
        }
        /* arch all belongs to the native architecture ("name:amd64" finds it on amd64) */
        const char *native = dpkg_native_arch();
        return all && (!colon || !native || streq(colon + 1, native) || streq(colon + 1, "all")) ? all : NULL;
}

bool dpkg_stanza_present(const DpkgStanza *p) {
        return p && *p->state && !streq(p->state, "not-installed") && !streq(p->state, "config-files");
}

bool dpkg_stanza_installed(const DpkgStanza *p) {
        return p && streq(p->state, "installed");
}

bool dpkg_stanza_held(const DpkgStanza *p) {
        return p && streq(p->want, "hold");
}

bool dpkg_any_in_state(const Host *h, const char *const *states, bool reinstreq) {
        const DpkgStatus *st = NULL;
        if (dpkg_status_get(h, &st) < 0 || !st)
                return false;
        for (size_t i = 0; i < st->n; i++) {
                const DpkgStanza *p = &st->pkgs[i];
                if (reinstreq && streq(p->flag, "reinstreq"))
                        return true;
                for (const char *const *s = states; *s; s++)
                        if (streq(p->state, *s))
                                return true;
        }
        return false;
}

/* Debian's names of the CPUs gpubase is built for (dpkg's data/cputable and its ABI suffixes). */
const char *dpkg_native_arch(void) {
#if defined(__x86_64__) && !defined(__ILP32__)
        return "amd64";
#elif defined(__aarch64__) && !defined(__ILP32__)
        return "arm64";
#elif defined(__i386__)
        return "i386";
#elif defined(__powerpc64__) && defined(__LITTLE_ENDIAN__)
        return "ppc64el";
#elif defined(__s390x__)
        return "s390x";
#elif defined(__riscv) && __riscv_xlen == 64
        return "riscv64";
#else
        return NULL; /* unknown here: callers let libapt ask dpkg */
#endif
}

int dpkg_architectures(const Host *h, char ***ret) {
        const char *native = dpkg_native_arch();
        if (!native)
                return -EOPNOTSUPP;
        char **l = NULL;
        strv_push(&l, xstrdup(native));
        _cleanup_free_ char *path = host_path(h, DPKG_ARCH_FILE), *text = NULL;
        /* one name a line, native and foreign alike (dpkg's lib/dpkg/arch.c writes it so); a missing
         * file: no foreign architecture */
        int r = read_file(path, 64 * 1024, &text, NULL);
        if (r < 0 && r != -ENOENT) {
                strv_free(l);
                return r;
        }
        for (char *line = text, *next; line && *line; line = next) {
                next = strchr(line, '\n');
                if (next)
                        *next++ = 0;
                strip(line);
                bool seen = false;
                for (size_t i = 0; l[i] && !seen; i++)
                        seen = streq(l[i], line);
                if (*line && !seen)
                        strv_push(&l, xstrdup(line));
        }
        *ret = l;
        return 0;
}
