#include "engine/progress.h"

#include <stdarg.h>
#include <string.h>
#include <systemd/sd-daemon.h>
#include <systemd/sd-journal.h>

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
                return ANSI_YELLOW;
        default:
                return "";
        }
}

void progress_step_start(Progress *r, size_t i, size_t n, const Step *s) {
        (void) sd_notifyf(0, "STATUS=step %zu/%zu: %s (%s)", i + 1, n, s->id, s->kind->name);
        if (r->tty) {
                printf("%s[%zu/%zu]%s %-24s %-9s %s...%s", r->color ? ANSI_BOLD : "", i + 1, n,
                       r->color ? ANSI_RESET : "", s->id, s->kind->name, r->color ? ANSI_GREY : "",
                       r->color ? ANSI_RESET : "");
                fflush(stdout);
        } else if (r->verbose > 0) {
                printf("[%zu/%zu] %s (%s) started\n", i + 1, n, s->id, s->kind->name);
                fflush(stdout);
        }
}

void progress_step_end(Progress *r, size_t i, size_t n, const Step *s, const StepRecord *rec, uint64_t elapsed_usec) {
        const char *state = step_state_to_string(rec->state);
        bool bad = rec->state == STEP_FAILED || rec->state == STEP_INTERRUPTED;
        const char *text = bad ? rec->error : rec->detail;
        double secs = (double) elapsed_usec / 1e6;

        if (r->tty)
                printf("\r\033[K");
        printf("%s[%zu/%zu]%s %-24s %-9s %s%-16s%s %6.2fs  %s\n", r->color ? ANSI_BOLD : "", i + 1, n,
               r->color ? ANSI_RESET : "", s->id, s->kind->name, r->color ? state_color(rec->state) : "", state,
               r->color ? ANSI_RESET : "", secs, text ? text : "");
        fflush(stdout);
        if (r->journal)
                (void) sd_journal_send("MESSAGE=step %s (%s): %s%s%s", s->id, s->kind->name, state, text ? ": " : "",
                                       text ? text : "", "PRIORITY=%d", bad ? 3 : 6,
                                       "SYSLOG_IDENTIFIER=gpubase", "GPUBASE_RUN=%s", r->run_id ? r->run_id : "",
                                       "GPUBASE_PLAN=%s", r->plan_name ? r->plan_name : "", "GPUBASE_STEP=%s", s->id,
                                       "GPUBASE_STATE=%s", state, NULL);
}

void progress_check(Progress *r, const Step *s, const CheckSpec *c, const CheckResult *res) {
        if (res->status == CHECK_OK && r->verbose == 0)
                return;
        _cleanup_free_ char *label = check_spec_label(c);
        if (r->tty)
                printf("\r\033[K");
        printf("      check %-30s %s%s%s  %s%s%s\n", label,
               r->color ? (res->status == CHECK_OK ? ANSI_GREEN : res->status == CHECK_FAIL ? ANSI_RED : ANSI_YELLOW) : "",
               check_status_to_string(res->status), r->color ? ANSI_RESET : "", res->detail ? res->detail : "",
               res->fix ? " — fix: " : "", res->fix ? res->fix : "");
        fflush(stdout);
        (void) s;
}

void progress_note(Progress *r _unused_, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        vprintf(fmt, ap);
        va_end(ap);
        putchar('\n');
        fflush(stdout);
}
