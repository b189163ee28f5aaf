#include "engine/image.h"

#include <string.h>

#include "base/error.h"
#include "base/log.h"
#include "host/image.h"
#include "plan/check_kind.h"
#include "plan/state.h"
#include "steps/steps.h"

/* The checks that read the running machine rather than the files of the tree: the GPU on the PCI
 * bus, the loaded module (/sys/module, /proc/driver/nvidia), NVML, Secure Boot's EFI variables, a
 * restarted daemon, a command's result on the machine. Kept as a list here, not as a flag of each
 * check kind, since only image mode asks. */
static const char *const boot_checks[] = {
        "gpu.present",   "gpu.open-module-supported", "driver.loaded",    "driver.version",
        "driver.flavor", "driver.stale",              "driver.nvml",      "driver.cuda-ceiling",
        "secureboot",    "nouveau",                   "runtime.restarted", "command-succeeds",
        "toolkit.nvcc",
};

bool image_check_needs_boot(const CheckSpec *c) {
        for (size_t i = 0; i < ELEMENTSOF(boot_checks); i++)
                if (streq(c->kind->name, boot_checks[i]))
                        return true;
        return false;
}

static const CheckSpec *first_boot_check(const Step *s) {
        for (size_t j = 0; j < s->n_checks; j++)
                if (image_check_needs_boot(&s->checks[j]))
                        return &s->checks[j];
        return NULL;
}

bool image_step_deferred(const Step *s) {
        return streq(s->kind->name, "gate") && first_boot_check(s);
}

/* A step that needs the booted machine by its kind (the check list aside). */
static bool kind_needs_boot(const Step *s) {
        return s->kind->reboot || streq(s->kind->name, "service-restart");
}

int image_first_boot_step(const Plan *p, size_t *ret, char **reterr) {
        size_t at = p->n_steps;
        for (size_t i = 0; i < p->n_steps && at == p->n_steps; i++)
                if (p->steps[i].kind->reboot)
                        at = i;
        for (size_t i = 0; i < p->n_steps && at == p->n_steps; i++)
                if (kind_needs_boot(&p->steps[i]) || (!image_step_deferred(&p->steps[i]) && first_boot_check(&p->steps[i])))
                        at = i;

        Buf why = {0};
        for (size_t i = 0; i < at; i++) {
                const Step *s = &p->steps[i];
                const CheckSpec *c = first_boot_check(s);
                if (kind_needs_boot(s))
                        buf_printf(&why, "\n  step '%s' (line %u): a %s needs the booted machine", s->id, s->line,
                                   s->kind->name);
                else if (c && !image_step_deferred(s)) {
                        _cleanup_free_ char *label = check_spec_label(c);
                        buf_printf(&why, "\n  step '%s' (line %u): its check %s needs the booted machine", s->id,
                                   s->line, label);
                }
        }
        if (why.len) {
                _cleanup_free_ char *list = buf_steal(&why);
                return errorf(reterr, -EINVAL,
                              "plan %s cannot build an image: these steps come before the reboot step %s%s%s but "
                              "cannot run before the image boots:%s\n  Move them after the reboot step, or drop "
                              "the checks that need the booted machine from them.",
                              p->path, at < p->n_steps ? "'" : "", at < p->n_steps ? p->steps[at].id : "(none)",
                              at < p->n_steps ? "'" : "", list);
        }
        *ret = at;
        return 0;
}

int image_prepare_first_boot(Ctx *ctx, char **ret_detail, char **reterr) {
        _cleanup_free_ char *kernels = NULL, *err = NULL;
        int r;

        if (ctx->state->changed) {
                r = image_update_kernels(ctx->host, ctx_echo(ctx, 1) ? log_program_output : NULL, NULL, &kernels, &err);
                if (r < 0)
                        return errorf(reterr, r, "%s", err);
        }
        r = image_enable_unit(ctx->host, GPUBASE_UNIT, &err);
        if (r < 0)
                return errorf(reterr, r, "cannot enable %s in the image, so nothing would go on with the run at its "
                              "first boot: %s", GPUBASE_UNIT, err);
        *ret_detail = xasprintf("%s%s%s enabled in the image", kernels ? kernels : "", kernels ? "; " : "", GPUBASE_UNIT);
        return 0;
}
