/* command-succeeds: [argv] — the program exits 0. Runs on the host (argv, never a shell). */
#include <string.h>

#include "base/log.h"
#include "host/exec.h"
#include "checks/checks.h"

static int command_succeeds_parse(CheckSpec *c, const YNode *param, ParseCtx *pc) {
        char **argv = NULL;
        if (schema_strv(pc, param, "command-succeeds", false, &argv) < 0)
                return -EINVAL;
        c->params = argv;
        return 0;
}

static void command_succeeds_free(void *p) {
        strv_free(p);
}

static void command_succeeds_run(const CheckSpec *c, Ctx *ctx, CheckResult *ret) {
        char **argv = c->params;
        ExecSpec spec = {.argv = argv, .timeout_sec = 300, .output = ctx_echo(ctx, 1) ? log_program_output : NULL,
                         .stop_fd = ctx->stop_fd};
        _cleanup_(exec_result_done) ExecResult res = {0};
        if (ctx->no_programs) {
                check_result_set(ret, CHECK_SKIP, xasprintf("not run: %s is a program, and gpubase report runs none", argv[0]),
                                 NULL);
                return;
        }
        int r = exec_run(&spec, &res);
        if (r < 0) {
                check_result_set(ret, CHECK_FAIL, xasprintf("cannot start %s: %s", argv[0], strerror(-r)), NULL);
                return;
        }
        if (res.exec_errno || res.status != 0 || res.timed_out) {
                check_result_set(ret, CHECK_FAIL, exec_failure_text(&spec, &res),
                                 res.exec_errno ? xasprintf("install %s or fix the check's argv", argv[0]) : NULL);
                return;
        }
        check_result_set(ret, CHECK_OK, xasprintf("%s succeeded", argv[0]), NULL);
}

const CheckKind check_command_succeeds = {
        .name = "command-succeeds",
        .summary = "a program (argv list, no shell) exits 0",
        .param = CHECK_PARAM_REQUIRED,
        .parse = command_succeeds_parse,
        .free_params = command_succeeds_free,
        .run = command_succeeds_run,
};
