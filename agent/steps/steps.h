/* A step kind: what a plan step of that kind means. One file per kind, each exporting one
 * `const StepKind` (declared in plan/step_kind.h), registered in step_kinds[] (steps.c). The engine
 * knows steps only through this table; steps know the machine only through host/. */
#pragma once

#include "plan/step_kind.h"

extern const StepKind step_gate, step_command, step_file, step_reboot, step_apt_install, step_apt_source,
        step_apt_keyring_deb, step_container_runtime, step_service_restart, step_module_blacklist,
        step_service_enable, step_container_smoke, step_cdi_generate;

/* Reboot step parameters, read by the engine. */
typedef struct RebootParams {
        unsigned max_reboots;
} RebootParams;
