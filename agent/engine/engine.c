#include "engine/engine.h"
#include "engine/progress.h"

#include <string.h>

#include "checks/checks.h"
#include "steps/steps.h"
#include "engine/exitcode.h"
#include "plan/plan.h"
#include "plan/state.h"
#include "plan/when_kind.h"

typedef struct Engine {
        Ctx *ctx;
        Progress progress;
        const char *state_path;
        uint64_t step_t0;
} Engine;

/* A step returned without failing, but the run must stop here (reboot requested). */
#define STOP_REBOOT 1000

static int checkpoint(Engine *e) {
        if (e->ctx->dry_run)
                return 0;
        int r = state_save(e->state_path, e->ctx->state);
        if (r < 0)
                log_error("cannot write the checkpoint %s: %s; the previous checkpoint is kept, nothing more is done",
                          e->state_path, strerror(-r));
        return r;
}

static void end_step(Engine *e, size_t i, StepState to) {
        StepRecord *rec = &e->ctx->state->steps[i];
        rec->state = to;
        rec->applying = false;
        rec->finished = now_usec();
}

static void progress_end(Engine *e, size_t i) {
        progress_step_end(&e->progress, i, e->ctx->plan->n_steps, &e->ctx->plan->steps[i], &e->ctx->state->steps[i],
                        mono_usec() - e->step_t0);
}

static int fail_step(Engine *e, size_t i, char *msg /* owned */) {
        State *st = e->ctx->state;
        StepRecord *rec = &st->steps[i];
        end_step(e, i, STEP_FAILED);
        free(rec->error);
        rec->error = msg;
        st->run_state = RUN_FAILED;
        free(st->error);
        st->error = xasprintf("step '%s' failed: %s", rec->id, msg);
        progress_end(e, i);
        if (checkpoint(e) < 0)
                return EXIT_FAILED;
        if (!e->ctx->dry_run)
                log_error("%s\n  The run stopped here; later steps did not run. Fix the cause, then run `gpubase resume`.",
                          st->error);
        else
                log_error("%s", st->error);
        return EXIT_FAILED;
}

/* 0: all checks passed (warnings allowed); -1: one failed, *ret_error says which and how to fix it.
 * Checks stop at the first failure: later checks may depend on it. */
static int run_checks(Engine *e, const Step *s, char **ret_error) {
        for (size_t j = 0; j < s->n_checks; j++) {
                const CheckSpec *c = &s->checks[j];
                _cleanup_(check_result_done) CheckResult res = {0};
                c->kind->run(c, e->ctx, &res);
                progress_check(&e->progress, s, c, &res);
                if (res.status == CHECK_FAIL) {
                        _cleanup_free_ char *label = check_spec_label(c);
                        *ret_error = xasprintf("check %s failed: %s%s%s", label, res.detail ? res.detail : "failed",
                                               res.fix ? "; fix: " : "", res.fix ? res.fix : "");
                        return -1;
                }
        }
        return 0;
}

/* The step's checks decide between `to` and failed. */
static int finish_with_checks(Engine *e, size_t i, StepState to, char *detail /* owned */) {
        const Step *s = &e->ctx->plan->steps[i];
        StepRecord *rec = &e->ctx->state->steps[i];
        char *err = NULL;

        free(rec->detail);
        rec->detail = detail;
        if (!e->ctx->dry_run && run_checks(e, s, &err) < 0)
                return fail_step(e, i, err);
        end_step(e, i, to);
        progress_end(e, i);
        return checkpoint(e) < 0 ? EXIT_FAILED : 0;
}

static int request_reboot(Engine *e, size_t i, const char *why) {
        Ctx *ctx = e->ctx;
        State *st = ctx->state;
        StepRecord *rec = &st->steps[i];
        const Step *s = &ctx->plan->steps[i];
        const RebootParams *rp = s->params;
        _cleanup_free_ char *boot = NULL;
        char *err = NULL;
        int r;

        if (ctx->dry_run) {
                free(rec->detail);
                rec->detail = xasprintf("would reboot: %s", why);
                end_step(e, i, STEP_REBOOT_REQUESTED);
                progress_end(e, i);
                return STOP_REBOOT;
        }
        if (rec->reboots >= rp->max_reboots)
                return fail_step(e, i, xasprintf("a reboot is needed (%s) but this step already rebooted %u time%s "
                                                 "(max_reboots: %u); not rebooting again",
                                                 why, rec->reboots, rec->reboots == 1 ? "" : "s", rp->max_reboots));
        if (ctx->reboot_mode == REBOOT_NEVER)
                return fail_step(e, i, xasprintf("a reboot is needed (%s) but --reboot=never was given; run `gpubase "
                                                 "resume --reboot=exit`, reboot, then `gpubase resume`",
                                                 why));
        r = host_boot_id(ctx->host, &boot);
        if (r < 0) {
                _cleanup_free_ char *p = host_path(ctx->host, BOOT_ID_FILE);
                return fail_step(e, i, xasprintf("cannot read the boot id from %s (%s); without it a reboot cannot "
                                                 "be proven, so none is requested",
                                                 p, strerror(-r)));
        }
        if (ctx->reboot_mode == REBOOT_NOW && !st->unit_enabled) {
                /* record the intent first: a crash after enabling still disables the unit at the end */
                st->unit_enabled = true;
                if (checkpoint(e) < 0)
                        return EXIT_FAILED;
                r = host_unit_set_enabled(ctx->host, GPUBASE_UNIT, true, &err);
                if (r < 0) {
                        _cleanup_free_ char *m = err;
                        return fail_step(e, i, xasprintf("cannot enable %s, so nothing would resume the run after "
                                                         "the reboot: %s",
                                                         GPUBASE_UNIT, m ? m : strerror(-r)));
                }
        }
        rec->state = STEP_REBOOT_REQUESTED;
        rec->applying = false;
        rec->reboots++;
        rec->finished = now_usec();
        step_record_set(&rec->reboot_boot_id, boot);
        free(rec->detail);
        rec->detail = xasprintf("reboot requested: %s", why);
        step_record_set(&st->boot_id, boot);
        st->run_state = RUN_REBOOT_PENDING;
        progress_end(e, i);
        if (checkpoint(e) < 0)
                return EXIT_FAILED;

        if (ctx->reboot_mode == REBOOT_NOW) {
                r = host_reboot(ctx->host, &err);
                if (r < 0) {
                        _cleanup_free_ char *m = err;
                        log_error("the reboot could not be requested: %s\n  The run is checkpointed as "
                                  "reboot-pending: reboot the machine, then run `gpubase resume`.",
                                  m ? m : strerror(-r));
                        return EXIT_FAILED;
                }
                log_info("rebooting (step '%s': %s); %s", rec->id, why,
                         host_is_rooted(ctx->host) ? "simulated under --root: change the boot id, then `gpubase resume`"
                                                   : "the run resumes through gpubase.service");
        } else
                log_info("reboot needed (step '%s': %s): reboot the machine, then run `gpubase resume`", rec->id, why);
        return EXIT_REBOOT_PENDING;
}

/* A step that asked for a reboot, seen again in a new boot: its checks decide. */
static int after_reboot(Engine *e, size_t i) {
        const Step *s = &e->ctx->plan->steps[i];
        StepRecord *rec = &e->ctx->state->steps[i];
        const RebootParams *rp = s->params;
        char *err = NULL;

        e->step_t0 = mono_usec();
        progress_step_start(&e->progress, i, e->ctx->plan->n_steps, s);
        if (run_checks(e, s, &err) < 0) {
                if (rec->reboots < rp->max_reboots && e->ctx->reboot_mode != REBOOT_NEVER) {
                        _cleanup_free_ char *m = err;
                        _cleanup_free_ char *why = xasprintf("after reboot %u: %s", rec->reboots, m);
                        return request_reboot(e, i, why);
                }
                _cleanup_free_ char *m = err;
                return fail_step(e, i, xasprintf("after the reboot: %s (not rebooting again: max_reboots is %u)", m,
                                                 rp->max_reboots));
        }
        end_step(e, i, STEP_DONE);
        progress_end(e, i);
        return checkpoint(e) < 0 ? EXIT_FAILED : 0;
}

static int run_step(Engine *e, size_t i) {
        Ctx *ctx = e->ctx;
        State *st = ctx->state;
        const Step *s = &ctx->plan->steps[i];
        StepRecord *rec = &st->steps[i];
        bool was_applying = rec->state == STEP_RUNNING && rec->applying;
        _cleanup_free_ char *why = NULL;
        char *detail = NULL;
        int r;

        e->step_t0 = mono_usec();
        rec->state = STEP_RUNNING;
        /* an attempt cut off after apply had started keeps saying so until a result is recorded:
         * a second cut-off attempt, during its probe, must not make the change look like ours */
        rec->applying = was_applying;
        rec->attempts++;
        rec->started = now_usec();
        rec->finished = 0;
        step_record_set(&rec->error, NULL);
        progress_step_start(&e->progress, i, ctx->plan->n_steps, s);
        if (checkpoint(e) < 0)
                return EXIT_FAILED;

        r = s->when->eval(s, ctx, &why);
        if (r < 0)
                return fail_step(e, i, xasprintf("cannot evaluate when: %s: %s", s->when->name, why ? why : strerror(-r)));
        if (s->kind->reboot) {
                if (r == 0 && ctx->dry_run && st->changed) {
                        /* the condition is about the machine after the changes the dry run only described */
                        char *w = why;
                        why = xasprintf("if %s holds after the changes above (now: %s)", s->when->name, w);
                        free(w);
                        r = 1;
                }
                if (r > 0)
                        return request_reboot(e, i, why);
                return finish_with_checks(e, i, STEP_SKIPPED, xasprintf("no reboot needed: %s", why));
        }
        if (r == 0)
                return finish_with_checks(e, i, STEP_SKIPPED, xasprintf("not needed (when: %s): %s", s->when->name, why));
        if (!s->kind->probe && !s->kind->apply) /* gate */
                return finish_with_checks(e, i, STEP_DONE, xasprintf("%zu check%s passed", s->n_checks,
                                                                     s->n_checks == 1 ? "" : "s"));

        r = s->kind->probe ? s->kind->probe(s, ctx, &detail) : PROBE_NEEDED;
        if (r < 0)
                return fail_step(e, i, detail ? detail : xasprintf("probe failed: %s", strerror(-r)));
        if (r == PROBE_SATISFIED) {
                if (!was_applying)
                        return finish_with_checks(e, i, STEP_SKIPPED, detail);
                /* cut off after apply had started: the change is ours, and counts as one */
                st->changed = true;
                _cleanup_free_ char *d = detail;
                return finish_with_checks(e, i, STEP_DONE, xasprintf("%s (finished before an interruption)", d));
        }
        if (ctx->dry_run) {
                _cleanup_free_ char *d = detail;
                _cleanup_free_ char *what = s->kind->describe ? s->kind->describe(s) : xstrdup("apply");
                _cleanup_free_ char *preview = NULL;
                if (s->kind->preview && s->kind->preview(s, ctx, &preview) < 0) {
                        char *p = preview;
                        preview = xasprintf("cannot tell yet: %s", p ? p : "?");
                        free(p);
                }
                free(rec->detail);
                rec->detail = xasprintf("would %s%s%s%s%s%s", what, d ? " (" : "", d ? d : "", d ? ")" : "",
                                        preview ? "; " : "", preview ? preview : "");
                end_step(e, i, STEP_DONE);
                if (!s->kind->changes_nothing)
                        st->changed = true;
                progress_end(e, i);
                return 0;
        }
        free(detail);
        detail = NULL;

        rec->applying = true;
        if (checkpoint(e) < 0)
                return EXIT_FAILED;
        r = s->kind->apply(s, ctx, &detail);
        if (!s->kind->changes_nothing)
                st->changed = true; /* even a failed apply may have changed something */
        if (r < 0) {
                int code = fail_step(e, i, detail ? detail : xasprintf("apply failed: %s", strerror(-r)));
                /* someone else holds the dpkg lock past the timeout: busy, not broken */
                return r == -EBUSY && code == EXIT_FAILED ? EXIT_BUSY : code;
        }
        return finish_with_checks(e, i, STEP_DONE, detail);
}

int engine_state_matches_plan(const State *st, const Plan *p, char **ret_why) {
        if (st->n_steps != p->n_steps) {
                *ret_why = xasprintf("the state has %zu steps, the plan %zu", st->n_steps, p->n_steps);
                return 0;
        }
        for (size_t i = 0; i < p->n_steps; i++)
                if (!streq(st->steps[i].id, p->steps[i].id) || !streq(st->steps[i].kind, p->steps[i].kind->name)) {
                        *ret_why = xasprintf("step %zu is '%s' (%s) in the state but '%s' (%s) in the plan", i + 1,
                                             st->steps[i].id, st->steps[i].kind, p->steps[i].id, p->steps[i].kind->name);
                        return 0;
                }
        return 1;
}

int engine_run(Ctx *ctx, const char *state_path) {
        Engine e = {.ctx = ctx, .state_path = state_path};
        State *st = ctx->state;
        const Plan *p = ctx->plan;
        ssize_t rebooted = -1;
        int r;

        progress_init(&e.progress, ctx);

        /* A reboot was requested: did it happen? */
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
                        return EXIT_FAILED;
                }
                /* reboot_boot_id is cleared once the new boot has been seen and counted, so that a crash
                 * after that checkpoint does not count the same reboot twice */
                if (!rec->reboot_boot_id) {
                        rebooted = (ssize_t) i;
                        break;
                }
                if (streq(boot, rec->reboot_boot_id)) {
                        _cleanup_free_ char *when = rec->finished ? format_timestamp(rec->finished)
                                                                  : xstrdup("an earlier run");
                        log_error("reboot still pending: step '%s' asked for a reboot at %s (%s) and this is still "
                                  "the same boot (boot id %s); reboot the machine, then run `gpubase resume`",
                                  rec->id, when, rec->detail ? rec->detail : "", boot);
                        return EXIT_REBOOT_PENDING;
                }
                if (!ctx->dry_run) {
                        st->reboots++;
                        st->changed = false;
                        free(rec->detail);
                        rec->detail = xasprintf("rebooted (boot id %.8s… -> %.8s…)", rec->reboot_boot_id, boot);
                        step_record_set(&rec->reboot_boot_id, NULL);
                }
                rebooted = (ssize_t) i;
                break;
        }

        if (!ctx->dry_run) {
                st->run_state = RUN_RUNNING;
                step_record_set(&st->error, NULL);
                if (checkpoint(&e) < 0)
                        return EXIT_FAILED;
        }

        for (size_t i = 0; i < p->n_steps; i++) {
                StepState s = st->steps[i].state;
                if (s == STEP_DONE || s == STEP_SKIPPED)
                        continue;
                if ((ssize_t) i == rebooted)
                        r = after_reboot(&e, i);
                else
                        r = run_step(&e, i);
                if (r == STOP_REBOOT) { /* dry run */
                        for (size_t j = i + 1; j < p->n_steps; j++)
                                progress_note(&e.progress, "[%zu/%zu] %-24s %-9s after the reboot", j + 1, p->n_steps,
                                            p->steps[j].id, p->steps[j].kind->name);
                        return EXIT_OK;
                }
                if (r != 0)
                        return r;
        }

        if (ctx->dry_run)
                return EXIT_OK;
        st->run_state = RUN_DONE;
        if (st->unit_enabled) {
                char *err = NULL;
                r = host_unit_set_enabled(ctx->host, GPUBASE_UNIT, false, &err);
                if (r < 0) {
                        _cleanup_free_ char *m = err;
                        log_warning("the run is done but %s could not be disabled: %s; disable it by hand "
                                    "(systemctl disable %s)",
                                    GPUBASE_UNIT, m ? m : strerror(-r), GPUBASE_UNIT);
                } else
                        st->unit_enabled = false;
        }
        if (checkpoint(&e) < 0)
                return EXIT_FAILED;
        return EXIT_OK;
}
