#include "host/version.h"

#include <ctype.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"

/* Debian's version ordering (Debian Policy 5.6.12, deb-version(7)), written here rather than taken
 * from libapt-pkg (debVS, what apt uses): the checks of verify, status and plan check compare
 * versions, and loading libapt and the libraries under it for that costs more than all their
 * work (tests/unit/test-facts.c holds it against libapt's on a corpus of pairs). */

/* The weight of one character of a non-digit part: '~' before everything, the end of the part next,
 * then letters, then everything else, each group in ASCII order. */
static int char_weight(char c) {
        if (c == '~')
                return -1;
        if (!c || isdigit((unsigned char) c))
                return 0;
        if (isalpha((unsigned char) c))
                return (unsigned char) c;
        return (unsigned char) c + 256;
}

/* Compares the upstream versions (or revisions) a and b, each ending at its end pointer: non-digit
 * parts by char_weight(), digit parts as numbers, alternately, from the left. */
static int part_cmp(const char *a, const char *ae, const char *b, const char *be) {
        while (a < ae || b < be) {
                while ((a < ae && !isdigit((unsigned char) *a)) || (b < be && !isdigit((unsigned char) *b))) {
                        int wa = a < ae ? char_weight(*a) : char_weight('\0');
                        int wb = b < be ? char_weight(*b) : char_weight('\0');
                        if (wa != wb)
                                return wa < wb ? -1 : 1;
                        a += a < ae;
                        b += b < be;
                }
                while (a < ae && *a == '0')
                        a++;
                while (b < be && *b == '0')
                        b++;
                size_t na = 0, nb = 0;
                while (a + na < ae && isdigit((unsigned char) a[na]))
                        na++;
                while (b + nb < be && isdigit((unsigned char) b[nb]))
                        nb++;
                if (na != nb) /* no leading zeros left: the longer number is the larger */
                        return na < nb ? -1 : 1;
                int c = strncmp(a, b, na);
                if (c)
                        return c < 0 ? -1 : 1;
                a += na;
                b += nb;
        }
        return 0;
}

typedef struct DebVersion {
        unsigned long epoch;
        const char *upstream, *upstream_end, *revision, *revision_end;
} DebVersion;

/* [epoch:]upstream[-revision]: the epoch up to the first ':', the revision after the last '-'. */
static DebVersion split_version(const char *v) {
        DebVersion d = {0};
        const char *colon = strchr(v, ':');
        if (colon) {
                d.epoch = strtoul(v, NULL, 10);
                v = colon + 1;
        }
        const char *dash = strrchr(v, '-');
        d.upstream = v;
        d.upstream_end = dash ? dash : v + strlen(v);
        d.revision = dash ? dash + 1 : d.upstream_end;
        d.revision_end = dash ? v + strlen(v) : d.upstream_end;
        return d;
}

int version_cmp(const char *a, const char *b) {
        DebVersion x = split_version(a), y = split_version(b);
        if (x.epoch != y.epoch)
                return x.epoch < y.epoch ? -1 : 1;
        int c = part_cmp(x.upstream, x.upstream_end, y.upstream, y.upstream_end);
        return c ? c : part_cmp(x.revision, x.revision_end, y.revision, y.revision_end);
}

bool version_matches(const char *pattern, const char *version) {
        return fnmatch(pattern, version, 0) == 0;
}

int version_major(const char *v) {
        if (!v || !isdigit((unsigned char) *v))
                return -1;
        long n = strtol(v, NULL, 10);
        return n > 100000 ? -1 : (int) n;
}

char *version_upstream(const char *debian_version) {
        /* [epoch:]upstream[-revision]: the revision is after the last '-' */
        const char *v = debian_version, *colon = strchr(v, ':');
        if (colon)
                v = colon + 1;
        const char *dash = strrchr(v, '-');
        return dash ? xstrndup(v, (size_t) (dash - v)) : xstrdup(v);
}
