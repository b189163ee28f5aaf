/* libkmod through dlopen (host/kmod_load.h, base/dlib.h). */
#include "host/kmod_load.h"

DLIB_DEFINE(Kmod, kmod, KMOD_FUNCTIONS, KMOD_SONAME, "libkmod2")
