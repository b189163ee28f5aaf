#include "host/version.h"

#include <ctype.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "shim/aptshim.h"

/* dpkg's ordering is libapt-pkg's (debVS, which apt itself uses), through the shim. */
int version_cmp(const char *a, const char *b) {
        return apt_shim_version_cmp(a, b);
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
