/* plan.c's parsers of the plan's smaller sections (plan_sections.c). 0, or -EINVAL with pc->err set. */
#pragma once

#include "base/ynode.h"
#include "plan/plan.h"
#include "plan/schema.h"

int plan_parse_match(ParseCtx *pc, Plan *p, const YNode *m);
int plan_parse_workloads(ParseCtx *pc, Plan *p, const YNode *w);
/* watch: {enable, repair, reboot} (the drift watch) */
int plan_parse_watch(ParseCtx *pc, Plan *p, const YNode *w);
/* expect: {gpus: 8, model: "H200*", nvswitches: 4}: the machine's shape */
int plan_parse_expect(ParseCtx *pc, Plan *p, const YNode *e);
