/* String, time and hashing helpers. Memory exhaustion aborts: an agent that cannot allocate a few
 * bytes cannot do anything useful, and checking every strdup would hide the real error paths. */
#pragma once

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/macro.h"

/* Memory exhaustion: says so on stderr and aborts (the x* allocators, and libraries that allocate). */
_noreturn_ void oom_abort(void);
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) _printf_(1, 2);
char *xvasprintf(const char *fmt, va_list ap) _printf_(1, 0);

/* NULL-terminated string vectors. */
size_t strv_length(char *const *l);
char **strv_copy(char *const *l);
void strv_push(char ***l, char *value); /* takes ownership of value */
char **strv_free(char **l);
DEFINE_TRIVIAL_CLEANUP_FUNC(char **, strv_free)
#define _cleanup_strv_free_ _cleanup_(strv_freep)
char *strv_join(char *const *l, const char *sep);
/* qsort comparator for an array of char * */
int strcmp_ptr(const void *a, const void *b);

bool startswith(const char *s, const char *prefix);
char *strip(char *s); /* trims whitespace in place, returns s */

/* Growable buffer for building text. */
typedef struct Buf {
        char *data;
        size_t len, cap;
} Buf;
void buf_append(Buf *b, const char *s, size_t n);
void buf_puts(Buf *b, const char *s);
void buf_printf(Buf *b, const char *fmt, ...) _printf_(2, 3);
char *buf_steal(Buf *b); /* returns a NUL-terminated string, never NULL */
void buf_done(Buf *b);

/* Reads a whole regular file (at most max bytes; -EFBIG beyond). A FIFO, device or socket is
 * -EINVAL, never read (and opening it never waits), a directory -EISDIR. */
int read_file(const char *path, size_t max, char **ret, size_t *ret_len);
/* A copy of data (len bytes; NUL-terminated) with every occurrence of each string of secrets (a strv,
 * may be NULL; empty strings are ignored) replaced by REDACTED; *ret_len (may be NULL) its length. */
#define REDACTED "<redacted>"
char *redact(const char *data, size_t len, char *const *secrets, size_t *ret_len);
/* The same from an open file descriptor, up to its end. */
int read_fd(int fd, size_t max, char **ret, size_t *ret_len);
/* First line of a file, newline stripped. */
int read_line_file(const char *path, char **ret);

/* Wall clock helpers. */
uint64_t now_usec(void);            /* CLOCK_REALTIME */
uint64_t mono_usec(void);           /* CLOCK_MONOTONIC */
char *format_timestamp(uint64_t usec); /* RFC 3339 UTC, e.g. 2026-11-21T23:20:48Z */

/* 32 random hex characters. */
int random_id(char ret[33]);

/* Parses "0644"-style octal modes (3 or 4 digits). */
int parse_mode(const char *s, unsigned *ret);
/* Parses a non-negative decimal integer that fits in an int. */
int parse_uint(const char *s, unsigned *ret);
