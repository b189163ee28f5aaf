/* What engine.c and reboots.c share: the engine's own state and what a step comes to. Not for
 * the layers above: engine.h is the engine's interface. */
#pragma once

#include <stdint.h>
#include <sys/types.h>

#include "engine/events.h"
#include "engine/progress.h"
#include "plan/ctx.h"
#include "plan/step.h"

typedef struct Engine {
        Ctx *ctx;
        Progress progress;
        Events events;
        const char *state_path;
        uint64_t step_t0;
        bool step_changed; /* the step being run applied (or, dry, would apply) a change */
        char **secrets; /* the values of the plan's secret variables: never printed, never checkpointed */
        size_t first_boot; /* --image: the step the image's first boot begins with (engine/image.h) */
        bool looked_ahead; /* look_ahead() was done: the later steps were told a change is coming */
} Engine;

/* What a step, or the look at a reboot that was requested, comes to. Only engine_run() turns it
 * into a process exit code: the internals never mix exit codes, sentinels and -errno. */
typedef enum Outcome {
        OUTCOME_NEXT,           /* finished (done, skipped, or described by a dry run): go on */
        OUTCOME_FAILED,         /* a step failed, or the checkpoint could not be written; told */
        OUTCOME_BUSY,           /* someone else holds the dpkg lock past the timeout: busy, not broken */
        OUTCOME_REBOOT_PENDING, /* a reboot must happen before the run can go on */
        OUTCOME_DRY_REBOOT,     /* a dry run reached a reboot: the later steps come after it */
        OUTCOME_INTERRUPTED,    /* SIGTERM or SIGINT came: the run stopped, recorded as interrupted */
} Outcome;

/* engine.c */
int engine_checkpoint(Engine *e);
void engine_end_step(Engine *e, size_t i, StepState to);
void engine_progress_end(Engine *e, size_t i);
Outcome engine_fail_step(Engine *e, size_t i, char *msg /* owned */);
bool engine_checks_pass(Engine *e, const Step *s, char **ret_why);

/* reboots.c */
/* Step i needs a reboot (why): allowed and requested, or described in a dry run. */
Outcome engine_request_reboot(Engine *e, size_t i, const char *why);
/* A step that asked for a reboot, seen again in a new boot: its checks decide. */
Outcome engine_after_reboot(Engine *e, size_t i);
/* The step that asked for a reboot and whether it happened: *ret_rebooted its index (-1: none). */
Outcome engine_find_reboot(Engine *e, ssize_t *ret_rebooted);
