/* The shim as gpubase loads it: libgpubase-apt.so (the C++ of shim/, linked against libapt-pkg) exports
 * one symbol, APT_SHIM_TABLE_SYMBOL, a table of every function of aptshim.h. gpubase itself does
 * not link libapt-pkg: agent/host/aptshim_load.c opens the .so (dlopen) the first time a session
 * needs apt, so that the commands that never do (status, verify, plan check, --version) do not
 * load libapt-pkg and the libraries under it. */
#pragma once

#include "aptshim.h"

#define APT_SHIM_TABLE_SYMBOL "gpubase_apt_shim_table"
#define APT_SHIM_SONAME "libgpubase-apt.so"
/* Bumped whenever aptshim.h changes: a .so of another build is refused, not called. */
#define APT_SHIM_ABI 5

/* X(function) for every function of aptshim.h */
#define APT_SHIM_FUNCTIONS(X) \
        X(apt_shim_open) X(apt_shim_close) X(apt_shim_dpkg_options) X(apt_shim_lock) \
        X(apt_shim_unlock) X(apt_shim_release_inner) X(apt_shim_retake_inner) X(apt_shim_update) \
        X(apt_shim_set_sources) X(apt_shim_set_local) X(apt_shim_reopen) X(apt_package_done) X(apt_shim_package) \
        X(apt_shim_version_origins) X(apt_shim_set_candidate) X(apt_shim_mark_install) \
        X(apt_shim_mark_reinstall) X(apt_shim_resolve) X(apt_shim_commit) X(apt_shim_clear_marks) \
        X(apt_archives_free) X(apt_shim_fetch_archives) X(apt_shim_fetch_file) \
        X(apt_shim_version_sha256) X(apt_shim_save_signed_indexes) X(apt_shim_version_cmp) \
        X(apt_shim_names) X(apt_names_files) X(apt_names_count) X(apt_names_free) X(apt_shim_scope_check) X(apt_shim_ready) \
        X(apt_shim_built)

typedef struct AptShimTable {
        unsigned abi;  /* APT_SHIM_ABI of the build that made the .so */
        size_t size;   /* sizeof(AptShimTable) there */
#define APT_SHIM_MEMBER(f) __typeof__(f) *f_##f;
        APT_SHIM_FUNCTIONS(APT_SHIM_MEMBER)
#undef APT_SHIM_MEMBER
} AptShimTable;
