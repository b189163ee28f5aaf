/* driver.nvml, driver.cuda-ceiling and toolkit.nvcc: what NVML says, and whether the driver's CUDA
 * ceiling covers the CUDA versions the host must serve. */
#include <string.h>

#include "host/exec.h"
#include "checks/facts.h"
#include "checks/nvml.h"
#include "checks/param.h"
#include "checks/program.h"

/* NVML could not be loaded here: nvidia-smi may still answer (it finds its own library). */
static bool smi_fallback(Ctx *ctx, NvmlInfo *n, CheckResult *ret) {
        int code = 0;
        if (nvidia_smi_query(ctx->host, n, &code, NULL) != 0 || code != 0 || n->n_gpus == 0)
                return false;
        check_result_set(ret, CHECK_WARN,
                         xasprintf("gpubase cannot load libnvidia-ml.so.1, but nvidia-smi answers: driver %s, %u GPU%s (%s)",
                                   n->driver_version ? n->driver_version : "?", n->n_gpus, n->n_gpus == 1 ? "" : "s",
                                   n->gpus[0].name),
                         xstrdup("make libnvidia-ml.so.1 findable by the dynamic loader (ldconfig)"));
        return true;
}

static void nvml_run(const CheckSpec *c _unused_, Ctx *ctx, CheckResult *ret) {
        NvmlInfo n = {0};
        (void) nvml_query(ctx->host, &n);
        switch (n.status) {
        case NVML_STATUS_OK: {
                Buf b = {0};
                buf_printf(&b, "NVML answers: driver %s, %u GPU%s", n.driver_version ? n.driver_version : "?", n.n_gpus,
                           n.n_gpus == 1 ? "" : "s");
                if (n.n_gpus > 0)
                        buf_printf(&b, " (%s, compute capability %d.%d)", n.gpus[0].name, n.gpus[0].cc_major,
                                   n.gpus[0].cc_minor);
                if (n.cuda_version) {
                        _cleanup_free_ char *cv = cuda_version_from_int(n.cuda_version);
                        buf_printf(&b, ", CUDA ceiling %s", cv);
                }
                if (n.n_gpus == 0)
                        check_result_set(ret, CHECK_FAIL, buf_steal(&b),
                                         xstrdup("NVML sees no GPU: check `dmesg` for the GPU falling off the bus (Xid 79)"));
                else
                        check_result_set(ret, CHECK_OK, buf_steal(&b), NULL);
                break;
        }
        case NVML_STATUS_VERSION_MISMATCH: {
                _cleanup_free_ char *lv = NULL;
                (void) driver_loaded_version(ctx->host, &lv);
                check_result_set(ret, CHECK_FAIL,
                                 xasprintf("Failed to initialize NVML: Driver/library version mismatch (user-space "
                                           "library %s, loaded module %s)",
                                           n.driver_version ? n.driver_version : "newer", lv ? lv : "older"),
                                 xstrdup("reboot to load the module that matches the installed user-space driver; hold "
                                         "the driver packages so that upgrades cannot do this again"));
                break;
        }
        case NVML_STATUS_NO_LIBRARY:
                if (!driver_loaded(ctx->host))
                        check_result_set(ret, CHECK_SKIP,
                                         xstrdup("the driver is not installed (no libnvidia-ml.so.1, no nvidia module)"), NULL);
                else if (smi_fallback(ctx, &n, ret))
                        break;
                else
                        check_result_set(ret, CHECK_FAIL,
                                         xasprintf("the nvidia module is loaded but NVML (libnvidia-ml.so.1) is missing: %s",
                                                   n.error ? n.error : "not found"),
                                         xstrdup("install the driver's user-space libraries (libnvidia-compute / "
                                                 "nvidia-driver-libs) at the module's version"));
                break;
        case NVML_STATUS_DRIVER_NOT_LOADED:
                check_result_set(ret, CHECK_FAIL, xstrdup("NVML: the driver is not loaded"),
                                 xstrdup("see driver.loaded: reboot, or load the module"));
                break;
        default:
                check_result_set(ret, CHECK_FAIL, xasprintf("NVML error %d: %s", n.nvml_code, n.error ? n.error : "?"),
                                 xstrdup("read `dmesg` for NVRM/Xid messages"));
                break;
        }
        nvml_info_done(&n);
}

const CheckKind check_driver_nvml = {
        .name = "driver.nvml",
        .summary = "NVML loads and answers (\"Driver/library version mismatch\" recognised)",
        .param = CHECK_PARAM_NONE,
        .run = nvml_run,
        .verify = true,
};

char *driver_cuda_ceiling(const Host *h, const NvmlInfo *n, bool *ret_from_nvml, char **ret_driver) {
        if (n->status == NVML_STATUS_OK && n->cuda_version) {
                *ret_from_nvml = true;
                *ret_driver = n->driver_version ? xstrdup(n->driver_version) : NULL;
                return cuda_version_from_int(n->cuda_version);
        }
        _cleanup_free_ char *lv = NULL, *ceil = NULL;
        _cleanup_(cuda_table_done) CudaTable t = {0};
        if (driver_loaded_version(h, &lv) < 0 || cuda_table_load(h, &t, NULL) < 0)
                return NULL;
        ceil = cuda_table_ceiling(&t, lv);
        if (!ceil)
                return NULL;
        *ret_from_nvml = false;
        *ret_driver = TAKE_PTR(lv);
        return TAKE_PTR(ceil);
}

/* The ceiling and, for messages, where it came from. NULL: unknown. */
static char *ceiling(Ctx *ctx, char **ret_source) {
        NvmlInfo n = {0};
        bool from_nvml = false;
        _cleanup_free_ char *drv = NULL;
        (void) nvml_query(ctx->host, &n);
        char *c = driver_cuda_ceiling(ctx->host, &n, &from_nvml, &drv);
        if (c)
                *ret_source = from_nvml ? xasprintf("NVML, driver %s", drv ? drv : "?")
                                        : xasprintf("CUDA/driver table, loaded driver %s", drv);
        nvml_info_done(&n);
        return c;
}

static void ceiling_run(const CheckSpec *c _unused_, Ctx *ctx, CheckResult *ret) {
        _cleanup_free_ char *src = NULL;
        _cleanup_free_ char *ceil = ceiling(ctx, &src);
        char **work = ctx->plan ? ctx->plan->workloads_cuda : NULL;
        if (!ceil) {
                check_result_set(ret, CHECK_SKIP, xstrdup("no loaded driver to take the CUDA ceiling from"), NULL);
                return;
        }
        _cleanup_(cuda_table_done) CudaTable t = {0};
        _cleanup_free_ char *terr = NULL;
        if (work && cuda_table_load(ctx->host, &t, &terr) < 0) {
                check_result_set(ret, CHECK_FAIL, xasprintf("the local CUDA/driver table is not valid: %s", terr),
                                 xstrdup("fix or remove " CUDA_LOCAL_TABLE));
                return;
        }
        for (size_t i = 0; work && work[i]; i++)
                if (cuda_minor_cmp(work[i], ceil) > 0) {
                        const CudaRow *row = cuda_table_find(&t, work[i]);
                        const char *min = row ? row->driver : NULL;
                        check_result_set(ret, CHECK_FAIL,
                                         xasprintf("workload CUDA %s is above the driver's ceiling %s (%s): its containers "
                                                   "start but every CUDA call fails (\"CUDA driver version is "
                                                   "insufficient\")",
                                                   work[i], ceil, src),
                                         xasprintf("install driver %s or newer, or build the workload for CUDA %s or "
                                                   "older (or ship cuda-compat in its image)",
                                                   min ? min : "(see the CUDA release notes)", ceil));
                        return;
                }
        _cleanup_free_ char *list = work ? strv_join(work, ", ") : NULL;
        check_result_set(ret, CHECK_OK,
                         xasprintf("CUDA ceiling %s (%s)%s%s", ceil, src, list ? " covers workloads " : "", list ? list : ""),
                         NULL);
}

const CheckKind check_driver_cuda_ceiling = {
        .name = "driver.cuda-ceiling",
        .summary = "the driver's CUDA ceiling covers every workloads.cuda version",
        .param = CHECK_PARAM_NONE,
        .run = ceiling_run,
        .verify = true,
};

/* "Cuda compilation tools, release 12.8, V12.8.93" -> "12.8" */
int parse_nvcc_version(const char *text, char **ret) {
        const char *p = strstr(text, "release ");
        if (!p)
                return -EBADMSG;
        p += strlen("release ");
        size_t n = strspn(p, "0123456789.");
        if (n == 0)
                return -EBADMSG;
        *ret = xstrndup(p, n);
        return 0;
}

static void nvcc_run(const CheckSpec *c _unused_, Ctx *ctx, CheckResult *ret) {
        static const char nvcc[] = "/usr/local/cuda/bin/nvcc";
        _cleanup_free_ char *bin = host_path(ctx->host, nvcc), *not_run = NULL;
        char *args[] = {(char *) "--version", NULL};
        _cleanup_(exec_result_done) ExecResult res = {0};
        _cleanup_free_ char *v = NULL, *src = NULL, *ceil = NULL;
        if (access(bin, X_OK) < 0) {
                check_result_set(ret, CHECK_SKIP,
                                 xstrdup("no host CUDA toolkit in /usr/local/cuda (optional on a container host)"), NULL);
                return;
        }
        int r = program_run(ctx->host, nvcc, NULL, args, 30, &res, &not_run);
        if (r == 1) {
                check_result_set(ret, CHECK_SKIP, xasprintf("%s is there but was %s", nvcc, not_run), NULL);
                return;
        }
        if (r < 0 || res.status != 0 || parse_nvcc_version(res.output, &v) < 0) {
                check_result_set(ret, CHECK_WARN, xasprintf("/usr/local/cuda/bin/nvcc --version did not answer%s",
                                                            program_where(ctx->host)),
                                 xstrdup("reinstall the CUDA toolkit or remove the stale /usr/local/cuda"));
                return;
        }
        ceil = ceiling(ctx, &src);
        if (!ceil)
                check_result_set(ret, CHECK_OK, xasprintf("host CUDA toolkit %s (no loaded driver to compare with)%s", v,
                                                          program_where(ctx->host)),
                                 NULL);
        else if (cuda_minor_cmp(v, ceil) > 0)
                check_result_set(ret, CHECK_FAIL,
                                 xasprintf("host CUDA toolkit %s is above the driver's ceiling %s (%s)", v, ceil, src),
                                 xasprintf("install a toolkit <= %s or a driver that serves CUDA %s", ceil, v));
        else
                check_result_set(ret, CHECK_OK, xasprintf("host CUDA toolkit %s <= ceiling %s%s", v, ceil,
                                                          program_where(ctx->host)),
                                 NULL);
}

const CheckKind check_toolkit_nvcc = {
        .name = "toolkit.nvcc",
        .summary = "an optional host CUDA toolkit is not above the driver's ceiling",
        .param = CHECK_PARAM_NONE,
        .run = nvcc_run,
        .verify = true,
};
