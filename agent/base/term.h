/* The terminal a line is printed on: how wide it is, and a line cut to fit, so that a long detail
 * never wraps and breaks the in-place progress line. */
#pragma once

#include <stddef.h>

/* The width of the terminal on fd (TIOCGWINSZ), else $COLUMNS, else 80. */
unsigned term_columns(int fd);
/* How many columns s takes (UTF-8: one per character; escape sequences are not expected). */
size_t term_width(const char *s);
/* A copy of s cut to at most cols columns, ending in "…" when something was cut. */
char *term_fit(const char *s, size_t cols);
