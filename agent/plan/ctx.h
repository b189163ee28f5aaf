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
        int verbose;
        /* Set by a step whose apply gave up because someone else holds a lock it needs (the dpkg
         * lock past its timeout): the run is busy (exit 75), not broken. Only this makes a step's
         * failure "busy"; an -EBUSY from anything else (a file bind-mounted over the one a step
         * replaces) is an ordinary failure. The engine clears it before each apply. */
        bool lock_busy;
} Ctx;
