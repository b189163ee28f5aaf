#include "steps/apt_output.h"

#include <stdio.h>
#include <unistd.h>

#include "base/log.h"

static void print_download(void *userdata, const char *what, unsigned long long done, unsigned long long total) {
        const AptPrinter *p = userdata;
        if (what && *what && !p->tty && p->verbose)
                printf("      get %s\n", what);
        else if (p->tty && total > 0) {
                unsigned pct = (unsigned) (done * 100 / total);
                printf("\r\033[K      downloading [%-30.*s] %3u%% %llu/%llu kB", (int) (pct * 30 / 100),
                       "##############################", pct, done / 1024, total / 1024);
        }
        fflush(stdout);
}

static void print_install(void *userdata, const char *package, const char *action, unsigned step, unsigned steps) {
        const AptPrinter *p = userdata;
        if (p->tty)
                printf("\r\033[K      [%u/%u] %s", step, steps, action && *action ? action : package);
        else
                printf("      %s (%u/%u)\n", action && *action ? action : package, step, steps);
        fflush(stdout);
}

static void print_done(void *userdata) {
        const AptPrinter *p = userdata;
        if (p->tty) {
                printf("\r\033[K");
                fflush(stdout);
        }
}

static void print_notice(void *userdata _unused_, const char *text) {
        log_warning("%s", text);
}

const AptOutput *apt_printer(AptPrinter *p, int verbose) {
        *p = (AptPrinter){.tty = isatty(STDOUT_FILENO), .verbose = verbose};
        p->out = (AptOutput){
                .progress = {.download = print_download, .install = print_install, .userdata = p},
                .progress_done = print_done,
                .notice = print_notice,
                .program = verbose > 0 ? log_program_output : NULL,
                .userdata = p,
        };
        return &p->out;
}
