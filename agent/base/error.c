/* SPDX-License-Identifier: MIT */
#include "base/error.h"

#include <stdarg.h>

int errorf(char **reterr, int r, const char *fmt, ...) {
        if (!reterr)
                return r;

        va_list ap;
        va_start(ap, fmt);
        char *msg;
        int n = vasprintf(&msg, fmt, ap);
        va_end(ap);
        if (n < 0) {
                /* as xasprintf(): an agent that cannot allocate a message cannot do anything useful */
                fputs("gpubase: out of memory\n", stderr);
                abort();
        }
        *reterr = msg;
        return r;
}
