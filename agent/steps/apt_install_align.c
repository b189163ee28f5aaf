/* One upstream version for the globbed packages of an apt-install step. Each glob alone resolves to
 * its highest match, but the packages of one driver must share a version, and an archive may offer
 * them at different ones: Debian 12's bookworm-security carries the proprietary 535 stack (source
 * nvidia-graphics-drivers: nvidia-smi, libcuda1, firmware-nvidia-gsp) at 535.309.01 while the open
 * module (source nvidia-open-gpu-kernel-modules, contrib) stays at bookworm's 535.261.03, and that
 * nvidia-open-kernel-dkms depends on firmware-nvidia-gsp (= 535.261.03). When the picks differ, the
 * globbed packages all go to the highest upstream version every one of them offers (each at its
 * highest Debian revision of that version); none in common is an error that says what each offers. */
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "host/version.h"
#include "steps/apt_install.h"

static bool globbed(const AptPkgSpec *p) {
        return p->version && strpbrk(p->version, "*?[") && !startswith(p->name, "nvidia-driver-pinning-");
}

/* The highest version of p that matches its glob, comes from origin (when set) and has upstream
 * version up; NULL when there is none. */
static char *highest_with_upstream(AptSession *as, const AptPkgSpec *p, const char *origin, const char *up) {
        _cleanup_(apt_package_done) AptPackage pkg = {0};
        if (apt_shim_package(as->shim, p->name, &pkg) < 0)
                return NULL;
        const char *best = NULL;
        for (size_t i = 0; pkg.versions && pkg.versions[i]; i++) {
                const char *v = pkg.versions[i];
                _cleanup_free_ char *u = version_upstream(v);
                if (fnmatch(p->version, v, 0) == 0 && u && streq(u, up) &&
                    (!origin || apt_origin_matches(as, p->name, v, origin, NULL)) &&
                    (!best || apt_shim_version_cmp(v, best) > 0))
                        best = v;
        }
        return best ? xstrdup(best) : NULL;
}

static bool listed(char *const *l, const char *s) {
        for (size_t i = 0; l && l[i]; i++)
                if (streq(l[i], s))
                        return true;
        return false;
}

static int newer_first(const void *a, const void *b) {
        return apt_shim_version_cmp(*(char *const *) b, *(char *const *) a);
}

/* Every upstream version on offer for p (matching its glob), highest first. */
static char **upstreams_of(AptSession *as, const AptPkgSpec *p) {
        _cleanup_(apt_package_done) AptPackage pkg = {0};
        char **l = NULL;
        if (apt_shim_package(as->shim, p->name, &pkg) < 0)
                return NULL;
        for (size_t i = 0; pkg.versions && pkg.versions[i]; i++) {
                char *u = version_upstream(pkg.versions[i]);
                if (u && fnmatch(p->version, pkg.versions[i], 0) == 0 && !listed(l, u))
                        strv_push(&l, u);
                else
                        free(u);
        }
        if (l)
                qsort(l, strv_length(l), sizeof(char *), newer_first);
        return l;
}

int apt_install_align(AptSession *as, const AptPkgSpec *pkgs, size_t n, const char *origin, char **versions,
                      char **reterr) {
        size_t first = n;
        bool differ = false;
        for (size_t i = 0; i < n; i++) {
                if (!globbed(&pkgs[i]))
                        continue;
                if (first == n) {
                        first = i;
                        continue;
                }
                _cleanup_free_ char *a = version_upstream(versions[first]), *b = version_upstream(versions[i]);
                differ = differ || !a || !b || !streq(a, b);
        }
        if (!differ)
                return 0;
        _cleanup_strv_free_ char **ups = upstreams_of(as, &pkgs[first]);
        for (size_t u = 0; ups && ups[u]; u++) {
                _cleanup_strv_free_ char **got = xcalloc(n + 1, sizeof(char *));
                bool all = true;
                for (size_t i = 0; i < n && all; i++)
                        if (globbed(&pkgs[i]))
                                all = (got[i] = highest_with_upstream(as, &pkgs[i], origin, ups[u])) != NULL;
                if (!all)
                        continue;
                for (size_t i = 0; i < n; i++)
                        if (got[i]) {
                                free(versions[i]);
                                versions[i] = TAKE_PTR(got[i]);
                        }
                return 0;
        }
        Buf b = {0};
        for (size_t i = 0; i < n; i++)
                if (globbed(&pkgs[i]))
                        buf_printf(&b, "%s%s=%s picks %s", b.len ? ", " : "", pkgs[i].name, pkgs[i].version, versions[i]);
        _cleanup_free_ char *list = buf_steal(&b);
        return errorf(reterr, -ENOENT,
                      "the packages of one driver must share a version, and no upstream version matching their globs "
                      "is offered for all of them (%s): is a component missing from the apt sources (contrib, "
                      "non-free, non-free-firmware)?",
                      list);
}
