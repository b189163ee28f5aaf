/* libpci through dlopen (host/pci_load.h, base/dlib.h). */
#include "host/pci_load.h"

DLIB_DEFINE(Pci, pci, PCI_FUNCTIONS, PCI_SONAME, "libpci3")
