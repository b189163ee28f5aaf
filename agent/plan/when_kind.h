/* `when:` conditions: should a step run at all? The reboot step's default is `changed`. Declared
 * here so that a plan can name them; the conditions and their registry are in engine/when.c. */
#pragma once

#include "plan/ctx.h"
#include "plan/plan.h"

struct WhenKind {
        const char *name;
        const char *summary;
        /* 1: the step should run, 0: not (ret_why says why either way), < 0: cannot tell. */
        int (*eval)(const Step *s, Ctx *ctx, char **ret_why);
};

const WhenKind *when_find(const char *name);
const char *const *when_names(void);
