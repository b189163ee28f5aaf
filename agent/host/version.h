/* Version strings: Debian's ordering (epoch:upstream-revision, ~ before anything) and globs. */
#pragma once

#include <stdbool.h>

/* -1, 0 or 1 like strcmp, with Debian's rules (Debian Policy 5.6.12; libapt-pkg's order, without libapt). */
int version_cmp(const char *a, const char *b);
/* fnmatch-style glob ("595.*"); a pattern without wildcards must match exactly. */
bool version_matches(const char *pattern, const char *version);
/* "595.45.01" -> 595; -1 if it does not start with a number. */
int version_major(const char *v);
/* Upstream part of a Debian version: "1:595.45.01-1ubuntu1" -> "595.45.01" (caller frees). */
char *version_upstream(const char *debian_version);
