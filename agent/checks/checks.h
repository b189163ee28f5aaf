/* Read-only probes shared by plan steps (`checks:`) and, later, by `gpubase verify`.
 * A check never changes the machine. The CheckKind type is declared in plan/check_kind.h. */
#pragma once

#include "plan/check_kind.h"

extern const CheckKind check_file_exists, check_file_contains, check_command_succeeds;
extern const CheckKind check_nouveau, check_secureboot, check_driver_loaded, check_driver_version, check_driver_stale,
        check_driver_origin, check_driver_held, check_ctk_installed, check_ctk_held, check_runtime_configured,
        check_runtime_restarted, check_driver_nvml, check_driver_cuda_ceiling, check_toolkit_nvcc, check_gpu_present,
        check_gpu_open_module_supported, check_driver_flavor, check_driver_next_kernel, check_gpu_count, check_gpu_model,
        check_driver_persistence, check_fabric_manager, check_fabric_state, check_nvlink_up, check_gpu_ecc, check_gpu_xid,
        check_runtime_smoke, check_driver_operator, check_cdi_spec;
