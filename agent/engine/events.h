/* What a run tells besides the terminal (engine/progress.h):
 * - the journal: one structured entry per event, with a fixed MESSAGE_ID (host/journal.h, explained
 *   by the catalog) and the GPUBASE_RUN, GPUBASE_PLAN, GPUBASE_STEP, GPUBASE_STATE fields;
 * - `run --json` / `resume --json`: one JSON object per line on Ctx.events_fd, in the format of
 *   packaging/schema/run-events.schema.json (EVENTS_FORMAT);
 * - the public status (GPUBASE_PUBLIC_STATUS): the checkpoint without secrets, readable by anyone,
 *   so that `gpubase status` works without root.
 * None of them may stop a run: what cannot be written is dropped. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "plan/ctx.h"
#include "plan/state.h"

#define EVENTS_FORMAT 1
/* 0644 in a 0755 directory; tmpfs: gone after a reboot until the run goes on (gpubase.service) */
#define GPUBASE_PUBLIC_STATUS "/run/gpubase/status.json"

typedef struct Events {
        Ctx *ctx;
        bool journal; /* the machine's journal, or under --root its stand-in file; never in a dry run */
        int fd;       /* the JSON event stream; -1: none */
} Events;

void events_init(Events *ev, Ctx *ctx);
void events_run_started(Events *ev, ssize_t rebooted);
void events_step_started(Events *ev, size_t i);
/* changed: apply ran (or, in a dry run, would run) and the step ended done */
void events_step_ended(Events *ev, size_t i, bool changed, uint64_t elapsed_usec);
void events_reboot_requested(Events *ev, size_t i, const char *why);
void events_run_ended(Events *ev, int exit_code);

/* Writes GPUBASE_PUBLIC_STATUS from st (atomically, 0644). Returns 0 or -errno with *reterr. */
int status_publish(const Host *h, const State *st, char **reterr);
