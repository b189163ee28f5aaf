/* What a step, a check or a condition can see while a plan runs. */
#pragma once

#include <stdbool.h>

#include "host/host.h"

typedef struct Plan Plan;
typedef struct State State;

typedef enum RebootMode {
        REBOOT_NOW,   /* ask the machine to reboot, exit 3 */
        REBOOT_EXIT,  /* checkpoint and exit 3: Packer/Ansible reboot the machine */
        REBOOT_NEVER, /* a needed reboot fails the step */
        _REBOOT_MODE_MAX,
        _REBOOT_MODE_INVALID = -EINVAL,
} RebootMode;

const char *reboot_mode_to_string(RebootMode m);
RebootMode reboot_mode_from_string(const char *s);

typedef struct Ctx {
        Host *host;
        const Plan *plan;
        State *state;
        RebootMode reboot_mode;
        bool dry_run;
        bool replan;
        bool no_programs; /* gpubase report: a check that would run a program (command-succeeds) is skipped */
        int verbose;
        bool quiet; /* -q: one line per step, no progress, no check lines */
        int stop_fd; /* readable once the agent was told to stop (SIGTERM, SIGINT): the programs a step
                      * runs (ExecSpec.stop_fd) are stopped. 0: none (verify, bundle create) */
        /* Set by a step whose apply gave up because someone else holds a lock it needs (the dpkg
         * lock past its timeout): the run is busy (exit 75), not broken. Only this makes a step's
         * failure "busy"; an -EBUSY from anything else (a file bind-mounted over the one a step
         * replaces) is an ordinary failure. The engine clears it before each apply. */
        bool lock_busy;
        int events_fd; /* run/resume --json: where the JSON events go (engine/events.h); 0: nowhere */
} Ctx;

/* Copy a program's output to the terminal as it arrives (ExecSpec.echo)? At -v level and above,
 * unless the plan has secret variables: live output could print their values (the output's tail
 * still reaches the step's error, redacted). */
bool ctx_echo(const Ctx *ctx, int level);

/* Where a file the plan reads (apt-source key_file, apt-keyring-deb path) is: a relative path is
 * taken from the plan's directory on this machine; an absolute one is a path of the machine the
 * run provisions (under --root: of the root), except with --image, where the plan's files are the
 * build host's (the root is the image being built, its outputs go there). */
char *ctx_input_path(const Ctx *ctx, const Host *src, const char *path);
