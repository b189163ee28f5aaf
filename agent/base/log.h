/* Messages for the user on stderr, "gpubase: error: ..."; stdout is flushed first so that the two
 * streams interleave in order. host/ never logs: it returns what went wrong, and its callers say it. */
#pragma once

#include <stddef.h>

#include "base/macro.h"

void log_error(const char *fmt, ...) _printf_(1, 2);
void log_warning(const char *fmt, ...) _printf_(1, 2);
void log_info(const char *fmt, ...) _printf_(1, 2);
/* A program's output as it arrives, copied to stderr unchanged (an ExecOutputFn, for -v). */
void log_program_output(const char *data, size_t n, void *userdata);
