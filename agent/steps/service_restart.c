/* service-restart: restart a unit through systemd (sd-bus RestartUnit), wait until it is active,
 * and fail with its state and last journal lines if it is not. Use `when: config-changed` so that
 * the container runtime is restarted only when its configuration is newer than the running daemon. */
#include <string.h>

#include "steps/steps.h"

typedef struct RestartParams {
        char *unit;
        unsigned timeout;
} RestartParams;

static const char *const restart_keys[] = {"unit", "timeout", NULL};

static void params_free(void *p) {
        RestartParams *r = p;
        free(r->unit);
        free(r);
}

static int restart_parse(Step *s, const YNode *map, ParseCtx *pc) {
        RestartParams *rp = xcalloc(1, sizeof *rp);
        const YNode *v;
        s->params = rp;
        rp->timeout = 90;
        _cleanup_free_ char *what = xasprintf("step '%s' (kind service-restart)", s->id);
        if (schema_require(pc, map, "unit", what, &v) < 0 || schema_string(pc, v, "unit", &rp->unit) < 0)
                return -EINVAL;
        if (!strchr(rp->unit, '.') || strchr(rp->unit, '/')) {
                src_error_set(pc->err, pc->file, v, "unit must be a unit name like docker.service, found '%s'", rp->unit);
                return -EINVAL;
        }
        if ((v = ynode_get(map, "timeout")) && schema_uint(pc, v, "timeout (seconds)", 1, 3600, &rp->timeout) < 0)
                return -EINVAL;
        return 0;
}

/* What the daemon writes when it starts: under --root, what a restart refreshes. */
static const char *start_marker(const char *unit) {
        if (streq(unit, "docker.service"))
                return "/run/docker.pid";
        if (streq(unit, "containerd.service"))
                return "/run/containerd/containerd.sock";
        return NULL;
}

static int restart_apply(const Step *s, Ctx *ctx, char **ret_detail) {
        const RestartParams *rp = s->params;
        char *err = NULL;
        int r = host_service_restart(ctx->host, rp->unit, start_marker(rp->unit), rp->timeout, &err);
        if (r < 0) {
                *ret_detail = err ? err : xasprintf("restarting %s failed: %s", rp->unit, strerror(-r));
                return r;
        }
        free(err);
        *ret_detail = xasprintf("%s restarted and active", rp->unit);
        return 0;
}

static char *restart_describe(const Step *s) {
        const RestartParams *rp = s->params;
        return xasprintf("restart %s (wait up to %us for it to be active)", rp->unit, rp->timeout);
}

const StepKind step_service_restart = {
        .name = "service-restart",
        .summary = "restart a unit through systemd and wait until it is active",
        .keys = restart_keys,
        .parse = restart_parse,
        .free_params = params_free,
        .apply = restart_apply,
        .describe = restart_describe,
};
