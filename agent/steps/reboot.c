/* reboot: the engine runs the reboot protocol (engine/engine.c); this file only parses the step. Its
 * `when:` defaults to `changed`, so a converged rerun never reboots, and `max_reboots` bounds how
 * often a failing post-reboot check may ask for another one. */
#include "plan/when_kind.h"
#include "steps/steps.h"

static const char *const reboot_keys[] = {"max_reboots", NULL};

static int reboot_parse(Step *s, const YNode *map, ParseCtx *pc) {
        RebootParams *p = xcalloc(1, sizeof *p);
        const YNode *v;
        s->params = p;
        p->max_reboots = 1;
        if ((v = ynode_get(map, "max_reboots")) && schema_uint(pc, v, "max_reboots", 1, 10, &p->max_reboots) < 0)
                return -EINVAL;
        return 0;
}

static char *reboot_describe(const Step *s) {
        const RebootParams *p = s->params;
        return xasprintf("reboot when %s (at most %u time%s), then run the checks", s->when->name, p->max_reboots,
                         p->max_reboots == 1 ? "" : "s");
}

const StepKind step_reboot = {
        .name = "reboot",
        .summary = "reboot the machine and resume after it; the checks prove the reboot worked",
        .keys = reboot_keys,
        .default_when = "changed",
        .reboot = true,
        .parse = reboot_parse,
        .free_params = free,
        .describe = reboot_describe,
};
