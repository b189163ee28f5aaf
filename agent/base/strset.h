/* A set of strings with lookups in constant time (open addressing, FNV-1a), for the checks that
 * must stay linear however many names an untrusted file lists: duplicate tar entries, manifest
 * paths. The set owns copies of what it holds. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "base/macro.h"

typedef struct StrSet {
        char **slots;
        size_t n, cap; /* cap: 0 or a power of two */
} StrSet;

/* Adds a copy of s: true when it was new, false when the set held it already. */
bool strset_add(StrSet *s, const char *str);
bool strset_contains(const StrSet *s, const char *str);
/* Frees what the set holds; the set is empty (and reusable) afterwards. */
void strset_done(StrSet *s);
