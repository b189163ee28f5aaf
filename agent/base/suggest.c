#include "base/suggest.h"

#include <string.h>

#include "base/util.h"

static size_t min2(size_t a, size_t b) {
        return a < b ? a : b;
}

/* Optimal string alignment distance (Levenshtein plus adjacent transpositions), capped: the names
 * compared are short (keys, kinds, checks, subcommands), so three rows of a small matrix do. Written
 * here rather than taken from a library: none of the libraries gpubase links offers it. */
static size_t edit_distance(const char *a, const char *b) {
        size_t la = strlen(a), lb = strlen(b);
        if (la > 64 || lb > 64)
                return SIZE_MAX;
        size_t rows[3][65], *prev2 = rows[0], *prev = rows[1], *cur = rows[2];
        for (size_t j = 0; j <= lb; j++)
                prev[j] = j;
        for (size_t i = 1; i <= la; i++) {
                cur[0] = i;
                for (size_t j = 1; j <= lb; j++) {
                        size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
                        size_t d = min2(prev[j] + 1, cur[j - 1] + 1);
                        d = min2(d, prev[j - 1] + cost);
                        if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
                                d = min2(d, prev2[j - 2] + 1);
                        cur[j] = d;
                }
                size_t *t = prev2;
                prev2 = prev;
                prev = cur;
                cur = t;
        }
        return prev[lb];
}

const char *closest_name(const char *word, const char *const *names) {
        if (!word || !names)
                return NULL;
        size_t len = strlen(word), limit = len <= 4 ? 1 : 2, best = SIZE_MAX;
        const char *pick = NULL;
        for (size_t i = 0; names[i]; i++) {
                size_t d = edit_distance(word, names[i]);
                if (d < best) {
                        best = d;
                        pick = names[i];
                }
        }
        return best <= limit && best < len && best > 0 ? pick : NULL;
}

char *did_you_mean(const char *word, const char *const *names) {
        const char *n = closest_name(word, names);
        return n ? xasprintf(" (did you mean '%s'?)", n) : xstrdup("");
}
