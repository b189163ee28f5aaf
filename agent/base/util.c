#include "base/util.h"

#include <ctype.h>
#include <fcntl.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>

#include "base/hash.h"

_noreturn_ void oom_abort(void) {
        fputs("gpubase: out of memory\n", stderr);
        abort();
}

void *xmalloc(size_t n) {
        void *p = malloc(n ? n : 1);
        if (!p)
                oom_abort();
        return p;
}

void *xcalloc(size_t n, size_t size) {
        void *p = calloc(n ? n : 1, size ? size : 1);
        if (!p)
                oom_abort();
        return p;
}

void *xrealloc(void *p, size_t n) {
        p = realloc(p, n ? n : 1);
        if (!p)
                oom_abort();
        return p;
}

char *xstrdup(const char *s) {
        char *p = strdup(s ? s : "");
        if (!p)
                oom_abort();
        return p;
}

char *xstrndup(const char *s, size_t n) {
        char *p = strndup(s, n);
        if (!p)
                oom_abort();
        return p;
}

char *xvasprintf(const char *fmt, va_list ap) {
        char *p;
        if (vasprintf(&p, fmt, ap) < 0)
                oom_abort();
        return p;
}

char *xasprintf(const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        char *p = xvasprintf(fmt, ap);
        va_end(ap);
        return p;
}

size_t strv_length(char *const *l) {
        size_t n = 0;
        if (l)
                while (l[n])
                        n++;
        return n;
}

char **strv_copy(char *const *l) {
        size_t n = strv_length(l);
        char **c = xcalloc(n + 1, sizeof(char *));
        for (size_t i = 0; i < n; i++)
                c[i] = xstrdup(l[i]);
        return c;
}

void strv_push(char ***l, char *value) {
        size_t n = strv_length(*l);
        *l = xrealloc(*l, (n + 2) * sizeof(char *));
        (*l)[n] = value;
        (*l)[n + 1] = NULL;
}

char **strv_free(char **l) {
        if (l)
                for (char **i = l; *i; i++)
                        free(*i);
        free(l);
        return NULL;
}

char *strv_join(char *const *l, const char *sep) {
        Buf b = {0};
        for (size_t i = 0; l && l[i]; i++) {
                if (i > 0)
                        buf_puts(&b, sep);
                buf_puts(&b, l[i]);
        }
        return buf_steal(&b);
}

int strcmp_ptr(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

bool startswith(const char *s, const char *prefix) {
        return strncmp(s, prefix, strlen(prefix)) == 0;
}

char *strip(char *s) {
        char *e;
        while (isspace((unsigned char) *s))
                memmove(s, s + 1, strlen(s));
        e = s + strlen(s);
        while (e > s && isspace((unsigned char) e[-1]))
                *--e = 0;
        return s;
}

void buf_append(Buf *b, const char *s, size_t n) {
        if (b->len + n + 1 > b->cap) {
                b->cap = (b->len + n + 1) * 2;
                b->data = xrealloc(b->data, b->cap);
        }
        memcpy(b->data + b->len, s, n);
        b->len += n;
        b->data[b->len] = 0;
}

void buf_puts(Buf *b, const char *s) {
        buf_append(b, s, strlen(s));
}

void buf_printf(Buf *b, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        _cleanup_free_ char *s = xvasprintf(fmt, ap);
        va_end(ap);
        buf_puts(b, s);
}

char *buf_steal(Buf *b) {
        char *s = b->data ? b->data : xstrdup("");
        b->data = NULL;
        b->len = b->cap = 0;
        return s;
}

void buf_done(Buf *b) {
        free(b->data);
        b->data = NULL;
        b->len = b->cap = 0;
}

int read_file(const char *path, size_t max, char **ret, size_t *ret_len) {
        /* O_NONBLOCK: a FIFO planted where a file should be must not make us wait for a writer */
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        struct stat st;
        if (fd < 0 || fstat(fd, &st) < 0)
                return negative_errno();
        if (S_ISDIR(st.st_mode))
                return -EISDIR;
        if (!S_ISREG(st.st_mode))
                return -EINVAL; /* a FIFO, a device, a socket: not a file to read whole */
        return read_fd(fd, max, ret, ret_len);
}

int read_fd(int fd, size_t max, char **ret, size_t *ret_len) {
        /* straight into one buffer of the file's size (a byte more to see the end, one for the NUL):
         * dpkg's status, megabytes, is read at every run */
        struct stat st;
        size_t cap = 8192, len = 0;
        if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0 && (uint64_t) st.st_size <= max)
                cap = (size_t) st.st_size + 2;
        _cleanup_free_ char *data = xmalloc(cap);
        for (;;) {
                if (cap - len < 2) {
                        cap *= 2;
                        data = xrealloc(data, cap);
                }
                ssize_t n = read(fd, data + len, cap - len - 1);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return negative_errno();
                }
                if (n == 0)
                        break;
                if (len + (size_t) n > max)
                        return -EFBIG;
                len += (size_t) n;
        }
        data[len] = 0;
        if (ret_len)
                *ret_len = len;
        *ret = TAKE_PTR(data);
        return 0;
}

int read_line_file(const char *path, char **ret) {
        _cleanup_free_ char *s = NULL;
        int r = read_file(path, 64 * 1024, &s, NULL);
        if (r < 0)
                return r;
        /* read_file() sets s whenever it returns 0 (negative_errno() is never 0) */
        s[strcspn(s, "\n")] = 0; /* NOLINT(clang-analyzer-core.NonNullParamChecker) */
        *ret = xstrdup(strip(s));
        return 0;
}

static uint64_t clock_usec(clockid_t c) {
        struct timespec ts;
        clock_gettime(c, &ts);
        return (uint64_t) ts.tv_sec * 1000000ULL + (uint64_t) ts.tv_nsec / 1000ULL;
}

uint64_t now_usec(void) {
        return clock_usec(CLOCK_REALTIME);
}

uint64_t mono_usec(void) {
        return clock_usec(CLOCK_MONOTONIC);
}

char *format_timestamp(uint64_t usec) {
        time_t t = (time_t) (usec / 1000000ULL);
        struct tm tm;
        char s[64];
        gmtime_r(&t, &tm);
        strftime(s, sizeof s, "%Y-%m-%dT%H:%M:%SZ", &tm);
        return xstrdup(s);
}

int random_id(char ret[33]) {
        unsigned char b[16];
        size_t got = 0;
        while (got < sizeof b) {
                ssize_t n = getrandom(b + got, sizeof b - got, 0);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return negative_errno();
                }
                got += (size_t) n;
        }
        hex_encode(b, sizeof b, ret);
        return 0;
}

int parse_mode(const char *s, unsigned *ret) {
        size_t n = strlen(s);
        unsigned v = 0;
        if (n < 3 || n > 4)
                return -EINVAL;
        for (size_t i = 0; i < n; i++) {
                if (s[i] < '0' || s[i] > '7')
                        return -EINVAL;
                v = v * 8 + (unsigned) (s[i] - '0');
        }
        *ret = v;
        return 0;
}

int parse_uint(const char *s, unsigned *ret) {
        unsigned long v = 0;
        if (!*s)
                return -EINVAL;
        for (const char *p = s; *p; p++) {
                if (*p < '0' || *p > '9')
                        return -EINVAL;
                v = v * 10 + (unsigned long) (*p - '0');
                if (v > 0x7fffffffUL)
                        return -ERANGE;
        }
        *ret = (unsigned) v;
        return 0;
}

/* text (len bytes, owned) with every needle (m > 0 bytes) replaced by REDACTED; frees text */
static char *replace_all(char *text, size_t *len, const char *needle, size_t m) {
        Buf out = {0};
        const char *p = text, *end = text + *len, *hit;
        buf_puts(&out, "");
        while ((size_t) (end - p) >= m && (hit = memmem(p, (size_t) (end - p), needle, m))) {
                buf_append(&out, p, (size_t) (hit - p));
                buf_puts(&out, REDACTED);
                p = hit + m;
        }
        buf_append(&out, p, (size_t) (end - p));
        free(text);
        *len = out.len;
        return buf_steal(&out);
}

char *redact(const char *data, size_t len, char *const *secrets, size_t *ret_len) {
        char *cur = xmalloc(len + 1);
        if (len > 0)
                memcpy(cur, data, len);
        cur[len] = 0;
        /* longest first: a secret that is part of a longer one must not break that one up */
        for (size_t below = SIZE_MAX;;) {
                size_t longest = 0;
                for (size_t i = 0; secrets && secrets[i]; i++) {
                        size_t m = strlen(secrets[i]);
                        if (m < below && m > longest)
                                longest = m;
                }
                if (longest == 0)
                        break;
                for (size_t i = 0; secrets[i]; i++)
                        if (strlen(secrets[i]) == longest)
                                cur = replace_all(cur, &len, secrets[i], longest);
                below = longest;
        }
        if (ret_len)
                *ret_len = len;
        return cur;
}
