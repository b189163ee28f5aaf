#include "checks/dpkg_status.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

struct DpkgStatus {
        unsigned refs;
        char *text;
        DpkgStanza *stanzas;
        size_t n;
        struct stat id; /* the file as it was when read: dev, ino, size, mtime and ctime */
};

/* "Package: name" at the start of one of the stanza's lines: the name, else NULL. */
static char *package_of(const char *s, size_t len) {
        for (const char *l = s; l && l < s + len;) {
                if (strncmp(l, "Package:", 8) == 0) {
                        const char *v = l + 8 + strspn(l + 8, " \t");
                        const char *e = memchr(v, '\n', (size_t) (s + len - v));
                        size_t n = (size_t) ((e ? e : s + len) - v);
                        while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t'))
                                n--;
                        return xstrndup(v, n);
                }
                l = memchr(l, '\n', (size_t) (s + len - l));
                if (l)
                        l++;
        }
        return NULL;
}

/* Stanzas are separated by empty lines (deb822); a stanza's text keeps its last newline. */
static DpkgStatus *split(char *text /* owned */) {
        DpkgStatus *s = xcalloc(1, sizeof(DpkgStatus));
        size_t cap = 0;
        s->refs = 1;
        s->text = text;
        for (const char *p = text; *p;) {
                while (*p == '\n')
                        p++;
                if (!*p)
                        break;
                const char *e = strstr(p, "\n\n");
                size_t len = e ? (size_t) (e - p) + 1 : strlen(p);
                if (s->n == cap) {
                        cap = cap ? cap * 2 : 256;
                        s->stanzas = xrealloc(s->stanzas, cap * sizeof(DpkgStanza));
                }
                s->stanzas[s->n++] = (DpkgStanza){.package = package_of(p, len), .text = p, .len = len};
                p += len;
        }
        return s;
}

DpkgStatus *dpkg_status_from_text(const char *text) {
        return split(xstrdup(text));
}

DpkgStatus *dpkg_status_unref(DpkgStatus *s) {
        if (!s || --s->refs > 0)
                return NULL;
        for (size_t i = 0; i < s->n; i++)
                free(s->stanzas[i].package);
        free(s->stanzas);
        free(s->text);
        free(s);
        return NULL;
}

static void memo_free(void *data) {
        dpkg_status_unref(data);
}

static bool same_file(const struct stat *a, const struct stat *b) {
        return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
               a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
               a->st_ctim.tv_sec == b->st_ctim.tv_sec && a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

int dpkg_status_get(const Host *h, DpkgStatus **ret) {
        _cleanup_close_ int fd = host_open(h, "/var/lib/dpkg/status", O_RDONLY, 0);
        struct stat st;
        if (fd < 0)
                return fd;
        if (fstat(fd, &st) < 0)
                return negative_errno();
        DpkgStatus *kept = host_memo_get(h, HOST_MEMO_DPKG_STATUS);
        if (kept && same_file(&kept->id, &st)) {
                kept->refs++;
                *ret = kept;
                return 0;
        }
        _cleanup_free_ char *text = NULL;
        int r = read_fd(fd, 256 * 1024 * 1024, &text, NULL);
        if (r < 0)
                return r;
        DpkgStatus *s = split(TAKE_PTR(text));
        s->id = st;
        if (host_memo_set(h, HOST_MEMO_DPKG_STATUS, s, memo_free))
                s->refs++; /* one for the memo, one for the caller */
        *ret = s;
        return 0;
}

size_t dpkg_status_count(const DpkgStatus *s) {
        return s->n;
}

const DpkgStanza *dpkg_status_at(const DpkgStatus *s, size_t i) {
        return i < s->n ? &s->stanzas[i] : NULL;
}
