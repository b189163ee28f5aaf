/* driver.operator: is this host's driver managed by NVIDIA's GPU Operator? Its driver container
 * (nvidia-driver-daemonset) installs the driver inside the container and mounts that root at
 * /run/nvidia/driver on the host; the operator's validator then writes
 * /run/nvidia/validations/driver-ready (a host-installed driver gets host-driver-ready instead), as
 * NVIDIA/gpu-operator's validator and its device-plugin entrypoint read them. A host driver
 * installed on top of that fights the container over the same kernel module: a plan that installs
 * a driver is refused there (checks/preflight.c), and gpubase's hosts are meant for the operator
 * with driver.enabled=false and toolkit.enabled=false. */
#include <dirent.h>
#include <string.h>
#include <sys/stat.h>

#include "checks/facts.h"
#include "checks/checks.h"
#include "checks/operator.h"

static bool dir_has_entries(const char *path) {
        DIR *d = opendir(path);
        if (!d)
                return false;
        bool any = false;
        for (struct dirent *de; !any && (de = readdir(d));)
                any = !streq(de->d_name, ".") && !streq(de->d_name, "..");
        closedir(d);
        return any;
}

char *gpu_operator_driver(const Host *h) {
        _cleanup_free_ char *root = host_path(h, OPERATOR_DRIVER_ROOT);
        _cleanup_free_ char *ready = host_path(h, OPERATOR_DRIVER_READY);
        struct stat st;
        bool mounted = dir_has_entries(root), validated = stat(ready, &st) == 0;
        if (!mounted && !validated)
                return NULL;
        return xasprintf("the NVIDIA GPU Operator's driver container manages this host's driver (%s%s%s)",
                         mounted ? "its driver root is mounted at " OPERATOR_DRIVER_ROOT : "",
                         mounted && validated ? ", " : "", validated ? OPERATOR_DRIVER_READY " exists" : "");
}

static bool plan_installs_driver(const Ctx *ctx) {
        return ctx->plan && (ctx->plan->intent.driver_branch > 0 || ctx->plan->intent.driver_glob);
}

static void operator_run(const CheckSpec *c _unused_, Ctx *ctx, CheckResult *ret) {
        _cleanup_free_ char *found = gpu_operator_driver(ctx->host);
        if (!found)
                check_result_set(ret, CHECK_OK,
                                 xstrdup("no GPU Operator driver container (" OPERATOR_DRIVER_ROOT " is empty or absent)"),
                                 NULL);
        else if (plan_installs_driver(ctx))
                check_result_set(ret, CHECK_FAIL, xasprintf("%s, and the plan installs a host driver", found),
                                 xstrdup(OPERATOR_FIX));
        else
                check_result_set(ret, CHECK_WARN,
                                 xasprintf("%s: gpubase's driver checks look at the host, not at the container", found),
                                 xstrdup("provision hosts for the operator with gpubase and deploy the operator with "
                                         "driver.enabled=false and toolkit.enabled=false"));
}

const CheckKind check_driver_operator = {
        .name = "driver.operator",
        .summary = "the driver is not managed by the GPU Operator's driver container (driver root " OPERATOR_DRIVER_ROOT ")",
        .param = CHECK_PARAM_NONE,
        .run = operator_run,
        .verify = true,
};
