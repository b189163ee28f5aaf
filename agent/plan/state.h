/* The checkpoint: /var/lib/gpubase/state.json (0600). Written atomically before a step changes
 * anything and after it did, when a run stops (failed, interrupted, waiting for a reboot) and when
 * it ends, so that after a crash or a reboot the run knows exactly where it was. What only read the
 * machine (a step found satisfied or not needed) rides along with the next of those writes: a
 * crash before it loses nothing that the same read-only probes would not find again. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "plan/plan.h"

typedef enum RunState {
        RUN_IDLE,
        RUN_RUNNING,
        RUN_REBOOT_PENDING,
        RUN_DONE,
        RUN_FAILED,
        RUN_INTERRUPTED, /* the agent was stopped (SIGTERM, SIGINT); resume goes on */
        RUN_BUSY,        /* a step found the dpkg lock held past its lock_timeout (exit 75) before it
                          * changed anything: that step is pending again; gpubase.service starts
                          * again by itself (Restart=), or `gpubase resume` goes on */
        _RUN_STATE_MAX,
        _RUN_STATE_INVALID = -EINVAL,
} RunState;

typedef enum StepState {
        STEP_PENDING,
        STEP_RUNNING,
        STEP_DONE,
        STEP_SKIPPED,
        STEP_FAILED,
        STEP_REBOOT_REQUESTED,
        STEP_INTERRUPTED, /* stopped by SIGTERM/SIGINT while it ran; resume runs it again */
        _STEP_STATE_MAX,
        _STEP_STATE_INVALID = -EINVAL,
} StepState;

const char *run_state_to_string(RunState s);
RunState run_state_from_string(const char *s);
const char *step_state_to_string(StepState s);
StepState step_state_from_string(const char *s);

typedef struct StepRecord {
        char *id, *kind, *digest;
        StepState state;
        bool applying;            /* apply had started when this was written */
        unsigned attempts;
        uint64_t started, finished; /* usec since the epoch, 0: never */
        char *detail, *error;
        char *reboot_boot_id;     /* boot id when this step asked for a reboot */
        unsigned reboots;         /* reboots this step has asked for */
} StepRecord;

typedef struct State {
        char *plan_path, *plan_sha256, *plan_name;
        char **vars;           /* the --var NAME=VALUE overrides the run was started with; a secret
                                * variable's as NAME=<redacted> (plan/secret_vars.h) */
        char *bundle;          /* the extracted offline bundle the run takes packages from (run --bundle), or NULL */
        char *run_id;
        RunState run_state;
        uint64_t created, updated;
        char *boot_id;         /* boot id at the last reboot request */
        unsigned reboots;      /* reboots seen by this run */
        bool changed;          /* a step applied a change since the last reboot */
        bool unit_enabled;     /* gpubase.service was enabled by this run */
        char *image;           /* run --image: "build" while the tree is being provisioned,
                                * "first-boot" once it waits for the image's first boot; NULL: no image */
        char *error;           /* why the run failed */
        StepRecord *steps;
        size_t n_steps;
} State;

/* What a state holds is bounded so that the writer never makes a file the reader refuses: a
 * step's detail and error keep their last STATE_TEXT_MAX bytes (as JSON, at most six times that:
 * a control character is written \u00XX), a plan has at most PLAN_MAX_STEPS steps, and
 * state_save() refuses (-EFBIG) rather than write more than STATE_MAX_SIZE. */
#define STATE_TEXT_MAX 4096
#define STATE_MAX_SIZE (16 * 1024 * 1024)

/* A fresh run of plan p: every step pending. */
int state_new(const Plan *p, State **ret);
State *state_free(State *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(State *, state_free)

/* -ENOENT: no state file (reterr not set). -EPERM: the file (or a directory above it) could be
 * changed by someone other than root or us (path_check_private()), so it is not read. -EBADMSG:
 * present but unreadable as a state (an empty or cut-off file, a step in a state its kind can never
 * be in...); other -errno: it cannot be read. *reterr says why, on failure only. */
int state_load(const char *path, State **ret, char **reterr);
int state_parse(const char *text, size_t len, State **ret, char **reterr);
int state_save(const char *path, State *s);
char *state_to_json(const State *s, bool pretty);

/* May a step of this kind be in this state? Every kind may be pending, running, done, skipped or
 * failed; only a kind the engine's reboot protocol handles (kind->reboot) may be reboot-requested. */
bool step_state_valid_for_kind(const StepKind *kind, StepState state);

/* The step's last attempt stopped busy (RUN_BUSY): it is pending again, with why kept as its error
 * (a pending step has no error otherwise: a new attempt clears it). Told as "busy". */
static inline bool step_record_busy(const StepRecord *r) {
        return r->state == STEP_PENDING && r->error != NULL;
}

StepRecord *state_find_step(State *s, const char *id);
/* Rebuilds the step list for a changed plan: unchanged finished steps keep their result. */
void state_replan(State *s, const Plan *p);
void step_record_set(char **field, const char *value);

#define STATE_IMAGE_BUILD "build"
#define STATE_IMAGE_FIRST_BOOT "first-boot"
/* The run waits for the first boot of the image it was provisioned into (gpubase --image). */
bool state_first_boot_pending(const State *s);
