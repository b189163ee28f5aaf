/* libarchive, opened with dlopen (base/dlib.h) the first time gpubase reads or writes an archive
 * (a .deb, a bundle), not at start: the commands that never touch an archive (status, verify, plan
 * check, --version) do not load it, nor libxml2 and ICU under it.
 *
 * A file that includes this header calls libarchive as usual: each function it uses is defined
 * below as the loaded library's. */
#pragma once

#include <archive.h>
#include <archive_entry.h>

#include "base/dlib.h"

#if defined(ARCHIVE_VERSION_NUMBER) && (ARCHIVE_VERSION_NUMBER < 3000000 || ARCHIVE_VERSION_NUMBER >= 4000000)
#error "libarchive 3 (libarchive.so.13) expected"
#endif
#define ARCHIVE_SONAME "libarchive.so.13"

/* X(function) for every libarchive function gpubase calls */
#define ARCHIVE_FUNCTIONS(X) \
        X(archive_bzlib_version) X(archive_entry_filetype) X(archive_entry_free) X(archive_entry_hardlink) \
        X(archive_entry_new) X(archive_entry_pathname) X(archive_entry_perm) X(archive_entry_set_filetype) \
        X(archive_entry_set_gid) X(archive_entry_set_gname) X(archive_entry_set_mtime) \
        X(archive_entry_set_pathname) X(archive_entry_set_perm) X(archive_entry_set_size) \
        X(archive_entry_set_uid) X(archive_entry_set_uname) X(archive_entry_size) \
        X(archive_entry_size_is_set) X(archive_entry_symlink) X(archive_errno) X(archive_error_string) \
        X(archive_filter_code) X(archive_filter_count) X(archive_filter_name) X(archive_liblzma_version) \
        X(archive_libzstd_version) X(archive_read_data) X(archive_read_data_block) X(archive_read_free) \
        X(archive_read_new) X(archive_read_next_header) X(archive_read_open) X(archive_read_open_fd) \
        X(archive_read_open_filename) X(archive_read_support_filter_bzip2) \
        X(archive_read_support_filter_gzip) X(archive_read_support_filter_lzma) \
        X(archive_read_support_filter_xz) X(archive_read_support_filter_zstd) \
        X(archive_read_support_format_ar) X(archive_read_support_format_gnutar) \
        X(archive_read_support_format_tar) X(archive_set_error) X(archive_write_add_filter_gzip) \
        X(archive_write_add_filter_xz) X(archive_write_add_filter_zstd) X(archive_write_close) \
        X(archive_write_data) X(archive_write_free) X(archive_write_header) X(archive_write_new) \
        X(archive_write_open_fd) X(archive_write_set_format_pax_restricted) X(archive_zlib_version)

/* ArchiveLib; archive_lib(), the loaded library (loaded on the first call) */
DLIB_DECLARE(Archive, archive, ARCHIVE_FUNCTIONS);

#define ARCHIVE_FN(f) (archive_lib()->f_##f)
#define archive_bzlib_version ARCHIVE_FN(archive_bzlib_version)
#define archive_entry_filetype ARCHIVE_FN(archive_entry_filetype)
#define archive_entry_free ARCHIVE_FN(archive_entry_free)
#define archive_entry_hardlink ARCHIVE_FN(archive_entry_hardlink)
#define archive_entry_new ARCHIVE_FN(archive_entry_new)
#define archive_entry_pathname ARCHIVE_FN(archive_entry_pathname)
#define archive_entry_perm ARCHIVE_FN(archive_entry_perm)
#define archive_entry_set_filetype ARCHIVE_FN(archive_entry_set_filetype)
#define archive_entry_set_gid ARCHIVE_FN(archive_entry_set_gid)
#define archive_entry_set_gname ARCHIVE_FN(archive_entry_set_gname)
#define archive_entry_set_mtime ARCHIVE_FN(archive_entry_set_mtime)
#define archive_entry_set_pathname ARCHIVE_FN(archive_entry_set_pathname)
#define archive_entry_set_perm ARCHIVE_FN(archive_entry_set_perm)
#define archive_entry_set_size ARCHIVE_FN(archive_entry_set_size)
#define archive_entry_set_uid ARCHIVE_FN(archive_entry_set_uid)
#define archive_entry_set_uname ARCHIVE_FN(archive_entry_set_uname)
#define archive_entry_size ARCHIVE_FN(archive_entry_size)
#define archive_entry_size_is_set ARCHIVE_FN(archive_entry_size_is_set)
#define archive_entry_symlink ARCHIVE_FN(archive_entry_symlink)
#define archive_errno ARCHIVE_FN(archive_errno)
#define archive_error_string ARCHIVE_FN(archive_error_string)
#define archive_filter_code ARCHIVE_FN(archive_filter_code)
#define archive_filter_count ARCHIVE_FN(archive_filter_count)
#define archive_filter_name ARCHIVE_FN(archive_filter_name)
#define archive_liblzma_version ARCHIVE_FN(archive_liblzma_version)
#define archive_libzstd_version ARCHIVE_FN(archive_libzstd_version)
#define archive_read_data ARCHIVE_FN(archive_read_data)
#define archive_read_data_block ARCHIVE_FN(archive_read_data_block)
#define archive_read_free ARCHIVE_FN(archive_read_free)
#define archive_read_new ARCHIVE_FN(archive_read_new)
#define archive_read_next_header ARCHIVE_FN(archive_read_next_header)
#define archive_read_open ARCHIVE_FN(archive_read_open)
#define archive_read_open_fd ARCHIVE_FN(archive_read_open_fd)
#define archive_read_open_filename ARCHIVE_FN(archive_read_open_filename)
#define archive_read_support_filter_bzip2 ARCHIVE_FN(archive_read_support_filter_bzip2)
#define archive_read_support_filter_gzip ARCHIVE_FN(archive_read_support_filter_gzip)
#define archive_read_support_filter_lzma ARCHIVE_FN(archive_read_support_filter_lzma)
#define archive_read_support_filter_xz ARCHIVE_FN(archive_read_support_filter_xz)
#define archive_read_support_filter_zstd ARCHIVE_FN(archive_read_support_filter_zstd)
#define archive_read_support_format_ar ARCHIVE_FN(archive_read_support_format_ar)
#define archive_read_support_format_gnutar ARCHIVE_FN(archive_read_support_format_gnutar)
#define archive_read_support_format_tar ARCHIVE_FN(archive_read_support_format_tar)
#define archive_set_error ARCHIVE_FN(archive_set_error)
#define archive_write_add_filter_gzip ARCHIVE_FN(archive_write_add_filter_gzip)
#define archive_write_add_filter_xz ARCHIVE_FN(archive_write_add_filter_xz)
#define archive_write_add_filter_zstd ARCHIVE_FN(archive_write_add_filter_zstd)
#define archive_write_close ARCHIVE_FN(archive_write_close)
#define archive_write_data ARCHIVE_FN(archive_write_data)
#define archive_write_free ARCHIVE_FN(archive_write_free)
#define archive_write_header ARCHIVE_FN(archive_write_header)
#define archive_write_new ARCHIVE_FN(archive_write_new)
#define archive_write_open_fd ARCHIVE_FN(archive_write_open_fd)
#define archive_write_set_format_pax_restricted ARCHIVE_FN(archive_write_set_format_pax_restricted)
#define archive_zlib_version ARCHIVE_FN(archive_zlib_version)
