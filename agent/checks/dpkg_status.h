/* dpkg's status file (<root>/var/lib/dpkg/status), read and split into its stanzas once: a command
 * that asks about many packages (verify: the driver, the toolkit, the runtimes, a hold) reads and
 * splits it one time. With the Host's memo (host_memo_enable()) the split file is kept and read
 * again only when it changed: another inode, size, mtime or ctime (dpkg replaces it on every change
 * with a rename). */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "host/host.h"

typedef struct DpkgStanza {
        char *package;    /* its Package: field; NULL when it has none */
        const char *text; /* into DpkgStatus.text, len bytes (up to and with the last line's newline) */
        size_t len;
} DpkgStanza;

typedef struct DpkgStatus DpkgStatus;

/* The status file of h, split; release it with dpkg_status_unref(). -ENOENT: no status file. */
int dpkg_status_get(const Host *h, DpkgStatus **ret);
/* The same for text already read (tests, other files in the same format). */
DpkgStatus *dpkg_status_from_text(const char *text);
DpkgStatus *dpkg_status_unref(DpkgStatus *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(DpkgStatus *, dpkg_status_unref)

size_t dpkg_status_count(const DpkgStatus *s);
const DpkgStanza *dpkg_status_at(const DpkgStatus *s, size_t i);
