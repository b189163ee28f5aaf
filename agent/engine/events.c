#include "engine/events.h"

#include <stdarg.h>
#include <string.h>
#include <unistd.h>

#include "base/error.h"
#include "base/jsontext.h"
#include "base/log.h"
#include "host/journal.h"
#include "plan/plan.h"

void events_init(Events *ev, Ctx *ctx) {
        *ev = (Events){
                .ctx = ctx,
                .journal = !ctx->dry_run,
                .fd = ctx->events_fd > 0 ? ctx->events_fd : -1,
        };
}

/* ---- JSON lines ---- */

static json_object *event_new(Events *ev, const char *name) {
        const State *st = ev->ctx->state;
        json_object *o = json_object_new_object();
        _cleanup_free_ char *t = format_timestamp(now_usec());
        json_object_object_add(o, "format", json_object_new_int(EVENTS_FORMAT));
        json_object_object_add(o, "event", json_object_new_string(name));
        json_object_object_add(o, "time", json_object_new_string(t));
        json_object_object_add(o, "run_id", json_str(st ? st->run_id : NULL));
        return o;
}

static void add_step(json_object *o, Events *ev, size_t i) {
        const StepRecord *rec = &ev->ctx->state->steps[i];
        json_object_object_add(o, "step", json_str(rec->id));
        json_object_object_add(o, "kind", json_str(rec->kind));
        json_object_object_add(o, "index", json_object_new_int((int) i + 1));
        json_object_object_add(o, "total", json_object_new_int((int) ev->ctx->state->n_steps));
}

/* one line, written whole (a reader may stop at any line); o is consumed */
static void event_emit(Events *ev, json_object *o) {
        if (ev->fd >= 0) {
                _cleanup_free_ char *text = json_text(o, false);
                _cleanup_free_ char *line = xasprintf("%s\n", text);
                size_t n = strlen(line), done = 0;
                while (done < n) {
                        ssize_t w = write(ev->fd, line + done, n - done);
                        if (w < 0 && errno == EINTR)
                                continue;
                        if (w <= 0) {
                                ev->fd = -1; /* the reader went away: the run goes on without it */
                                break;
                        }
                        done += (size_t) w;
                }
        }
        json_object_put(o);
}

/* ---- the journal ---- */

/* fields: "FIELD=value" (owned, consumed), NULL-terminated; the run's own fields are added */
static void journal_emit(Events *ev, const char *mid, int priority, char **fields) {
        const State *st = ev->ctx->state;
        if (ev->journal) {
                strv_push(&fields, xasprintf("MESSAGE_ID=%s", mid));
                strv_push(&fields, xasprintf("PRIORITY=%d", priority));
                strv_push(&fields, xasprintf("GPUBASE_RUN=%s", st && st->run_id ? st->run_id : ""));
                strv_push(&fields, xasprintf("GPUBASE_PLAN=%s", st && st->plan_name ? st->plan_name : ""));
                _cleanup_free_ char *err = NULL;
                if (host_journal_send(ev->ctx->host, fields, &err) < 0 && ev->ctx->verbose > 0)
                        log_warning("%s", err);
        }
        strv_free(fields);
}

static char **fields_new(const char *fmt, ...) _printf_(1, 2);
static char **fields_new(const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        char *m = xvasprintf(fmt, ap);
        va_end(ap);
        char **f = NULL;
        strv_push(&f, xasprintf("MESSAGE=%s", m));
        free(m);
        return f;
}

void events_run_started(Events *ev, ssize_t rebooted) {
        const State *st = ev->ctx->state;
        json_object *o = event_new(ev, "run-started");
        json_object_object_add(o, "plan", json_str(st->plan_name));
        json_object_object_add(o, "plan_path", json_str(st->plan_path));
        json_object_object_add(o, "steps", json_object_new_int((int) st->n_steps));
        json_object_object_add(o, "dry_run", json_object_new_boolean(ev->ctx->dry_run));
        json_object_object_add(o, "after_reboot", json_object_new_boolean(rebooted >= 0));
        event_emit(ev, o);
        char **f = fields_new("run %.8s of plan '%s' %s", st->run_id, st->plan_name ? st->plan_name : st->plan_path,
                              rebooted >= 0 ? "goes on after the reboot" : "started");
        strv_push(&f, xasprintf("GPUBASE_STATE=%s", run_state_to_string(st->run_state)));
        journal_emit(ev, GPUBASE_MID_RUN_STARTED, 6, f);
}

void events_step_started(Events *ev, size_t i) {
        json_object *o = event_new(ev, "step-started");
        add_step(o, ev, i);
        event_emit(ev, o);
}

void events_step_ended(Events *ev, size_t i, bool changed, uint64_t elapsed_usec) {
        const StepRecord *rec = &ev->ctx->state->steps[i];
        bool busy = step_record_busy(rec);
        bool bad = rec->state == STEP_FAILED || rec->state == STEP_INTERRUPTED || busy;
        const char *state = busy ? "busy" : step_state_to_string(rec->state);
        const char *text = bad ? rec->error : rec->detail;

        if (rec->state == STEP_REBOOT_REQUESTED)
                return; /* events_reboot_requested() tells it */
        _cleanup_free_ char *name = xasprintf("step-%s", state);
        json_object *o = event_new(ev, name);
        add_step(o, ev, i);
        json_object_object_add(o, "changed", json_object_new_boolean(changed && rec->state == STEP_DONE));
        _cleanup_free_ char *secs = xasprintf("%.3f", (double) elapsed_usec / 1e6);
        json_object_object_add(o, "elapsed", json_object_new_double_s((double) elapsed_usec / 1e6, secs));
        json_object_object_add(o, "detail", json_str(rec->detail));
        json_object_object_add(o, "error", json_str(bad ? rec->error : NULL));
        event_emit(ev, o);
        char **f = fields_new("step %s (%s): %s%s%s", rec->id, rec->kind, state, text ? ": " : "", text ? text : "");
        strv_push(&f, xasprintf("GPUBASE_STEP=%s", rec->id));
        strv_push(&f, xasprintf("GPUBASE_STATE=%s", state));
        strv_push(&f, xasprintf("GPUBASE_CHANGED=%d", changed && rec->state == STEP_DONE));
        journal_emit(ev, bad ? GPUBASE_MID_STEP_FAILED : GPUBASE_MID_STEP_DONE, bad ? 3 : 6, f);
}

void events_reboot_requested(Events *ev, size_t i, const char *why) {
        const StepRecord *rec = &ev->ctx->state->steps[i];
        json_object *o = event_new(ev, "reboot-requested");
        add_step(o, ev, i);
        json_object_object_add(o, "reason", json_str(why));
        json_object_object_add(o, "reboot", json_object_new_string(reboot_mode_to_string(ev->ctx->reboot_mode)));
        event_emit(ev, o);
        char **f = fields_new("step %s (%s): reboot-requested: %s", rec->id, rec->kind, why);
        strv_push(&f, xasprintf("GPUBASE_STEP=%s", rec->id));
        strv_push(&f, xasprintf("GPUBASE_STATE=%s", step_state_to_string(rec->state)));
        strv_push(&f, xasprintf("GPUBASE_REBOOT=%s", reboot_mode_to_string(ev->ctx->reboot_mode)));
        journal_emit(ev, GPUBASE_MID_REBOOT_REQUESTED, 5, f);
}

void events_run_ended(Events *ev, int exit_code) {
        const State *st = ev->ctx->state;
        RunState rs = st->run_state;
        json_object *o = event_new(ev, "run-finished");
        json_object_object_add(o, "run_state", json_object_new_string(run_state_to_string(rs)));
        json_object_object_add(o, "exit_code", json_object_new_int(exit_code));
        json_object_object_add(o, "changed", json_object_new_boolean(st->changed));
        json_object_object_add(o, "reboots", json_object_new_int((int) st->reboots));
        json_object_object_add(o, "error", json_str(st->error));
        event_emit(ev, o);
        bool done = exit_code == 0 && rs == RUN_DONE;
        char **f = done ? fields_new("run %.8s of plan '%s' is done", st->run_id, st->plan_name ? st->plan_name : "")
                        : fields_new("run %.8s of plan '%s' stopped (%s, exit %d)%s%s", st->run_id,
                                     st->plan_name ? st->plan_name : "", run_state_to_string(rs), exit_code,
                                     st->error ? ": " : "", st->error ? st->error : "");
        strv_push(&f, xasprintf("GPUBASE_STATE=%s", run_state_to_string(rs)));
        strv_push(&f, xasprintf("GPUBASE_EXIT=%d", exit_code));
        journal_emit(ev, done ? GPUBASE_MID_RUN_DONE : GPUBASE_MID_RUN_STOPPED,
                     done || rs == RUN_REBOOT_PENDING ? 6 : 3, f);
}

int status_publish(const Host *h, const State *st, char **reterr) {
        _cleanup_free_ char *text = state_to_json(st, true);
        _cleanup_free_ char *path = NULL;
        int r = host_mkdir_p(h, GPUBASE_RUN_DIR "/gpubase", 0755);
        if (r >= 0)
                r = host_resolve(h, GPUBASE_PUBLIC_STATUS, CONFINE_NOFOLLOW, &path);
        if (r >= 0)
                r = write_file_replace(path, text, strlen(text), 0644); /* a copy: state.json is the record */
        if (r < 0)
                return errorf(reterr, r, "cannot write %s%s: %s", h->root, GPUBASE_PUBLIC_STATUS, write_strerror(r));
        return 0;
}
