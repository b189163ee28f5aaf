/* What a container smoke test's run means (checks/smoke.h): the host's side (NVML), the
 * container's nvidia-smi output against it, and every known failure of docker, ctr and the NVIDIA
 * runtime mapped to its own message and fix. */
#pragma once

#include "checks/nvml.h"
#include "checks/smoke.h"
#include "host/exec.h"

/* Can the host's GPUs be compared at all (NVML answered, with at least one GPU)? 0, or -ENODEV with
 * ret saying why (a version mismatch: reboot). */
int smoke_verdict_host(const NvmlInfo *host, CheckResult *ret);
/* The output of the container's nvidia-smi (it exited 0) against the host: every bus id, the driver
 * version on every line. cmd: the command line, for the detail. */
void smoke_verdict_output(const char *output, const NvmlInfo *host, const char *cmd, CheckResult *ret);
/* Does this output say that the image is not on the machine (docker --pull=never, ctr)? */
bool smoke_image_absent(const char *output);
/* A run that did not exit 0 (r: exec_run's return): the known failure it shows, or the command's
 * last line. s (may be NULL) names how the image could have been had. */
void smoke_verdict_failed(const char *runtime, const char *cmd, int r, const ExecResult *res, const char *image,
                          const SmokeSpec *s, CheckResult *ret);
