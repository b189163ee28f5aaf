/* What a check kind is: the declaration the plan, the steps, the engine and `verify` share. The
 * checks themselves and the registry behind check_kind_find() live in checks/; the plan layer only
 * declares them, so that a plan's `checks:` can be parsed without knowing the kinds. */
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

/* The registry and the `checks:` entries (checks/checks.c): */
const CheckKind *check_kind_find(const char *name);
const char *const *check_kind_names(void);
/* The i-th registered kind, NULL past the end (registry order). */
const CheckKind *check_kind_at(size_t i);

/* Parses one `checks:` entry: a name, or a one-key map {name: parameters}. */
int check_spec_parse(CheckSpec *c, const YNode *entry, ParseCtx *pc);
void check_spec_done(CheckSpec *c);
/* "file-exists /etc/x" */
char *check_spec_label(const CheckSpec *c);
