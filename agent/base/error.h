/* SPDX-License-Identifier: MIT */
#pragma once
/* Layer: base. The error convention (docs/CODING_STYLE.md): a function returns 0 or a positive
 * result on success and -errno on failure; its human message goes to the out-parameter `reterr`,
 * written only on failure. errorf() is the one way to write it. */
#include "base/macro.h"

/* Stores the formatted message in *reterr (when reterr is not NULL) and returns r, which must be a
 * negative errno value: `return errorf(reterr, -EINVAL, "%s: bad value", key);` */
int errorf(char **reterr, int r, const char *fmt, ...) _printf_(3, 4);
