/* gpubase status [--json]: where the run stands. Reads the state file only (no apt, no checks). */
#include <json-c/json.h>
#include <string.h>

#include "base/jsontext.h"
#include "base/log.h"
#include "cmd/cmd.h"

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
        json_object_object_del(o, "format");
        pid_t holder = host_lock_holder(&a->host);
        json_object_object_add(o, "agent_pid", holder > 0 ? json_object_new_int(holder) : NULL);
        _cleanup_free_ char *died = NULL, *unattended = NULL;
        json_object_object_add(o, "agent_died", json_object_new_boolean(agent_died(a, st, &died)));
        /* what to do when nothing will go on with the run by itself */
        const char *advice = died ? died : reboot_unattended(a, st, &unattended) ? unattended : NULL;
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
                bool bad = r->state == STEP_FAILED || r->state == STEP_INTERRUPTED;
                const char *text = bad && r->error ? r->error : r->detail;
                printf("  %-3zu %-24s %-16s %-17s %-8u %s\n", i + 1, r->id, r->kind, step_state_to_string(r->state),
                       r->attempts, text ? text : "");
        }
        _cleanup_free_ char *msg = NULL;
        if (agent_died(a, st, &msg) || reboot_unattended(a, st, &msg))
                printf("\n%s\n", msg);
        else if (state_first_boot_pending(st))
                printf("\nFirst boot pending: this tree is an image whose run goes on at its first boot (%s is "
                       "enabled in it).\n", GPUBASE_UNIT);
        else if (st->run_state == RUN_REBOOT_PENDING)
                printf("\nA reboot is pending: after it, `gpubase resume` (or gpubase.service) continues the run.\n");
        else if (st->run_state == RUN_FAILED)
                printf("\nThe run failed: fix the cause above, then `gpubase resume`.\n");
        else if (st->run_state == RUN_INTERRUPTED)
                printf("\nThe run was interrupted: `gpubase resume` runs the interrupted step again and goes on.\n");
}

int cmd_status(Args *a, int argc _unused_, char **argv _unused_) {
        _cleanup_(state_freep) State *st = NULL;
        int r = load_state_or_complain(a, &st);
        if (r != EXIT_OK)
                return r;
        if (a->json)
                print_json(a, st);
        else
                print_human(a, st);
        return exit_for(a, st);
}
