/* apt-install: packages resolved and installed through libapt-pkg (depcache, problem resolver,
 * package manager), never by running apt-get. A pinning package listed first (NVIDIA's
 * nvidia-driver-pinning-<branch>) is installed alone and the preferences re-read before the rest
 * is resolved. Held packages are not moved unless `unhold: true` (unhold -> install -> hold). */
#include <fnmatch.h>
#include <string.h>
#include <sys/stat.h>

#include "base/error.h"
#include "plan/state.h"
#include "host/dpkg.h"
#include "host/version.h"
#include "checks/signing.h"
#include "steps/apt_install.h"

static const char *const apt_install_keys[] = {"packages", "hold", "unhold", "pin", "origin", "prefetch",
                                               "lock_timeout", "update", "hold_kernel", "version_of", NULL};

static void params_free(void *p) {
        AptInstallParams *a = p;
        for (size_t i = 0; i < a->n_pkgs; i++) {
                free(a->pkgs[i].name);
                free(a->pkgs[i].version);
        }
        free(a->pkgs);
        free(a->pin);
        free(a->origin);
        strv_free(a->prefetch);
        free(a->update);
        free(a->version_of);
        free(a);
}

static bool is_glob(const char *v) {
        return v && strpbrk(v, "*?[");
}

static bool pkg_name_ok(const char *s) {
        if (strlen(s) < 2)
                return false;
        for (const char *c = s; *c; c++)
                if (!(*c >= 'a' && *c <= 'z') && !(*c >= '0' && *c <= '9') && !strchr("+-.:", *c))
                        return false;
        return true;
}

static int apt_install_parse(Step *s, const YNode *map, ParseCtx *pc) {
        AptInstallParams *a = xcalloc(1, sizeof *a);
        const YNode *v;
        _cleanup_strv_free_ char **pkgs = NULL;
        s->params = a;
        a->lock_timeout = APT_LOCK_TIMEOUT_DEFAULT;
        _cleanup_free_ char *what = xasprintf("step '%s' (kind apt-install)", s->id);
        if (schema_require(pc, map, "packages", what, &v) < 0 || schema_strv(pc, v, "packages", false, &pkgs) < 0)
                return -EINVAL;
        a->pkgs = xcalloc(strv_length(pkgs), sizeof(AptPkgSpec));
        for (size_t i = 0; pkgs[i]; i++) {
                char *eq = strchr(pkgs[i], '=');
                AptPkgSpec *p = &a->pkgs[a->n_pkgs++];
                p->name = eq ? xstrndup(pkgs[i], (size_t) (eq - pkgs[i])) : xstrdup(pkgs[i]);
                p->version = eq ? xstrdup(eq + 1) : NULL;
                if (!pkg_name_ok(p->name) || (p->version && !*p->version)) {
                        src_error_set(pc->err, pc->file, v->items[i],
                                      "'%s' is not a package: write name, name=version or name=glob (e.g. nvidia-open=595.*)",
                                      pkgs[i]);
                        return -EINVAL;
                }
        }
        if ((v = ynode_get(map, "hold")) && schema_bool(pc, v, "hold", &a->hold) < 0)
                return -EINVAL;
        if ((v = ynode_get(map, "unhold")) && schema_bool(pc, v, "unhold", &a->unhold) < 0)
                return -EINVAL;
        if ((v = ynode_get(map, "hold_kernel")) && schema_bool(pc, v, "hold_kernel", &a->hold_kernel) < 0)
                return -EINVAL;
        if ((v = ynode_get(map, "pin")) && schema_string(pc, v, "pin", &a->pin) < 0)
                return -EINVAL;
        if ((v = ynode_get(map, "origin")) && schema_string(pc, v, "origin", &a->origin) < 0)
                return -EINVAL;
        if ((v = ynode_get(map, "prefetch")) && schema_strv(pc, v, "prefetch", true, &a->prefetch) < 0)
                return -EINVAL;
        if ((v = ynode_get(map, "lock_timeout")) &&
            schema_uint(pc, v, "lock_timeout (seconds)", 0, 24 * 3600, &a->lock_timeout) < 0)
                return -EINVAL;
        if ((v = ynode_get(map, "version_of"))) {
                if (schema_string(pc, v, "version_of", &a->version_of) < 0)
                        return -EINVAL;
                if (!pkg_name_ok(a->version_of)) {
                        src_error_set(pc->err, pc->file, v, "version_of names a package (e.g. nvidia-open), found '%s'",
                                      a->version_of);
                        return -EINVAL;
                }
        }
        if ((v = ynode_get(map, "update"))) {
                if (schema_string(pc, v, "update", &a->update) < 0)
                        return -EINVAL;
                if (!streq(a->update, "auto") && !streq(a->update, "always") && !streq(a->update, "never")) {
                        src_error_set(pc->err, pc->file, v, "update must be auto, always or never, found '%s'", a->update);
                        return -EINVAL;
                }
        }
        return 0;
}

/* What the packages say about the driver and the toolkit (for checks, verify and refusals). */
static void apt_install_declare(const Step *s, PlanIntent *in) {
        const AptInstallParams *a = s->params;
        for (size_t i = 0; i < a->n_pkgs; i++) {
                const AptPkgSpec *p = &a->pkgs[i];
                int branch = -1;
                if (startswith(p->name, "nvidia-driver-pinning-"))
                        branch = version_major(p->name + strlen("nvidia-driver-pinning-"));
                else if (startswith(p->name, "nvidia-open-") || startswith(p->name, "cuda-drivers-"))
                        branch = version_major(strrchr(p->name, '-') + 1);
                else if (startswith(p->name, "nvidia-driver-") && version_major(p->name + strlen("nvidia-driver-")) > 0)
                        branch = version_major(p->name + strlen("nvidia-driver-"));
                else if ((streq(p->name, "nvidia-open") || streq(p->name, "cuda-drivers")) && p->version)
                        branch = version_major(p->version);
                if (branch > 0 && in->driver_branch < 0) {
                        in->driver_branch = branch;
                        free(in->driver_glob);
                        in->driver_glob = xasprintf("%d.*", branch);
                }
                if (startswith(p->name, "nvidia-open") && in->driver_flavor < 0)
                        in->driver_flavor = 0; /* DRIVER_FLAVOR_OPEN */
                else if ((startswith(p->name, "cuda-drivers") ||
                          (startswith(p->name, "nvidia-driver-") && !strstr(p->name, "open") &&
                           !startswith(p->name, "nvidia-driver-pinning-"))) &&
                         in->driver_flavor < 0)
                        in->driver_flavor = 1; /* DRIVER_FLAVOR_PROPRIETARY */
                switch (module_source_of_package(p->name)) { /* for Secure Boot, checks/signing.h */
                case MODULE_SOURCE_DKMS:
                        in->module_dkms = true;
                        break;
                case MODULE_SOURCE_SIGNED:
                        in->module_signed = true;
                        break;
                default:
                        break;
                }
                /* NVIDIA's nvidia-fabricmanager[-<branch>], or the cuda-drivers-fabricmanager[-<branch>]
                 * meta-package that brings the driver and Fabric Manager together */
                if ((startswith(p->name, "nvidia-fabricmanager") || startswith(p->name, "cuda-drivers-fabricmanager")) &&
                    !in->fabric_manager_pkg)
                        in->fabric_manager_pkg = xstrdup(p->name);
                if (streq(p->name, "nvidia-container-toolkit") && p->version && !is_glob(p->version) && !in->ctk_version)
                        in->ctk_version = xstrdup(p->version);
        }
        if (a->origin && !in->origin)
                in->origin = xstrdup(a->origin);
}

/* a->pkgs with every package listed without a version at "<v's upstream version>-*" */
static AptPkgSpec *specs_at_version(const AptInstallParams *a, const char *version) {
        _cleanup_free_ char *v = xstrdup(version);
        char *colon = strchr(v, ':'), *up = colon ? colon + 1 : v, *dash = strrchr(up, '-');
        if (dash)
                *dash = 0;
        AptPkgSpec *specs = xcalloc(a->n_pkgs, sizeof *specs);
        for (size_t i = 0; i < a->n_pkgs; i++) {
                specs[i].name = a->pkgs[i].name;
                specs[i].version = a->pkgs[i].version ? xstrdup(a->pkgs[i].version) : xasprintf("%s-*", up);
        }
        return specs;
}

int apt_install_specs(AptSession *as, const AptInstallParams *a, AptPkgSpec **ret, char **reterr) {
        if (!a->version_of) {
                *ret = a->pkgs;
                return 0;
        }
        _cleanup_free_ char *v = NULL;
        AptPackage pk = {0};
        if (apt_shim_package(as->shim, a->version_of, &pk) == 0 && pk.installed)
                v = xstrdup(pk.installed);
        apt_package_done(&pk);
        if (!v) {
                _cleanup_free_ char *err = NULL;
                int r = apt_pick_version_from(as, a->version_of, NULL, NULL, &v, &err);
                if (r < 0) {
                        /* r itself, not errorf()'s result: the analyser cannot see that errorf() returns r */
                        (void) errorf(reterr, r, "version_of: %s is neither installed nor offered (%s)", a->version_of,
                                      err ? err : strerror(-r));
                        return r;
                }
        }
        *ret = specs_at_version(a, v);
        return 0;
}

void apt_install_specs_free(const AptInstallParams *a, AptPkgSpec *specs) {
        if (!specs || specs == a->pkgs)
                return;
        for (size_t i = 0; i < a->n_pkgs; i++)
                free(specs[i].version);
        free(specs);
}

char *apt_install_pin_path(const Step *s) {
        return xasprintf("/etc/apt/preferences.d/gpubase-%s", s->id);
}

char *apt_install_pin_content(const Step *s) {
        const AptInstallParams *a = s->params;
        Buf b = {0};
        buf_printf(&b, "# Written by gpubase (step %s): keeps these packages on %s.\nPackage:", s->id, a->pin);
        for (size_t i = 0; i < a->n_pkgs; i++)
                if (!startswith(a->pkgs[i].name, "nvidia-driver-pinning-"))
                        buf_printf(&b, " %s", a->pkgs[i].name);
        buf_printf(&b, "\nPin: version %s\nPin-Priority: 1001\n", a->pin);
        return buf_steal(&b);
}

static bool version_fits(const char *want, const char *have) {
        if (!want)
                return true;
        return is_glob(want) ? fnmatch(want, have, 0) == 0 : streq(want, have);
}

/* Does some index offering name=version come from origin (site, Origin field or URI)? 0, or -EPERM
 * with *reterr naming where it comes from instead. */
static int check_origin(AptSession *as, const char *origin, const char *name, const char *version, char **reterr) {
        _cleanup_free_ char *from = NULL;
        if (apt_origin_matches(as, name, version, origin, &from))
                return 0;
        return errorf(reterr, -EPERM,
                      "%s %s comes from %s, not from %s (a distribution-packaged driver instead of the CUDA "
                      "repository's?)",
                      name, version, from, origin);
}

/* What dpkg's status says (no libapt): every package installed at a fitting version, and held
 * when asked; with `version_of: PKG`, at PKG's installed upstream version. PROBE_SATISFIED, or
 * PROBE_NEEDED with *ret_detail saying what is missing; -errno with *reterr when the status file
 * cannot be read. */
static int probe_dpkg(const AptInstallParams *a, const Host *h, char **ret_detail, char **reterr) {
        const DpkgStatus *st = NULL;
        int r = dpkg_status_get(h, &st);
        if (r < 0)
                return errorf(reterr, r, "cannot read dpkg's status (%s): %s", DPKG_STATUS, strerror(-r));
        AptPkgSpec *specs = a->pkgs;
        if (a->version_of) {
                const DpkgStanza *of = dpkg_status_lookup(st, a->version_of);
                if (!dpkg_stanza_present(of)) { /* the package it takes the version from is not there yet */
                        *ret_detail = xasprintf("%s (whose version this step follows) is not installed", a->version_of);
                        return PROBE_NEEDED;
                }
                specs = specs_at_version(a, of->version);
        }
        r = PROBE_SATISFIED;
        for (size_t i = 0; r == PROBE_SATISFIED && i < a->n_pkgs; i++) {
                const AptPkgSpec *p = &specs[i];
                const DpkgStanza *pk = dpkg_status_lookup(st, p->name);
                if (!dpkg_stanza_present(pk)) {
                        *ret_detail = xasprintf("%s is not installed", p->name);
                        r = PROBE_NEEDED;
                        break;
                }
                bool ok = dpkg_stanza_installed(pk) && version_fits(p->version, pk->version);
                bool held_ok = !a->hold || dpkg_stanza_held(pk);
                if (!ok || !held_ok) {
                        *ret_detail = !dpkg_stanza_installed(pk)
                                              ? xasprintf("%s %s is not fully installed (dpkg state)", p->name, pk->version)
                                      : !ok ? xasprintf("%s is at %s, want %s", p->name, pk->version, p->version)
                                            : xasprintf("%s is not held", p->name);
                        r = PROBE_NEEDED;
                }
        }
        apt_install_specs_free(a, specs);
        return r;
}

/* What needs libapt: where the installed packages come from (`origin:`), and the archives of the
 * later steps that `prefetch:` names. */
static int probe_apt(const Step *s, Ctx *ctx, AptSession *as, char **ret_detail) { /* a ProbeResult */
        const AptInstallParams *a = s->params;
        for (size_t i = 0; a->origin && i < a->n_pkgs; i++) {
                const AptPkgSpec *p = &a->pkgs[i];
                AptPackage pk = {0};
                _cleanup_free_ char *why = NULL;
                /* dpkg said it is installed; libapt's view of the same status file agrees */
                int r = apt_shim_package(as->shim, p->name, &pk) < 0 || !pk.installed
                                ? (why = xasprintf("%s is not installed", p->name), -ENOENT)
                                : check_origin(as, a->origin, p->name, pk.installed, &why);
                apt_package_done(&pk);
                if (r < 0) {
                        *ret_detail = TAKE_PTR(why);
                        return PROBE_NEEDED;
                }
        }
        /* prefetched archives of later steps must still be there (or those packages installed) */
        for (size_t i = 0; a->prefetch && a->prefetch[i]; i++) {
                const Step *t = plan_find_step(ctx->plan, a->prefetch[i]);
                if (!t || t->kind != &step_apt_install)
                        continue;
                const AptInstallParams *ta = t->params;
                for (size_t j = 0; j < ta->n_pkgs; j++) {
                        _cleanup_free_ char *v = NULL, *err = NULL;
                        AptPackage pk = {0};
                        if (apt_pick_version_from(as, ta->pkgs[j].name, ta->pkgs[j].version, ta->origin, &v, &err) < 0) {
                                *ret_detail = xasprintf("prefetch of step '%s': %s", t->id, err);
                                return PROBE_NEEDED;
                        }
                        bool have = apt_shim_package(as->shim, ta->pkgs[j].name, &pk) == 0 && pk.installed &&
                                    streq(pk.installed, v);
                        apt_package_done(&pk);
                        if (!have && !apt_archive_cached(ctx->host, ta->pkgs[j].name, v)) {
                                *ret_detail = xasprintf("the archive of %s %s (for step '%s') is not prefetched",
                                                        ta->pkgs[j].name, v, t->id);
                                return PROBE_NEEDED;
                        }
                }
        }
        return PROBE_SATISFIED;
}

/* dpkg's status first; libapt (one read-only session for all the probes of the run) only for
 * `origin:` and `prefetch:`; then the `pin:` file. */
static int apt_install_probe(const Step *s, Ctx *ctx, char **ret_detail, char **reterr) {
        const AptInstallParams *a = s->params;
        int r = probe_dpkg(a, ctx->host, ret_detail, reterr);
        if (r != PROBE_SATISFIED)
                return r;
        if (a->origin || a->prefetch) {
                AptSession *as = NULL;
                _cleanup_free_ char *err = NULL;
                AptPrinter printer;
                AptSessionOptions o = {.readonly = true, .verbose = ctx->verbose,
                                       .output = apt_printer(&printer, ctx->verbose, ctx->quiet)};
                r = apt_probe_session(ctx->host, &o, &as, &err);
                if (r < 0)
                        return errorf(reterr, r, "cannot open apt: %s", err ? err : strerror(-r));
                r = probe_apt(s, ctx, as, ret_detail);
                apt_probe_session_release(as);
                if (r != PROBE_SATISFIED)
                        return r;
        }
        if (a->pin) {
                _cleanup_free_ char *rel = apt_install_pin_path(s), *path = host_path(ctx->host, rel);
                _cleanup_free_ char *want = apt_install_pin_content(s), *have = NULL;
                if (read_file(path, 1024 * 1024, &have, NULL) < 0 || !streq(have, want)) {
                        *ret_detail = xasprintf("%s is missing or changed", rel);
                        return PROBE_NEEDED;
                }
        }
        /* the driver's module for the kernel the next boot starts (and the headers it is built with) */
        _cleanup_free_ char *why = NULL;
        if (apt_install_kernel_probe(s, ctx, &why) == PROBE_NEEDED) {
                *ret_detail = TAKE_PTR(why);
                return PROBE_NEEDED;
        }
        *ret_detail = xasprintf("%zu package%s installed%s", a->n_pkgs, a->n_pkgs == 1 ? "" : "s", a->hold ? " and held" : "");
        return PROBE_SATISFIED;
}

/* Resolve every spec to one version (glob -> the highest match; from origin when given). */
int apt_install_pick(AptSession *as, const AptPkgSpec *pkgs, size_t n, const char *origin, char ***ret_versions,
                    char **reterr) {
        char **v = xcalloc(n + 1, sizeof(char *));
        for (size_t i = 0; i < n; i++) {
                /* a pinning package comes from wherever it is offered: it only carries preferences */
                const char *o = startswith(pkgs[i].name, "nvidia-driver-pinning-") ? NULL : origin;
                int r = apt_pick_version_from(as, pkgs[i].name, pkgs[i].version, o, &v[i], reterr);
                if (r < 0) {
                        strv_free(v);
                        return r;
                }
        }
        int r = apt_install_align(as, pkgs, n, origin, v, reterr);
        if (r >= 0)
                *ret_versions = v;
        else
                strv_free(v);
        return r;
}

/* The archives of the later steps named by `prefetch:`, downloaded now, over every source (they
 * come from other repositories than this step's). -errno with *reterr. */
static int prefetch_steps(const Step *s, Ctx *ctx, AptSession *as, char **reterr) {
        const AptInstallParams *a = s->params;
        if (!a->prefetch)
                return 0;
        int r = apt_session_unscope(as, reterr);
        if (r < 0)
                return r;
        for (size_t i = 0; a->prefetch[i]; i++) {
                const Step *t = plan_find_step(ctx->plan, a->prefetch[i]);
                if (!t || t->kind != &step_apt_install)
                        return errorf(reterr, -EINVAL, "prefetch: '%s' is not an apt-install step of this plan",
                                      a->prefetch[i]);
                _cleanup_free_ char *err = NULL;
                bool picked = false;
                r = apt_install_prefetch(as, t, ctx, &picked, &err);
                if (r < 0 && !picked)
                        return errorf(reterr, r, "prefetch of step '%s': %s (is its repository configured before this "
                                      "step?)",
                                      t->id, err);
                if (r < 0)
                        return errorf(reterr, r, "prefetch of step '%s': %s", t->id, err);
        }
        return 0;
}

/* apt-get update as `update:` says (auto: lists stale or missing); *updated says that it ran. A failed refresh
 * fails only with `update: always`: offline after the reboot, what was prefetched may still be enough. */
static int refresh_lists(AptSession *as, Ctx *ctx, const char *update, bool *updated, char **reterr) {
        _cleanup_free_ char *err = NULL;
        bool due = apt_lists_stale(ctx->host) || apt_lists_missing(ctx->host);
        if (!streq(update, "always") && !(streq(update, "auto") && due))
                return 0;
        int r = apt_session_update(as, &err);
        if (r < 0 && streq(update, "always"))
                return err ? errorf(reterr, r, "%s", err) : r;
        if (r < 0)
                printf("      the package lists could not be refreshed (%s); going on with the ones on disk\n", err);
        *updated = true;
        return 0;
}

/* Nothing half-installed is reported as done (-EIO naming it), from dpkg's status: libapt's cache is stale now. */
static int verify_installed(AptSession *as, const AptInstallParams *a, char **reterr) {
        const DpkgStatus *st = NULL;
        int r = dpkg_status_get(as->host, &st);
        if (r < 0)
                return errorf(reterr, r, "cannot read dpkg's status after dpkg ran: %s", strerror(-r));
        for (size_t i = 0; i < a->n_pkgs; i++) {
                const DpkgStanza *p = dpkg_status_lookup(st, a->pkgs[i].name);
                if (!p || !dpkg_stanza_installed(p))
                        return errorf(reterr, -EIO, "%s is not fully installed after dpkg ran (state: %s)",
                                      a->pkgs[i].name, p && dpkg_stanza_present(p) ? "not configured" : "not installed");
        }
        return 0;
}

/* After the install: the holds, the `pin:` preferences file, and where the packages came from.
 * -errno with *reterr when one of them fails (apt may fail without a message). */
static int hold_pin_origin(const Step *s, Ctx *ctx, AptSession *as, char **reterr) {
        const AptInstallParams *a = s->params;
        int r;
        if (a->hold || a->unhold) {
                _cleanup_strv_free_ char **names = NULL;
                for (size_t i = 0; i < a->n_pkgs; i++)
                        strv_push(&names, xstrdup(a->pkgs[i].name));
                r = apt_set_hold(as, (const char *const *) names, true, reterr);
                if (r < 0)
                        return r;
        }
        if (a->pin) {
                _cleanup_free_ char *rel = apt_install_pin_path(s), *path = host_path(ctx->host, rel);
                _cleanup_free_ char *content = apt_install_pin_content(s);
                remove_stale_temp_files(path); /* from an earlier attempt that was killed mid-write */
                r = write_file_atomic(path, content, strlen(content), 0644);
                if (r < 0)
                        return errorf(reterr, r, "cannot write %s: %s", rel, write_strerror(r));
        }
        for (size_t i = 0; a->origin && i < a->n_pkgs; i++) {
                AptPackage pk = {0};
                (void) apt_shim_package(as->shim, a->pkgs[i].name, &pk);
                r = pk.installed ? check_origin(as, a->origin, pk.name, pk.installed, reterr) : 0;
                apt_package_done(&pk);
                if (r < 0)
                        return r;
        }
        return 0;
}

static char *applied_detail(const AptInstallParams *a, unsigned changed) {
        Buf b = {0};
        buf_printf(&b, "%u package%s changed;", changed, changed == 1 ? "" : "s");
        for (size_t i = 0; i < a->n_pkgs; i++)
                buf_printf(&b, " %s", a->pkgs[i].name);
        if (a->hold)
                buf_puts(&b, " (held)");
        if (a->hold_kernel)
                buf_puts(&b, "; kernel metapackages held");
        if (a->prefetch)
                buf_puts(&b, "; later steps' archives prefetched");
        return buf_steal(&b);
}

static int apt_install_apply(const Step *s, Ctx *ctx, char **ret_detail, char **reterr) {
        const AptInstallParams *a = s->params;
        AptSession as;
        _cleanup_free_ char *err = NULL;
        AptPrinter printer;
        AptSessionOptions o = {.lock = true, .lock_timeout = a->lock_timeout, .deferred = true, .verbose = ctx->verbose,
                               .output = apt_printer(&printer, ctx->verbose, ctx->quiet), .stop_fd = ctx->stop_fd};
        const char *update = a->update ? a->update : "auto";
        bool updated = false;
        unsigned changed = 0, changed3 = 0;
        int r;

        r = apt_session_open(&as, ctx->host, &o, &err);
        if (r < 0) {
                ctx->lock_busy = r == -EBUSY;
                return r == -EBUSY ? errorf(reterr, r, "the dpkg lock is still held after %us: %s", a->lock_timeout, err)
                                   : errorf(reterr, r, "cannot open apt: %s", err ? err : strerror(-r));
        }
        r = apt_configure_pending(&as, &err);
        if (r >= 0)
                r = refresh_lists(&as, ctx, update, &updated, &err);
        if (r >= 0)
                r = apt_install_set(&as, s, ctx, &updated, &changed, &err);
        if (r >= 0)
                r = verify_installed(&as, a, &err);
        if (r >= 0)
                r = hold_pin_origin(s, ctx, &as, &err);
        /* the session may still read only the step's sources: what reads more (the kernels' headers,
         * the prefetch) goes back to every source first, and nothing else pays for that */
        if (r >= 0)
                r = apt_install_kernel_apply(s, ctx, &as, &updated, &changed3, &err);
        if (r >= 0)
                r = prefetch_steps(s, ctx, &as, &err);
        if (r >= 0 && a->prefetch)
                apt_session_sync(&as);
        apt_session_close(&as);
        if (r < 0)
                return err ? errorf(reterr, r, "%s", err) : errorf(reterr, r, "apt failed: %s", strerror(-r));
        *ret_detail = applied_detail(a, changed + changed3);
        return 0;
}

static char *apt_install_describe(const Step *s) {
        const AptInstallParams *a = s->params;
        Buf b = {0};
        buf_puts(&b, "install");
        for (size_t i = 0; i < a->n_pkgs; i++)
                buf_printf(&b, "%s %s%s%s", i ? "," : "", a->pkgs[i].name, a->pkgs[i].version ? "=" : "",
                           a->pkgs[i].version ? a->pkgs[i].version : "");
        if (a->hold)
                buf_puts(&b, ", held");
        if (a->hold_kernel)
                buf_puts(&b, ", kernel metapackages held");
        if (a->pin)
                buf_printf(&b, ", pinned to %s", a->pin);
        if (a->version_of)
                buf_printf(&b, ", at %s's version", a->version_of);
        if (a->origin)
                buf_printf(&b, ", from %s", a->origin);
        if (a->prefetch) {
                _cleanup_free_ char *l = strv_join(a->prefetch, ", ");
                buf_printf(&b, "; prefetch %s", l);
        }
        return buf_steal(&b);
}

/* A change comes before this step: what the lists offer, which its scope reads, is read now, beside
 * that change (host/apt.h). */
static void apt_install_ahead(const Step *s _unused_, Ctx *ctx) {
        apt_names_ahead(ctx->host);
}

const StepKind step_apt_install = {
        .name = "apt-install",
        .summary = "install packages through libapt (pinned versions or globs, holds, prefetch)",
        .keys = apt_install_keys,
        .parse = apt_install_parse,
        .free_params = params_free,
        .probe = apt_install_probe,
        .apply = apt_install_apply,
        .describe = apt_install_describe,
        .preview = apt_install_preview,
        .declare = apt_install_declare,
        .bundle = apt_install_bundle,
        .ahead = apt_install_ahead,
};
