/* Writing and reading the tarballs gpubase makes (support reports, offline bundles) with libarchive.
 *
 * Reading is for archives that may have been crafted: tar_scan() accepts only regular files and
 * directories with relative names, and refuses an absolute name, a ".." component, a symlink or a
 * hardlink (saying whether it would escape the target directory), a device, fifo or socket, and a
 * name seen twice. With a destination directory it extracts as it reads, creating every file with
 * O_EXCL|O_NOFOLLOW below directories it created itself, each reached from the destination's fd
 * with openat(O_NOFOLLOW) (never by name), so nothing is ever written outside it.
 * Functions return 0 or -errno and write *reterr only on failure (base/error.h). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/util.h"

typedef struct TarWriter TarWriter;

/* Opens path for writing ("-": standard output). The compression follows the name: .tar.zst or
 * .tzst (zstd), .tar.gz or .tgz (gzip), .tar.xz (xz), .tar (none). Anything else is -EINVAL.
 * A file is written as a temp file beside it with mode (less the umask; 0600 for a support report)
 * and renamed into place by tar_writer_finish(), so an existing file is replaced, never reopened.
 * Every tar_writer_*() with a reterr writes it on failure only. */
int tar_writer_open(const char *path, unsigned mode, TarWriter **ret, char **reterr);
/* A regular file from memory. */
int tar_writer_add_data(TarWriter *w, const char *name, const void *data, size_t len, unsigned mode,
                        uint64_t mtime_sec, char **reterr);
/* A regular file copied from disk (streamed, any size); its sha256 in ret_sha256 when not NULL. */
int tar_writer_add_file(TarWriter *w, const char *name, const char *path, unsigned mode, char ret_sha256[65],
                        char **reterr);
/* Flushes, fsyncs and renames the temp file into place; frees w in every case. */
int tar_writer_finish(TarWriter *w, char **reterr);
/* Drops everything written (removes the temp file) and frees w. NULL is fine. */
void tar_writer_abort(TarWriter *w);
DEFINE_TRIVIAL_CLEANUP_FUNC(TarWriter *, tar_writer_abort)

/* Is zstd compression available in this libarchive? */
bool tar_zstd_supported(void);

typedef struct TarEntry {
        const char *name;   /* normalised: no leading "./", no trailing "/" */
        bool directory;
        uint64_t size;
        char sha256[65];    /* regular files */
        const char *data;   /* the content, NUL-terminated, when size <= keep_max; else NULL */
} TarEntry;

/* What tar_scan() calls for each entry it accepts (either may be NULL); a negative return stops the
 * scan with that error (*reterr set by the callback).
 *   header: before any byte of the entry is read or written; e->size is the size its header
 *           declares, e->sha256 and e->data are not set yet. 1: read the entry (the entry
 *           callback still sees it) without writing it to the destination; 0: extract it.
 *   entry:  after the entry was read (and extracted); e->size is what was read. */
typedef struct TarScanHooks {
        int (*header)(const TarEntry *e, void *userdata, char **reterr);
        int (*entry)(const TarEntry *e, void *userdata, char **reterr);
} TarScanHooks;

/* Reads every entry of an archive (any compression libarchive reads through linked libraries),
 * refusing what the header comment says with -EPERM and a message naming the entry; a name seen
 * twice is found in constant time, however many entries there are. With dest (an existing, empty
 * directory) regular files and directories are extracted there. At most max_bytes of file content
 * in all (-EFBIG beyond, refused from the declared sizes before the content is read). */
int tar_scan(const char *path, const char *dest, size_t keep_max, uint64_t max_bytes, const TarScanHooks *hooks,
             void *userdata, char **reterr);
