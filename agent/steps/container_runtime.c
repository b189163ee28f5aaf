/* container-runtime: `nvidia-ctk runtime configure --runtime=docker|containerd` (argv, no shell),
 * then the result is parsed and checked. An invalid existing daemon.json is reported with its parse
 * error before nvidia-ctk runs (it would refuse it anyway, less clearly), and the previous file is
 * kept as <file>.gpubase-backup.
 *
 * nvidia-ctk is told which files to edit with its own flags (NVIDIA's cmd/nvidia-ctk/runtime/
 * configure): --config for daemon.json or containerd's config.toml, and for containerd
 * --drop-in-config (nvidia-ctk 1.18.0 and later). Under --root the root's nvidia-ctk is a program
 * of the root, which never runs on the host: it runs inside the root (chroot, every capability
 * dropped: host/enter_root.h), where those paths are the machine's own, or not at all (gpubase not
 * running as root, or no nvidia-ctk in the root). An imports line that still names the root's path
 * (from an nvidia-ctk run outside the root by an earlier gpubase) is turned back into the path the
 * machine will see. */
#include <string.h>
#include <unistd.h>

#include "base/error.h"
#include "checks/checks.h"
#include "checks/facts.h"
#include "base/log.h"
#include "host/enter_root.h"
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
#define CTK_PATH "/usr/bin/nvidia-ctk" /* under --root: the root's, run inside it */

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

/* Under --root, nvidia-ctk put the glob of the drop-in's directory into config.toml's imports as it
 * was given, <root>/etc/containerd/conf.d/ then a star glob. On the machine the root is /, so that
 * entry loses the root prefix; nothing else in the file is touched. Sets *reterr on failure. */
static int containerd_unroot_import(const Host *h, const char *conf, char **reterr) {
        static const char want[] = "/etc/containerd/conf.d/*.toml";
        _cleanup_free_ char *text = NULL, *rooted = host_path(h, want);
        size_t len = 0, n = strlen(rooted);
        int r = read_file(conf, 16 * 1024 * 1024, &text, &len);
        if (r < 0)
                return errorf(reterr, r, "nvidia-ctk ran but %s cannot be read: %s", CONTAINERD_TOML, strerror(-r));
        if (!strstr(text, rooted))
                return 0;
        Buf b = {0};
        const char *p = text;
        for (const char *hit; (hit = strstr(p, rooted)); p = hit + n) {
                buf_append(&b, p, (size_t) (hit - p));
                buf_puts(&b, want);
        }
        buf_puts(&b, p);
        r = write_file_atomic(conf, b.data, b.len, 0644);
        buf_done(&b);
        if (r < 0)
                return errorf(reterr, r, "cannot rewrite the imports line of %s: %s", CONTAINERD_TOML, strerror(-r));
        return 0;
}

static int runtime_probe(const Step *s, Ctx *ctx, char **ret_detail, char **reterr _unused_) {
        return configured(s, ctx, ret_detail) ? PROBE_SATISFIED : PROBE_NEEDED;
}

/* Under --root: can the root's nvidia-ctk run inside it? -EPERM or -ENOENT with *reterr if not. */
static int ctk_runs_in_root(const Host *h, char **reterr) {
        if (!host_is_rooted(h))
                return 0;
        if (!confine_possible())
                return errorf(reterr, -EPERM, "under --root, the root's nvidia-ctk runs only inside the root "
                              "(chroot), which needs gpubase to run as root; nothing was changed");
        _cleanup_free_ char *ctk = host_path(h, CTK_PATH);
        if (access(ctk, X_OK) < 0)
                return errorf(reterr, -ENOENT, "the root has no %s to run inside it: install nvidia-container-toolkit "
                              "(an earlier step) first; nothing was changed",
                              CTK_PATH);
        return 0;
}

static int runtime_apply(const Step *s, Ctx *ctx, char **ret_detail, char **reterr) {
        const RuntimeParams *rp = s->params;
        bool docker = streq(rp->runtime, "docker"), rooted = host_is_rooted(ctx->host);
        _cleanup_free_ char *conf = host_path(ctx->host, docker ? DOCKER_JSON : CONTAINERD_TOML);
        _cleanup_free_ char *text = NULL;
        size_t len = 0;
        int r = ctk_runs_in_root(ctx->host, reterr);
        if (r < 0)
                return r;
        r = read_file(conf, 16 * 1024 * 1024, &text, &len);
        if (r < 0 && r != -ENOENT)
                return errorf(reterr, r, "cannot read %s: %s", docker ? DOCKER_JSON : CONTAINERD_TOML, strerror(-r));
        if (r >= 0) {
                if (docker) {
                        DaemonJson d = {0};
                        _cleanup_free_ char *err = NULL;
                        if (daemon_json_parse(text, len, &d, &err) < 0)
                                return errorf(reterr, -EBADMSG, DOCKER_JSON " is not valid JSON (%s); fix it by hand first: "
                                              "nothing was changed",
                                              err);
                        daemon_json_done(&d);
                }
                _cleanup_free_ char *bak = xasprintf("%s.gpubase-backup", conf);
                remove_stale_temp_files(bak); /* from an earlier attempt that was killed mid-write */
                r = write_file_atomic(bak, text, len, 0600);
                if (r < 0)
                        return errorf(reterr, r, "cannot keep a backup of %s: %s", conf, strerror(-r));
        }

        /* inside the root (chroot) the machine's paths are the root's */
        char **argv = NULL;
        strv_push(&argv, xstrdup(rooted ? CTK_PATH : "nvidia-ctk"));
        strv_push(&argv, xstrdup("runtime"));
        strv_push(&argv, xstrdup("configure"));
        strv_push(&argv, xasprintf("--runtime=%s", rp->runtime));
        strv_push(&argv, xasprintf("--config=%s", docker ? DOCKER_JSON : CONTAINERD_TOML));
        if (!docker)
                strv_push(&argv, xstrdup("--drop-in-config=" CONTAINERD_DROPIN));
        if (rp->set_as_default)
                strv_push(&argv, xstrdup("--set-as-default"));
        if (rp->cdi)
                strv_push(&argv, xstrdup("--cdi.enabled"));
        ExecSpec spec = {.argv = argv, .timeout_sec = 120, .output = ctx_echo(ctx, 1) ? log_program_output : NULL,
                         .stop_fd = ctx->stop_fd, .chroot = rooted ? ctx->host->root : NULL};
        _cleanup_(exec_result_done) ExecResult res = {0};
        r = exec_run(&spec, &res);
        if (r >= 0 && (res.exec_errno || res.status != 0 || res.timed_out)) {
                _cleanup_free_ char *failure = exec_failure_text(&spec, &res);
                strv_free(argv);
                return errorf(reterr, -EIO, "%s", failure);
        }
        strv_free(argv);
        if (r < 0)
                return errorf(reterr, r, "cannot run nvidia-ctk: %s", strerror(-r));
        if (!docker && rooted) {
                r = containerd_unroot_import(ctx->host, conf, reterr);
                if (r < 0)
                        return r;
        }
        _cleanup_free_ char *why = NULL;
        if (!configured(s, ctx, &why))
                return errorf(reterr, -EIO, "nvidia-ctk ran but the result is not right: %s", why);
        *ret_detail = xasprintf("configured %s: %s", rp->runtime, why);
        return 0;
}

static char *runtime_describe(const Step *s) {
        const RuntimeParams *rp = s->params;
        bool docker = streq(rp->runtime, "docker");
        return xasprintf("nvidia-ctk runtime configure --runtime=%s --config=%s%s%s%s", rp->runtime,
                         docker ? DOCKER_JSON : CONTAINERD_TOML, docker ? "" : " --drop-in-config=" CONTAINERD_DROPIN,
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
