/* gpubase watch enable|disable|status|check: the drift watch. gpubase-verify.timer starts
 * gpubase-verify.service, which runs `gpubase watch check`: a read-only verify against the plan of
 * the last run (from the state), with the result written for node_exporter (--textfile, by default
 * VERIFY_TEXTFILE_DEFAULT), a journal entry (GPUBASE_MID_DRIFT_FOUND) naming the failing checks
 * when it finds drift, and, when the plan says `watch: {repair: true}`, `gpubase run` of the same
 * plan under the lock, never rebooting unless the plan says `reboot: true` too. */
#include <string.h>

#include "base/log.h"
#include "host/journal.h"
#include "plan/secret_vars.h"
#include "cmd/cmd.h"

const char cmd_watch_help[] =
        "The drift watch: gpubase-verify.timer (daily, and 15 minutes after boot) runs `gpubase watch check`.\n"
        "  enable    enable and start gpubase-verify.timer (a plan's `watch: {enable: true}` does this when\n"
        "            its run is done)\n"
        "  disable   stop and disable it\n"
        "  status    is it enabled, and which plan does it check\n"
        "  check     verify against the last run's plan, read-only; write the node_exporter textfile\n"
        "            (--textfile PATH, default " VERIFY_TEXTFILE_DEFAULT "); on drift, a\n"
        "            journal entry (MESSAGE_ID " GPUBASE_MID_DRIFT_FOUND ") naming the failing checks, and\n"
        "            with the plan's `watch: {repair: true}` a `gpubase run` of it (under the lock; a reboot\n"
        "            only with `reboot: true`). Exit as verify's (0, 2 warnings, 1 failures); no finished run:\n"
        "            0, nothing to watch.";

static int watch_set(Args *a, bool on) {
        _cleanup_free_ char *err = NULL;
        int r = on ? host_unit_set_enabled(&a->host, GPUBASE_VERIFY_TIMER, true, &err) : 0;
        if (r >= 0)
                r = host_unit_start_stop(&a->host, GPUBASE_VERIFY_TIMER, on, &err);
        if (r >= 0 && !on)
                r = host_unit_set_enabled(&a->host, GPUBASE_VERIFY_TIMER, false, &err);
        if (r < 0) {
                log_error("cannot %s %s: %s", on ? "enable" : "disable", GPUBASE_VERIFY_TIMER, err ? err : strerror(-r));
                return EXIT_FAILED;
        }
        printf("%s %s\n", GPUBASE_VERIFY_TIMER, on ? "enabled and started" : "stopped and disabled");
        return EXIT_OK;
}

static int watch_status(Args *a) {
        _cleanup_(state_freep) State *st = NULL;
        int en = host_unit_is_enabled(&a->host, GPUBASE_VERIFY_TIMER);
        printf("%s: %s\n", GPUBASE_VERIFY_TIMER, en > 0 ? "enabled" : en == 0 ? "disabled" : "unknown");
        if (load_state_or_complain(a, &st) != EXIT_OK)
                return EXIT_FAILED;
        if (!st)
                printf("no run yet: nothing to check\n");
        else
                printf("checks plan %s (run %.8s, %s)\n", st->plan_path, st->run_id, run_state_to_string(st->run_state));
        return EXIT_OK;
}

/* drift: one journal entry (warning for warnings, error for failures) naming each check not ok */
static void tell_drift(Args *a, const State *st, const VerifyReport *v) {
        Buf b = {0};
        for (size_t i = 0; i < v->n; i++)
                if (v->rows[i].res.status == CHECK_FAIL || v->rows[i].res.status == CHECK_WARN)
                        buf_printf(&b, "%s%s %s: %s", b.len ? "; " : "", v->rows[i].name,
                                   check_status_to_string(v->rows[i].res.status),
                                   v->rows[i].res.detail ? v->rows[i].res.detail : "");
        _cleanup_free_ char *list = buf_steal(&b), *err = NULL;
        _cleanup_strv_free_ char **f = NULL;
        strv_push(&f, xasprintf("MESSAGE=drift found against plan '%s': %u failing, %u warning: %s",
                                st->plan_name ? st->plan_name : st->plan_path, v->count[CHECK_FAIL],
                                v->count[CHECK_WARN], list));
        strv_push(&f, xstrdup("MESSAGE_ID=" GPUBASE_MID_DRIFT_FOUND));
        strv_push(&f, xasprintf("PRIORITY=%d", v->count[CHECK_FAIL] ? 3 : 4));
        strv_push(&f, xasprintf("GPUBASE_RUN=%s", st->run_id));
        strv_push(&f, xasprintf("GPUBASE_PLAN=%s", st->plan_name ? st->plan_name : ""));
        strv_push(&f, xasprintf("GPUBASE_DRIFT=%s", list));
        if (host_journal_send(&a->host, f, &err) < 0)
                log_warning("%s", err);
        log_warning("drift found: %s", list);
}

static bool has_secret_vars(const State *st) {
        for (size_t i = 0; st->vars && st->vars[i]; i++)
                if (strstr(st->vars[i], "=" REDACTED))
                        return true;
        return false;
}

static int watch_check(Args *a) {
        _cleanup_(state_freep) State *st = NULL;
        _cleanup_(plan_freep) Plan *p = NULL;
        _cleanup_(verify_report_done) VerifyReport v = {0};
        int r = load_state_or_complain(a, &st);
        if (r != EXIT_OK)
                return r;
        if (!st || st->run_state != RUN_DONE) {
                printf("no finished run to watch (%s); nothing checked\n", st ? run_state_to_string(st->run_state) : "idle");
                return EXIT_OK;
        }
        r = load_plan_or_complain(a, st->plan_path, st->vars, false, &p);
        if (r != EXIT_OK)
                return r;
        verify_collect(a, p, &v);
        _cleanup_free_ char *err = NULL;
        if (verify_textfile_write(a, &v, a->textfile ? a->textfile : VERIFY_TEXTFILE_DEFAULT, &err) < 0)
                log_warning("%s", err);
        r = verify_exit_code(&v);
        printf("%u ok, %u warn, %u fail, %u skip (plan %s)\n", v.count[CHECK_OK], v.count[CHECK_WARN],
               v.count[CHECK_FAIL], v.count[CHECK_SKIP], st->plan_path);
        if (r == EXIT_OK)
                return r;
        tell_drift(a, st, &v);
        if (!p->watch.repair)
                return r;
        if (has_secret_vars(st)) {
                log_error("not repairing: the run had secret variables, whose values gpubase does not keep once a run "
                          "is done; run `gpubase run %s --var ...` by hand",
                          st->plan_path);
                return r;
        }
        /* the same plan and --var values, as a new run (which re-probes every step), under the lock */
        _cleanup_free_ char *plan = xstrdup(st->plan_path);
        strv_free(a->vars);
        a->vars = TAKE_PTR(st->vars);
        a->reboot = p->watch.reboot ? REBOOT_NOW : REBOOT_NEVER;
        log_info("repairing: gpubase run %s --reboot=%s", plan, reboot_mode_to_string(a->reboot));
        return cmd_run(a, 1, &plan);
}

int cmd_watch(Args *a, int argc _unused_, char **argv) {
        if (a->textfile && !streq(argv[0], "check")) {
                log_error("--textfile applies to `gpubase watch check` only");
                return EXIT_USAGE;
        }
        if (streq(argv[0], "enable") || streq(argv[0], "disable"))
                return watch_set(a, streq(argv[0], "enable"));
        if (streq(argv[0], "status"))
                return watch_status(a);
        if (streq(argv[0], "check"))
                return watch_check(a);
        log_error("usage: gpubase watch enable|disable|status|check");
        return EXIT_USAGE;
}
