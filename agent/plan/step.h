/* One entry of a plan's `steps:`, parsed: for the plan loader (plan/plan.c). */
#pragma once

#include "plan/plan.h"

/* Fills s from the map n (its id, kind, when, checks, then the kind's own parameters). p holds the
 * steps parsed before it (for duplicate ids). -EINVAL with pc->err set (file:line:col). */
int step_parse(ParseCtx *pc, const Plan *p, const YNode *n, Step *s);
