/* gpubase status [--json]: where the run stands. Reads the state file only (no apt, no checks). */
#include <json-c/json.h>
#include <string.h>
#include <unistd.h>

#include "base/jsontext.h"
#include "base/log.h"
#include "cmd/cmd.h"
#include "engine/events.h"

static int exit_for(Args *a, const State *st) {
        _cleanup_free_ char *msg = NULL;
        if (!st)
                return EXIT_OK;
        if (agent_died(a, st, &msg))
                return EXIT_FAILED;
        switch (st->run_state) {
        case RUN_FAILED:
        case RUN_INTERRUPTED:
                return EXIT_FAILED;
        case RUN_REBOOT_PENDING:
                return EXIT_REBOOT_PENDING;
        case RUN_BUSY:
                return EXIT_BUSY;
        default:
                return EXIT_OK;
        }
}

static void print_json(Args *a, const State *st) {
        json_object *o;
        if (st) {
                _cleanup_free_ char *text = state_to_json(st, false);
                if (json_parse(text, strlen(text), &o, NULL) < 0) /* our own text: never */
                        o = json_object_new_object();
        } else {
                o = json_object_new_object();
                json_object_object_add(o, "run_state", json_object_new_string("idle"));
                json_object_object_add(o, "run_id", NULL);
                json_object_object_add(o, "plan", NULL);
                json_object_object_add(o, "boot_id", NULL);
                json_object_object_add(o, "reboots", json_object_new_int(0));
                json_object_object_add(o, "steps", json_object_new_array());
        }
        /* the format of this output (packaging/schema/status.schema.json), not the state file's */
        json_object_object_add(o, "format", json_object_new_int(STATUS_JSON_FORMAT));
        pid_t holder = host_lock_holder(&a->host);
        json_object_object_add(o, "agent_pid", holder > 0 ? json_object_new_int(holder) : NULL);
        _cleanup_free_ char *died = NULL, *unattended = NULL;
        json_object_object_add(o, "agent_died", json_object_new_boolean(agent_died(a, st, &died)));
        /* what to do when nothing will go on with the run by itself */
        const char *advice = died                                      ? died
                             : reboot_unattended(a, st, &unattended) ? unattended
                             : busy_unattended(a, st, &unattended)   ? unattended
                                                                     : NULL;
        json_object_object_add(o, "advice", advice ? json_object_new_string(advice) : NULL);
        _cleanup_free_ char *boot = NULL;
        (void) host_boot_id(&a->host, &boot);
        json_object_object_add(o, "current_boot_id", json_str(boot));
        _cleanup_free_ char *out = json_text(o, true);
        printf("%s\n", out);
        json_object_put(o);
}

static void print_human(Args *a, const State *st) {
        if (!st) {
                printf("no run (idle)\n");
                return;
        }
        _cleanup_free_ char *created = format_timestamp(st->created);
        _cleanup_free_ char *updated = format_timestamp(st->updated);
        printf("run %s  plan '%s'  (%s)\n", st->run_id, st->plan_name ? st->plan_name : "?", st->plan_path);
        printf("state: %s   started %s   updated %s   reboots: %u\n",
               state_first_boot_pending(st) ? "first boot pending" : run_state_to_string(st->run_state), created,
               updated, st->reboots);
        pid_t holder = host_lock_holder(&a->host);
        if (holder > 0)
                printf("agent: running (pid %d)\n", (int) holder);
        if (st->error)
                printf("error: %s\n", st->error);
        printf("\n  %-3s %-24s %-16s %-17s %-8s %s\n", "#", "STEP", "KIND", "STATE", "ATTEMPTS", "DETAIL");
        for (size_t i = 0; i < st->n_steps; i++) {
                const StepRecord *r = &st->steps[i];
                bool bad = r->state == STEP_FAILED || r->state == STEP_INTERRUPTED || step_record_busy(r);
                const char *text = bad && r->error ? r->error : r->detail;
                printf("  %-3zu %-24s %-16s %-17s %-8u %s\n", i + 1, r->id, r->kind, step_state_to_string(r->state),
                       r->attempts, text ? text : "");
        }
        _cleanup_free_ char *msg = NULL;
        if (agent_died(a, st, &msg) || reboot_unattended(a, st, &msg) || busy_unattended(a, st, &msg))
                printf("\n%s\n", msg);
        else if (state_first_boot_pending(st))
                printf("\nFirst boot pending: this tree is an image whose run goes on at its first boot (%s is "
                       "enabled in it).\n", GPUBASE_UNIT);
        else if (st->run_state == RUN_REBOOT_PENDING)
                printf("\nA reboot is pending: after it, `gpubase resume` (or gpubase.service) continues the run.\n");
        else if (st->run_state == RUN_FAILED)
                printf("\nThe run failed: fix the cause above, then `gpubase resume`.\n");
        else if (st->run_state == RUN_BUSY)
                printf("\nThe run is busy: a step found the dpkg lock held past its lock_timeout and is pending again; "
                       "%s starts the run again by itself (or run `gpubase resume`).\n",
                       GPUBASE_UNIT);
        else if (st->run_state == RUN_INTERRUPTED)
                printf("\nThe run was interrupted: `gpubase resume` runs the interrupted step again and goes on.\n");
}

/* Without root the state file (0600 in a 0700 directory) cannot be read: the copy the agent
 * publishes for everyone (engine/events.h, secret values redacted as in the state) is read instead. */
static int load_public(Args *a, State **ret) {
        /* the state file as named, not resolved: the walk to it is what root alone may do */
        _cleanup_free_ char *path = host_path(&a->host, GPUBASE_PUBLIC_STATUS),
                            *state = xasprintf("%s%s", a->host.root, GPUBASE_STATE_FILE);
        _cleanup_free_ char *text = NULL, *why = NULL;
        size_t len = 0;
        int r = read_file(path, STATE_MAX_SIZE, &text, &len);
        if (r == -ENOENT) {
                log_error("the state file %s can be read only by root, and %s, the status gpubase publishes for "
                          "everyone, is absent (no run since this boot, or its agent has not started yet); run "
                          "`sudo gpubase status`",
                          state, path);
                return EXIT_FAILED;
        }
        if (r >= 0)
                r = state_parse(text, len, ret, &why);
        if (r < 0) {
                log_error("cannot read %s: %s", path, why ? why : strerror(-r));
                return EXIT_FAILED;
        }
        return EXIT_OK;
}

int cmd_status(Args *a, int argc _unused_, char **argv _unused_) {
        _cleanup_(state_freep) State *st = NULL;
        _cleanup_free_ char *path = NULL;
        /* EACCES on the way to the state file (the 0700 directory) or on the file itself */
        int r = host_resolve(&a->host, GPUBASE_STATE_FILE, 0, &path);
        if (r == -EACCES || (r >= 0 && access(path, R_OK) < 0 && errno == EACCES))
                r = load_public(a, &st);
        else
                r = load_state_or_complain(a, &st);
        if (r != EXIT_OK)
                return r;
        if (a->json)
                print_json(a, st);
        else
                print_human(a, st);
        return exit_for(a, st);
}
