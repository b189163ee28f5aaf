#include "host/exec.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "host/enter_root.h"

/* How the wait for the program ended. */
typedef enum Ending {
        ENDING_EXITED,
        ENDING_TIMED_OUT,
        ENDING_STOPPED,
} Ending;

static void keep_tail(Buf *b, const char *data, size_t n) {
        buf_append(b, data, n);
        if (b->len > 2 * EXEC_OUTPUT_KEEP) {
                memmove(b->data, b->data + b->len - EXEC_OUTPUT_KEEP, EXEC_OUTPUT_KEEP);
                b->len = EXEC_OUTPUT_KEEP;
                b->data[b->len] = 0;
        }
}

/* In the child, before anything else: the parent's signal handlers are not for it (a signal that
 * came between fork and exec would run them: the agent's SIGTERM handler would report a stop to
 * the agent itself). Handled signals go back to their defaults, ignored ones stay ignored (as exec
 * would leave them), SIGPIPE is the default again; then the signals are let in. */
void exec_child_signals(void) {
        for (int sig = 1; sig < NSIG; sig++) {
                struct sigaction sa;
                if (sig == SIGKILL || sig == SIGSTOP || sigaction(sig, NULL, &sa) < 0)
                        continue;
                if (sig == SIGPIPE || (sa.sa_handler != SIG_DFL && sa.sa_handler != SIG_IGN))
                        (void) signal(sig, SIG_DFL);
        }
        sigset_t none;
        sigemptyset(&none);
        (void) sigprocmask(SIG_SETMASK, &none, NULL);
}

static _noreturn_ void child(const ExecSpec *spec, int out_fd, int err_pipe, pid_t parent) {
        int e;
        exec_child_signals();
        (void) setpgid(0, 0);
        (void) prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
                _exit(127);
        int nullfd = spec->stdin_fd > 0 ? spec->stdin_fd : open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (nullfd >= 0 && dup2(nullfd, 0) < 0)
                _exit(127);
        if (dup2(out_fd, 1) < 0 || dup2(out_fd, 2) < 0)
                _exit(127);
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
        /* every signal held off across the fork: the child resets its handlers before it lets
         * them in (exec_child_signals()) */
        sigset_t all, saved;
        sigfillset(&all);
        (void) sigprocmask(SIG_SETMASK, &all, &saved);
        pid_t pid = fork();
        if (pid != 0)
                (void) sigprocmask(SIG_SETMASK, &saved, NULL);
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

/* One read of the program's output: 1 if something came, 0 at EOF or when nothing is there. */
static int read_some(const ExecSpec *spec, int fd, Buf *tail) {
        char chunk[4096];
        ssize_t n;
        do
                n = read(fd, chunk, sizeof chunk);
        while (n < 0 && errno == EINTR);
        if (n <= 0)
                return 0;
        if (spec->output)
                spec->output(chunk, (size_t) n, spec->userdata);
        keep_tail(tail, chunk, (size_t) n);
        return 1;
}

/* The program is gone: what it (or what it left behind) already wrote is read, without waiting
 * for an end of file that a process still holding the pipe would put off for ever. Bounded, so
 * that a leftover writing without pause cannot keep us here. */
static void drain(const ExecSpec *spec, int fd, Buf *tail) {
        int flags = fcntl(fd, F_GETFL);
        if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
                return;
        for (int i = 0; i < 256 && read_some(spec, fd, tail) > 0; i++)
                ;
}

/* Has the child exited? It is left a zombie (WNOWAIT), so that its pid, which names its process
 * group, cannot be taken by another process while we still signal that group. */
static bool child_exited(pid_t pid) {
        siginfo_t si = {0};
        if (waitid(P_PID, (id_t) pid, &si, WEXITED | WNOHANG | WNOWAIT) < 0)
                return errno == ECHILD;
        return si.si_pid == pid;
}

static int open_pidfd(pid_t pid) {
#ifdef SYS_pidfd_open
        int fd = (int) syscall(SYS_pidfd_open, pid, 0);
        if (fd >= 0)
                (void) fcntl(fd, F_SETFD, FD_CLOEXEC);
        return fd;
#else
        (void) pid;
        return -1;
#endif
}

/* Reads the output until the child exits, the timeout passes or stop_fd becomes readable. Without
 * a pidfd (kernels before 5.3) the child's exit is looked for every 50 ms. */
static Ending watch(const ExecSpec *spec, pid_t pid, int out_fd, Buf *tail) {
        uint64_t deadline = spec->timeout_sec ? mono_usec() + (uint64_t) spec->timeout_sec * 1000000ULL : 0;
        _cleanup_close_ int pidfd = open_pidfd(pid);

        for (;;) {
                struct pollfd p[3] = {
                        {.fd = out_fd, .events = POLLIN},
                        {.fd = pidfd, .events = POLLIN},
                        {.fd = spec->stop_fd > 0 ? spec->stop_fd : -1, .events = POLLIN},
                };
                int wait_ms = pidfd >= 0 ? -1 : 50;
                if (deadline) {
                        uint64_t now = mono_usec();
                        if (now >= deadline)
                                return ENDING_TIMED_OUT;
                        int left = (int) ((deadline - now) / 1000ULL) + 1;
                        wait_ms = wait_ms < 0 || left < wait_ms ? left : wait_ms;
                }
                int k = poll(p, 3, wait_ms);
                if (k < 0 && errno != EINTR)
                        return ENDING_STOPPED; /* cannot watch it: stop it rather than hang */
                if (k > 0 && (p[2].revents & (POLLIN | POLLHUP)))
                        return ENDING_STOPPED;
                if (k > 0 && (p[0].revents & (POLLIN | POLLHUP)) && read_some(spec, out_fd, tail) == 0)
                        out_fd = -1; /* EOF: only the exit is left to see */
                if (child_exited(pid))
                        return ENDING_EXITED;
        }
}

/* The processes of group pgid that still run (zombies do not count), but for pid `except`; with
 * desc, "comm (pid N)" of each, comma-separated. Without /proc: whether kill() finds the group. */
static unsigned group_members(pid_t pgid, pid_t except, Buf *desc) {
        _cleanup_(closedirp) DIR *d = opendir("/proc");
        if (!d)
                return kill(-pgid, 0) == 0 ? 1 : 0;
        unsigned n = 0;
        struct dirent *de;
        while ((de = readdir(d))) {
                char *end;
                long pid = strtol(de->d_name, &end, 10);
                if (*end || pid <= 0 || pid == except)
                        continue;
                char path[64], text[512];
                snprintf(path, sizeof path, "/proc/%ld/stat", pid);
                _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
                ssize_t len = fd < 0 ? -1 : read(fd, text, sizeof text - 1);
                if (len <= 0)
                        continue;
                text[len] = 0;
                /* "pid (comm) state ppid pgrp ...": comm may hold anything, even ')' */
                char *open_paren = strchr(text, '('), *close_paren = strrchr(text, ')');
                char state;
                int ppid, pgrp;
                if (!open_paren || !close_paren ||
                    sscanf(close_paren + 1, " %c %d %d", &state, &ppid, &pgrp) != 3 || pgrp != pgid || state == 'Z')
                        continue;
                if (desc) {
                        *close_paren = 0;
                        buf_printf(desc, "%s%s (pid %ld)", n ? ", " : "", open_paren + 1, pid);
                }
                n++;
        }
        return n;
}

/* Reaps the child if it has exited (once), into *status. */
static void reap_nohang(pid_t pid, int *status, bool *reaped) {
        if (!*reaped && waitpid(pid, status, WNOHANG) == pid)
                *reaped = true;
}

/* Waits up to msec for the group to empty, reaping the child on the way. */
static bool group_gone_within(pid_t pid, int *status, bool *reaped, unsigned msec) {
        for (unsigned t = 0;; t += 20) {
                reap_nohang(pid, status, reaped);
                if (*reaped && group_members(pid, 0, NULL) == 0)
                        return true;
                if (t >= msec)
                        return false;
                usleep(20 * 1000);
        }
}

/* SIGTERM to the child's process group, a grace period, then SIGKILL to what is left; the child is
 * reaped on the way (its status into *status). */
static void kill_group(pid_t pid, int *status, bool *reaped) {
        (void) kill(-pid, SIGTERM);
        (void) kill(-pid, SIGCONT); /* a stopped process only sees SIGTERM once it runs */
        if (group_gone_within(pid, status, reaped, EXEC_KILL_GRACE_MSEC))
                return;
        (void) kill(-pid, SIGKILL);
        (void) group_gone_within(pid, status, reaped, 1000);
        while (!*reaped && waitpid(pid, status, 0) < 0 && errno == EINTR)
                ;
        *reaped = true;
}

/* The child exited (a zombie still): name what it left in its group, reap it, and unless detach
 * kill the rest. */
static void finish_exited(const ExecSpec *spec, pid_t pid, int *status, ExecResult *res) {
        Buf desc = {0};
        bool reaped = false;
        if (group_members(pid, pid, &desc) > 0)
                res->leftover = buf_steal(&desc);
        buf_done(&desc);
        while (waitpid(pid, status, 0) < 0 && errno == EINTR)
                ;
        reaped = true;
        if (res->leftover && !spec->detach)
                kill_group(pid, status, &reaped);
}

static void set_status(int status, int err_fd, ExecResult *res) {
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
        int out_fd = -EBADF, err_fd = -EBADF, status = 0;
        bool reaped = false;
        pid_t pid = 0;
        int r;

        if (!spec->argv || !spec->argv[0])
                return -EINVAL;
        r = spawn(spec, &pid, &out_fd, &err_fd);
        if (r < 0)
                return r;
        Ending how = watch(spec, pid, out_fd, &tail);
        if (how == ENDING_EXITED) {
                drain(spec, out_fd, &tail);
                finish_exited(spec, pid, &status, &res);
        } else {
                res.timed_out = how == ENDING_TIMED_OUT;
                res.stopped = how == ENDING_STOPPED;
                kill_group(pid, &status, &reaped);
                drain(spec, out_fd, &tail);
        }
        close(out_fd);
        set_status(status, err_fd, &res);
        close(err_fd);

        res.output = buf_steal(&tail);
        if (strlen(res.output) > EXEC_OUTPUT_KEEP)
                memmove(res.output, res.output + strlen(res.output) - EXEC_OUTPUT_KEEP, EXEC_OUTPUT_KEEP + 1);
        *ret = res;
        return 0;
}

void exec_result_done(ExecResult *r) {
        free(r->output);
        free(r->leftover);
        *r = (ExecResult){0};
}

char *exec_describe(const ExecSpec *spec, const ExecResult *r) {
        if (r->exec_errno)
                return xasprintf("cannot run %s: %s", spec->argv[0], strerror(r->exec_errno));
        if (r->timed_out)
                return xasprintf("%s timed out after %us and was killed with what it started", spec->argv[0],
                                 spec->timeout_sec);
        if (r->stopped)
                return xasprintf("%s was stopped with what it started", spec->argv[0]);
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
