/* Reading a .deb without dpkg: an ar archive holding debian-binary, control.tar[.gz|.xz|.zst|...]
 * and data.tar[.gz|.xz|.zst|.bz2|.lzma], read with libarchive. Used to look inside a repository
 * keyring package (NVIDIA's cuda-keyring_1.1-1_all.deb) before letting dpkg install it: what it is,
 * which files it would write, and the keyring it carries.
 *
 * Only the compressors dpkg itself uses are accepted, all through linked libraries: libarchive never
 * starts an external decompressor on our behalf. Every function that reads a package returns
 * -EBADMSG, with a message in *reterr, for a file that is not a valid .deb (bad ar, missing or
 * misplaced member, broken or truncated tar, control file without Package/Version/Architecture).
 * Other errors (-ENOENT...) come with a message too; reterr may be NULL and is written only on
 * failure. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "base/util.h"

/* Largest data member deb_read_data_file() returns when given max == 0. */
#define DEB_MEMBER_MAX (16U * 1024U * 1024U)

typedef enum DebEntryType {
        DEB_ENTRY_FILE,
        DEB_ENTRY_DIRECTORY,
        DEB_ENTRY_SYMLINK,
        DEB_ENTRY_HARDLINK, /* a regular file stored as a link to an earlier member */
        DEB_ENTRY_OTHER,    /* device, fifo, socket: never legitimate in a keyring package */
        _DEB_ENTRY_TYPE_MAX,
        _DEB_ENTRY_TYPE_INVALID = -EINVAL,
} DebEntryType;

const char *deb_entry_type_to_string(DebEntryType t);

typedef struct DebEntry {
        char *path;   /* normalised, see deb_path_normalize(): "/usr/share/keyrings/x.gpg", "/" */
        char *target; /* symlink: the target as stored; hardlink: the normalised linked path; else NULL */
        DebEntryType type;
        uint64_t size; /* regular files; 0 for the others */
        unsigned mode; /* permission bits (07777) */
} DebEntry;

typedef struct DebInfo {
        char *package, *version, *architecture; /* from control.tar's ./control */
        char *control;                          /* the whole control file */
        char **control_members;                 /* the other control.tar files: "md5sums", "postinst"... */
        DebEntry *entries;                      /* data.tar members, in archive order */
        size_t n_entries;
} DebInfo;

/* Reads the whole package: control fields and the list of data.tar members. */
int deb_inspect(const char *path, DebInfo **ret, char **reterr);
DebInfo *deb_info_free(DebInfo *d);
DEFINE_TRIVIAL_CLEANUP_FUNC(DebInfo *, deb_info_free)
/* The entry with that (normalised or not) path, NULL if none. */
const DebEntry *deb_info_find(const DebInfo *d, const char *path);

/* The content of one regular file of data.tar (path as for deb_info_find), NUL-terminated (the NUL
 * is not counted in *ret_len). max == 0 means DEB_MEMBER_MAX. -ENOENT: no such member; -EISDIR:
 * a directory; -EINVAL: a symlink, hardlink or special file; -EFBIG: larger than max. */
int deb_read_data_file(const char *path, const char *member, size_t max, char **ret, size_t *ret_len,
                       char **reterr);

/* Checks that installing the package writes only below the given directories (absolute, e.g.
 * "/usr/share/keyrings", "/etc/apt/sources.list.d"; NULL-terminated). Allowed: directories that are
 * an allowed directory, below one, or a parent of one ("/", "/usr", "/etc/apt"); files and symlinks
 * below one; symlinks whose target, resolved from the link's directory, is below one. Refused:
 * any ".." component in a member path, targets that leave the allowed directories, anything below
 * a symlink of the package (it would be written through the link), hardlinks and special files.
 * Returns 0 when all is well, else -EPERM with the first offending path in *reterr_offending (files
 * and symlinks are checked before directories, so a package carrying /etc/cron.d/evil reports that
 * file, not /etc/cron.d) and a sentence in *reterr. Either may be NULL; both are written only on
 * failure. */
int deb_check_paths(const DebInfo *d, char *const *allowed, char **reterr_offending, char **reterr);

/* "./usr//share/./keyrings/" → "/usr/share/keyrings", "./" → "/". ".." components are kept (the
 * caller decides what to make of them). */
char *deb_path_normalize(const char *path);
