/* The engine's reboots: asking for one (enabling gpubase.service first when the run reboots by
 * itself), and the next boot's look at it, which counts the reboot once and lets the step's checks
 * decide. Split from engine.c, whose internals it shares through engine_internal.h. */
#include "engine/engine_internal.h"

#include <string.h>

#include "base/error.h"
#include "base/log.h"
#include "plan/state.h"
#include "steps/steps.h"

/* May this step reboot, and is there a boot id to prove the reboot by? 0 with *ret_boot, or -errno
 * with the step's failure message in *reterr. */
static int reboot_allowed(Engine *e, size_t i, const char *why, char **ret_boot, char **reterr) {
        Ctx *ctx = e->ctx;
        const StepRecord *rec = &ctx->state->steps[i];
        const RebootParams *rp = ctx->plan->steps[i].params;
        int r;

        if (rec->reboots >= rp->max_reboots)
                return errorf(reterr, -ELOOP,
                              "a reboot is needed (%s) but this step already rebooted %u time%s (max_reboots: %u); "
                              "not rebooting again",
                              why, rec->reboots, rec->reboots == 1 ? "" : "s", rp->max_reboots);
        if (ctx->reboot_mode == REBOOT_NEVER)
                return errorf(reterr, -EPERM,
                              "a reboot is needed (%s) but --reboot=never was given; run `gpubase resume "
                              "--reboot=exit`, reboot, then `gpubase resume`",
                              why);
        r = host_boot_id(ctx->host, ret_boot);
        if (r < 0) {
                _cleanup_free_ char *p = host_path(ctx->host, BOOT_ID_FILE);
                return errorf(reterr, r,
                              "cannot read the boot id from %s (%s); without it a reboot cannot be proven, so none "
                              "is requested",
                              p, strerror(-r));
        }
        return 0;
}

/* --reboot=now: gpubase.service must be enabled so that something resumes the run after the
 * reboot. -errno with the step's failure message in *reterr. */
static int enable_unit_for_reboot(Engine *e, char **reterr) {
        State *st = e->ctx->state;
        _cleanup_free_ char *err = NULL;
        int r;

        if (e->ctx->reboot_mode != REBOOT_NOW || st->unit_enabled)
                return 0;
        /* record the intent first: a crash after enabling still disables the unit at the end */
        st->unit_enabled = true;
        r = engine_checkpoint(e);
        if (r < 0)
                return r; /* told */
        r = host_unit_set_enabled(e->ctx->host, GPUBASE_UNIT, true, &err);
        if (r < 0)
                return errorf(reterr, r, "cannot enable %s, so nothing would resume the run after the reboot: %s",
                              GPUBASE_UNIT, err ? err : strerror(-r));
        return 0;
}

Outcome engine_request_reboot(Engine *e, size_t i, const char *why) {
        Ctx *ctx = e->ctx;
        State *st = ctx->state;
        StepRecord *rec = &st->steps[i];
        _cleanup_free_ char *boot = NULL;
        char *err = NULL;
        int r;

        if (ctx->dry_run) {
                free(rec->detail);
                rec->detail = xasprintf("would reboot: %s", why);
                engine_end_step(e, i, STEP_REBOOT_REQUESTED);
                engine_progress_end(e, i);
                events_reboot_requested(&e->events, i, why);
                return OUTCOME_DRY_REBOOT;
        }
        r = reboot_allowed(e, i, why, &boot, &err);
        if (r >= 0)
                r = enable_unit_for_reboot(e, &err);
        if (r < 0)
                return err ? engine_fail_step(e, i, err) : OUTCOME_FAILED;

        rec->state = STEP_REBOOT_REQUESTED;
        rec->applying = false;
        rec->reboots++;
        rec->finished = now_usec();
        step_record_set(&rec->reboot_boot_id, boot);
        free(rec->detail);
        rec->detail = xasprintf("reboot requested: %s", why);
        step_record_set(&st->boot_id, boot);
        st->run_state = RUN_REBOOT_PENDING;
        engine_progress_end(e, i);
        if (engine_checkpoint(e) < 0)
                return OUTCOME_FAILED;
        events_reboot_requested(&e->events, i, why);

        if (ctx->reboot_mode == REBOOT_NOW) {
                r = host_reboot(ctx->host, &err);
                if (r < 0) {
                        _cleanup_free_ char *m = err;
                        log_error("the reboot could not be requested: %s\n  The run is checkpointed as "
                                  "reboot-pending: reboot the machine, then run `gpubase resume`.",
                                  m ? m : strerror(-r));
                        return OUTCOME_FAILED;
                }
                log_info("rebooting (step '%s': %s); %s", rec->id, why,
                         host_is_rooted(ctx->host) ? "simulated under --root: change the boot id, then `gpubase resume`"
                                                   : "the run resumes through gpubase.service");
        } else
                log_info("reboot needed (step '%s': %s): reboot the machine, then run `gpubase resume`", rec->id, why);
        return OUTCOME_REBOOT_PENDING;
}

/* A step that asked for a reboot, seen again in a new boot: its checks decide. */
Outcome engine_after_reboot(Engine *e, size_t i) {
        const Step *s = &e->ctx->plan->steps[i];
        StepRecord *rec = &e->ctx->state->steps[i];
        const RebootParams *rp = s->params;
        char *why = NULL;

        e->step_t0 = mono_usec();
        e->step_changed = false;
        progress_step_start(&e->progress, i, e->ctx->plan->n_steps, s);
        events_step_started(&e->events, i);
        if (!engine_checks_pass(e, s, &why)) {
                _cleanup_free_ char *m = why;
                if (rec->reboots < rp->max_reboots && e->ctx->reboot_mode != REBOOT_NEVER) {
                        _cleanup_free_ char *again = xasprintf("after reboot %u: %s", rec->reboots, m);
                        return engine_request_reboot(e, i, again);
                }
                return engine_fail_step(e, i, xasprintf("after the reboot: %s (not rebooting again: max_reboots is %u)", m,
                                                 rp->max_reboots));
        }
        engine_end_step(e, i, STEP_DONE);
        engine_progress_end(e, i);
        return engine_checkpoint(e) < 0 ? OUTCOME_FAILED : OUTCOME_NEXT;
}

/* A reboot was requested: did it happen? OUTCOME_NEXT with *ret_rebooted the step that asked for
 * it (-1: none asked), or the outcome that ends the run here. */
Outcome engine_find_reboot(Engine *e, ssize_t *ret_rebooted) {
        Ctx *ctx = e->ctx;
        State *st = ctx->state;
        int r;

        for (size_t i = 0; i < st->n_steps; i++) {
                StepRecord *rec = &st->steps[i];
                _cleanup_free_ char *boot = NULL;
                if (rec->state != STEP_REBOOT_REQUESTED)
                        continue;
                r = host_boot_id(ctx->host, &boot);
                if (r < 0) {
                        _cleanup_free_ char *bp = host_path(ctx->host, BOOT_ID_FILE);
                        log_error("cannot read the boot id from %s (%s), so whether the reboot requested by step '%s' "
                                  "happened cannot be told; nothing was changed",
                                  bp, strerror(-r), rec->id);
                        return OUTCOME_FAILED;
                }
                /* reboot_boot_id is cleared once the new boot has been seen and counted, so that a crash
                 * after that checkpoint does not count the same reboot twice */
                if (rec->reboot_boot_id && streq(boot, rec->reboot_boot_id)) {
                        _cleanup_free_ char *when = rec->finished ? format_timestamp(rec->finished)
                                                                  : xstrdup("an earlier run");
                        log_error("reboot still pending: step '%s' asked for a reboot at %s (%s) and this is still "
                                  "the same boot (boot id %s); reboot the machine, then run `gpubase resume`",
                                  rec->id, when, rec->detail ? rec->detail : "", boot);
                        return OUTCOME_REBOOT_PENDING;
                }
                if (rec->reboot_boot_id && !ctx->dry_run) {
                        st->reboots++;
                        st->changed = false;
                        free(rec->detail);
                        rec->detail = xasprintf("rebooted (boot id %.8s… -> %.8s…)", rec->reboot_boot_id, boot);
                        step_record_set(&rec->reboot_boot_id, NULL);
                }
                *ret_rebooted = (ssize_t) i;
                return OUTCOME_NEXT;
        }
        *ret_rebooted = -1;
        return OUTCOME_NEXT;
}
