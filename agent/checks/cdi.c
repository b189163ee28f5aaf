/* cdi.spec: the NVIDIA CDI spec exists, parses, names every GPU of the host and the loaded driver's
 * version (checks/cdi.h). Read with the plan's YAML reader (base/ynode.c, libyaml): a CDI spec is a
 * single YAML document without anchors or tags, which is what that reader takes. */
#include "checks/cdi.h"

#include <stdio.h>
#include <string.h>

#include "base/error.h"
#include "checks/checks.h"
#include "checks/facts.h"
#include "checks/nvml.h"
#include "checks/param.h"
#include "checks/pci.h"

void cdi_spec_info_done(CdiSpecInfo *i) {
        free(i->kind);
        free(i->driver);
        free(i->other_driver);
        *i = (CdiSpecInfo){0};
}

static const YNode *get_seq(const YNode *map, const char *key) {
        const YNode *v = map && map->type == YNODE_MAP ? ynode_get(map, key) : NULL;
        return v && v->type == YNODE_SEQ ? v : NULL;
}

static const char *get_str(const YNode *map, const char *key) {
        const YNode *v = map && map->type == YNODE_MAP ? ynode_get(map, key) : NULL;
        return v && v->type == YNODE_SCALAR ? v->value : NULL;
}

/* A driver version seen in the spec: the first is kept, a different one noted. */
static void saw_version(CdiSpecInfo *i, const char *v, size_t n) {
        if (n == 0 || n > 32)
                return;
        if (!i->driver)
                i->driver = xstrndup(v, n);
        else if ((strlen(i->driver) != n || strncmp(i->driver, v, n) != 0) && !i->other_driver)
                i->other_driver = xstrndup(v, n);
}

/* "libcuda.so.595.45.04" -> "595.45.04": digits and dots after ".so.", at least two dots. */
static void version_of_library(CdiSpecInfo *i, const char *path) {
        const char *so = path ? strstr(path, ".so.") : NULL;
        if (!so)
                return;
        const char *v = so + 4;
        size_t n = strspn(v, "0123456789.");
        unsigned dots = 0;
        for (size_t k = 0; k < n; k++)
                dots += v[k] == '.';
        if (v[n] == '\0' && dots >= 1 && strstr(path, "libcuda.so"))
                saw_version(i, v, n);
}

static void device_nodes(CdiSpecInfo *i, const YNode *dev) {
        const YNode *edits = ynode_get(dev, "containerEdits"), *nodes = get_seq(edits, "deviceNodes");
        for (size_t k = 0; nodes && k < nodes->n; k++) {
                const char *p = get_str(nodes->items[k], "path");
                unsigned idx;
                if (p && startswith(p, "/dev/nvidia") && parse_uint(p + strlen("/dev/nvidia"), &idx) >= 0 &&
                    idx < CDI_MAX_GPUS)
                        i->gpu[idx] = true;
        }
}

static void edits_versions(CdiSpecInfo *i, const YNode *edits) {
        const YNode *mounts = get_seq(edits, "mounts"), *hooks = get_seq(edits, "hooks");
        for (size_t k = 0; mounts && k < mounts->n; k++)
                version_of_library(i, get_str(mounts->items[k], "hostPath"));
        for (size_t k = 0; hooks && k < hooks->n; k++) {
                const YNode *args = get_seq(hooks->items[k], "args");
                for (size_t a = 0; args && a < args->n; a++) {
                        const char *s = args->items[a]->type == YNODE_SCALAR ? args->items[a]->value : NULL;
                        if (s && startswith(s, "--host-driver-version="))
                                saw_version(i, s + strlen("--host-driver-version="),
                                            strlen(s) - strlen("--host-driver-version="));
                }
        }
}

int cdi_spec_inspect(const char *file, const char *text, size_t len, CdiSpecInfo *ret, char **reterr) {
        _cleanup_(ynode_freep) YNode *root = NULL;
        SrcError e = {0};
        if (ynode_parse(file, text, len, &root, &e) < 0) {
                _cleanup_free_ char *msg = src_error_format(&e);
                src_error_done(&e);
                return errorf(reterr, -EBADMSG, "%s", msg);
        }
        const char *kind = get_str(root, "kind");
        const YNode *devices = get_seq(root, "devices");
        if (!kind || !devices)
                return errorf(reterr, -EBADMSG, "%s: not a CDI spec (it needs kind and a devices list)", file);
        CdiSpecInfo i = {.kind = xstrdup(kind)};
        for (size_t d = 0; d < devices->n; d++) {
                const YNode *dev = devices->items[d];
                const char *name = get_str(dev, "name");
                if (!name)
                        continue;
                if (streq(name, "all")) {
                        i.has_all = true;
                        continue;
                }
                i.n_devices++;
                device_nodes(&i, dev);
                edits_versions(&i, ynode_get(dev, "containerEdits"));
        }
        edits_versions(&i, ynode_get(root, "containerEdits"));
        *ret = i;
        return 0;
}

/* The host's GPU count: NVML's, else the PCI bus's. -1 when neither knows. */
static int host_gpus(const Host *h) {
        NvmlInfo n = {0};
        (void) nvml_query(h, &n);
        int count = n.status == NVML_STATUS_OK ? (int) n.n_gpus : -1;
        nvml_info_done(&n);
        if (count >= 0)
                return count;
        GpuList l = {0};
        if (pci_find_gpus(h, &l) == 0)
                count = (int) l.n;
        gpu_list_done(&l);
        return count;
}

#define CDI_FIX(path) xasprintf("nvidia-ctk cdi generate --output=%s (a cdi-generate step), after the driver is loaded", path)

static void judge(const CdiSpecInfo *i, const char *path, const Host *h, CheckResult *ret) {
        _cleanup_free_ char *loaded = NULL;
        int gpus = host_gpus(h);
        (void) driver_loaded_version(h, &loaded);
        unsigned named = 0, missing = 0;
        for (int g = 0; g < CDI_MAX_GPUS; g++)
                named += i->gpu[g];
        for (int g = 0; gpus > 0 && g < gpus && g < CDI_MAX_GPUS; g++)
                missing += !i->gpu[g];
        if (!streq(i->kind, "nvidia.com/gpu"))
                check_result_set(ret, CHECK_FAIL, xasprintf("%s is for kind %s, not nvidia.com/gpu", path, i->kind),
                                 CDI_FIX(path));
        else if (!i->has_all)
                check_result_set(ret, CHECK_FAIL, xasprintf("%s has no device named \"all\" (nvidia.com/gpu=all)", path),
                                 CDI_FIX(path));
        else if (loaded && i->driver && (!streq(loaded, i->driver) || i->other_driver))
                check_result_set(ret, CHECK_FAIL,
                                 xasprintf("%s is stale: it names driver %s, the loaded driver is %s (the driver changed "
                                           "after the spec was generated)",
                                           path, !streq(loaded, i->driver) ? i->driver : i->other_driver, loaded),
                                 CDI_FIX(path));
        else if (gpus >= 0 && (missing || (int) named != gpus))
                check_result_set(ret, CHECK_FAIL,
                                 xasprintf("%s names %u GPU%s (/dev/nvidiaN), the host has %d", path, named,
                                           named == 1 ? "" : "s", gpus),
                                 CDI_FIX(path));
        else if (!i->driver)
                check_result_set(ret, CHECK_WARN, xasprintf("%s names no driver version (no libcuda.so.VERSION mount)", path),
                                 CDI_FIX(path));
        else
                check_result_set(ret, CHECK_OK,
                                 xasprintf("%s names all %u GPU%s and driver %s%s", path, named, named == 1 ? "" : "s",
                                           i->driver, loaded ? "" : " (no driver loaded to compare)"),
                                 NULL);
}

/* The spec to judge: the parameter, else /etc/cdi/nvidia.yaml, else /var/run/cdi/nvidia.yaml. */
static const char *pick_path(const CheckSpec *c, const Ctx *ctx) {
        if (c->params)
                return c->params;
        if (ctx->plan && ctx->plan->intent.cdi_spec)
                return ctx->plan->intent.cdi_spec;
        _cleanup_free_ char *p = host_path(ctx->host, CDI_SPEC_DEFAULT);
        FILE *f = fopen(p, "re");
        if (f) {
                fclose(f);
                return CDI_SPEC_DEFAULT;
        }
        _cleanup_free_ char *q = host_path(ctx->host, CDI_SPEC_RUNTIME);
        f = fopen(q, "re");
        if (f) {
                fclose(f);
                return CDI_SPEC_RUNTIME;
        }
        return CDI_SPEC_DEFAULT;
}

static void cdi_run(const CheckSpec *c, Ctx *ctx, CheckResult *ret) {
        const char *path = pick_path(c, ctx);
        bool wanted = c->params || (ctx->plan && ctx->plan->intent.cdi_spec);
        _cleanup_free_ char *p = host_path(ctx->host, path), *text = NULL, *err = NULL;
        size_t len = 0;
        int r = read_file(p, 4 * 1024 * 1024, &text, &len);
        if (r == -ENOENT && !wanted) {
                check_result_set(ret, CHECK_SKIP, xstrdup("no CDI spec (" CDI_SPEC_DEFAULT ", " CDI_SPEC_RUNTIME "): CDI not in use"),
                                 NULL);
                return;
        }
        if (r < 0) {
                check_result_set(ret, CHECK_FAIL, xasprintf("cannot read %s: %s", path, strerror(-r)), CDI_FIX(path));
                return;
        }
        CdiSpecInfo i = {0};
        if (cdi_spec_inspect(path, text, len, &i, &err) < 0) {
                check_result_set(ret, CHECK_FAIL, xasprintf("%s does not parse: %s", path, err), CDI_FIX(path));
                return;
        }
        judge(&i, path, ctx->host, ret);
        cdi_spec_info_done(&i);
}

static int cdi_parse(CheckSpec *c, const YNode *param, ParseCtx *pc) {
        if (!param)
                return 0;
        char *s = NULL;
        if (schema_abs_path(pc, param, "the parameter of cdi.spec", &s) < 0)
                return -EINVAL;
        c->params = s;
        return 0;
}

static void cdi_declare(const CheckSpec *c, PlanIntent *in) {
        if (c->params && !in->cdi_spec)
                in->cdi_spec = xstrdup(c->params);
}

const CheckKind check_cdi_spec = {
        .name = "cdi.spec",
        .summary = "the NVIDIA CDI spec exists, parses, names every GPU and the loaded driver's version (not stale)",
        .param = CHECK_PARAM_OPTIONAL,
        .parse = cdi_parse,
        .free_params = free,
        .run = cdi_run,
        .declare = cdi_declare,
        .verify = true,
};
