// The one symbol libgpubase-apt.so exports (shim/aptshim_table.h); everything else in it is
// hidden (-fvisibility=hidden), so that it binds to its own functions.
#include "aptshim_table.h"

extern "C" __attribute__((visibility("default"))) const AptShimTable gpubase_apt_shim_table = {
        APT_SHIM_ABI,
        sizeof(AptShimTable),
#define APT_SHIM_ENTRY(f) f,
        APT_SHIM_FUNCTIONS(APT_SHIM_ENTRY)
#undef APT_SHIM_ENTRY
};
