/* Read-only probes shared by plan steps (`checks:`) and, later, by `gpubase verify`.
 * A check never changes the machine. */
#pragma once

#include "plan/ctx.h"
#include "plan/plan.h"

typedef enum CheckStatus {
        CHECK_OK,
        CHECK_WARN,
        CHECK_FAIL,
        CHECK_SKIP,
        _CHECK_STATUS_MAX,
        _CHECK_STATUS_INVALID = -EINVAL,
} CheckStatus;

const char *check_status_to_string(CheckStatus s);

typedef struct CheckResult {
        CheckStatus status;
        char *detail; /* one line: what was found */
        char *fix;    /* for anything not ok: what to do */
} CheckResult;

void check_result_set(CheckResult *r, CheckStatus s, char *detail, char *fix); /* takes ownership */
void check_result_done(CheckResult *r);

typedef enum CheckParam {
        CHECK_PARAM_NONE,     /* a bare name */
        CHECK_PARAM_OPTIONAL,
        CHECK_PARAM_REQUIRED,
} CheckParam;

struct CheckKind {
        const char *name;
        const char *summary;
        CheckParam param;
        /* param is NULL for a bare name. */
        int (*parse)(CheckSpec *c, const YNode *param, ParseCtx *pc);
        void (*free_params)(void *params);
        void (*run)(const CheckSpec *c, Ctx *ctx, CheckResult *ret);
        /* Optional: what a parameter of this check says about the plan's GPU stack. */
        void (*declare)(const CheckSpec *c, PlanIntent *intent);
        /* Part of `gpubase verify`'s report (the GPU-stack checks, in table order). */
        bool verify;
};

extern const CheckKind check_file_exists, check_file_contains, check_command_succeeds;
extern const CheckKind check_nouveau, check_secureboot, check_driver_loaded, check_driver_version, check_driver_stale,
        check_driver_origin, check_driver_held, check_ctk_installed, check_ctk_held, check_runtime_configured,
        check_runtime_restarted, check_driver_nvml, check_driver_cuda_ceiling, check_toolkit_nvcc, check_gpu_present,
        check_gpu_open_module_supported, check_driver_flavor;

const CheckKind *check_kind_find(const char *name);
const char *const *check_kind_names(void);
/* The i-th registered kind, NULL past the end (registry order). */
const CheckKind *check_kind_at(size_t i);

/* Parses one `checks:` entry: a name, or a one-key map {name: parameters}. */
int check_spec_parse(CheckSpec *c, const YNode *entry, ParseCtx *pc);
void check_spec_done(CheckSpec *c);
/* "file-exists /etc/x" */
char *check_spec_label(const CheckSpec *c);
