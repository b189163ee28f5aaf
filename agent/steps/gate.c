/* gate: checks only. Changes nothing; its checks decide whether the run may go on
 * (e.g. a preflight that refuses an unsuitable host before anything is installed). */
#include "steps/steps.h"

static int gate_parse(Step *s, const YNode *map, ParseCtx *pc) {
        if (s->n_checks == 0) {
                src_error_set(pc->err, pc->file, map, "step '%s' (kind gate) needs a non-empty checks list", s->id);
                return -EINVAL;
        }
        return 0;
}

static char *gate_describe(const Step *s) {
        return xasprintf("check %zu condition%s", s->n_checks, s->n_checks == 1 ? "" : "s");
}

const StepKind step_gate = {
        .name = "gate",
        .summary = "checks only; stops the run when one fails",
        .changes_nothing = true,
        .parse = gate_parse,
        .describe = gate_describe,
};
