/* What the root's package lists offer (apt_shim_names(), kept in APT_NAMES_CACHE), read ahead in a
 * child process while the run does other work: the first scoped apt-install step of a run on
 * fresh lists reads them all (a real host's are 20 to 100 MB once decompressed), and that can
 * happen beside a keyring's download and dpkg's run rather than after them. The child changes
 * nothing but the cache, which is only ever replaced whole, by a rename, and checked against its
 * list when read: a child that dies halfway, or lists that change meanwhile, cost only a scan in
 * the step itself, as without it. */
#include "host/apt.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/error.h"
#include "host/exec.h"

static pid_t warm_pid; /* the child, until waited for */
static bool warm_started;

/* In the child: the names of every list of the root's own sources into the cache, then _exit. */
static _noreturn_ void warm_child(const Host *h, pid_t parent) {
        /* gone with gpubase (a kill -9 included), and quiet: what it sees, the step sees again */
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
                _exit(0);
        exec_child_signals(); /* not the agent's handlers: its SIGTERM one would report a stop */
        int null = open("/dev/null", O_RDWR | O_CLOEXEC);
        if (null < 0)
                _exit(0);
        for (int fd = 0; fd <= 2; fd++)
                (void) dup2(null, fd);
        /* nothing of the parent's held open here: not its locks, not its checkpoint's directory */
        (void) close_range(3, ~0U, 0);
        /* read-only: nothing is made in the root (apt_session_open() leaves it as it is); the
         * probes' session it inherits is the parent's, and stays so (host/apt.c, kept_close()) */
        AptSession as = {0};
        AptSessionOptions o = {.readonly = true, .deferred = true};
        _cleanup_free_ char *err = NULL;
        char **files = NULL;
        AptNames *names = NULL;
        if (apt_session_open(&as, h, &o, &err) >= 0 && as.own_sources &&
            apt_session_names(&as, &files, &names, NULL) >= 0) {
                strv_free(files);
                apt_names_free(names);
        }
        apt_session_close(&as);
        _exit(0);
}

static void warm_reap(void) {
        apt_names_ahead_wait();
}

void apt_names_ahead(const Host *h) {
        if (warm_started || h->apt_bundle)
                return;
        warm_started = true;
        pid_t parent = getpid();
        fflush(stdout);
        fflush(stderr);
        /* every signal held off across the fork, as exec_run() does: a SIGTERM let in before the
         * child resets the handlers would run the agent's, which tells the agent itself to stop */
        sigset_t all, saved;
        sigfillset(&all);
        (void) sigprocmask(SIG_SETMASK, &all, &saved);
        pid_t pid = fork();
        if (pid != 0)
                (void) sigprocmask(SIG_SETMASK, &saved, NULL);
        if (pid < 0)
                return; /* the step reads the lists itself */
        if (pid == 0)
                warm_child(h, parent);
        warm_pid = pid;
        (void) atexit(warm_reap);
}

void apt_names_ahead_wait(void) {
        if (warm_pid <= 0)
                return;
        while (waitpid(warm_pid, NULL, 0) < 0 && errno == EINTR)
                ;
        warm_pid = 0;
}
