#include "engine/progress.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "base/term.h"
#include "host/systemd_load.h"
#include "steps/steps.h"

#define ANSI_GREEN "\033[32m"
#define ANSI_RED "\033[31m"
#define ANSI_YELLOW "\033[33m"
#define ANSI_GREY "\033[90m"
#define ANSI_BOLD "\033[1m"
#define ANSI_RESET "\033[0m"

void progress_init(Progress *r, const Ctx *ctx) {
        *r = (Progress){0};
        r->tty = isatty(STDOUT_FILENO);
        const char *term = getenv("TERM");
        r->color = r->tty && !getenv("NO_COLOR") && !(term && streq(term, "dumb"));
        r->journal = !host_is_rooted(ctx->host) && !ctx->dry_run;
        r->verbose = ctx->verbose;
        r->quiet = ctx->quiet;
        /* columns that fit every kind (not just this plan's: the layout is the same for every plan)
         * and this plan's longest step id */
        const char *const *kinds = step_kind_names();
        for (size_t i = 0; kinds[i]; i++)
                if ((int) strlen(kinds[i]) > r->kind_w)
                        r->kind_w = (int) strlen(kinds[i]);
        r->id_w = 8;
        size_t n = ctx->plan ? ctx->plan->n_steps : 0;
        for (size_t i = 0; i < n; i++)
                if ((int) term_width(ctx->plan->steps[i].id) > r->id_w)
                        r->id_w = (int) term_width(ctx->plan->steps[i].id);
        _cleanup_free_ char *count = xasprintf("[%zu/%zu]", n, n);
        r->count_w = (int) strlen(count);
        if (ctx->state) {
                r->run_id = ctx->state->run_id;
                r->plan_name = ctx->state->plan_name;
        }
}

static const char *state_color(StepState s) {
        switch (s) {
        case STEP_DONE:
                return ANSI_GREEN;
        case STEP_SKIPPED:
                return ANSI_GREY;
        case STEP_FAILED:
                return ANSI_RED;
        case STEP_REBOOT_REQUESTED:
        case STEP_INTERRUPTED:
        case STEP_PENDING: /* busy (step_record_busy()) */
                return ANSI_YELLOW;
        default:
                return "";
        }
}

/* "[i/n]" padded to the widest count of the plan */
static char *step_count(const Progress *r, size_t i, size_t n) {
        _cleanup_free_ char *c = xasprintf("[%zu/%zu]", i + 1, n);
        return xasprintf("%-*s", r->count_w, c);
}

/* On a TTY, how many columns a text may take after a prefix of prefix_w columns (the last column is
 * left free: a line that fills it wraps on some terminals). */
static size_t room(size_t prefix_w) {
        size_t cols = term_columns(STDOUT_FILENO);
        return cols > prefix_w + 1 ? cols - prefix_w - 1 : 0;
}

void progress_step_start(Progress *r, size_t i, size_t n, const Step *s) {
        /* only under systemd (NOTIFY_SOCKET is where sd_notify writes): elsewhere libsystemd would be
         * loaded for a call that does nothing */
        if (getenv("NOTIFY_SOCKET"))
                (void) sd_notifyf(0, "STATUS=step %zu/%zu: %s (%s)", i + 1, n, s->id, s->kind->name);
        if (r->quiet)
                return;
        if (r->tty) {
                _cleanup_free_ char *count = step_count(r, i, n);
                _cleanup_free_ char *line = xasprintf("%s %-*s %-*s", count, r->id_w, s->id, r->kind_w, s->kind->name);
                _cleanup_free_ char *fit = term_fit(line, room(3));
                printf("%s%s%s %s...%s", r->color ? ANSI_BOLD : "", fit, r->color ? ANSI_RESET : "",
                       r->color ? ANSI_GREY : "", r->color ? ANSI_RESET : "");
                fflush(stdout);
        } else if (r->verbose > 0) {
                printf("[%zu/%zu] %s (%s) started\n", i + 1, n, s->id, s->kind->name);
                fflush(stdout);
        }
}

void progress_step_end(Progress *r, size_t i, size_t n, const Step *s, const StepRecord *rec, uint64_t elapsed_usec) {
        bool busy = step_record_busy(rec); /* pending again: the dpkg lock was held past lock_timeout */
        const char *state = busy ? "busy" : step_state_to_string(rec->state);
        bool bad = rec->state == STEP_FAILED || rec->state == STEP_INTERRUPTED || busy;
        const char *text = bad ? rec->error : rec->detail;
        double secs = (double) elapsed_usec / 1e6;

        _cleanup_free_ char *count = step_count(r, i, n);
        _cleanup_free_ char *head = xasprintf("%s %-*s %-*s", count, r->id_w, s->id, r->kind_w, s->kind->name);
        _cleanup_free_ char *tail = xasprintf("%-16s %6.2fs  ", state, secs);
        size_t fixed = term_width(head) + 1 + term_width(tail);
        _cleanup_free_ char *detail = r->tty ? term_fit(text ? text : "", room(fixed)) : xstrdup(text ? text : "");
        if (r->tty && !r->quiet)
                printf("\r\033[K");
        if (r->tty && room(fixed) == 0) {
                /* a terminal narrower than the columns themselves: the whole line cut, without colour */
                _cleanup_free_ char *line = xasprintf("%s %s", head, tail);
                _cleanup_free_ char *fit = term_fit(line, room(0));
                printf("%s\n", fit);
        } else
                printf("%s%s%s %s%-16s%s %6.2fs  %s\n", r->color ? ANSI_BOLD : "", head, r->color ? ANSI_RESET : "",
                       r->color ? state_color(rec->state) : "", state, r->color ? ANSI_RESET : "", secs, detail);
        fflush(stdout);
        if (r->journal)
                (void) sd_journal_send("MESSAGE=step %s (%s): %s%s%s", s->id, s->kind->name, state, text ? ": " : "",
                                       text ? text : "", "PRIORITY=%d", bad ? 3 : 6,
                                       "SYSLOG_IDENTIFIER=gpubase", "GPUBASE_RUN=%s", r->run_id ? r->run_id : "",
                                       "GPUBASE_PLAN=%s", r->plan_name ? r->plan_name : "", "GPUBASE_STEP=%s", s->id,
                                       "GPUBASE_STATE=%s", state, NULL);
}

void progress_check(Progress *r, const Step *s, const CheckSpec *c, const CheckResult *res) {
        if (r->quiet || (res->status == CHECK_OK && r->verbose == 0))
                return;
        _cleanup_free_ char *label = check_spec_label(c);
        const char *status = check_status_to_string(res->status);
        _cleanup_free_ char *text = xasprintf("%s%s%s", res->detail ? res->detail : "", res->fix ? " — fix: " : "",
                                              res->fix ? res->fix : "");
        _cleanup_free_ char *head = xasprintf("      check %-30s %s  ", label, status);
        _cleanup_free_ char *detail = r->tty ? term_fit(text, room(term_width(head))) : xstrdup(text);
        if (r->tty)
                printf("\r\033[K");
        printf("      check %-30s %s%s%s  %s\n", label,
               r->color ? (res->status == CHECK_OK ? ANSI_GREEN : res->status == CHECK_FAIL ? ANSI_RED : ANSI_YELLOW) : "",
               status, r->color ? ANSI_RESET : "", detail);
        fflush(stdout);
        (void) s;
}

void progress_note(Progress *r, const char *fmt, ...) {
        if (r->quiet)
                return;
        va_list ap;
        va_start(ap, fmt);
        vprintf(fmt, ap);
        va_end(ap);
        putchar('\n');
        fflush(stdout);
}
