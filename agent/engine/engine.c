#include "engine/engine.h"
#include "engine/engine_internal.h"
#include "engine/image.h"
#include "engine/events.h"
#include "engine/interrupt.h"
#include "engine/progress.h"

#include <signal.h>
#include <string.h>

#include "base/error.h"

#include "checks/checks.h"
#include "steps/steps.h"
#include "engine/exitcode.h"
#include "plan/plan.h"
#include "plan/secret_vars.h"
#include "plan/state.h"
#include "plan/when_kind.h"

static int outcome_to_exit(Outcome o) {
        switch (o) {
        case OUTCOME_NEXT:
        case OUTCOME_DRY_REBOOT:
                return EXIT_OK;
        case OUTCOME_BUSY:
                return EXIT_BUSY;
        case OUTCOME_REBOOT_PENDING:
                return EXIT_REBOOT_PENDING;
        case OUTCOME_INTERRUPTED:
                return interrupt_received() == SIGINT ? EXIT_SIGINT : EXIT_SIGTERM;
        case OUTCOME_FAILED:
        default:
                return EXIT_FAILED;
        }
}

/* Written now: before a change is made, after it was made, and when the run stops or ends. It
 * carries whatever checkpoint_later() held back. */
int engine_checkpoint(Engine *e) {
        state_redact(e->ctx->state, e->secrets);
        if (e->ctx->dry_run)
                return 0;
        int r = state_save(e->state_path, e->ctx->state);
        if (r < 0) {
                log_error("cannot write the checkpoint %s: %s; the previous checkpoint is kept, nothing more is done",
                          e->state_path, strerror(-r));
                return r;
        }
        /* what `gpubase status` shows without root; it may lag, never stop the run */
        _cleanup_free_ char *err = NULL;
        if (status_publish(e->ctx->host, e->ctx->state, &err) < 0 && e->ctx->verbose > 0)
                log_warning("%s", err);
        return 0;
}

/* What only read the machine (the start of a run or of a step, a step found satisfied or not
 * needed, a gate) is written with the next engine_checkpoint(), not on its own: a crash before that loses
 * nothing a rerun of those read-only probes would not find again, and a run that changes nothing
 * writes its state once, at the end. */
static void checkpoint_later(Engine *e) {
        state_redact(e->ctx->state, e->secrets);
}

void engine_end_step(Engine *e, size_t i, StepState to) {
        StepRecord *rec = &e->ctx->state->steps[i];
        rec->state = to;
        rec->applying = false;
        rec->finished = now_usec();
}

void engine_progress_end(Engine *e, size_t i) {
        state_redact(e->ctx->state, e->secrets);
        uint64_t elapsed = mono_usec() - e->step_t0;
        progress_step_end(&e->progress, i, e->ctx->plan->n_steps, &e->ctx->plan->steps[i], &e->ctx->state->steps[i],
                          elapsed);
        events_step_ended(&e->events, i, e->step_changed, elapsed);
}

static const char *signal_name(int sig) {
        return sig == SIGINT ? "SIGINT" : "SIGTERM";
}

/* SIGTERM or SIGINT came while step i ran (the programs it ran were stopped, so it ended with
 * msg): the step is interrupted, not failed. `applying` stays as it was, so that the probe decides
 * on resume whether the change was made. */
static Outcome interrupt_step(Engine *e, size_t i, char *msg /* owned */) {
        State *st = e->ctx->state;
        StepRecord *rec = &st->steps[i];
        const char *sig = signal_name(interrupt_received());
        rec->state = STEP_INTERRUPTED;
        rec->finished = now_usec();
        free(rec->error);
        rec->error = xasprintf("interrupted by %s: %s", sig, msg);
        free(msg);
        st->run_state = RUN_INTERRUPTED;
        free(st->error);
        st->error = xasprintf("gpubase was stopped by %s during step '%s'", sig, rec->id);
        engine_progress_end(e, i);
        if (engine_checkpoint(e) < 0)
                return OUTCOME_INTERRUPTED;
        log_error("%s; what the step had started was stopped. %s", st->error,
                  e->ctx->dry_run ? "Nothing was changed (dry run)."
                                  : "Run `gpubase resume` to run the step again and go on.");
        return OUTCOME_INTERRUPTED;
}

/* SIGTERM or SIGINT came while a step ran that has no program to stop: it finished, and the run
 * stops before step next. */
static Outcome interrupt_run(Engine *e, size_t next) {
        State *st = e->ctx->state;
        const char *sig = signal_name(interrupt_received());
        st->run_state = RUN_INTERRUPTED;
        free(st->error);
        st->error = next < st->n_steps
                            ? xasprintf("gpubase was stopped by %s before step '%s'", sig, st->steps[next].id)
                            : xasprintf("gpubase was stopped by %s after the last step", sig);
        if (engine_checkpoint(e) < 0)
                return OUTCOME_INTERRUPTED;
        log_error("%s. %s", st->error,
                  e->ctx->dry_run ? "Nothing was changed (dry run)." : "Run `gpubase resume` to go on.");
        return OUTCOME_INTERRUPTED;
}

Outcome engine_fail_step(Engine *e, size_t i, char *msg /* owned */) {
        State *st = e->ctx->state;
        StepRecord *rec = &st->steps[i];
        if (interrupt_received())
                return interrupt_step(e, i, msg);
        engine_end_step(e, i, STEP_FAILED);
        free(rec->error);
        rec->error = msg;
        st->run_state = RUN_FAILED;
        free(st->error);
        st->error = xasprintf("step '%s' failed: %s", rec->id, msg);
        engine_progress_end(e, i);
        if (engine_checkpoint(e) < 0)
                return OUTCOME_FAILED;
        if (!e->ctx->dry_run)
                log_error("%s\n  The run stopped here; later steps did not run. Fix the cause, then run `gpubase resume`.",
                          st->error);
        else
                log_error("%s", st->error);
        return OUTCOME_FAILED;
}

/* Step i's apply found the dpkg lock held past its lock_timeout (ctx->lock_busy), before it changed
 * anything: busy, not broken. The step is pending again, with why (msg) as its error, and the run
 * busy: gpubase.service starts again on exit 75 (Restart=), `gpubase wait` keeps waiting for that,
 * and `gpubase resume` goes on. */
static Outcome busy_step(Engine *e, size_t i, char *msg /* owned */) {
        State *st = e->ctx->state;
        StepRecord *rec = &st->steps[i];
        if (interrupt_received())
                return interrupt_step(e, i, msg);
        engine_end_step(e, i, STEP_PENDING);
        free(rec->error);
        rec->error = msg;
        st->run_state = RUN_BUSY;
        free(st->error);
        st->error = xasprintf("step '%s' is busy: %s", rec->id, msg);
        engine_progress_end(e, i);
        if (engine_checkpoint(e) < 0)
                return OUTCOME_FAILED;
        log_error("%s\n  Nothing was changed; the step runs again when the run goes on (gpubase.service starts "
                  "again by itself; by hand: `gpubase resume`).",
                  st->error);
        return OUTCOME_BUSY;
}

/* true: all checks passed (warnings allowed); false: one failed, and *ret_why says which and how to
 * fix it. Checks stop at the first failure: later checks may depend on it. */
bool engine_checks_pass(Engine *e, const Step *s, char **ret_why) {
        for (size_t j = 0; j < s->n_checks; j++) {
                const CheckSpec *c = &s->checks[j];
                _cleanup_(check_result_done) CheckResult res = {0};
                c->kind->run(c, e->ctx, &res);
                redact_in_place(&res.detail, e->secrets);
                redact_in_place(&res.fix, e->secrets);
                progress_check(&e->progress, s, c, &res);
                if (res.status == CHECK_FAIL) {
                        _cleanup_free_ char *label = check_spec_label(c);
                        *ret_why = xasprintf("check %s failed: %s%s%s", label, res.detail ? res.detail : "failed",
                                             res.fix ? "; fix: " : "", res.fix ? res.fix : "");
                        return false;
                }
        }
        return true;
}

/* The step's checks decide between `to` and failed. A step that changed something (applied) is
 * checkpointed at once; one that only read the machine, with the next write. */
static Outcome finish_with_checks(Engine *e, size_t i, StepState to, bool applied, char *detail /* owned */) {
        const Step *s = &e->ctx->plan->steps[i];
        StepRecord *rec = &e->ctx->state->steps[i];
        char *why = NULL;

        free(rec->detail);
        rec->detail = detail;
        if (!e->ctx->dry_run && !engine_checks_pass(e, s, &why))
                return engine_fail_step(e, i, why);
        engine_end_step(e, i, to);
        engine_progress_end(e, i);
        if (!applied) {
                checkpoint_later(e);
                return OUTCOME_NEXT;
        }
        return engine_checkpoint(e) < 0 ? OUTCOME_FAILED : OUTCOME_NEXT;
}

/* A step whose `when:` holds and whose probe says it is needed, in a dry run: say what apply would do. */
static Outcome describe_step(Engine *e, size_t i, char *probe_detail /* owned */) {
        Ctx *ctx = e->ctx;
        const Step *s = &ctx->plan->steps[i];
        StepRecord *rec = &ctx->state->steps[i];
        _cleanup_free_ char *d = probe_detail;
        _cleanup_free_ char *what = s->kind->describe ? s->kind->describe(s) : xstrdup("apply");
        _cleanup_free_ char *preview = NULL, *err = NULL;

        if (s->kind->preview && s->kind->preview(s, ctx, &preview, &err) < 0)
                preview = xasprintf("cannot tell yet: %s", err ? err : "?");
        free(rec->detail);
        rec->detail = xasprintf("would %s%s%s%s%s%s", what, d ? " (" : "", d ? d : "", d ? ")" : "",
                                preview ? "; " : "", preview ? preview : "");
        engine_end_step(e, i, STEP_DONE);
        if (!s->kind->changes_nothing)
                ctx->state->changed = true;
        e->step_changed = true;
        engine_progress_end(e, i);
        return OUTCOME_NEXT;
}

/* Step i is about to make the run's first change: the later steps that have yet to run may start
 * work in the background that they will use (StepKind.ahead). A run that changes nothing starts
 * none; an image build, none for the steps of its first boot. */
static void look_ahead(Engine *e, size_t i) {
        const Plan *p = e->ctx->plan;
        size_t end = e->ctx->host->image ? e->first_boot : p->n_steps;
        if (e->looked_ahead)
                return;
        e->looked_ahead = true;
        for (size_t j = i + 1; j < end && j < p->n_steps; j++) {
                StepState st = e->ctx->state->steps[j].state;
                if (p->steps[j].kind->ahead && st != STEP_DONE && st != STEP_SKIPPED)
                        p->steps[j].kind->ahead(&p->steps[j], e->ctx);
        }
}

/* A step that its `when:` lets run and that is not a gate or a reboot: probe, then apply. */
static Outcome probe_and_apply(Engine *e, size_t i, bool was_applying) {
        Ctx *ctx = e->ctx;
        State *st = ctx->state;
        const Step *s = &ctx->plan->steps[i];
        char *detail = NULL, *err = NULL;
        int r;

        r = s->kind->probe ? s->kind->probe(s, ctx, &detail, &err) : PROBE_NEEDED;
        if (r < 0)
                return engine_fail_step(e, i, err ? err : xasprintf("probe failed: %s", strerror(-r)));
        if (r == PROBE_SATISFIED) {
                if (!was_applying)
                        return finish_with_checks(e, i, STEP_SKIPPED, false, detail);
                /* cut off after apply had started: the change is ours, and counts as one */
                st->changed = true;
                e->step_changed = true;
                _cleanup_free_ char *d = detail;
                return finish_with_checks(e, i, STEP_DONE, true, xasprintf("%s (finished before an interruption)", d));
        }
        if (ctx->dry_run)
                return describe_step(e, i, detail);
        free(detail);
        detail = NULL;

        st->steps[i].applying = true;
        if (engine_checkpoint(e) < 0)
                return OUTCOME_FAILED;
        ctx->lock_busy = false;
        e->step_changed = true;
        look_ahead(e, i);
        r = s->kind->apply(s, ctx, &detail, &err);
        /* someone else holds the dpkg lock past the timeout: busy, not broken, and nothing changed
         * (an -EBUSY of any other kind is a failure like the rest) */
        if (r < 0 && ctx->lock_busy) {
                e->step_changed = false;
                return busy_step(e, i, err ? err : xasprintf("apply failed: %s", strerror(-r)));
        }
        if (!s->kind->changes_nothing)
                st->changed = true; /* even a failed apply may have changed something */
        if (r < 0)
                return engine_fail_step(e, i, err ? err : xasprintf("apply failed: %s", strerror(-r)));
        return finish_with_checks(e, i, STEP_DONE, true, detail);
}

static Outcome run_step(Engine *e, size_t i) {
        Ctx *ctx = e->ctx;
        State *st = ctx->state;
        const Step *s = &ctx->plan->steps[i];
        StepRecord *rec = &st->steps[i];
        bool was_applying = (rec->state == STEP_RUNNING || rec->state == STEP_INTERRUPTED) && rec->applying;
        _cleanup_free_ char *why = NULL;
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
        e->step_changed = false;
        progress_step_start(&e->progress, i, ctx->plan->n_steps, s);
        events_step_started(&e->events, i);
        checkpoint_later(e); /* written before apply, or with the step's result */

        r = s->when->eval(s, ctx, &why);
        if (r < 0)
                return engine_fail_step(e, i, xasprintf("cannot evaluate when: %s: %s", s->when->name, why ? why : strerror(-r)));
        if (s->kind->reboot) {
                if (r == 0 && ctx->dry_run && st->changed) {
                        /* the condition is about the machine after the changes the dry run only described */
                        char *w = why;
                        why = xasprintf("if %s holds after the changes above (now: %s)", s->when->name, w);
                        free(w);
                        r = 1;
                }
                if (r > 0)
                        return engine_request_reboot(e, i, why);
                return finish_with_checks(e, i, STEP_SKIPPED, false, xasprintf("no reboot needed: %s", why));
        }
        if (r == 0)
                return finish_with_checks(e, i, STEP_SKIPPED, false,
                                          xasprintf("not needed (when: %s): %s", s->when->name, why));
        if (!s->kind->probe && !s->kind->apply) /* gate */
                return finish_with_checks(e, i, STEP_DONE, false,
                                          xasprintf("%zu check%s passed", s->n_checks, s->n_checks == 1 ? "" : "s"));
        return probe_and_apply(e, i, was_applying);
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


/* Every step is done or skipped: the run is done, and gpubase.service is disabled if the run enabled it. */
static Outcome finish_run(Engine *e) {
        State *st = e->ctx->state;
        int r;

        st->run_state = RUN_DONE;
        if (st->unit_enabled) {
                _cleanup_free_ char *err = NULL;
                r = host_unit_set_enabled(e->ctx->host, GPUBASE_UNIT, false, &err);
                if (r < 0)
                        log_warning("the run is done but %s could not be disabled: %s; disable it by hand "
                                    "(systemctl disable %s)",
                                    GPUBASE_UNIT, err ? err : strerror(-r), GPUBASE_UNIT);
                else
                        st->unit_enabled = false;
        }
        if (e->ctx->plan->watch.enable) { /* the plan asks for the drift watch (gpubase watch enable) */
                _cleanup_free_ char *err = NULL;
                r = host_unit_set_enabled(e->ctx->host, GPUBASE_VERIFY_TIMER, true, &err);
                if (r >= 0)
                        r = host_unit_start_stop(e->ctx->host, GPUBASE_VERIFY_TIMER, true, &err);
                if (r < 0)
                        log_warning("the plan asks for the drift watch but %s could not be enabled: %s; run `gpubase "
                                    "watch enable`",
                                    GPUBASE_VERIFY_TIMER, err ? err : strerror(-r));
        }
        return engine_checkpoint(e) < 0 ? OUTCOME_FAILED : OUTCOME_NEXT;
}

/* --image: the run stops before step i, which the image's first boot begins with; gpubase.service
 * goes on with it there (the reboot step, if i is one, counts as done once the image has booted). */
static Outcome defer_to_first_boot(Engine *e, size_t i) {
        State *st = e->ctx->state;
        StepRecord *rec = &st->steps[i];
        _cleanup_free_ char *did = NULL;
        char *err = NULL;

        st->unit_enabled = true; /* the intent first, as enable_unit_for_reboot() records it */
        if (image_prepare_first_boot(e->ctx, &did, &err) < 0)
                return engine_fail_step(e, i, err);
        if (e->ctx->plan->steps[i].kind->reboot) {
                rec->state = STEP_REBOOT_REQUESTED;
                rec->reboots++;
                rec->finished = now_usec();
                step_record_set(&rec->reboot_boot_id, IMAGE_BOOT_ID);
                free(rec->detail);
                rec->detail = xasprintf("deferred to the image's first boot (%s)", did);
        }
        st->run_state = RUN_REBOOT_PENDING;
        step_record_set(&st->image, STATE_IMAGE_FIRST_BOOT);
        if (engine_checkpoint(e) < 0)
                return OUTCOME_FAILED;
        log_info("image ready (%s): step '%s' and what follows run at the image's first boot, through %s", did,
                 rec->id, GPUBASE_UNIT);
        return OUTCOME_REBOOT_PENDING;
}

static Outcome run_steps(Engine *e, ssize_t rebooted) {
        const Plan *p = e->ctx->plan;
        State *st = e->ctx->state;
        bool image = e->ctx->host->image;

        for (size_t i = 0; i < p->n_steps; i++) {
                StepState s = st->steps[i].state;
                if (s == STEP_DONE || s == STEP_SKIPPED)
                        continue;
                if (image && i >= e->first_boot)
                        return defer_to_first_boot(e, i);
                if (image && image_step_deferred(&p->steps[i])) {
                        progress_note(&e->progress, "[%zu/%zu] %-24s %-9s at the image's first boot", i + 1, p->n_steps,
                                      p->steps[i].id, p->steps[i].kind->name);
                        continue;
                }
                Outcome o = (ssize_t) i == rebooted ? engine_after_reboot(e, i) : run_step(e, i);
                if (o == OUTCOME_DRY_REBOOT) {
                        for (size_t j = i + 1; j < p->n_steps; j++)
                                progress_note(&e->progress, "[%zu/%zu] %-*s %-*s after the reboot", j + 1, p->n_steps,
                                              e->progress.id_w, p->steps[j].id, e->progress.kind_w,
                                              p->steps[j].kind->name);
                        return o;
                }
                if (o != OUTCOME_NEXT)
                        return o;
                if (interrupt_received())
                        return interrupt_run(e, i + 1);
        }
        return OUTCOME_NEXT;
}

static int run_watched(Ctx *ctx, const char *state_path) {
        _cleanup_strv_free_ char **secrets = ctx->plan ? plan_secret_values(ctx->plan) : NULL;
        Engine e = {.ctx = ctx, .state_path = state_path, .secrets = secrets};
        ssize_t rebooted = -1;
        Outcome o;

        progress_init(&e.progress, ctx);
        _cleanup_free_ char *why = NULL;
        if (ctx->host->image && image_first_boot_step(ctx->plan, &e.first_boot, &why) < 0) {
                log_error("%s", why);
                return EXIT_INVALID_PLAN;
        }
        e.progress.journal = false; /* engine/events.c writes the journal entries, with their MESSAGE_IDs */
        events_init(&e.events, ctx);
        o = engine_find_reboot(&e, &rebooted);
        if (o != OUTCOME_NEXT)
                return outcome_to_exit(o);

        if (!ctx->dry_run) {
                /* an image's first boot (or a run on a tree that is no longer built as an image) */
                step_record_set(&ctx->state->image, ctx->host->image ? STATE_IMAGE_BUILD : NULL);
                /* written with the first change, or at the end: until then the last run's state stands */
                ctx->state->run_state = RUN_RUNNING;
                step_record_set(&ctx->state->error, NULL);
                checkpoint_later(&e);
        }

        events_run_started(&e.events, rebooted);
        o = run_steps(&e, rebooted);
        if (o == OUTCOME_NEXT && !ctx->dry_run)
                o = finish_run(&e);
        int code = outcome_to_exit(o);
        events_run_ended(&e.events, code);
        return code;
}

int engine_run(Ctx *ctx, const char *state_path) {
        int r = interrupt_watch(&ctx->stop_fd);
        if (r < 0) {
                log_error("cannot watch for SIGTERM and SIGINT: %s", strerror(-r));
                return EXIT_FAILED;
        }
        r = run_watched(ctx, state_path);
        interrupt_unwatch(ctx->stop_fd);
        ctx->stop_fd = 0;
        if (r == EXIT_REBOOT_PENDING && ctx->reboot_mode == REBOOT_NOW && !ctx->dry_run && !host_is_rooted(ctx->host))
                interrupt_ignore();
        return r;
}
