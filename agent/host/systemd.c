/* The running system's systemd and logind, over sd-bus. Only used without --root. */
#include <string.h>
#include <systemd/sd-bus.h>

#include "host.h"


static int bus_fail(int r, sd_bus_error *e, const char *what, char **reterr) {
        if (reterr)
                *reterr = xasprintf("%s: %s", what, e && sd_bus_error_is_set(e) ? e->message : strerror(-r));
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

int sd_unit_active_since(const char *unit, uint64_t *ret_usec) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        sd_bus_error e = SD_BUS_ERROR_NULL;
        const char *path = NULL;
        _cleanup_free_ char *state = NULL;
        uint64_t t = 0;
        int r;

        r = sd_bus_open_system(&bus);
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
