#include "steps/steps.h"

static const StepKind *const step_kinds[] = {
        &step_gate,
        &step_command,
        &step_file,
        &step_reboot,
        &step_apt_install,
        &step_apt_source,
        &step_apt_keyring_deb,
        &step_container_runtime,
        &step_service_restart,
        &step_service_enable,
        &step_module_blacklist,
        &step_cdi_generate,
        &step_container_smoke,
};

const StepKind *step_kind_find(const char *name) {
        for (size_t i = 0; i < ELEMENTSOF(step_kinds); i++)
                if (streq(step_kinds[i]->name, name))
                        return step_kinds[i];
        return NULL;
}

const char *const *step_kind_names(void) {
        static const char *names[ELEMENTSOF(step_kinds) + 1];
        for (size_t i = 0; i < ELEMENTSOF(step_kinds); i++)
                names[i] = step_kinds[i]->name;
        return names;
}
