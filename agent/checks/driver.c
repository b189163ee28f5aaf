/* driver.loaded, driver.version, driver.stale, driver.next-kernel, driver.origin, driver.held: the
 * kernel module and its packages, from sysfs, libkmod and dpkg's status file (no apt cache, no
 * nvidia-smi). */
#include <string.h>

#include "host/version.h"
#include "checks/facts.h"
#include "checks/kernels.h"
#include "checks/param.h"
#include "checks/pci.h"

static const PlanIntent *intent_of(Ctx *ctx) {
        return ctx->plan ? &ctx->plan->intent : NULL;
}

/* ---- driver.loaded ---- */

static void loaded_run(const CheckSpec *c _unused_, Ctx *ctx, CheckResult *ret) {
        _cleanup_free_ char *v = NULL;
        if (driver_loaded(ctx->host)) {
                (void) driver_loaded_version(ctx->host, &v);
                check_result_set(ret, CHECK_OK, xasprintf("nvidia module %s is loaded", v ? v : "(version unknown)"),
                                 NULL);
                return;
        }
        /* Without a GPU the module does not load at all (its init fails with -ENODEV): that is the
         * answer, not a driver failure to chase in dmesg */
        GpuList l = {0};
        bool no_gpu = pci_find_gpus(ctx->host, &l) == 0 && l.n == 0;
        gpu_list_done(&l);
        if (no_gpu) {
                check_result_set(ret, CHECK_FAIL, xstrdup("no NVIDIA GPU on the PCI bus"),
                                 xstrdup("the nvidia module does not load without an NVIDIA GPU (modprobe nvidia: "
                                         "\"No such device\"): check the instance type, the PCI passthrough or "
                                         "that the GPU is seated and powered"));
                return;
        }
        if (dpkg_status_unreadable(ctx->host, ret))
                return;
        DpkgPackage pkg = {0};
        bool installed = dpkg_find_driver(ctx->host, &pkg) == 0;
        char *fix;
        if (module_loaded(ctx->host, "nouveau"))
                fix = xstrdup("nouveau is loaded and holds the GPU: blacklist it (see the nouveau check), rebuild the "
                              "initramfs and reboot");
        else if (installed && secureboot_state(ctx->host) == SECUREBOOT_ENABLED)
                fix = xstrdup("Secure Boot is on and probably refused the module: see the secureboot check");
        else if (installed)
                fix = xasprintf("%s %s is installed: reboot to load it; if it still does not load, run `modprobe "
                                "nvidia` and read `dmesg`",
                                pkg.name, pkg.version);
        else
                fix = xstrdup("install the driver (the plan's driver step)");
        check_result_set(ret, CHECK_FAIL, xstrdup("the nvidia kernel module is not loaded"), fix);
        dpkg_package_done(&pkg);
}

const CheckKind check_driver_loaded = {
        .name = "driver.loaded",
        .summary = "the nvidia kernel module is loaded",
        .param = CHECK_PARAM_NONE,
        .run = loaded_run,
        .verify = true,
};

/* ---- driver.version ---- */

static void version_declare(const CheckSpec *c, PlanIntent *intent) {
        const char *glob = c->params;
        if (!glob || intent->driver_glob)
                return;
        intent->driver_glob = xstrdup(glob);
        /* "595.*" names branch 595; "58[0-9].*" or "5*" name no single branch */
        size_t digits = strspn(glob, "0123456789");
        intent->driver_branch = digits > 0 && (glob[digits] == '.' || !glob[digits]) ? version_major(glob) : -1;
}

static void version_run(const CheckSpec *c, Ctx *ctx, CheckResult *ret) {
        const PlanIntent *in = intent_of(ctx);
        const char *glob = c->params ? c->params : in ? in->driver_glob : NULL;
        _cleanup_free_ char *v = NULL;
        if (driver_loaded_version(ctx->host, &v) < 0) {
                check_result_set(ret, CHECK_SKIP, xstrdup("the nvidia module is not loaded"), NULL);
                return;
        }
        if (!glob) {
                check_result_set(ret, CHECK_OK, xasprintf("loaded %s (no branch planned)", v), NULL);
                return;
        }
        if (!version_matches(glob, v)) {
                check_result_set(ret, CHECK_FAIL, xasprintf("the loaded module is %s, the plan wants %s", v, glob),
                                 xasprintf("install the %s driver (pinned and held), then reboot", glob));
                return;
        }
        check_result_set(ret, CHECK_OK, xasprintf("loaded %s matches %s", v, glob), NULL);
}

const CheckKind check_driver_version = {
        .name = "driver.version",
        .summary = "the loaded module's version matches the plan's branch (a glob such as 595.*)",
        .param = CHECK_PARAM_OPTIONAL,
        .parse = check_param_string,
        .free_params = free,
        .run = version_run,
        .declare = version_declare,
        .verify = true,
};

/* ---- driver.stale ---- */

/* The running kernel is in order: is the one the next boot starts too? A warning, not a failure: a
 * reboot would not mend it (driver-stale must not ask for one), the driver step does. */
static void stale_other_kernels(Ctx *ctx, const char *three, const char *want, CheckResult *ret) {
        _cleanup_(kernel_list_done) KernelList kl = {0};
        const KernelInfo *next = kernel_list_read(ctx->host, &kl) == 0 ? kernel_list_next(&kl) : NULL;
        if (next && !next->running && !kernel_has_module(next, want))
                check_result_set(ret, CHECK_WARN,
                                 xasprintf("%s; but kernel %s, which boots next, has %s%s", three, next->release,
                                           next->module ? "the module " : "no nvidia module",
                                           next->module ? next->module : ""),
                                 xasprintf("see driver.next-kernel: build the module for %s before the next reboot",
                                           next->release));
        else
                check_result_set(ret, CHECK_OK, xstrdup(three), NULL);
}

static void stale_run(const CheckSpec *c _unused_, Ctx *ctx, CheckResult *ret) {
        DpkgPackage pkg = {0};
        _cleanup_free_ char *pv = NULL, *dv = NULL, *magic = NULL, *lv = NULL, *rel = NULL;

        if (dpkg_find_driver(ctx->host, &pkg) == 0)
                pv = version_upstream(pkg.version);
        (void) driver_disk_version(ctx->host, &dv, &magic, NULL);
        (void) driver_loaded_version(ctx->host, &lv);
        (void) kernel_release(ctx->host, &rel);
        _cleanup_free_ char *three = xasprintf("package %s%s%s, module on disk %s, loaded %s", pkg.name ? pkg.name : "",
                                               pkg.name ? " " : "", pv ? pv : "none", dv ? dv : "none", lv ? lv : "none");
        const char *hold = "; hold the driver packages so that unattended upgrades cannot do this again";

        if (!pv && !dv && !lv)
                check_result_set(ret, CHECK_SKIP, xstrdup("no NVIDIA driver is installed"), NULL);
        else if (!lv)
                check_result_set(ret, CHECK_FAIL, xasprintf("reboot required: the driver is installed but not loaded (%s)", three),
                                 xstrdup("reboot; if the module still does not load, see the secureboot and nouveau checks"));
        else if (dv && magic && rel && !(startswith(magic, rel) && (magic[strlen(rel)] == ' ' || !magic[strlen(rel)])))
                check_result_set(ret, CHECK_FAIL,
                                 xasprintf("the module on disk was built for kernel '%.*s', the running kernel is %s (%s)",
                                           (int) strcspn(magic, " "), magic, rel, three),
                                 xasprintf("rebuild it for %s (dkms autoinstall) or install the prebuilt module for it", rel));
        else if ((pv && !streq(pv, lv)) || (dv && !streq(dv, lv)))
                check_result_set(ret, CHECK_FAIL, xasprintf("reboot required: %s", three),
                                 xasprintf("reboot to load the installed driver%s", hold));
        else if (pv && dv && !streq(pv, dv))
                check_result_set(ret, CHECK_FAIL,
                                 xasprintf("the module on disk does not match the installed package (%s): the module was "
                                           "not rebuilt for kernel %s",
                                           three, rel ? rel : "?"),
                                 xstrdup("rebuild the module (dkms autoinstall) and reboot"));
        else
                stale_other_kernels(ctx, three, pv, ret);
        dpkg_package_done(&pkg);
}

const CheckKind check_driver_stale = {
        .name = "driver.stale",
        .summary = "installed package, module on disk and loaded module are the same version (else: reboot required)",
        .param = CHECK_PARAM_NONE,
        .run = stale_run,
        .verify = true,
};

/* ---- driver.next-kernel ---- */

static char *next_kernel_fix(const KernelInfo *k) {
        if (k->headers)
                return xasprintf("build it for %s: dkms autoinstall -k %s (its headers are installed), or rerun the "
                                 "plan's driver step; reboot only then",
                                 k->release, k->release);
        return xasprintf("install linux-headers-%s (DKMS then builds the module for it: the plan's driver step does "
                         "both), or remove kernel %s; reboot only then",
                         k->release, k->release);
}

static void next_kernel_run(const CheckSpec *c _unused_, Ctx *ctx, CheckResult *ret) {
        _cleanup_(kernel_list_done) KernelList kl = {0};
        DpkgPackage pkg = {0};
        _cleanup_free_ char *want = NULL, *all = NULL;

        if (kernel_list_read(ctx->host, &kl) < 0) {
                check_result_set(ret, CHECK_SKIP, xstrdup("no kernel image in /boot (vmlinuz-*): nothing to boot next"),
                                 NULL);
                return;
        }
        if (dpkg_find_driver(ctx->host, &pkg) == 0)
                want = version_upstream(pkg.version);
        const KernelInfo *next = kernel_list_next(&kl);
        all = kernel_list_describe(&kl);
        bool any = false;
        for (size_t i = 0; i < kl.n; i++)
                any = any || kl.k[i].module;
        if (!want && !any)
                check_result_set(ret, CHECK_SKIP, xstrdup("no NVIDIA driver is installed"), NULL);
        else if (!next->module)
                check_result_set(ret, CHECK_FAIL,
                                 xasprintf("kernel %s boots next (the newest of %zu installed) and has no nvidia module%s "
                                           "(%s)",
                                           next->release, kl.n, next->headers ? "" : ", nor its headers", all),
                                 next_kernel_fix(next));
        else if (want && !streq(next->module, want))
                check_result_set(ret, CHECK_FAIL,
                                 xasprintf("kernel %s boots next with the nvidia module %s, the installed package is %s "
                                           "(%s)",
                                           next->release, next->module, want, all),
                                 next_kernel_fix(next));
        else
                check_result_set(ret, CHECK_OK, xasprintf("kernel %s boots next and has the module %s (%s)", next->release,
                                                          next->module, all),
                                 NULL);
        dpkg_package_done(&pkg);
}

const CheckKind check_driver_next_kernel = {
        .name = "driver.next-kernel",
        .summary = "the kernel the next boot starts (the newest in /boot) has the nvidia module at the installed version",
        .param = CHECK_PARAM_NONE,
        .run = next_kernel_run,
        .verify = true,
};

/* ---- driver.origin ---- */

#define CUDA_REPO_HOST "developer.download.nvidia.com"

static void origin_declare(const CheckSpec *c, PlanIntent *intent) {
        if (c->params && !intent->origin)
                intent->origin = xstrdup(c->params);
}

static void origin_run(const CheckSpec *c, Ctx *ctx, CheckResult *ret) {
        const PlanIntent *in = intent_of(ctx);
        const char *origin = c->params ? c->params : in && in->origin ? in->origin : CUDA_REPO_HOST;
        DpkgPackage pkg = {0};
        _cleanup_strv_free_ char **lists = NULL;

        if (dpkg_status_unreadable(ctx->host, ret))
                return;
        if (dpkg_find_driver(ctx->host, &pkg) < 0) {
                check_result_set(ret, CHECK_SKIP, xstrdup("no NVIDIA driver package is installed"), NULL);
                return;
        }
        if (apt_lists_origin(ctx->host, pkg.name, pkg.version, &lists) < 0) {
                check_result_set(ret, CHECK_WARN,
                                 xasprintf("cannot tell where %s %s came from: no apt list offers that version", pkg.name,
                                           pkg.version),
                                 xstrdup("run the plan's repository steps (or apt update) so that the lists are present"));
                dpkg_package_done(&pkg);
                return;
        }
        /* list files are named after the repository URL with '/' as '_' */
        _cleanup_free_ char *prefix = xstrdup(origin);
        for (char *p = prefix; *p; p++)
                if (*p == '/')
                        *p = '_';
        for (size_t i = 0; lists[i]; i++)
                if (startswith(lists[i], prefix)) {
                        check_result_set(ret, CHECK_OK, xasprintf("%s %s comes from %s", pkg.name, pkg.version, origin), NULL);
                        dpkg_package_done(&pkg);
                        return;
                }
        /* apt_lists_origin() returns 0 only with at least one list */
        _cleanup_free_ char *from = xstrndup(lists[0], strcspn(lists[0], "_")); /* NOLINT(clang-analyzer-core.NonNullParamChecker) */
        check_result_set(ret, CHECK_FAIL,
                         xasprintf("%s %s is the distribution's package (from %s), not %s's", pkg.name, pkg.version, from,
                                   origin),
                         xasprintf("remove it and install the driver from %s (the plan's keyring and driver steps)", origin));
        dpkg_package_done(&pkg);
}

const CheckKind check_driver_origin = {
        .name = "driver.origin",
        .summary = "the installed driver came from the plan's repository (default developer.download.nvidia.com)",
        .param = CHECK_PARAM_OPTIONAL,
        .parse = check_param_string,
        .free_params = free,
        .run = origin_run,
        .declare = origin_declare,
        .verify = true,
};

/* ---- driver.held ---- */

static void held_run(const CheckSpec *c _unused_, Ctx *ctx, CheckResult *ret) {
        DpkgPackage pkg = {0}, pin = {0};
        _cleanup_free_ char *holder = NULL;
        if (dpkg_status_unreadable(ctx->host, ret))
                return;
        if (dpkg_find_driver(ctx->host, &pkg) < 0) {
                check_result_set(ret, CHECK_SKIP, xstrdup("no NVIDIA driver package is installed"), NULL);
                return;
        }
        bool have_pin = dpkg_find_first(ctx->host, (const char *const[]){"nvidia-driver-pinning-*", NULL}, &pin) == 0;
        /* The package that carries the module is held itself, or a held package (the metapackage a plan
         * installs and holds, e.g. nvidia-open) depends on exactly its installed version: apt cannot
         * replace it then without breaking that hold either. */
        bool locked = pkg.held || dpkg_held_lock(ctx->host, pkg.name, pkg.version, &holder) == 0;
        if (!locked || (have_pin && !pin.held)) {
                const char *name = !locked ? pkg.name : pin.name;
                check_result_set(ret, CHECK_FAIL,
                                 xasprintf("%s is not held: an unattended upgrade can replace the driver under the loaded "
                                           "module (\"Driver/library version mismatch\")",
                                           name),
                                 xasprintf("apt-mark hold %s (an apt-install step with hold: true does it)", name));
        } else
                check_result_set(ret, CHECK_OK,
                                 xasprintf("%s %s is held%s%s%s%s%s", pkg.name, pkg.version,
                                           holder ? " (through " : "", holder ? holder : "",
                                           holder ? ", held, which depends on exactly that version)" : "",
                                           have_pin ? ", and " : "", have_pin ? pin.name : ""),
                                 NULL);
        dpkg_package_done(&pkg);
        dpkg_package_done(&pin);
}

const CheckKind check_driver_held = {
        .name = "driver.held",
        .summary = "the driver packages are held",
        .param = CHECK_PARAM_NONE,
        .run = held_run,
        .verify = true,
};
