/* Plan-time refusals: what can be known bad before anything runs is refused before anything runs
 * (exit 65, in `plan check` and at `run`). */
#pragma once

#include "plan/plan.h"
#include "checks/pci.h"

/* Can the `flavor` module (a DriverFlavor, -1 unknown: open from branch 560) at `branch` (-1
 * unknown) drive this GPU? NULL if yes (or unknown), else why not, with *ret_fix. */
char *gpu_refusal(const Gpu *g, int branch, int flavor, char **ret_fix);

/* Every reason to refuse the plan on this host, one message each (with its fix); NULL if none. */
char **plan_refusals(const Plan *p, const Host *h);
