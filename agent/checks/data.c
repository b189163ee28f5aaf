/* Data files from plans/data/, built into the binary so that a check never depends on where the
 * data was installed. The files stay data, with their sources named in them. */
#include "checks/data.h"

#define EMBED(sym, file)                         \
        __asm__(".pushsection .rodata\n"         \
                ".global " #sym "\n"             \
                ".type " #sym ", @object\n"      \
                ".balign 16\n" #sym ":\n"        \
                ".incbin \"" file "\"\n"         \
                ".byte 0\n"                      \
                ".popsection\n")

EMBED(gpubase_data_cuda_driver, "plans/data/cuda-driver.tsv");
EMBED(gpubase_data_gpus, "plans/data/gpus.tsv");
EMBED(gpubase_data_nvswitches, "plans/data/nvswitches.tsv");
