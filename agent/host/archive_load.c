/* libarchive through dlopen (host/archive_load.h). */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

/* The names, in the order of ArchiveLib's members */
#define ARCHIVE_LIB_NAME(f) #f,
static const char *const names[] = {ARCHIVE_FUNCTIONS(ARCHIVE_LIB_NAME)};
#undef ARCHIVE_LIB_NAME
/* ArchiveLib is the function pointers alone, one per name: filled as an array */
_Static_assert(sizeof(ArchiveLib) == sizeof(names) / sizeof(names[0]) * sizeof(void *), "ArchiveLib's layout");

const ArchiveLib *archive_lib(void) {
        if (lib)
                return lib;
        void *so = dlopen(ARCHIVE_SONAME, RTLD_NOW | RTLD_LOCAL);
        if (!so)
                cannot_load(dlerror());
        void *slots[ELEMENTSOF(names)];
        for (size_t i = 0; i < ELEMENTSOF(names); i++) {
                slots[i] = dlsym(so, names[i]);
                if (!slots[i]) {
                        _cleanup_free_ char *why = xasprintf("it has no %s", names[i]);
                        cannot_load(why);
                }
        }
        ArchiveLib *l = xmalloc(sizeof(ArchiveLib));
        memcpy(l, slots, sizeof(ArchiveLib));
        lib = l;
        return lib;
}
