/* apt-install's packages, picked, resolved and installed (apt_install.c's apply): the pinning
 * package first (apt_install_pinning.c), then the rest.
 *
 * Scoped resolution: libapt is first pointed at the sources files whose indexes offer the step's
 * packages (NVIDIA's repositories: a few hundred packages), not at every one (a Debian host's lists
 * hold 63,000, and libapt builds its state over all of them: most of an install's own time). That
 * result is kept only where it stands for every source (apt_session_scope_check(): nothing removed,
 * and nothing installed or depended on that another file offers too); else, and when anything
 * fails before dpkg ran for the packages (a dependency only the distribution offers), the whole set
 * is resolved again over every source, as apt does. */
#include <string.h>

#include "base/error.h"
#include "steps/apt_install.h"

/* apt_install_pick(); a package that is not found yet makes one refresh of the lists (unless they were
 * refreshed already or `update: never`), then a second try. */
static int pick_or_update(AptSession *as, const AptPkgSpec *pkgs, size_t n, const char *origin, const char *update,
                          bool *updated, char ***ret_versions, char **reterr) {
        _cleanup_free_ char *err = NULL;
        int r = apt_install_pick(as, pkgs, n, origin, ret_versions, &err);
        if (r == -ENOENT && !*updated && !streq(update, "never")) {
                free(err);
                err = NULL;
                r = apt_session_update(as, &err);
                *updated = true;
                if (r >= 0)
                        r = apt_install_pick(as, pkgs, n, origin, ret_versions, &err);
        }
        if (r < 0) {
                /* r itself, not errorf()'s result: the analyser cannot see that errorf() returns r */
                if (err)
                        (void) errorf(reterr, r, "%s", err);
                return r;
        }
        return 0;
}

/* The pinning package alone, then the preferences it ships re-read before the rest is resolved
 * (apt_install_pinning.c). */
static int install_pinning_first(AptSession *as, const AptInstallParams *a, const char *update, bool *updated,
                                 unsigned *ret_changed, char **reterr) {
        _cleanup_strv_free_ char **pv = NULL;
        int r = pick_or_update(as, a->pkgs, 1, NULL, update, updated, &pv, reterr);
        if (r < 0)
                return r;
        return apt_install_pinning(as, a, pv, ret_changed, reterr);
}


/* The pinning package, then the rest; *ret_changed counts what changed. */
static int install_once(AptSession *as, const AptInstallParams *a, bool *updated, unsigned *ret_changed,
                        char **reterr) {
        const char *update = a->update ? a->update : "auto";
        _cleanup_strv_free_ char **versions = NULL;
        unsigned changed = 0, changed2 = 0;
        size_t first = 0;
        int r = 0;
        if (a->n_pkgs > 1 && startswith(a->pkgs[0].name, "nvidia-driver-pinning-")) {
                r = install_pinning_first(as, a, update, updated, &changed, reterr);
                first = 1;
        }
        AptPkgSpec *specs = NULL;
        if (r >= 0)
                r = apt_install_specs(as, a, &specs, reterr);
        if (r >= 0)
                r = pick_or_update(as, specs + first, a->n_pkgs - first, a->origin, update, updated, &versions, reterr);
        if (r >= 0)
                r = apt_install_versions(as, specs + first, versions, a->n_pkgs - first, a->unhold, false, &changed2,
                                         reterr);
        apt_install_specs_free(a, specs);
        *ret_changed += changed + changed2;
        return r;
}

/* Points the session at the sources that offer pkgs (apt_session_scope()), saying so with -v
 * (what: "" or "prefetch of step 'ID': "). 1: scoped; 0: every source. */
static int narrow(AptSession *as, const AptPkgSpec *pkgs, size_t n, const Ctx *ctx, const char *what) {
        _cleanup_free_ char *note = NULL, *err = NULL;
        int sc = apt_session_scope(as, pkgs, n, &note, &err);
        if (sc < 0 && ctx->verbose > 0)
                printf("      %sresolving over every source: %s\n", what, err);
        if (sc > 0 && ctx->verbose > 0)
                printf("      %sresolving over the sources that offer the packages (%s)\n", what, note);
        as->commit_failed = false;
        return sc > 0;
}

/* After a scoped try failed before dpkg ran (or a download failed) for its packages: every source
 * again, the cache built. 0, or -errno with *reterr (err, the scoped try's, is the one said with -v). */
static int widen(AptSession *as, const Ctx *ctx, const char *what, char **err) {
        if (ctx->verbose > 0)
                printf("      %sresolving over every source instead: %s\n", what, *err);
        free(*err);
        *err = NULL;
        int r = apt_session_unscope(as, err);
        return r < 0 ? r : apt_session_ready(as, err);
}

static int prefetch_once(AptSession *as, const AptInstallParams *ta, bool *picked, char **reterr) {
        _cleanup_strv_free_ char **versions = NULL;
        int r = apt_install_pick(as, ta->pkgs, ta->n_pkgs, ta->origin, &versions, reterr);
        *picked = r >= 0;
        return r < 0 ? r : apt_install_versions(as, ta->pkgs, versions, ta->n_pkgs, false, true, NULL, reterr);
}

int apt_install_prefetch(AptSession *as, const Step *t, Ctx *ctx, bool *picked, char **reterr) {
        const AptInstallParams *ta = t->params;
        _cleanup_free_ char *what = xasprintf("prefetch of step '%s': ", t->id), *err = NULL;
        bool scoped = !apt_session_built(as) && narrow(as, ta->pkgs, ta->n_pkgs, ctx, what);
        int r = scoped ? 0 : apt_session_ready(as, &err);
        if (r >= 0)
                r = prefetch_once(as, ta, picked, &err);
        if (scoped && as->scope && r < 0 && !as->commit_failed) { /* as for an install */
                r = widen(as, ctx, what, &err);
                if (r >= 0)
                        r = prefetch_once(as, ta, picked, &err);
        }
        if (r >= 0 && as->scope)
                r = apt_session_unscope(as, &err);
        if (r < 0)
                return err ? errorf(reterr, r, "%s", err) : r;
        return 0;
}

int apt_install_set(AptSession *as, const Step *s, Ctx *ctx, bool *updated, unsigned *ret_changed, char **reterr) {
        const AptInstallParams *a = s->params;
        _cleanup_free_ char *err = NULL;
        int sc = narrow(as, a->pkgs, a->n_pkgs, ctx, "");
        int r = sc > 0 ? 0 : apt_session_ready(as, &err);
        if (r >= 0)
                r = install_once(as, a, updated, ret_changed, &err);
        if (sc > 0 && as->scope && r < 0 && !as->commit_failed) { /* failed before dpkg ran for them */
                int u = widen(as, ctx, "", &err);
                r = u < 0 ? u : install_once(as, a, updated, ret_changed, &err);
        }
        if (r < 0)
                return err ? errorf(reterr, r, "%s", err) : r;
        return 0;
}
