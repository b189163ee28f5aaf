/* libsystemd, opened with dlopen (base/dlib.h) the first time gpubase talks to systemd (D-Bus, the
 * journal, sd_notify), not at start: status, plan check and --version never load it, nor libgcrypt,
 * liblz4, libzstd and liblzma under it.
 *
 * A file that includes this header calls libsystemd as usual: each function it uses is defined
 * below as the loaded library's, and so are the cleanup helpers of <systemd/sd-bus.h> that gpubase
 * uses (the header's own inline ones call the library directly). */
#pragma once

#include <systemd/sd-bus.h>
#include <systemd/sd-daemon.h>
#include <systemd/sd-journal.h>

#include "base/dlib.h"

#define SYSTEMD_SONAME "libsystemd.so.0"

/* X(function) for every libsystemd function gpubase calls */
#define SYSTEMD_FUNCTIONS(X) \
        X(sd_bus_call) X(sd_bus_call_method) X(sd_bus_error_free) X(sd_bus_error_is_set) \
        X(sd_bus_flush_close_unref) X(sd_bus_get_property_string) X(sd_bus_get_property_trivial) \
        X(sd_bus_message_append) X(sd_bus_message_append_strv) X(sd_bus_message_new_method_call) \
        X(sd_bus_message_read) X(sd_bus_message_unref) X(sd_bus_open_system) \
        X(sd_journal_add_disjunction) X(sd_journal_add_match) X(sd_journal_close) X(sd_journal_get_data) \
        X(sd_journal_get_realtime_usec) X(sd_journal_next) X(sd_journal_open) X(sd_journal_previous) \
        X(sd_journal_seek_tail) X(sd_journal_send_with_location) X(sd_journal_sendv_with_location) \
        X(sd_notifyf)

/* SystemdLib; systemd_lib(), the loaded library (loaded on the first call) */
DLIB_DECLARE(Systemd, systemd, SYSTEMD_FUNCTIONS);

#define SYSTEMDLIB_FN(f) (systemd_lib()->f_##f)
#define sd_bus_call SYSTEMDLIB_FN(sd_bus_call)
#define sd_bus_call_method SYSTEMDLIB_FN(sd_bus_call_method)
#define sd_bus_error_free SYSTEMDLIB_FN(sd_bus_error_free)
#define sd_bus_error_is_set SYSTEMDLIB_FN(sd_bus_error_is_set)
#define sd_bus_flush_close_unref SYSTEMDLIB_FN(sd_bus_flush_close_unref)
#define sd_bus_get_property_string SYSTEMDLIB_FN(sd_bus_get_property_string)
#define sd_bus_get_property_trivial SYSTEMDLIB_FN(sd_bus_get_property_trivial)
#define sd_bus_message_append SYSTEMDLIB_FN(sd_bus_message_append)
#define sd_bus_message_append_strv SYSTEMDLIB_FN(sd_bus_message_append_strv)
#define sd_bus_message_new_method_call SYSTEMDLIB_FN(sd_bus_message_new_method_call)
#define sd_bus_message_read SYSTEMDLIB_FN(sd_bus_message_read)
#define sd_bus_message_unref SYSTEMDLIB_FN(sd_bus_message_unref)
#define sd_bus_open_system SYSTEMDLIB_FN(sd_bus_open_system)
#define sd_journal_add_disjunction SYSTEMDLIB_FN(sd_journal_add_disjunction)
#define sd_journal_add_match SYSTEMDLIB_FN(sd_journal_add_match)
#define sd_journal_close SYSTEMDLIB_FN(sd_journal_close)
#define sd_journal_get_data SYSTEMDLIB_FN(sd_journal_get_data)
#define sd_journal_get_realtime_usec SYSTEMDLIB_FN(sd_journal_get_realtime_usec)
#define sd_journal_next SYSTEMDLIB_FN(sd_journal_next)
#define sd_journal_open SYSTEMDLIB_FN(sd_journal_open)
#define sd_journal_previous SYSTEMDLIB_FN(sd_journal_previous)
#define sd_journal_seek_tail SYSTEMDLIB_FN(sd_journal_seek_tail)
#define sd_journal_send_with_location SYSTEMDLIB_FN(sd_journal_send_with_location)
#define sd_journal_sendv_with_location SYSTEMDLIB_FN(sd_journal_sendv_with_location)
#define sd_notifyf SYSTEMDLIB_FN(sd_notifyf)

/* <systemd/sd-bus.h>'s cleanup helpers, over the loaded functions */
static inline void systemd_load_bus_flush_close_unrefp(sd_bus **p) {
        if (*p)
                sd_bus_flush_close_unref(*p);
}
#define sd_bus_flush_close_unrefp systemd_load_bus_flush_close_unrefp
static inline void systemd_load_bus_message_unrefp(sd_bus_message **p) {
        if (*p)
                sd_bus_message_unref(*p);
}
#define sd_bus_message_unrefp systemd_load_bus_message_unrefp
