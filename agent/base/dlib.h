/* Libraries opened with dlopen the first time gpubase calls them, not at start: gpubase does not
 * link them, so a command that never calls one (status, plan check, --version) neither maps it nor
 * has the dynamic linker resolve its symbols and those of the libraries under it (libcrypto alone
 * is ~4,000 relocations, libsystemd brings libgcrypt and three compressors).
 *
 * One header per library (base/crypto_load.h, host/archive_load.h, ...) lists the functions
 * gpubase calls in an X-macro, declares its table with DLIB_DECLARE and defines each function's
 * name as the loaded one (a file that includes it after the library's own headers calls the library
 * as usual); one .c defines the loader with DLIB_DEFINE. A function missing from the list is called
 * directly, and the link fails: the list cannot fall behind the code.
 *
 * A library that cannot be loaded stops gpubase with the loader's message and its exit code
 * (127), as the dynamic linker would have at start when gpubase was linked against it: the
 * package depends on each (packaging/debian/control). */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* Opens soname (for the life of the process) and writes the n names' function pointers, in that
 * order, to ret (n pointers). Exits 127, naming soname and the package that ships it, when the
 * library or one of the names is missing. */
void dlib_load(const char *soname, const char *package, const char *const *names, size_t n, void *ret);

#define DLIB_MEMBER(f) __typeof__(f) *f_##f;
#define DLIB_NAME(f) #f,

/* typedef struct NameLib {one pointer per function} NameLib; const NameLib *name_lib(void); */
#define DLIB_DECLARE(Name, name, FUNCTIONS)  \
        typedef struct Name##Lib {           \
                FUNCTIONS(DLIB_MEMBER)       \
        } Name##Lib;                         \
        const Name##Lib *name##_lib(void)

/* name_lib(): the loaded table, the library opened on the first call. The table is the pointers
 * alone, one per name, so that dlib_load() fills it as an array. */
#define DLIB_DEFINE(Name, name, FUNCTIONS, soname, package)                                                  \
        static const char *const name##_names[] = {FUNCTIONS(DLIB_NAME)};                                    \
        _Static_assert(sizeof(Name##Lib) == sizeof(name##_names) / sizeof(name##_names[0]) * sizeof(void *), \
                       #Name "Lib's layout");                                                                \
        const Name##Lib *name##_lib(void) {                                                                  \
                static Name##Lib lib;                                                                        \
                static bool loaded;                                                                          \
                if (!loaded) {                                                                               \
                        dlib_load(soname, package, name##_names, sizeof(name##_names) / sizeof(name##_names[0]), \
                                  &lib);                                                                     \
                        loaded = true;                                                                       \
                }                                                                                            \
                return &lib;                                                                                 \
        }
