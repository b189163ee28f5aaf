/* libkmod, opened with dlopen (base/dlib.h) the first time gpubase reads a kernel module's
 * information, not at start: status, plan check and --version never load it, nor libcrypto,
 * libzstd and liblzma under it.
 *
 * A file that includes this header calls libkmod as usual: each function it uses is defined below
 * as the loaded library's. */
#pragma once

#include <libkmod.h>

#include "base/dlib.h"

#define KMOD_SONAME "libkmod.so.2"

/* X(function) for every libkmod function gpubase calls */
#define KMOD_FUNCTIONS(X) \
        X(kmod_list_next) X(kmod_module_get_info) X(kmod_module_info_free_list) \
        X(kmod_module_info_get_key) X(kmod_module_info_get_value) X(kmod_module_new_from_path) \
        X(kmod_module_unref) X(kmod_new) X(kmod_set_log_priority) X(kmod_unref)

/* KmodLib; kmod_lib(), the loaded library (loaded on the first call) */
DLIB_DECLARE(Kmod, kmod, KMOD_FUNCTIONS);

#define KMODLIB_FN(f) (kmod_lib()->f_##f)
#define kmod_list_next KMODLIB_FN(kmod_list_next)
#define kmod_module_get_info KMODLIB_FN(kmod_module_get_info)
#define kmod_module_info_free_list KMODLIB_FN(kmod_module_info_free_list)
#define kmod_module_info_get_key KMODLIB_FN(kmod_module_info_get_key)
#define kmod_module_info_get_value KMODLIB_FN(kmod_module_info_get_value)
#define kmod_module_new_from_path KMODLIB_FN(kmod_module_new_from_path)
#define kmod_module_unref KMODLIB_FN(kmod_module_unref)
#define kmod_new KMODLIB_FN(kmod_new)
#define kmod_set_log_priority KMODLIB_FN(kmod_set_log_priority)
#define kmod_unref KMODLIB_FN(kmod_unref)
