/* enum <-> string through one table per enum, in the manner of systemd's string-table.h.
 *
 *   static const char *const run_state_table[_RUN_STATE_MAX] = {[RUN_IDLE] = "idle", ...};
 *   DEFINE_STRING_TABLE_LOOKUP(run_state, RunState, NULL);
 *
 * defines run_state_to_string() (the table's string; fallback for a value outside the table or a
 * hole in it) and run_state_from_string() (the index of the string, or -EINVAL: the enum's
 * _FOO_INVALID; NULL finds nothing). The table must be called NAME_table. Base layer. */
#pragma once

#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "base/macro.h"

static inline int string_table_lookup(const char *const *table, size_t n, const char *s) {
        for (size_t i = 0; s && i < n; i++)
                if (table[i] && streq(table[i], s))
                        return (int) i;
        return -EINVAL;
}

/* (size_t) of a negative value is past the end: one comparison covers both ends, also for an
 * enum whose type is unsigned. */
#define DEFINE_STRING_TABLE_LOOKUP_TO_STRING(name, type, fallback)                   \
        const char *name##_to_string(type i) {                                       \
                if ((size_t) i >= ELEMENTSOF(name##_table) || !name##_table[i])      \
                        return fallback;                                             \
                return name##_table[i];                                              \
        }

#define DEFINE_STRING_TABLE_LOOKUP_FROM_STRING(name, type)                           \
        type name##_from_string(const char *s) {                                     \
                return (type) string_table_lookup(name##_table, ELEMENTSOF(name##_table), s); \
        }

#define DEFINE_STRING_TABLE_LOOKUP(name, type, fallback)                             \
        DEFINE_STRING_TABLE_LOOKUP_TO_STRING(name, type, fallback)                   \
        DEFINE_STRING_TABLE_LOOKUP_FROM_STRING(name, type)
