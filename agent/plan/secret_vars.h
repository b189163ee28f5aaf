/* Variables declared `secret: true` (plan.h): their values are never written where a person or a
 * report reads them. The checkpoint keeps NAME=<redacted> in its list of --var overrides; the values
 * given with --var are kept for `resume` (which, after a reboot, runs from the unit with nobody to
 * type them) in their own file, GPUBASE_SECRET_VARS: 0600 in the 0700 state directory, never
 * collected by `report`, removed when the run is done and by `reset`.
 * Functions return 0 or -errno; *reterr is written on failure only. */
#pragma once

#include "plan/plan.h"
#include "plan/state.h"

#define GPUBASE_SECRET_VARS GPUBASE_STATE_DIR "/secret-vars"

/* p's --var overrides as the checkpoint keeps them: a secret one as NAME=<redacted>. NULL: none. */
char **secret_vars_masked(const Plan *p);
/* Writes p's overrides of secret variables to path (host path; 0600, atomically), or removes the
 * file when there are none. */
int secret_vars_save(const char *path, const Plan *p, char **reterr);
/* In vars (a checkpoint's list), replaces each NAME=<redacted> with the value path keeps, or with
 * the one given in given (--var NAME=VALUE, which wins). -ENOKEY with *reterr naming the variable and
 * the fix when one has no value. */
int secret_vars_restore(const char *path, char *const *given, char **vars, char **reterr);

/* *text (owned, may be NULL) with every secret replaced by REDACTED (base/util.h redact()). */
void redact_in_place(char **text, char *const *secrets);
/* Every message of the state (the run's error, each step's detail and error) so redacted: the
 * engine calls it before it prints a step's end and before every checkpoint. */
void state_redact(State *s, char *const *secrets);
