/* What a step kind is: the declaration the plan, the engine and every step kind in steps/ share. The kinds
 * themselves (one file each in steps/) and the registry behind step_kind_find() live in steps/;
 * the plan layer only declares them, so that a plan can be parsed without knowing the kinds. */
#pragma once

#include "plan/ctx.h"
#include "plan/plan.h"

typedef struct BundleBuilder BundleBuilder;

typedef enum ProbeResult {
        PROBE_NEEDED = 0,    /* apply must run */
        PROBE_SATISFIED = 1, /* the desired state is already there */
} ProbeResult;

struct StepKind {
        const char *name;
        const char *summary;           /* one line, for --help and docs */
        const char *const *keys;       /* parameter keys besides id/kind/checks/when */
        const char *default_when;      /* NULL: "always" */
        bool reboot;                   /* handled by the engine's reboot protocol */
        bool changes_nothing;          /* gate: never counts as a change */
        int (*parse)(Step *s, const YNode *map, ParseCtx *pc);
        void (*free_params)(void *params);
        /* The four below return 0 (probe: a ProbeResult) with an optional one-line *ret_detail, or
         * -errno with *reterr saying why and what to do (docs/CODING_STYLE.md: each is written only
         * in its case; reterr may be NULL). */
        /* Is the desired state already there? *ret_detail says what was found. NULL: always needed. */
        int (*probe)(const Step *s, Ctx *ctx, char **ret_detail, char **reterr);
        /* Makes the change; *ret_detail says what was done. */
        int (*apply)(const Step *s, Ctx *ctx, char **ret_detail, char **reterr);
        /* What apply would do, one line, for --dry-run and `plan show`. */
        char *(*describe)(const Step *s);
        /* Optional, for --dry-run: work out what apply would change without changing anything
         * (e.g. resolve packages); -errno when it cannot tell. */
        int (*preview)(const Step *s, Ctx *ctx, char **ret_detail, char **reterr);
        /* Optional: what this step says about the GPU stack (driver branch, toolkit version...). */
        void (*declare)(const Step *s, PlanIntent *intent);
        /* Optional, for `gpubase bundle create`: put into the bundle what apply would download (keyring
         * packages, keys, packages at the versions they resolve to, with their dependencies), and make
         * ctx->host, the builder's scratch root, look as it will after this step (sources, keyrings,
         * pins) so that later steps resolve as they will on the target. */
        int (*bundle)(const Step *s, Ctx *ctx, BundleBuilder *b, char **ret_detail, char **reterr);
        /* Optional: the run is about to change the machine (an earlier step applies) and this step
         * has yet to run. It may start work in the background that its apply will use (apt-install:
         * reading what the package lists offer); nothing it starts changes the machine or can fail
         * the run. */
        void (*ahead)(const Step *s, Ctx *ctx);
};

/* The registry (steps/steps.c): */
const StepKind *step_kind_find(const char *name);
/* NULL-terminated list of kind names (static storage). */
const char *const *step_kind_names(void);
