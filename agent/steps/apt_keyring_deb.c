/* apt-keyring-deb: a repository keyring shipped as a .deb (NVIDIA's cuda-keyring_1.1-1_all.deb).
 * Before anything is installed the package is checked: its sha256 against the plan, its files
 * (only /usr/share/keyrings and /etc/apt/sources.list.d), and the keyring inside against the pinned
 * fingerprint. Then libapt installs it (as a local file offered to the depcache). */
#include <openssl/evp.h>
#include <string.h>
#include <sys/stat.h>

#include "base/hash.h"
#include "checks/facts.h"
#include "host/apt.h"
#include "host/bundle.h"
#include "host/debfile.h"
#include "host/pgp.h"
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
        if ((v = ynode_get(map, "path")) && schema_abs_path(pc, v, "path", &k->path) < 0)
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
        if (schema_require(pc, map, "sha256", what, &v) < 0 || schema_string(pc, v, "sha256", &k->sha256) < 0)
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

static int keyring_deb_probe(const Step *s, Ctx *ctx, char **ret_detail) {
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

/* Everything is checked before dpkg sees the package; *ret_detail says why not. */
static int vet(const KeyringDebParams *k, const char *deb, char **ret_detail) {
        char sum[65];
        _cleanup_(deb_info_freep) DebInfo *info = NULL;
        _cleanup_free_ char *why = NULL, *bad = NULL;
        int r = sha256_file_hex(deb, sum);
        if (r < 0) {
                *ret_detail = xasprintf("cannot read %s: %s", k->file, strerror(-r));
                return r;
        }
        if (!streq(sum, k->sha256)) {
                *ret_detail = xasprintf("refusing %s: its sha256 is %s, the plan pins %s", k->file, sum, k->sha256);
                return -EPERM;
        }
        r = deb_inspect(deb, &info, &why);
        if (r < 0) {
                *ret_detail = xasprintf("refusing %s: %s", k->file, why ? why : strerror(-r));
                return r;
        }
        r = deb_check_paths(info, allowed_dirs, &bad, &why);
        if (r < 0) {
                *ret_detail = xasprintf("refusing %s: it would write %s (%s); a keyring package may only write "
                                        "/usr/share/keyrings, /etc/apt/sources.list.d, /etc/apt/preferences.d and /usr/share/doc",
                                        k->file, bad ? bad : "?", why ? why : "outside the allowed directories");
                return -EPERM;
        }
        if (!streq(info->package, k->package) || !streq(info->version, k->version)) {
                *ret_detail = xasprintf("refusing %s: it holds %s %s, its file name says %s %s", k->file, info->package,
                                        info->version, k->package, k->version);
                return -EPERM;
        }
        if (!k->fingerprint)
                return 0;
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
                        return 0;
                }
                _cleanup_strv_free_ char **fprs = NULL;
                if (pgp_keyring_fingerprints(data, len, &fprs, NULL, NULL) == 0)
                        for (size_t j = 0; fprs[j]; j++)
                                buf_printf(&found, "%s%s", found.len ? ", " : "", fprs[j]);
        }
        _cleanup_free_ char *f = buf_steal(&found);
        *ret_detail = xasprintf("refusing %s: its keyring holds %s, the plan pins %s", k->file, *f ? f : "no key",
                                k->fingerprint);
        return -EPERM;
}

/* The package file, into deb: from an offline bundle (run --bundle), downloaded (url), or read
 * from src (path: under its root). */
static int obtain(const KeyringDebParams *k, Ctx *ctx, const Host *src, const char *deb, char **ret_detail) {
        _cleanup_free_ char *err = NULL;
        int r;
        if (ctx->host->apt_bundle) {
                _cleanup_free_ char *in = xasprintf("%s/keyrings/%s", ctx->host->apt_bundle, k->file), *data = NULL;
                size_t len = 0;
                r = read_file(in, 256 * 1024 * 1024, &data, &len);
                if (r >= 0)
                        r = write_file_atomic(deb, data, len, 0644);
                if (r < 0)
                        *ret_detail = xasprintf("the offline bundle has no keyrings/%s (%s): it was made for another "
                                                "plan",
                                                k->file, strerror(-r));
                return r;
        }
        if (k->url) {
                AptSession as = {0};
                AptSessionOptions o = {.verbose = ctx->verbose};
                r = apt_session_open(&as, ctx->host, &o, &err);
                if (r >= 0) {
                        r = apt_shim_fetch_file(as.shim, k->url, NULL, deb, &err);
                        apt_session_close(&as);
                }
                if (r < 0)
                        *ret_detail = xasprintf("cannot download %s: %s", k->url, err ? err : strerror(-r));
                return r;
        }
        _cleanup_free_ char *in = host_path(src, k->path), *data = NULL;
        size_t len = 0;
        r = read_file(in, 256 * 1024 * 1024, &data, &len);
        if (r >= 0)
                r = write_file_atomic(deb, data, len, 0644);
        if (r < 0)
                *ret_detail = xasprintf("cannot read %s: %s", k->path, strerror(-r));
        return r;
}

static int keyring_deb_apply(const Step *s, Ctx *ctx, char **ret_detail) {
        const KeyringDebParams *k = s->params;
        char tmpl[] = "/tmp/gpubase-deb.XXXXXX";
        _cleanup_free_ char *err = NULL;
        AptSession as = {0};
        bool open = false;
        int r;

        if (!mkdtemp(tmpl))
                return negative_errno();
        _cleanup_free_ char *deb = xasprintf("%s/%s", tmpl, k->file);
        r = obtain(k, ctx, ctx->host, deb, ret_detail);
        if (r < 0)
                goto out;
        r = vet(k, deb, ret_detail);
        if (r < 0)
                goto out;

        /* installed at this version but its files are gone or changed: reinstall, and have dpkg put
         * back deleted conffiles (the sources list is one) */
        DpkgPackage cur = {0};
        bool reinstall = dpkg_find(ctx->host, k->package, &cur) == 0 && cur.installed && streq(cur.version, k->version);
        dpkg_package_done(&cur);
        const char *debs[] = {deb, NULL};
        AptSessionOptions o = {.lock = true, .lock_timeout = APT_LOCK_TIMEOUT_DEFAULT, .debs = debs,
                               .force_confmiss = reinstall, .verbose = ctx->verbose};
        r = apt_session_open(&as, ctx->host, &o, &err);
        if (r < 0) {
                *ret_detail = r == -EBUSY ? xasprintf("the dpkg lock is still held: %s", err)
                                          : xasprintf("cannot open apt: %s", err ? err : strerror(-r));
                goto out;
        }
        open = true;
        /* a dpkg run cut off (this package unpacked but not configured, say) is finished first: libapt
         * sees nothing to do for a package already at the wanted version, configured or not */
        r = apt_configure_pending(&as, &err);
        if (r >= 0)
                r = reinstall ? apt_shim_mark_reinstall(as.shim, k->package, &err)
                              : apt_shim_mark_install(as.shim, k->package, k->version, &err);
        if (r >= 0)
                r = apt_shim_resolve(as.shim, NULL, &err);
        if (r > 0)
                r = apt_shim_commit(as.shim, false, &as.progress, &err);
        if (r < 0) {
                *ret_detail = xasprintf("installing %s failed: %s", k->file, err ? err : strerror(-r));
                goto out;
        }
        {
                /* prove it: the probe must now find the package and its files */
                _cleanup_free_ char *why = NULL;
                apt_session_close(&as);
                open = false;
                if (keyring_deb_probe(s, ctx, &why) != PROBE_SATISFIED) {
                        *ret_detail = xasprintf("%s was installed but is still not right: %s", k->file, why);
                        r = -EIO;
                        goto out;
                }
        }
        *ret_detail = xasprintf("%s %s %s (sha256 and %s checked)", reinstall ? "reinstalled" : "installed", k->package,
                                k->version, k->fingerprint ? "key fingerprint" : "file list");
        r = 0;
out:
        if (open)
                apt_session_close(&as);
        (void) unlink(deb);
        (void) rmdir(tmpl);
        return r;
}

/* bundle create: the checked package into the bundle, and its files (keyring, source list, pin)
 * into the scratch root, where the later steps resolve their packages. */
static int keyring_deb_bundle(const Step *s, Ctx *ctx, BundleBuilder *b, char **ret_detail) {
        const KeyringDebParams *k = s->params;
        char tmpl[] = "/tmp/gpubase-deb.XXXXXX";
        _cleanup_free_ char *err = NULL;
        int r;

        if (!mkdtemp(tmpl))
                return negative_errno();
        _cleanup_free_ char *deb = xasprintf("%s/%s", tmpl, k->file), *name = xasprintf("keyrings/%s", k->file);
        r = obtain(k, ctx, bundle_builder_source(b), deb, ret_detail);
        if (r >= 0)
                r = vet(k, deb, ret_detail);
        if (r >= 0) {
                r = bundle_builder_add_file(b, name, deb, "keyring-deb", s->id, k->package, k->version, &err);
                if (r >= 0)
                        r = deb_unpack_files(ctx->host, deb, &err);
                if (r < 0)
                        *ret_detail = TAKE_PTR(err);
        }
        if (r >= 0)
                *ret_detail = xasprintf("%s (sha256 and %s checked)", name, k->fingerprint ? "key fingerprint" : "file list");
        (void) unlink(deb);
        (void) rmdir(tmpl);
        return r;
}

static char *keyring_deb_describe(const Step *s) {
        const KeyringDebParams *k = s->params;
        return xasprintf("install %s %s from %s (sha256 %.12s…%s%s)", k->package, k->version, k->url ? k->url : k->path,
                         k->sha256, k->fingerprint ? ", key " : "", k->fingerprint ? k->fingerprint : "");
}

const StepKind step_apt_keyring_deb = {
        .name = "apt-keyring-deb",
        .summary = "a repository keyring shipped as a .deb, checked (sha256, files, key) before it is installed",
        .keys = keyring_deb_keys,
        .parse = keyring_deb_parse,
        .free_params = params_free,
        .probe = keyring_deb_probe,
        .apply = keyring_deb_apply,
        .describe = keyring_deb_describe,
        .bundle = keyring_deb_bundle,
};
