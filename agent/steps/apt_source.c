/* apt-source: a repository given by its key and location (NVIDIA's container toolkit repository).
 * The key is fetched (key_url, through libapt's downloaders) or read (key_file), its fingerprint
 * checked against the plan BEFORE anything is written, then written in binary form to
 * /usr/share/keyrings/<name>-keyring.gpg, and the source as a deb822 file with Signed-By. */
#include <string.h>

#include "base/error.h"
#include "host/apt.h"
#include "host/bundle.h"
#include "host/pgp.h"
#include "steps/apt_output.h"
#include "steps/steps.h"

typedef struct AptSourceParams {
        char *key_url, *key_file, *fingerprint;
        char *uri, *suite, *name;
        char **components;
} AptSourceParams;

static const char *const apt_source_keys[] = {"key_url", "key_file", "fingerprint", "uri", "suite", "components",
                                              "name", NULL};

static void params_free(void *p) {
        AptSourceParams *a = p;
        free(a->key_url);
        free(a->key_file);
        free(a->fingerprint);
        free(a->uri);
        free(a->suite);
        free(a->name);
        strv_free(a->components);
        free(a);
}

static int apt_source_parse(Step *s, const YNode *map, ParseCtx *pc) {
        AptSourceParams *a = xcalloc(1, sizeof *a);
        const YNode *v;
        _cleanup_free_ char *fpr = NULL;
        s->params = a;
        _cleanup_free_ char *what = xasprintf("step '%s' (kind apt-source)", s->id);
        if ((v = ynode_get(map, "key_url")) && schema_string(pc, v, "key_url", &a->key_url) < 0)
                return -EINVAL;
        if ((v = ynode_get(map, "key_file")) && schema_input_path(pc, v, "key_file", &a->key_file) < 0)
                return -EINVAL;
        if (!a->key_url == !a->key_file) {
                src_error_set(pc->err, pc->file, map, "%s needs exactly one of key_url and key_file", what);
                return -EINVAL;
        }
        if (schema_require(pc, map, "fingerprint", what, &v) < 0 || schema_string(pc, v, "fingerprint", &fpr) < 0)
                return -EINVAL;
        if (pgp_fingerprint_normalize(fpr, &a->fingerprint) < 0) {
                src_error_set(pc->err, pc->file, v, "fingerprint must be 40 hex digits (spaces allowed), found '%s'", fpr);
                return -EINVAL;
        }
        if (schema_require(pc, map, "uri", what, &v) < 0 || schema_string(pc, v, "uri", &a->uri) < 0)
                return -EINVAL;
        if (!strstr(a->uri, "://") && !startswith(a->uri, "file:")) {
                src_error_set(pc->err, pc->file, v, "uri must be a URL (https://..., file:/...), found '%s'", a->uri);
                return -EINVAL;
        }
        if ((v = ynode_get(map, "suite")) && schema_string(pc, v, "suite", &a->suite) < 0)
                return -EINVAL;
        if (!a->suite)
                a->suite = xstrdup("/");
        if ((v = ynode_get(map, "components")) && schema_strv(pc, v, "components", true, &a->components) < 0)
                return -EINVAL;
        bool flat = a->suite[strlen(a->suite) - 1] == '/';
        if (flat && a->components) {
                src_error_set(pc->err, pc->file, v, "a flat repository (suite ending in /) takes no components");
                return -EINVAL;
        }
        if (!flat && !a->components) {
                src_error_set(pc->err, pc->file, map, "%s: suite '%s' needs components (e.g. [main])", what, a->suite);
                return -EINVAL;
        }
        if ((v = ynode_get(map, "name")) && schema_string(pc, v, "name", &a->name) < 0)
                return -EINVAL;
        if (!a->name)
                a->name = xstrdup(s->id);
        if (strchr(a->name, '/') || a->name[0] == '.') {
                src_error_set(pc->err, pc->file, v ? v : map, "name must be a plain file name, found '%s'", a->name);
                return -EINVAL;
        }
        return 0;
}

static char *keyring_path(const AptSourceParams *a) {
        return xasprintf("/usr/share/keyrings/%s-keyring.gpg", a->name);
}

static char *sources_path(const AptSourceParams *a) {
        return xasprintf("/etc/apt/sources.list.d/%s.sources", a->name);
}

static char *sources_content(const Step *s) {
        const AptSourceParams *a = s->params;
        _cleanup_free_ char *kr = keyring_path(a);
        Buf b = {0};
        buf_printf(&b, "# Written by gpubase (step %s).\nTypes: deb\nURIs: %s\nSuites: %s\n", s->id, a->uri, a->suite);
        if (a->components) {
                _cleanup_free_ char *c = strv_join(a->components, " ");
                buf_printf(&b, "Components: %s\n", c);
        }
        buf_printf(&b, "Signed-By: %s\n", kr);
        return buf_steal(&b);
}

static int apt_source_probe(const Step *s, Ctx *ctx, char **ret_detail, char **reterr _unused_) {
        const AptSourceParams *a = s->params;
        _cleanup_free_ char *sp = sources_path(a), *kp = keyring_path(a);
        _cleanup_free_ char *spath = host_path(ctx->host, sp), *kpath = host_path(ctx->host, kp);
        _cleanup_free_ char *have = NULL, *want = sources_content(s);
        if (read_file(spath, 1024 * 1024, &have, NULL) < 0 || !streq(have, want)) {
                *ret_detail = xasprintf("%s is missing or changed", sp);
                return PROBE_NEEDED;
        }
        if (!pgp_keyring_file_has(kpath, a->fingerprint)) {
                *ret_detail = xasprintf("%s is missing or does not hold key %s", kp, a->fingerprint);
                return PROBE_NEEDED;
        }
        *ret_detail = xasprintf("%s and %s are in place", sp, kp);
        return PROBE_SATISFIED;
}

/* The key as published: from an offline bundle (run --bundle), downloaded (key_url), or read from
 * src (key_file: under its root). -errno with *reterr. */
static int get_key(const Step *s, Ctx *ctx, const Host *src, char **ret_data, size_t *ret_len, char **reterr) {
        const AptSourceParams *a = s->params;
        int r;
        if (ctx->host->apt_bundle && a->key_url) {
                _cleanup_free_ char *p = xasprintf("%s/keys/%s.key", ctx->host->apt_bundle, s->id);
                r = read_file(p, PGP_KEYRING_MAX, ret_data, ret_len);
                if (r < 0)
                        return errorf(reterr, r, "the offline bundle has no keys/%s.key (%s): it was made for another plan",
                                      s->id, strerror(-r));
                return r;
        }
        if (a->key_file) {
                _cleanup_free_ char *p = ctx_input_path(ctx, src, a->key_file);
                r = read_file(p, PGP_KEYRING_MAX, ret_data, ret_len);
                if (r < 0)
                        return errorf(reterr, r, "cannot read the key %s: %s", a->key_file, strerror(-r));
                return r;
        }
        AptPrinter printer;
        _cleanup_free_ char *err = NULL;
        char tmpl[] = "/tmp/gpubase-key.XXXXXX";
        if (!mkdtemp(tmpl))
                return negative_errno();
        AptSessionOptions o = {.verbose = ctx->verbose, .output = apt_printer(&printer, ctx->verbose, ctx->quiet)};
        _cleanup_free_ char *dest = xasprintf("%s/key", tmpl);
        r = apt_download(ctx->host, &o, a->key_url, dest, &err);
        if (r >= 0)
                r = read_file(dest, PGP_KEYRING_MAX, ret_data, ret_len);
        (void) unlink(dest);
        (void) rmdir(tmpl);
        if (r < 0)
                return errorf(reterr, r, "cannot fetch the key %s: %s", a->key_url, err ? err : strerror(-r));
        return r;
}

/* The fingerprint checked before anything is written, then the keyring and the source under h. */
/* 0 with *ret_detail saying what was written, or -errno with *reterr. */
static int install_key(const Step *s, const Host *h, const char *data, size_t len, char **ret_detail,
                       char **reterr) {
        const AptSourceParams *a = s->params;
        _cleanup_free_ char *why = NULL;
        _cleanup_free_ void *bin = NULL;
        size_t blen = 0;
        int r = pgp_dearmor(data, len, &bin, &blen, &why);
        if (r < 0)
                return errorf(reterr, r, "the key from %s is not an OpenPGP public key: %s", a->key_url ? a->key_url : a->key_file,
                              why ? why : strerror(-r));
        if (pgp_keyring_has_fingerprint(bin, blen, a->fingerprint) != 1) {
                _cleanup_strv_free_ char **fprs = NULL;
                (void) pgp_keyring_fingerprints(bin, blen, &fprs, NULL, NULL);
                _cleanup_free_ char *have = fprs ? strv_join(fprs, ", ") : xstrdup("none");
                /* the key found is only what that URL served today: pinning it unchecked would make
                 * the fingerprint check vouch for whoever answered */
                return errorf(reterr, -EPERM, "refusing the key from %s: its fingerprint is %s, the plan pins %s; nothing was "
                              "written. Do not paste the fingerprint found here into the plan without "
                              "checking it: confirm the repository's current key with its publisher "
                              "(their install guide, over a channel you trust) first",
                              a->key_url ? a->key_url : a->key_file, have, a->fingerprint);
        }
        _cleanup_free_ char *kp = keyring_path(a), *sp = sources_path(a);
        _cleanup_free_ char *kpath = host_path(h, kp), *spath = host_path(h, sp), *content = sources_content(s);
        /* from an earlier attempt that was killed mid-write */
        remove_stale_temp_files(kpath);
        remove_stale_temp_files(spath);
        if ((r = mkdir_parents(kpath, 0755)) < 0 || (r = write_file_atomic(kpath, bin, blen, 0644)) < 0 ||
            (r = mkdir_parents(spath, 0755)) < 0 || (r = write_file_atomic(spath, content, strlen(content), 0644)) < 0) {
                return errorf(reterr, r, "cannot write %s / %s: %s", kp, sp, write_strerror(r));
        }
        *ret_detail = xasprintf("wrote %s (key %s) and %s", kp, a->fingerprint, sp);
        return 0;
}

static int apt_source_apply(const Step *s, Ctx *ctx, char **ret_detail, char **reterr) {
        _cleanup_free_ char *data = NULL;
        size_t len = 0;
        int r = get_key(s, ctx, ctx->host, &data, &len, reterr);
        if (r < 0)
                return r;
        return install_key(s, ctx->host, data, len, ret_detail, reterr);
}

/* bundle create: the key (as published) into the bundle once its fingerprint checked out, and the
 * source with its keyring into the scratch root. */
static int apt_source_bundle(const Step *s, Ctx *ctx, BundleBuilder *b, char **ret_detail, char **reterr) {
        _cleanup_free_ char *data = NULL, *err = NULL, *written = NULL, *name = xasprintf("keys/%s.key", s->id);
        size_t len = 0;
        int r = get_key(s, ctx, bundle_builder_source(b), &data, &len, reterr);
        if (r < 0)
                return r;
        r = install_key(s, ctx->host, data, len, &written, reterr);
        if (r < 0)
                return r;
        char tmpl[] = "/tmp/gpubase-key.XXXXXX";
        if (!mkdtemp(tmpl))
                return negative_errno();
        _cleanup_free_ char *tmp = xasprintf("%s/key", tmpl);
        r = write_file_atomic(tmp, data, len, 0644);
        if (r >= 0)
                r = bundle_builder_add_file(b, name, tmp, "key", s->id, NULL, NULL, &err);
        (void) unlink(tmp);
        (void) rmdir(tmpl);
        if (r < 0)
                return err ? errorf(reterr, r, "%s", err) : errorf(reterr, r, "cannot stage %s: %s", name, strerror(-r));
        *ret_detail = xasprintf("%s (fingerprint checked)", name);
        return 0;
}

static char *apt_source_describe(const Step *s) {
        const AptSourceParams *a = s->params;
        _cleanup_free_ char *sp = sources_path(a);
        return xasprintf("add %s %s (key %s from %s) as %s", a->uri, a->suite, a->fingerprint,
                         a->key_url ? a->key_url : a->key_file, sp);
}

const StepKind step_apt_source = {
        .name = "apt-source",
        .summary = "a signed repository: key pinned by fingerprint, deb822 source with Signed-By",
        .keys = apt_source_keys,
        .parse = apt_source_parse,
        .free_params = params_free,
        .probe = apt_source_probe,
        .apply = apt_source_apply,
        .describe = apt_source_describe,
        .bundle = apt_source_bundle,
};
