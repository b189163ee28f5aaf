/* NVIDIA's GPU Operator on this host (checks/operator.c). */
#pragma once

#include "host/host.h"

#define OPERATOR_DRIVER_ROOT "/run/nvidia/driver"
#define OPERATOR_DRIVER_READY "/run/nvidia/validations/driver-ready"
#define OPERATOR_FIX                                                                                                     \
        "do not install a host driver under the operator's driver container: drop the plan's driver steps (a plan "  \
        "for an operator host keeps only what the operator leaves to the host), or remove the operator's driver "     \
        "daemonset and deploy it with driver.enabled=false and toolkit.enabled=false before running the plan"

/* Why this host's driver looks operator-managed (newly allocated), or NULL. */
char *gpu_operator_driver(const Host *h);
