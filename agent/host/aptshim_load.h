/* Opening libgpubase-apt.so, libapt-pkg's only way into gpubase (agent/host/aptshim_load.c). */
#pragma once

#include "shim/aptshim.h"

/* Loads the shim now (apt_shim_open() does it first thing). 0 or -errno with *reterr: -ENOENT it
 * is not installed beside gpubase, -ELIBBAD it cannot be loaded or is of another build. */
int apt_shim_load(char **reterr);
