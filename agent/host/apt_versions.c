/* Choosing versions for the steps: a glob or an exact version, the candidate, and where a version
 * comes from (see apt.h). */
#include "host/apt.h"

#include <dirent.h>
#include <fnmatch.h>
#include <limits.h>
#include <string.h>

#include "base/error.h"

int apt_pick_version(AptSession *s, const char *name, const char *pattern, char **ret_version, char **reterr) {
        _cleanup_(apt_package_done) AptPackage p = {0};
        int r = apt_shim_package(s->shim, name, &p);
        if (r < 0)
                return errorf(reterr, -ENOENT, "package %s is not known to apt (is its repository configured?)", name);
        if (!pattern) {
                if (!p.candidate)
                        return errorf(reterr, -ENOENT, "package %s has no installable version", name);
                *ret_version = xstrdup(p.candidate);
                return 0;
        }
        const char *best = NULL;
        for (size_t i = 0; p.versions && p.versions[i]; i++)
                if (fnmatch(pattern, p.versions[i], 0) == 0 &&
                    (!best || apt_shim_version_cmp(p.versions[i], best) > 0))
                        best = p.versions[i];
        if (!best) {
                _cleanup_free_ char *all = p.versions && p.versions[0] ? strv_join(p.versions, ", ") : xstrdup("none");
                return errorf(reterr, -ENOENT, "no version of %s matches %s (available: %s)", name, pattern, all);
        }
        *ret_version = xstrdup(best);
        return 0;
}

bool apt_archive_cached(const Host *h, const char *name, const char *version) {
        _cleanup_free_ char *dir = host_path(h, "/var/cache/apt/archives");
        Buf b = {0};
        /* apt quotes the epoch's colon in archive names */
        for (const char *c = version; *c; c++)
                if (*c == ':')
                        buf_puts(&b, "%3a");
                else
                        buf_append(&b, c, 1);
        _cleanup_free_ char *v = buf_steal(&b);
        _cleanup_free_ char *prefix = xasprintf("%s_%s_", name, v);
        _cleanup_(closedirp) DIR *d = opendir(dir);
        struct dirent *de;
        while (d && (de = readdir(d)))
                if (startswith(de->d_name, prefix) && strlen(de->d_name) > 4 &&
                    streq(de->d_name + strlen(de->d_name) - 4, ".deb"))
                        return true;
        return false;
}

bool apt_origin_matches(AptSession *s, const char *name, const char *version, const char *origin, char **ret_from) {
        _cleanup_strv_free_ char **from = NULL;
        bool ok = false;
        Buf b = {0};
        if (apt_shim_version_origins(s->shim, name, version, &from) < 0 || !from)
                from = xcalloc(1, sizeof(char *));
        for (size_t i = 0; from[i]; i++) {
                /* site|archive|origin|uri, any field may be empty */
                const char *site = from[i], *p1 = strchr(site, '|'), *p2 = p1 ? strchr(p1 + 1, '|') : NULL,
                           *p3 = p2 ? strchr(p2 + 1, '|') : NULL;
                _cleanup_free_ char *sitev = p1 ? xstrndup(site, (size_t) (p1 - site)) : xstrdup(site);
                _cleanup_free_ char *originv = p2 && p3 ? xstrndup(p2 + 1, (size_t) (p3 - p2 - 1)) : xstrdup("");
                const char *uri = p3 ? p3 + 1 : "";
                const char *at = strstr(uri, origin);
                size_t n = strlen(origin);
                if (streq(sitev, origin) || streq(originv, origin) ||
                    (at && (at[n] == '/' || at[n] == 0 || origin[n - 1] == '/')))
                        ok = true;
                buf_printf(&b, "%s%s%s%s%s", b.len ? "; " : "", uri, *originv ? " (Origin: " : "", originv,
                           *originv ? ")" : "");
        }
        if (ret_from)
                *ret_from = b.len ? buf_steal(&b) : (buf_done(&b), xstrdup("no configured repository"));
        else
                buf_done(&b);
        return ok;
}

/* The highest version of p matching pattern (NULL: any) that comes from origin, among those of pin
 * priority min_prio or more; NULL if none. */
static const char *best_from_origin(AptSession *s, const AptPackage *p, const char *pattern, const char *origin,
                                    int min_prio) {
        const char *best = NULL;
        for (size_t i = 0; p->versions[i]; i++)
                if ((!pattern || fnmatch(pattern, p->versions[i], 0) == 0) && p->priorities[i] >= min_prio &&
                    apt_origin_matches(s, p->name, p->versions[i], origin, NULL) &&
                    (!best || apt_shim_version_cmp(p->versions[i], best) > 0))
                        best = p->versions[i];
        return best;
}

int apt_pick_version_from(AptSession *s, const char *name, const char *pattern, const char *origin, char **ret_version,
                          char **reterr) {
        _cleanup_free_ char *first = NULL;
        _cleanup_(apt_package_done) AptPackage p = {0};
        int r = apt_pick_version(s, name, pattern, &first, reterr);
        if (r < 0)
                return r;
        if (!origin || apt_origin_matches(s, name, first, origin, NULL)) {
                *ret_version = TAKE_PTR(first);
                return 0;
        }
        if (apt_shim_package(s->shim, name, &p) < 0)
                return errorf(reterr, -ENOENT, "package %s is not known to apt", name);
        int prio = -1000000;
        for (size_t i = 0; p.versions[i]; i++)
                /* apt_pick_version() set first: errorf() returns the negative r it is given */
                if (streq(p.versions[i], first)) /* NOLINT(clang-analyzer-core.NonNullParamChecker) */
                        prio = p.priorities[i];
        const char *best = best_from_origin(s, &p, pattern, origin, prio);
        if (!best)
                best = best_from_origin(s, &p, pattern, origin, INT_MIN);
        if (!best) {
                _cleanup_free_ char *from = NULL;
                (void) apt_origin_matches(s, name, first, origin, &from);
                return errorf(reterr, -ENOENT, "no version of %s%s%s comes from %s (%s %s comes from %s)", name,
                              pattern ? " matching " : "", pattern ? pattern : "", origin, name, first, from);
        }
        *ret_version = xstrdup(best);
        return 0;
}
