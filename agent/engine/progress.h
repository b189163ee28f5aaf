/* Events of a run, told to the person at the terminal (with colour and in-place progress on a
 * TTY, every line cut to its width; plain lines otherwise, in the format gpubase(1) documents under
 * OUTPUT), to the journal as structured fields, and to systemd as STATUS=. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "base/log.h"
#include "checks/checks.h"
#include "plan/ctx.h"
#include "plan/state.h"

typedef struct Progress {
        bool tty, color;
        bool journal; /* send structured entries (real machine only) */
        bool quiet;   /* -q: the step lines and nothing else */
        int verbose;
        int id_w, kind_w, count_w; /* column widths: the plan's longest id, the longest kind, "[n/n]" */
        const char *run_id, *plan_name;
} Progress;

void progress_init(Progress *r, const Ctx *ctx);
void progress_step_start(Progress *r, size_t i, size_t n, const Step *s);
void progress_step_end(Progress *r, size_t i, size_t n, const Step *s, const StepRecord *rec, uint64_t elapsed_usec);
void progress_check(Progress *r, const Step *s, const CheckSpec *c, const CheckResult *res);
void progress_note(Progress *r, const char *fmt, ...) _printf_(2, 3);
