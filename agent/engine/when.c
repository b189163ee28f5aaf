#include "plan/when_kind.h"

#include "checks/checks.h"
#include "checks/facts.h"
#include "checks/hgx.h"
#include "checks/pci.h"
#include "plan/state.h"

static int when_always(const Step *s _unused_, Ctx *ctx _unused_, char **ret_why) {
        *ret_why = xstrdup("always");
        return 1;
}

/* An earlier step of this run applied a change since the last reboot: a converged rerun finds
 * nothing changed and never reboots. */
static int when_changed(const Step *s _unused_, Ctx *ctx, char **ret_why) {
        if (ctx->state && ctx->state->changed) {
                *ret_why = xstrdup("an earlier step changed the system since the last reboot");
                return 1;
        }
        *ret_why = xstrdup("nothing changed since the last reboot");
        return 0;
}

/* The condition holds when the named check fails: the step exists to fix what the check finds. */
static int when_check_fails(const char *check, Ctx *ctx, char **ret_why) {
        const CheckKind *k = check_kind_find(check);
        CheckSpec c = {.kind = k};
        _cleanup_(check_result_done) CheckResult res = {0};
        if (!k)
                return -ENOENT;
        k->run(&c, ctx, &res);
        *ret_why = xasprintf("%s: %s", check, res.detail ? res.detail : check_status_to_string(res.status));
        return res.status == CHECK_FAIL;
}

/* A loaded nouveau also calls for the reboot, even when the nvidia module that is loaded beside it
 * is the installed one: only a boot with nouveau blacklisted hands the GPU to the driver. */
static int when_driver_stale(const Step *s _unused_, Ctx *ctx, char **ret_why) {
        if (module_loaded(ctx->host, "nouveau")) {
                *ret_why = xstrdup("nouveau is loaded: a boot with it blacklisted hands the GPU to the nvidia driver");
                return 1;
        }
        return when_check_fails("driver.stale", ctx, ret_why);
}

static int when_config_changed(const Step *s _unused_, Ctx *ctx, char **ret_why) {
        return when_check_fails("runtime.restarted", ctx, ret_why);
}

/* An HGX board: NVSwitches on the PCI bus (NVIDIA's list of their IDs), whatever driver is loaded. */
static int when_nvswitch_present(const Step *s _unused_, Ctx *ctx, char **ret_why) {
        GpuList l = {0};
        int r = pci_find_gpus(ctx->host, &l);
        if (r == -ENOENT) { /* no PCI bus to read (a container, a bare test root): no NVSwitch either */
                *ret_why = xstrdup("no PCI bus (/sys/bus/pci): no NVSwitch");
                return 0;
        }
        if (r < 0) {
                *ret_why = xasprintf("the PCI bus cannot be read: %s", r == -EIO ? pci_last_error() : strerror(-r));
                return r;
        }
        size_t n = l.n_nvswitches;
        gpu_list_done(&l);
        *ret_why = n ? xasprintf("%zu NVSwitch%s on the PCI bus", n, n == 1 ? "" : "es")
                     : xstrdup("no NVSwitch on the PCI bus");
        return n > 0;
}

/* nvidia-persistenced's unit is installed (the driver's packages bring it): enabling it is possible. */
static int when_persistenced_installed(const Step *s _unused_, Ctx *ctx, char **ret_why) {
        _cleanup_free_ char *path = NULL;
        if (hgx_unit_installed(ctx->host, PERSISTENCED_UNIT, &path)) {
                *ret_why = xasprintf("%s is installed", path);
                return 1;
        }
        *ret_why = xstrdup(PERSISTENCED_UNIT " is not installed");
        return 0;
}

static const WhenKind when_kinds[] = {
        {"always", "always run the step (default for every kind but reboot)", when_always},
        {"changed", "an earlier step of this run applied a change since the last reboot (default for reboot)",
         when_changed},
        {"driver-stale",
         "the loaded nvidia module differs from the installed driver, or none is loaded (driver.stale fails), or "
         "nouveau is loaded",
         when_driver_stale},
        {"config-changed", "the container runtime's configuration is newer than the running daemon (runtime.restarted fails)",
         when_config_changed},
        {"nvswitch-present", "NVSwitches are on the PCI bus (an HGX/DGX board: Fabric Manager is needed)",
         when_nvswitch_present},
        {"persistenced-installed", "nvidia-persistenced.service is installed (the driver's packages bring it)",
         when_persistenced_installed},
};

const WhenKind *when_find(const char *name) {
        for (size_t i = 0; i < ELEMENTSOF(when_kinds); i++)
                if (streq(when_kinds[i].name, name))
                        return &when_kinds[i];
        return NULL;
}

const char *const *when_names(void) {
        static const char *names[ELEMENTSOF(when_kinds) + 1];
        for (size_t i = 0; i < ELEMENTSOF(when_kinds); i++)
                names[i] = when_kinds[i].name;
        return names;
}
