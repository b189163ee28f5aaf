/* service-enable: enable a unit at boot and start it (a running one is left running), through
 * systemd (sd-bus). Satisfied when the unit is enabled and active. The shipped plans enable
 * nvidia-persistenced and, on NVSwitch hosts, nvidia-fabricmanager after the driver reboot. */
#include <string.h>

#include "base/error.h"
#include "checks/hgx.h"
#include "steps/steps.h"

typedef struct EnableParams {
        char *unit;
        unsigned timeout;
} EnableParams;

static const char *const enable_keys[] = {"unit", "timeout", NULL};

static void params_free(void *p) {
        EnableParams *e = p;
        free(e->unit);
        free(e);
}

static int enable_parse(Step *s, const YNode *map, ParseCtx *pc) {
        EnableParams *ep = xcalloc(1, sizeof *ep);
        const YNode *v;
        s->params = ep;
        ep->timeout = 90;
        _cleanup_free_ char *what = xasprintf("step '%s' (kind service-enable)", s->id);
        if (schema_require(pc, map, "unit", what, &v) < 0 || schema_string(pc, v, "unit", &ep->unit) < 0)
                return -EINVAL;
        if (!strchr(ep->unit, '.') || strchr(ep->unit, '/')) {
                src_error_set(pc->err, pc->file, v, "unit must be a unit name like nvidia-persistenced.service, found '%s'",
                              ep->unit);
                return -EINVAL;
        }
        if ((v = ynode_get(map, "timeout")) && schema_uint(pc, v, "timeout (seconds)", 1, 3600, &ep->timeout) < 0)
                return -EINVAL;
        return 0;
}

static int enable_probe(const Step *s, Ctx *ctx, char **ret_detail, char **reterr _unused_) {
        const EnableParams *ep = s->params;
        int enabled, active;
        hgx_unit_state(ctx->host, ep->unit, &enabled, &active);
        *ret_detail = xasprintf("%s is %s and %s", ep->unit, enabled ? "enabled" : "not enabled",
                                active ? "active" : "not active");
        return enabled && active ? PROBE_SATISFIED : PROBE_NEEDED;
}

static int enable_apply(const Step *s, Ctx *ctx, char **ret_detail, char **reterr) {
        const EnableParams *ep = s->params;
        _cleanup_free_ char *err = NULL;
        int r = host_unit_set_enabled(ctx->host, ep->unit, true, &err);
        if (r >= 0)
                r = host_service_start(ctx->host, ep->unit, hgx_unit_marker(ep->unit), ep->timeout, &err);
        if (r < 0)
                return err ? errorf(reterr, r, "%s", err)
                           : errorf(reterr, r, "enabling and starting %s failed: %s", ep->unit, strerror(-r));
        *ret_detail = xasprintf("%s enabled and active", ep->unit);
        return 0;
}

static void enable_declare(const Step *s, PlanIntent *in) {
        const EnableParams *ep = s->params;
        if (streq(ep->unit, PERSISTENCED_UNIT))
                in->persistence = true;
}

static char *enable_describe(const Step *s) {
        const EnableParams *ep = s->params;
        return xasprintf("enable %s and start it (wait up to %us for it to be active)", ep->unit, ep->timeout);
}

const StepKind step_service_enable = {
        .name = "service-enable",
        .summary = "enable a unit at boot and start it through systemd; satisfied when enabled and active",
        .keys = enable_keys,
        .parse = enable_parse,
        .free_params = params_free,
        .probe = enable_probe,
        .apply = enable_apply,
        .describe = enable_describe,
        .declare = enable_declare,
};
