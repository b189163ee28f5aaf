/* apt-install: a pinning package listed first (NVIDIA's nvidia-driver-pinning-<branch>) is installed
 * alone, and the preferences it ships re-read, before the rest is resolved: they choose the rest's
 * versions.
 *
 * It ships preferences and nothing else, so it is installed the way a keyring package is: its
 * archive fetched by the SHA256 its signed index gives, then libapt reopened over dpkg's status and
 * that archive alone (apt_session_local(): no lists, the lock kept). Installing it over the lists
 * made libapt build the state of every package they hold (63,000 on a Debian 12 host) once for it
 * and once more, after its preferences, for the rest: a third of the driver step's own time. One
 * that needs what is not installed (a dependency), or whose archive cannot be fetched that way, is
 * installed over the lists as any package, before dpkg has run for it. */
#include <string.h>
#include <unistd.h>

#include "base/error.h"
#include "base/hash.h"
#include "host/dpkg.h"
#include "steps/apt_install.h"

/* Installed at version and configured: nothing to do, and its preferences are in place. */
static bool in_place(const Host *h, const char *name, const char *version) {
        const DpkgStatus *st = NULL;
        if (dpkg_status_get(h, &st) < 0)
                return false;
        const DpkgStanza *p = dpkg_status_lookup(st, name);
        return p && dpkg_stanza_installed(p) && streq(p->version, version);
}

/* name=version's archive in dir, as the signed index lists it (hash and all): *ret its path. */
static int fetch(AptSession *as, const char *dir, const char *name, const char *version, char **ret, char **reterr) {
        _cleanup_free_ char *sha = NULL, *uri = NULL;
        int r = apt_shim_version_sha256(as->shim, name, version, &sha, &uri, reterr);
        if (r < 0)
                return r;
        _cleanup_free_ char *deb = xasprintf("%s/%s.deb", dir, name);
        r = apt_shim_fetch_file(as->shim, uri, sha, deb, reterr);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(deb);
        return 0;
}

/* Over dpkg's status and the archive alone. -errno with *reterr; as->dpkg_ran says whether dpkg
 * ran before it failed. */
static int install_local(AptSession *as, const AptInstallParams *a, char **pv, unsigned *ret_changed, char **reterr) {
        _cleanup_free_ char *dir = NULL, *deb = NULL;
        int r = apt_session_subdir(as, "pinning", &dir);
        if (r < 0)
                return errorf(reterr, r, "cannot make a directory for %s: %s", a->pkgs[0].name, strerror(-r));
        r = fetch(as, dir, a->pkgs[0].name, pv[0], &deb, reterr);
        const char *debs[] = {deb, NULL};
        if (r >= 0)
                r = apt_session_local(as, debs, reterr);
        if (r >= 0)
                r = apt_install_versions(as, a->pkgs, pv, 1, a->unhold, false, ret_changed, reterr);
        if (deb)
                (void) unlink(deb);
        return r;
}

int apt_install_pinning(AptSession *as, const AptInstallParams *a, char **pv, unsigned *ret_changed, char **reterr) {
        if (in_place(as->host, a->pkgs[0].name, pv[0])) {
                *ret_changed = 0;
                return 0; /* the lists' session goes on: nothing changed that it read */
        }
        _cleanup_free_ char *err = NULL;
        bool ran_before = as->dpkg_ran;
        as->dpkg_ran = false;
        /* in a scope (apt_install_set.c) the session is small already: the package over it */
        int r = as->own_sources && !as->scope ? install_local(as, a, pv, ret_changed, &err) : -EOPNOTSUPP;
        bool ran = as->dpkg_ran;
        as->dpkg_ran = as->dpkg_ran || ran_before;
        if (r < 0 && ran)
                return errorf(reterr, r, "%s", err ? err : strerror(-r));
        if (r >= 0) /* back to the lists, with the preferences it installed */
                return apt_session_reopen(as, reterr);
        /* failed before dpkg ran for it: over the lists, as any package */
        if (as->local && (r = apt_session_reopen(as, reterr)) < 0)
                return r;
        r = apt_install_versions(as, a->pkgs, pv, 1, a->unhold, false, ret_changed, reterr);
        return r < 0 ? r : apt_session_reopen(as, reterr);
}
