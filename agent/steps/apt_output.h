/* How the steps that use apt show its progress: a download bar and dpkg's steps on a terminal,
 * one line each otherwise; dpkg's own output with -v. host/apt.c says all this through an
 * AptOutput and prints nothing itself. */
#pragma once

#include "host/apt.h"

typedef struct AptPrinter {
        AptOutput out;
        bool tty;
        int verbose;
} AptPrinter;

/* Fills p for this verbosity and returns the AptOutput to give AptSessionOptions.output. */
const AptOutput *apt_printer(AptPrinter *p, int verbose);
