#include <string.h>
#include <unistd.h>

#include "checks/preflight.h"
#include "base/log.h"
#include "cmd/cmd.h"
#include "engine/events.h"

/* " (are you root? ...)" after a permission error of gpubase's own files when not running as root. */
static const char *root_hint(int r) {
        if ((r == -EACCES || r == -EPERM) && geteuid() != 0)
                return " (are you root? gpubase keeps its lock and state where only root may write: run it with sudo)";
        return "";
}

char *state_file_path(Args *a) {
        return host_path(&a->host, GPUBASE_STATE_FILE);
}

int load_plan_or_complain(Args *a, const char *path, char *const *vars, bool check_match, Plan **ret) {
        SrcError err = {0};
        _cleanup_(plan_freep) Plan *p = NULL;
        int r = plan_load_with_vars(path, &a->host, vars, &p, &err);
        if (r < 0) {
                _cleanup_free_ char *m = src_error_format(&err);
                fprintf(stderr, "%s\n", m);
                src_error_done(&err);
                return EXIT_INVALID_PLAN;
        }
        if (check_match) {
                _cleanup_free_ char *why = NULL;
                if (plan_matches_host(p, &a->host, &why) == 0) {
                        fprintf(stderr, "%s: plan refused: %s\n", path, why);
                        return EXIT_INVALID_PLAN;
                }
                /* what can be known bad before anything runs is refused before anything runs */
                _cleanup_strv_free_ char **refusals = plan_refusals(p, &a->host);
                for (size_t i = 0; refusals && refusals[i]; i++)
                        fprintf(stderr, "%s: plan refused: %s\n", path, refusals[i]);
                if (refusals)
                        return EXIT_INVALID_PLAN;
        }
        *ret = TAKE_PTR(p);
        return EXIT_OK;
}

int take_lock_or_complain(Args *a, int *ret_fd) {
        pid_t holder = 0;
        int r = host_lock(&a->host, ret_fd, &holder);
        if (r == -EBUSY) {
                _cleanup_free_ char *p = host_path(&a->host, GPUBASE_LOCK_FILE);
                if (holder > 0)
                        log_error("another gpubase is running (pid %d holds %s); wait for it with `gpubase wait`",
                                  (int) holder, p);
                else
                        log_error("another gpubase is running (it holds %s); wait for it with `gpubase wait`", p);
                return EXIT_BUSY;
        }
        if (r < 0) {
                _cleanup_free_ char *p = host_path(&a->host, GPUBASE_LOCK_FILE);
                log_error("cannot take the lock %s: %s%s", p, strerror(-r), root_hint(r));
                return EXIT_FAILED;
        }
        /* a checkpoint write cut off by a crash leaves its temp file behind */
        _cleanup_free_ char *state = state_file_path(a), *status = NULL;
        remove_stale_temp_files(state);
        if (host_resolve(&a->host, GPUBASE_PUBLIC_STATUS, CONFINE_NOFOLLOW, &status) >= 0)
                remove_stale_temp_files(status); /* and so does one of the status copy under /run */
        return EXIT_OK;
}

int load_state_or_complain(Args *a, State **ret) {
        _cleanup_free_ char *resolved = NULL;
        int r = host_resolve(&a->host, GPUBASE_STATE_FILE, 0, &resolved);
        if (r == -EACCES) { /* under --root: the state directory (0700) cannot be entered */
                log_error("cannot read the state file %s%s: %s%s", a->host.root, GPUBASE_STATE_FILE, strerror(-r),
                          root_hint(r));
                return EXIT_FAILED;
        }
        _cleanup_free_ char *path = state_file_path(a);
        _cleanup_free_ char *why = NULL;
        r = state_load(path, ret, &why);
        if (r == -ENOENT) {
                *ret = NULL;
                return EXIT_OK;
        }
        if (r == -EPERM) {
                log_error("refusing the state file %s: %s", path, why);
                return EXIT_FAILED;
        }
        if (r == -EBADMSG) {
                log_error("the state file %s is corrupt (%s). It was left exactly as it is. Look at it, then move it "
                          "away or run `gpubase reset` to forget the run; steps already done are found by their "
                          "probes on the next run.",
                          path, why);
                return EXIT_FAILED;
        }
        if (r < 0) {
                log_error("cannot read the state file %s: %s%s", path, why ? why : strerror(-r), root_hint(r));
                return EXIT_FAILED;
        }
        return EXIT_OK;
}

/* The pid the last agent wrote into the lock file, 0 if none can be read. */
static pid_t recorded_agent_pid(Args *a) {
        _cleanup_free_ char *p = host_path(&a->host, GPUBASE_LOCK_FILE);
        _cleanup_free_ char *line = NULL;
        unsigned pid = 0;
        if (read_line_file(p, &line) < 0 || parse_uint(line, &pid) < 0)
                return 0;
        return (pid_t) pid;
}

bool agent_died(Args *a, const State *st, char **ret_msg) {
        if (!st || st->run_state != RUN_RUNNING || host_lock_holder(&a->host) != 0)
                return false;
        const char *step = NULL;
        for (size_t i = 0; i < st->n_steps && !step; i++)
                if (st->steps[i].state == STEP_RUNNING)
                        step = st->steps[i].id;
        pid_t pid = recorded_agent_pid(a);
        _cleanup_free_ char *who = pid > 0 ? xasprintf("the agent (pid %d)", (int) pid) : xstrdup("the agent");
        _cleanup_free_ char *where = step ? xasprintf("during step '%s'", step) : xstrdup("between two steps");
        *ret_msg = xasprintf("%s died %s of run %.8s (the state says running, but no gpubase holds the lock); run "
                             "`gpubase resume`",
                             who, where, st->run_id);
        return true;
}

bool reboot_unattended(Args *a, const State *st, char **ret_msg) {
        _cleanup_free_ char *boot = NULL;
        if (!st || st->run_state != RUN_REBOOT_PENDING || !st->boot_id || host_lock_holder(&a->host) != 0)
                return false;
        if (host_boot_id(&a->host, &boot) < 0 || streq(boot, st->boot_id))
                return false; /* the same boot: the reboot has not happened yet */
        if (host_unit_is_enabled(&a->host, GPUBASE_UNIT) > 0)
                return false; /* gpubase.service goes on with the run (when systemd cannot be asked, it
                               * cannot start the unit either) */
        *ret_msg = xasprintf("run %.8s waits for a reboot that has happened (the boot id changed), but nothing goes on "
                             "with it: no gpubase is running and %s is not enabled; run `gpubase resume`",
                             st->run_id, GPUBASE_UNIT);
        return true;
}

bool busy_unattended(Args *a, const State *st, char **ret_msg) {
        if (!st || st->run_state != RUN_BUSY || host_lock_holder(&a->host) != 0)
                return false;
        /* gpubase.service's exit 75: Restart= starts it again, and the unit stays "activating"
         * (SubState auto-restart) until then; systemd that cannot be asked cannot restart it either */
        if (host_unit_activating(&a->host, GPUBASE_UNIT) > 0)
                return false;
        *ret_msg = xasprintf("run %.8s is busy (%s) and nothing starts it again (no gpubase is running and %s is not "
                             "starting); run `gpubase resume` once the lock is free",
                             st->run_id, st->error ? st->error : "a lock was held past its timeout", GPUBASE_UNIT);
        return true;
}
