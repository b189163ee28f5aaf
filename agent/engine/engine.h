/* The state machine. Run: idle -> running -> (reboot-pending -> running)* -> done | failed.
 * Step: pending -> running -> done | skipped | failed, and reboot-requested for reboot steps.
 * Each step: probe (already there? skipped), apply, then its checks; only passing checks make it
 * done. The checkpoint is written before a step starts, before apply, and after it ends. */
#pragma once

#include "plan/ctx.h"
#include "base/log.h"

/* Runs (or continues) ctx->state against ctx->plan. Returns a process exit code. */
int engine_run(Ctx *ctx, const char *state_path);

/* Does the state's step list line up with the plan (same ids and kinds, in order)? */
int engine_state_matches_plan(const State *st, const Plan *p, char **ret_why);
