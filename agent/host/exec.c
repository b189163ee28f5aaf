#include "host/exec.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include "host/confine.h"

extern char **environ;

static void keep_tail(Buf *b, const char *data, size_t n) {
        buf_append(b, data, n);
        if (b->len > 2 * EXEC_OUTPUT_KEEP) {
                memmove(b->data, b->data + b->len - EXEC_OUTPUT_KEEP, EXEC_OUTPUT_KEEP);
                b->len = EXEC_OUTPUT_KEEP;
                b->data[b->len] = 0;
        }
}

static _noreturn_ void child(const ExecSpec *spec, int out_fd, int err_pipe, pid_t parent) {
        int e;
        (void) setpgid(0, 0);
        (void) prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
                _exit(127);
        int nullfd = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (nullfd >= 0 && dup2(nullfd, 0) < 0)
                _exit(127);
        if (dup2(out_fd, 1) < 0 || dup2(out_fd, 2) < 0)
                _exit(127);
        sigset_t all;
        sigemptyset(&all);
        sigprocmask(SIG_SETMASK, &all, NULL);
        signal(SIGPIPE, SIG_DFL);
        for (size_t i = 0; spec->env && spec->env[i]; i++)
                (void) putenv(spec->env[i]);
        int r = spec->chroot ? confine_enter_root(spec->chroot, err_pipe) : 0;
        if (r >= 0)
                execvp(spec->argv[0], spec->argv);
        e = r < 0 ? -r : errno;
        (void) !write(err_pipe, &e, sizeof e);
        _exit(127);
}

/* Starts the child with its output on a pipe (*ret_out) and a close-on-exec pipe on which it
 * reports a failed exec (*ret_err). */
static int spawn(const ExecSpec *spec, pid_t *ret_pid, int *ret_out, int *ret_err) {
        int out[2], errp[2];

        if (pipe2(out, O_CLOEXEC) < 0)
                return negative_errno();
        if (pipe2(errp, O_CLOEXEC) < 0) {
                int r = negative_errno();
                close(out[0]);
                close(out[1]);
                return r;
        }
        fflush(stdout);
        fflush(stderr);
        pid_t parent = getpid();
        pid_t pid = fork();
        if (pid < 0) {
                int r = negative_errno();
                close(out[0]);
                close(out[1]);
                close(errp[0]);
                close(errp[1]);
                return r;
        }
        if (pid == 0)
                child(spec, out[1], errp[1], parent);
        (void) setpgid(pid, pid); /* also from the parent, so the group exists before any kill */
        close(out[1]);
        close(errp[1]);
        *ret_pid = pid;
        *ret_out = out[0];
        *ret_err = errp[0];
        return 0;
}

/* Reads the child's output into tail (echoing it with spec->echo) until it closes its end or the
 * timeout passes. Returns whether it timed out. */
static bool collect_output(const ExecSpec *spec, int fd, Buf *tail) {
        uint64_t deadline = spec->timeout_sec ? mono_usec() + (uint64_t) spec->timeout_sec * 1000000ULL : 0;

        for (;;) {
                int wait_ms = -1;
                if (deadline) {
                        uint64_t now = mono_usec();
                        if (now >= deadline)
                                return true;
                        wait_ms = (int) ((deadline - now) / 1000ULL) + 1;
                }
                struct pollfd p = {.fd = fd, .events = POLLIN};
                int k = poll(&p, 1, wait_ms);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return false;
                }
                if (k == 0)
                        continue;
                char chunk[4096];
                ssize_t n = read(fd, chunk, sizeof chunk);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        return false; /* EOF or an error: the output is over */
                if (spec->echo)
                        (void) !write(STDERR_FILENO, chunk, (size_t) n);
                keep_tail(tail, chunk, (size_t) n);
        }
}

/* SIGTERM to the child's process group, a grace period, then SIGKILL to what is left. */
static void kill_group(pid_t pid) {
        (void) kill(-pid, SIGTERM);
        for (int i = 0; i < 50; i++) {
                if (waitpid(pid, NULL, WNOHANG) != 0)
                        break;
                usleep(20000);
        }
        (void) kill(-pid, SIGKILL);
}

/* Waits for the child; its exit status (128+N for signal N) and a failed exec into res. */
static void reap(pid_t pid, int err_fd, ExecResult *res) {
        int status = 0;
        while (waitpid(pid, &status, 0) < 0) {
                if (errno != EINTR) {
                        status = 0;
                        break;
                }
        }
        if (res->timed_out)
                (void) kill(-pid, SIGKILL);
        int e = 0;
        if (read(err_fd, &e, sizeof e) == (ssize_t) sizeof e)
                res->exec_errno = e;
        if (WIFEXITED(status))
                res->status = WEXITSTATUS(status);
        else if (WIFSIGNALED(status))
                res->status = 128 + WTERMSIG(status);
}

int exec_run(const ExecSpec *spec, ExecResult *ret) {
        ExecResult res = {0};
        Buf tail = {0};
        int out_fd = -EBADF, err_fd = -EBADF;
        pid_t pid = 0;
        int r;

        if (!spec->argv || !spec->argv[0])
                return -EINVAL;
        r = spawn(spec, &pid, &out_fd, &err_fd);
        if (r < 0)
                return r;
        res.timed_out = collect_output(spec, out_fd, &tail);
        if (res.timed_out)
                kill_group(pid);
        close(out_fd);
        reap(pid, err_fd, &res);
        close(err_fd);

        res.output = buf_steal(&tail);
        if (strlen(res.output) > EXEC_OUTPUT_KEEP)
                memmove(res.output, res.output + strlen(res.output) - EXEC_OUTPUT_KEEP, EXEC_OUTPUT_KEEP + 1);
        *ret = res;
        return 0;
}

void exec_result_done(ExecResult *r) {
        free(r->output);
        *r = (ExecResult){0};
}

char *exec_describe(const ExecSpec *spec, const ExecResult *r) {
        if (r->exec_errno)
                return xasprintf("cannot run %s: %s", spec->argv[0], strerror(r->exec_errno));
        if (r->timed_out)
                return xasprintf("%s timed out after %us and was killed", spec->argv[0], spec->timeout_sec);
        if (r->status > 128)
                return xasprintf("%s was killed by signal %d", spec->argv[0], r->status - 128);
        return xasprintf("%s exited with status %d", spec->argv[0], r->status);
}

char *exec_failure_text(const ExecSpec *spec, ExecResult *r) {
        _cleanup_free_ char *how = exec_describe(spec, r);
        char *out = strip(r->output ? r->output : (char[]){0});
        const char *last = strrchr(out, '\n');
        last = last ? last + 1 : out;
        return *last ? xasprintf("%s: %s", how, last) : xstrdup(how);
}
