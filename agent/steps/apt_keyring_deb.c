/* apt-keyring-deb: a repository keyring shipped as a .deb (NVIDIA's cuda-keyring_1.1-1_all.deb).
 * Before anything is installed the package is checked: its files (only /usr/share/keyrings,
 * /etc/apt/sources.list.d and the like), the keyring inside against the pinned fingerprint, and its
 * sha256: against the plan's when it pins one, else against the one the package's own repository
 * lists in an index signed by the pinned key (keyring_chain.h). Then libapt installs it (as a local
 * file offered to the depcache). */
#include <dirent.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/crypto_load.h"
#include "base/error.h"
#include "base/hash.h"
#include "checks/facts.h"
#include "host/apt.h"
#include "host/bundle.h"
#include "host/debfile.h"
#include "host/pgp.h"
#include "steps/keyring_chain.h"
#include "steps/apt_output.h"
#include "steps/steps.h"

typedef struct KeyringDebParams {
        char *url, *path, *sha256, *fingerprint;
        char *file;    /* the file name: name_version_arch.deb */
        char *package; /* from the file name */
        char *version;
} KeyringDebParams;

static const char *const keyring_deb_keys[] = {"url", "path", "sha256", "fingerprint", NULL};
/* Where a keyring package may write: its keyrings and sources, and (both seen in NVIDIA's
 * keyring packages) an apt preferences file pinning the repository and its documentation. */
static char *const allowed_dirs[] = {(char *) "/usr/share/keyrings", (char *) "/etc/apt/sources.list.d",
                                     (char *) "/etc/apt/preferences.d", (char *) "/usr/share/doc", NULL};

static void params_free(void *p) {
        KeyringDebParams *k = p;
        free(k->url);
        free(k->path);
        free(k->sha256);
        free(k->fingerprint);
        free(k->file);
        free(k->package);
        free(k->version);
        free(k);
}

/* "cuda-keyring_1.1-1_all.deb" -> package, version ("%3a" is an epoch's colon) */
static int split_deb_name(const char *file, char **ret_pkg, char **ret_ver) {
        size_t n = strlen(file);
        if (n < 5 || !streq(file + n - 4, ".deb"))
                return -EINVAL;
        const char *u1 = strchr(file, '_');
        const char *u2 = u1 ? strchr(u1 + 1, '_') : NULL;
        if (!u1 || !u2 || u1 == file || u2 == u1 + 1)
                return -EINVAL;
        *ret_pkg = xstrndup(file, (size_t) (u1 - file));
        _cleanup_free_ char *v = xstrndup(u1 + 1, (size_t) (u2 - u1 - 1));
        Buf b = {0};
        for (const char *c = v; *c; c++)
                if (strncasecmp(c, "%3a", 3) == 0) {
                        buf_puts(&b, ":");
                        c += 2;
                } else
                        buf_append(&b, c, 1);
        *ret_ver = buf_steal(&b);
        return 0;
}

static int keyring_deb_parse(Step *s, const YNode *map, ParseCtx *pc) {
        KeyringDebParams *k = xcalloc(1, sizeof *k);
        const YNode *v, *src;
        _cleanup_free_ char *fpr = NULL;
        s->params = k;
        _cleanup_free_ char *what = xasprintf("step '%s' (kind apt-keyring-deb)", s->id);
        if ((v = ynode_get(map, "url")) && schema_string(pc, v, "url", &k->url) < 0)
                return -EINVAL;
        if ((v = ynode_get(map, "path")) && schema_input_path(pc, v, "path", &k->path) < 0)
                return -EINVAL;
        if (!k->url == !k->path) {
                src_error_set(pc->err, pc->file, map, "%s needs exactly one of url and path", what);
                return -EINVAL;
        }
        src = ynode_get(map, k->url ? "url" : "path");
        const char *slash = strrchr(k->url ? k->url : k->path, '/');
        k->file = xstrdup(slash ? slash + 1 : k->url);
        if (split_deb_name(k->file, &k->package, &k->version) < 0) {
                src_error_set(pc->err, pc->file, src, "'%s' is not a Debian package file name (name_version_arch.deb)", k->file);
                return -EINVAL;
        }
        /* with a pinned fingerprint the sha256 may come from the repository's signed index instead */
        if (!ynode_get(map, "fingerprint") && !ynode_get(map, "sha256")) {
                src_error_set(pc->err, pc->file, map,
                              "%s needs sha256 or fingerprint (with fingerprint alone, the sha256 is taken from the "
                              "package's repository, from an index signed by that key)",
                              what);
                return -EINVAL;
        }
        if ((v = ynode_get(map, "sha256"))) {
                if (schema_string(pc, v, "sha256", &k->sha256) < 0)
                        return -EINVAL;
                bool hex = strlen(k->sha256) == 64;
                for (char *c = k->sha256; hex && *c; c++) {
                        if (*c >= 'A' && *c <= 'F')
                                *c = (char) (*c - 'A' + 'a');
                        hex = (*c >= '0' && *c <= '9') || (*c >= 'a' && *c <= 'f');
                }
                if (!hex) {
                        src_error_set(pc->err, pc->file, v, "sha256 must be 64 hex digits, found '%s'", k->sha256);
                        return -EINVAL;
                }
        }
        if ((v = ynode_get(map, "fingerprint"))) {
                if (schema_string(pc, v, "fingerprint", &fpr) < 0)
                        return -EINVAL;
                if (pgp_fingerprint_normalize(fpr, &k->fingerprint) < 0) {
                        src_error_set(pc->err, pc->file, v, "fingerprint must be 40 hex digits (spaces allowed), found '%s'", fpr);
                        return -EINVAL;
                }
        }
        return 0;
}

static int keyring_deb_probe(const Step *s, Ctx *ctx, char **ret_detail, char **reterr _unused_) {
        const KeyringDebParams *k = s->params;
        DpkgPackage pkg = {0};
        if (dpkg_find(ctx->host, k->package, &pkg) < 0 || !pkg.installed || !streq(pkg.version, k->version)) {
                *ret_detail = pkg.name ? xasprintf("%s is at %s%s, want %s", k->package, pkg.version,
                                                   pkg.installed ? "" : " (not fully installed)", k->version)
                                       : xasprintf("%s is not installed", k->package);
                dpkg_package_done(&pkg);
                return PROBE_NEEDED;
        }
        dpkg_package_done(&pkg);
        /* its files intact: dpkg's md5sums, else at least present (from the .list) */
        _cleanup_free_ char *rel = xasprintf("/var/lib/dpkg/info/%s.md5sums", k->package);
        _cleanup_free_ char *md5s = host_path(ctx->host, rel), *text = NULL;
        _cleanup_free_ char *rel2 = xasprintf("/var/lib/dpkg/info/%s.list", k->package);
        _cleanup_free_ char *listp = host_path(ctx->host, rel2), *list = NULL;
        bool have_key = !k->fingerprint;
        if (read_file(md5s, 4 * 1024 * 1024, &text, NULL) == 0) {
                for (char *save = NULL, *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
                        char *sp = strstr(l, "  ");
                        if (!sp)
                                continue;
                        *sp = 0;
                        _cleanup_free_ char *f = xasprintf("/%s", sp + 2), *p = host_path(ctx->host, f);
                        char got[33];
                        if (md5_file_hex(p, got) < 0 || !streq(got, l)) {
                                *ret_detail = xasprintf("%s from %s is missing or changed", f, k->package);
                                return PROBE_NEEDED;
                        }
                }
        }
        if (read_file(listp, 4 * 1024 * 1024, &list, NULL) == 0)
                for (char *save = NULL, *l = strtok_r(list, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
                        _cleanup_free_ char *p = host_path(ctx->host, l);
                        struct stat st;
                        if (lstat(p, &st) < 0) {
                                *ret_detail = xasprintf("%s from %s is missing", l, k->package);
                                return PROBE_NEEDED;
                        }
                        if (!have_key && S_ISREG(st.st_mode) && startswith(l, "/usr/share/keyrings/"))
                                have_key = pgp_keyring_file_has(p, k->fingerprint);
                }
        if (!have_key) {
                *ret_detail = xasprintf("no keyring of %s holds key %s", k->package, k->fingerprint);
                return PROBE_NEEDED;
        }
        *ret_detail = xasprintf("%s %s is installed and its files are intact", k->package, k->version);
        return PROBE_SATISFIED;
}

static int vouch(const KeyringDebParams *k, const Ctx *ctx, const char *deb, const DebInfo *info, const char *save,
                 char **ret_how, char **reterr);

/* Everything is checked before dpkg sees the package; *reterr says why not, *ret_how (on success)
 * how its content was vouched for. save: where the repository's signed indexes go (bundle create),
 * or NULL. */
static int vet(const KeyringDebParams *k, const Ctx *ctx, const char *deb, const char *save, char **ret_how,
               char **reterr) {
        char sum[65];
        _cleanup_(deb_info_freep) DebInfo *info = NULL;
        _cleanup_free_ char *why = NULL, *bad = NULL;
        int r;
        if (k->sha256) {
                r = sha256_file_hex(deb, sum);
                if (r < 0)
                        return errorf(reterr, r, "cannot read %s: %s", k->file, strerror(-r));
                if (!streq(sum, k->sha256))
                        return errorf(reterr, -EPERM, "refusing %s: its sha256 is %s, the plan pins %s", k->file, sum,
                                      k->sha256);
        }
        r = deb_inspect(deb, &info, &why);
        if (r < 0)
                return errorf(reterr, r, "refusing %s: %s", k->file, why ? why : strerror(-r));
        r = deb_check_paths(info, allowed_dirs, &bad, &why);
        if (r < 0)
                return errorf(reterr, -EPERM, "refusing %s: it would write %s (%s); a keyring package may only write "
                              "/usr/share/keyrings, /etc/apt/sources.list.d, /etc/apt/preferences.d and /usr/share/doc",
                              k->file, bad ? bad : "?", why ? why : "outside the allowed directories");
        if (!streq(info->package, k->package) || !streq(info->version, k->version)) {
                return errorf(reterr, -EPERM, "refusing %s: it holds %s %s, its file name says %s %s", k->file, info->package,
                              info->version, k->package, k->version);
        }
        if (!k->fingerprint) {
                *ret_how = xstrdup("sha256 and file list checked");
                return 0;
        }
        Buf found = {0};
        for (size_t i = 0; i < info->n_entries; i++) {
                const DebEntry *e = &info->entries[i];
                if (e->type != DEB_ENTRY_FILE || !startswith(e->path, "/usr/share/keyrings/"))
                        continue;
                _cleanup_free_ char *data = NULL;
                size_t len = 0;
                if (deb_read_data_file(deb, e->path, PGP_KEYRING_MAX, &data, &len, NULL) < 0)
                        continue;
                if (pgp_keyring_has_fingerprint(data, len, k->fingerprint) == 1) {
                        buf_done(&found);
                        return vouch(k, ctx, deb, info, save, ret_how, reterr);
                }
                _cleanup_strv_free_ char **fprs = NULL;
                if (pgp_keyring_fingerprints(data, len, &fprs, NULL, NULL) == 0)
                        for (size_t j = 0; fprs[j]; j++)
                                buf_printf(&found, "%s%s", found.len ? ", " : "", fprs[j]);
        }
        _cleanup_free_ char *f = buf_steal(&found);
        return errorf(reterr, -EPERM, "refusing %s: its keyring holds %s, the plan pins %s", k->file, *f ? f : "no key",
                      k->fingerprint);
}

/* The key is the pinned one; now the content: the plan's sha256 when it pins one. Without it, the
 * package's own repository, signed by that key, must list this very file. From an offline bundle
 * (run --bundle) the same chain is checked against the repository's signed indexes as the bundle
 * carries them (keyrings/FILE.chain/, saved when the bundle was made), so a bundle whose keyring
 * package or indexes were swapped is refused just as a swapped download is. */
static int vouch(const KeyringDebParams *k, const Ctx *ctx, const char *deb, const DebInfo *info, const char *save,
                 char **ret_how, char **reterr) {
        if (k->sha256) {
                *ret_how = xstrdup("sha256 and key fingerprint checked");
                return 0;
        }
        _cleanup_free_ char *how = NULL, *saved = NULL;
        if (ctx->host->apt_bundle) {
                saved = xasprintf("%s/keyrings/%s.chain", ctx->host->apt_bundle, k->file);
                if (access(saved, F_OK) < 0)
                        return errorf(reterr, -EPERM, "refusing %s: the offline bundle carries no signed index of its "
                                      "repository (keyrings/%s.chain): make the bundle again with this gpubase, or pin "
                                      "the package's sha256 in the plan",
                                      k->file, k->file);
        }
        KeyringChainIndexes idx = {.save = save, .saved = saved};
        int r = keyring_chain_verify(ctx->host, deb, info, k->file, k->fingerprint, &idx,
                                     ctx->quiet ? -1 : ctx->verbose, &how, reterr);
        if (r < 0)
                return r;
        *ret_how = xasprintf("key fingerprint checked; %s%s", how, saved ? " (the bundle's copy of the index)" : "");
        return 0;
}

/* The package file, into deb: from an offline bundle (run --bundle), downloaded (url), or read
 * from src (path: under its root). -errno with *reterr. */
static int obtain(const KeyringDebParams *k, Ctx *ctx, const Host *src, const char *deb, char **reterr) {
        _cleanup_free_ char *err = NULL;
        int r;
        if (ctx->host->apt_bundle) {
                _cleanup_free_ char *in = xasprintf("%s/keyrings/%s", ctx->host->apt_bundle, k->file), *data = NULL;
                size_t len = 0;
                r = read_file(in, 256 * 1024 * 1024, &data, &len);
                if (r >= 0)
                        r = write_file_atomic(deb, data, len, 0644);
                if (r < 0)
                        return errorf(reterr, r, "the offline bundle has no keyrings/%s (%s): it was made for another "
                                      "plan",
                                      k->file, strerror(-r));
                return r;
        }
        if (k->url) {
                AptPrinter printer;
                AptSessionOptions o = {.verbose = ctx->verbose,
                                       .output = apt_printer(&printer, ctx->verbose, ctx->quiet)};
                r = apt_download(ctx->host, &o, k->url, deb, &err);
                if (r < 0)
                        return errorf(reterr, r, "cannot download %s: %s", k->url, err ? err : strerror(-r));
                return r;
        }
        _cleanup_free_ char *in = ctx_input_path(ctx, src, k->path), *data = NULL;
        size_t len = 0;
        r = read_file(in, 256 * 1024 * 1024, &data, &len);
        if (r >= 0)
                r = write_file_atomic(deb, data, len, 0644);
        if (r < 0)
                return errorf(reterr, r, "cannot read %s: %s", k->path, strerror(-r));
        return r;
}

/* One try at installing deb in a session of options o: 0, or -errno with *reterr; *committed when
 * dpkg ran (a failure then is not tried again). */
static int install_once(const KeyringDebParams *k, Ctx *ctx, bool reinstall, const AptSessionOptions *o,
                        bool *committed, char **reterr) {
        AptSession as = {0};
        int r = apt_session_open(&as, ctx->host, o, reterr);
        if (r < 0) {
                ctx->lock_busy = r == -EBUSY;
                _cleanup_free_ char *err = *reterr;
                *reterr = NULL;
                return r == -EBUSY ? errorf(reterr, r, "the dpkg lock is still held: %s", err)
                                   : errorf(reterr, r, "cannot open apt: %s", err ? err : strerror(-r));
        }
        /* a dpkg run cut off (this package unpacked but not configured, say) is finished first:
         * libapt sees nothing to do for a package already at the wanted version, configured or not */
        r = apt_configure_pending(&as, reterr);
        if (r >= 0)
                r = reinstall ? apt_shim_mark_reinstall(as.shim, k->package, reterr)
                              : apt_shim_mark_install(as.shim, k->package, k->version, reterr);
        if (r >= 0)
                r = apt_shim_resolve(as.shim, NULL, reterr);
        if (r > 0) {
                *committed = true;
                r = apt_shim_commit(as.shim, false, &as.out.progress, reterr);
        }
        apt_session_close(&as);
        return r < 0 ? r : 0;
}

/* Installs deb: first without the root's lists (a keyring package depends on nothing that is not
 * installed, and libapt need not read a real host's 60,000 packages to install it), then, when it
 * needs something from them after all (a dependency), with them. A package dpkg left broken is
 * mended from its archive, which only the lists name: then with the lists at once. */
static int install_deb(const KeyringDebParams *k, Ctx *ctx, const char *deb, bool reinstall, char **reterr) {
        _cleanup_free_ char *err = NULL;
        const char *debs[] = {deb, NULL};
        AptPrinter printer;
        AptSessionOptions o = {.lock = true, .lock_timeout = APT_LOCK_TIMEOUT_DEFAULT, .debs = debs,
                               .force_confmiss = reinstall, .verbose = ctx->verbose,
                               .output = apt_printer(&printer, ctx->verbose, ctx->quiet), .stop_fd = ctx->stop_fd,
                               .no_lists = !apt_reinstall_required(ctx->host)};
        bool committed = false;
        int r = install_once(k, ctx, reinstall, &o, &committed, &err);
        if (r < 0 && !committed && !ctx->lock_busy && o.no_lists) {
                free(err);
                err = NULL;
                o.no_lists = false;
                r = install_once(k, ctx, reinstall, &o, &committed, &err);
        }
        if (r < 0 && ctx->lock_busy)
                return errorf(reterr, r, "%s", err);
        if (r < 0)
                return errorf(reterr, r, "installing %s failed: %s", k->file, err ? err : strerror(-r));
        return 0;
}

static int keyring_deb_apply(const Step *s, Ctx *ctx, char **ret_detail, char **reterr) {
        const KeyringDebParams *k = s->params;
        char tmpl[] = "/tmp/gpubase-deb.XXXXXX";
        _cleanup_free_ char *how = NULL, *why = NULL;
        int r;

        if (!mkdtemp(tmpl))
                return negative_errno();
        _cleanup_free_ char *deb = xasprintf("%s/%s", tmpl, k->file);
        r = obtain(k, ctx, ctx->host, deb, reterr);
        if (r >= 0)
                r = vet(k, ctx, deb, NULL, &how, reterr);
        /* installed at this version but its files are gone or changed: reinstall, and have dpkg put
         * back deleted conffiles (the sources list is one) */
        DpkgPackage cur = {0};
        bool reinstall = dpkg_find(ctx->host, k->package, &cur) == 0 && cur.installed && streq(cur.version, k->version);
        dpkg_package_done(&cur);
        if (r >= 0)
                r = install_deb(k, ctx, deb, reinstall, reterr);
        /* prove it: the probe must now find the package and its files */
        if (r >= 0 && keyring_deb_probe(s, ctx, &why, NULL) != PROBE_SATISFIED)
                r = errorf(reterr, -EIO, "%s was installed but is still not right: %s", k->file, why);
        if (r >= 0)
                *ret_detail = xasprintf("%s %s %s (%s)", reinstall ? "reinstalled" : "installed", k->package,
                                        k->version, how);
        (void) unlink(deb);
        (void) rmdir(tmpl);
        return r < 0 ? r : 0;
}

/* The files under dir (the repository's signed indexes, saved by the chain check) into the bundle
 * as keyrings/FILE.chain/REL. */
static int bundle_chain(const KeyringDebParams *k, const Step *s, BundleBuilder *b, const char *dir, const char *rel,
                        char **reterr) {
        _cleanup_free_ char *path = *rel ? xasprintf("%s/%s", dir, rel) : xstrdup(dir);
        _cleanup_(closedirp) DIR *d = opendir(path);
        if (!d)
                return errorf(reterr, negative_errno(), "cannot read %s: %m", path);
        struct dirent *de;
        int r = 0;
        while (r >= 0 && (de = readdir(d))) {
                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                _cleanup_free_ char *sub = *rel ? xasprintf("%s/%s", rel, de->d_name) : xstrdup(de->d_name);
                _cleanup_free_ char *from = xasprintf("%s/%s", dir, sub), *name = NULL, *err = NULL;
                struct stat st;
                if (lstat(from, &st) < 0)
                        return errorf(reterr, negative_errno(), "cannot read %s: %m", from);
                if (S_ISDIR(st.st_mode)) {
                        r = bundle_chain(k, s, b, dir, sub, reterr);
                        continue;
                }
                name = xasprintf("keyrings/%s.chain/%s", k->file, sub);
                r = bundle_builder_add_file(b, name, from, "keyring-chain", s->id, k->package, k->version, &err);
                if (r < 0)
                        return errorf(reterr, r, "%s", err ? err : strerror(-r));
        }
        return r;
}

/* bundle create: the checked package into the bundle, with the signed indexes that vouched for it
 * (when no sha256 is pinned), and its files (keyring, source list, pin) into the scratch root,
 * where the later steps resolve their packages. */
static int keyring_deb_bundle(const Step *s, Ctx *ctx, BundleBuilder *b, char **ret_detail, char **reterr) {
        const KeyringDebParams *k = s->params;
        char tmpl[] = "/tmp/gpubase-deb.XXXXXX";
        _cleanup_free_ char *err = NULL, *how = NULL;
        int r;

        if (!mkdtemp(tmpl))
                return negative_errno();
        _cleanup_free_ char *deb = xasprintf("%s/%s", tmpl, k->file), *name = xasprintf("keyrings/%s", k->file);
        _cleanup_free_ char *chain = xasprintf("%s/chain", tmpl);
        r = mkdir(chain, 0755) < 0 ? negative_errno() : 0;
        if (r >= 0)
                r = obtain(k, ctx, bundle_builder_source(b), deb, reterr);
        if (r >= 0)
                r = vet(k, ctx, deb, k->sha256 ? NULL : chain, &how, reterr);
        if (r >= 0) {
                r = bundle_builder_add_file(b, name, deb, "keyring-deb", s->id, k->package, k->version, &err);
                if (r >= 0 && !k->sha256)
                        r = bundle_chain(k, s, b, chain, "", &err);
                if (r >= 0)
                        r = deb_unpack_files(ctx->host, deb, &err);
                if (r < 0 && err)
                        (void) errorf(reterr, r, "%s", err);
        }
        if (r >= 0)
                *ret_detail = xasprintf("%s (%s)", name, how);
        (void) unlink(deb);
        rm_rf_tree(tmpl);
        return r;
}

static char *keyring_deb_describe(const Step *s) {
        const KeyringDebParams *k = s->params;
        if (!k->sha256)
                return xasprintf("install %s %s from %s (key %s; sha256 from its repository's index signed by that key)",
                                 k->package, k->version, k->url ? k->url : k->path, k->fingerprint);
        return xasprintf("install %s %s from %s (sha256 %.12s…%s%s)", k->package, k->version, k->url ? k->url : k->path,
                         k->sha256, k->fingerprint ? ", key " : "", k->fingerprint ? k->fingerprint : "");
}

const StepKind step_apt_keyring_deb = {
        .name = "apt-keyring-deb",
        .summary = "a repository keyring shipped as a .deb, checked (files, key, sha256 pinned or from its signed repository) before it is installed",
        .keys = keyring_deb_keys,
        .parse = keyring_deb_parse,
        .free_params = params_free,
        .probe = keyring_deb_probe,
        .apply = keyring_deb_apply,
        .describe = keyring_deb_describe,
        .bundle = keyring_deb_bundle,
};
