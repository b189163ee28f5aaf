/* The loader of base/dlib.h. */
#include "base/dlib.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/util.h"

/* A library the package depends on that cannot be loaded: gpubase stops with the loader's message
 * and exit code (127), as it would have at start when it was linked. */
_noreturn_ static void cannot_load(const char *soname, const char *package, const char *what) {
        fprintf(stderr, "gpubase: cannot load %s: %s; install %s\n", soname, what, package);
        fflush(stderr);
        _exit(127);
}

void dlib_load(const char *soname, const char *package, const char *const *names, size_t n, void *ret) {
        void *so = dlopen(soname, RTLD_NOW | RTLD_LOCAL);
        if (!so)
                cannot_load(soname, package, dlerror());
        _cleanup_free_ void **slots = xmalloc(n * sizeof(void *));
        for (size_t i = 0; i < n; i++) {
                slots[i] = dlsym(so, names[i]);
                if (!slots[i]) {
                        _cleanup_free_ char *why = xasprintf("it has no %s", names[i]);
                        cannot_load(soname, package, why);
                }
        }
        /* a function pointer and a data pointer have one representation on every target of dlsym() */
        memcpy(ret, slots, n * sizeof(void *));
}
