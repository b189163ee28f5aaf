/* gpubase run PLAN / gpubase resume: start or continue a run. With --bundle FILE the keyrings, keys
 * and packages come from an offline bundle (host/bundle.h), extracted and checked first. */
#include <string.h>

#include "engine/engine.h"
#include "base/log.h"
#include "host/bundle.h"
#include "host/tarball.h"
#include "cmd/cmd.h"

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
        if (a->host.apt_bundle)
                printf("packages from the offline bundle in %s: no network is used for keyrings, keys or packages\n",
                       a->host.apt_bundle);
        int r = engine_run(&ctx, path);
        if (!a->dry_run && r == EXIT_OK) {
                printf("run %.8s of plan '%s': done\n", st->run_id, p->name);
                /* the packages are installed: only the bundle's manifest and plan stay */
                if (a->host.apt_bundle)
                        bundle_prune(a->host.apt_bundle);
        }
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

/* The lock (unless --dry-run, which writes nothing, or it is held already), then the state (NULL
 * when there is none). */
static int lock_and_load(Args *a, int *lock, State **st) {
        int r = refuse_unsafe_state_dir(a);
        if (r != EXIT_OK)
                return r;
        if (!a->dry_run && *lock < 0) {
                r = take_lock_or_complain(a, lock);
                if (r != EXIT_OK)
                        return r;
        }
        return load_state_or_complain(a, st);
}

/* --bundle FILE: checked against its manifest and extracted to /var/lib/gpubase/bundle (a dry run:
 * to a temporary directory, *ret_tmp, removed by the caller). apt then uses only its packages. */
static int open_bundle(Args *a, BundleManifest **ret, char **ret_tmp) {
        _cleanup_free_ char *dest = NULL, *err = NULL;
        if (a->dry_run) {
                char tmpl[] = "/tmp/gpubase-bundle-run.XXXXXX";
                if (!mkdtemp(tmpl)) {
                        log_error("cannot create a temporary directory: %s", strerror(errno));
                        return EXIT_FAILED;
                }
                *ret_tmp = xstrdup(tmpl);
                dest = xasprintf("%s/bundle", tmpl);
        } else {
                /* a link in the bundle's place is replaced, not followed */
                int r = host_mkdir_state_dir(&a->host);
                if (r >= 0)
                        r = host_resolve(&a->host, GPUBASE_BUNDLE_DIR, CONFINE_NOFOLLOW, &dest);
                if (r < 0) {
                        log_error("cannot prepare %s for the bundle: %s", GPUBASE_BUNDLE_DIR, strerror(-r));
                        return EXIT_FAILED;
                }
        }
        int r = bundle_open(a->bundle, dest, ret, &err);
        if (r < 0) {
                log_error("%s", err ? err : strerror(-r));
                return EXIT_FAILED;
        }
        free(a->host.apt_bundle);
        a->host.apt_bundle = TAKE_PTR(dest);
        return EXIT_OK;
}

/* A run started with --bundle keeps using its extracted bundle (checked again) when it goes on. */
static int reattach_bundle(Args *a, const State *st) {
        if (a->bundle || !st->bundle || a->dry_run)
                return EXIT_OK;
        _cleanup_(bundle_manifest_freep) BundleManifest *m = NULL;
        _cleanup_free_ char *dir = host_path(&a->host, st->bundle), *err = NULL;
        int r = bundle_verify_dir(dir, &m, &err);
        if (r < 0) {
                log_error("run %.8s takes its packages from an offline bundle: %s", st->run_id, err);
                return EXIT_FAILED;
        }
        if (!streq(m->plan_sha256, st->plan_sha256)) {
                log_error("the offline bundle in %s was made for another plan than run %.8s's; run again with "
                          "--bundle FILE",
                          dir, st->run_id);
                return EXIT_FAILED;
        }
        a->host.apt_bundle = TAKE_PTR(dir);
        return EXIT_OK;
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
        r = lock_and_load(a, &lock, &st);
        if (r != EXIT_OK)
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

int cmd_resume(Args *a, int argc _unused_, char **argv _unused_) {
        _cleanup_(plan_freep) Plan *p = NULL;
        _cleanup_(state_freep) State *st = NULL;
        _cleanup_(bundle_manifest_freep) BundleManifest *bm = NULL;
        _cleanup_free_ char *tmp = NULL;
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
        r = refuse_unsafe_plan(st->plan_path);
        if (r == EXIT_OK)
                r = load_plan_or_complain(a, st->plan_path, st->vars, true, &p);
        if (r != EXIT_OK) {
                log_error("the plan of run %.8s (%s) cannot be used; restore it, or `gpubase reset` and start again",
                          st->run_id, st->plan_path);
                goto out;
        }
        r = reconcile_plan(a, st, p);
        if (r != EXIT_OK)
                goto out;
        r = run_with(a, p, st);
out:
        if (tmp)
                rm_rf_tree(tmp);
        return r;
}
