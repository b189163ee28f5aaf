/* GPUs found on the PCI bus before any driver exists: <root>/sys/bus/pci read directly. Name and
 * architecture come from NVIDIA's own list (plans/data/gpus.tsv, built in: the open module's
 * "Compatible GPUs" and, for Maxwell to Volta, the driver README's supported products, of the
 * releases it names); only for a device that list does not have, from pci.ids
 * (<root>/usr/share/misc/pci.ids or <root>/usr/share/hwdata/pci.ids, else the host's) and the chip
 * code in its name. A device in neither stays unknown. */
#pragma once

#include <stdbool.h>

#include "host/host.h"

typedef enum GpuArch {
        GPU_ARCH_UNKNOWN,
        GPU_ARCH_KEPLER,
        GPU_ARCH_MAXWELL,
        GPU_ARCH_PASCAL,
        GPU_ARCH_VOLTA,
        GPU_ARCH_TURING,
        GPU_ARCH_AMPERE,
        GPU_ARCH_ADA,
        GPU_ARCH_HOPPER,
        GPU_ARCH_BLACKWELL,
        _GPU_ARCH_MAX,
} GpuArch;

const char *gpu_arch_to_string(GpuArch a); /* "Hopper" */
/* From a pci.ids device name: "GH100 [H100 SXM5 80GB]" -> HOPPER ("GH1" Hopper, "GB1"/"GB2"
 * Blackwell, "AD1" Ada, "GA1" Ampere, "TU1" Turing, "GV1" Volta, "GP1" Pascal, "GM1"/"GM2"
 * Maxwell, "GK1"/"GK2" Kepler); UNKNOWN otherwise. */
GpuArch gpu_arch_from_name(const char *pci_name);
/* Turing or newer: what the open kernel module drives. */
bool gpu_arch_open_capable(GpuArch a);
/* The last driver branch for the architecture: 580 for Maxwell, Pascal and Volta; -1 none known. */
int gpu_arch_last_branch(GpuArch a);

/* One row of NVIDIA's list (plans/data/gpus.tsv). */
typedef struct GpuInfo {
        unsigned device_id;
        GpuArch arch;
        bool open;       /* the open kernel module drives it */
        int last_branch; /* the last branch that supports it; -1: the list's release does */
        bool grace;      /* a Grace superchip: GH200, GB200, GB300, GB10 */
        char name[128];  /* "NVIDIA GH200 120GB" */
} GpuInfo;
/* 0 with *ret when the list has the device ID, else -ENOENT. */
int gpu_table_find(unsigned device_id, GpuInfo *ret);
/* The driver release the list was taken from ("595.45.04") and that release's date. */
const char *gpu_table_release(void);
const char *gpu_table_date(void);

typedef enum GpuNameSource {
        GPU_NAME_NONE,    /* in neither list: name "" and arch unknown */
        GPU_NAME_NVIDIA,  /* NVIDIA's list (gpus.tsv) */
        GPU_NAME_PCI_IDS, /* pci.ids, the fallback */
} GpuNameSource;

typedef struct Gpu {
        char slot[16];        /* "0000:01:00.0" */
        unsigned vendor_id, device_id, class_id; /* class 0x0300 / 0x0302 */
        char name[128];       /* NVIDIA's name, else pci.ids'; "" when unknown */
        GpuArch arch;
        GpuNameSource source;
        bool grace;           /* a Grace superchip (GH200: Grace Hopper) */
        bool open_listed;     /* NVIDIA's list says the open module drives it */
} Gpu;

/* NVIDIA's rule for the open kernel module on a GPU (the July 2024 announcement, the driver README). */
typedef enum OpenRule {
        OPEN_RULE_UNKNOWN,     /* the architecture is not known */
        OPEN_RULE_UNSUPPORTED, /* before Turing: the open module does not drive it */
        OPEN_RULE_RECOMMENDED, /* Turing, Ampere, Ada, Hopper: the proprietary one still works */
        OPEN_RULE_REQUIRED,    /* Blackwell and Grace Hopper: the proprietary one does not */
} OpenRule;
OpenRule gpu_open_rule(const Gpu *g);
/* "Grace Hopper", "Grace Blackwell", else the architecture's name. */
const char *gpu_family(const Gpu *g);

/* An NVSwitch's management function (plans/data/nvswitches.tsv: NVIDIA's nvswitch driver's IDs). */
typedef struct NvSwitch {
        char slot[16];         /* "0000:05:00.0" */
        unsigned device_id;    /* 0x22a3 */
        char generation[8];    /* "LS10" (HGX H100/H200), "LR10" (HGX A100) */
} NvSwitch;
/* 0 with the generation ("LS10") when the ID is an NVSwitch's management endpoint, -ENOENT
 * otherwise (a bridge function of one included); ret may be NULL. */
int nvswitch_table_find(unsigned device_id, const char **ret_generation);

typedef struct GpuList {
        size_t n;
        Gpu *gpus;
        char *ids_file; /* pci.ids used, NULL if none, or none was needed (every GPU in NVIDIA's list) */
        size_t n_nvswitches; /* NVSwitches on the same bus, by slot */
        NvSwitch *nvswitches;
} GpuList;

/* All NVIDIA (vendor 0x10de) devices of class display-VGA (0x0300) or 3D (0x0302), and the
 * NVSwitches (any class, by NVIDIA's list of their IDs).
 * 0 with n == 0 when there are none; -ENOENT when <root>/sys/bus/pci does not exist. pci.ids is
 * read only for a device NVIDIA's list does not have. With the Host's memo (host_memo_enable())
 * the bus is scanned once per process and *ret is a copy of that scan. */
int pci_find_gpus(const Host *h, GpuList *ret);
void gpu_list_done(GpuList *l);
/* After pci_find_gpus() returned -EIO: why (a sysfs file that cannot be read, or libpci's error over
 * pci.ids); this thread's last one. */
const char *pci_last_error(void);
