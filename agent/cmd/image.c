/* run/resume --image: provisioning a tree that becomes an image (host/image.h, engine/image.h).
 * Before the engine: the plan must fit an image and the tree must be able to resume it at its first
 * boot. Around the engine: the tree's mounts and policy-rc.d. After it: the tree left as an image
 * should be (no lock, no mounts, no downloaded lists or archives unless --keep-cache, the plan
 * inside the tree for the first boot, not a path of the build host). */
#include <string.h>
#include <unistd.h>

#include "engine/engine.h"
#include "engine/image.h"
#include "base/log.h"
#include "host/image.h"
#include "cmd/cmd.h"

int image_refuse_unfit(Args *a, const Plan *p) {
        _cleanup_free_ char *why = NULL;
        size_t first_boot;
        if (image_first_boot_step(p, &first_boot, &why) < 0) {
                log_error("%s", why);
                return EXIT_INVALID_PLAN;
        }
        if (first_boot < p->n_steps && !image_unit_installed(&a->host, GPUBASE_UNIT)) {
                log_error("%s has no %s, so nothing would go on with the run at the image's first boot (step '%s' "
                          "and after): install gpubase into the tree first (e.g. `chroot %s apt-get install "
                          "./gpubase_*.deb`, or mmdebstrap --include), then run again",
                          a->host.root, GPUBASE_UNIT, p->steps[first_boot].id, a->host.root);
                return EXIT_INVALID_PLAN;
        }
        return EXIT_OK;
}

/* The plan goes into the tree, and the state names that copy: the image's first boot reads it. */
static int plan_into_tree(Args *a, State *st, const char *state_path) {
        _cleanup_free_ char *text = NULL, *dest = host_path(&a->host, IMAGE_PLAN);
        size_t len;
        if (streq(st->plan_path, IMAGE_PLAN))
                return EXIT_OK;
        int r = read_file(st->plan_path, PLAN_MAX_SIZE, &text, &len);
        if (r >= 0)
                r = write_file_atomic(dest, text, len, 0600);
        if (r >= 0) {
                step_record_set(&st->plan_path, IMAGE_PLAN);
                r = state_save(state_path, st);
        }
        if (r < 0) {
                log_error("cannot put the plan into the image as %s: %s; run `gpubase --root %s --image resume` "
                          "again",
                          dest, strerror(-r), a->host.root);
                return EXIT_FAILED;
        }
        return EXIT_OK;
}

/* What the tree must not keep: our lock, the downloads (unless --keep-cache). */
static int tidy_tree(Args *a) {
        _cleanup_free_ char *lock = host_path(&a->host, GPUBASE_LOCK_FILE), *err = NULL;
        (void) unlink(lock);
        if (a->keep_cache)
                return EXIT_OK;
        int r = image_cache_clean(&a->host, &err);
        if (r < 0) {
                log_error("cannot remove the apt lists and archives the run downloaded: %s", err);
                return EXIT_FAILED;
        }
        return EXIT_OK;
}

static int first_boot_pending(Args *a, State *st, const char *state_path) {
        int r = plan_into_tree(a, st, state_path);
        if (r == EXIT_OK)
                r = tidy_tree(a);
        if (r != EXIT_OK)
                return r;
        size_t i = 0;
        while (i < st->n_steps && (st->steps[i].state == STEP_DONE || st->steps[i].state == STEP_SKIPPED))
                i++;
        printf("run %.8s of plan '%s': first boot pending. %s is enabled in %s: the image's first boot goes on with "
               "the run from step '%s'\n",
               st->run_id, st->plan_name ? st->plan_name : "?", GPUBASE_UNIT, a->host.root,
               i < st->n_steps ? st->steps[i].id : "?");
        return EXIT_REBOOT_PENDING;
}

int image_built_already(Args *a, State *st) {
        _cleanup_free_ char *err = NULL, *path = state_file_path(a);
        if (!a->host.image || !st || !state_first_boot_pending(st))
                return -1;
        /* an earlier run got this far; only what a killed one may have left undone */
        if (image_leave(&a->host, &err) < 0) {
                log_error("%s", err);
                return EXIT_FAILED;
        }
        return first_boot_pending(a, st, path);
}

int image_run_engine(Args *a, Ctx *ctx, const char *state_path) {
        _cleanup_free_ char *err = NULL;
        int r;

        r = image_enter(&a->host, &err);
        if (r >= 0)
                r = image_cache_snapshot(&a->host);
        if (r < 0) {
                log_error("cannot prepare %s for the run: %s", a->host.root, err ? err : strerror(-r));
                _cleanup_free_ char *e2 = NULL;
                (void) image_leave(&a->host, &e2);
                return EXIT_FAILED;
        }
        int ex = engine_run(ctx, state_path);
        r = image_leave(&a->host, &err);
        if (r < 0) {
                log_error("%s", err);
                return EXIT_FAILED;
        }
        if (ex == EXIT_REBOOT_PENDING && state_first_boot_pending(ctx->state))
                return first_boot_pending(a, ctx->state, state_path);
        if (ex == EXIT_OK) {
                r = plan_into_tree(a, ctx->state, state_path);
                if (r == EXIT_OK)
                        r = tidy_tree(a);
                if (r != EXIT_OK)
                        return r;
        }
        return ex;
}
