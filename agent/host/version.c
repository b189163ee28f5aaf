#include "host/version.h"

#include <ctype.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"

/* dpkg's character order: ~ sorts before everything, even the end; letters before non-letters. */
static int order(int c) {
        if (isdigit(c))
                return 0;
        if (isalpha(c))
                return c;
        if (c == '~')
                return -1;
        if (c)
                return c + 256;
        return 0;
}

static int verrevcmp(const char *a, const char *b) {
        while (*a || *b) {
                int first_diff = 0;
                while ((*a && !isdigit((unsigned char) *a)) || (*b && !isdigit((unsigned char) *b))) {
                        int ac = order((unsigned char) *a), bc = order((unsigned char) *b);
                        if (ac != bc)
                                return ac - bc;
                        a++;
                        b++;
                }
                while (*a == '0')
                        a++;
                while (*b == '0')
                        b++;
                while (isdigit((unsigned char) *a) && isdigit((unsigned char) *b)) {
                        if (!first_diff)
                                first_diff = *a - *b;
                        a++;
                        b++;
                }
                if (isdigit((unsigned char) *a))
                        return 1;
                if (isdigit((unsigned char) *b))
                        return -1;
                if (first_diff)
                        return first_diff;
        }
        return 0;
}

typedef struct Parts {
        long epoch;
        char *upstream, *revision;
} Parts;

static void split(const char *v, Parts *p) {
        const char *colon = strchr(v, ':');
        p->epoch = 0;
        if (colon) {
                p->epoch = strtol(v, NULL, 10);
                v = colon + 1;
        }
        const char *dash = strrchr(v, '-');
        if (dash) {
                p->upstream = xstrndup(v, (size_t) (dash - v));
                p->revision = xstrdup(dash + 1);
        } else {
                p->upstream = xstrdup(v);
                p->revision = xstrdup("");
        }
}

int version_cmp(const char *a, const char *b) {
        Parts pa, pb;
        int r;
        split(a, &pa);
        split(b, &pb);
        if (pa.epoch != pb.epoch)
                r = pa.epoch < pb.epoch ? -1 : 1;
        else {
                r = verrevcmp(pa.upstream, pb.upstream);
                if (r == 0)
                        r = verrevcmp(pa.revision, pb.revision);
        }
        free(pa.upstream);
        free(pa.revision);
        free(pb.upstream);
        free(pb.revision);
        return r;
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
        Parts p;
        split(debian_version, &p);
        free(p.revision);
        return p.upstream;
}
