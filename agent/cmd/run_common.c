/* What `run` and `resume` share (cmd/run.c, cmd/resume.c): loading, checking and reattaching what
 * a run needs, then handing it to the engine. Each returns an exit code and has told the user why. */
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "engine/engine.h"
#include "base/log.h"
#include "host/bundle.h"
#include "plan/secret_vars.h"
#include "cmd/cmd.h"

/* The plan of an unfinished run changed: refuse, or with --replan carry on with the new one. */
int reconcile_plan(Args *a, State *st, const Plan *p) {
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

int run_with(Args *a, Plan *p, State *st) {
        _cleanup_free_ char *path = state_file_path(a);
        Ctx ctx = {
                .host = &a->host,
                .plan = p,
                .state = st,
                .reboot_mode = a->reboot,
                .dry_run = a->dry_run,
                .replan = a->replan,
                .verbose = a->verbose,
                .events_fd = a->events_fd,
                .quiet = a->quiet,
        };
        if (a->host.image) {
                int r = image_refuse_unfit(a, p);
                if (r != EXIT_OK)
                        return r;
        }
        if (a->dry_run && !a->quiet)
                printf("dry run of plan '%s' (%s): nothing is changed, no state is written\n", p->name, p->path);
        if (a->host.apt_bundle)
                printf("packages from the offline bundle in %s: no network is used for keyrings, keys or packages\n",
                       a->host.apt_bundle);
        _cleanup_free_ char *secrets = host_path(&a->host, GPUBASE_SECRET_VARS), *err = NULL;
        if (!a->dry_run && secret_vars_save(secrets, p, &err) < 0) {
                log_error("%s", err);
                return EXIT_FAILED;
        }
        int r = a->host.image ? image_run_engine(a, &ctx, path) : engine_run(&ctx, path);
        if (!a->dry_run && r == EXIT_OK)
                (void) unlink(secrets); /* the run is done: nothing will resume it */
        if (!a->dry_run && r == EXIT_OK) {
                printf("run %.8s of plan '%s': done\n", st->run_id, p->name);
                /* the packages are installed: only the bundle's manifest and plan stay */
                if (a->host.apt_bundle)
                        bundle_prune(a->host.apt_bundle);
        }
        return r;
}

int json_events_begin(Args *a) {
        if (!a->json)
                return EXIT_OK;
        /* the events keep stdout; what is printed for people (and the programs' output) goes to stderr */
        int fd = fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3);
        if (fd < 0 || dup2(STDERR_FILENO, STDOUT_FILENO) < 0) {
                log_error("--json: cannot set up the event stream: %s", strerror(errno));
                return EXIT_FAILED;
        }
        a->events_fd = fd;
        return EXIT_OK;
}

/* Like sshd's StrictModes: a plan, or a state directory, that others can write is refused before
 * it is read (a planted state names the plan that `resume` runs). */
int refuse_unsafe_plan(const char *plan) {
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
int lock_and_load(Args *a, int *lock, State **st) {
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
int open_bundle(Args *a, BundleManifest **ret, char **ret_tmp) {
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
                /* the bundle is extracted into the state directory, which is private (0700); a link
                 * in the bundle's place is replaced, not followed */
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
int reattach_bundle(Args *a, const State *st) {
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
