/* libapt-pkg through libgpubase-apt.so (shim/aptshim_table.h), opened with dlopen the first time a
 * session needs apt: gpubase does not link libapt-pkg, so the commands that never open an apt
 * session (status, verify, plan check, --version) do not load it, nor the ten libraries under it.
 * Each function of shim/aptshim.h is defined here and calls the .so's. */
#include "host/aptshim_load.h"

#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <string.h>
#include <unistd.h>

#include "base/error.h"
#include "base/util.h"
#include "host/version.h"
#include "shim/aptshim_table.h"

/* The loaded table: libapt's own state is process-global too (one AptShim at a time), and a
 * library, once opened, stays for the life of the process. NULL until apt_shim_load() succeeded. */
static const AptShimTable *loaded;

/* Where the .so is, relative to the running gpubase: <bin>/../lib/gpubase/ (installed: /usr/bin
 * and /usr/lib/gpubase, /usr/local/bin and /usr/local/lib/gpubase), then <bin>/ itself (the build
 * tree: build/gpubase beside build/libgpubase-apt.so). A relative dlopen() would search
 * LD_LIBRARY_PATH and the system's directories, which are not gpubase's to choose. */
static char **candidates(void) {
        char exe[PATH_MAX];
        ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
        char **l = NULL;
        if (n <= 0)
                return NULL;
        exe[n] = '\0';
        char *slash = strrchr(exe, '/');
        if (!slash)
                return NULL;
        *slash = '\0';
        strv_push(&l, xasprintf("%s/../lib/gpubase/%s", exe, APT_SHIM_SONAME));
        strv_push(&l, xasprintf("%s/%s", exe, APT_SHIM_SONAME));
        return l;
}

int apt_shim_load(char **reterr) {
        _cleanup_strv_free_ char **paths = NULL;
        _cleanup_free_ char *tried = NULL;
        if (loaded)
                return 0;
        paths = candidates();
        if (!paths)
                return errorf(reterr, -ENOENT, "cannot find " APT_SHIM_SONAME ": /proc/self/exe cannot be read");
        for (size_t i = 0; paths[i]; i++) {
                if (access(paths[i], F_OK) < 0)
                        continue;
                void *so = dlopen(paths[i], RTLD_NOW | RTLD_LOCAL);
                if (!so)
                        return errorf(reterr, -ELIBBAD, "cannot load %s: %s", paths[i], dlerror());
                const AptShimTable *t = dlsym(so, APT_SHIM_TABLE_SYMBOL);
                if (!t || t->abi != APT_SHIM_ABI || t->size != sizeof(AptShimTable)) {
                        dlclose(so);
                        return errorf(reterr, -ELIBBAD, "%s is not the one this gpubase was built with (%s); "
                                      "install gpubase and %s from the same build", paths[i],
                                      t ? "another interface version" : "no " APT_SHIM_TABLE_SYMBOL, APT_SHIM_SONAME);
                }
                loaded = t;
                return 0;
        }
        tried = strv_join(paths, ", ");
        return errorf(reterr, -ENOENT, "cannot find " APT_SHIM_SONAME " (gpubase's link to libapt-pkg) at %s; "
                      "install it with gpubase (make install, or the gpubase package)", tried);
}

int apt_shim_open(const AptOptions *opts, AptShim **ret, char **reterr) {
        int r = apt_shim_load(reterr);
        if (r < 0)
                return r;
        return loaded->f_apt_shim_open(opts, ret, reterr);
}

/* libapt's own comparison where the shim is loaded (gpubase's version_cmp() does not need it) */
int apt_shim_version_cmp(const char *a, const char *b) {
        return loaded || apt_shim_load(NULL) >= 0 ? loaded->f_apt_shim_version_cmp(a, b) : version_cmp(a, b);
}

/* Without apt_shim_open() there is no AptShim to pass, nor anything the shim allocated to free:
 * a function that returns int says -EBADF, a void one does nothing. */

void apt_shim_close(AptShim *s) {
        if (loaded)
                loaded->f_apt_shim_close(s);
}

const char *const *apt_shim_dpkg_options(AptShim *s) {
        return loaded ? loaded->f_apt_shim_dpkg_options(s) : NULL;
}

int apt_shim_lock(AptShim *s, char **reterr) {
        return loaded ? loaded->f_apt_shim_lock(s, reterr) : -EBADF;
}

void apt_shim_unlock(AptShim *s) {
        if (loaded)
                loaded->f_apt_shim_unlock(s);
}

int apt_shim_release_inner(AptShim *s) {
        return loaded ? loaded->f_apt_shim_release_inner(s) : -EBADF;
}

int apt_shim_retake_inner(AptShim *s, char **reterr) {
        return loaded ? loaded->f_apt_shim_retake_inner(s, reterr) : -EBADF;
}

int apt_shim_update(AptShim *s, const AptProgress *p, char **reterr) {
        return loaded ? loaded->f_apt_shim_update(s, p, reterr) : -EBADF;
}

void apt_shim_set_local(AptShim *s, const char *const *debs, size_t packages) {
        if (loaded)
                loaded->f_apt_shim_set_local(s, debs, packages);
}

void apt_shim_set_sources(AptShim *s, const char *sourcelist, const char *sourceparts) {
        if (loaded)
                loaded->f_apt_shim_set_sources(s, sourcelist, sourceparts);
}

int apt_shim_reopen(AptShim *s, char **reterr) {
        return loaded ? loaded->f_apt_shim_reopen(s, reterr) : -EBADF;
}

void apt_package_done(AptPackage *p) {
        if (loaded)
                loaded->f_apt_package_done(p);
}

int apt_shim_package(AptShim *s, const char *name, AptPackage *ret) {
        return loaded ? loaded->f_apt_shim_package(s, name, ret) : -EBADF;
}

int apt_shim_version_origins(AptShim *s, const char *name, const char *version, char ***ret) {
        return loaded ? loaded->f_apt_shim_version_origins(s, name, version, ret) : -EBADF;
}

int apt_shim_set_candidate(AptShim *s, const char *name, const char *version, char **reterr) {
        return loaded ? loaded->f_apt_shim_set_candidate(s, name, version, reterr) : -EBADF;
}

int apt_shim_mark_install(AptShim *s, const char *name, const char *version, char **reterr) {
        return loaded ? loaded->f_apt_shim_mark_install(s, name, version, reterr) : -EBADF;
}

int apt_shim_mark_reinstall(AptShim *s, const char *name, char **reterr) {
        return loaded ? loaded->f_apt_shim_mark_reinstall(s, name, reterr) : -EBADF;
}

int apt_shim_resolve(AptShim *s, char ***ret_changes, char **reterr) {
        return loaded ? loaded->f_apt_shim_resolve(s, ret_changes, reterr) : -EBADF;
}

int apt_shim_commit(AptShim *s, bool download_only, const AptProgress *p, char **reterr) {
        return loaded ? loaded->f_apt_shim_commit(s, download_only, p, reterr) : -EBADF;
}

void apt_shim_clear_marks(AptShim *s) {
        if (loaded)
                loaded->f_apt_shim_clear_marks(s);
}

void apt_archives_free(AptArchive *a, size_t n) {
        if (loaded)
                loaded->f_apt_archives_free(a, n);
}

int apt_shim_fetch_archives(AptShim *s, const AptProgress *p, AptArchive **ret, size_t *ret_n, char **reterr) {
        return loaded ? loaded->f_apt_shim_fetch_archives(s, p, ret, ret_n, reterr) : -EBADF;
}

int apt_shim_fetch_file(AptShim *s, const char *url, const char *sha256, const char *dest, char **reterr) {
        return loaded ? loaded->f_apt_shim_fetch_file(s, url, sha256, dest, reterr) : -EBADF;
}

int apt_shim_version_sha256(AptShim *s, const char *name, const char *version, char **ret_sha256, char **ret_uri, char **reterr) {
        return loaded ? loaded->f_apt_shim_version_sha256(s, name, version, ret_sha256, ret_uri, reterr) : -EBADF;
}

int apt_shim_save_signed_indexes(AptShim *s, const char *dest, char **reterr) {
        return loaded ? loaded->f_apt_shim_save_signed_indexes(s, dest, reterr) : -EBADF;
}

int apt_shim_names(AptShim *s, const char *cache_dir, char ***ret_files, AptNames **ret, char **reterr) {
        return loaded ? loaded->f_apt_shim_names(s, cache_dir, ret_files, ret, reterr) : -EBADF;
}

uint64_t apt_names_files(const AptNames *n, const char *name) {
        return loaded ? loaded->f_apt_names_files(n, name) : 0;
}

size_t apt_names_count(const AptNames *n, uint64_t files) {
        return loaded ? loaded->f_apt_names_count(n, files) : 0;
}

void apt_names_free(AptNames *n) {
        if (loaded && n)
                loaded->f_apt_names_free(n);
}

int apt_shim_scope_check(AptShim *s, const AptNames *n, uint64_t outside, char **ret_why) {
        return loaded ? loaded->f_apt_shim_scope_check(s, n, outside, ret_why) : -EBADF;
}

int apt_shim_ready(AptShim *s, char **reterr) {
        return loaded ? loaded->f_apt_shim_ready(s, reterr) : -EBADF;
}

int apt_shim_built(const AptShim *s) {
        return loaded ? loaded->f_apt_shim_built(s) : 0;
}
