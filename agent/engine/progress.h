/* Events of a run, told to the person at the terminal (with colour and in-place progress on a
 * TTY, plain lines otherwise), to the journal as structured fields, and to systemd as STATUS=. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "checks/checks.h"
#include "plan/ctx.h"
#include "plan/state.h"

typedef struct Report {
        bool tty, color;
        bool journal; /* send structured entries (real machine only) */
        int verbose;
        const char *run_id, *plan_name;
} Report;

void report_init(Report *r, const Ctx *ctx);
void report_step_start(Report *r, size_t i, size_t n, const Step *s);
void report_step_end(Report *r, size_t i, size_t n, const Step *s, const StepRecord *rec, uint64_t elapsed_usec);
void report_check(Report *r, const Step *s, const CheckSpec *c, const CheckResult *res);
void report_note(Report *r, const char *fmt, ...) _printf_(2, 3);

/* Messages for the user: "gpubase: error: ..." on stderr. */
void log_error(const char *fmt, ...) _printf_(1, 2);
void log_warning(const char *fmt, ...) _printf_(1, 2);
void log_info(const char *fmt, ...) _printf_(1, 2);
