/* secureboot and nouveau: the two things that keep a correctly installed module from loading. */
#include <string.h>

#include "plan/state.h"
#include "checks/checks.h"
#include "checks/facts.h"
#include "checks/signing.h"

/* `secureboot` takes the plan's signing route as its parameter: none (the default), dkms-mok or
 * signed-modules (signing.h). */
static int secureboot_parse(CheckSpec *c, const YNode *param, ParseCtx *pc) {
        if (!param)
                return 0;
        SigningRoute r = param->type == YNODE_SCALAR ? signing_route_from_string(param->value) : _SIGNING_ROUTE_INVALID;
        if (r < 0) {
                src_error_set(pc->err, pc->file, param,
                              "secureboot's parameter is the plan's signing route: none, dkms-mok or signed-modules");
                return -EINVAL;
        }
        int *p = xmalloc(sizeof *p);
        *p = (int) r;
        c->params = p;
        return 0;
}

static void secureboot_declare(const CheckSpec *c, PlanIntent *in) {
        if (c->params && in->signing_route < 0)
                in->signing_route = *(const int *) c->params;
}

static void secureboot_run(const CheckSpec *c, Ctx *ctx, CheckResult *ret) {
        SecureBoot sb = secureboot_state(ctx->host);
        bool loaded = driver_loaded(ctx->host);
        SigningRoute route = c->params ? (SigningRoute) * (const int *) c->params
                                       : ctx->plan ? plan_signing_route(&ctx->plan->intent) : SIGNING_NONE;
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
                else if (route == SIGNING_DKMS_MOK) {
                        _cleanup_free_ char *cert = NULL, *why = NULL;
                        if (dkms_key_enrolled(ctx->host, &cert, &why) > 0)
                                check_result_set(ret, CHECK_OK,
                                                 xasprintf("Secure Boot is enabled and the DKMS signing key %s is enrolled: "
                                                           "the module DKMS builds will load",
                                                           cert),
                                                 NULL);
                        else
                                check_result_set(ret, CHECK_FAIL, xasprintf("Secure Boot is enabled and %s", why),
                                                 xstrdup("enrol the DKMS signing key: `mokutil --import "
                                                         "/var/lib/dkms/mok.pub`, reboot and confirm it in MokManager"));
                } else if (route == SIGNING_SIGNED_MODULES)
                        check_result_set(ret, CHECK_OK,
                                         xstrdup("Secure Boot is enabled; the plan installs distribution-signed modules"),
                                         NULL);
                else if (installed)
                        check_result_set(ret, CHECK_FAIL,
                                         xasprintf("Secure Boot is enabled and the nvidia module (%s %s) is not loaded: the "
                                                   "kernel most likely refused an unsigned module",
                                                   pkg.name, pkg.version),
                                         xstrdup(SIGNING_ROUTES_ADVICE));
                else
                        check_result_set(ret, CHECK_WARN,
                                         xstrdup("Secure Boot is enabled: a DKMS-built driver will not load unless its "
                                                 "signing key is enrolled"),
                                         xstrdup(SIGNING_ROUTES_ADVICE));
                break;
        }
        dpkg_package_done(&pkg);
}

const CheckKind check_secureboot = {
        .name = "secureboot",
        .summary = "Secure Boot is not keeping the nvidia module from loading (parameter: the plan's signing route)",
        .param = CHECK_PARAM_OPTIONAL,
        .parse = secureboot_parse,
        .free_params = free,
        .run = secureboot_run,
        .declare = secureboot_declare,
        .verify = true,
};

static ssize_t plan_step_index(const Plan *p, const char *id) {
        for (size_t i = 0; id && i < p->n_steps; i++)
                if (streq(p->steps[i].id, id))
                        return (ssize_t) i;
        return -1;
}

typedef enum NouveauFix {
        NOUVEAU_FIX_NONE,   /* the plan has no blacklist step followed by a reboot step (or no run state) */
        NOUVEAU_FIX_AHEAD,  /* the run has not reached that reboot step yet */
        NOUVEAU_FIX_PASSED, /* it has: its checks are running, or later steps' */
} NouveauFix;

/* Where the run stands with the plan's own fix for nouveau: a step that blacklists it, then a
 * reboot step. The position is the first step not done or skipped: the one whose checks run. */
static NouveauFix plan_nouveau_fix(const Ctx *ctx, ssize_t *ret_blacklist, ssize_t *ret_reboot) {
        *ret_blacklist = *ret_reboot = -1;
        if (!ctx->plan || !ctx->state || ctx->state->n_steps != ctx->plan->n_steps)
                return NOUVEAU_FIX_NONE;
        const PlanIntent *in = &ctx->plan->intent;
        *ret_blacklist = plan_step_index(ctx->plan, in->nouveau_blacklist_step);
        *ret_reboot = plan_step_index(ctx->plan, in->nouveau_reboot_step);
        if (*ret_blacklist < 0 || *ret_reboot < 0)
                return NOUVEAU_FIX_NONE;
        size_t pos = 0;
        while (pos < ctx->state->n_steps &&
               (ctx->state->steps[pos].state == STEP_DONE || ctx->state->steps[pos].state == STEP_SKIPPED))
                pos++;
        return (size_t) *ret_reboot > pos ? NOUVEAU_FIX_AHEAD : NOUVEAU_FIX_PASSED;
}

#define NOUVEAU_FIX                                                                                        \
        "blacklist it (a module-blacklist step for nouveau, or /etc/modprobe.d/blacklist-nouveau.conf with " \
        "`blacklist nouveau` and `options nouveau modeset=0`), run `update-initramfs -u -k all`, reboot"

static void nouveau_run(const CheckSpec *c _unused_, Ctx *ctx, CheckResult *ret) {
        ssize_t bl, rb;
        if (!module_loaded(ctx->host, "nouveau")) {
                check_result_set(ret, CHECK_OK, xstrdup("nouveau is not loaded"), NULL);
                return;
        }
        switch (plan_nouveau_fix(ctx, &bl, &rb)) {
        case NOUVEAU_FIX_AHEAD:
                check_result_set(ret, CHECK_WARN,
                                 xasprintf("nouveau is loaded; this plan clears it: step '%s' blacklists it and rebuilds "
                                           "the initramfs, and step '%s' reboots without it",
                                           ctx->plan->steps[bl].id, ctx->plan->steps[rb].id),
                                 NULL);
                break;
        case NOUVEAU_FIX_PASSED:
                if (ctx->state->steps[rb].reboots == 0)
                        check_result_set(ret, CHECK_FAIL,
                                         xasprintf("nouveau is loaded: step '%s' blacklisted it, but step '%s' did not "
                                                   "reboot (its condition did not hold)",
                                                   ctx->plan->steps[bl].id, ctx->plan->steps[rb].id),
                                         xstrdup("reboot the machine (the blacklist is in the initramfs), then "
                                                 "`gpubase resume`"));
                else
                        check_result_set(ret, CHECK_FAIL,
                                         xasprintf("nouveau is still loaded after the reboot of step '%s', although step "
                                                   "'%s' blacklisted it",
                                                   ctx->plan->steps[rb].id, ctx->plan->steps[bl].id),
                                         xstrdup("something loads it all the same: look for nouveau in /etc/modprobe.d, "
                                                 "/etc/modules-load.d, the kernel command line (/proc/cmdline) and the "
                                                 "initramfs (`lsinitramfs /boot/initrd.img-$(uname -r) | grep nouveau`); "
                                                 "fix it, run `update-initramfs -u -k all`, reboot, then `gpubase resume`"));
                break;
        default:
                check_result_set(ret, CHECK_FAIL, xstrdup("the nouveau module is loaded and holds the GPU"),
                                 xstrdup(NOUVEAU_FIX));
        }
}

const CheckKind check_nouveau = {
        .name = "nouveau",
        .summary = "the nouveau module is not loaded (before the plan's own blacklist and reboot: reported, not failed)",
        .param = CHECK_PARAM_NONE,
        .run = nouveau_run,
        .verify = true,
};
