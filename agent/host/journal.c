/* gpubase's own journal entries, for `gpubase report` (real machine only). */
#include "host/journal.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "base/error.h"
#include "host/systemd_load.h"

static char *field(sd_journal *j, const char *name) {
        const void *d;
        size_t l, n = strlen(name);
        if (sd_journal_get_data(j, name, &d, &l) < 0 || l <= n + 1)
                return NULL;
        return xstrndup((const char *) d + n + 1, l - n - 1);
}

int host_journal_gpubase(unsigned max_entries, char **ret_text, unsigned *ret_n, char **reterr) {
        sd_journal *j = NULL;
        int r = sd_journal_open(&j, SD_JOURNAL_LOCAL_ONLY | SD_JOURNAL_SYSTEM);
        if (r < 0)
                return errorf(reterr, r, "cannot open the journal: %s", strerror(-r));
        /* what the agent logs itself, and what the unit printed */
        (void) sd_journal_add_match(j, "SYSLOG_IDENTIFIER=gpubase", 0);
        (void) sd_journal_add_disjunction(j);
        (void) sd_journal_add_match(j, "_SYSTEMD_UNIT=" GPUBASE_UNIT, 0);
        (void) sd_journal_seek_tail(j);
        unsigned back = 0;
        while (back < max_entries && sd_journal_previous(j) > 0)
                back++;
        Buf b = {0};
        unsigned n = 0;
        for (unsigned i = 0; i < back; i++) {
                if (i > 0 && sd_journal_next(j) <= 0)
                        break;
                uint64_t usec = 0;
                (void) sd_journal_get_realtime_usec(j, &usec);
                _cleanup_free_ char *ts = format_timestamp(usec);
                _cleanup_free_ char *ident = field(j, "SYSLOG_IDENTIFIER"), *pid = field(j, "_PID");
                _cleanup_free_ char *msg = field(j, "MESSAGE"), *prio = field(j, "PRIORITY");
                buf_printf(&b, "%s %s[%s] <%s> %s", ts, ident ? ident : "?", pid ? pid : "?", prio ? prio : "?",
                           msg ? msg : "");
                static const char *const extra[] = {"GPUBASE_RUN", "GPUBASE_PLAN", "GPUBASE_STEP", "GPUBASE_STATE"};
                for (size_t k = 0; k < ELEMENTSOF(extra); k++) {
                        _cleanup_free_ char *v = field(j, extra[k]);
                        if (v)
                                buf_printf(&b, " %s=%s", extra[k], v);
                }
                buf_puts(&b, "\n");
                n++;
        }
        sd_journal_close(j);
        *ret_text = buf_steal(&b);
        *ret_n = n;
        return 0;
}

static int journal_log_append(const Host *h, char *const *fields, char **reterr) {
        Buf b = {0};
        buf_puts(&b, "SYSLOG_IDENTIFIER=gpubase\n");
        for (size_t i = 0; fields[i]; i++) {
                _cleanup_free_ char *f = xstrdup(fields[i]);
                for (char *c = f; *c; c++)
                        if (*c == '\n')
                                *c = ' ';
                buf_printf(&b, "%s\n", f);
        }
        buf_puts(&b, "\n");
        _cleanup_free_ char *text = buf_steal(&b);
        int r = host_mkdir_state_dir(h);
        _cleanup_close_ int fd = r < 0 ? r
                                       : host_open(h, GPUBASE_JOURNAL_LOG, O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW,
                                                   0600);
        if (fd < 0)
                return errorf(reterr, fd, "cannot append to %s%s: %s", h->root, GPUBASE_JOURNAL_LOG, strerror(-fd));
        size_t n = strlen(text);
        if (write(fd, text, n) != (ssize_t) n)
                return errorf(reterr, -EIO, "cannot append to %s%s: %s", h->root, GPUBASE_JOURNAL_LOG, strerror(errno));
        return 0;
}

int host_journal_send(const Host *h, char *const *fields, char **reterr) {
        if (host_is_rooted(h))
                return journal_log_append(h, fields, reterr);
        size_t n = 0;
        while (fields[n])
                n++;
        _cleanup_free_ struct iovec *iov = xcalloc(n + 1, sizeof(struct iovec));
        for (size_t i = 0; i < n; i++)
                iov[i] = (struct iovec){.iov_base = fields[i], .iov_len = strlen(fields[i])};
        iov[n] = (struct iovec){.iov_base = (char *) "SYSLOG_IDENTIFIER=gpubase", .iov_len = strlen("SYSLOG_IDENTIFIER=gpubase")};
        int r = sd_journal_sendv(iov, (int) n + 1);
        if (r < 0)
                return errorf(reterr, r, "cannot write to the journal: %s", strerror(-r));
        return 0;
}
