/* cdi-generate: `nvidia-ctk cdi generate --output=/etc/cdi/nvidia.yaml` (argv, no shell), after the
 * driver is loaded, and again whenever the driver changed: the probe is the cdi.spec check
 * (checks/cdi.h), so a spec that is missing, does not parse, misses a GPU or names another driver
 * than the loaded one (the stale spec after an upgrade) is written again, and a current one is
 * left alone. The result is checked the same way. Under --root the root's nvidia-ctk runs inside
 * the root (chroot, host/enter_root.h), as for container-runtime. */
#include <string.h>
#include <unistd.h>

#include "base/error.h"
#include "base/log.h"
#include "checks/cdi.h"
#include "checks/checks.h"
#include "host/enter_root.h"
#include "host/exec.h"
#include "steps/apt_output.h"
#include "steps/steps.h"

#define CTK_PATH "/usr/bin/nvidia-ctk"

typedef struct CdiParams {
        char *output;
} CdiParams;

static const char *const cdi_keys[] = {"output", NULL};

static void params_free(void *p) {
        CdiParams *c = p;
        free(c->output);
        free(c);
}

static int cdi_parse(Step *s, const YNode *map, ParseCtx *pc) {
        CdiParams *cp = xcalloc(1, sizeof *cp);
        const YNode *v;
        s->params = cp;
        if ((v = ynode_get(map, "output"))) {
                if (schema_abs_path(pc, v, "output", &cp->output) < 0)
                        return -EINVAL;
        } else
                cp->output = xstrdup(CDI_SPEC_DEFAULT);
        return 0;
}

static void cdi_declare(const Step *s, PlanIntent *in) {
        const CdiParams *cp = s->params;
        if (!in->cdi_spec)
                in->cdi_spec = xstrdup(cp->output);
}

/* The cdi.spec check on this step's output: 1 ok (with *ret_detail), 0 not (with *ret_detail). */
static int spec_ok(const Step *s, Ctx *ctx, char **ret_detail) {
        const CdiParams *cp = s->params;
        CheckSpec c = {.kind = &check_cdi_spec, .params = cp->output};
        _cleanup_(check_result_done) CheckResult res = {0};
        c.kind->run(&c, ctx, &res);
        *ret_detail = xstrdup(res.detail ? res.detail : "no detail");
        return res.status == CHECK_OK;
}

static int cdi_probe(const Step *s, Ctx *ctx, char **ret_detail, char **reterr _unused_) {
        return spec_ok(s, ctx, ret_detail) ? PROBE_SATISFIED : PROBE_NEEDED;
}

static int cdi_apply(const Step *s, Ctx *ctx, char **ret_detail, char **reterr) {
        const CdiParams *cp = s->params;
        bool rooted = host_is_rooted(ctx->host);
        if (rooted && !confine_possible())
                return errorf(reterr, -EPERM, "under --root, the root's nvidia-ctk runs only inside the root (chroot), "
                              "which needs gpubase to run as root; nothing was changed");
        _cleanup_free_ char *ctk = host_path(ctx->host, CTK_PATH);
        if (rooted && access(ctk, X_OK) < 0)
                return errorf(reterr, -ENOENT, "the root has no %s to run inside it: install nvidia-container-toolkit "
                              "(an earlier step) first; nothing was changed",
                              CTK_PATH);
        _cleanup_strv_free_ char **argv = NULL;
        strv_push(&argv, xstrdup(rooted ? CTK_PATH : "nvidia-ctk"));
        strv_push(&argv, xstrdup("cdi"));
        strv_push(&argv, xstrdup("generate"));
        strv_push(&argv, xasprintf("--output=%s", cp->output));
        ExecSpec spec = {.argv = argv, .timeout_sec = 120, .output = ctx_echo(ctx, 1) ? log_program_output : NULL,
                         .stop_fd = ctx->stop_fd, .chroot = rooted ? ctx->host->root : NULL};
        _cleanup_(exec_result_done) ExecResult res = {0};
        int r = exec_run(&spec, &res);
        if (r < 0)
                return errorf(reterr, r, "cannot run nvidia-ctk: %s", strerror(-r));
        if (res.exec_errno || res.status != 0 || res.timed_out || res.stopped) {
                _cleanup_free_ char *failure = exec_failure_text(&spec, &res);
                return errorf(reterr, -EIO, "%s", failure);
        }
        _cleanup_free_ char *why = NULL;
        if (!spec_ok(s, ctx, &why))
                return errorf(reterr, -EIO, "nvidia-ctk cdi generate ran but the spec is not right: %s", why);
        *ret_detail = xasprintf("generated: %s", why);
        return 0;
}

static char *cdi_describe(const Step *s) {
        const CdiParams *cp = s->params;
        return xasprintf("nvidia-ctk cdi generate --output=%s (when the spec is missing, stale or misses a GPU)",
                         cp->output);
}

const StepKind step_cdi_generate = {
        .name = "cdi-generate",
        .summary = "write the NVIDIA CDI spec with nvidia-ctk cdi generate, again whenever the driver changed",
        .keys = cdi_keys,
        .parse = cdi_parse,
        .free_params = params_free,
        .probe = cdi_probe,
        .apply = cdi_apply,
        .describe = cdi_describe,
        .declare = cdi_declare,
};
