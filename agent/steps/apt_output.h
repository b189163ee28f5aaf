/* How the steps that use apt show its progress. On a terminal (without -v or -q): one status line,
 * redrawn in place and cut to the terminal's width: a download bar, an install bar whose percentage
 * only grows, or the wait for the dpkg lock; dpkg's own output goes to apt's term.log (host/apt.c),
 * never into that line. Without a terminal, or with -v: plain lines, only those -v asks for, plus the
 * lock wait every 30 s. With -q: nothing but notices. host/apt.c says all this through an AptOutput
 * and prints nothing itself. */
#pragma once

#include <stdbool.h>

#include "host/apt.h"

typedef struct AptPrinter {
        AptOutput out;
        bool live;        /* the in-place status line (a terminal, neither -v nor -q) */
        bool quiet;       /* -q */
        int verbose;
        unsigned pct;     /* the install bar so far: it never goes back */
        unsigned lock_next; /* without the status line: the next lock wait line, at this many seconds */
        char last[256];   /* the last action printed as a line (-v), not repeated */
} AptPrinter;

/* Fills p for this verbosity (Ctx.verbose) and -q (Ctx.quiet) and returns the AptOutput to give
 * AptSessionOptions.output. */
const AptOutput *apt_printer(AptPrinter *p, int verbose, bool quiet);
