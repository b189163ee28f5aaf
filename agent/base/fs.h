/* Files and directories: create, write atomically, remove. Base layer: plain paths, no --root
 * (a caller working under --root resolves the path first). */
#pragma once

#include <stddef.h>

int mkdir_parents(const char *path, unsigned mode); /* creates every parent directory of path */
int mkdir_p(const char *dir, unsigned mode);
/* Creates path's directory with dir_mode and the directories above it with parents_mode (a
 * private directory in a tree others may read: 0755 parents, a 0700 directory). Directories that
 * exist are left as they are. */
int mkdir_parents_mode(const char *path, unsigned parents_mode, unsigned dir_mode);
/* Temp file in the same directory, fsync, rename, fsync the directory: after a crash the file is
 * either the old one or the new one, never a mix. The directory is opened once and both names are
 * taken in it (the temp file O_EXCL|O_NOFOLLOW); a link at path is replaced, never followed. */
int write_file_atomic(const char *path, const void *data, size_t len, unsigned mode);
int fsync_parent_dir(const char *path);
/* The same rename into place without the fsyncs: readers see the old file or the new one, but a
 * crash may leave either (or an empty one): for copies that are rewritten anyway, e.g. on /run. */
int write_file_replace(const char *path, const void *data, size_t len, unsigned mode);
/* path created or truncated (O_NOFOLLOW: never through a link) and written without fsync: for
 * scratch copies in a private temporary directory (mkdtemp) that nothing reads after a crash. */
int write_file_scratch(const char *path, const void *data, size_t len, unsigned mode);
/* All of data to fd (a short write is continued; EINTR retried). 0 or -errno. */
int write_all_fd(int fd, const void *data, size_t len);
/* strerror() for what write_file_atomic() returned, with -EBUSY explained: the path is a mount
 * point (a file bind-mounted over it), which a rename cannot replace. */
const char *write_strerror(int r);
/* Removes path: a directory tree, through directory fds opened O_NOFOLLOW, so that a link inside
 * the tree, or path itself when it is a link, is removed as a link and never followed; a file.
 * Errors are ignored. */
void rm_rf_tree(const char *path);
/* The same for name in the directory fd dirfd (depth: 0; it bounds the recursion). */
void rm_rf_below(int dirfd, const char *name, unsigned depth);
/* Creates the missing parent directories of rel (relative, no "." or ".." components: -EINVAL; no
 * trailing slash) below the directory fd dirfd with mkdirat(), each opened O_NOFOLLOW (a link in
 * the way: -ENOTDIR). Returns an O_PATH fd of rel's parent, for openat() of its last component
 * (*ret_name, pointing into rel, when not NULL), or -errno. */
int mkdirat_parents(int dirfd, const char *rel, unsigned mode, const char **ret_name);
/* Removes the temp files write_file_atomic() left beside path when a process was killed between
 * creating and renaming them. Only safe while no other process writes path (gpubase: under
 * its agent lock). */
void remove_stale_temp_files(const char *path);
/* Removes what a killed writer left beside path: entries of path's directory named
 * BEFORE + basename(path) + AFTER + random_len more characters (files or trees, never followed). */
void remove_stale_beside(const char *path, const char *before, const char *after, size_t random_len);
/* Copies the regular file from to to (created or truncated, from's permission bits, parents
 * created). */
int copy_regular_file(const char *from, const char *to);
