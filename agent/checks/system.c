/* secureboot and nouveau: the two things that keep a correctly installed module from loading. */
#include "checks/facts.h"
#include "checks/checks.h"

static void secureboot_run(const CheckSpec *c _unused_, Ctx *ctx, CheckResult *ret) {
        SecureBoot sb = secureboot_state(ctx->host);
        bool loaded = driver_loaded(ctx->host);
        DpkgPackage pkg = {0};
        bool installed = dpkg_find_driver(ctx->host, &pkg) == 0;
        switch (sb) {
        case SECUREBOOT_LEGACY:
                check_result_set(ret, CHECK_OK, xstrdup("legacy (BIOS) boot: no Secure Boot"), NULL);
                break;
        case SECUREBOOT_DISABLED:
                check_result_set(ret, CHECK_OK, xstrdup("Secure Boot is disabled"), NULL);
                break;
        case SECUREBOOT_UNKNOWN:
                check_result_set(ret, CHECK_WARN, xstrdup("EFI boot, but the SecureBoot variable cannot be read"),
                                 xstrdup("check with `mokutil --sb-state`"));
                break;
        case SECUREBOOT_ENABLED:
                if (loaded)
                        check_result_set(ret, CHECK_OK, xstrdup("Secure Boot is enabled and the nvidia module is loaded (signed)"),
                                         NULL);
                else if (installed)
                        check_result_set(ret, CHECK_FAIL,
                                         xasprintf("Secure Boot is enabled and the nvidia module (%s %s) is not loaded: the "
                                                   "kernel most likely refused an unsigned module",
                                                   pkg.name, pkg.version),
                                         xstrdup("enrol the DKMS signing key: `mokutil --import /var/lib/dkms/mok.pub`, "
                                                 "reboot and confirm it in MokManager; or use Ubuntu's signed "
                                                 "linux-modules-nvidia-<branch>-server-open packages"));
                else
                        check_result_set(ret, CHECK_WARN,
                                         xstrdup("Secure Boot is enabled: a DKMS-built driver will not load until its "
                                                 "signing key is enrolled"),
                                         xstrdup("enrol /var/lib/dkms/mok.pub with mokutil after the driver is installed, "
                                                 "or use signed prebuilt modules"));
                break;
        }
        dpkg_package_done(&pkg);
}

const CheckKind check_secureboot = {
        .name = "secureboot",
        .summary = "Secure Boot is not keeping the nvidia module from loading",
        .param = CHECK_PARAM_NONE,
        .run = secureboot_run,
        .verify = true,
};

static void nouveau_run(const CheckSpec *c _unused_, Ctx *ctx, CheckResult *ret) {
        if (module_loaded(ctx->host, "nouveau"))
                check_result_set(ret, CHECK_FAIL, xstrdup("the nouveau module is loaded and holds the GPU"),
                                 xstrdup("write /etc/modprobe.d/blacklist-nouveau.conf with `blacklist nouveau` and "
                                         "`options nouveau modeset=0`, run `update-initramfs -u`, reboot"));
        else
                check_result_set(ret, CHECK_OK, xstrdup("nouveau is not loaded"), NULL);
}

const CheckKind check_nouveau = {
        .name = "nouveau",
        .summary = "the nouveau module is not loaded",
        .param = CHECK_PARAM_NONE,
        .run = nouveau_run,
        .verify = true,
};
