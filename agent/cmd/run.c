/* gpubase run PLAN / gpubase resume: start or continue a run. */
#include <string.h>

#include "../core/engine.h"
#include "../core/report.h"
#include "cmd.h"

static bool run_unfinished(const State *st) {
        return st->run_state == RUN_RUNNING || st->run_state == RUN_REBOOT_PENDING || st->run_state == RUN_FAILED ||
               st->run_state == RUN_IDLE;
}

/* The plan of an unfinished run changed: refuse, or with --replan carry on with the new one. */
static int reconcile_plan(Args *a, State *st, const Plan *p) {
        _cleanup_free_ char *why = NULL;
        if (streq(st->plan_sha256, p->sha256)) {
                if (!engine_state_matches_plan(st, p, &why)) {
                        _cleanup_free_ char *path = state_file_path(a);
                        log_error("the state file %s does not match its plan %s although the plan is unchanged (%s); "
                                  "it was left as it is: run `gpubase reset` to forget the run",
                                  path, p->path, why);
                        return EXIT_FAILED;
                }
                return EXIT_OK;
        }
        if (!a->replan) {
                log_error("plan %s changed since run %.8s started (sha256 %.12s… is now %.12s…); refusing to continue "
                          "with a different plan. Restore the plan, pass --replan to continue with the new one "
                          "(unchanged finished steps keep their result), or `gpubase reset`.",
                          p->path, st->run_id, st->plan_sha256, p->sha256);
                return EXIT_INVALID_PLAN;
        }
        state_replan(st, p);
        log_info("replanned run %.8s onto %s (%.12s…)", st->run_id, p->path, p->sha256);
        return EXIT_OK;
}

static int run_with(Args *a, Plan *p, State *st) {
        _cleanup_free_ char *path = state_file_path(a);
        Ctx ctx = {
                .host = &a->host,
                .plan = p,
                .state = st,
                .reboot_mode = a->reboot,
                .dry_run = a->dry_run,
                .replan = a->replan,
                .verbose = a->verbose,
        };
        if (a->dry_run)
                printf("dry run of plan '%s' (%s): nothing is changed, no state is written\n", p->name, p->path);
        int r = engine_run(&ctx, path);
        if (!a->dry_run && r == EXIT_OK)
                printf("run %.8s of plan '%s': done\n", st->run_id, p->name);
        return r;
}

/* Like sshd's StrictModes: a plan, or a state directory, that others can write is refused before
 * it is read (a planted state names the plan that `resume` runs). */
static int refuse_unsafe_plan(const char *plan) {
        _cleanup_free_ char *why = NULL;
        if (path_check_private(plan, &why) == -EPERM) {
                log_error("refusing the plan %s: %s", plan, why);
                return EXIT_INVALID_PLAN;
        }
        return EXIT_OK;
}

static int refuse_unsafe_state_dir(Args *a) {
        _cleanup_free_ char *dir = host_path(&a->host, GPUBASE_STATE_DIR);
        _cleanup_free_ char *why = NULL;
        if (path_check_private(dir, &why) == -EPERM) {
                log_error("refusing the state directory %s: %s", dir, why);
                return EXIT_FAILED;
        }
        return EXIT_OK;
}

/* The lock (unless --dry-run, which writes nothing), then the state (NULL when there is none). */
static int lock_and_load(Args *a, int *lock, State **st) {
        int r = refuse_unsafe_state_dir(a);
        if (r != EXIT_OK)
                return r;
        if (!a->dry_run) {
                r = take_lock_or_complain(a, lock);
                if (r != EXIT_OK)
                        return r;
        }
        return load_state_or_complain(a, st);
}

int cmd_run(Args *a, int argc _unused_, char **argv) {
        _cleanup_(plan_freep) Plan *p = NULL;
        _cleanup_(state_freep) State *st = NULL;
        _cleanup_close_ int lock = -1;
        int r;

        r = refuse_unsafe_plan(argv[0]);
        if (r != EXIT_OK)
                return r;
        r = load_plan_or_complain(a, argv[0], a->vars, true, &p);
        if (r != EXIT_OK)
                return r;
        r = lock_and_load(a, &lock, &st);
        if (r != EXIT_OK)
                return r;

        if (st && run_unfinished(st)) {
                if (!streq(st->plan_path, p->path) && !a->replan) {
                        log_error("run %.8s of plan %s is not finished (%s); finish it with `gpubase resume`, forget it "
                                  "with `gpubase reset`, or pass --replan to continue it with %s",
                                  st->run_id, st->plan_path, run_state_to_string(st->run_state), p->path);
                        return EXIT_INVALID_PLAN;
                }
                r = reconcile_plan(a, st, p);
                if (r != EXIT_OK)
                        return r;
                log_info("continuing run %.8s (%s)", st->run_id, run_state_to_string(st->run_state));
        } else {
                /* no run, or the last one is done: a new run re-probes every step (drift repair) */
                state_free(st);
                st = NULL;
                r = state_new(p, &st);
                if (r < 0) {
                        log_error("cannot create a run id: %s", strerror(-r));
                        return EXIT_FAILED;
                }
        }
        return run_with(a, p, st);
}

int cmd_resume(Args *a, int argc _unused_, char **argv _unused_) {
        _cleanup_(plan_freep) Plan *p = NULL;
        _cleanup_(state_freep) State *st = NULL;
        _cleanup_close_ int lock = -1;
        int r;

        r = lock_and_load(a, &lock, &st);
        if (r != EXIT_OK)
                return r;
        if (!st) {
                _cleanup_free_ char *path = state_file_path(a);
                log_error("no run to resume (no %s); start one with `gpubase run PLAN`", path);
                return EXIT_FAILED;
        }
        if (st->run_state == RUN_DONE) {
                printf("run %.8s of plan '%s' is done; nothing to resume\n", st->run_id,
                       st->plan_name ? st->plan_name : st->plan_path);
                return EXIT_OK;
        }
        r = refuse_unsafe_plan(st->plan_path);
        if (r == EXIT_OK)
                r = load_plan_or_complain(a, st->plan_path, st->vars, true, &p);
        if (r != EXIT_OK) {
                log_error("the plan of run %.8s (%s) cannot be used; restore it, or `gpubase reset` and start again",
                          st->run_id, st->plan_path);
                return r;
        }
        r = reconcile_plan(a, st, p);
        if (r != EXIT_OK)
                return r;
        return run_with(a, p, st);
}
