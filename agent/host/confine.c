#include "host/confine.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/path.h"
#include "base/util.h"

typedef struct Walk {
        int root;        /* borrowed */
        int dir;         /* owned: O_PATH fd of the deepest directory reached */
        Buf rel;         /* the resolved path so far, "/a/b" ("" for the root) */
        size_t missing;  /* how many of rel's last components do not exist */
        bool at_dir;     /* rel ends at dir itself; false: at a name in dir (a file, a kept link, a missing name) */
        unsigned links;  /* links followed so far */
} Walk;

static void walk_done(Walk *w) {
        if (w->dir >= 0)
                close(w->dir);
        w->dir = -EBADF;
        buf_done(&w->rel);
}

static int walk_reset(Walk *w) {
        int fd = fcntl(w->root, F_DUPFD_CLOEXEC, 3);
        if (fd < 0)
                return negative_errno();
        if (w->dir >= 0)
                close(w->dir);
        w->dir = fd;
        w->rel.len = 0;
        if (w->rel.data)
                w->rel.data[0] = 0;
        w->missing = 0;
        w->at_dir = true;
        return 0;
}

static void walk_push(Walk *w, const char *name, size_t n) {
        buf_puts(&w->rel, "/");
        buf_append(&w->rel, name, n);
}

/* "..": one level up, never above the root. Through a missing name it is text only. */
static int walk_up(Walk *w) {
        if (w->rel.len == 0)
                return 0;
        if (w->missing == 0 && w->at_dir) {
                int fd = openat(w->dir, "..", O_PATH | O_DIRECTORY | O_CLOEXEC);
                if (fd < 0)
                        return negative_errno();
                close(w->dir);
                w->dir = fd;
        } else if (w->missing > 0 && --w->missing == 0)
                w->at_dir = true;
        char *slash = strrchr(w->rel.data, '/');
        w->rel.len = (size_t) (slash - w->rel.data);
        *slash = 0;
        return 0;
}

static int read_link(int fd, char **ret) {
        char buf[PATH_MAX];
        ssize_t n = readlinkat(fd, "", buf, sizeof buf);
        if (n < 0)
                return negative_errno();
        if ((size_t) n >= sizeof buf)
                return -ENAMETOOLONG;
        if (n == 0)
                return -ENOENT;
        *ret = xstrndup(buf, (size_t) n);
        return 0;
}

/* One name: descend into a directory, keep a file or a missing name as the end, or (a link to
 * follow) set *ret_target to what it points to, for the caller to walk in its place. */
static int walk_name(Walk *w, const char *name, size_t n, bool last, bool follow, char **ret_target) {
        if (w->missing > 0) {
                walk_push(w, name, n);
                w->missing++;
                return 0;
        }
        _cleanup_free_ char *z = xstrndup(name, n);
        _cleanup_close_ int fd = openat(w->dir, z, O_PATH | O_NOFOLLOW | O_CLOEXEC);
        struct stat st;
        if (fd < 0) {
                if (errno != ENOENT)
                        return negative_errno();
                walk_push(w, name, n);
                w->missing = 1;
                w->at_dir = false;
                return 0;
        }
        if (fstat(fd, &st) < 0)
                return negative_errno();
        if (S_ISLNK(st.st_mode) && follow) {
                if (++w->links > CONFINE_MAX_LINKS)
                        return -ELOOP;
                return read_link(fd, ret_target);
        }
        walk_push(w, name, n);
        if (!S_ISDIR(st.st_mode)) {
                w->at_dir = false;
                return last ? 0 : -ENOTDIR;
        }
        close(w->dir);
        w->dir = TAKE_FD(fd);
        w->at_dir = true;
        return 0;
}

/* The walk itself; on success *w holds the end (see Walk), the caller calls walk_done(). */
static int walk(int rootfd, const char *path, unsigned flags, Walk *w) {
        _cleanup_free_ char *rest = xstrdup(path);
        const char *p = rest, *c;
        size_t n;
        int r;

        *w = (Walk){.root = rootfd, .dir = -EBADF};
        r = walk_reset(w);
        while (r >= 0 && (n = path_next_component(&p, &c)) > 0) {
                const char *q = p, *c2;
                bool last = path_next_component(&q, &c2) == 0;
                _cleanup_free_ char *target = NULL;

                if (component_is_dot(c, n))
                        continue;
                if (component_is_dotdot(c, n)) {
                        r = walk_up(w);
                        continue;
                }
                r = walk_name(w, c, n, last, !last || !(flags & CONFINE_NOFOLLOW), &target);
                if (r < 0 || !target)
                        continue;
                /* a link: its target, then what was left after it, walked from where the link is
                 * (an absolute target: from the root) */
                if (target[0] == '/')
                        r = walk_reset(w);
                char *next = xasprintf("%s/%s", target, p);
                free(rest);
                rest = next;
                p = rest;
        }
        if (r >= 0 && w->rel.len >= PATH_MAX)
                r = -ENAMETOOLONG;
        if (r < 0)
                walk_done(w);
        return r;
}

int confine_walk(int rootfd, const char *path, unsigned flags, char **ret) {
        Walk w;
        int r = walk(rootfd, path, flags, &w);
        if (r < 0)
                return r;
        *ret = w.rel.len ? buf_steal(&w.rel) : xstrdup("/");
        walk_done(&w);
        return 0;
}

int confine_open_walk(int rootfd, const char *path, int flags, unsigned mode) {
        Walk w;
        int r = walk(rootfd, path, (flags & O_NOFOLLOW) ? CONFINE_NOFOLLOW : 0, &w);
        if (r < 0)
                return r;
        if (w.missing > 1)
                r = -ENOENT; /* its parent does not exist */
        else {
                /* the end is w.dir itself, or a name in it that is no link to follow (any more): O_NOFOLLOW
                 * keeps it so */
                const char *slash = w.rel.data ? strrchr(w.rel.data, '/') : NULL;
                r = openat(w.dir, w.at_dir || !slash ? "." : slash + 1, flags | O_NOFOLLOW | O_CLOEXEC, mode);
                if (r < 0)
                        r = negative_errno();
        }
        walk_done(&w);
        return r;
}

int confine_open(int rootfd, const char *path, int flags, unsigned mode) {
        struct open_how how = {
                .flags = (uint64_t) (flags | O_CLOEXEC),
                .mode = (flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE ? mode : 0,
                .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
        };
        for (int i = 0; i < 8; i++) {
                long fd = syscall(SYS_openat2, rootfd, path, &how, sizeof how);
                if (fd >= 0)
                        return (int) fd;
                if (errno != EAGAIN) /* a rename or mount under the root while it resolved: again */
                        break;
        }
        /* no openat2 (Linux < 5.6), or a seccomp filter that refuses it: the walk */
        if (errno == ENOSYS || errno == EPERM)
                return confine_open_walk(rootfd, path, flags, mode);
        return negative_errno();
}
