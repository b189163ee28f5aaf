#include "when.h"

#include "state.h"

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

static const WhenKind when_kinds[] = {
        {"always", "always run the step (default for every kind but reboot)", when_always},
        {"changed", "an earlier step of this run applied a change since the last reboot (default for reboot)",
         when_changed},
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
