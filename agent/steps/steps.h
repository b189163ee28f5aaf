/* A step kind: what a plan step of that kind means. One file per kind, each exporting one
 * `const StepKind`, registered in step_kinds[] (steps.c). The engine knows steps only through
 * this table; steps know the machine only through host/. */
#pragma once

#include "../core/ctx.h"
#include "../core/plan.h"

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
        /* >= 0: a ProbeResult; < 0: the probe itself failed, *ret_detail says why. NULL: always needed. */
        int (*probe)(const Step *s, Ctx *ctx, char **ret_detail);
        /* 0: applied (optional detail); < 0: failed, *ret_detail says why and what to do. */
        int (*apply)(const Step *s, Ctx *ctx, char **ret_detail);
        /* What apply would do, one line, for --dry-run and `plan show`. */
        char *(*describe)(const Step *s);
        /* Optional, for --dry-run: work out what apply would change without changing anything
         * (e.g. resolve packages); 0 with *ret_detail, < 0 when it cannot tell (*ret_detail says why). */
        int (*preview)(const Step *s, Ctx *ctx, char **ret_detail);
        /* Optional: what this step says about the GPU stack (driver branch, toolkit version...). */
        void (*declare)(const Step *s, PlanIntent *intent);
        /* Optional, for `gpubase bundle create`: put into the bundle what apply would download (keyring
         * packages, keys, packages at the versions they resolve to, with their dependencies), and make
         * ctx->host, the builder's scratch root, look as it will after this step (sources, keyrings,
         * pins) so that later steps resolve as they will on the target. 0 with a one-line detail. */
        int (*bundle)(const Step *s, Ctx *ctx, BundleBuilder *b, char **ret_detail);
};

extern const StepKind step_gate, step_command, step_file, step_reboot, step_apt_install, step_apt_source,
        step_apt_keyring_deb, step_container_runtime, step_service_restart, step_module_blacklist;

const StepKind *step_kind_find(const char *name);
/* NULL-terminated list of kind names (static storage). */
const char *const *step_kind_names(void);

/* Reboot step parameters, read by the engine. */
typedef struct RebootParams {
        unsigned max_reboots;
} RebootParams;
