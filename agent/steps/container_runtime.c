/* container-runtime: `nvidia-ctk runtime configure --runtime=docker|containerd` (argv, no shell),
 * then the result is parsed and checked. An invalid existing daemon.json is reported with its parse
 * error before nvidia-ctk runs (it would refuse it anyway, less clearly), and the previous file is
 * kept as <file>.gpubase-backup. */
#include <string.h>

#include "checks/checks.h"
#include "checks/facts.h"
#include "host/exec.h"
#include "steps/steps.h"

typedef struct RuntimeParams {
        char *runtime;
        bool set_as_default, cdi;
} RuntimeParams;

static const char *const runtime_keys[] = {"runtime", "set_as_default", "cdi", NULL};

#define DOCKER_JSON "/etc/docker/daemon.json"
#define CONTAINERD_TOML "/etc/containerd/config.toml"
#define CONTAINERD_DROPIN "/etc/containerd/conf.d/99-nvidia.toml"

static void params_free(void *p) {
        RuntimeParams *r = p;
        free(r->runtime);
        free(r);
}

static int runtime_parse(Step *s, const YNode *map, ParseCtx *pc) {
        RuntimeParams *rp = xcalloc(1, sizeof *rp);
        const YNode *v;
        s->params = rp;
        _cleanup_free_ char *what = xasprintf("step '%s' (kind container-runtime)", s->id);
        if (schema_require(pc, map, "runtime", what, &v) < 0 || schema_string(pc, v, "runtime", &rp->runtime) < 0)
                return -EINVAL;
        if (!streq(rp->runtime, "docker") && !streq(rp->runtime, "containerd")) {
                src_error_set(pc->err, pc->file, v, "runtime must be docker or containerd, found '%s'", rp->runtime);
                return -EINVAL;
        }
        if ((v = ynode_get(map, "set_as_default")) && schema_bool(pc, v, "set_as_default", &rp->set_as_default) < 0)
                return -EINVAL;
        if ((v = ynode_get(map, "cdi")) && schema_bool(pc, v, "cdi", &rp->cdi) < 0)
                return -EINVAL;
        return 0;
}

static void runtime_declare(const Step *s, PlanIntent *in) {
        const RuntimeParams *rp = s->params;
        if (!in->runtime)
                in->runtime = xstrdup(rp->runtime);
}

/* The runtime.configured check for this runtime, plus what the step's options add. */
static int configured(const Step *s, Ctx *ctx, char **ret_detail) {
        const RuntimeParams *rp = s->params;
        CheckSpec c = {.kind = &check_runtime_configured, .params = rp->runtime};
        _cleanup_(check_result_done) CheckResult res = {0};
        c.kind->run(&c, ctx, &res);
        if (res.status != CHECK_OK) {
                *ret_detail = xstrdup(res.detail ? res.detail : "not configured");
                return 0;
        }
        if (streq(rp->runtime, "docker") &&
            !docker_runtime_options_ok(ctx->host, rp->set_as_default, rp->cdi, ret_detail))
                return 0;
        *ret_detail = xstrdup(res.detail);
        return 1;
}

static int runtime_probe(const Step *s, Ctx *ctx, char **ret_detail) {
        return configured(s, ctx, ret_detail) ? PROBE_SATISFIED : PROBE_NEEDED;
}

static int runtime_apply(const Step *s, Ctx *ctx, char **ret_detail) {
        const RuntimeParams *rp = s->params;
        bool docker = streq(rp->runtime, "docker");
        _cleanup_free_ char *conf = host_path(ctx->host, docker ? DOCKER_JSON : CONTAINERD_TOML);
        _cleanup_free_ char *text = NULL;
        size_t len = 0;
        int r = read_file(conf, 16 * 1024 * 1024, &text, &len);
        if (r < 0 && r != -ENOENT) {
                *ret_detail = xasprintf("cannot read %s: %s", docker ? DOCKER_JSON : CONTAINERD_TOML, strerror(-r));
                return r;
        }
        if (r >= 0) {
                if (docker) {
                        DaemonJson d = {0};
                        _cleanup_free_ char *err = NULL;
                        if (daemon_json_parse(text, len, &d, &err) < 0) {
                                *ret_detail = xasprintf(DOCKER_JSON " is not valid JSON (%s); fix it by hand first: "
                                                        "nothing was changed",
                                                        err);
                                return -EBADMSG;
                        }
                        daemon_json_done(&d);
                }
                _cleanup_free_ char *bak = xasprintf("%s.gpubase-backup", conf);
                remove_stale_temp_files(bak); /* from an earlier attempt that was killed mid-write */
                r = write_file_atomic(bak, text, len, 0600);
                if (r < 0) {
                        *ret_detail = xasprintf("cannot keep a backup of %s: %s", conf, strerror(-r));
                        return r;
                }
        }

        char **argv = NULL;
        strv_push(&argv, host_is_rooted(ctx->host) ? host_path(ctx->host, "/usr/bin/nvidia-ctk") : xstrdup("nvidia-ctk"));
        strv_push(&argv, xstrdup("runtime"));
        strv_push(&argv, xstrdup("configure"));
        strv_push(&argv, xasprintf("--runtime=%s", rp->runtime));
        if (host_is_rooted(ctx->host)) {
                strv_push(&argv, xasprintf("--config=%s", conf));
                if (!docker) {
                        _cleanup_free_ char *dropin = host_path(ctx->host, CONTAINERD_DROPIN);
                        strv_push(&argv, xasprintf("--drop-in-config=%s", dropin));
                }
        }
        if (rp->set_as_default)
                strv_push(&argv, xstrdup("--set-as-default"));
        if (rp->cdi)
                strv_push(&argv, xstrdup("--cdi.enabled"));
        _cleanup_free_ char *rootenv = xasprintf("NVIDIA_CTK_ROOT=%s", ctx->host->root);
        char *env[] = {rootenv, NULL};
        ExecSpec spec = {.argv = argv, .env = host_is_rooted(ctx->host) ? env : NULL, .timeout_sec = 120,
                         .echo = ctx->verbose > 0};
        _cleanup_(exec_result_done) ExecResult res = {0};
        r = exec_run(&spec, &res);
        if (r >= 0 && (res.exec_errno || res.status != 0 || res.timed_out)) {
                *ret_detail = exec_failure_text(&spec, &res);
                r = -EIO;
        } else if (r < 0)
                *ret_detail = xasprintf("cannot run nvidia-ctk: %s", strerror(-r));
        strv_free(argv);
        if (r < 0)
                return r;
        _cleanup_free_ char *why = NULL;
        if (!configured(s, ctx, &why)) {
                *ret_detail = xasprintf("nvidia-ctk ran but the result is not right: %s", why);
                return -EIO;
        }
        *ret_detail = xasprintf("configured %s: %s", rp->runtime, why);
        return 0;
}

static char *runtime_describe(const Step *s) {
        const RuntimeParams *rp = s->params;
        return xasprintf("nvidia-ctk runtime configure --runtime=%s%s%s", rp->runtime,
                         rp->set_as_default ? " --set-as-default" : "", rp->cdi ? " --cdi.enabled" : "");
}

const StepKind step_container_runtime = {
        .name = "container-runtime",
        .summary = "wire docker or containerd to the NVIDIA runtime with nvidia-ctk, then check the result",
        .keys = runtime_keys,
        .parse = runtime_parse,
        .free_params = params_free,
        .probe = runtime_probe,
        .apply = runtime_apply,
        .describe = runtime_describe,
        .declare = runtime_declare,
};
