/* gpubase wait [--timeout S]: block until the run is done (0) or failed (1), like
 * `cloud-init status --wait`. A reboot pending in this very boot cannot finish by waiting: 3. */
#include <string.h>

#include "base/log.h"
#include "cmd/cmd.h"

static bool reboot_pending_here(Args *a, const State *st) {
        _cleanup_free_ char *boot = NULL;
        if (st->run_state != RUN_REBOOT_PENDING || !st->boot_id)
                return false;
        if (host_boot_id(&a->host, &boot) < 0)
                return false;
        return streq(boot, st->boot_id);
}

int cmd_wait(Args *a, int argc _unused_, char **argv _unused_) {
        uint64_t deadline = a->timeout ? mono_usec() + (uint64_t) a->timeout * 1000000ULL : 0;
        bool said = false;

        for (;;) {
                _cleanup_(state_freep) State *st = NULL;
                int r = load_state_or_complain(a, &st);
                if (r != EXIT_OK)
                        return r;
                if (!st && host_lock_holder(&a->host) == 0) {
                        log_error("no run has been started; nothing to wait for");
                        return EXIT_FAILED;
                }
                if (st && st->run_state == RUN_DONE) {
                        printf("run %.8s of plan '%s': done\n", st->run_id, st->plan_name ? st->plan_name : "?");
                        return EXIT_OK;
                }
                if (st && st->run_state == RUN_FAILED && host_lock_holder(&a->host) == 0) {
                        log_error("run %.8s failed: %s", st->run_id, st->error ? st->error : "see `gpubase status`");
                        return EXIT_FAILED;
                }
                if (st && reboot_pending_here(a, st) && host_lock_holder(&a->host) == 0) {
                        log_error("run %.8s is waiting for a reboot; reboot the machine, then `gpubase resume`",
                                  st->run_id);
                        return EXIT_REBOOT_PENDING;
                }
                if (deadline && mono_usec() >= deadline) {
                        log_error("timed out after %us; the run is %s", a->timeout,
                                  st ? run_state_to_string(st->run_state) : "not started");
                        return EXIT_FAILED;
                }
                if (!said && a->verbose > 0) {
                        log_info("waiting for the run to finish...");
                        said = true;
                }
                usleep(100 * 1000);
        }
}
