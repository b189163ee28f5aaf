#include "base/error.h"

#include <stdarg.h>
#include <stdio.h>

int errorf(char **reterr, int r, const char *fmt, ...) {
        va_list ap;
        char *m;

        if (!reterr)
                return r;
        va_start(ap, fmt);
        if (vasprintf(&m, fmt, ap) < 0) {
                /* as xasprintf(): an agent that cannot allocate a message cannot do anything useful */
                fputs("gpubase: out of memory\n", stderr);
                abort();
        }
        va_end(ap);
        *reterr = m;
        return r;
}
