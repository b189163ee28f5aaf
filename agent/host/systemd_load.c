/* libsystemd through dlopen (host/systemd_load.h, base/dlib.h). */
#include "host/systemd_load.h"

DLIB_DEFINE(Systemd, systemd, SYSTEMD_FUNCTIONS, SYSTEMD_SONAME, "libsystemd0")
