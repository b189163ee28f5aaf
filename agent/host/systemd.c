/* The running system's systemd and logind, over sd-bus, used without --root; under --root,
 * host_unit_is_enabled() reads what host_unit_set_enabled() logged instead. */
#include <string.h>
#include <time.h>

#include "base/error.h"
#include "host/host.h"
#include "host/systemd_load.h"

static int bus_fail(int r, sd_bus_error *e, const char *what, char **reterr) {
        r = errorf(reterr, r, "%s: %s", what, e && sd_bus_error_is_set(e) ? e->message : strerror(-r));
        sd_bus_error_free(e);
        return r;
}

int sd_reboot(char **reterr) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        sd_bus_error e = SD_BUS_ERROR_NULL;
        int r;

        r = sd_bus_open_system(&bus);
        if (r < 0)
                return bus_fail(r, NULL, "cannot connect to the system bus", reterr);
        /* logind first: it honours inhibitors and is what `systemctl reboot` asks */
        r = sd_bus_call_method(bus, "org.freedesktop.login1", "/org/freedesktop/login1",
                               "org.freedesktop.login1.Manager", "Reboot", &e, NULL, "b", 0);
        if (r >= 0)
                return 0;
        sd_bus_error_free(&e);
        r = sd_bus_call_method(bus, "org.freedesktop.systemd1", "/org/freedesktop/systemd1",
                               "org.freedesktop.systemd1.Manager", "StartUnit", &e, NULL, "ss", "reboot.target",
                               "replace-irreversibly");
        if (r < 0)
                return bus_fail(r, &e, "neither logind nor systemd accepted the reboot", reterr);
        return 0;
}

int sd_unit_set_enabled(const char *unit, bool enable, char **reterr) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        sd_bus_error e = SD_BUS_ERROR_NULL;
        int r;

        r = sd_bus_open_system(&bus);
        if (r < 0)
                return bus_fail(r, NULL, "cannot connect to the system bus", reterr);
        r = sd_bus_message_new_method_call(bus, &m, "org.freedesktop.systemd1", "/org/freedesktop/systemd1",
                                           "org.freedesktop.systemd1.Manager",
                                           enable ? "EnableUnitFiles" : "DisableUnitFiles");
        if (r < 0)
                return bus_fail(r, NULL, "cannot build the D-Bus call", reterr);
        r = sd_bus_message_append_strv(m, (char *[]){(char *) unit, NULL});
        if (r >= 0)
                r = enable ? sd_bus_message_append(m, "bb", 0, 1) : sd_bus_message_append(m, "b", 0);
        if (r < 0)
                return bus_fail(r, NULL, "cannot build the D-Bus call", reterr);
        r = sd_bus_call(bus, m, 0, &e, NULL);
        if (r < 0)
                return bus_fail(r, &e, enable ? "enabling the unit failed" : "disabling the unit failed", reterr);
        r = sd_bus_call_method(bus, "org.freedesktop.systemd1", "/org/freedesktop/systemd1",
                               "org.freedesktop.systemd1.Manager", "Reload", &e, NULL, "");
        if (r < 0)
                return bus_fail(r, &e, "systemd daemon-reload failed", reterr);
        return 0;
}

int sd_unit_is_enabled(const char *unit) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        const char *state = NULL;
        int r = sd_bus_open_system(&bus);
        if (r < 0)
                return r;
        r = sd_bus_call_method(bus, "org.freedesktop.systemd1", "/org/freedesktop/systemd1",
                               "org.freedesktop.systemd1.Manager", "GetUnitFileState", NULL, &reply, "s", unit);
        if (r < 0)
                return r;
        r = sd_bus_message_read(reply, "s", &state);
        if (r < 0)
                return r;
        return streq(state, "enabled") || streq(state, "enabled-runtime") || streq(state, "linked");
}

/* Under --root, what the actions log says of unit: fn sees each line in order and updates *state,
 * which starts at 0; 0 without a log. */
static int actions_log_fold(const Host *h, const char *unit, void (*fn)(const char *line, const char *unit, int *state)) {
        _cleanup_free_ char *p = host_path(h, GPUBASE_ACTIONS_LOG);
        _cleanup_free_ char *text = NULL;
        int r = read_file(p, 16 * 1024 * 1024, &text, NULL);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return r;
        int state = 0;
        for (char *line = text, *next; line && *line; line = next) {
                next = strchr(line, '\n');
                if (next)
                        *next++ = 0;
                fn(line, unit, &state);
        }
        return state;
}

/* host_unit_set_enabled() logs "enable UNIT" / "disable UNIT": the last one counts. */
static void enabled_line(const char *line, const char *unit, int *state) {
        if (startswith(line, "enable ") && streq(line + strlen("enable "), unit))
                *state = 1;
        else if (startswith(line, "disable ") && streq(line + strlen("disable "), unit))
                *state = 0;
}

static int rooted_unit_is_enabled(const Host *h, const char *unit) {
        return actions_log_fold(h, unit, enabled_line);
}

int host_unit_is_enabled(const Host *h, const char *unit) {
        if (host_is_rooted(h))
                return rooted_unit_is_enabled(h, unit);
        return sd_unit_is_enabled(unit);
}

/* The last line that names the unit says "activating UNIT". */
static void activating_line(const char *line, const char *unit, int *state) {
        const char *sp = strrchr(line, ' ');
        if (sp && streq(sp + 1, unit))
                *state = sp == line + strlen("activating") && startswith(line, "activating ");
}

static int rooted_unit_activating(const Host *h, const char *unit) {
        return actions_log_fold(h, unit, activating_line);
}

/* The system bus, opened, with unit loaded: its object path and its ActiveState. */
static int unit_active_state(const char *unit, sd_bus **ret_bus, char **ret_path, char **ret_state) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        sd_bus_error e = SD_BUS_ERROR_NULL;
        const char *path = NULL;
        char *state = NULL;
        int r = sd_bus_open_system(&bus);
        if (r < 0)
                return r;
        r = sd_bus_call_method(bus, "org.freedesktop.systemd1", "/org/freedesktop/systemd1",
                               "org.freedesktop.systemd1.Manager", "LoadUnit", &e, &reply, "s", unit);
        sd_bus_error_free(&e);
        if (r < 0)
                return r;
        r = sd_bus_message_read(reply, "o", &path);
        if (r < 0)
                return r;
        r = sd_bus_get_property_string(bus, "org.freedesktop.systemd1", path, "org.freedesktop.systemd1.Unit",
                                       "ActiveState", &e, &state);
        sd_bus_error_free(&e);
        if (r < 0)
                return r;
        *ret_path = xstrdup(path);
        *ret_state = state;
        *ret_bus = TAKE_PTR(bus);
        return 0;
}

int sd_unit_activating(const char *unit) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_free_ char *path = NULL, *state = NULL;
        int r = unit_active_state(unit, &bus, &path, &state);
        return r < 0 ? r : streq(state, "activating");
}

int host_unit_activating(const Host *h, const char *unit) {
        if (host_is_rooted(h))
                return rooted_unit_activating(h, unit);
        return sd_unit_activating(unit);
}

int sd_unit_active_since(const char *unit, uint64_t *ret_usec) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_free_ char *path = NULL, *state = NULL;
        sd_bus_error e = SD_BUS_ERROR_NULL;
        uint64_t t = 0;
        int r = unit_active_state(unit, &bus, &path, &state);
        if (r < 0)
                return r;
        if (!streq(state, "active") && !streq(state, "reloading"))
                return -ESRCH;
        r = sd_bus_get_property_trivial(bus, "org.freedesktop.systemd1", path, "org.freedesktop.systemd1.Unit",
                                        "ActiveEnterTimestamp", &e, 't', &t);
        sd_bus_error_free(&e);
        if (r < 0)
                return r;
        *ret_usec = t;
        return 0;
}

/* The unit's last journal lines, for a failure message. */
static char *journal_tail(const char *unit, unsigned lines) {
        sd_journal *j = NULL;
        Buf b = {0};
        if (sd_journal_open(&j, SD_JOURNAL_LOCAL_ONLY | SD_JOURNAL_SYSTEM) < 0)
                return xstrdup("");
        _cleanup_free_ char *match = xasprintf("_SYSTEMD_UNIT=%s", unit);
        (void) sd_journal_add_match(j, match, 0);
        (void) sd_journal_seek_tail(j);
        char **msgs = NULL;
        for (unsigned n = 0; n < lines && sd_journal_previous(j) > 0; n++) {
                const void *d;
                size_t l;
                if (sd_journal_get_data(j, "MESSAGE", &d, &l) >= 0 && l > 8)
                        strv_push(&msgs, xstrndup((const char *) d + 8, l - 8));
        }
        sd_journal_close(j);
        for (size_t i = strv_length(msgs); i > 0; i--) /* strv_length(NULL) is 0 */
                buf_printf(&b, "\n    %s", msgs[i - 1]); /* NOLINT(clang-analyzer-core.NullDereference) */
        strv_free(msgs);
        return buf_steal(&b);
}

/* method: "RestartUnit" or "StartUnit"; verb names it in messages */
static int unit_job(const char *method, const char *verb, const char *unit, unsigned timeout_sec, char **reterr) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        sd_bus_error e = SD_BUS_ERROR_NULL;
        const char *job = NULL, *path = NULL;
        int r;

        r = sd_bus_open_system(&bus);
        if (r < 0)
                return bus_fail(r, NULL, "cannot connect to the system bus", reterr);
        r = sd_bus_call_method(bus, "org.freedesktop.systemd1", "/org/freedesktop/systemd1",
                               "org.freedesktop.systemd1.Manager", method, &e, &reply, "ss", unit, "replace");
        if (r < 0)
                return bus_fail(r, &e, method, reterr);
        r = sd_bus_message_read(reply, "o", &job);
        if (r < 0)
                return bus_fail(r, NULL, "no job returned", reterr);
        _cleanup_free_ char *jobpath = xstrdup(job);
        sd_bus_message_unref(reply);
        reply = NULL;
        r = sd_bus_call_method(bus, "org.freedesktop.systemd1", "/org/freedesktop/systemd1",
                               "org.freedesktop.systemd1.Manager", "LoadUnit", &e, &reply, "s", unit);
        if (r < 0)
                return bus_fail(r, &e, "LoadUnit failed", reterr);
        r = sd_bus_message_read(reply, "o", &path);
        if (r < 0)
                return bus_fail(r, NULL, "LoadUnit returned no path", reterr);
        _cleanup_free_ char *unitpath = xstrdup(path);

        /* wait for the job to go away (the Job object disappears), then look at the unit */
        uint64_t deadline = mono_usec() + (uint64_t) (timeout_sec ? timeout_sec : 90) * 1000000ULL;
        for (;;) {
                _cleanup_free_ char *state = NULL;
                sd_bus_error je = SD_BUS_ERROR_NULL;
                r = sd_bus_get_property_string(bus, "org.freedesktop.systemd1", jobpath, "org.freedesktop.systemd1.Job",
                                               "State", &je, &state);
                sd_bus_error_free(&je);
                if (r < 0)
                        break; /* job finished */
                if (mono_usec() > deadline)
                        return errorf(reterr, -ETIMEDOUT, "%s did not finish %s within %us", unit, verb, timeout_sec);
                usleep(100 * 1000);
        }
        for (;;) {
                _cleanup_free_ char *active = NULL, *sub = NULL;
                r = sd_bus_get_property_string(bus, "org.freedesktop.systemd1", unitpath, "org.freedesktop.systemd1.Unit",
                                               "ActiveState", &e, &active);
                sd_bus_error_free(&e);
                if (r < 0)
                        return bus_fail(r, NULL, "cannot read the unit's state", reterr);
                if (streq(active, "active"))
                        return 0;
                if ((!streq(active, "activating") && !streq(active, "reloading")) || mono_usec() > deadline) {
                        (void) sd_bus_get_property_string(bus, "org.freedesktop.systemd1", unitpath,
                                                          "org.freedesktop.systemd1.Unit", "SubState", &e, &sub);
                        sd_bus_error_free(&e);
                        _cleanup_free_ char *tail = journal_tail(unit, 10);
                        return errorf(reterr, -EIO, "%s is %s (%s) after %s; its last log lines:%s", unit, active,
                                      sub ? sub : "?", verb, *tail ? tail : " (none)");
                }
                usleep(100 * 1000);
        }
}

int sd_unit_start_stop(const char *unit, bool start, char **reterr) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        sd_bus_error e = SD_BUS_ERROR_NULL;
        int r = sd_bus_open_system(&bus);
        if (r < 0)
                return bus_fail(r, NULL, "cannot connect to the system bus", reterr);
        /* the unit files changed (enabled or disabled just before): let systemd see them */
        (void) sd_bus_call_method(bus, "org.freedesktop.systemd1", "/org/freedesktop/systemd1",
                                  "org.freedesktop.systemd1.Manager", "Reload", NULL, NULL, NULL);
        r = sd_bus_call_method(bus, "org.freedesktop.systemd1", "/org/freedesktop/systemd1",
                               "org.freedesktop.systemd1.Manager", start ? "StartUnit" : "StopUnit", &e, NULL, "ss",
                               unit, "replace");
        if (r < 0)
                return bus_fail(r, &e, start ? "StartUnit failed" : "StopUnit failed", reterr);
        return 0;
}

int sd_unit_restart(const char *unit, unsigned timeout_sec, char **reterr) {
        return unit_job("RestartUnit", "restarting", unit, timeout_sec, reterr);
}

int sd_unit_start(const char *unit, unsigned timeout_sec, char **reterr) {
        return unit_job("StartUnit", "starting", unit, timeout_sec, reterr);
}
