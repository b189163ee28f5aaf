/* killer DELAY_US -- PROGRAM [ARGS...]
 *
 * Runs PROGRAM in a process group of its own and SIGKILLs the whole group after DELAY_US
 * microseconds if it is still running: a crash at a chosen instant, for the crash-consistency test
 * (tests/integration/crash.sh). Exits with the program's exit code (128+N if a signal other than
 * ours ended it), or 137 if it was killed here. Prints nothing on success; usage and system errors go
 * to stderr with exit 125 (126/127 when PROGRAM cannot be run, like the shell).
 *
 * The parent waits for SIGCHLD with sigtimedwait() (a sleep that a child's exit ends early), with
 * the deadline taken from a monotonic clock just before the fork, so a program that finishes before
 * the delay is passed through at once. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void usage(void) {
        fprintf(stderr, "usage: killer DELAY_US -- PROGRAM [ARGS...]\n");
        exit(125);
}

static long long mono_us(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (long long) ts.tv_sec * 1000000LL + ts.tv_nsec / 1000;
}


static int exit_code(int status) {
        if (WIFEXITED(status))
                return WEXITSTATUS(status);
        if (WIFSIGNALED(status))
                return 128 + WTERMSIG(status);
        return 125;
}

int main(int argc, char **argv) {
        char *end = NULL;
        long long delay;
        int status = 0;
        pid_t pid, w;

        if (argc < 4 || strcmp(argv[2], "--") != 0)
                usage();
        errno = 0;
        delay = strtoll(argv[1], &end, 10);
        if (errno || !end || *end || end == argv[1] || delay < 0)
                usage();

        sigset_t chld, old;
        sigemptyset(&chld);
        sigaddset(&chld, SIGCHLD);
        if (sigprocmask(SIG_BLOCK, &chld, &old) < 0) {
                perror("killer: sigprocmask");
                return 125;
        }
        long long deadline = mono_us() + delay;
        pid = fork();
        if (pid < 0) {
                perror("killer: fork");
                return 125;
        }
        if (pid == 0) {
                (void) setpgid(0, 0);
                (void) sigprocmask(SIG_SETMASK, &old, NULL);
                execvp(argv[3], argv + 3);
                fprintf(stderr, "killer: cannot run %s: %s\n", argv[3], strerror(errno));
                _exit(errno == ENOENT ? 127 : 126);
        }
        /* from the parent too, so that the group exists before any kill(-pid) */
        (void) setpgid(pid, pid);

        for (;;) {
                w = waitpid(pid, &status, WNOHANG);
                if (w == pid)
                        return exit_code(status);
                if (w < 0 && errno != EINTR) {
                        perror("killer: waitpid");
                        return 125;
                }
                long long left = deadline - mono_us();
                if (left <= 0)
                        break;
                struct timespec ts = {.tv_sec = (time_t) (left / 1000000LL),
                                      .tv_nsec = (long) (left % 1000000LL) * 1000L};
                if (sigtimedwait(&chld, NULL, &ts) < 0 && errno != EAGAIN && errno != EINTR) {
                        perror("killer: sigtimedwait");
                        return 125;
                }
        }

        /* The delay is over and it is still running (or just exited and not yet reaped: then the
         * group is gone or a zombie, and the kill changes nothing). */
        if (kill(-pid, SIGKILL) < 0 && errno != ESRCH)
                (void) kill(pid, SIGKILL);
        while ((w = waitpid(pid, &status, 0)) < 0 && errno == EINTR)
                ;
        if (w < 0) {
                perror("killer: waitpid");
                return 125;
        }
        if (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
                return 137;
        return exit_code(status);
}
