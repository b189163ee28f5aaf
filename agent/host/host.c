#include "host/host.h"

#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/utsname.h>

#include "base/error.h"
#include "host/confine.h"

int host_init(Host *h, const char *root) {
        *h = (Host){0};
        if (isempty(root) || streq(root, "/")) {
                h->root = xstrdup("");
                return 0;
        }
        char *abs = realpath(root, NULL);
        if (!abs)
                return negative_errno();
        struct stat st;
        if (stat(abs, &st) < 0 || !S_ISDIR(st.st_mode)) {
                free(abs);
                return -ENOTDIR;
        }
        h->root = streq(abs, "/") ? (free(abs), xstrdup("")) : abs;
        return 0;
}

void host_done(Host *h) {
        free(h->root);
        h->root = NULL;
        free(h->apt_bundle);
        h->apt_bundle = NULL;
        if (h->memo)
                for (int k = 0; k < _HOST_MEMO_MAX; k++)
                        if (h->memo->data[k])
                                h->memo->free[k](h->memo->data[k]);
        free(h->memo);
        h->memo = NULL;
}

void host_memo_enable(Host *h) {
        if (!h->memo)
                h->memo = xcalloc(1, sizeof(HostMemo));
}

void *host_memo_get(const Host *h, HostMemoKind k) {
        return h->memo ? h->memo->data[k] : NULL;
}

bool host_memo_set(const Host *h, HostMemoKind k, void *data, void (*free_fn)(void *data)) {
        if (!h->memo)
                return false;
        if (h->memo->data[k] && h->memo->data[k] != data)
                h->memo->free[k](h->memo->data[k]);
        h->memo->data[k] = data;
        h->memo->free[k] = free_fn;
        return true;
}

static int open_root(const Host *h) {
        int fd = open(h->root, O_PATH | O_DIRECTORY | O_CLOEXEC);
        return fd < 0 ? negative_errno() : fd;
}

int host_resolve(const Host *h, const char *path, unsigned flags, char **ret) {
        if (!host_is_rooted(h)) {
                *ret = xstrdup(path);
                return 0;
        }
        _cleanup_close_ int root = open_root(h);
        _cleanup_free_ char *rel = NULL;
        if (root < 0)
                return root;
        int r = confine_walk(root, path, flags, &rel);
        if (r < 0)
                return r;
        *ret = streq(rel, "/") ? xstrdup(h->root) : xasprintf("%s%s", h->root, rel);
        return 0;
}

char *host_path(const Host *h, const char *path) {
        char *p;
        int r = host_resolve(h, path, 0, &p);
        if (r >= 0)
                return p;
        /* below /dev/null nothing can be opened or created, and the name still says what went wrong */
        return xasprintf("/dev/null%s%s (%s)", h->root, path, strerror(-r));
}

int host_open(const Host *h, const char *path, int flags, unsigned mode) {
        if (!host_is_rooted(h)) {
                int fd = open(path, flags | O_CLOEXEC, mode);
                return fd < 0 ? negative_errno() : fd;
        }
        _cleanup_close_ int root = open_root(h);
        if (root < 0)
                return root;
        return confine_open(root, path, flags, mode);
}

int host_mkdir_p(const Host *h, const char *path, unsigned mode) {
        _cleanup_free_ char *p = NULL;
        int r = host_resolve(h, path, 0, &p);
        if (r < 0)
                return r;
        r = mkdir_parents(p, 0755);
        if (r < 0)
                return r;
        if (mkdir(p, mode) < 0 && errno != EEXIST)
                return negative_errno();
        return 0;
}

int host_mkdir_state_dir(const Host *h) {
        return host_mkdir_p(h, GPUBASE_STATE_DIR, 0700);
}

int host_boot_id(const Host *h, char **ret) {
        _cleanup_free_ char *p = host_path(h, BOOT_ID_FILE);
        _cleanup_free_ char *s = NULL;
        int r = read_line_file(p, &s);
        if (r < 0)
                return r;
        if (isempty(s))
                return -ENODATA;
        *ret = TAKE_PTR(s);
        return 0;
}

static char *unquote(const char *v) {
        size_t n = strlen(v);
        if (n >= 2 && (v[0] == '"' || v[0] == '\'') && v[n - 1] == v[0])
                return xstrndup(v + 1, n - 2);
        return xstrdup(v);
}

int host_os_info(const Host *h, OsInfo *ret) {
        _cleanup_free_ char *p = host_path(h, "/etc/os-release");
        _cleanup_free_ char *text = NULL;
        int r = read_file(p, 1024 * 1024, &text, NULL);
        if (r == -ENOENT) {
                free(p);
                p = host_path(h, "/usr/lib/os-release");
                r = read_file(p, 1024 * 1024, &text, NULL);
        }
        if (r < 0)
                return r;
        OsInfo o = {0};
        char *save = NULL;
        for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                if (startswith(line, "ID=")) {
                        free(o.id);
                        o.id = unquote(line + 3);
                } else if (startswith(line, "VERSION_ID=")) {
                        free(o.version_id);
                        o.version_id = unquote(line + 11);
                }
        }
        if (!o.id)
                o.id = xstrdup("linux");
        if (!o.version_id)
                o.version_id = xstrdup("");
        *ret = o;
        return 0;
}

void os_info_done(OsInfo *o) {
        free(o->id);
        free(o->version_id);
        *o = (OsInfo){0};
}

const char *host_arch(void) {
        static char machine[65];
        if (!machine[0]) {
                struct utsname u;
                if (uname(&u) < 0)
                        return "unknown";
                snprintf(machine, sizeof machine, "%s", u.machine);
                if (streq(machine, "arm64"))
                        snprintf(machine, sizeof machine, "aarch64");
        }
        return machine;
}

int host_log_action(const Host *h, const char *fmt, ...) {
        _cleanup_free_ char *line = NULL;
        va_list ap;
        int r;

        va_start(ap, fmt);
        line = xvasprintf(fmt, ap);
        va_end(ap);
        r = host_mkdir_state_dir(h);
        if (r < 0)
                return r;
        _cleanup_close_ int fd = host_open(h, GPUBASE_ACTIONS_LOG, O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW, 0644);
        if (fd < 0)
                return fd;
        _cleanup_free_ char *full = xasprintf("%s\n", line);
        size_t n = strlen(full);
        if (write(fd, full, n) != (ssize_t) n)
                return negative_errno();
        if (fsync(fd) < 0)
                return negative_errno();
        return 0;
}

/* host_log_action()'s failure, with the file named */
static int log_failed(const Host *h, int r, char **reterr) {
        return errorf(reterr, r, "cannot append to %s%s: %s%s", h->root, GPUBASE_ACTIONS_LOG, strerror(-r),
                      r == -ELOOP ? " (a symbolic link stands there: gpubase writes its own files only in its own "
                                    "place; remove the link)"
                                  : "");
}

int host_reboot(const Host *h, char **reterr) {
        if (!host_is_rooted(h))
                return sd_reboot(reterr);
        int r = host_log_action(h, "reboot");
        return r < 0 ? log_failed(h, r, reterr) : 0;
}

int host_unit_set_enabled(const Host *h, const char *unit, bool enable, char **reterr) {
        if (!host_is_rooted(h))
                return sd_unit_set_enabled(unit, enable, reterr);
        int r = host_log_action(h, "%s %s", enable ? "enable" : "disable", unit);
        return r < 0 ? log_failed(h, r, reterr) : 0;
}

int host_unit_start_stop(const Host *h, const char *unit, bool start, char **reterr) {
        if (!host_is_rooted(h))
                return sd_unit_start_stop(unit, start, reterr);
        int r = host_log_action(h, "%s %s", start ? "start" : "stop", unit);
        return r < 0 ? log_failed(h, r, reterr) : 0;
}

int host_service_active_since(const Host *h, const char *unit, const char *marker, uint64_t *ret_usec) {
        if (!host_is_rooted(h))
                return sd_unit_active_since(unit, ret_usec);
        _cleanup_free_ char *p = host_path(h, marker);
        struct stat st;
        if (stat(p, &st) < 0)
                return errno == ENOENT ? -ESRCH : negative_errno();
        *ret_usec = (uint64_t) st.st_mtim.tv_sec * 1000000ULL + (uint64_t) st.st_mtim.tv_nsec / 1000ULL;
        return 0;
}

int host_service_restart(const Host *h, const char *unit, const char *marker, unsigned timeout_sec, char **reterr) {
        if (!host_is_rooted(h))
                return sd_unit_restart(unit, timeout_sec, reterr);
        int r = host_log_action(h, "restart %s", unit);
        if (r < 0)
                return log_failed(h, r, reterr);
        if (!marker)
                return 0;
        _cleanup_close_ int fd = host_open(h, marker, O_RDONLY | O_NONBLOCK, 0);
        if (fd == -ENOENT)
                return 0;
        r = fd < 0 ? fd : futimens(fd, NULL) < 0 ? negative_errno() : 0;
        if (r < 0)
                return errorf(reterr, r, "cannot touch %s%s (the restarted daemon's marker): %s", h->root, marker,
                              strerror(-r));
        return 0;
}

int host_service_start(const Host *h, const char *unit, const char *marker, unsigned timeout_sec, char **reterr) {
        if (!host_is_rooted(h))
                return sd_unit_start(unit, timeout_sec, reterr);
        int r = host_log_action(h, "start %s", unit);
        if (r < 0)
                return log_failed(h, r, reterr);
        if (!marker)
                return 0;
        _cleanup_free_ char *dir = xstrdup(marker);
        *strrchr(dir, '/') = 0;
        r = dir[0] ? host_mkdir_p(h, dir, 0755) : 0;
        _cleanup_close_ int fd = r < 0 ? r : host_open(h, marker, O_WRONLY | O_CREAT | O_NOFOLLOW | O_NONBLOCK, 0644);
        r = fd < 0 ? fd : futimens(fd, NULL) < 0 ? negative_errno() : 0;
        if (r < 0)
                return errorf(reterr, r, "cannot create %s%s (the started daemon's marker): %s", h->root, marker,
                              strerror(-r));
        return 0;
}

static pid_t read_pid_fd_once(int fd) {
        char buf[32] = {0};
        ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
        if (n <= 0)
                return 0;
        unsigned v;
        buf[strcspn(buf, "\n")] = 0;
        if (parse_uint(buf, &v) < 0)
                return 0;
        return (pid_t) v;
}

/* The holder's pid, read from the lock file. A holder writes it right after taking the lock
 * (truncate, then write), so a reader that finds the lock taken may catch the file empty for a
 * moment: it reads again for up to 0.5 s before giving up (0). */
static pid_t read_pid_fd(int fd) {
        for (int i = 0; i < 50; i++) {
                pid_t pid = read_pid_fd_once(fd);
                if (pid > 0)
                        return pid;
                usleep(10 * 1000);
        }
        return 0;
}

int host_lock(const Host *h, int *ret_fd, pid_t *reterr_holder) {
        int r = host_mkdir_p(h, GPUBASE_RUN_DIR, 0755);
        if (r < 0)
                return r;
        _cleanup_close_ int fd = host_open(h, GPUBASE_LOCK_FILE, O_RDWR | O_CREAT | O_NOFOLLOW, 0644);
        if (fd < 0)
                return fd;
        /* a few tries: `gpubase status` probes the lock with a short shared flock of its own */
        for (int i = 0; i < 20; i++) {
                r = flock(fd, LOCK_EX | LOCK_NB) < 0 ? negative_errno() : 0;
                if (r != -EWOULDBLOCK)
                        break;
                usleep(10 * 1000);
        }
        if (r < 0) {
                if (r == -EWOULDBLOCK) {
                        if (reterr_holder)
                                *reterr_holder = read_pid_fd(fd);
                        return -EBUSY;
                }
                return r;
        }
        char buf[32];
        int n = snprintf(buf, sizeof buf, "%d\n", (int) getpid());
        if (ftruncate(fd, 0) < 0 || pwrite(fd, buf, (size_t) n, 0) != n)
                return negative_errno();
        *ret_fd = TAKE_FD(fd);
        return 0;
}

pid_t host_lock_holder(const Host *h) {
        _cleanup_close_ int fd = host_open(h, GPUBASE_LOCK_FILE, O_RDONLY | O_NOFOLLOW, 0);
        if (fd < 0)
                return 0;
        if (flock(fd, LOCK_SH | LOCK_NB) == 0)
                return 0; /* nobody holds it exclusively */
        pid_t pid = read_pid_fd(fd);
        return pid > 0 ? pid : 1;
}

static int check_one(const char *p, bool target, char **reterr) {
        struct stat st;
        if (stat(p, &st) < 0)
                return negative_errno();
        uid_t me = geteuid();
        if (st.st_uid != 0 && st.st_uid != me)
                return errorf(reterr, -EPERM, "%s is owned by uid %u, not by root%s; only root may own what gpubase runs "
                              "or writes its state in (chown root %s)",
                              p, (unsigned) st.st_uid, me == 0 ? "" : " or the user running gpubase", p);
        bool sticky_dir = S_ISDIR(st.st_mode) && (st.st_mode & S_ISVTX) && !target;
        if ((st.st_mode & (S_IWGRP | S_IWOTH)) && !sticky_dir)
                return errorf(reterr, -EPERM, "%s is writable by %s (mode %04o): whoever can write there can make gpubase "
                              "run what they want (chmod go-w %s)",
                              p, (st.st_mode & S_IWOTH) ? "others" : "its group", (unsigned) (st.st_mode & 07777), p);
        return 0;
}

int path_check_private(const char *path, char **reterr) {
        _cleanup_free_ char *p = xstrdup(path);
        bool target = true;
        char *real;
        int r;

        /* the longest part of path that exists, with its symlinks resolved */
        while (!(real = realpath(p, NULL))) {
                if (errno != ENOENT)
                        return negative_errno();
                char *slash = strrchr(p, '/');
                if (!slash || slash == p)
                        return 0;
                *slash = 0;
                target = false;
        }
        free(p);
        p = real;
        for (;;) {
                r = check_one(p, target, reterr);
                if (r < 0)
                        return r;
                target = false;
                char *slash = strrchr(p, '/');
                if (!slash)
                        return 0;
                if (slash == p) {
                        if (!p[1])
                                return 0;
                        p[1] = 0; /* "/" itself */
                } else
                        *slash = 0;
        }
}
