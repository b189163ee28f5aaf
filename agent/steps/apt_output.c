#include "steps/apt_output.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"
#include "base/term.h"

/* The status line: text cut to the terminal, drawn over the previous one. */
static void status_line(const char *text) {
        _cleanup_free_ char *fit = term_fit(text, term_columns(STDOUT_FILENO) - 1);
        printf("\r\033[K%s", fit);
        fflush(stdout);
}

static char *bar(unsigned pct) {
        static const char full[] = "##############################";
        return xasprintf("[%-30.*s] %3u%%", (int) (pct * 30 / 100), full, pct);
}

static void print_download(void *userdata, const char *what, unsigned long long done, unsigned long long total) {
        const AptPrinter *p = userdata;
        if (p->live && total > 0) {
                unsigned pct = (unsigned) (done * 100 / total);
                _cleanup_free_ char *b = bar(pct), *line = xasprintf("      downloading %s %llu/%llu kB", b,
                                                                     done / 1024, total / 1024);
                status_line(line);
        } else if (!p->live && p->verbose > 0 && what && *what) {
                printf("      get %s\n", what);
                fflush(stdout);
        }
}

static void print_install(void *userdata, const char *package, const char *action, unsigned step, unsigned steps) {
        AptPrinter *p = userdata;
        const char *what = action && *action ? action : package;
        if (p->live) {
                /* libapt counts dpkg's actions and skips some: a count would jump (6/13, 8/13); the
                 * percentage of a bar that never goes back does not */
                unsigned pct = steps ? step * 100 / steps : 0;
                if (pct > 100)
                        pct = 100;
                if (pct > p->pct)
                        p->pct = pct;
                _cleanup_free_ char *b = bar(p->pct), *line = xasprintf("      installing  %s %s", b, what);
                status_line(line);
        } else if (p->verbose > 0 && what && strncmp(p->last, what, sizeof p->last) != 0) {
                printf("      %s\n", what);
                fflush(stdout);
                snprintf(p->last, sizeof p->last, "%s", what);
        }
}

static void print_done(void *userdata) {
        AptPrinter *p = userdata;
        p->pct = 0;
        if (p->live) {
                printf("\r\033[K");
                fflush(stdout);
        }
}

static void print_lock_wait(void *userdata, const char *holder, unsigned waited, unsigned timeout) {
        AptPrinter *p = userdata;
        _cleanup_free_ char *line = xasprintf("      waiting for the dpkg lock held by %s, %us/%us",
                                              holder ? holder : "another process", waited, timeout);
        if (p->live)
                status_line(line);
        else if (!p->quiet && waited >= p->lock_next) { /* at once, then every 30 s */
                printf("%s\n", line);
                fflush(stdout);
                p->lock_next = waited + 30;
        }
}

static void print_notice(void *userdata, const char *text) {
        const AptPrinter *p = userdata;
        if (p->live) {
                printf("\r\033[K");
                fflush(stdout);
        }
        log_warning("%s", text);
}

const AptOutput *apt_printer(AptPrinter *p, int verbose, bool quiet) {
        bool tty = isatty(STDOUT_FILENO);
        *p = (AptPrinter){.live = tty && !quiet && verbose == 0, .quiet = quiet, .verbose = verbose};
        p->out = (AptOutput){
                .progress = {.download = print_download, .install = print_install, .userdata = p},
                .progress_done = print_done,
                .notice = print_notice,
                .program = verbose > 0 ? log_program_output : NULL,
                .lock_wait = print_lock_wait,
                .userdata = p,
        };
        return &p->out;
}
