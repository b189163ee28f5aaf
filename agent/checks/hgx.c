/* fabric.manager, fabric.state, driver.persistence: what an NVSwitch board (HGX/DGX) needs beyond
 * the driver. Without Fabric Manager at exactly the driver's version, CUDA on such a board fails
 * with "system not yet initialized" (error 802) although every other check passes. */
#include <fnmatch.h>
#include <string.h>

#include "host/version.h"
#include "checks/facts.h"
#include "checks/hgx.h"
#include "checks/nvml.h"
#include "checks/pci.h"
#include "checks/preflight.h"
#include "checks/program.h"

const char *hgx_unit_marker(const char *unit) {
        if (streq(unit, FABRIC_MANAGER_UNIT))
                return FABRIC_MANAGER_PIDFILE;
        if (streq(unit, PERSISTENCED_UNIT))
                return PERSISTENCED_PIDFILE;
        return NULL;
}

void hgx_unit_state(const Host *h, const char *unit, int *ret_enabled, int *ret_active) {
        uint64_t since = 0;
        const char *marker = hgx_unit_marker(unit);
        *ret_enabled = host_unit_is_enabled(h, unit) > 0;
        /* under --root a unit without a marker cannot be seen running */
        *ret_active = (marker || !host_is_rooted(h)) && host_service_active_since(h, unit, marker, &since) >= 0;
}

bool hgx_unit_installed(const Host *h, const char *unit, char **ret_path) {
        static const char *const dirs[] = {"/etc/systemd/system", "/usr/lib/systemd/system", "/lib/systemd/system"};
        for (size_t i = 0; i < ELEMENTSOF(dirs); i++) {
                _cleanup_free_ char *rel = xasprintf("%s/%s", dirs[i], unit);
                _cleanup_free_ char *p = host_path(h, rel);
                if (access(p, F_OK) == 0) {
                        if (ret_path)
                                *ret_path = TAKE_PTR(rel);
                        return true;
                }
        }
        return false;
}

size_t hgx_nvswitch_count(const Host *h) {
        GpuList l = {0};
        size_t n = pci_find_gpus(h, &l) == 0 ? l.n_nvswitches : 0;
        gpu_list_done(&l);
        return n;
}

bool gpu_name_matches(const char *glob, const char *name) {
        return fnmatch(glob, name, 0) == 0 || (startswith(name, "NVIDIA ") && fnmatch(glob, name + 7, 0) == 0);
}

static const PlanIntent *intent_of(Ctx *ctx) {
        return ctx->plan ? &ctx->plan->intent : NULL;
}

/* ---- fabric.manager ---- */

/* The installed Fabric Manager package, by the names of the installed driver's branch. */
static int find_fabric_manager(const Host *h, const char *driver_version, DpkgPackage *ret) {
        _cleanup_free_ char *versioned = xasprintf("nvidia-fabricmanager-%d", version_major(driver_version));
        const char *const names[] = {"nvidia-fabricmanager", versioned, NULL};
        return dpkg_find_first(h, names, ret);
}

/* The package and the unit, once the driver's version is known; NULL detail: all good. */
static void manager_verdict(const Host *h, const DpkgPackage *fm, const char *driver, CheckResult *ret) {
        _cleanup_free_ char *fm_up = version_upstream(fm->version);
        if (!streq(fm_up, driver)) {
                check_result_set(ret, CHECK_FAIL,
                                 xasprintf("%s %s does not match the driver %s (Fabric Manager must be at exactly the "
                                           "driver's version)",
                                           fm->name, fm_up, driver),
                                 xasprintf("install %s=%s-* and hold it with the driver (apt-install with version_of: "
                                           "the driver package, hold: true), then restart " FABRIC_MANAGER_UNIT,
                                           fm->name, driver));
                return;
        }
        int enabled, active;
        hgx_unit_state(h, FABRIC_MANAGER_UNIT, &enabled, &active);
        if (!enabled || !active) {
                check_result_set(ret, CHECK_FAIL,
                                 xasprintf("%s %s matches the driver, but " FABRIC_MANAGER_UNIT " is %s and %s", fm->name,
                                           fm_up, enabled ? "enabled" : "not enabled", active ? "active" : "not active"),
                                 xstrdup("systemctl enable --now " FABRIC_MANAGER_UNIT " (after the driver reboot); "
                                         "if it does not stay up, read " FABRIC_MANAGER_LOG));
                return;
        }
        check_result_set(ret, fm->held ? CHECK_OK : CHECK_WARN,
                         xasprintf("%s %s matches the driver %s%s; " FABRIC_MANAGER_UNIT " enabled and active", fm->name,
                                   fm_up, driver, fm->held ? ", held" : ", not held"),
                         fm->held ? NULL : xasprintf("apt-mark hold %s: an upgrade must not move it apart from the driver",
                                                     fm->name));
}

static void manager_run(const CheckSpec *c _unused_, Ctx *ctx, CheckResult *ret) {
        size_t n = hgx_nvswitch_count(ctx->host);
        const PlanIntent *in = intent_of(ctx);
        if (in && in->expect_nvswitches && n != in->expect_nvswitches) {
                check_result_set(ret, CHECK_FAIL,
                                 xasprintf("%zu NVSwitch%s on the PCI bus, %u expected", n, n == 1 ? "" : "es",
                                           in->expect_nvswitches),
                                 xstrdup("an NVSwitch is missing from the bus: lspci -d 10de:, the BMC's event log; or "
                                         "correct expect.nvswitches"));
                return;
        }
        if (n == 0) {
                check_result_set(ret, CHECK_SKIP, xstrdup("no NVSwitch on the PCI bus: Fabric Manager is not needed"), NULL);
                return;
        }
        DpkgPackage drv = {0}, fm = {0};
        if (dpkg_find_driver(ctx->host, &drv) < 0) {
                check_result_set(ret, CHECK_SKIP, xstrdup("no driver package installed yet"), NULL);
                return;
        }
        _cleanup_free_ char *driver = version_upstream(drv.version);
        if (find_fabric_manager(ctx->host, driver, &fm) < 0) {
                _cleanup_free_ char *pkg = fabric_manager_package(version_major(driver));
                check_result_set(ret, CHECK_FAIL,
                                 xasprintf("Fabric Manager is not installed; this host has %zu NVSwitch%s and driver %s", n,
                                           n == 1 ? "" : "es", driver),
                                 xasprintf("install %s=%s-* (held, from the driver's repository) and enable "
                                           FABRIC_MANAGER_UNIT "; without it CUDA fails with 'system not yet initialized'",
                                           pkg, driver));
        } else
                manager_verdict(ctx->host, &fm, driver, ret);
        dpkg_package_done(&drv);
        dpkg_package_done(&fm);
}

const CheckKind check_fabric_manager = {
        .name = "fabric.manager",
        .summary = "on an NVSwitch host: Fabric Manager installed at the driver's exact version, held, its unit enabled "
                   "and active (and as many NVSwitches as the plan's expect.nvswitches)",
        .param = CHECK_PARAM_NONE,
        .run = manager_run,
        .verify = true,
};

/* ---- fabric.state ---- */

/* `nvidia-smi -q`'s "Fabric" sections ("State : Completed", "Status : Success"), for when NVML
 * cannot be loaded here: fills fabric_state/fabric_status of gpus[0..] in order. */
int parse_nvidia_smi_fabric(const char *text, NvmlInfo *ret) {
        unsigned gi = 0;
        bool in_fabric = false;
        for (const char *l = text; l && *l && gi < NVML_MAX_GPUS;) {
                const char *e = strchr(l, '\n');
                size_t len = e ? (size_t) (e - l) : strlen(l);
                _cleanup_free_ char *line = xstrndup(l, len);
                char *t = strip(line), *colon = strchr(t, ':');
                size_t indent = strspn(line, " ");
                if (startswith(t, "GPU 0") && indent == 0 && ret->n_gpus < NVML_MAX_GPUS) {
                        nvml_gpu_health_unknown(&ret->gpus[ret->n_gpus]);
                        gi = ret->n_gpus++;
                } else if (streq(t, "Fabric"))
                        in_fabric = true;
                else if (in_fabric && colon && ret->n_gpus > 0) {
                        *colon = 0;
                        const char *k = strip(t), *v = strip(colon + 1);
                        if (streq(k, "State"))
                                ret->gpus[gi].fabric_state = streq(v, "Completed")     ? NVML_FABRIC_COMPLETED
                                                             : streq(v, "In Progress") ? NVML_FABRIC_IN_PROGRESS
                                                             : streq(v, "Not Started") ? NVML_FABRIC_NOT_STARTED
                                                                                       : NVML_FABRIC_NOT_SUPPORTED;
                        else if (streq(k, "Status"))
                                ret->gpus[gi].fabric_status = streq(v, "Success") ? 0 : 999;
                } else if (!colon)
                        in_fabric = false;
                l = e ? e + 1 : NULL;
        }
        return ret->n_gpus > 0 ? 0 : -ENODATA;
}

/* NVML, else `nvidia-smi -q`; false with *ret_why when neither answered. */
static bool fabric_info(const Host *h, NvmlInfo *n, const char **ret_source, char **ret_why) {
        *ret_source = "NVML";
        if (nvml_query(h, n) >= 0 && n->status == NVML_STATUS_OK)
                return true;
        *ret_source = "nvidia-smi -q";
        _cleanup_free_ char *nvml_err = xstrdup(n->error ? n->error : nvml_status_to_string(n->status));
        nvml_info_done(n);
        char *args[] = {(char *) "-q", NULL};
        _cleanup_(exec_result_done) ExecResult res = {0};
        _cleanup_free_ char *not_run = NULL;
        if (program_run(h, "/usr/bin/nvidia-smi", "nvidia-smi", args, 30, &res, &not_run) == 0 && !res.exec_errno &&
            !res.timed_out && res.status == 0 && parse_nvidia_smi_fabric(res.output, n) == 0)
                return true;
        *ret_why = xasprintf("NVML does not answer (%s) and nvidia-smi -q gave no fabric state%s%s", nvml_err,
                             not_run ? ": " : "", not_run ? not_run : "");
        return false;
}

static void state_run(const CheckSpec *c _unused_, Ctx *ctx, CheckResult *ret) {
        if (hgx_nvswitch_count(ctx->host) == 0) {
                check_result_set(ret, CHECK_SKIP, xstrdup("no NVSwitch on the PCI bus"), NULL);
                return;
        }
        NvmlInfo n = {0};
        _cleanup_free_ char *why = NULL;
        const char *source;
        if (!fabric_info(ctx->host, &n, &source, &why)) {
                check_result_set(ret, CHECK_FAIL, TAKE_PTR(why),
                                 xstrdup("load the driver first (driver.loaded, driver.nvml), then read the fabric state"));
                return;
        }
        Buf b = {0};
        unsigned bad = 0, unknown = 0;
        for (unsigned i = 0; i < n.n_gpus; i++) {
                const NvmlGpu *g = &n.gpus[i];
                if (g->fabric_state < 0)
                        unknown++;
                else if (g->fabric_state != NVML_FABRIC_COMPLETED || g->fabric_status != 0)
                        buf_printf(&b, "%sGPU %u (%s): %s%s", bad++ ? "; " : "", i, g->bus_id,
                                   nvml_fabric_state_to_string(g->fabric_state),
                                   g->fabric_status != 0 && g->fabric_state == NVML_FABRIC_COMPLETED ? ", status not success"
                                                                                                     : "");
        }
        _cleanup_free_ char *list = buf_steal(&b);
        if (bad)
                check_result_set(ret, CHECK_FAIL,
                                 xasprintf("GPU fabric not ready on %u of %u GPUs (%s): %s", bad, n.n_gpus, source, list),
                                 xstrdup("Fabric Manager registers the GPUs with the NVSwitches: check fabric.manager, "
                                         "then systemctl restart " FABRIC_MANAGER_UNIT " and read " FABRIC_MANAGER_LOG));
        else if (unknown == n.n_gpus)
                check_result_set(ret, CHECK_WARN, xasprintf("the driver reports no fabric state for its %u GPUs", n.n_gpus),
                                 xstrdup("a driver older than the GPU fabric API (R525): read nvidia-smi -q's Fabric section"));
        else
                check_result_set(ret, CHECK_OK,
                                 xasprintf("fabric completed, status success on all %u GPUs (%s)", n.n_gpus - unknown, source),
                                 NULL);
        nvml_info_done(&n);
}

const CheckKind check_fabric_state = {
        .name = "fabric.state",
        .summary = "on an NVSwitch host: every GPU's fabric registration completed with success (NVML, else nvidia-smi -q)",
        .param = CHECK_PARAM_NONE,
        .run = state_run,
        .verify = true,
};

/* ---- driver.persistence ---- */

static void persistence_run(const CheckSpec *c _unused_, Ctx *ctx, CheckResult *ret) {
        const PlanIntent *in = intent_of(ctx);
        bool hgx = hgx_nvswitch_count(ctx->host) > 0;
        if (!(in && in->persistence) && !hgx) {
                check_result_set(ret, CHECK_SKIP,
                                 xstrdup("not asked for: the plan does not enable " PERSISTENCED_UNIT
                                         " and this is no NVSwitch host"),
                                 NULL);
                return;
        }
        if (!hgx && !hgx_unit_installed(ctx->host, PERSISTENCED_UNIT, NULL)) {
                check_result_set(ret, CHECK_SKIP, xstrdup(PERSISTENCED_UNIT " is not installed (the driver did not bring it)"),
                                 NULL);
                return;
        }
        int enabled, active;
        hgx_unit_state(ctx->host, PERSISTENCED_UNIT, &enabled, &active);
        if (!enabled || !active) {
                check_result_set(ret, CHECK_FAIL,
                                 xasprintf(PERSISTENCED_UNIT " is %s and %s", enabled ? "enabled" : "not enabled",
                                           active ? "active" : "not active"),
                                 xstrdup("systemctl enable --now " PERSISTENCED_UNIT
                                         ": without it data-center GPUs re-initialise for every client"));
                return;
        }
        NvmlInfo n = {0};
        unsigned off = 0, known = 0;
        if (nvml_query(ctx->host, &n) >= 0 && n.status == NVML_STATUS_OK)
                for (unsigned i = 0; i < n.n_gpus; i++) {
                        known += n.gpus[i].persistence >= 0;
                        off += n.gpus[i].persistence == 0;
                }
        if (off)
                check_result_set(ret, CHECK_FAIL,
                                 xasprintf(PERSISTENCED_UNIT " is active, but NVML reports persistence mode off on %u of %u "
                                           "GPUs",
                                           off, n.n_gpus),
                                 xstrdup("systemctl restart " PERSISTENCED_UNIT " (it sets persistence mode on every GPU)"));
        else
                check_result_set(ret, CHECK_OK,
                                 known ? xasprintf(PERSISTENCED_UNIT " enabled and active; persistence mode on for all %u "
                                                   "GPUs",
                                                   known)
                                       : xstrdup(PERSISTENCED_UNIT " enabled and active"),
                                 NULL);
        nvml_info_done(&n);
}

const CheckKind check_driver_persistence = {
        .name = "driver.persistence",
        .summary = "nvidia-persistenced enabled and running, persistence mode on for every GPU (where the plan enables it, "
                   "and on NVSwitch hosts)",
        .param = CHECK_PARAM_NONE,
        .run = persistence_run,
        .verify = true,
};
