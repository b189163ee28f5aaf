/* NVML through dlopen()/dlsym() only: no NVIDIA header, no link-time dependency. The few types
 * used are declared here with NVML's own numeric values and layouts. */
#include "checks/nvml.h"

#include <dlfcn.h>
#include <errno.h>
#include <string.h>

#include "base/string_table.h"
#include "checks/program.h"

typedef int nvmlReturn_t;
typedef struct nvmlDevice_st *nvmlDevice_t;

enum {
        NVML_SUCCESS = 0,
        NVML_ERROR_UNINITIALIZED = 1,
        NVML_ERROR_INVALID_ARGUMENT = 2,
        NVML_ERROR_NOT_SUPPORTED = 3,
        NVML_ERROR_NO_PERMISSION = 4,
        NVML_ERROR_DRIVER_NOT_LOADED = 9,
        NVML_ERROR_LIBRARY_NOT_FOUND = 12,
        NVML_ERROR_FUNCTION_NOT_FOUND = 13,
        NVML_ERROR_GPU_IS_LOST = 15,
        NVML_ERROR_LIB_RM_VERSION_MISMATCH = 18,
        NVML_ERROR_UNKNOWN = 999,
};

/* nvmlPciInfo_t as of nvmlDeviceGetPciInfo_v3 (nvml.h, NVML_DEVICE_PCI_BUS_ID_BUFFER_SIZE 32). */
typedef struct nvmlPciInfo {
        char busIdLegacy[16];
        unsigned int domain;
        unsigned int bus;
        unsigned int device;
        unsigned int pciDeviceId;
        unsigned int pciSubSystemId;
        char busId[32];
} nvmlPciInfo_t;

/* nvmlGpuFabricInfo_v2_t (nvml.h; version = sizeof | 2 << 24) and the older nvmlGpuFabricInfo_t */
#define NVML_GPU_FABRIC_UUID_LEN 16
typedef struct nvmlGpuFabricInfoV {
        unsigned int version;
        unsigned char clusterUuid[NVML_GPU_FABRIC_UUID_LEN];
        nvmlReturn_t status;
        unsigned int cliqueId;
        unsigned char state;
        unsigned int healthMask;
} nvmlGpuFabricInfoV_t;
typedef struct nvmlGpuFabricInfo {
        unsigned char clusterUuid[NVML_GPU_FABRIC_UUID_LEN];
        nvmlReturn_t status;
        unsigned int cliqueId;
        unsigned char state;
} nvmlGpuFabricInfo_t;
#define NVML_GPU_FABRIC_INFO_V2 ((unsigned int) (sizeof(nvmlGpuFabricInfoV_t) | (2U << 24)))
#define NVML_NVLINK_MAX_LINKS 18

#define NVML_LIBRARY "libnvidia-ml.so.1"
#define NVML_SYSTEM_DRIVER_VERSION_BUFFER_SIZE 80
#define NVML_DEVICE_NAME_V2_BUFFER_SIZE 96
#define NVIDIA_SMI_TIMEOUT_SEC 30

typedef struct Nvml {
        void *dl;
        nvmlReturn_t (*Init_v2)(void);
        nvmlReturn_t (*Shutdown)(void);
        const char *(*ErrorString)(nvmlReturn_t);
        nvmlReturn_t (*SystemGetDriverVersion)(char *, unsigned int);
        nvmlReturn_t (*SystemGetCudaDriverVersion_v2)(int *);
        nvmlReturn_t (*DeviceGetCount_v2)(unsigned int *);
        nvmlReturn_t (*DeviceGetHandleByIndex_v2)(unsigned int, nvmlDevice_t *);
        nvmlReturn_t (*DeviceGetName)(nvmlDevice_t, char *, unsigned int);
        nvmlReturn_t (*DeviceGetCudaComputeCapability)(nvmlDevice_t, int *, int *);
        nvmlReturn_t (*DeviceGetPciInfo_v3)(nvmlDevice_t, nvmlPciInfo_t *);
        nvmlReturn_t (*DeviceGetPersistenceMode)(nvmlDevice_t, int *);
        nvmlReturn_t (*DeviceGetGpuFabricInfoV)(nvmlDevice_t, nvmlGpuFabricInfoV_t *);
        nvmlReturn_t (*DeviceGetGpuFabricInfo)(nvmlDevice_t, nvmlGpuFabricInfo_t *);
        nvmlReturn_t (*DeviceGetNvLinkState)(nvmlDevice_t, unsigned int, int *);
        nvmlReturn_t (*DeviceGetEccMode)(nvmlDevice_t, int *, int *);
        nvmlReturn_t (*DeviceGetRetiredPagesPendingStatus)(nvmlDevice_t, int *);
        nvmlReturn_t (*DeviceGetRemappedRows)(nvmlDevice_t, unsigned int *, unsigned int *, unsigned int *,
                                              unsigned int *);
} Nvml;

const char *nvml_fabric_state_to_string(int state) {
        static const char *const names[] = {"not supported", "not started", "in progress", "completed"};
        return state >= 0 && (size_t) state < ELEMENTSOF(names) ? names[state] : "unknown";
}

void nvml_gpu_health_unknown(NvmlGpu *g) {
        g->persistence = g->fabric_state = g->fabric_status = g->nvlinks = g->nvlinks_active = -1;
        g->ecc = g->retired_pending = g->remap_pending = g->remap_failure = -1;
        g->nvlink_down_mask = 0;
}

static const char *const nvml_status_table[] = {
        [NVML_STATUS_OK] = "ok",
        [NVML_STATUS_NO_LIBRARY] = "no-library",
        [NVML_STATUS_DRIVER_NOT_LOADED] = "driver-not-loaded",
        [NVML_STATUS_VERSION_MISMATCH] = "version-mismatch",
        [NVML_STATUS_ERROR] = "error",
};

DEFINE_STRING_TABLE_LOOKUP_TO_STRING(nvml_status, NvmlStatus, "unknown")

void nvml_info_done(NvmlInfo *i) {
        if (!i)
                return;
        free(i->library);
        free(i->error);
        free(i->driver_version);
        *i = (NvmlInfo){0};
}

/* NVML's own wording, for when nvmlErrorString is missing or returns nothing. */
static const char *fallback_error_string(nvmlReturn_t r) {
        switch (r) {
        case NVML_SUCCESS:
                return "Success";
        case NVML_ERROR_UNINITIALIZED:
                return "Uninitialized";
        case NVML_ERROR_INVALID_ARGUMENT:
                return "Invalid Argument";
        case NVML_ERROR_NOT_SUPPORTED:
                return "Not Supported";
        case NVML_ERROR_NO_PERMISSION:
                return "Insufficient Permissions";
        case NVML_ERROR_DRIVER_NOT_LOADED:
                return "Driver Not Loaded";
        case NVML_ERROR_LIBRARY_NOT_FOUND:
                return "NVML Shared Library Not Found";
        case NVML_ERROR_FUNCTION_NOT_FOUND:
                return "Function Not Found";
        case NVML_ERROR_GPU_IS_LOST:
                return "GPU is lost";
        case NVML_ERROR_LIB_RM_VERSION_MISMATCH:
                return "Driver/library version mismatch";
        default:
                return "Unknown Error";
        }
}

static const char *nvml_error_string(const Nvml *n, nvmlReturn_t r) {
        const char *s = n->ErrorString ? n->ErrorString(r) : NULL;
        return isempty(s) ? fallback_error_string(r) : s;
}

/* Inside a root (entered with chroot) only the root's copies are candidates, never a search path. */
char **nvml_library_candidates(bool in_root) {
        static const char *const dirs[] = {
                "/usr/lib/x86_64-linux-gnu",
                "/usr/lib/aarch64-linux-gnu",
                "/usr/lib64",
                "/usr/lib",
        };
        char **l = NULL;
        if (!in_root) {
                strv_push(&l, xstrdup(NVML_LIBRARY));
                return l;
        }
        for (size_t i = 0; i < ELEMENTSOF(dirs); i++)
                strv_push(&l, xasprintf("%s/" NVML_LIBRARY, dirs[i]));
        return l;
}

static void nvml_unload(Nvml *n) {
        if (n->dl)
                dlclose(n->dl);
        *n = (Nvml){0};
}

/* dlopen()s the first candidate that loads. On failure fills ret->library with every path tried
 * and ret->error with the most telling dlerror(): that of a file which exists but would not load,
 * else that of the first candidate. */
static int nvml_load(bool in_root, Nvml *n, NvmlInfo *ret) {
        _cleanup_strv_free_ char **candidates = nvml_library_candidates(in_root);
        _cleanup_free_ char *first_error = NULL, *existing_error = NULL;

        for (char **c = candidates; *c; c++) {
                n->dl = dlopen(*c, RTLD_NOW | RTLD_LOCAL);
                if (n->dl) {
                        ret->library = xstrdup(*c);
                        return 0;
                }
                const char *e = dlerror();
                if (!e)
                        e = "unknown dlopen error";
                if (!first_error)
                        first_error = xstrdup(e);
                if (!existing_error && strchr(*c, '/') && access(*c, F_OK) >= 0)
                        existing_error = xstrdup(e);
        }
        ret->status = NVML_STATUS_NO_LIBRARY;
        ret->nvml_code = NVML_ERROR_LIBRARY_NOT_FOUND;
        ret->library = strv_join(candidates, ", ");
        ret->error = existing_error ? TAKE_PTR(existing_error) : TAKE_PTR(first_error);
        return -ENOENT;
}

/* Assigns a dlsym() result to a function pointer without a data-to-function pointer cast. */
#define NVML_SYM(n, name)                                                   \
        do {                                                                \
                void *_s_ = dlsym((n)->dl, "nvml" #name);                   \
                memcpy(&(n)->name, &_s_, sizeof _s_);                       \
        } while (0)

static void nvml_resolve(Nvml *n) {
        NVML_SYM(n, Init_v2);
        NVML_SYM(n, Shutdown);
        NVML_SYM(n, ErrorString);
        NVML_SYM(n, SystemGetDriverVersion);
        NVML_SYM(n, SystemGetCudaDriverVersion_v2);
        NVML_SYM(n, DeviceGetCount_v2);
        NVML_SYM(n, DeviceGetHandleByIndex_v2);
        NVML_SYM(n, DeviceGetName);
        NVML_SYM(n, DeviceGetCudaComputeCapability);
        NVML_SYM(n, DeviceGetPciInfo_v3);
        NVML_SYM(n, DeviceGetPersistenceMode);
        NVML_SYM(n, DeviceGetGpuFabricInfoV);
        NVML_SYM(n, DeviceGetGpuFabricInfo);
        NVML_SYM(n, DeviceGetNvLinkState);
        NVML_SYM(n, DeviceGetEccMode);
        NVML_SYM(n, DeviceGetRetiredPagesPendingStatus);
        NVML_SYM(n, DeviceGetRemappedRows);
        (void) dlerror();
}

static void set_error(NvmlInfo *ret, NvmlStatus status, nvmlReturn_t code, char *error) {
        if (ret->status != NVML_STATUS_OK) { /* keep the first failure */
                free(error);
                return;
        }
        ret->status = status;
        ret->nvml_code = code;
        ret->error = error;
}

static void set_call_error(NvmlInfo *ret, const Nvml *n, const char *call, nvmlReturn_t code) {
        set_error(ret, NVML_STATUS_ERROR, code, xasprintf("%s: %s", call, nvml_error_string(n, code)));
}

static void map_init_error(NvmlInfo *ret, const Nvml *n, nvmlReturn_t code) {
        const char *text = nvml_error_string(n, code);
        switch (code) {
        case NVML_ERROR_LIB_RM_VERSION_MISMATCH:
                /* Real NVML says "RM has detected an NVML/RM version mismatch."; nvidia-smi and
                 * everyone's runbooks say "Driver/library version mismatch". Carry both. */
                set_error(ret, NVML_STATUS_VERSION_MISMATCH, code,
                          strstr(text, "Driver/library version mismatch")
                                  ? xstrdup(text)
                                  : xasprintf("Driver/library version mismatch (%s)", text));
                break;
        case NVML_ERROR_DRIVER_NOT_LOADED:
                set_error(ret, NVML_STATUS_DRIVER_NOT_LOADED, code, xstrdup(text));
                break;
        default:
                set_error(ret, NVML_STATUS_ERROR, code, xstrdup(text));
        }
}

/* A per-device field NVML cannot give is left unknown; only a lost GPU or a broken library is an error. */
static bool field_error_is_fatal(nvmlReturn_t r) {
        return r != NVML_ERROR_NOT_SUPPORTED && r != NVML_ERROR_NO_PERMISSION && r != NVML_ERROR_FUNCTION_NOT_FOUND;
}

static void query_fabric(const Nvml *n, nvmlDevice_t dev, NvmlGpu *g) {
        if (n->DeviceGetGpuFabricInfoV) {
                nvmlGpuFabricInfoV_t f = {.version = NVML_GPU_FABRIC_INFO_V2};
                if (n->DeviceGetGpuFabricInfoV(dev, &f) == NVML_SUCCESS) {
                        g->fabric_state = f.state;
                        g->fabric_status = f.status;
                        return;
                }
        }
        if (n->DeviceGetGpuFabricInfo) {
                nvmlGpuFabricInfo_t f = {0};
                if (n->DeviceGetGpuFabricInfo(dev, &f) == NVML_SUCCESS) {
                        g->fabric_state = f.state;
                        g->fabric_status = f.status;
                }
        }
}

/* What an HGX host must show for every GPU. Each call is optional: what NVML cannot tell stays -1. */
static void query_health(const Nvml *n, nvmlDevice_t dev, NvmlGpu *g) {
        int a = 0, b = 0;
        unsigned corr = 0, unc = 0, pending = 0, failure = 0;
        nvml_gpu_health_unknown(g);
        if (n->DeviceGetPersistenceMode && n->DeviceGetPersistenceMode(dev, &a) == NVML_SUCCESS)
                g->persistence = a != 0;
        query_fabric(n, dev, g);
        for (unsigned l = 0; n->DeviceGetNvLinkState && l < NVML_NVLINK_MAX_LINKS; l++) {
                /* a link the GPU does not have answers NOT_SUPPORTED or INVALID_ARGUMENT */
                if (n->DeviceGetNvLinkState(dev, l, &a) != NVML_SUCCESS)
                        continue;
                g->nvlinks = (g->nvlinks < 0 ? 0 : g->nvlinks) + 1;
                g->nvlinks_active = (g->nvlinks_active < 0 ? 0 : g->nvlinks_active) + (a != 0);
                if (!a)
                        g->nvlink_down_mask |= 1U << l;
        }
        if (n->DeviceGetEccMode && n->DeviceGetEccMode(dev, &a, &b) == NVML_SUCCESS)
                g->ecc = a != 0;
        if (n->DeviceGetRetiredPagesPendingStatus && n->DeviceGetRetiredPagesPendingStatus(dev, &a) == NVML_SUCCESS)
                g->retired_pending = a != 0;
        if (n->DeviceGetRemappedRows && n->DeviceGetRemappedRows(dev, &corr, &unc, &pending, &failure) == NVML_SUCCESS) {
                g->remap_pending = pending != 0;
                g->remap_failure = failure != 0;
        }
}

static void query_device(const Nvml *n, unsigned idx, NvmlInfo *ret) {
        NvmlGpu *g = &ret->gpus[ret->n_gpus];
        nvmlDevice_t dev = NULL;
        nvmlReturn_t r;

        *g = (NvmlGpu){.cc_major = -1, .cc_minor = -1};
        r = n->DeviceGetHandleByIndex_v2(idx, &dev);
        if (r != NVML_SUCCESS) {
                set_error(ret, NVML_STATUS_ERROR, r,
                          xasprintf("nvmlDeviceGetHandleByIndex_v2(%u): %s", idx, nvml_error_string(n, r)));
                return;
        }
        ret->n_gpus++;

        if (n->DeviceGetName) {
                char name[NVML_DEVICE_NAME_V2_BUFFER_SIZE] = "";
                r = n->DeviceGetName(dev, name, sizeof name);
                if (r == NVML_SUCCESS) {
                        name[sizeof name - 1] = 0;
                        snprintf(g->name, sizeof g->name, "%s", name);
                } else if (field_error_is_fatal(r))
                        set_error(ret, NVML_STATUS_ERROR, r,
                                  xasprintf("nvmlDeviceGetName(%u): %s", idx, nvml_error_string(n, r)));
        }
        if (n->DeviceGetCudaComputeCapability) {
                int major = -1, minor = -1;
                r = n->DeviceGetCudaComputeCapability(dev, &major, &minor);
                if (r == NVML_SUCCESS) {
                        g->cc_major = major;
                        g->cc_minor = minor;
                } else if (field_error_is_fatal(r))
                        set_error(ret, NVML_STATUS_ERROR, r,
                                  xasprintf("nvmlDeviceGetCudaComputeCapability(%u): %s", idx,
                                            nvml_error_string(n, r)));
        }
        if (n->DeviceGetPciInfo_v3) {
                nvmlPciInfo_t pci = {0};
                r = n->DeviceGetPciInfo_v3(dev, &pci);
                if (r == NVML_SUCCESS) {
                        pci.busId[sizeof pci.busId - 1] = 0;
                        snprintf(g->bus_id, sizeof g->bus_id, "%s", pci.busId);
                        g->pci_device_id = pci.pciDeviceId;
                } else if (field_error_is_fatal(r))
                        set_error(ret, NVML_STATUS_ERROR, r,
                                  xasprintf("nvmlDeviceGetPciInfo_v3(%u): %s", idx, nvml_error_string(n, r)));
        }
        query_health(n, dev, g);
}

static void query_initialized(const Nvml *n, NvmlInfo *ret) {
        nvmlReturn_t r;

        if (n->SystemGetDriverVersion) {
                char v[NVML_SYSTEM_DRIVER_VERSION_BUFFER_SIZE] = "";
                r = n->SystemGetDriverVersion(v, sizeof v);
                if (r == NVML_SUCCESS) {
                        v[sizeof v - 1] = 0;
                        if (v[0])
                                ret->driver_version = xstrdup(v);
                } else if (field_error_is_fatal(r))
                        set_call_error(ret, n, "nvmlSystemGetDriverVersion", r);
        }
        if (n->SystemGetCudaDriverVersion_v2) {
                int cuda = 0;
                r = n->SystemGetCudaDriverVersion_v2(&cuda);
                if (r == NVML_SUCCESS && cuda > 0)
                        ret->cuda_version = cuda;
                else if (r != NVML_SUCCESS && field_error_is_fatal(r))
                        set_call_error(ret, n, "nvmlSystemGetCudaDriverVersion_v2", r);
        }

        unsigned count = 0;
        r = n->DeviceGetCount_v2(&count);
        if (r != NVML_SUCCESS) {
                set_call_error(ret, n, "nvmlDeviceGetCount_v2", r);
                return;
        }
        if (count > NVML_MAX_GPUS)
                count = NVML_MAX_GPUS;
        for (unsigned i = 0; i < count; i++)
                query_device(n, i, ret);
}

int nvml_query(const Host *h, NvmlInfo *ret) {
        if (host_is_rooted(h))
                return nvml_query_in_root(h, ret);
        return nvml_query_here(false, ret);
}

int nvml_query_here(bool in_root, NvmlInfo *ret) {
        _cleanup_(nvml_unload) Nvml n = {0};
        NvmlInfo info = {0};

        if (nvml_load(in_root, &n, &info) < 0) {
                *ret = info;
                return 0;
        }
        nvml_resolve(&n);

        static const char *const required[] = {"nvmlInit_v2", "nvmlShutdown", "nvmlDeviceGetCount_v2",
                                               "nvmlDeviceGetHandleByIndex_v2"};
        const bool have[] = {n.Init_v2, n.Shutdown, n.DeviceGetCount_v2, n.DeviceGetHandleByIndex_v2};
        for (size_t i = 0; i < ELEMENTSOF(required); i++)
                if (!have[i]) {
                        set_error(&info, NVML_STATUS_ERROR, NVML_ERROR_FUNCTION_NOT_FOUND,
                                  xasprintf("%s does not export %s", info.library, required[i]));
                        *ret = info;
                        return 0;
                }

        nvmlReturn_t r = n.Init_v2();
        if (r != NVML_SUCCESS) {
                map_init_error(&info, &n, r);
                *ret = info;
                return 0;
        }
        query_initialized(&n, &info);
        (void) n.Shutdown();

        *ret = info;
        return 0;
}

/* "9.0" -> 9, 0; "[N/A]" and anything else -> -1, -1. */
static void parse_compute_cap(const char *s, int *ret_major, int *ret_minor) {
        unsigned major, minor;
        int consumed = 0;
        *ret_major = *ret_minor = -1;
        if (sscanf(s, "%u.%u%n", &major, &minor, &consumed) == 2 && s[consumed] == 0 && major < 100 && minor < 100) {
                *ret_major = (int) major;
                *ret_minor = (int) minor;
        }
}

int parse_nvidia_smi_csv(const char *text, NvmlInfo *ret) {
        _cleanup_free_ char *copy = xstrdup(text ? text : "");
        _cleanup_free_ char *driver = NULL;
        _cleanup_free_ NvmlGpu *gpus = xcalloc(NVML_MAX_GPUS, sizeof(NvmlGpu));
        unsigned n = 0;
        char *save = NULL;

        for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                char *fields[4];
                size_t k = 0;
                char *p = line;

                if (isempty(strip(line)))
                        continue;
                for (;;) {
                        char *comma = strchr(p, ',');
                        if (k == ELEMENTSOF(fields))
                                return -EBADMSG; /* a fifth field */
                        if (comma)
                                *comma = 0;
                        fields[k++] = strip(p);
                        if (!comma)
                                break;
                        p = comma + 1;
                }
                if (k != ELEMENTSOF(fields) || isempty(fields[0]) || isempty(fields[1]) || isempty(fields[3]))
                        return -EBADMSG;
                if (n >= NVML_MAX_GPUS)
                        continue;
                if (!driver)
                        driver = xstrdup(fields[0]);
                NvmlGpu *g = &gpus[n++];
                *g = (NvmlGpu){0};
                nvml_gpu_health_unknown(g);
                snprintf(g->name, sizeof g->name, "%s", fields[1]);
                parse_compute_cap(fields[2], &g->cc_major, &g->cc_minor);
                snprintf(g->bus_id, sizeof g->bus_id, "%s", fields[3]);
        }

        free(ret->driver_version);
        ret->driver_version = TAKE_PTR(driver);
        ret->n_gpus = n;
        memcpy(ret->gpus, gpus, n * sizeof(NvmlGpu));
        return 0;
}

int nvidia_smi_query(const Host *h, NvmlInfo *ret, int *ret_exit, char **ret_not_run) {
        char *args[] = {(char *) "--query-gpu=driver_version,name,compute_cap,pci.bus_id", (char *) "--format=csv,noheader",
                        NULL};
        _cleanup_(exec_result_done) ExecResult res = {0};
        _cleanup_free_ char *not_run = NULL;
        int r;

        r = program_run(h, "/usr/bin/nvidia-smi", "nvidia-smi", args, NVIDIA_SMI_TIMEOUT_SEC, &res, &not_run);
        if (r == 1 && ret_not_run)
                *ret_not_run = TAKE_PTR(not_run);
        if (r != 0)
                return r;
        if (res.exec_errno)
                return -res.exec_errno;
        if (res.timed_out)
                return -ETIMEDOUT;
        if (ret_exit)
                *ret_exit = res.status;
        if (res.status != 0)
                return 0;
        return parse_nvidia_smi_csv(res.output, ret);
}
