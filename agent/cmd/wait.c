/* gpubase wait [--timeout S]: block until the run is done (0) or failed (1), like
 * `cloud-init status --wait`. A run that cannot finish by waiting returns at once: its agent died
 * or it was interrupted (1), a reboot is pending in this very boot, or a reboot happened and nothing
 * goes on with the run, or an image waits for its first boot (3), or it is busy and gpubase.service
 * will not start it again (75). A busy run that gpubase.service retries is waited for. */
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

/* Can the run end without anyone doing anything? EXIT_OK with *ret_done false: keep waiting. */
static int look(Args *a, const State *st, bool *ret_done) {
        _cleanup_free_ char *msg = NULL;
        bool holder = host_lock_holder(&a->host) != 0;
        *ret_done = true;
        if (!st && !holder) {
                log_error("no run has been started; nothing to wait for");
                return EXIT_FAILED;
        }
        /* a new run writes its state first with its first change (or at its end): until then the
         * file still says the last run is done, and the lock says that one is going */
        if (st && st->run_state == RUN_DONE && !holder) {
                printf("run %.8s of plan '%s': done\n", st->run_id, st->plan_name ? st->plan_name : "?");
                return EXIT_OK;
        }
        if (st && (st->run_state == RUN_FAILED || st->run_state == RUN_INTERRUPTED) && !holder) {
                log_error("run %.8s %s: %s; run `gpubase resume` once the cause is dealt with", st->run_id,
                          st->run_state == RUN_FAILED ? "failed" : "was interrupted",
                          st->error ? st->error : "see `gpubase status`");
                return EXIT_FAILED;
        }
        if (busy_unattended(a, st, &msg)) {
                log_error("%s", msg);
                return EXIT_BUSY;
        }
        if (agent_died(a, st, &msg)) {
                log_error("%s", msg);
                return EXIT_FAILED;
        }
        if (st && reboot_pending_here(a, st) && !holder) {
                log_error("run %.8s is waiting for a reboot; reboot the machine, then `gpubase resume`", st->run_id);
                return EXIT_REBOOT_PENDING;
        }
        if (st && state_first_boot_pending(st) && host_is_rooted(&a->host)) {
                /* the image's own first boot goes on with it, not anything on the build host */
                log_error("run %.8s: first boot pending; the image's first boot finishes the run", st->run_id);
                return EXIT_REBOOT_PENDING;
        }
        if (reboot_unattended(a, st, &msg)) {
                log_error("%s", msg);
                return EXIT_REBOOT_PENDING;
        }
        *ret_done = false;
        return EXIT_OK;
}

int cmd_wait(Args *a, int argc _unused_, char **argv _unused_) {
        uint64_t deadline = a->timeout ? mono_usec() + (uint64_t) a->timeout * 1000000ULL : 0;
        bool said = false, done;

        for (;;) {
                _cleanup_(state_freep) State *st = NULL;
                int r = load_state_or_complain(a, &st);
                if (r != EXIT_OK)
                        return r;
                r = look(a, st, &done);
                if (done)
                        return r;
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
