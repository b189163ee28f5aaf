/* libpci, opened with dlopen (base/dlib.h) the first time gpubase names a GPU from pci.ids (one that
 * NVIDIA's list does not have), not at start: the bus itself is read from sysfs (checks/pci.c), so
 * status, plan check and --version on a host of listed GPUs never load it, nor libudev under it.
 *
 * A file that includes this header calls libpci as usual: each function it uses is defined below
 * as the loaded library's. */
#pragma once

#include <pci/pci.h>

#include "base/dlib.h"

#define PCI_SONAME "libpci.so.3"

/* X(function) for every libpci function gpubase calls */
#define PCI_FUNCTIONS(X) \
        X(pci_alloc) X(pci_cleanup) X(pci_fill_info) X(pci_init) X(pci_lookup_name) X(pci_scan_bus) \
        X(pci_set_name_list_path) X(pci_set_param)

/* PciLib; pci_lib(), the loaded library (loaded on the first call) */
DLIB_DECLARE(Pci, pci, PCI_FUNCTIONS);

#define PCILIB_FN(f) (pci_lib()->f_##f)
#define pci_alloc PCILIB_FN(pci_alloc)
#define pci_cleanup PCILIB_FN(pci_cleanup)
#define pci_fill_info PCILIB_FN(pci_fill_info)
#define pci_init PCILIB_FN(pci_init)
#define pci_lookup_name PCILIB_FN(pci_lookup_name)
#define pci_scan_bus PCILIB_FN(pci_scan_bus)
#define pci_set_name_list_path PCILIB_FN(pci_set_name_list_path)
#define pci_set_param PCILIB_FN(pci_set_param)
