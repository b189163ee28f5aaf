/* gpubase resume: continue the unfinished run (after a reboot, a fix, a crash or an interruption),
 * with the plan and --var values it was started with. What run and resume share is in
 * cmd/run_common.c. */
#include <string.h>

#include "base/log.h"
#include "host/bundle.h"
#include "plan/secret_vars.h"
#include "cmd/cmd.h"

/* The values of the run's secret variables, which the state keeps as NAME=<redacted>: from
 * `resume --var`, else from the file the run left for resume (plan/secret_vars.h). */
static int restore_secret_vars(Args *a, State *st) {
        _cleanup_free_ char *path = host_path(&a->host, GPUBASE_SECRET_VARS), *err = NULL;
        for (size_t i = 0; a->vars && a->vars[i]; i++) {
                const char *eq = strchr(a->vars[i], '=');
                _cleanup_free_ char *marker = eq ? xasprintf("%.*s=" REDACTED, (int) (eq - a->vars[i]), a->vars[i]) : NULL;
                bool known = false;
                for (size_t k = 0; marker && st->vars && st->vars[k]; k++)
                        known = known || streq(st->vars[k], marker);
                if (!known) {
                        log_error("resume --var %s: resume takes --var only for a secret variable of the run (the "
                                  "others keep the value the run started with)",
                                  a->vars[i]);
                        return EXIT_USAGE;
                }
        }
        if (secret_vars_restore(path, a->vars, st->vars, &err) < 0) {
                log_error("%s", err);
                return EXIT_FAILED;
        }
        return EXIT_OK;
}

int cmd_resume(Args *a, int argc _unused_, char **argv _unused_) {
        _cleanup_(plan_freep) Plan *p = NULL;
        _cleanup_(state_freep) State *st = NULL;
        _cleanup_(bundle_manifest_freep) BundleManifest *bm = NULL;
        _cleanup_free_ char *tmp = NULL, *plan = NULL;
        _cleanup_close_ int lock = -1;
        int r;

        r = json_events_begin(a);
        if (r != EXIT_OK)
                return r;
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
        r = image_built_already(a, st);
        if (r >= 0)
                return r;
        if (a->bundle) {
                r = open_bundle(a, &bm, &tmp);
                if (r == EXIT_OK && !streq(bm->plan_sha256, st->plan_sha256)) {
                        log_error("the bundle was made for plan '%s' (sha256 %.12s…), not for the plan of run %.8s "
                                  "(%s, sha256 %.12s…)",
                                  bm->plan_name, bm->plan_sha256, st->run_id, st->plan_path, st->plan_sha256);
                        r = EXIT_INVALID_PLAN;
                }
                if (r == EXIT_OK && !a->dry_run) {
                        free(st->bundle);
                        st->bundle = xstrdup(GPUBASE_BUNDLE_DIR);
                }
        } else
                r = reattach_bundle(a, st);
        if (r != EXIT_OK)
                goto out;
        /* an image's copy of its plan is a file of the machine it runs on, the root under --root */
        plan = streq(st->plan_path, IMAGE_PLAN) ? host_path(&a->host, IMAGE_PLAN) : xstrdup(st->plan_path);
        r = refuse_unsafe_plan(plan);
        if (r == EXIT_OK)
                r = restore_secret_vars(a, st);
        if (r == EXIT_OK)
                r = load_plan_or_complain(a, plan, st->vars, true, &p);
        if (r != EXIT_OK) {
                log_error("the plan of run %.8s (%s) cannot be used; restore it, or `gpubase reset` and start again",
                          st->run_id, st->plan_path);
                goto out;
        }
        strv_free(st->vars); /* the secret values again as NAME=<redacted> */
        st->vars = secret_vars_masked(p);
        r = reconcile_plan(a, st, p);
        if (r != EXIT_OK)
                goto out;
        r = run_with(a, p, st);
out:
        if (tmp)
                rm_rf_tree(tmp);
        return r;
}
