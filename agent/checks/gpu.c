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
        if (g->name[0])
                return xasprintf("%s (%s)", g->name, gpu_arch_to_string(g->arch));
        _cleanup_free_ char *listed = open_module_device_name(g->device_id);
        if (listed)
                return xasprintf("%s (10de:%04x, not in pci.ids)", listed, g->device_id);
        return xasprintf("10de:%04x (not in pci.ids)", g->device_id);
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
                                 xasprintf("%s; architecture unknown for %s: not named in %s%s", sum, unk,
                                           l.ids_file ? l.ids_file : "pci.ids",
                                           "; checks that depend on the GPU generation cannot judge it"),
                                 xstrdup("update pci.ids (update-pciids) or check the GPU model by hand"));
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

/* Does `flavor` at `branch` drive this GPU? NULL if yes, else why not (and *ret_fix). */
char *gpu_refusal(const Gpu *g, int branch, int flavor, char **ret_fix) {
        _cleanup_free_ char *label = gpu_label(g);
        bool open = flavor == DRIVER_FLAVOR_OPEN; /* unknown: the plan may well mean the proprietary one */
        if (g->arch == GPU_ARCH_UNKNOWN)
                return NULL;
        if (open && !gpu_arch_open_capable(g->arch)) {
                *ret_fix = xstrdup("use the proprietary driver at branch 580 or lower (cuda-drivers-580), the last "
                                   "branch for Maxwell, Pascal and Volta");
                return xasprintf("%s at %s: the open kernel module drives Turing and newer only", label, g->slot);
        }
        if (branch > 580 && g->arch >= GPU_ARCH_MAXWELL && g->arch <= GPU_ARCH_VOLTA) {
                *ret_fix = xstrdup("plan branch 580 (the last branch for Maxwell, Pascal and Volta)");
                return xasprintf("%s at %s: branch %d no longer supports %s (580 was the last)", label, g->slot, branch,
                                 gpu_arch_to_string(g->arch));
        }
        if (flavor == DRIVER_FLAVOR_PROPRIETARY && (g->arch == GPU_ARCH_HOPPER || g->arch == GPU_ARCH_BLACKWELL)) {
                *ret_fix = xstrdup("install the open module (nvidia-open); it is required on Hopper and Blackwell");
                return xasprintf("%s at %s: the proprietary module loads partly on %s and then fails at NVML/container "
                                 "time",
                                 label, g->slot, gpu_arch_to_string(g->arch));
        }
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
        for (size_t i = 0; i < l.n; i++) {
                char *fix = NULL;
                char *why = gpu_refusal(&l.gpus[i], branch, flavor < 0 ? DRIVER_FLAVOR_OPEN : flavor, &fix);
                if (why) {
                        check_result_set(ret, CHECK_FAIL, why, fix);
                        gpu_list_done(&l);
                        return;
                }
        }
        Buf unknown = {0};
        for (size_t i = 0; i < l.n; i++)
                if (l.gpus[i].arch == GPU_ARCH_UNKNOWN && !open_module_lists_device(l.gpus[i].device_id))
                        buf_printf(&unknown, "%s10de:%04x", unknown.len ? ", " : "", l.gpus[i].device_id);
        _cleanup_free_ char *unk = buf_steal(&unknown);
        _cleanup_free_ char *br = branch > 0 ? xasprintf(" at branch %d", branch) : xstrdup("");
        if (*unk)
                check_result_set(ret, CHECK_WARN,
                                 xasprintf("cannot tell whether the open module supports %s: neither pci.ids nor the open "
                                           "module's list (release %s) names it",
                                           unk, open_module_list_release()),
                                 xstrdup("check NVIDIA's list of GPUs supported by the open kernel module for this driver"));
        else
                check_result_set(ret, CHECK_OK, xasprintf("the %s module%s supports every GPU found",
                                                          flavor == DRIVER_FLAVOR_PROPRIETARY ? "proprietary" : "open", br),
                                 NULL);
        gpu_list_done(&l);
}

const CheckKind check_gpu_open_module_supported = {
        .name = "gpu.open-module-supported",
        .summary = "the GPUs can use the open module (Turing or newer) and the planned branch still supports them",
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
        const Gpu *hopper = NULL;
        bool unknown = false, all_pre_turing = true;
        if (pci_find_gpus(ctx->host, &l) == 0)
                for (size_t i = 0; i < l.n; i++) {
                        GpuArch a = l.gpus[i].arch;
                        if (!hopper && (a == GPU_ARCH_HOPPER || a == GPU_ARCH_BLACKWELL))
                                hopper = &l.gpus[i];
                        unknown = unknown || a == GPU_ARCH_UNKNOWN;
                        all_pre_turing = all_pre_turing && a != GPU_ARCH_UNKNOWN && !gpu_arch_open_capable(a);
                }
        Gpu from_nvml = {0};
        if (!hopper && unknown) {
                /* a GPU newer than pci.ids (H200, Blackwell): NVML's compute capability tells
                 * Hopper (9.x) and Blackwell (10.x, 12.x) */
                NvmlInfo n = {0};
                (void) nvml_query(ctx->host, &n);
                for (unsigned i = 0; n.status == NVML_STATUS_OK && i < n.n_gpus && !hopper; i++)
                        if (n.gpus[i].cc_major == 9 || n.gpus[i].cc_major >= 10) {
                                from_nvml.arch = n.gpus[i].cc_major == 9 ? GPU_ARCH_HOPPER : GPU_ARCH_BLACKWELL;
                                snprintf(from_nvml.name, sizeof from_nvml.name, "%s", n.gpus[i].name);
                                snprintf(from_nvml.slot, sizeof from_nvml.slot, "%s", n.gpus[i].bus_id);
                                hopper = &from_nvml;
                        }
                nvml_info_done(&n);
        }
        if (pv.flavor == DRIVER_FLAVOR_PROPRIETARY && hopper) {
                _cleanup_free_ char *label = gpu_label(hopper);
                check_result_set(ret, CHECK_FAIL,
                                 xasprintf("the proprietary kernel module %s is loaded on %s: it loads partly and fails at "
                                           "NVML/container time; %s needs the open module",
                                           pv.version, label, gpu_arch_to_string(hopper->arch)),
                                 xstrdup("remove the proprietary packages (cuda-drivers, nvidia-driver-<branch>) and "
                                         "install nvidia-open, then reboot"));
        } else if (want >= 0 && (int) pv.flavor != want)
                check_result_set(ret, CHECK_FAIL,
                                 xasprintf("the %s module %s is loaded, the plan wants the %s one",
                                           driver_flavor_to_string(pv.flavor), pv.version,
                                           driver_flavor_to_string((DriverFlavor) want)),
                                 xasprintf("install the %s driver packages and reboot", driver_flavor_to_string((DriverFlavor) want)));
        else if (pv.flavor == DRIVER_FLAVOR_PROPRIETARY && want < 0 && l.n > 0 && all_pre_turing)
                check_result_set(ret, CHECK_OK,
                                 xasprintf("proprietary module %s (the GPUs are older than Turing: the open module "
                                           "cannot drive them)",
                                           pv.version),
                                 NULL);
        else if (pv.flavor == DRIVER_FLAVOR_PROPRIETARY && want < 0)
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
        .summary = "open vs proprietary module, from /proc/driver/nvidia/version (proprietary on Hopper/Blackwell fails)",
        .param = CHECK_PARAM_OPTIONAL,
        .parse = flavor_parse,
        .free_params = free,
        .run = flavor_run,
        .declare = flavor_declare,
        .verify = true,
};
