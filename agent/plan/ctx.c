#include "plan/ctx.h"

#include "plan/plan.h"

#include <libgen.h>

#include "base/string_table.h"

static const char *const reboot_mode_table[_REBOOT_MODE_MAX] = {
        [REBOOT_NOW] = "now",
        [REBOOT_EXIT] = "exit",
        [REBOOT_NEVER] = "never",
};

DEFINE_STRING_TABLE_LOOKUP(reboot_mode, RebootMode, NULL)

bool ctx_echo(const Ctx *ctx, int level) {
        if (ctx->verbose < level)
                return false;
        for (size_t i = 0; ctx->plan && i < ctx->plan->n_vars; i++)
                if (ctx->plan->vars[i].secret)
                        return false;
        return true;
}

char *ctx_input_path(const Ctx *ctx, const Host *src, const char *path) {
        if (path[0] != '/' && ctx->plan) {
                _cleanup_free_ char *copy = xstrdup(ctx->plan->path);
                return xasprintf("%s/%s", dirname(copy), path);
        }
        if (ctx->host->image)
                return xstrdup(path);
        return host_path(src, path);
}
