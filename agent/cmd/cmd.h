/* One file per subcommand; main.c only parses the global options and dispatches. */
#pragma once

#include <stdbool.h>

#include "checks/checks.h"
#include "plan/ctx.h"
#include "engine/exitcode.h"
#include "plan/plan.h"
#include "plan/state.h"

enum {
        OPT_ROOT = 1 << 0,
        OPT_REBOOT = 1 << 1,
        OPT_DRY_RUN = 1 << 2,
        OPT_REPLAN = 1 << 3,
        OPT_JSON = 1 << 4,
        OPT_TIMEOUT = 1 << 5,
        OPT_VERBOSE = 1 << 6,
        OPT_PLAN = 1 << 7,
        OPT_VAR = 1 << 8,
        OPT_OUTPUT = 1 << 9,
        OPT_BUNDLE = 1 << 10,
        OPT_IMAGE = 1 << 11,
        OPT_KEEP_CACHE = 1 << 12,
        OPT_TEXTFILE = 1 << 13,
        OPT_SMOKE = 1 << 14,
        OPT_QUIET = 1 << 15,
        _OPT_LAST = OPT_QUIET,
};

typedef struct Args {
        Host host;
        RebootMode reboot;
        bool dry_run, replan, json;
        bool smoke;       /* verify --smoke: also start a container (runtime.smoke) */
        bool no_programs; /* gpubase report: checks run no program (command-succeeds is skipped) */
        int verbose;
        bool quiet;       /* -q: one line per step (run, resume) */
        unsigned timeout; /* wait --timeout, seconds; 0: none */
        const char *plan; /* verify --plan */
        char **vars;      /* --var NAME=VALUE */
        const char *output; /* -o FILE (report, bundle create) */
        const char *bundle; /* run/resume --bundle FILE */
        bool keep_cache;  /* run/resume --image --keep-cache: the apt lists and archives stay in the image */
        const char *textfile; /* verify --textfile PATH */
        int events_fd;    /* run/resume --json: the JSON event stream (stdout as it was); 0: none */
        unsigned seen;    /* OPT_* given on the command line */
} Args;

typedef struct Command {
        const char *name;
        const char *usage;
        const char *summary;
        unsigned opts; /* OPT_* this command accepts */
        int min_args, max_args;
        int (*run)(Args *a, int argc, char **argv);
        const char *help; /* `gpubase COMMAND --help`: what it does in detail; NULL: the summary */
} Command;

int cmd_run(Args *a, int argc, char **argv);
int cmd_resume(Args *a, int argc, char **argv);
int cmd_status(Args *a, int argc, char **argv);
int cmd_wait(Args *a, int argc, char **argv);
int cmd_plan(Args *a, int argc, char **argv);
int cmd_reset(Args *a, int argc, char **argv);
int cmd_verify(Args *a, int argc, char **argv);
int cmd_report(Args *a, int argc, char **argv);
int cmd_bundle(Args *a, int argc, char **argv);
int cmd_watch(Args *a, int argc, char **argv);

extern const char cmd_report_help[];
extern const char cmd_bundle_help[];
extern const char cmd_verify_help[];
extern const char cmd_watch_help[];

/* Shared by the subcommands. Each returns an exit code and has told the user why. */
int load_plan_or_complain(Args *a, const char *path, char *const *vars, bool check_match, Plan **ret);
int take_lock_or_complain(Args *a, int *ret_fd);
/* EXIT_OK with *ret NULL when there is no state file. */
int load_state_or_complain(Args *a, State **ret);
char *state_file_path(Args *a);

/* Shared by run and resume (cmd/run_common.c). */
typedef struct BundleManifest BundleManifest;
/* The plan of an unfinished run changed: refuse, or with --replan carry on with the new one. */
int reconcile_plan(Args *a, State *st, const Plan *p);
/* Hands the run to the engine and says how it ended. */
int run_with(Args *a, Plan *p, State *st);
/* A plan that others can write is refused before it is read. */
int refuse_unsafe_plan(const char *plan);
/* The lock (unless --dry-run, or *lock is held already), then the state (*st NULL when none). */
int lock_and_load(Args *a, int *lock, State **st);
/* --bundle FILE: checked and extracted (a dry run: to *ret_tmp, which the caller removes). */
int open_bundle(Args *a, BundleManifest **ret, char **ret_tmp);
/* A run started with --bundle keeps using its extracted bundle (checked again) when it goes on. */
int reattach_bundle(Args *a, const State *st);

/* run/resume --image (cmd/image.c): the plan fits an image and the tree can resume it at its first
 * boot; then the engine runs inside the tree's mounts, and the tree is left clean. */
int image_refuse_unfit(Args *a, const Plan *p);
int image_run_engine(Args *a, Ctx *ctx, const char *state_path);
/* The tree's run waits for its first boot already: tidy what a killed run left, say so, and return
 * EXIT_REBOOT_PENDING; -1 when that is not the case (or not --image). */
int image_built_already(Args *a, State *st);
/* The copy of the plan an image's first boot reads (the state names it instead of the build host's
 * file); under --root it is taken from inside the root. */
#define IMAGE_PLAN GPUBASE_STATE_DIR "/plan.yaml"

/* Shared by status and wait (cmd/common.c). The state says running but no agent holds the lock:
 * the agent died (kill -9, a crash, the OOM killer). *ret_msg says which step and what to run. */
bool agent_died(Args *a, const State *st, char **ret_msg);
/* A reboot is pending, the machine has rebooted since (the boot id changed), and nothing will go
 * on with the run: no agent holds the lock and gpubase.service is not enabled. *ret_msg says what
 * to run. */
bool reboot_unattended(Args *a, const State *st, char **ret_msg);
/* The run is busy (a step found the dpkg lock held past its lock_timeout, exit 75), no agent holds
 * the lock and gpubase.service is not starting (running, or waiting to start again after its exit
 * 75): nothing will go on with the run. *ret_msg says what to run. */
bool busy_unattended(Args *a, const State *st, char **ret_msg);

/* Shared by verify and watch (cmd/verify.c, cmd/textfile.c). */
#define VERIFY_JSON_FORMAT 1 /* "format" of verify --json (packaging/schema/verify.schema.json) */
#define STATUS_JSON_FORMAT 1 /* "format" of status --json (packaging/schema/status.schema.json) */
#define VERIFY_TEXTFILE_DEFAULT "/var/lib/prometheus/node-exporter/gpubase.prom"
typedef struct VerifyRow {
        char *name;
        CheckResult res;
} VerifyRow;
typedef struct VerifyReport {
        VerifyRow *rows;
        size_t n;
        unsigned count[_CHECK_STATUS_MAX];
} VerifyReport;
/* Runs every GPU-stack check (with p: against its intent, and its own checks too). */
void verify_collect(Args *a, const Plan *p, VerifyReport *ret);
void verify_report_done(VerifyReport *v);
/* 0 all ok, EXIT_DRIFT warnings, EXIT_FAILED failures */
int verify_exit_code(const VerifyReport *v);
/* The report, the stack's facts and the last run in Prometheus' text format, written atomically to
 * path (under --root: inside it). 0, or -errno with *reterr. */
int verify_textfile_write(Args *a, const VerifyReport *v, const char *path, char **reterr);
/* run/resume --json: the events go to stdout as it was, everything else printed to stdout to stderr. */
int json_events_begin(Args *a);
