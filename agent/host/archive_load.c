/* libarchive through dlopen (host/archive_load.h). */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "base/util.h"
#include "host/archive_load.h"

/* Loaded once, kept for the life of the process: a library opened stays. NULL until then. */
static ArchiveLib *lib;

/* A library the package depends on that cannot be loaded: gpubase stops with the loader's message
 * and exit code (127), as it would have at start when it was linked. */
_noreturn_ static void cannot_load(const char *what) {
        fprintf(stderr, "gpubase: cannot load " ARCHIVE_SONAME ": %s; install libarchive13\n", what);
        fflush(stderr);
        _exit(127);
}

const ArchiveLib *archive_lib(void) {
        if (lib)
                return lib;
        void *so = dlopen(ARCHIVE_SONAME, RTLD_NOW | RTLD_LOCAL);
        if (!so)
                cannot_load(dlerror());
        ArchiveLib *l = xcalloc(1, sizeof(ArchiveLib));
#define ARCHIVE_LIB_SYM(f)                                       \
        *(void **) &l->f_##f = dlsym(so, #f);                    \
        if (!l->f_##f)                                           \
                cannot_load("it has no " #f);
        ARCHIVE_FUNCTIONS(ARCHIVE_LIB_SYM)
#undef ARCHIVE_LIB_SYM
        lib = l;
        return lib;
}
