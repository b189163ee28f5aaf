/* What went wrong when dpkg failed under a session, told from what dpkg and its maintainer scripts
 * wrote to apt's terminal log (APT_TERM_LOG) during that install: libapt itself only says
 * "Sub-process /usr/bin/dpkg returned an error code (1)". A DKMS build that failed (dkms prints
 * "Bad return status for module build on kernel: KVER" and "Consult PATH/make.log") is named with
 * its kernel, the compiler's first error from that log and the log's path: a driver release that
 * does not build against an installed kernel is the commonest way a real driver install fails.
 * Otherwise the packages dpkg could not configure are named. */
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "base/error.h"
#include "base/strset.h"
#include "base/util.h"
#include "host/apt.h"

/* The text after needle on its line, up to end (or the line's end): malloc'ed, or NULL. */
static char *after(const char *text, const char *needle, const char *end) {
        const char *p = strstr(text, needle);
        if (!p)
                return NULL;
        p += strlen(needle);
        size_t n = strcspn(p, "\n");
        const char *e = end ? strstr(p, end) : NULL;
        if (e && (size_t) (e - p) < n)
                n = (size_t) (e - p);
        return n ? xstrndup(p, n) : NULL;
}

/* The first line of the build log (under h) with a compiler error, less the build directory's
 * prefix; NULL when there is none. */
static char *first_error(const Host *h, const char *log) {
        _cleanup_free_ char *path = host_path(h, log), *text = NULL;
        if (read_file(path, 64 * 1024 * 1024, &text, NULL) < 0)
                return NULL;
        const char *p = strstr(text, ": error: ");
        if (!p)
                p = strstr(text, ": fatal error: ");
        if (!p)
                return NULL;
        const char *b = p;
        while (b > text && b[-1] != '\n')
                b--;
        _cleanup_free_ char *dir = xstrndup(log, strlen(log) - strlen("make.log"));
        if (startswith(b, dir))
                b += strlen(dir);
        return xstrndup(b, strcspn(b, "\n"));
}

static char *dkms_failure(const Host *h, const char *out) {
        _cleanup_free_ char *kver = after(out, "Bad return status for module build on kernel: ", " (");
        _cleanup_free_ char *log = after(out, "Consult ", " for more information");
        if (!kver)
                return NULL;
        /* /var/lib/dkms/MODULE/VERSION/build/make.log: "MODULE VERSION" */
        _cleanup_free_ char *module = NULL;
        if (log && startswith(log, "/var/lib/dkms/")) {
                const char *m = log + strlen("/var/lib/dkms/"), *v = strchr(m, '/');
                if (v && strchr(v + 1, '/'))
                        module = xasprintf("%.*s %.*s", (int) (v - m), m, (int) strcspn(v + 1, "/"), v + 1);
        }
        _cleanup_free_ char *err = log ? first_error(h, log) : NULL;
        return xasprintf("DKMS could not build %s for kernel %s%s%s%s%s%s: this driver release does not build against "
                         "that kernel; install a driver release that supports it, or boot a kernel the driver supports",
                         module ? module : "the module", kver, err ? ": " : "", err ? err : "",
                         log ? " (the build log: " : "", log ? log : "", log ? ")" : "");
}

/* "dpkg could not set up A, B" from dpkg's "error processing package A (--configure)" lines, each
 * package once */
static char *unconfigured(const char *out) {
        Buf b = {0};
        StrSet seen = {0};
        static const char needle[] = "dpkg: error processing package ";
        for (const char *p = strstr(out, needle); p; p = strstr(p, needle)) {
                p += strlen(needle);
                _cleanup_free_ char *name = xstrndup(p, strcspn(p, " \n"));
                if (!*name || !strset_add(&seen, name))
                        continue;
                buf_puts(&b, b.len ? ", " : "dpkg could not set up ");
                buf_puts(&b, name);
        }
        strset_done(&seen);
        return b.len ? buf_steal(&b) : NULL;
}

char *apt_dpkg_failure_detail(const Host *h, const char *out) {
        char *d = dkms_failure(h, out);
        return d ? d : unconfigured(out);
}

off_t apt_term_log_mark(const AptSession *s) {
        return s->dpkg_log_fd > 0 ? lseek(s->dpkg_log_fd, 0, SEEK_END) : -1;
}

char *apt_term_log_failure(const AptSession *s, off_t since) {
        if (s->dpkg_log_fd <= 0 || since < 0)
                return NULL;
        _cleanup_close_ int fd = host_open(s->host, APT_TERM_LOG, O_RDONLY | O_NOFOLLOW | O_CLOEXEC, 0);
        off_t end = fd >= 0 ? lseek(fd, 0, SEEK_END) : -1;
        if (end <= since)
                return NULL;
        size_t n = (size_t) (end - since);
        if (n > 4 * 1024 * 1024) { /* the end of a long install is where it failed */
                since = end - 4 * 1024 * 1024;
                n = 4 * 1024 * 1024;
        }
        _cleanup_free_ char *text = xmalloc(n + 1);
        ssize_t got = pread(fd, text, n, since);
        if (got <= 0)
                return NULL;
        text[got] = '\0';
        return apt_dpkg_failure_detail(s->host, text);
}
