/* NVML of a --root directory, queried by a child inside the root (checks/nvml.h): the library and
 * whatever it runs at load time see only the root and hold no capability, and gpubase itself never
 * maps it. The answer comes back over a pipe as the NvmlInfo struct followed by its three strings. */
#include "checks/nvml.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>

#include "host/enter_root.h"

#define NVML_ROOT_TIMEOUT_MS (60 * 1000)
#define NVML_ROOT_MAX_TEXT (64 * 1024)

static void put_string(Buf *b, const char *s) {
        uint32_t n = s ? (uint32_t) strnlen(s, NVML_ROOT_MAX_TEXT) : UINT32_MAX;
        buf_append(b, (const char *) &n, sizeof n);
        if (s)
                buf_append(b, s, n);
}

static _noreturn_ void child(const char *root, int fd) {
        NvmlInfo info = {0};
        if (confine_enter_root(root, fd) < 0)
                _exit(1);
        (void) nvml_query_here(true, &info);
        NvmlInfo flat = info;
        flat.library = flat.error = flat.driver_version = NULL;
        Buf b = {0};
        buf_append(&b, (const char *) &flat, sizeof flat);
        put_string(&b, info.library);
        put_string(&b, info.error);
        put_string(&b, info.driver_version);
        for (size_t off = 0; off < b.len;) {
                ssize_t w = write(fd, b.data + off, b.len - off);
                if (w < 0 && errno != EINTR)
                        _exit(1);
                off += w > 0 ? (size_t) w : 0;
        }
        _exit(0);
}

/* Everything the child writes, until it closes the pipe or the time is up. */
static int read_answer(int fd, Buf *ret) {
        uint64_t deadline = mono_usec() + (uint64_t) NVML_ROOT_TIMEOUT_MS * 1000;
        char chunk[4096];
        for (;;) {
                uint64_t now = mono_usec();
                if (now >= deadline)
                        return -ETIMEDOUT;
                struct pollfd p = {.fd = fd, .events = POLLIN};
                int k = poll(&p, 1, (int) ((deadline - now) / 1000) + 1);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        return negative_errno();
                if (k == 0)
                        continue;
                ssize_t n = read(fd, chunk, sizeof chunk);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return negative_errno();
                if (n == 0)
                        return 0;
                if (ret->len + (size_t) n > sizeof(NvmlInfo) + 3 * (4 + NVML_ROOT_MAX_TEXT))
                        return -EBADMSG;
                buf_append(ret, chunk, (size_t) n);
        }
}

static int get_string(const Buf *b, size_t *off, char **ret) {
        uint32_t n;
        if (b->len - *off < sizeof n)
                return -EBADMSG;
        memcpy(&n, b->data + *off, sizeof n);
        *off += sizeof n;
        if (n == UINT32_MAX) {
                *ret = NULL;
                return 0;
        }
        if (b->len - *off < n)
                return -EBADMSG;
        *ret = xstrndup(b->data + *off, n);
        *off += n;
        return 0;
}

/* text with every candidate path p (inside the root) written as root+p, the way messages name files */
static char *host_paths(const char *root, const char *text) {
        if (!text)
                return NULL;
        _cleanup_strv_free_ char **candidates = nvml_library_candidates(true);
        Buf b = {0};
        for (const char *t = text; *t;) {
                size_t m = 0;
                for (char **c = candidates; *c && !m; c++)
                        if (startswith(t, *c) && (t == text || t[-1] != '/'))
                                m = strlen(*c);
                if (m) {
                        buf_printf(&b, "%s%.*s", root, (int) m, t);
                        t += m;
                } else
                        buf_append(&b, t++, 1);
        }
        return buf_steal(&b);
}

static int decode(const Host *h, const Buf *b, NvmlInfo *ret) {
        NvmlInfo info;
        size_t off = sizeof info;
        _cleanup_free_ char *library = NULL, *error = NULL, *driver = NULL;
        if (b->len < sizeof info)
                return -EBADMSG;
        memcpy(&info, b->data, sizeof info);
        if (get_string(b, &off, &library) < 0 || get_string(b, &off, &error) < 0 || get_string(b, &off, &driver) < 0 ||
            off != b->len || info.n_gpus > NVML_MAX_GPUS || (unsigned) info.status > NVML_STATUS_ERROR)
                return -EBADMSG;
        for (size_t i = 0; i < NVML_MAX_GPUS; i++) { /* the other side may be hostile: terminate its strings */
                info.gpus[i].name[sizeof info.gpus[i].name - 1] = 0;
                info.gpus[i].bus_id[sizeof info.gpus[i].bus_id - 1] = 0;
        }
        info.library = host_paths(h->root, library);
        info.error = host_paths(h->root, error);
        info.driver_version = TAKE_PTR(driver);
        *ret = info;
        return 0;
}

static void not_loaded(const Host *h, const char *why, NvmlInfo *ret) {
        _cleanup_strv_free_ char **candidates = nvml_library_candidates(true);
        _cleanup_free_ char *list = strv_join(candidates, ", ");
        *ret = (NvmlInfo){.status = NVML_STATUS_NO_LIBRARY, .nvml_code = 12};
        ret->library = host_paths(h->root, list);
        ret->error = xasprintf("not loaded: under --root, the root's libnvidia-ml.so.1 is loaded only inside the root "
                               "(chroot), %s",
                               why);
}

int nvml_query_in_root(const Host *h, NvmlInfo *ret) {
        int p[2];
        if (!confine_possible()) {
                not_loaded(h, "which needs gpubase to run as root", ret);
                return 0;
        }
        if (pipe2(p, O_CLOEXEC) < 0)
                return negative_errno();
        fflush(stdout);
        fflush(stderr);
        pid_t pid = fork();
        if (pid < 0) {
                int r = negative_errno();
                close(p[0]);
                close(p[1]);
                return r;
        }
        if (pid == 0) {
                close(p[0]);
                child(h->root, p[1]);
        }
        close(p[1]);
        _cleanup_(buf_done) Buf b = {0};
        int r = read_answer(p[0], &b);
        close(p[0]);
        if (r < 0)
                (void) kill(pid, SIGKILL);
        int status = 0;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                ;
        if (r == 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0 && decode(h, &b, ret) == 0)
                return 0;
        _cleanup_free_ char *why = r == -ETIMEDOUT ? xstrdup("but it did not answer within 60 s")
                                   : WIFSIGNALED(status) ? xasprintf("but the process that loaded it died of signal %d",
                                                                     WTERMSIG(status))
                                                         : xstrdup("but it gave no answer");
        not_loaded(h, why, ret);
        return 0;
}
