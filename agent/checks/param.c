/* Parameter parsers shared by the GPU-stack checks. */
#include <string.h>

#include "checks/param.h"

int check_param_string(CheckSpec *c, const YNode *param, ParseCtx *pc) {
        if (!param)
                return 0;
        char *s = NULL;
        _cleanup_free_ char *what = xasprintf("the parameter of %s", c->kind->name);
        if (schema_string(pc, param, what, &s) < 0)
                return -EINVAL;
        c->params = s;
        return 0;
}

int check_param_choice(CheckSpec *c, const YNode *param, ParseCtx *pc, const char *const *choices) {
        int r = check_param_string(c, param, pc);
        if (r < 0 || !c->params)
                return r;
        for (size_t i = 0; choices[i]; i++)
                if (streq(choices[i], c->params))
                        return 0;
        _cleanup_free_ char *list = strv_join((char *const *) choices, ", ");
        src_error_set(pc->err, pc->file, param, "%s takes one of: %s; found '%s'", c->kind->name, list,
                      (const char *) c->params);
        return -EINVAL;
}

static const char *const runtimes[] = {"docker", "containerd", NULL};

int check_param_runtime(CheckSpec *c, const YNode *param, ParseCtx *pc) {
        return check_param_choice(c, param, pc, runtimes);
}

void check_declare_runtime(const CheckSpec *c, PlanIntent *intent) {
        if (c->params && !intent->runtime)
                intent->runtime = xstrdup(c->params);
}
