/* gpu.present, gpu.open-module-supported and driver.flavor: what the GPUs are and whether the
 * planned (or loaded) kernel module can drive them. */
#include <string.h>

#include "host/version.h"
#include "checks/facts.h"
#include "checks/param.h"
#include "checks/nvml.h"
#include "checks/pci.h"
#include "checks/preflight.h"

static char *gpu_label(const Gpu *g) {
        if (g->name[0] && g->arch != GPU_ARCH_UNKNOWN)
                return xasprintf("%s (%s)", g->name, gpu_family(g));
        if (g->name[0])
                return xasprintf("%s (10de:%04x)", g->name, g->device_id);
        return xasprintf("10de:%04x", g->device_id);
}

/* "8x GH100 [H100 SXM5 80GB] (Hopper)" or a list of the distinct models. */
static char *summarise(const GpuList *l) {
        Buf b = {0};
        for (size_t i = 0; i < l->n; i++) {
                bool dup = false;
                for (size_t j = 0; j < i; j++)
                        dup = dup || l->gpus[j].device_id == l->gpus[i].device_id;
                if (dup)
                        continue;
                size_t k = 0;
                for (size_t j = 0; j < l->n; j++)
                        k += l->gpus[j].device_id == l->gpus[i].device_id;
                _cleanup_free_ char *label = gpu_label(&l->gpus[i]);
                buf_printf(&b, "%s%zux %s", b.len ? ", " : "", k, label);
        }
        return buf_steal(&b);
}

static void present_run(const CheckSpec *c _unused_, Ctx *ctx, CheckResult *ret) {
        GpuList l = {0};
        int r = pci_find_gpus(ctx->host, &l);
        if (r < 0) {
                check_result_set(ret, CHECK_FAIL, xasprintf("cannot list PCI devices: %s", strerror(-r)),
                                 xstrdup("is /sys mounted?"));
                return;
        }
        if (l.n == 0) {
                check_result_set(ret, CHECK_FAIL, xstrdup("no NVIDIA GPU on the PCI bus"),
                                 xstrdup("check the instance type, the PCI passthrough or that the GPU is seated and powered"));
                gpu_list_done(&l);
                return;
        }
        _cleanup_free_ char *sum = summarise(&l);
        Buf unknown = {0};
        for (size_t i = 0; i < l.n; i++)
                if (l.gpus[i].arch == GPU_ARCH_UNKNOWN && !strstr(unknown.data ? unknown.data : "", l.gpus[i].slot))
                        buf_printf(&unknown, "%s10de:%04x at %s", unknown.len ? ", " : "", l.gpus[i].device_id, l.gpus[i].slot);
        _cleanup_free_ char *unk = buf_steal(&unknown);
        if (*unk)
                check_result_set(ret, CHECK_WARN,
                                 xasprintf("%s; architecture unknown for %s: not in NVIDIA's list (driver %s) and not "
                                           "named by %s; checks that depend on the GPU generation cannot judge it",
                                           sum, unk, gpu_table_release(), l.ids_file ? l.ids_file : "pci.ids"),
                                 xasprintf("check the GPU model by hand: a gpubase whose GPU list is newer than driver "
                                           "%s, or a newer pci.ids (update-pciids), may know it",
                                           gpu_table_release()));
        else
                check_result_set(ret, CHECK_OK, xasprintf("%s", sum), NULL);
        gpu_list_done(&l);
}

const CheckKind check_gpu_present = {
        .name = "gpu.present",
        .summary = "an NVIDIA GPU is on the PCI bus (found before any driver exists)",
        .param = CHECK_PARAM_NONE,
        .run = present_run,
        .verify = true,
};

/* The branch the check is about: the plan's, else the loaded module's. -1: unknown. */
static int branch_of(Ctx *ctx) {
        if (ctx->plan && ctx->plan->intent.driver_branch > 0)
                return ctx->plan->intent.driver_branch;
        _cleanup_free_ char *v = NULL;
        if (driver_loaded_version(ctx->host, &v) == 0)
                return version_major(v);
        return -1;
}

CheckStatus gpu_flavor_verdict(const Gpu *g, int branch, int flavor, char **ret_why, char **ret_fix) {
        OpenRule rule = gpu_open_rule(g);
        int last = gpu_arch_last_branch(g->arch);
        if (rule == OPEN_RULE_UNKNOWN)
                return CHECK_OK; /* nothing to judge by: gpu.present warns */
        _cleanup_free_ char *label = gpu_label(g);
        if (flavor == DRIVER_FLAVOR_OPEN && rule == OPEN_RULE_UNSUPPORTED) {
                *ret_why = xasprintf("%s at %s: the open kernel module drives Turing and newer only", label, g->slot);
                *ret_fix = xasprintf("plan the proprietary module at branch %d or lower (nvidia-driver-pinning-%d first, "
                                     "then cuda-drivers): the last branch for Maxwell, Pascal and Volta",
                                     last > 0 ? last : 580, last > 0 ? last : 580);
                return CHECK_FAIL;
        }
        if (branch > 0 && last > 0 && branch > last) {
                *ret_why = xasprintf("%s at %s: branch %d no longer supports %s (%d was the last)", label, g->slot, branch,
                                     gpu_arch_to_string(g->arch), last);
                *ret_fix = xasprintf("plan branch %d (nvidia-driver-pinning-%d), the last branch for Maxwell, Pascal and "
                                     "Volta, with the proprietary module",
                                     last, last);
                return CHECK_FAIL;
        }
        if (flavor == DRIVER_FLAVOR_PROPRIETARY && rule == OPEN_RULE_REQUIRED) {
                *ret_why = xasprintf("%s at %s: NVIDIA requires the open kernel module on %s; the proprietary one loads "
                                     "partly and then fails at NVML/container time",
                                     label, g->slot, gpu_family(g));
                *ret_fix = xstrdup("plan the open module (nvidia-open, after nvidia-driver-pinning-<branch>) instead of "
                                   "the proprietary packages");
                return CHECK_FAIL;
        }
        if (flavor == DRIVER_FLAVOR_PROPRIETARY && rule == OPEN_RULE_RECOMMENDED) {
                *ret_why = xasprintf("%s at %s: NVIDIA recommends the open kernel module on %s (the default from branch "
                                     "560); the proprietary one still works there",
                                     label, g->slot, gpu_family(g));
                *ret_fix = xstrdup("plan the open module (nvidia-open, after nvidia-driver-pinning-<branch>) unless "
                                   "this host needs the proprietary one");
                return CHECK_WARN;
        }
        return CHECK_OK;
}

char *gpu_refusal(const Gpu *g, int branch, int flavor, char **ret_fix) {
        char *why = NULL, *fix = NULL;
        if (gpu_flavor_verdict(g, branch, flavor, &why, &fix) == CHECK_FAIL) {
                *ret_fix = fix;
                return why;
        }
        free(why);
        free(fix);
        return NULL;
}

static void open_supported_run(const CheckSpec *c _unused_, Ctx *ctx, CheckResult *ret) {
        GpuList l = {0};
        int branch = branch_of(ctx);
        int flavor = ctx->plan ? ctx->plan->intent.driver_flavor : -1;
        if (pci_find_gpus(ctx->host, &l) < 0 || l.n == 0) {
                check_result_set(ret, CHECK_SKIP, xstrdup("no NVIDIA GPU found"), NULL);
                gpu_list_done(&l);
                return;
        }
        if (flavor < 0) {
                ProcVersion pv = {0};
                if (driver_proc_version(ctx->host, &pv) == 0)
                        flavor = pv.flavor;
                proc_version_done(&pv);
        }
        if (flavor < 0)
                flavor = DRIVER_FLAVOR_OPEN; /* the default from 560 */
        /* the first failure wins; else the first warning */
        char *warn = NULL, *warn_fix = NULL;
        for (size_t i = 0; i < l.n; i++) {
                char *why = NULL, *fix = NULL;
                CheckStatus v = gpu_flavor_verdict(&l.gpus[i], branch, flavor, &why, &fix);
                if (v == CHECK_FAIL) {
                        free(warn);
                        free(warn_fix);
                        check_result_set(ret, CHECK_FAIL, why, fix);
                        gpu_list_done(&l);
                        return;
                }
                if (v == CHECK_WARN && !warn) {
                        warn = why;
                        warn_fix = fix;
                } else {
                        free(why);
                        free(fix);
                }
        }
        if (warn) {
                check_result_set(ret, CHECK_WARN, warn, warn_fix);
                gpu_list_done(&l);
                return;
        }
        /* unknown GPUs, and Turing-or-newer ones NVIDIA's list does not name */
        Buf unknown = {0};
        for (size_t i = 0; i < l.n; i++) {
                const Gpu *g = &l.gpus[i];
                bool unsure = g->arch == GPU_ARCH_UNKNOWN ||
                              (flavor == DRIVER_FLAVOR_OPEN && gpu_arch_open_capable(g->arch) && !g->open_listed);
                _cleanup_free_ char *id = xasprintf("10de:%04x", g->device_id);
                if (unsure && !strstr(unknown.data ? unknown.data : "", id))
                        buf_printf(&unknown, "%s%s", unknown.len ? ", " : "", id);
        }
        _cleanup_free_ char *unk = buf_steal(&unknown);
        _cleanup_free_ char *br = branch > 0 ? xasprintf(" at branch %d", branch) : xstrdup("");
        if (*unk)
                check_result_set(ret, CHECK_WARN,
                                 xasprintf("cannot tell whether the open module supports %s: NVIDIA's list of GPUs the "
                                           "open module drives (driver %s) does not name it",
                                           unk, gpu_table_release()),
                                 xstrdup("check NVIDIA's list of GPUs supported by the open kernel module for this driver"));
        else
                check_result_set(ret, CHECK_OK, xasprintf("the %s module%s supports every GPU found",
                                                          flavor == DRIVER_FLAVOR_PROPRIETARY ? "proprietary" : "open", br),
                                 NULL);
        gpu_list_done(&l);
}

const CheckKind check_gpu_open_module_supported = {
        .name = "gpu.open-module-supported",
        .summary = "the planned (or loaded) module suits the GPUs: open only from Turing, required on Blackwell and Grace Hopper; the branch still supports them",
        .param = CHECK_PARAM_NONE,
        .run = open_supported_run,
        .verify = true,
};

static const char *const flavors[] = {"open", "proprietary", NULL};

static void flavor_declare(const CheckSpec *c, PlanIntent *intent) {
        if (c->params && intent->driver_flavor < 0)
                intent->driver_flavor = streq(c->params, "open") ? DRIVER_FLAVOR_OPEN : DRIVER_FLAVOR_PROPRIETARY;
}

static int flavor_parse(CheckSpec *c, const YNode *param, ParseCtx *pc) {
        return check_param_choice(c, param, pc, flavors);
}

/* A GPU that neither list knows, as NVML sees it: compute capability 9.x is Hopper (GH200 by its
 * name), 10.x and 12.x Blackwell. false if NVML does not answer or says nothing useful. */
static bool gpu_from_nvml(Ctx *ctx, Gpu *ret) {
        NvmlInfo n = {0};
        bool found = false;
        (void) nvml_query(ctx->host, &n);
        for (unsigned i = 0; n.status == NVML_STATUS_OK && i < n.n_gpus && !found; i++)
                if (n.gpus[i].cc_major == 9 || n.gpus[i].cc_major >= 10) {
                        Gpu g = {.device_id = 0, .arch = n.gpus[i].cc_major == 9 ? GPU_ARCH_HOPPER : GPU_ARCH_BLACKWELL};
                        snprintf(g.name, sizeof g.name, "%s", n.gpus[i].name);
                        snprintf(g.slot, sizeof g.slot, "%s", n.gpus[i].bus_id);
                        g.grace = strstr(g.name, "GH200") || strstr(g.name, "GB200") || strstr(g.name, "GB300");
                        *ret = g;
                        found = true;
                }
        nvml_info_done(&n);
        return found;
}

static void flavor_run(const CheckSpec *c, Ctx *ctx, CheckResult *ret) {
        ProcVersion pv = {0};
        GpuList l = {0};
        int want = c->params ? (streq(c->params, "open") ? DRIVER_FLAVOR_OPEN : DRIVER_FLAVOR_PROPRIETARY)
                             : ctx->plan ? ctx->plan->intent.driver_flavor : -1;
        int r = driver_proc_version(ctx->host, &pv);
        if (r == -ENOENT) {
                check_result_set(ret, CHECK_SKIP, xstrdup("the nvidia module is not loaded (no " PROC_DRIVER_VERSION ")"), NULL);
                return;
        }
        if (r < 0) {
                check_result_set(ret, CHECK_FAIL, xasprintf("cannot read " PROC_DRIVER_VERSION ": %s", strerror(-r)), NULL);
                return;
        }
        bool unknown = false, all_pre_turing = true;
        _cleanup_free_ char *why = NULL, *fix = NULL;
        CheckStatus verdict = CHECK_OK;
        if (pci_find_gpus(ctx->host, &l) == 0)
                for (size_t i = 0; i < l.n && verdict != CHECK_FAIL; i++) {
                        const Gpu *g = &l.gpus[i];
                        _cleanup_free_ char *w = NULL, *f = NULL;
                        /* the branch is gpu.open-module-supported's business; here only the flavour */
                        CheckStatus v = gpu_flavor_verdict(g, -1, (int) pv.flavor, &w, &f);
                        if (v > verdict) {
                                free(why);
                                free(fix);
                                why = TAKE_PTR(w);
                                fix = TAKE_PTR(f);
                                verdict = v;
                        }
                        unknown = unknown || g->arch == GPU_ARCH_UNKNOWN;
                        all_pre_turing = all_pre_turing && g->arch != GPU_ARCH_UNKNOWN && !gpu_arch_open_capable(g->arch);
                }
        Gpu from_nvml;
        if (verdict == CHECK_OK && unknown && pv.flavor == DRIVER_FLAVOR_PROPRIETARY && gpu_from_nvml(ctx, &from_nvml))
                verdict = gpu_flavor_verdict(&from_nvml, -1, (int) pv.flavor, &why, &fix); /* both still NULL */
        if (verdict == CHECK_FAIL && pv.flavor == DRIVER_FLAVOR_PROPRIETARY)
                check_result_set(ret, CHECK_FAIL, xasprintf("the proprietary kernel module %s is loaded: %s", pv.version, why),
                                 xstrdup("remove the proprietary packages (cuda-drivers) and install nvidia-open at the "
                                         "same branch (nvidia-driver-pinning-<branch> first), then reboot"));
        else if (verdict == CHECK_FAIL)
                check_result_set(ret, CHECK_FAIL, xasprintf("the open kernel module %s is loaded: %s", pv.version, why),
                                 TAKE_PTR(fix));
        else if (want >= 0 && (int) pv.flavor != want)
                check_result_set(ret, CHECK_FAIL,
                                 xasprintf("the %s module %s is loaded, the plan wants the %s one",
                                           driver_flavor_to_string(pv.flavor), pv.version,
                                           driver_flavor_to_string((DriverFlavor) want)),
                                 xasprintf("install the %s driver packages and reboot", driver_flavor_to_string((DriverFlavor) want)));
        else if (verdict == CHECK_WARN)
                check_result_set(ret, CHECK_WARN, xasprintf("the proprietary kernel module %s is loaded: %s", pv.version, why),
                                 TAKE_PTR(fix));
        else if (pv.flavor == DRIVER_FLAVOR_PROPRIETARY && want < 0 && l.n > 0 && all_pre_turing)
                check_result_set(ret, CHECK_OK,
                                 xasprintf("proprietary module %s (the GPUs are older than Turing: the open module "
                                           "cannot drive them)",
                                           pv.version),
                                 NULL);
        else if (pv.flavor == DRIVER_FLAVOR_PROPRIETARY && want < 0 && (unknown || l.n == 0))
                check_result_set(ret, CHECK_WARN,
                                 xasprintf("the proprietary module %s is loaded; the open module is the default from 560",
                                           pv.version),
                                 xstrdup("plan the open module unless the GPUs are older than Turing"));
        else
                check_result_set(ret, CHECK_OK, xasprintf("%s module %s", driver_flavor_to_string(pv.flavor), pv.version),
                                 NULL);
        proc_version_done(&pv);
        gpu_list_done(&l);
}

const CheckKind check_driver_flavor = {
        .name = "driver.flavor",
        .summary = "open vs proprietary module, from /proc/driver/nvidia/version (proprietary: fails on Blackwell and Grace Hopper, warns on Turing to Hopper)",
        .param = CHECK_PARAM_OPTIONAL,
        .parse = flavor_parse,
        .free_params = free,
        .run = flavor_run,
        .declare = flavor_declare,
        .verify = true,
};
