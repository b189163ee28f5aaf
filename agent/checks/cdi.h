/* The NVIDIA CDI spec (Container Device Interface) that `nvidia-ctk cdi generate` writes, and the
 * cdi.spec check. The spec's layout, as NVIDIA/nvidia-container-toolkit writes it (1.19,
 * cmd/nvidia-ctk/cdi/generate): cdiVersion, kind "nvidia.com/gpu", devices [{name, containerEdits:
 * {deviceNodes: [{path: /dev/nvidiaN}]}}] by index ("0"), by UUID and "all", and top-level
 * containerEdits whose mounts carry the driver's libraries at their versioned names
 * (libcuda.so.595.45.04) and whose enable-cuda-compat hook says --host-driver-version=595.45.04. A
 * spec written before a driver upgrade names the old version: the usual stale spec. */
#pragma once

#include "plan/check_kind.h"

#define CDI_SPEC_DEFAULT "/etc/cdi/nvidia.yaml"
/* what newer toolkits' nvidia-cdi-refresh.service writes */
#define CDI_SPEC_RUNTIME "/var/run/cdi/nvidia.yaml"
#define CDI_MAX_GPUS 256

typedef struct CdiSpecInfo {
        char *kind;            /* "nvidia.com/gpu" */
        bool has_all;          /* a device named "all" */
        bool gpu[CDI_MAX_GPUS]; /* /dev/nvidiaN named by a device other than "all" */
        unsigned n_devices;    /* devices besides "all" */
        char *driver;          /* the driver version the spec names (first found), or NULL */
        char *other_driver;    /* a second, different version it also names, or NULL */
} CdiSpecInfo;

void cdi_spec_info_done(CdiSpecInfo *i);
/* Parses a spec (YAML; file names it in errors). -EBADMSG with *reterr (file:line:col) when it does
 * not parse or is not a CDI spec (no kind, no devices list). */
int cdi_spec_inspect(const char *file, const char *text, size_t len, CdiSpecInfo *ret, char **reterr);
