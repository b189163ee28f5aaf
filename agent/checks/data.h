#pragma once

/* plans/data/cuda-driver.tsv, NUL-terminated. */
extern const char gpubase_data_cuda_driver[];
/* plans/data/open-gpu-ids.tsv, NUL-terminated. */
extern const char gpubase_data_open_gpu_ids[];
