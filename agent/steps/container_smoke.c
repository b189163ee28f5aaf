/* container-smoke: the end of a container host's plan. Starts a container through docker or
 * containerd with every GPU requested and runs nvidia-smi in it (checks/smoke.h); the step fails
 * unless the container sees every GPU of the host and the host's exact driver version, with the
 * known failure's own message and fix. It changes nothing on the machine but the image store (an
 * image loaded from `archive`, or pulled with `pull: missing`), so it always runs: a smoke test
 * proves the stack as it is now. From an offline bundle (run --bundle) the archive is the copy the
 * bundle carries (images/<file name>), put there by `gpubase bundle create`. */
#include <string.h>

#include "base/error.h"
#include "checks/smoke.h"
#include "host/bundle.h"
#include "steps/steps.h"

static const char *const smoke_keys[] = {SMOKE_KEYS, NULL};

static void params_free(void *p) {
        smoke_spec_done(p);
        free(p);
}

static int smoke_parse(Step *s, const YNode *map, ParseCtx *pc) {
        SmokeSpec *sp = xmalloc(sizeof *sp);
        smoke_spec_init(sp);
        s->params = sp;
        _cleanup_free_ char *what = xasprintf("step '%s' (kind container-smoke)", s->id);
        return smoke_spec_parse(sp, map, pc, what);
}

static void smoke_step_declare(const Step *s, PlanIntent *in) {
        smoke_declare(s->params, in);
}

/* The archive's name in a bundle. */
static char *bundle_name(const SmokeSpec *sp) {
        const char *base = strrchr(sp->archive, '/');
        return xasprintf("images/%s", base ? base + 1 : sp->archive);
}

/* From an offline bundle, the bundle's copy of the archive, as a path of the machine (the bundle
 * lies under the state directory, inside --root). NULL: the plan's path. */
static char *bundled_archive(const SmokeSpec *sp, const Host *h) {
        if (!sp->archive || !h->apt_bundle)
                return NULL;
        _cleanup_free_ char *name = bundle_name(sp);
        size_t rl = host_is_rooted(h) ? strlen(h->root) : 0;
        if (rl && strncmp(h->apt_bundle, h->root, rl) != 0)
                return NULL;
        return xasprintf("%s/%s", h->apt_bundle + rl, name);
}

static int smoke_apply(const Step *s, Ctx *ctx, char **ret_detail, char **reterr) {
        SmokeSpec sp = *(const SmokeSpec *) s->params;
        _cleanup_free_ char *bundled = bundled_archive(&sp, ctx->host);
        if (bundled)
                sp.archive = bundled;
        _cleanup_(check_result_done) CheckResult res = {0};
        smoke_run(&sp, ctx, &res);
        if (res.status == CHECK_OK) {
                *ret_detail = TAKE_PTR(res.detail);
                return 0;
        }
        return errorf(reterr, res.status == CHECK_SKIP ? -EPERM : -EIO, "%s%s%s", res.detail ? res.detail : "failed",
                      res.fix ? "; fix: " : "", res.fix ? res.fix : "");
}

static char *smoke_step_describe(const Step *s) {
        return smoke_describe(s->params);
}

/* bundle create: the image's tarball goes into the bundle, so that an air-gapped host smoke-tests
 * too. The archive is read from the machine that makes the bundle (its --root). */
static int smoke_bundle(const Step *s, Ctx *ctx _unused_, BundleBuilder *b, char **ret_detail, char **reterr) {
        const SmokeSpec *sp = s->params;
        if (!sp->archive) {
                *ret_detail = xstrdup("no image archive to carry (the image must be on the host already)");
                return 0;
        }
        _cleanup_free_ char *name = bundle_name(sp), *err = NULL;
        _cleanup_free_ char *src = host_path(bundle_builder_source(b), sp->archive);
        int r = bundle_builder_add_file(b, name, src, "image", s->id, NULL, NULL, &err);
        if (r < 0)
                return errorf(reterr, r, "cannot put the image archive %s into the bundle: %s", sp->archive,
                              err ? err : strerror(-r));
        *ret_detail = xasprintf("%s as %s", sp->archive, name);
        return 0;
}

const StepKind step_container_smoke = {
        .name = "container-smoke",
        .summary = "start a container with every GPU through docker or containerd; it must see every GPU and the "
                   "host's driver",
        .keys = smoke_keys,
        .parse = smoke_parse,
        .free_params = params_free,
        .apply = smoke_apply,
        .describe = smoke_step_describe,
        .declare = smoke_step_declare,
        .bundle = smoke_bundle,
};
