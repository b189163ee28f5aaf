/* The driver step and the kernels: an apt-install step that brings the nvidia module (a DKMS
 * package or prebuilt modules, checks/signing.h) does not succeed, and so never reaches the
 * driver reboot, unless the kernel the next boot starts has the module (checks/kernels.h).
 * Headers first: for every installed kernel that lacks the module and its headers, the step
 * installs linux-headers-<release>, whose postinst runs /etc/kernel/header_postinst.d (DKMS's
 * hook there builds and installs the module for that kernel). With `hold_kernel: true` it also
 * holds the kernel metapackages (linux-image-amd64, linux-generic...), so that no new kernel
 * arrives before the module can be built for it. */
#include <string.h>

#include "base/error.h"
#include "checks/facts.h"
#include "checks/kernels.h"
#include "checks/signing.h"
#include "host/dpkg.h"
#include "host/version.h"
#include "steps/apt_install.h"

static ModuleSource module_source(const AptInstallParams *a) {
        ModuleSource m = MODULE_SOURCE_NONE;
        for (size_t i = 0; i < a->n_pkgs; i++) {
                ModuleSource p = module_source_of_package(a->pkgs[i].name);
                if (p == MODULE_SOURCE_DKMS || m == MODULE_SOURCE_NONE)
                        m = p;
        }
        return m;
}

/* The installed driver's upstream version (what its module must say), NULL when none is found. */
static char *driver_version(const Host *h) {
        DpkgPackage pkg = {0};
        char *v = dpkg_find_driver(h, &pkg) == 0 ? version_upstream(pkg.version) : NULL;
        dpkg_package_done(&pkg);
        return v;
}

/* The installed kernel metapackages; *ret_unheld: those not held yet. */
static void kernel_metapackages(const Host *h, char ***ret_all, char ***ret_unheld) {
        const DpkgStatus *st = NULL;
        const char *text = "";
        char **all = NULL, **unheld = NULL;
        if (dpkg_status_get(h, &st) == 0) {
                text = st->text;
                all = kernel_metapackages_in(text);
        }
        for (size_t i = 0; all && all[i]; i++) {
                DpkgPackage pkg = {0};
                if (dpkg_find_in(text, all[i], &pkg) == 0 && !pkg.held)
                        strv_push(&unheld, xstrdup(all[i]));
                dpkg_package_done(&pkg);
        }
        *ret_all = all;
        *ret_unheld = unheld;
}

int apt_install_kernel_probe(const Step *s, Ctx *ctx, char **ret_detail) {
        const AptInstallParams *a = s->params;
        if (a->hold_kernel) {
                _cleanup_strv_free_ char **all = NULL, **unheld = NULL;
                kernel_metapackages(ctx->host, &all, &unheld);
                if (unheld) {
                        *ret_detail = xasprintf("the kernel metapackage %s is not held", unheld[0]);
                        return PROBE_NEEDED;
                }
        }
        if (module_source(a) == MODULE_SOURCE_NONE)
                return PROBE_SATISFIED;
        _cleanup_(kernel_list_done) KernelList kl = {0};
        _cleanup_free_ char *want = driver_version(ctx->host);
        const KernelInfo *next = kernel_list_read(ctx->host, &kl) == 0 ? kernel_list_next(&kl) : NULL;
        if (next && !kernel_has_module(next, want)) {
                *ret_detail = xasprintf("kernel %s boots next and has %s%s", next->release,
                                        next->module ? "the nvidia module " : "no nvidia module",
                                        next->module ? next->module : "");
                return PROBE_NEEDED;
        }
        return PROBE_SATISFIED;
}

/* apt_pick_version() of a header package. One apt does not know makes one refresh of the lists
 * (unless refreshed already or `update: never`), then a second try: the driver's packages are
 * installed already on a rerun, so nothing else refreshed the lists, which an image build removes
 * at its end (and which lack a kernel newer than their last refresh). With `update: never`, the
 * error says that the lists were not refreshed and how to do it. */
static int pick_headers(AptSession *as, const char *name, const char *update, bool *updated, char **ret_version,
                        char **reterr) {
        _cleanup_free_ char *err = NULL;
        int r = apt_pick_version(as, name, NULL, ret_version, &err);
        if (r == -ENOENT && !*updated && !streq(update, "never")) {
                _cleanup_free_ char *uerr = NULL;
                *updated = true;
                int u = apt_session_update(as, &uerr);
                if (u < 0)
                        return errorf(reterr, r, "%s, and refreshing the package lists failed: %s", err ? err : name,
                                      uerr ? uerr : strerror(-u));
                free(TAKE_PTR(err));
                r = apt_pick_version(as, name, NULL, ret_version, &err);
        } else if (r == -ENOENT && streq(update, "never"))
                return errorf(reterr, r, "%s; the package lists are %s (update: never): run `apt-get update`, or set "
                              "`update: auto` on the step",
                              err ? err : name, apt_lists_missing(as->host) ? "missing" : "not refreshed");
        if (r < 0)
                return errorf(reterr, r, "%s", err ? err : strerror(-r));
        return 0;
}

/* A kernel DKMS must build the module for: it lacks the module (of version want) and its headers. */
static bool lacks_headers(const KernelInfo *k, const char *want) {
        return !k->headers && !kernel_has_module(k, want);
}

/* linux-headers-<release> for every kernel that lacks the module and its headers. One that no
 * repository offers is an error for the kernel the next boot starts (and the running one), and
 * only a notice for older ones, which boot only when chosen by hand. */
static int install_headers(AptSession *as, const KernelList *kl, const char *want, const char *update, bool *updated,
                           unsigned *ret_changed, char **reterr) {
        size_t lacking = 0;
        for (size_t i = 0; i < kl->n; i++)
                lacking += lacks_headers(&kl->k[i], want);
        if (lacking == 0)
                return 0;
        /* header packages come from the distribution's lists, not the driver's: every source again */
        int r = apt_session_unscope(as, reterr);
        if (r < 0)
                return r;
        AptPkgSpec *specs = xcalloc(kl->n, sizeof(AptPkgSpec));
        char **versions = xcalloc(kl->n + 1, sizeof(char *));
        _cleanup_free_ char *missing = NULL;
        size_t n = 0;
        int missing_r = 0;
        for (size_t i = 0; i < kl->n; i++) {
                const KernelInfo *k = &kl->k[i];
                if (!lacks_headers(k, want))
                        continue;
                _cleanup_free_ char *name = xasprintf("linux-headers-%s", k->release), *err = NULL;
                r = pick_headers(as, name, update, updated, &versions[n], &err);
                if (r >= 0)
                        specs[n++].name = TAKE_PTR(name);
                else if ((k->next || k->running) && !missing) {
                        missing_r = r;
                        missing = xasprintf("kernel %s boots %s and has no nvidia module, and %s, which DKMS needs to "
                                            "build it, cannot be installed: %s. Add the repository that offers it, or "
                                            "remove kernel %s",
                                            k->release, k->next ? "next" : "now", name, err ? err : strerror(-r),
                                            k->release);
                } else if (!k->next && !k->running)
                        printf("      %s is not offered (%s): kernel %s (not the next boot's) stays without the module\n",
                               name, err ? err : strerror(-r), k->release);
        }
        /* the headers that are offered are installed even when the next kernel's are not */
        r = n > 0 ? apt_install_versions(as, specs, versions, n, false, false, ret_changed, reterr) : 0;
        for (size_t i = 0; i < n; i++)
                free(specs[i].name);
        free(specs);
        strv_free(versions);
        if (r >= 0 && missing)
                return errorf(reterr, missing_r, "%s", missing);
        return r;
}

/* Holds the kernel metapackages (hold_kernel: true). */
static int hold_kernel(Ctx *ctx, AptSession *as, char **reterr) {
        _cleanup_strv_free_ char **all = NULL, **unheld = NULL;
        kernel_metapackages(ctx->host, &all, &unheld);
        if (!unheld)
                return 0;
        return apt_set_hold(as, (const char *const *) unheld, true, reterr);
}

int apt_install_kernel_apply(const Step *s, Ctx *ctx, AptSession *as, bool *updated, unsigned *ret_changed,
                             char **reterr) {
        const AptInstallParams *a = s->params;
        ModuleSource src = module_source(a);
        _cleanup_(kernel_list_done) KernelList kl = {0};
        _cleanup_free_ char *want = NULL, *all = NULL;
        unsigned changed = 0;
        int r;

        if (a->hold_kernel && (r = hold_kernel(ctx, as, reterr)) < 0)
                return r;
        if (src == MODULE_SOURCE_NONE || kernel_list_read(ctx->host, &kl) < 0)
                return 0;
        want = driver_version(ctx->host);
        if (src == MODULE_SOURCE_DKMS) {
                r = install_headers(as, &kl, want, a->update ? a->update : "auto", updated, &changed, reterr);
                if (r < 0)
                        return r;
                kernel_list_done(&kl);
                if (kernel_list_read(ctx->host, &kl) < 0)
                        return 0;
        }
        const KernelInfo *next = kernel_list_next(&kl);
        if (!kernel_has_module(next, want)) {
                all = kernel_list_describe(&kl);
                return errorf(reterr, -ENOPKG,
                              "not going on to a reboot: kernel %s, which boots next (the newest installed), has %s%s%s "
                              "(%s). Build it for that kernel first: install linux-headers-%s and run `dkms autoinstall "
                              "-k %s`, or remove kernel %s; then run the plan again",
                              next->release, next->module ? "the nvidia module " : "no nvidia module",
                              next->module ? next->module : "", want && next->module ? ", not the installed driver's" : "",
                              all, next->release, next->release, next->release);
        }
        if (ret_changed)
                *ret_changed = changed;
        return 0;
}
