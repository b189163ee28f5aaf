#include "base/jsontext.h"
#include "checks/stack.h"

#include <string.h>

#include "host/version.h"

static void docker_facts(const Host *h, StackFacts *f) {
        _cleanup_free_ char *p = host_path(h, DOCKER_JSON);
        _cleanup_free_ char *text = NULL, *err = NULL;
        size_t len = 0;
        DaemonJson d = {0};
        if (read_file(p, 16 * 1024 * 1024, &text, &len) < 0 || daemon_json_parse(text, len, &d, &err) < 0)
                return;
        f->default_runtime = TAKE_PTR(d.default_runtime);
        f->cdi = d.cdi;
        daemon_json_done(&d);
}

void stack_facts_gather(const Host *h, StackFacts *ret) {
        StackFacts f = {.driver_flavor = _DRIVER_FLAVOR_INVALID, .cdi = -1};
        ProcVersion pv = {0};
        DpkgPackage pkg = {0};
        NvmlInfo n = {0};

        f.gpus_known = pci_find_gpus(h, &f.gpus) >= 0;
        if (driver_loaded(h))
                (void) driver_loaded_version(h, &f.driver_loaded);
        if (driver_proc_version(h, &pv) == 0)
                f.driver_flavor = pv.flavor;
        proc_version_done(&pv);
        (void) driver_disk_version(h, &f.driver_on_disk, NULL, NULL);
        if (dpkg_find_driver(h, &pkg) == 0) {
                f.driver_installed = version_upstream(pkg.version);
                f.driver_package = TAKE_PTR(pkg.name);
                f.driver_package_version = TAKE_PTR(pkg.version);
        }
        dpkg_package_done(&pkg);

        (void) nvml_query(h, &n);
        f.nvml_status = n.status;
        if (n.driver_version)
                f.nvml_driver = xstrdup(n.driver_version);
        _cleanup_free_ char *for_driver = NULL;
        f.cuda_ceiling = driver_cuda_ceiling(h, &n, &f.cuda_ceiling_from_nvml, &for_driver);
        nvml_info_done(&n);

        ctk_versions(h, &f.ctk);
        f.runtime = container_runtime_found(h);
        if (f.runtime && streq(f.runtime, "docker"))
                docker_facts(h, &f);
        f.kernels_known = kernel_list_read(h, &f.kernels) == 0;
        *ret = f;
}

void stack_facts_done(StackFacts *f) {
        gpu_list_done(&f->gpus);
        free(f->driver_loaded);
        free(f->driver_on_disk);
        free(f->driver_package);
        free(f->driver_package_version);
        free(f->driver_installed);
        free(f->nvml_driver);
        free(f->cuda_ceiling);
        ctk_versions_done(&f->ctk);
        free(f->default_runtime);
        kernel_list_done(&f->kernels);
        *f = (StackFacts){0};
}

static json_object *str_or_null(const char *s) {
        return json_str(s);
}

static json_object *gpus_json(const StackFacts *f) {
        if (!f->gpus_known)
                return NULL;
        json_object *arr = json_object_new_array();
        for (size_t i = 0; i < f->gpus.n; i++) {
                const Gpu *g = &f->gpus.gpus[i];
                json_object *o = json_object_new_object();
                _cleanup_free_ char *id = xasprintf("%04x:%04x", g->vendor_id, g->device_id);
                json_object_object_add(o, "pci", json_str(g->slot));
                json_object_object_add(o, "id", json_str(id));
                json_object_object_add(o, "name", str_or_null(g->name[0] ? g->name : NULL));
                json_object_object_add(o, "arch", str_or_null(g->arch != GPU_ARCH_UNKNOWN ? gpu_arch_to_string(g->arch) : NULL));
                json_object_object_add(o, "grace", json_object_new_boolean(g->grace));
                json_object_array_add(arr, o);
        }
        return arr;
}

static json_object *kernels_json(const StackFacts *f) {
        if (!f->kernels_known)
                return NULL;
        json_object *arr = json_object_new_array();
        for (size_t i = 0; i < f->kernels.n; i++) {
                const KernelInfo *k = &f->kernels.k[i];
                json_object *o = json_object_new_object();
                json_object_object_add(o, "release", json_str(k->release));
                json_object_object_add(o, "running", json_object_new_boolean(k->running));
                json_object_object_add(o, "next", json_object_new_boolean(k->next));
                json_object_object_add(o, "headers", json_object_new_boolean(k->headers));
                json_object_object_add(o, "module", str_or_null(k->module));
                json_object_array_add(arr, o);
        }
        return arr;
}

/* {count, ids: ["10de:22a3", ...]} of the NVSwitches on the bus; null when the bus cannot be read */
static json_object *nvswitches_json(const StackFacts *f) {
        if (!f->gpus_known)
                return NULL;
        json_object *o = json_object_new_object(), *ids = json_object_new_array();
        for (size_t i = 0; i < f->gpus.n_nvswitches; i++) {
                char id[16];
                snprintf(id, sizeof id, "10de:%04x", f->gpus.nvswitches[i].device_id);
                json_object_array_add(ids, json_str(id));
        }
        json_object_object_add(o, "count", json_object_new_int((int) f->gpus.n_nvswitches));
        json_object_object_add(o, "ids", ids);
        return o;
}

json_object *stack_facts_to_json(const StackFacts *f) {
        json_object *o = json_object_new_object(), *drv = json_object_new_object(), *nvml = json_object_new_object(),
                    *ctk = json_object_new_object(), *pkgs = json_object_new_object(), *rt = json_object_new_object();

        json_object_object_add(o, "gpus", gpus_json(f));
        json_object_object_add(o, "nvswitches", nvswitches_json(f));

        json_object_object_add(drv, "loaded", str_or_null(f->driver_loaded));
        json_object_object_add(drv, "flavor",
                               str_or_null(f->driver_flavor >= 0 ? driver_flavor_to_string(f->driver_flavor) : NULL));
        json_object_object_add(drv, "on_disk", str_or_null(f->driver_on_disk));
        json_object_object_add(drv, "installed", str_or_null(f->driver_installed));
        json_object_object_add(drv, "package", str_or_null(f->driver_package));
        json_object_object_add(drv, "package_version", str_or_null(f->driver_package_version));
        json_object_object_add(o, "driver", drv);

        json_object_object_add(nvml, "status", json_object_new_string(nvml_status_to_string(f->nvml_status)));
        json_object_object_add(nvml, "driver", str_or_null(f->nvml_driver));
        json_object_object_add(o, "nvml", nvml);

        json_object_object_add(o, "cuda_ceiling", str_or_null(f->cuda_ceiling));
        json_object_object_add(o, "cuda_ceiling_source",
                               str_or_null(!f->cuda_ceiling ? NULL : f->cuda_ceiling_from_nvml ? "nvml" : "table"));

        json_object_object_add(ctk, "version", str_or_null(f->ctk.version));
        for (size_t i = 0; i < CTK_N_PACKAGES; i++)
                json_object_object_add(pkgs, ctk_packages[i], str_or_null(f->ctk.installed[i]));
        json_object_object_add(ctk, "packages", pkgs);
        json_object_object_add(o, "ctk", ctk);

        json_object_object_add(rt, "name", str_or_null(f->runtime));
        json_object_object_add(rt, "default_runtime", str_or_null(f->default_runtime));
        json_object_object_add(rt, "cdi", f->cdi < 0 ? NULL : json_object_new_boolean(f->cdi));
        json_object_object_add(o, "runtime", rt);
        json_object_object_add(o, "kernels", kernels_json(f));
        return o;
}
