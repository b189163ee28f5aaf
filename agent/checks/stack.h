/* The GPU stack's versions as plain values, for `gpubase verify --json`'s "facts" object: what the
 * checks read (the same readers: sysfs, procfs, libkmod, dpkg's status file, NVML, libpci,
 * daemon.json), without their judgement. A fleet compares these values across hosts; the checks'
 * detail text is for people and may be reworded. Anything unknown stays NULL (JSON null). */
#pragma once

#include <json-c/json.h>

#include "checks/facts.h"
#include "checks/kernels.h"
#include "checks/nvml.h"
#include "checks/pci.h"

typedef struct StackFacts {
        bool gpus_known;           /* false: the PCI bus could not be read */
        GpuList gpus;
        char *driver_loaded;       /* /sys/module/nvidia/version */
        DriverFlavor driver_flavor; /* /proc/driver/nvidia/version; _DRIVER_FLAVOR_INVALID: unknown */
        char *driver_on_disk;      /* the module for the running kernel (libkmod) */
        char *driver_package;      /* the installed driver package's name ("nvidia-open") */
        char *driver_package_version; /* its Debian version ("595.45.04-1") */
        char *driver_installed;    /* its upstream version ("595.45.04") */
        NvmlStatus nvml_status;
        char *nvml_driver;         /* the user-space driver version NVML reports */
        char *cuda_ceiling;        /* "13.2" */
        bool cuda_ceiling_from_nvml; /* else from the CUDA/driver table, for the loaded module */
        CtkVersions ctk;
        const char *runtime;       /* "docker", "containerd", NULL (static) */
        char *default_runtime;     /* daemon.json's "default-runtime" */
        int cdi;                   /* daemon.json's features.cdi: 1, 0, or -1 unknown */
        bool kernels_known;        /* false: no /boot/vmlinuz-* */
        KernelList kernels;        /* the installed kernels and their nvidia module (checks/kernels.h) */
} StackFacts;

/* Reads every fact; always fills ret (unknown facts stay NULL). */
void stack_facts_gather(const Host *h, StackFacts *ret);
void stack_facts_done(StackFacts *f);
/* {"gpus", "nvswitches": {count, ids}, "driver": {...}, "nvml": {...}, "cuda_ceiling", "cuda_ceiling_source",
 * "ctk": {...}, "runtime": {...}, "kernels": [...]}: the shape README.md documents for verify --json. A new
 * reference. */
json_object *stack_facts_to_json(const StackFacts *f);
