/* Running programs: an argv vector, never a shell. The child gets its own process group and dies
 * with the agent (PR_SET_PDEATHSIG), so a killed agent never leaves a step half-running behind a
 * later resume. The run ends when the program itself exits, not when the last process it started
 * closes its output: what is already in the pipe is read, and whatever is left in its process
 * group is named in the result and killed (SIGTERM, a short grace, SIGKILL) unless the spec says
 * detach. A timeout, or a byte on stop_fd (the agent was told to stop), kills the whole group.
 * Nothing here prints: the caller gets the output through spec->output and decides. */
#pragma once

#include <stdbool.h>

#include "base/util.h"

/* Called with each piece of the program's output (stdout and stderr together) as it arrives. */
typedef void (*ExecOutputFn)(const char *data, size_t n, void *userdata);

typedef struct ExecSpec {
        char *const *argv;
        char *const *env;     /* extra NAME=VALUE entries, may be NULL */
        unsigned timeout_sec; /* 0: none */
        ExecOutputFn output;  /* NULL: the output is only kept (ExecResult.output) */
        void *userdata;       /* for output */
        int stop_fd;          /* > 0: readable means stop now (the group is killed, ExecResult.stopped);
                               * it is only polled, never read. 0 (the default): none */
        bool detach;          /* leave what the program started in its group running after it exits */
        int stdin_fd;         /* > 0: the program's standard input (read from where it stands); else /dev/null */
        const char *chroot;   /* run inside this directory (host/enter_root.h; argv[0] is a path inside it), or NULL */
} ExecSpec;

typedef struct ExecResult {
        int status;       /* exit code; 128+N when killed by signal N */
        bool timed_out;   /* the timeout fired while the program ran: its group was killed */
        bool stopped;     /* stop_fd became readable while the program ran: its group was killed */
        int exec_errno;   /* the program could not be started (ENOENT, EACCES, ...) */
        char *output;     /* the last EXEC_OUTPUT_KEEP bytes of stdout+stderr */
        char *leftover;   /* what of its group still ran when it exited: "sleep (pid 42), ...", or NULL;
                           * killed unless spec->detach */
} ExecResult;

#define EXEC_OUTPUT_KEEP 4096
/* SIGTERM first; what still runs after this long gets SIGKILL. */
#define EXEC_KILL_GRACE_MSEC 2000

int exec_run(const ExecSpec *spec, ExecResult *ret);
void exec_result_done(ExecResult *r);
/* In a child of gpubase, first thing after fork(): handled signals back to their defaults, ignored
 * ones left ignored (as exec would leave them), SIGPIPE the default again, then the signals let in.
 * exec_run()'s children do it, and so does any other child (host/apt_names.c). */
void exec_child_signals(void);
/* One line saying how it ended: "exited with status 3", "timed out after 5s", "not found". */
char *exec_describe(const ExecSpec *spec, const ExecResult *r);
/* The same, followed by the last line the program printed, if any. */
char *exec_failure_text(const ExecSpec *spec, ExecResult *r);
