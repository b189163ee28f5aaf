#include <string.h>

#include "host/version.h"
#include "checks/facts.h"
#include "checks/preflight.h"
#include "checks/signing.h"

char **plan_refusals(const Plan *p, const Host *h) {
        const PlanIntent *in = &p->intent;
        char **out = NULL;
        GpuList l = {0};

        /* the driver ceiling must cover every CUDA version the host has to serve */
        for (size_t i = 0; p->workloads_cuda && p->workloads_cuda[i]; i++) {
                const char *cuda = p->workloads_cuda[i];
                const char *min = cuda_min_driver(cuda);
                if (!min) {
                        strv_push(&out, xasprintf("workloads.cuda %s is not in the CUDA/driver table; known CUDA "
                                                  "versions are listed in plans/data/cuda-driver.tsv",
                                                  cuda));
                        continue;
                }
                if (in->driver_branch > 0 && in->driver_branch < version_major(min)) {
                        _cleanup_free_ char *ceiling_of = xasprintf("%d.999.999", in->driver_branch);
                        const char *ceiling = cuda_ceiling_for_driver(ceiling_of);
                        strv_push(&out, xasprintf("driver branch %d serves CUDA up to %s, but workload CUDA %s needs "
                                                  "driver %s or newer; plan branch %d or later",
                                                  in->driver_branch, ceiling ? ceiling : "(none in the table)", cuda, min,
                                                  version_major(min)));
                }
        }

        /* the planned module must drive the GPUs that are here */
        if (pci_find_gpus(h, &l) == 0)
                for (size_t i = 0; i < l.n; i++) {
                        _cleanup_free_ char *fix = NULL;
                        _cleanup_free_ char *why = gpu_refusal(&l.gpus[i], in->driver_branch, in->driver_flavor, &fix);
                        if (why)
                                strv_push(&out, xasprintf("%s; %s", why, fix));
                }
        gpu_list_done(&l);

        /* with Secure Boot on, the module must have a way to be signed before the reboot that loads it */
        char *sb = secureboot_refusal(in, h);
        if (sb)
                strv_push(&out, sb);
        return out;
}
