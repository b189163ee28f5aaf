/* HGX hosts (NVSwitch boards): Fabric Manager, persistence and the expected topology. The units
 * and the files their daemons write when they start (the PIDFile= of NVIDIA's unit files), which
 * under --root stand for "the daemon is running". */
#pragma once

#include "checks/checks.h"
#include "checks/nvml.h"

#define FABRIC_MANAGER_UNIT "nvidia-fabricmanager.service"
#define FABRIC_MANAGER_PIDFILE "/run/nvidia-fabricmanager/nv-fabricmanager.pid"
#define FABRIC_MANAGER_LOG "/var/log/fabricmanager.log"
#define PERSISTENCED_UNIT "nvidia-persistenced.service"
#define PERSISTENCED_PIDFILE "/run/nvidia-persistenced/nvidia-persistenced.pid"

/* The marker above for one of these units, NULL for any other. */
const char *hgx_unit_marker(const char *unit);
/* Enabled (1/0) and active (1/0) as host/ sees them (under --root: the actions log and the marker). */
void hgx_unit_state(const Host *h, const char *unit, int *ret_enabled, int *ret_active);
/* Is the unit's file installed (/etc/systemd/system, /usr/lib/systemd/system, /lib/systemd/system)?
 * *ret_path (may be NULL): where, on success. */
bool hgx_unit_installed(const Host *h, const char *unit, char **ret_path);
/* The NVSwitches on the PCI bus (0 when the bus cannot be read). */
size_t hgx_nvswitch_count(const Host *h);
/* "NVIDIA H100 80GB HBM3" matches glob "H100*" or "NVIDIA H100*": the name with or without NVIDIA's prefix. */
bool gpu_name_matches(const char *glob, const char *name);
/* The meaning of the common Xid errors (NVIDIA's Xid catalog); NULL for another number. */
const char *xid_meaning(unsigned xid);
/* Xid numbers from kernel-log text, in the order first seen, each once ("NVRM: Xid (PCI:...): 79, ...").
 * Returns how many were stored in ret (at most max); *ret_first_line: the first such line's message. */
size_t parse_xids(const char *text, unsigned *ret, size_t max, char **ret_first_line);
/* `nvidia-smi -q` text: each "GPU <bus id>" section's "Fabric" State and Status into a new entry of
 * ret->gpus (state NVML_FABRIC_*, status 0 for "Success", 999 otherwise). -ENODATA: no GPU section. */
int parse_nvidia_smi_fabric(const char *text, NvmlInfo *ret);
