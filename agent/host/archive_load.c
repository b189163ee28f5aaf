/* libarchive through dlopen (host/archive_load.h, base/dlib.h). */
#include "host/archive_load.h"

DLIB_DEFINE(Archive, archive, ARCHIVE_FUNCTIONS, ARCHIVE_SONAME, "libarchive13")
