/* gpubase's own journal entries, for `gpubase report` (real machine only). */
#include "host/journal.h"

#include <string.h>
#include <systemd/sd-journal.h>

#include "base/error.h"

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
