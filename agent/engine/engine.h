/* The state machine. Run: idle -> running -> (reboot-pending -> running)* -> done | failed, or
 * interrupted (SIGTERM, SIGINT: engine/interrupt.h) from running.
 * Step: pending -> running -> done | skipped | failed | interrupted, and reboot-requested for
 * reboot steps; failed and interrupted steps run again on resume.
 * Each step: probe (already there? skipped), apply, then its checks; only passing checks make it
 * done. The checkpoint is written before a step starts, before apply, and after it ends. */
#pragma once

#include "plan/ctx.h"
#include "base/log.h"

/* Runs (or continues) ctx->state against ctx->plan, watching for SIGTERM and SIGINT meanwhile
 * (ctx->stop_fd). Returns a process exit code (130 / 143 when a signal stopped it). */
int engine_run(Ctx *ctx, const char *state_path);

/* Does the state's step list line up with the plan (same ids and kinds, in order)? */
int engine_state_matches_plan(const State *st, const Plan *p, char **ret_why);
