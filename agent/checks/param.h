#pragma once

#include "checks/checks.h"

/* An optional string parameter, stored as c->params (char *, freed with free). */
int check_param_string(CheckSpec *c, const YNode *param, ParseCtx *pc);
/* The same, limited to choices (NULL-terminated). */
int check_param_choice(CheckSpec *c, const YNode *param, ParseCtx *pc, const char *const *choices);
/* docker | containerd */
int check_param_runtime(CheckSpec *c, const YNode *param, ParseCtx *pc);
void check_declare_runtime(const CheckSpec *c, PlanIntent *intent);
