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

#include "base/util.h"

int mkdir_p(const char *dir, unsigned mode) {
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

void remove_stale_temp_files(const char *path) {
        const char *slash = strrchr(path, '/');
        if (!slash)
                return;
        _cleanup_free_ char *dir = slash == path ? xstrdup("/") : xstrndup(path, (size_t) (slash - path));
        _cleanup_free_ char *prefix = xasprintf(".#%s.", slash + 1);
        _cleanup_(closedirp) DIR *d = opendir(dir);
        struct dirent *de;
        if (!d)
                return;
        while ((de = readdir(d)))
                if (startswith(de->d_name, prefix) && strlen(de->d_name) == strlen(prefix) + 8)
                        (void) unlinkat(dirfd(d), de->d_name, 0);
}

void rm_rf_tree(const char *path) {
        _cleanup_(closedirp) DIR *d = opendir(path);
        struct dirent *de;
        while (d && (de = readdir(d))) {
                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                _cleanup_free_ char *p = xasprintf("%s/%s", path, de->d_name);
                struct stat st;
                if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode))
                        rm_rf_tree(p);
                else
                        (void) unlink(p);
        }
        (void) rmdir(path);
}

int write_file_atomic(const char *path, const void *data, size_t len, unsigned mode) {
        _cleanup_free_ char *tmp = NULL;
        char id[33];
        int r;

        r = random_id(id);
        if (r < 0)
                return r;
        /* ".#name.XXXX" beside the target, like systemd's tempfn: same filesystem, so rename is atomic */
        const char *slash = strrchr(path, '/');
        if (!slash)
                return -EINVAL;
        tmp = xasprintf("%.*s/.#%s.%.8s", (int) (slash - path), path, slash + 1, id);

        _cleanup_close_ int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode & 07777);
        if (fd < 0)
                return negative_errno();
        const char *p = data;
        size_t left = len;
        while (left > 0) {
                ssize_t n = write(fd, p, left);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        r = negative_errno();
                        goto fail;
                }
                p += n;
                left -= (size_t) n;
        }
        /* the umask must not decide the final mode */
        if (fchmod(fd, mode & 07777) < 0 || fsync(fd) < 0) {
                r = negative_errno();
                goto fail;
        }
        if (rename(tmp, path) < 0) {
                r = negative_errno();
                goto fail;
        }
        return fsync_parent_dir(path);
fail:
        (void) unlink(tmp);
        return r;
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

int copy_tree(const char *from, const char *to) {
        struct stat st;
        if (stat(from, &st) < 0)
                return errno == ENOENT ? 0 : negative_errno();
        if (S_ISREG(st.st_mode))
                return copy_regular_file(from, to);
        if (!S_ISDIR(st.st_mode))
                return 0;
        int r = mkdir_p(to, 0755);
        if (r < 0)
                return r;
        _cleanup_(closedirp) DIR *d = opendir(from);
        struct dirent *de;
        while (d && (de = readdir(d))) {
                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                _cleanup_free_ char *f = xasprintf("%s/%s", from, de->d_name), *t = xasprintf("%s/%s", to, de->d_name);
                r = copy_tree(f, t);
                if (r < 0)
                        return r;
        }
        return 0;
}

const char *write_strerror(int r) {
        if (r == -EBUSY)
                return "it is a mount point (a file bind-mounted there?), and a file is replaced by renaming a new one "
                       "over it, which a mount point refuses; unmount it, or change the file it is mounted from";
        return strerror(-r);
}
