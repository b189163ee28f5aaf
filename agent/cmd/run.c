/* gpubase run PLAN: start a run, or continue the unfinished one. With --bundle FILE the keyrings,
 * keys and packages come from an offline bundle (host/bundle.h), extracted and checked first. What
 * run and resume share is in cmd/run_common.c. */
#include <string.h>

#include "base/log.h"
#include "host/bundle.h"
#include "cmd/cmd.h"

static bool run_unfinished(const State *st) {
        return st->run_state == RUN_RUNNING || st->run_state == RUN_REBOOT_PENDING || st->run_state == RUN_FAILED ||
               st->run_state == RUN_INTERRUPTED || st->run_state == RUN_BUSY || st->run_state == RUN_IDLE;
}

static int bundle_plan_mismatch(const BundleManifest *m, const Plan *p) {
        _cleanup_free_ char *vars = m->vars && m->vars[0] ? strv_join(m->vars, " --var ") : NULL;
        log_error("the bundle was made for plan '%s' (sha256 %.12s…%s%s), not for %s (sha256 %.12s…); give the same "
                  "plan and --var values, run the bundle's own plan (`gpubase run --bundle FILE`), or make a new "
                  "bundle",
                  m->plan_name, m->plan_sha256, vars ? " with --var " : "", vars ? vars : "", p->path, p->sha256);
        return EXIT_INVALID_PLAN;
}

/* The last run is unfinished: continue it (onto a changed plan only with --replan). Otherwise a new
 * run, which re-probes every step (drift repair). An exit code; the user has been told why. */
static int continue_or_start(Args *a, const Plan *p, State **st) {
        int r;
        if (*st && run_unfinished(*st)) {
                State *s = *st;
                if (!streq(s->plan_path, p->path) && !a->replan) {
                        log_error("run %.8s of plan %s is not finished (%s); finish it with `gpubase resume`, forget it "
                                  "with `gpubase reset`, or pass --replan to continue it with %s",
                                  s->run_id, s->plan_path, run_state_to_string(s->run_state), p->path);
                        return EXIT_INVALID_PLAN;
                }
                r = reconcile_plan(a, s, p);
                if (r != EXIT_OK)
                        return r;
                r = reattach_bundle(a, s);
                if (r != EXIT_OK)
                        return r;
                log_info("continuing run %.8s (%s)", s->run_id, run_state_to_string(s->run_state));
                return EXIT_OK;
        }
        *st = state_free(*st);
        r = state_new(p, st);
        if (r < 0) {
                log_error("cannot create a run id: %s", strerror(-r));
                return EXIT_FAILED;
        }
        return EXIT_OK;
}

int cmd_run(Args *a, int argc, char **argv) {
        _cleanup_(plan_freep) Plan *p = NULL;
        _cleanup_(state_freep) State *st = NULL;
        _cleanup_(bundle_manifest_freep) BundleManifest *bm = NULL;
        _cleanup_free_ char *tmp = NULL, *bundle_plan = NULL;
        _cleanup_close_ int lock = -1;
        char *const *vars = a->vars;
        const char *plan = argc > 0 ? argv[0] : NULL;
        int r;

        if (!plan && !a->bundle) {
                log_error("usage: gpubase run PLAN (or gpubase run --bundle FILE [PLAN])");
                return EXIT_USAGE;
        }
        r = json_events_begin(a);
        if (r != EXIT_OK)
                return r;
        if (a->bundle) {
                /* the bundle directory is shared state: extract it under the lock */
                if (!a->dry_run) {
                        r = take_lock_or_complain(a, &lock);
                        if (r != EXIT_OK)
                                return r;
                }
                r = open_bundle(a, &bm, &tmp);
                if (r != EXIT_OK)
                        goto out;
                if (!plan) {
                        bundle_plan = xasprintf("%s/" BUNDLE_PLAN, a->host.apt_bundle);
                        plan = bundle_plan;
                        if (!vars)
                                vars = bm->vars;
                }
                for (size_t i = 0; vars && vars[i]; i++)
                        if (strstr(vars[i], "=" REDACTED) && streq(strstr(vars[i], "=" REDACTED), "=" REDACTED)) {
                                log_error("the bundle was made with the secret variable '%.*s', whose value it does not "
                                          "keep: give it, and the bundle's other --var, again: gpubase run --bundle "
                                          "FILE --var %.*s=VALUE ...",
                                          (int) strcspn(vars[i], "="), vars[i], (int) strcspn(vars[i], "="), vars[i]);
                                r = EXIT_USAGE;
                                goto out;
                        }
        }
        r = refuse_unsafe_plan(plan);
        if (r != EXIT_OK)
                goto out;
        r = load_plan_or_complain(a, plan, vars, true, &p);
        if (r != EXIT_OK)
                goto out;
        if (bm && !streq(bm->plan_sha256, p->sha256)) {
                r = bundle_plan_mismatch(bm, p);
                goto out;
        }
        if (a->host.image) { /* before the lock: a refused plan leaves the tree as it was */
                r = image_refuse_unfit(a, p);
                if (r != EXIT_OK)
                        goto out;
        }
        r = lock_and_load(a, &lock, &st);
        if (r != EXIT_OK)
                goto out;
        r = image_built_already(a, st);
        if (r >= 0)
                goto out;

        r = continue_or_start(a, p, &st);
        if (r != EXIT_OK)
                goto out;
        if (a->bundle && !a->dry_run) {
                free(st->bundle);
                st->bundle = xstrdup(GPUBASE_BUNDLE_DIR);
        }
        r = run_with(a, p, st);
out:
        if (tmp)
                rm_rf_tree(tmp);
        return r;
}
