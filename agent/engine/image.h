/* Image mode (gpubase --root TREE --image, host/image.h): which steps of a plan run while the
 * image is built and which wait for its first boot.
 *
 * The first boot begins with the plan's first reboot step (it counts as done once the image has
 * booted: a new boot id) or, in a plan without one, with the first step that needs the booted
 * machine; everything from there on runs at the first boot, through gpubase.service. Before it,
 * a gate whose checks look at the booted machine (the GPU, the loaded driver, Secure Boot) is left
 * for the first boot too, where it runs first. A step before it that cannot run offline (a service
 * restart, a step whose checks need the booted machine) makes the plan unfit for an image. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "plan/ctx.h"
#include "plan/plan.h"

/* The boot id a deferred reboot step records: no machine ever has it, so any real boot counts as
 * the reboot; and no boot id of the build host is left in the image. */
#define IMAGE_BOOT_ID "image-build"

/* Does the check look at the booted machine (loaded modules, devices, NVML, a restarted daemon)? */
bool image_check_needs_boot(const CheckSpec *c);
/* A gate before the first-boot step whose checks need the booted machine: it runs at the first boot. */
bool image_step_deferred(const Step *s);
/* Where the first boot begins (p->n_steps: everything runs while the image is built). 0, or -EINVAL
 * with *reterr naming the steps before it that cannot run offline, and why. */
int image_first_boot_step(const Plan *p, size_t *ret, char **reterr);
/* Before the run is checkpointed for the first boot: DKMS and the initramfs for the tree's kernels
 * (when packages changed), and gpubase.service enabled in the tree. *ret_detail says what was done. */
int image_prepare_first_boot(Ctx *ctx, char **ret_detail, char **reterr);
