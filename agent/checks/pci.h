/* GPUs found on the PCI bus before any driver exists: libpci over <root>/sys/bus/pci, names from
 * pci.ids (<root>/usr/share/misc/pci.ids or <root>/usr/share/hwdata/pci.ids, else the host's),
 * architecture from the chip name in that name, and the open kernel module's list of supported
 * device IDs (plans/data/open-gpu-ids.tsv, built in) for devices pci.ids does not know. */
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
/* Is the device ID in the open module's supported list (plans/data/open-gpu-ids.tsv)? */
bool open_module_lists_device(unsigned device_id);
/* The release that list was taken from, e.g. "550.40.82". */
const char *open_module_list_release(void);
/* The product name the open module's list gives the device ID ("NVIDIA H200" for 0x2335), newly
 * allocated; NULL when the list does not know it. For naming a device pci.ids does not know. */
char *open_module_device_name(unsigned device_id);

typedef struct Gpu {
        char slot[16];        /* "0000:01:00.0" */
        unsigned vendor_id, device_id, class_id; /* class 0x0300 / 0x0302 */
        char name[128];       /* from pci.ids; "" when unknown */
        GpuArch arch;
} Gpu;

typedef struct GpuList {
        size_t n;
        Gpu *gpus;
        char *ids_file; /* pci.ids used, NULL if none */
} GpuList;

/* All NVIDIA (vendor 0x10de) devices of class display-VGA (0x0300) or 3D (0x0302).
 * 0 with n == 0 when there are none; -ENOENT when <root>/sys/bus/pci does not exist. */
int pci_find_gpus(const Host *h, GpuList *ret);
void gpu_list_done(GpuList *l);
/* After pci_find_gpus() returned -EIO: libpci's error message (this thread's last one). */
const char *pci_last_error(void);
