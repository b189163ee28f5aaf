#pragma once

/* plans/data/cuda-driver.tsv, NUL-terminated. */
extern const char gpubase_data_cuda_driver[];
/* plans/data/gpus.tsv, NUL-terminated. */
extern const char gpubase_data_gpus[];
/* plans/data/nvswitches.tsv, NUL-terminated. */
extern const char gpubase_data_nvswitches[];
