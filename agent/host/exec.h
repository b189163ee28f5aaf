/* Running programs: an argv vector, never a shell. The child gets its own process group (so a
 * timeout kills everything it started) and dies with the agent (PR_SET_PDEATHSIG), so a killed
 * agent never leaves a step half-running behind a later resume. */
#pragma once

#include <stdbool.h>

#include "base/util.h"

typedef struct ExecSpec {
        char *const *argv;
        char *const *env;     /* extra NAME=VALUE entries, may be NULL */
        unsigned timeout_sec; /* 0: none */
        bool echo;            /* copy the program's output to stderr as it arrives */
        const char *chroot;   /* run inside this directory (host/confine.h; argv[0] is a path inside it), or NULL */
} ExecSpec;

typedef struct ExecResult {
        int status;       /* exit code; 128+N when killed by signal N */
        bool timed_out;
        int exec_errno;   /* the program could not be started (ENOENT, EACCES, ...) */
        char *output;     /* the last EXEC_OUTPUT_KEEP bytes of stdout+stderr */
} ExecResult;

#define EXEC_OUTPUT_KEEP 4096

int exec_run(const ExecSpec *spec, ExecResult *ret);
void exec_result_done(ExecResult *r);
/* One line saying how it ended: "exited with status 3", "timed out after 5s", "not found". */
char *exec_describe(const ExecSpec *spec, const ExecResult *r);
/* The same, followed by the last line the program printed, if any. */
char *exec_failure_text(const ExecSpec *spec, ExecResult *r);
