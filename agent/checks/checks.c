#include "checks/checks.h"

#include <string.h>

#include "base/string_table.h"
#include "base/suggest.h"

/* The GPU-stack checks first, in the order `gpubase verify` reports them. */
static const CheckKind *const check_kinds[] = {
        &check_gpu_present,
        &check_gpu_count,
        &check_gpu_model,
        &check_gpu_open_module_supported,
        &check_nouveau,
        &check_secureboot,
        &check_driver_operator,
        &check_driver_loaded,
        &check_driver_flavor,
        &check_driver_version,
        &check_driver_stale,
        &check_driver_next_kernel,
        &check_driver_origin,
        &check_driver_nvml,
        &check_driver_cuda_ceiling,
        &check_driver_held,
        &check_driver_persistence,
        &check_fabric_manager,
        &check_fabric_state,
        &check_nvlink_up,
        &check_gpu_ecc,
        &check_gpu_xid,
        &check_ctk_installed,
        &check_ctk_held,
        &check_runtime_configured,
        &check_runtime_restarted,
        &check_cdi_spec,
        &check_runtime_smoke,
        &check_toolkit_nvcc,
        &check_file_exists,
        &check_file_contains,
        &check_command_succeeds,
};

static const char *const check_status_table[_CHECK_STATUS_MAX] = {
        [CHECK_OK] = "ok",
        [CHECK_WARN] = "warn",
        [CHECK_FAIL] = "fail",
        [CHECK_SKIP] = "skip",
};

DEFINE_STRING_TABLE_LOOKUP_TO_STRING(check_status, CheckStatus, "?")

void check_result_set(CheckResult *r, CheckStatus s, char *detail, char *fix) {
        check_result_done(r);
        r->status = s;
        r->detail = detail;
        r->fix = fix;
}

void check_result_done(CheckResult *r) {
        free(r->detail);
        free(r->fix);
        *r = (CheckResult){0};
}

const CheckKind *check_kind_find(const char *name) {
        for (size_t i = 0; i < ELEMENTSOF(check_kinds); i++)
                if (streq(check_kinds[i]->name, name))
                        return check_kinds[i];
        return NULL;
}

const CheckKind *check_kind_at(size_t i) {
        return i < ELEMENTSOF(check_kinds) ? check_kinds[i] : NULL;
}

const char *const *check_kind_names(void) {
        static const char *names[ELEMENTSOF(check_kinds) + 1];
        for (size_t i = 0; i < ELEMENTSOF(check_kinds); i++)
                names[i] = check_kinds[i]->name;
        return names;
}

int check_spec_parse(CheckSpec *c, const YNode *entry, ParseCtx *pc) {
        const YNode *name, *param = NULL;

        c->line = entry->line;
        c->col = entry->col;
        if (entry->type == YNODE_SCALAR && !ynode_is_null(entry))
                name = entry;
        else if (entry->type == YNODE_MAP && entry->n == 1) {
                name = entry->pairs[0].key;
                param = entry->pairs[0].value;
        } else {
                src_error_set(pc->err, pc->file, entry,
                              "a check is a name or a one-key map {name: parameters}, found a %s%s",
                              entry->type == YNODE_MAP ? "map with " : ynode_type_name(entry),
                              entry->type == YNODE_MAP ? (entry->n ? "several keys" : "no keys") : "");
                return -EINVAL;
        }
        c->kind = check_kind_find(name->value);
        if (!c->kind) {
                _cleanup_free_ char *names = strv_join((char *const *) check_kind_names(), ", ");
                _cleanup_free_ char *hint = did_you_mean(name->value, check_kind_names());
                src_error_set(pc->err, pc->file, name, "unknown check '%s'%s; known checks: %s", name->value, hint,
                              names);
                return -EINVAL;
        }
        if (param && ynode_is_null(param))
                param = NULL;
        if (!param && c->kind->param == CHECK_PARAM_REQUIRED) {
                src_error_set(pc->err, pc->file, name, "check '%s' needs a parameter: write {%s: ...}", c->kind->name,
                              c->kind->name);
                return -EINVAL;
        }
        if (param && c->kind->param == CHECK_PARAM_NONE) {
                src_error_set(pc->err, pc->file, param, "check '%s' takes no parameter", c->kind->name);
                return -EINVAL;
        }
        if (param) {
                Buf b = {0};
                if (param->type == YNODE_SCALAR)
                        buf_puts(&b, param->value);
                else
                        ynode_dump(param, &b);
                c->arg = buf_steal(&b);
        }
        return c->kind->parse ? c->kind->parse(c, param, pc) : 0;
}

void check_spec_done(CheckSpec *c) {
        if (c->kind && c->kind->free_params && c->params)
                c->kind->free_params(c->params);
        free(c->arg);
        *c = (CheckSpec){0};
}

char *check_spec_label(const CheckSpec *c) {
        if (c->arg)
                return xasprintf("%s %s", c->kind->name, c->arg);
        return xstrdup(c->kind->name);
}
