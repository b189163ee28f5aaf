/* Paths under --root, resolved as they would be after chroot(root): an absolute symlink target is
 * taken from the root, ".." (written in the path, in a link's target or arriving through a plan
 * variable) never climbs above the root, and at most CONFINE_MAX_LINKS links are followed (then
 * -ELOOP). This is the one place that turns a path under the root into something to open; host.c
 * builds host_path() and host_open() on it.
 *
 * Two ways to get there, with the same answers:
 *  - openat2(RESOLVE_IN_ROOT) from an fd of the root (Linux >= 5.6), for opening;
 *  - the walk: component by component from the root fd, each one opened O_PATH|O_NOFOLLOW and a
 *    link's target read and walked in its place. It gives the text form (which openat2 cannot: a
 *    path whose end does not exist yet), and it opens where openat2 is missing (-ENOSYS).
 * Components that do not exist (yet) are kept, normalised as text ("a/missing/../b" is "a/b"). */
#pragma once

#include <stdbool.h>

#define CONFINE_MAX_LINKS 40

enum {
        CONFINE_NOFOLLOW = 1 << 0, /* the final component is not followed when it is a link (lstat, unlink, rename) */
};

/* Walks path (absolute, or taken as absolute) under the root fd rootfd and sets *ret to the
 * resolved path in the root's terms ("/etc/x"; "/" for the root itself), which then names no
 * symlink but perhaps (CONFINE_NOFOLLOW) the final component. Returns 0 or -errno (-ELOOP,
 * -ENOTDIR for a component under a file, -ENAMETOOLONG, or what openat() said). */
int confine_walk(int rootfd, const char *path, unsigned flags, char **ret);

/* Opens path under rootfd with open(2)'s flags and mode: openat2(RESOLVE_IN_ROOT), or the walk
 * where the kernel has no openat2. O_NOFOLLOW in flags keeps a final link from being followed (as
 * open(2)); without it, a final link is followed inside the root, also by O_CREAT for a dangling
 * one. O_CLOEXEC is always added. Returns the fd or -errno. */
int confine_open(int rootfd, const char *path, int flags, unsigned mode);
/* The same through the walk only (what confine_open() falls back to; public for the tests). */
int confine_open_walk(int rootfd, const char *path, int flags, unsigned mode);
