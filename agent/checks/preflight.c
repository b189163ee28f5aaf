#include <string.h>

#include "host/version.h"
#include "checks/facts.h"
#include "checks/operator.h"
#include "checks/preflight.h"
#include "checks/signing.h"

/* The container smoke test's image (its tag's CUDA) above the planned branch's ceiling. */
static void smoke_ceiling_refusal(const PlanIntent *in, const Host *h, char ***out) {
        CudaTable t = {0};
        if (cuda_table_load(h, &t, NULL) < 0)
                return;
        _cleanup_free_ char *of = xasprintf("%d.999.999", in->driver_branch);
        _cleanup_free_ char *ceiling = cuda_table_ceiling(&t, of);
        if (ceiling && cuda_minor_cmp(in->smoke_cuda, ceiling) > 0)
                strv_push(out, xasprintf("the container smoke test's image %s needs CUDA %s, but driver branch %d serves "
                                         "CUDA up to %s (the container would fail with \"CUDA driver version is "
                                         "insufficient\"); name an image of CUDA %s or older, or leave image unset "
                                         "for one within the ceiling",
                                         in->smoke_image, in->smoke_cuda, in->driver_branch, ceiling, ceiling));
        cuda_table_done(&t);
}

char **plan_refusals(const Plan *p, const Host *h) {
        const PlanIntent *in = &p->intent;
        char **out = NULL;
        GpuList l = {0};

        /* the driver ceiling must cover every CUDA version the host has to serve */
        CudaTable t = {0};
        _cleanup_free_ char *terr = NULL;
        if (p->workloads_cuda && cuda_table_load(h, &t, &terr) < 0)
                strv_push(&out, xasprintf("the local CUDA/driver table is not valid: %s; fix or remove " CUDA_LOCAL_TABLE,
                                          terr));
        for (size_t i = 0; t.n > 0 && p->workloads_cuda && p->workloads_cuda[i]; i++) {
                const char *cuda = p->workloads_cuda[i];
                const CudaRow *row = cuda_table_find(&t, cuda);
                if (!row) {
                        const CudaRow *newest = cuda_table_newest(&t);
                        _cleanup_free_ char *nn = cuda_release_name(newest->cuda);
                        if (cuda_version_cmp(cuda, newest->cuda) > 0)
                                strv_push(&out, xasprintf("workloads.cuda %s is newer than the newest CUDA release in the "
                                                          "CUDA/driver table, %s (driver %s or newer); if NVIDIA has "
                                                          "released it, add its row (CUDA, a tab, its minimum driver) "
                                                          "to " CUDA_LOCAL_TABLE,
                                                          cuda, nn, newest->driver));
                        else
                                strv_push(&out, xasprintf("workloads.cuda %s is not a CUDA release in the CUDA/driver "
                                                          "table (11.8 to %s; an update is written X.Y.U, e.g. 12.8.1)",
                                                          cuda, nn));
                        continue;
                }
                if (in->driver_branch > 0 && in->driver_branch < version_major(row->driver)) {
                        _cleanup_free_ char *ceiling_of = xasprintf("%d.999.999", in->driver_branch);
                        _cleanup_free_ char *ceiling = cuda_table_ceiling(&t, ceiling_of);
                        _cleanup_free_ char *name = cuda_release_name(row->cuda);
                        strv_push(&out, xasprintf("driver branch %d serves CUDA up to %s, but workload CUDA %s needs "
                                                  "driver %s or newer; plan branch %d or later",
                                                  in->driver_branch, ceiling ? ceiling : "(none in the table)", name,
                                                  row->driver, version_major(row->driver)));
                }
        }
        cuda_table_done(&t);

        /* the planned module must drive the GPUs that are here */
        if (pci_find_gpus(h, &l) == 0)
                for (size_t i = 0; i < l.n; i++) {
                        _cleanup_free_ char *fix = NULL;
                        _cleanup_free_ char *why = gpu_refusal(&l.gpus[i], in->driver_branch, in->driver_flavor, &fix);
                        if (why)
                                strv_push(&out, xasprintf("%s; %s", why, fix));
                }
        /* on an NVSwitch board CUDA does not start without Fabric Manager at the driver's version */
        if (l.n_nvswitches > 0 && (in->driver_branch > 0 || in->driver_flavor >= 0) && !in->fabric_manager_pkg) {
                _cleanup_free_ char *pkg = fabric_manager_package(in->driver_branch);
                strv_push(&out, xasprintf("this host has %zu NVSwitch%s (%s), and the plan installs a driver but no "
                                          "Fabric Manager: CUDA would fail with 'system not yet initialized'; add an "
                                          "apt-install step of %s at the driver's version (version_of: the driver "
                                          "package), held, when: nvswitch-present",
                                          l.n_nvswitches, l.n_nvswitches == 1 ? "" : "es", l.nvswitches[0].generation,
                                          pkg));
        }
        gpu_list_done(&l);

        /* the smoke test's image must be one the planned driver serves */
        if (in->smoke_cuda && in->driver_branch > 0)
                smoke_ceiling_refusal(in, h, &out);

        /* a host driver never goes on top of the GPU Operator's driver container */
        _cleanup_free_ char *op = in->driver_branch > 0 || in->driver_glob ? gpu_operator_driver(h) : NULL;
        if (op)
                strv_push(&out, xasprintf("%s, and this plan installs a host driver; %s", op, OPERATOR_FIX));

        /* with Secure Boot on, the module must have a way to be signed before the reboot that loads it */
        char *sb = secureboot_refusal(in, h);
        if (sb)
                strv_push(&out, sb);
        return out;
}

char *fabric_manager_package(int branch) {
        return branch > 0 && branch < 590 ? xasprintf("nvidia-fabricmanager-%d", branch) : xstrdup("nvidia-fabricmanager");
}
