/* Read-only probes shared by plan steps (`checks:`) and, later, by `gpubase verify`.
 * A check never changes the machine. */
#pragma once

#include "../core/ctx.h"
#include "../core/plan.h"

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
};

extern const CheckKind check_file_exists, check_file_contains, check_command_succeeds;

const CheckKind *check_kind_find(const char *name);
const char *const *check_kind_names(void);

/* Parses one `checks:` entry: a name, or a one-key map {name: parameters}. */
int check_spec_parse(CheckSpec *c, const YNode *entry, ParseCtx *pc);
void check_spec_done(CheckSpec *c);
/* "file-exists /etc/x" */
char *check_spec_label(const CheckSpec *c);
