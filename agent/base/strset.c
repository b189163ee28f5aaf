#include "base/strset.h"

#include <stdint.h>
#include <string.h>

#include "base/util.h"

static uint64_t str_hash(const char *s) {
        uint64_t h = 1469598103934665603ULL;
        for (; *s; s++) {
                h ^= (unsigned char) *s;
                h *= 1099511628211ULL;
        }
        return h;
}

/* The slot that holds str, or the empty slot where it would go. */
static size_t slot_of(char *const *slots, size_t cap, const char *str) {
        size_t i = (size_t) str_hash(str) & (cap - 1);
        while (slots[i] && !streq(slots[i], str))
                i = (i + 1) & (cap - 1);
        return i;
}

static void grow(StrSet *s) {
        size_t cap = s->cap ? 2 * s->cap : 64;
        char **slots = xcalloc(cap, sizeof(char *));
        for (size_t i = 0; i < s->cap; i++)
                if (s->slots[i])
                        slots[slot_of(slots, cap, s->slots[i])] = s->slots[i];
        free(s->slots);
        s->slots = slots;
        s->cap = cap;
}

bool strset_contains(const StrSet *s, const char *str) {
        return s->cap > 0 && s->slots[slot_of(s->slots, s->cap, str)];
}

bool strset_add(StrSet *s, const char *str) {
        if (2 * (s->n + 1) > s->cap) /* at most half full: probes stay short */
                grow(s);
        size_t i = slot_of(s->slots, s->cap, str);
        if (s->slots[i])
                return false;
        s->slots[i] = xstrdup(str);
        s->n++;
        return true;
}

void strset_done(StrSet *s) {
        for (size_t i = 0; i < s->cap; i++)
                free(s->slots[i]);
        free(s->slots);
        *s = (StrSet) {0};
}
