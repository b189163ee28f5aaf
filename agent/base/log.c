#include "base/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

static void vlog(const char *level, const char *fmt, va_list ap) {
        fflush(stdout);
        fprintf(stderr, "gpubase: %s%s", level, level[0] ? ": " : "");
        vfprintf(stderr, fmt, ap);
        fputc('\n', stderr);
}

void log_error(const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        vlog("error", fmt, ap);
        va_end(ap);
}

void log_warning(const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        vlog("warning", fmt, ap);
        va_end(ap);
}

void log_info(const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        vlog("", fmt, ap);
        va_end(ap);
}

void log_program_output(const char *data, size_t n, void *userdata _unused_) {
        fflush(stdout);
        while (n > 0) {
                ssize_t k = write(STDERR_FILENO, data, n);
                if (k <= 0)
                        return;
                data += k;
                n -= (size_t) k;
        }
}
