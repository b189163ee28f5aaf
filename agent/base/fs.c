#include "base/fs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/path.h"
#include "base/util.h"

int mkdir_p(const char *dir, unsigned mode) {
        /* the directory or its parent is usually there already (a checkpoint, a journal entry per
         * step): one mkdir() then, not one per component */
        if (mkdir(dir, mode) == 0 || errno == EEXIST)
                return 0;
        if (errno != ENOENT)
                return negative_errno();
        _cleanup_free_ char *p = xstrdup(dir);
        for (char *s = p + 1; *s; s++) {
                if (*s != '/')
                        continue;
                *s = 0;
                if (mkdir(p, mode) < 0 && errno != EEXIST)
                        return negative_errno();
                *s = '/';
        }
        if (mkdir(p, mode) < 0 && errno != EEXIST)
                return negative_errno();
        return 0;
}

int mkdir_parents(const char *path, unsigned mode) {
        _cleanup_free_ char *p = xstrdup(path);
        char *slash = strrchr(p, '/');
        if (!slash || slash == p)
                return 0;
        *slash = 0;
        return mkdir_p(p, mode);
}

int mkdir_parents_mode(const char *path, unsigned parents_mode, unsigned dir_mode) {
        _cleanup_free_ char *p = xstrdup(path);
        char *slash = strrchr(p, '/');
        if (!slash || slash == p)
                return 0;
        *slash = 0;
        int r = mkdir_parents(p, parents_mode);
        if (r < 0)
                return r;
        if (mkdir(p, dir_mode) < 0 && errno != EEXIST)
                return negative_errno();
        return 0;
}

int fsync_parent_dir(const char *path) {
        _cleanup_free_ char *p = xstrdup(path);
        char *slash = strrchr(p, '/');
        if (!slash)
                return -EINVAL;
        if (slash == p)
                slash[1] = 0;
        else
                *slash = 0;
        _cleanup_close_ int fd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return negative_errno();
        if (fsync(fd) < 0)
                return negative_errno();
        return 0;
}

void remove_stale_beside(const char *path, const char *before, const char *after, size_t random_len) {
        const char *slash = strrchr(path, '/');
        if (!slash)
                return;
        _cleanup_free_ char *dir = slash == path ? xstrdup("/") : xstrndup(path, (size_t) (slash - path));
        _cleanup_free_ char *prefix = xasprintf("%s%s%s", before, slash + 1, after);
        _cleanup_(closedirp) DIR *d = opendir(dir);
        struct dirent *de;
        if (!d)
                return;
        while ((de = readdir(d)))
                if (startswith(de->d_name, prefix) && strlen(de->d_name) == strlen(prefix) + random_len)
                        rm_rf_below(dirfd(d), de->d_name, 0);
}

void remove_stale_temp_files(const char *path) {
        remove_stale_beside(path, ".#", ".", 8);
}

static void rm_rf_children(int fd, unsigned depth) {
        DIR *d = fdopendir(fd);
        struct dirent *de;
        if (!d) {
                close(fd);
                return;
        }
        while ((de = readdir(d)))
                if (!streq(de->d_name, ".") && !streq(de->d_name, ".."))
                        rm_rf_below(dirfd(d), de->d_name, depth + 1);
        closedir(d);
}

void rm_rf_below(int dirfd, const char *name, unsigned depth) {
        if (streq(name, ".") || streq(name, ".."))
                return;
        if (unlinkat(dirfd, name, 0) == 0 || errno != EISDIR || depth > 4096)
                return; /* gone: a file, a link (never followed), or nothing there */
        int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd >= 0)
                rm_rf_children(fd, depth);
        (void) unlinkat(dirfd, name, AT_REMOVEDIR);
}

/* path's directory, opened, and the name in it (AT_FDCWD for a name with no slash); -errno when
 * there is no name ("/"). */
static int open_parent(const char *path, const char **ret_name) {
        _cleanup_free_ char *p = xstrdup(path);
        char *slash = strrchr(p, '/');
        if (!slash) {
                *ret_name = path;
                return AT_FDCWD;
        }
        if (!slash[1])
                return -EINVAL;
        *ret_name = path + (slash + 1 - p);
        if (slash == p)
                slash[1] = 0;
        else
                *slash = 0;
        int fd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        return fd < 0 ? negative_errno() : fd;
}

void rm_rf_tree(const char *path) {
        const char *name;
        _cleanup_free_ char *trimmed = xstrdup(path);
        for (size_t n = strlen(trimmed); n > 1 && trimmed[n - 1] == '/';)
                trimmed[--n] = 0;
        int fd = open_parent(trimmed, &name);
        if (fd == AT_FDCWD || fd >= 0)
                rm_rf_below(fd, name, 0);
        if (fd >= 0)
                close(fd);
}

int mkdirat_parents(int dirfd, const char *rel, unsigned mode, const char **ret_name) {
        int fd = fcntl(dirfd, F_DUPFD_CLOEXEC, 3);
        const char *c, *p = rel;
        size_t n;
        if (fd < 0)
                return negative_errno();
        while ((n = path_next_component(&p, &c)) > 0) {
                const char *q = p, *c2;
                if (path_next_component(&q, &c2) == 0) {
                        if (ret_name)
                                *ret_name = c; /* the last one is the caller's */
                        break;
                }
                if (component_is_dot(c, n) || component_is_dotdot(c, n)) {
                        close(fd);
                        return -EINVAL;
                }
                _cleanup_free_ char *name = xstrndup(c, n);
                int sub = mkdirat(fd, name, mode) < 0 && errno != EEXIST
                                  ? -1
                                  : openat(fd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                int r = sub < 0 ? negative_errno() : 0;
                close(fd);
                if (r < 0)
                        return r;
                fd = sub;
        }
        return fd;
}

int write_all_fd(int fd, const void *data, size_t len) {
        const char *p = data;
        while (len > 0) {
                ssize_t n = write(fd, p, len);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return negative_errno();
                p += n;
                len -= (size_t) n;
        }
        return 0;
}

static int write_file_renamed(const char *path, const void *data, size_t len, unsigned mode, bool durable) {
        const char *name;
        char id[33];
        int r;

        if (!strchr(path, '/'))
                return -EINVAL;
        r = random_id(id);
        if (r < 0)
                return r;
        _cleanup_close_ int dir = open_parent(path, &name);
        if (dir < 0)
                return dir;
        /* ".#name.XXXX" beside the target, like systemd's tempfn: same filesystem, so rename is atomic;
         * both names are taken in the directory opened once (a link put in its place meanwhile is not
         * followed), and a link where the file goes is replaced, not followed */
        _cleanup_free_ char *tmp = xasprintf(".#%s.%.8s", name, id);
        _cleanup_close_ int fd = openat(dir, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode & 07777);
        if (fd < 0)
                return negative_errno();
        r = write_all_fd(fd, data, len);
        /* the umask must not decide the final mode */
        if (r >= 0 && (fchmod(fd, mode & 07777) < 0 || (durable && fsync(fd) < 0) || renameat(dir, tmp, dir, name) < 0))
                r = negative_errno();
        if (r < 0) {
                (void) unlinkat(dir, tmp, 0);
                return r;
        }
        return durable && fsync(dir) < 0 ? negative_errno() : 0;
}

int write_file_atomic(const char *path, const void *data, size_t len, unsigned mode) {
        return write_file_renamed(path, data, len, mode, true);
}

int write_file_replace(const char *path, const void *data, size_t len, unsigned mode) {
        return write_file_renamed(path, data, len, mode, false);
}

int write_file_scratch(const char *path, const void *data, size_t len, unsigned mode) {
        _cleanup_close_ int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode & 07777);
        if (fd < 0)
                return negative_errno();
        return write_all_fd(fd, data, len);
}

int copy_regular_file(const char *from, const char *to) {
        _cleanup_close_ int in = open(from, O_RDONLY | O_CLOEXEC);
        struct stat st;
        if (in < 0 || fstat(in, &st) < 0)
                return negative_errno();
        int r = mkdir_parents(to, 0755);
        if (r < 0)
                return r;
        _cleanup_close_ int out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, st.st_mode & 0777);
        if (out < 0)
                return negative_errno();
        static char buf[1024 * 1024];
        ssize_t n;
        while ((n = read(in, buf, sizeof buf)) > 0)
                for (ssize_t off = 0; off < n;) {
                        ssize_t w = write(out, buf + off, (size_t) (n - off));
                        if (w < 0)
                                return negative_errno();
                        off += w;
                }
        return n < 0 ? negative_errno() : 0;
}

const char *write_strerror(int r) {
        if (r == -EBUSY)
                return "it is a mount point (a file bind-mounted there?), and a file is replaced by renaming a new one "
                       "over it, which a mount point refuses; unmount it, or change the file it is mounted from";
        return strerror(-r);
}
