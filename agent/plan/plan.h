/* A plan: YAML -> structs. Variables are expanded once at load; every step keeps the line:col it
 * came from. Step kinds and checks are looked up in their registries (steps/, checks/) and parse
 * their own parameters. */
#pragma once

#include <stdbool.h>

#include "host/host.h"
#include "plan/schema.h"

typedef struct StepKind StepKind;
typedef struct CheckKind CheckKind;
typedef struct WhenKind WhenKind;

typedef struct CheckSpec {
        const CheckKind *kind;
        void *params;   /* owned, freed by kind->free_params */
        char *arg;      /* the parameter as one line of text, for messages and `plan show` */
        unsigned line, col;
} CheckSpec;

typedef struct Step {
        char *id;
        const StepKind *kind;
        const WhenKind *when;
        CheckSpec *checks;
        size_t n_checks;
        void *params; /* owned, freed by kind->free_params */
        char digest[65]; /* sha256 of the expanded step: a replan keeps results only of unchanged steps */
        unsigned line, col;
} Step;

typedef struct Var {
        char *name, *value;
        char *unavailable; /* built-in that could not be determined here, and why */
        bool secret;       /* `secret: true`: its value is never shown (state, status, logs, report) */
} Var;

/* What the plan says about the GPU stack it installs, gathered from its steps and checks
 * (StepKind/CheckKind `declare`): the checks, `verify --plan` and the plan-time refusals use it. */
typedef struct PlanIntent {
        char *driver_glob;   /* "595.*" */
        int driver_branch;   /* 595; -1 unknown */
        int driver_flavor;   /* a DriverFlavor; -1 unknown */
        char *ctk_version;   /* "1.19.0-1" */
        char *runtime;       /* "docker", "containerd" */
        char *origin;        /* repository host the driver must come from */
        /* nouveau: the step that blacklists it (and updates the initramfs) and the first reboot step
         * after that one, which boots without it; NULL when the plan has none */
        char *nouveau_blacklist_step;
        char *nouveau_reboot_step;
        /* Secure Boot (checks/signing.h): does a step install a kernel module that DKMS builds, or one
         * the distribution ships signed; and the signing route the plan declares (a SigningRoute, -1
         * none declared) */
        bool module_dkms, module_signed;
        int signing_route;
        /* HGX hosts: the Fabric Manager package a step installs (NULL: none), whether a step enables
         * nvidia-persistenced, and the machine's shape from the plan's `expect:` (0 / NULL: not said) */
        char *fabric_manager_pkg;
        bool persistence;
        unsigned expect_gpus, expect_nvswitches;
        char *expect_model; /* a glob: "H100*" */
        /* the container smoke test's image whose CUDA is the newest, and that CUDA ("12.8.1"); NULL:
         * none named (the default image follows the driver's ceiling) */
        char *smoke_image, *smoke_cuda;
        /* the CDI spec a cdi-generate step writes (or a cdi.spec check names); NULL: none */
        char *cdi_spec;
} PlanIntent;

void plan_intent_done(PlanIntent *i);

/* `watch:` — the drift watch (gpubase-verify.timer, `gpubase watch`) */
typedef struct PlanWatch {
        bool enable; /* a run that ends done enables and starts gpubase-verify.timer */
        bool repair; /* on drift the timer's check runs the plan again (under the lock) */
        bool reboot; /* ... and that run may reboot; else it runs with --reboot=never */
} PlanWatch;

typedef struct Plan {
        char *path; /* absolute */
        char sha256[65];
        char **overrides; /* the --var NAME=VALUE it was loaded with */
        unsigned version;
        char *name;
        char *description;
        char **match_os;   /* "ubuntu-24.04"; NULL: any */
        char **match_arch; /* "x86_64"; NULL: any */
        char **workloads_cuda;
        Var *vars; /* built-ins first, then the plan's, in order */
        char **env_values; /* every value of a step's env: map (the report redacts them) */
        size_t n_vars, n_builtin_vars;
        Step *steps;
        size_t n_steps;
        PlanIntent intent;
        PlanWatch watch;
} Plan;

#define PLAN_MAX_SIZE (1024 * 1024)
#define PLAN_MAX_STEPS 256

/* Loads and validates a plan. On error returns -EINVAL with reterr filled (file:line:col), or
 * another negative errno when the file cannot be read (reterr filled as well). */
int plan_load(const char *path, const Host *host, Plan **ret, SrcError *reterr);
/* Same, with NAME=VALUE overrides of the plan's own variables (--var): an override replaces the
 * value the plan gives (it is not expanded). Overriding a built-in or a variable the plan does not
 * define is an error. The plan's sha256 then covers the overrides too. */
int plan_load_with_vars(const char *path, const Host *host, char *const *overrides, Plan **ret, SrcError *reterr);
/* Same, from text already in memory (file is only used in messages). */
int plan_load_string(const char *file, const char *text, size_t len, const Host *host, Plan **ret,
                     SrcError *reterr);
Plan *plan_free(Plan *p);
DEFINE_TRIVIAL_CLEANUP_FUNC(Plan *, plan_free)

/* Does this host match the plan's `match:`? On mismatch returns 0 and a message. */
int plan_matches_host(const Plan *p, const Host *host, char **ret_why);
const Step *plan_find_step(const Plan *p, const char *id);
const char *plan_var(const Plan *p, const char *name);
/* The values of the variables declared `secret: true` (non-empty ones), for redact(); NULL: none. */
char **plan_secret_values(const Plan *p);
/* Is the variable name[0..len) declared secret? */
bool plan_var_is_secret(const Plan *p, const char *name, size_t len);

/* Expands ${name} in s using vars ($$ is a literal $). -EINVAL with ret_bad set to the unknown name. */
int expand_vars(const char *s, const Var *vars, size_t n_vars, char **ret, char **ret_bad);
