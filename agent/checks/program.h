/* A program of the machine that a check asks (`nvcc --version`, `nvidia-smi --query-gpu`,
 * `nvidia-ctk --version`). On the running machine it comes from PATH (or the path given). Under
 * --root it is the root's program, and it is never run on the host: it runs inside the root (a
 * chroot in the child, every capability dropped: host/enter_root.h) when gpubase runs as root, and
 * not at all otherwise; the check's detail says which. */
#pragma once

#include "host/exec.h"
#include "host/host.h"

/* path: where the program is on a machine (absolute), name: what to run from PATH on the running
 * machine (NULL: path). Returns 0 when it ran (*ret filled, as exec_run()), 1 when it was not run
 * (*ret_not_run: "not run: under --root, ..."), -errno when it could not be started at all. Under
 * --root a program that exists in the root but cannot start there (its interpreter or libraries
 * are not in the root) is "not run" too. */
int program_run(const Host *h, const char *path, const char *name, char *const *args, unsigned timeout_sec,
                ExecResult *ret, char **ret_not_run);
/* What the detail of a check that ran a program adds under --root: " (run inside the root)", else "". */
const char *program_where(const Host *h);
