/* command: run a program (argv list, never a shell). `creates:` and `unless:` are its probes:
 * without either it runs on every run, like any command whose effect gpubase cannot see. The step
 * ends when the program exits; what it left running in its process group is named in the step's
 * detail and killed, unless `detach: true` (a command that starts a service on purpose). */
#include <string.h>
#include <sys/stat.h>

#include "base/error.h"
#include "base/log.h"
#include "plan/state.h"
#include "host/exec.h"
#include "steps/steps.h"

typedef struct CommandParams {
        char **argv;
        char *creates;
        char **unless;
        unsigned timeout;
        char **env;
        bool detach;
} CommandParams;

static const char *const command_keys[] = {"argv", "creates", "unless", "timeout", "env", "detach", NULL};

static void command_free(void *p) {
        CommandParams *c = p;
        strv_free(c->argv);
        free(c->creates);
        strv_free(c->unless);
        strv_free(c->env);
        free(c);
}

static int command_parse(Step *s, const YNode *map, ParseCtx *pc) {
        CommandParams *c = xcalloc(1, sizeof *c);
        const YNode *v;
        s->params = c;
        _cleanup_free_ char *what = xasprintf("step '%s' (kind command)", s->id);
        if (schema_require(pc, map, "argv", what, &v) < 0 || schema_strv(pc, v, "argv", false, &c->argv) < 0)
                return -EINVAL;
        if ((v = ynode_get(map, "creates")) && schema_abs_path(pc, v, "creates", &c->creates) < 0)
                return -EINVAL;
        if ((v = ynode_get(map, "unless")) && schema_strv(pc, v, "unless", false, &c->unless) < 0)
                return -EINVAL;
        if ((v = ynode_get(map, "timeout")) && schema_uint(pc, v, "timeout (seconds)", 1, 7 * 24 * 3600, &c->timeout) < 0)
                return -EINVAL;
        if ((v = ynode_get(map, "env")) && schema_env(pc, v, "env", &c->env) < 0)
                return -EINVAL;
        if ((v = ynode_get(map, "detach")) && schema_bool(pc, v, "detach", &c->detach) < 0)
                return -EINVAL;
        return 0;
}

static char **command_env(const Step *s, Ctx *ctx) {
        const CommandParams *c = s->params;
        char **env = strv_copy(c->env);
        /* --image: the command runs chrooted into the root, where it is "/" */
        strv_push(&env, xasprintf("GPUBASE_ROOT=%s", ctx->host->image ? "" : ctx->host->root));
        strv_push(&env, xasprintf("GPUBASE_STEP=%s", s->id));
        if (ctx->state && ctx->state->run_id)
                strv_push(&env, xasprintf("GPUBASE_RUN=%s", ctx->state->run_id));
        return env;
}

static int command_probe(const Step *s, Ctx *ctx, char **ret_detail, char **reterr) {
        const CommandParams *c = s->params;
        if (c->creates) {
                _cleanup_free_ char *p = host_path(ctx->host, c->creates);
                struct stat st;
                if (lstat(p, &st) == 0) {
                        *ret_detail = xasprintf("%s exists", c->creates);
                        return PROBE_SATISFIED;
                }
        }
        if (c->unless) {
                _cleanup_strv_free_ char **env = command_env(s, ctx);
                ExecSpec spec = {.argv = c->unless, .env = env, .timeout_sec = c->timeout,
                                 .output = ctx_echo(ctx, 2) ? log_program_output : NULL, .stop_fd = ctx->stop_fd,
                                 .chroot = ctx->host->image ? ctx->host->root : NULL};
                _cleanup_(exec_result_done) ExecResult res = {0};
                int r = exec_run(&spec, &res);
                if (r < 0)
                        return errorf(reterr, r, "cannot run the unless command %s: %s", c->unless[0], strerror(-r));
                if (res.exec_errno)
                        return errorf(reterr, -res.exec_errno, "cannot run the unless command: %s",
                                      strerror(res.exec_errno));
                if (res.stopped)
                        return errorf(reterr, -EINTR, "the unless command %s was stopped: gpubase was told to stop",
                                      c->unless[0]);
                if (res.status == 0 && !res.timed_out) {
                        *ret_detail = xasprintf("unless: %s exited 0", c->unless[0]);
                        return PROBE_SATISFIED;
                }
        }
        return PROBE_NEEDED;
}

/* What the step says about the processes the program left behind (NULL: none). */
static char *leftover_text(const CommandParams *c, const ExecResult *res) {
        if (!res->leftover)
                return NULL;
        if (c->detach)
                return xasprintf("left running (detach: true): %s", res->leftover);
        return xasprintf("killed what it left running: %s (set detach: true to keep them)", res->leftover);
}

static int command_apply(const Step *s, Ctx *ctx, char **ret_detail, char **reterr) {
        const CommandParams *c = s->params;
        _cleanup_strv_free_ char **env = command_env(s, ctx);
        ExecSpec spec = {.argv = c->argv, .env = env, .timeout_sec = c->timeout, .detach = c->detach,
                         .output = ctx_echo(ctx, 1) ? log_program_output : NULL, .stop_fd = ctx->stop_fd,
                         .chroot = ctx->host->image ? ctx->host->root : NULL};
        _cleanup_(exec_result_done) ExecResult res = {0};
        int r = exec_run(&spec, &res);
        if (r < 0)
                return errorf(reterr, r, "cannot start %s: %s", c->argv[0], strerror(-r));
        if (res.exec_errno)
                return errorf(reterr, -res.exec_errno, "cannot run %s: %s (is it installed and on PATH?)", c->argv[0],
                              strerror(res.exec_errno));
        _cleanup_free_ char *left = leftover_text(c, &res);
        if (left && ctx->verbose > 0)
                log_info("step '%s': %s", s->id, left);
        if (res.timed_out || res.stopped || res.status != 0) {
                _cleanup_free_ char *failure = exec_failure_text(&spec, &res);
                return errorf(reterr, res.stopped ? -EINTR : -EIO, "%s%s%s", failure, left ? "; " : "",
                              left ? left : "");
        }
        if (c->creates) {
                _cleanup_free_ char *p = host_path(ctx->host, c->creates);
                struct stat st;
                if (lstat(p, &st) < 0)
                        return errorf(reterr, -ENOENT, "%s exited 0 but did not create %s (creates:)", c->argv[0],
                                      c->creates);
        }
        *ret_detail = xasprintf("%s exited 0%s%s", c->argv[0], left ? "; " : "", left ? left : "");
        return 0;
}

static char *command_describe(const Step *s) {
        const CommandParams *c = s->params;
        _cleanup_free_ char *cmd = strv_join(c->argv, " ");
        Buf b = {0};
        buf_printf(&b, "run [%s]", cmd);
        if (c->creates)
                buf_printf(&b, " unless %s exists", c->creates);
        if (c->unless) {
                _cleanup_free_ char *u = strv_join(c->unless, " ");
                buf_printf(&b, " unless [%s] succeeds", u);
        }
        if (c->timeout)
                buf_printf(&b, " (timeout %us)", c->timeout);
        if (c->detach)
                buf_puts(&b, " (what it starts keeps running)");
        return buf_steal(&b);
}

const StepKind step_command = {
        .name = "command",
        .summary = "run a program (argv list, no shell); creates:/unless: make it idempotent",
        .keys = command_keys,
        .parse = command_parse,
        .free_params = command_free,
        .probe = command_probe,
        .apply = command_apply,
        .describe = command_describe,
};
