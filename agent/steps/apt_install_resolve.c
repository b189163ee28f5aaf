/* apt-install without installing: what --dry-run says a step would change, and the archives
 * `bundle create` puts into a bundle. Both resolve against fresh indexes in a scratch directory,
 * as apply would (the pinning package first). */
#include <string.h>

#include "base/error.h"
#include "host/bundle.h"
#include "steps/apt_install.h"

/* --dry-run: resolve against fresh indexes in a scratch directory and list what would change. */
int apt_install_preview(const Step *s, Ctx *ctx, char **ret_detail, char **reterr) {
        const AptInstallParams *a = s->params;
        AptSession as;
        _cleanup_free_ char *err = NULL;
        _cleanup_strv_free_ char **versions = NULL, **changes = NULL;
        AptPrinter printer;
        AptSessionOptions o = {.scratch = true, .verbose = ctx->verbose, .output = apt_printer(&printer, ctx->verbose, ctx->quiet)};
        int r = apt_session_open(&as, ctx->host, &o, &err);
        if (r < 0)
                return errorf(reterr, r, "cannot open apt: %s", err ? err : strerror(-r));
        r = apt_shim_update(as.shim, NULL, &err);
        AptPkgSpec *specs = NULL;
        if (r >= 0)
                r = apt_install_specs(&as, a, &specs, &err);
        if (r >= 0)
                r = apt_install_pick(&as, specs, a->n_pkgs, a->origin, &versions, &err);
        apt_install_specs_free(a, specs);
        for (size_t i = 0; r >= 0 && i < a->n_pkgs; i++)
                r = apt_shim_set_candidate(as.shim, a->pkgs[i].name, versions[i], &err);
        for (size_t i = 0; r >= 0 && i < a->n_pkgs; i++)
                r = apt_shim_mark_install(as.shim, a->pkgs[i].name, NULL, &err);
        if (r >= 0)
                r = apt_shim_resolve(as.shim, &changes, &err);
        apt_session_close(&as);
        if (r < 0)
                return err ? errorf(reterr, r, "%s", err) : r;
        /* the requested packages with their versions, then how many come with them */
        Buf b = {0};
        size_t mine = 0, n = strv_length(changes);
        for (size_t i = 0; i < n; i++) {
                size_t len = strcspn(changes[i], " :");
                for (size_t j = 0; j < a->n_pkgs; j++)
                        if (strlen(a->pkgs[j].name) == len && strncmp(changes[i], a->pkgs[j].name, len) == 0) {
                                buf_printf(&b, "%s%s", mine++ ? ", " : "", changes[i]);
                                break;
                        }
        }
        _cleanup_free_ char *list = buf_steal(&b);
        *ret_detail = n == 0 ? xstrdup("resolves to no change")
                             : xasprintf("resolves to %s%s and %zu more package%s", list, mine ? "" : "(nothing asked)",
                                         n - mine, n - mine == 1 ? "" : "s");
        return 0;
}

/* Resolve specs (already picked versions) and put every archive of the result into the bundle.
 * *ret_added counts the archives added; -errno with *reterr. */
static int bundle_set(AptSession *as, const Step *s, BundleBuilder *b, const AptPkgSpec *pkgs, char **versions, size_t n,
                      unsigned *ret_added, char **ret_pinning_deb, char **reterr) {
        AptArchive *arch = NULL;
        size_t n_arch = 0;
        int r;
        r = apt_mark_versions(as, pkgs, versions, n, reterr);
        if (r < 0)
                return r;
        r = apt_shim_resolve(as->shim, NULL, reterr);
        if (r < 0)
                return r;
        if (r == 0) {
                apt_shim_clear_marks(as->shim);
                return 0;
        }
        r = apt_shim_fetch_archives(as->shim, NULL, &arch, &n_arch, reterr);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n_arch && r >= 0; i++) {
                r = bundle_builder_add_archive(b, &arch[i], s->id, reterr);
                if (r == 0)
                        (*ret_added)++;
                if (r >= 0 && ret_pinning_deb && streq(arch[i].name, pkgs[0].name))
                        *ret_pinning_deb = xstrdup(arch[i].path);
        }
        apt_archives_free(arch, n_arch);
        return r < 0 ? r : 0;
}

/* bundle create: resolve the packages as apply would (the pinning package first, its preferences
 * taking effect before the rest) against fresh indexes in a scratch directory, and put the
 * archives of everything that would be installed into the bundle. Nothing is installed: the
 * pinning package's files are unpacked into the scratch root, and a `pin:` written there. */
int apt_install_bundle(const Step *s, Ctx *ctx, BundleBuilder *b, char **ret_detail, char **reterr) {
        const AptInstallParams *a = s->params;
        AptSession as;
        _cleanup_free_ char *err = NULL, *pinning_deb = NULL;
        _cleanup_strv_free_ char **versions = NULL;
        AptPrinter printer;
        AptSessionOptions o = {.scratch = true, .verbose = ctx->verbose, .output = apt_printer(&printer, ctx->verbose, ctx->quiet)};
        unsigned added = 0;
        size_t first = 0;
        int r = apt_session_open(&as, ctx->host, &o, &err);
        if (r < 0)
                return errorf(reterr, r, "cannot open apt: %s", err ? err : strerror(-r));
        r = apt_shim_update(as.shim, NULL, &err);
        if (r >= 0 && a->n_pkgs > 1 && startswith(a->pkgs[0].name, "nvidia-driver-pinning-")) {
                _cleanup_strv_free_ char **pv = NULL;
                r = apt_install_pick(&as, a->pkgs, 1, NULL, &pv, &err);
                if (r >= 0)
                        r = bundle_set(&as, s, b, a->pkgs, pv, 1, &added, &pinning_deb, &err);
                if (r >= 0 && pinning_deb)
                        r = deb_unpack_files(ctx->host, pinning_deb, &err);
                if (r >= 0)
                        r = apt_session_reopen(&as, &err);
                first = 1;
        }
        AptPkgSpec *specs = NULL;
        if (r >= 0)
                r = apt_install_specs(&as, a, &specs, &err);
        if (r >= 0)
                r = apt_install_pick(&as, specs + first, a->n_pkgs - first, a->origin, &versions, &err);
        if (r >= 0)
                r = bundle_set(&as, s, b, specs + first, versions, a->n_pkgs - first, &added, NULL, &err);
        apt_install_specs_free(a, specs);
        /* a package already installed here is not a change here, so it is not in the bundle: the
         * bundle assumes the target has it too */
        _cleanup_strv_free_ char **here = NULL;
        for (size_t i = first; r >= 0 && i < a->n_pkgs; i++) {
                AptPackage pk = {0};
                if (apt_shim_package(as.shim, a->pkgs[i].name, &pk) == 0 && pk.installed && versions &&
                    streq(pk.installed, versions[i - first]))
                        strv_push(&here, xasprintf("%s %s", pk.name, pk.installed));
                apt_package_done(&pk);
        }
        apt_session_close(&as);
        if (r >= 0 && a->pin) {
                _cleanup_free_ char *rel = apt_install_pin_path(s), *path = host_path(ctx->host, rel);
                _cleanup_free_ char *content = apt_install_pin_content(s);
                r = mkdir_parents(path, 0755);
                if (r >= 0)
                        r = write_file_atomic(path, content, strlen(content), 0644);
                if (r < 0)
                        err = xasprintf("cannot write %s in the scratch root: %s", rel, strerror(-r));
        }
        if (r < 0)
                return err ? errorf(reterr, r, "%s", err) : errorf(reterr, r, "apt failed: %s", strerror(-r));
        Buf bd = {0};
        buf_printf(&bd, "%u archive%s added;", added, added == 1 ? "" : "s");
        for (size_t i = 0; i < a->n_pkgs; i++)
                buf_printf(&bd, " %s", a->pkgs[i].name);
        if (here) {
                _cleanup_free_ char *l = strv_join(here, ", ");
                buf_printf(&bd, "; warning: already installed on this machine, so not in the bundle: %s (the target "
                                "must have them too; make bundles on a machine like the target before the plan ran)",
                           l);
        }
        *ret_detail = buf_steal(&bd);
        return 0;
}
