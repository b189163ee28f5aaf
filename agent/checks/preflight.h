/* Plan-time refusals: what can be known bad before anything runs is refused before anything runs
 * (exit 65, in `plan check` and at `run`). */
#pragma once

#include "plan/plan.h"
#include "checks/checks.h"
#include "checks/pci.h"

/* NVIDIA's rule for driving this GPU with the `flavor` module (a DriverFlavor, -1 unknown) at
 * `branch` (-1 unknown): CHECK_FAIL for the open module before Turing, a branch past the GPU's last
 * (580 for Maxwell, Pascal, Volta) and the proprietary module on Blackwell or Grace Hopper;
 * CHECK_WARN for the proprietary module on Turing, Ampere, Ada and Hopper (H100/H200), where the open
 * one is recommended; else CHECK_OK (an unknown GPU included). For WARN and FAIL, *ret_why and
 * *ret_fix are set (newly allocated). */
CheckStatus gpu_flavor_verdict(const Gpu *g, int branch, int flavor, char **ret_why, char **ret_fix);
/* The CHECK_FAIL cases of gpu_flavor_verdict(): why (with *ret_fix), or NULL. */
char *gpu_refusal(const Gpu *g, int branch, int flavor, char **ret_fix);

/* Every reason to refuse the plan on this host, one message each (with its fix); NULL if none. */
char **plan_refusals(const Plan *p, const Host *h);

/* The Fabric Manager package of a driver branch in NVIDIA's CUDA repository, named as its driver
 * packages are: "nvidia-fabricmanager-<branch>" up to branch 580, "nvidia-fabricmanager" from 590 on
 * (the branch chosen by nvidia-driver-pinning-<branch>) and when the branch is unknown. */
char *fabric_manager_package(int branch);
