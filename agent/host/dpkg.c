/* dpkg's status and architectures, read directly (see dpkg.h). Written here rather than through
 * libdpkg, which Debian ships only as a static library with an unstable interface; libapt reads
 * the same file, but opening it costs a package cache (tens of MB on a real host's lists). */
#include "host/dpkg.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/error.h"

#define DPKG_STATUS_MAX (512 * 1024 * 1024)

/* The value of field name in a stanza ("" when absent), newly allocated; the first line only. */
static char *stanza_field(const char *stanza, size_t len, const char *name) {
        size_t n = strlen(name);
        for (const char *l = stanza; l && l < stanza + len;) {
                if (strncasecmp(l, name, n) == 0 && l[n] == ':') {
                        const char *v = l + n + 1;
                        while (*v == ' ' || *v == '\t')
                                v++;
                        const char *e = strchr(v, '\n');
                        if (!e || e > stanza + len)
                                e = stanza + len;
                        while (e > v && (e[-1] == ' ' || e[-1] == '\t'))
                                e--;
                        return xstrndup(v, (size_t) (e - v));
                }
                l = strchr(l, '\n');
                if (l)
                        l++;
        }
        return xstrdup("");
}

static int stanza_cmp(const void *a, const void *b) {
        const DpkgStanza *x = a, *y = b;
        int c = strcmp(x->name, y->name);
        return c ? c : (x->text > y->text) - (x->text < y->text);
}

/* "hold ok installed" -> its three words (missing ones ""). */
static void split_status(const char *status, DpkgStanza *p) {
        char *w[3] = {NULL, NULL, NULL};
        const char *s = status;
        for (size_t i = 0; i < 3; i++) {
                s += strspn(s, " \t");
                size_t n = strcspn(s, " \t");
                w[i] = xstrndup(s, n);
                s += n;
        }
        p->want = w[0];
        p->flag = w[1];
        p->state = w[2];
}

void dpkg_status_parse(char *text, DpkgStatus *ret) {
        DpkgStatus st = {.text = text ? text : xstrdup("")};
        size_t cap = 0;
        for (const char *s = st.text; *s;) {
                while (*s == '\n')
                        s++;
                if (!*s)
                        break;
                const char *e = strstr(s, "\n\n");
                size_t len = e ? (size_t) (e - s) + 1 : strlen(s);
                _cleanup_free_ char *name = stanza_field(s, len, "Package");
                if (*name) {
                        if (st.n == cap) {
                                cap = cap ? cap * 2 : 1024;
                                st.pkgs = realloc(st.pkgs, cap * sizeof *st.pkgs);
                                if (!st.pkgs)
                                        abort();
                        }
                        DpkgStanza *p = &st.pkgs[st.n++];
                        _cleanup_free_ char *status = stanza_field(s, len, "Status");
                        *p = (DpkgStanza){.name = TAKE_PTR(name), .arch = stanza_field(s, len, "Architecture"),
                                          .version = stanza_field(s, len, "Version"), .text = s, .len = len};
                        split_status(status, p);
                }
                s += len;
        }
        if (st.n > 1)
                qsort(st.pkgs, st.n, sizeof *st.pkgs, stanza_cmp);
        *ret = st;
}

void dpkg_status_done(DpkgStatus *s) {
        for (size_t i = 0; i < s->n; i++) {
                DpkgStanza *p = &s->pkgs[i];
                free(p->name);
                free(p->arch);
                free(p->version);
                free(p->want);
                free(p->flag);
                free(p->state);
        }
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
