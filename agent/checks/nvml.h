/* NVML, loaded at run time with dlopen("libnvidia-ml.so.1") — never linked. Under --root the
 * library of the root is never loaded into gpubase on the host: a forked child enters the root
 * (chroot, every capability dropped: host/enter_root.h), looks for it only there (/usr/lib/<multiarch>/,
 * /usr/lib64/, /usr/lib/), and sends its answer back; without root privileges it is not loaded at
 * all (NO_LIBRARY, error "not loaded: under --root ..."). Messages name the files as host paths
 * (<root>/usr/lib/...). Only these calls are
 * used: nvmlInit_v2, nvmlSystemGetDriverVersion, nvmlSystemGetCudaDriverVersion_v2,
 * nvmlDeviceGetCount_v2, nvmlDeviceGetHandleByIndex_v2, nvmlDeviceGetName,
 * nvmlDeviceGetCudaComputeCapability, nvmlDeviceGetPciInfo_v3, nvmlErrorString, nvmlShutdown, and for
 * HGX hosts nvmlDeviceGetPersistenceMode, nvmlDeviceGetGpuFabricInfoV (else nvmlDeviceGetGpuFabricInfo),
 * nvmlDeviceGetNvLinkState, nvmlDeviceGetEccMode, nvmlDeviceGetRetiredPagesPendingStatus and
 * nvmlDeviceGetRemappedRows (each optional: a field NVML does not give stays -1). */
#pragma once

#include "host/host.h"

#define NVML_MAX_GPUS 64

typedef struct NvmlGpu {
        char name[96];
        int cc_major, cc_minor;  /* compute capability, -1 if unknown */
        char bus_id[32];         /* "00000000:01:00.0" */
        unsigned pci_device_id;  /* 0x233010de style as NVML reports it (device << 16 | vendor) */
        /* HGX health; -1 where NVML does not say (the call is missing or not supported) */
        int persistence;         /* nvmlDeviceGetPersistenceMode: 1 enabled, 0 disabled */
        int fabric_state;        /* nvmlDeviceGetGpuFabricInfoV: NVML_GPU_FABRIC_STATE_* (3 completed) */
        int fabric_status;       /* its status, an nvmlReturn_t (0 success) */
        int nvlinks, nvlinks_active; /* nvmlDeviceGetNvLinkState over links 0..NVML_NVLINK_MAX_LINKS-1 */
        unsigned nvlink_down_mask;   /* the links that are not active */
        int ecc;                 /* nvmlDeviceGetEccMode, current: 1 enabled, 0 disabled */
        int retired_pending;     /* nvmlDeviceGetRetiredPagesPendingStatus: 1 pages wait for a reset */
        int remap_pending, remap_failure; /* nvmlDeviceGetRemappedRows */
} NvmlGpu;

/* NVML's GPU fabric states (nvmlGpuFabricState_t) */
enum {
        NVML_FABRIC_NOT_SUPPORTED = 0,
        NVML_FABRIC_NOT_STARTED = 1,
        NVML_FABRIC_IN_PROGRESS = 2,
        NVML_FABRIC_COMPLETED = 3,
};
const char *nvml_fabric_state_to_string(int state); /* "completed", "not started", ... */
/* Every health field of g to -1 (unknown). */
void nvml_gpu_health_unknown(NvmlGpu *g);

typedef enum NvmlStatus {
        NVML_STATUS_OK,
        NVML_STATUS_NO_LIBRARY,       /* libnvidia-ml.so.1 not found */
        NVML_STATUS_DRIVER_NOT_LOADED,
        NVML_STATUS_VERSION_MISMATCH, /* "Driver/library version mismatch" */
        NVML_STATUS_ERROR,            /* any other NVML error; see error */
} NvmlStatus;

typedef struct NvmlInfo {
        NvmlStatus status;
        char *library;        /* the path or name that was loaded / tried */
        char *error;          /* nvmlErrorString or dlerror text when status != OK */
        int nvml_code;        /* the raw nvmlReturn_t of the failing call */
        char *driver_version; /* "595.45.04" */
        int cuda_version;     /* 13020 = 13.2; 0 if unknown */
        unsigned n_gpus;
        NvmlGpu gpus[NVML_MAX_GPUS];
} NvmlInfo;

/* Always returns 0 and fills ret (status says what happened); negative only on out-of-memory-like errors. */
int nvml_query(const Host *h, NvmlInfo *ret);
void nvml_info_done(NvmlInfo *i);
/* The parts of nvml_query (checks/nvml_root.c runs the second inside the root): the library
 * paths to try (inside a root: absolute paths there; else the bare name for the loader's search),
 * the query of this process, and the query run in a child inside h's root. */
char **nvml_library_candidates(bool in_root);
int nvml_query_here(bool in_root, NvmlInfo *ret);
int nvml_query_in_root(const Host *h, NvmlInfo *ret);

/* `nvidia-smi --query-gpu=driver_version,name,compute_cap,pci.bus_id --format=csv,noheader`:
 * one line per GPU, e.g. "595.45.04, NVIDIA H100 80GB HBM3, 9.0, 00000000:01:00.0". Fills
 * driver_version and gpus; -EBADMSG if a line does not have four fields. */
int parse_nvidia_smi_csv(const char *text, NvmlInfo *ret);
/* Runs nvidia-smi (PATH; under --root the root's /usr/bin/nvidia-smi, inside the root: checks/program.h)
 * with that query. Returns its exit code in *ret_exit (9 driver not loaded, 12 NVML not found, 15 GPU
 * lost) or -ENOENT if absent; 1 with *ret_not_run (may be NULL) when under --root it was not run. */
int nvidia_smi_query(const Host *h, NvmlInfo *ret, int *ret_exit, char **ret_not_run);

/* Details of the above (additions to the interface, nothing above changes):
 * - nvml_query: ret is overwritten (it need not be initialised); free it with nvml_info_done.
 *   NO_LIBRARY: library = every path tried (", "-separated), error = the dlerror() text, nvml_code 12.
 *   An init failure leaves error = NVML's own text, except that VERSION_MISMATCH always contains
 *   "Driver/library version mismatch" (real NVML says "RM has detected an NVML/RM version mismatch.",
 *   which is then kept in parentheses). A later failing call gives error = "<call>: <text>".
 *   A field NVML does not support (or an optional symbol the library lacks) is left unknown:
 *   driver_version NULL, cuda_version 0, cc -1, name/bus_id "", pci_device_id 0.
 *   More than NVML_MAX_GPUS devices: the first NVML_MAX_GPUS are reported.
 * - parse_nvidia_smi_csv: ret must be zeroed or a filled NvmlInfo; only driver_version, n_gpus and
 *   gpus are replaced, and only on success. A compute_cap of "[N/A]" leaves cc -1; pci_device_id
 *   stays 0 (not in the query). Empty lines are skipped.
 * - nvidia_smi_query: 30 s timeout (-ETIMEDOUT); other exec failures return -errno. A non-zero
 *   exit is returned through *ret_exit with 0 and nothing parsed; exit 0 parses the output. */
const char *nvml_status_to_string(NvmlStatus s);

/* The driver's CUDA ceiling ("13.2"): NVML's answer in n (already queried), else what the CUDA/driver
 * table says of the loaded module. NULL when neither knows, and then nothing else is written;
 * otherwise *ret_from_nvml says which, and *ret_driver is the driver version it is for (NULL when
 * NVML did not say). Shared by driver.cuda-ceiling, toolkit.nvcc and verify's facts. */
char *driver_cuda_ceiling(const Host *h, const NvmlInfo *n, bool *ret_from_nvml, char **ret_driver); /* "ok", "no-library", "driver-not-loaded", "version-mismatch", "error" */
