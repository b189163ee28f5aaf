/* gpubase reset: forget the run. The machine is not touched; a later run re-probes every step. */
#include <string.h>

#include "base/log.h"
#include "plan/secret_vars.h"
#include "cmd/cmd.h"
#include "engine/events.h"

int cmd_reset(Args *a, int argc _unused_, char **argv _unused_) {
        _cleanup_close_ int lock = -1;
        _cleanup_free_ char *path = state_file_path(a);
        _cleanup_(state_freep) State *st = NULL;
        _cleanup_free_ char *why = NULL;
        int r;

        if (!a->dry_run) { /* --dry-run writes nothing, not even the lock file */
                r = take_lock_or_complain(a, &lock);
                if (r != EXIT_OK)
                        return r;
        }
        r = state_load(path, &st, &why);
        bool unsafe = r == -EPERM; /* not read: others could have written it */
        if (r == -ENOENT) {
                printf("no run to reset\n");
                return EXIT_OK;
        }
        if (a->dry_run) {
                printf("would remove %s\n", path);
                return EXIT_OK;
        }
        /* A run that enabled the unit (corrupt states too, to be safe) must not leave it enabled. */
        if (!st || st->unit_enabled) {
                char *err = NULL;
                r = host_unit_set_enabled(&a->host, GPUBASE_UNIT, false, &err);
                if (r < 0) {
                        _cleanup_free_ char *m = err;
                        log_warning("could not disable %s: %s", GPUBASE_UNIT, m ? m : strerror(-r));
                }
        }
        if (unlink(path) < 0) {
                log_error("cannot remove %s: %m", path);
                return EXIT_FAILED;
        }
        _cleanup_free_ char *secrets = host_path(&a->host, GPUBASE_SECRET_VARS);
        if (unlink(secrets) < 0 && errno != ENOENT)
                log_warning("cannot remove %s (the values of the run's secret variables): %m", secrets);
        _cleanup_free_ char *pub = host_path(&a->host, GPUBASE_PUBLIC_STATUS);
        if (unlink(pub) < 0 && errno != ENOENT)
                log_warning("cannot remove %s (the status readable without root): %m", pub);
        (void) fsync_parent_dir(path);
        if (st)
                printf("forgot run %.8s of plan '%s' (%s)\n", st->run_id, st->plan_name ? st->plan_name : "?",
                       run_state_to_string(st->run_state));
        else if (unsafe)
                printf("removed the state file %s, unread (%s)\n", path, why);
        else
                printf("removed the corrupt state file %s\n", path);
        return EXIT_OK;
}
