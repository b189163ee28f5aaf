/* What the GPU stack looks like right now, read from the kernel, sysfs, procfs, EFI variables and
 * dpkg's status file — never from nvidia-smi's text when something better exists. Every reader
 * takes its paths under the Host's root, so tests describe a machine with fixture files. Readers
 * return 0 and fill their result, or a negative errno; pure parsers are exposed for unit tests. */
#pragma once

#include <stdbool.h>

#include "host/host.h"
#include "plan/check_kind.h"

/* ---- the loaded kernel module ---- */

typedef enum DriverFlavor {
        DRIVER_FLAVOR_OPEN,
        DRIVER_FLAVOR_PROPRIETARY,
        _DRIVER_FLAVOR_MAX,
        _DRIVER_FLAVOR_INVALID = -EINVAL,
} DriverFlavor;
const char *driver_flavor_to_string(DriverFlavor f);

typedef struct ProcVersion {
        DriverFlavor flavor;
        char *version; /* "595.45.04" */
        char *arch;    /* "x86_64", "aarch64", or NULL when the line does not say */
} ProcVersion;
void proc_version_done(ProcVersion *p);
/* Parses the first line of /proc/driver/nvidia/version. -EBADMSG if it is not such a line. */
int parse_proc_version(const char *line, ProcVersion *ret);

#define SYS_MODULE_NVIDIA "/sys/module/nvidia"
#define PROC_DRIVER_VERSION "/proc/driver/nvidia/version"

/* Is the nvidia module loaded (/sys/module/nvidia)? Its version from /sys/module/nvidia/version. */
bool driver_loaded(const Host *h);
int driver_loaded_version(const Host *h, char **ret);
int driver_proc_version(const Host *h, ProcVersion *ret);
/* Any module loaded by that name (/sys/module/<name>/ or /proc/modules). */
bool module_loaded(const Host *h, const char *name);

/* The running kernel release (/proc/sys/kernel/osrelease). */
int kernel_release(const Host *h, char **ret);
/* The nvidia module on disk for the running kernel (what `modinfo -F version nvidia` says), found
 * through libkmod under <root>/lib/modules/<release>. ret_vermagic may be NULL. */
int driver_disk_version(const Host *h, char **ret_version, char **ret_vermagic, char **ret_path);
/* The same for any kernel release (one name, no '/'): the nvidia module under <root>/lib/modules/<rel>.
 * -ENOENT when there is none, -EINVAL for a release that is not a plain name. */
int driver_module_for_kernel(const Host *h, const char *rel, char **ret_version, char **ret_vermagic, char **ret_path);
/* The file name (no .ko) modprobe's configuration loads for `nvidia` through an `install nvidia
 * ... modprobe -i NAME` line (Debian's renamed DKMS modules: "nvidia-current-open"); NULL when the
 * configuration names none (the file is nvidia.ko). checks/modname.c. */
char *driver_module_file_name(const Host *h);
/* That line's NAME, for one line of a modprobe.d file; NULL when it is no such line (for tests). */
char *modprobe_install_target(const char *line);

/* ---- dpkg ---- */

typedef struct DpkgPackage {
        char *name, *version, *status; /* status: "install ok installed", "hold ok installed", ... */
        bool installed;                /* state installed (not half-configured, not config-files) */
        bool held;                     /* selection hold */
} DpkgPackage;
void dpkg_package_done(DpkgPackage *p);
/* Looks up a package in <root>/var/lib/dpkg/status. -ENOENT: not known to dpkg. */
int dpkg_find(const Host *h, const char *name, DpkgPackage *ret);
/* Same, on text already read (for tests). */
int dpkg_find_in(const char *status_text, const char *name, DpkgPackage *ret);
/* An installed package whose selection is hold and which depends on exactly name (= version), so that
 * apt cannot replace that version without touching the held package: its name in *ret_holder.
 * -ENOENT if none. */
int dpkg_held_lock(const Host *h, const char *name, const char *version, char **ret_holder);
int dpkg_held_lock_in(const char *status_text, const char *name, const char *version, char **ret_holder);
/* The names of every installed package matching glob, in the status file's order; -ENOENT if none. */
int dpkg_list_installed_in(const char *status_text, const char *glob, char ***ret);
/* The first installed package of names[] (NULL-terminated); -ENOENT if none. */
int dpkg_find_first(const Host *h, const char *const *names, DpkgPackage *ret);
/* The driver package that is installed, by the names the CUDA repository and the distributions use. */
int dpkg_find_driver(const Host *h, DpkgPackage *ret);
/* dpkg's database exists but cannot be read (EACCES as non-root, EIO): sets *ret to a failure that
 * says why and returns true, so that a check never reports a package it cannot see as absent. */
bool dpkg_status_unreadable(const Host *h, CheckResult *ret);
/* Which apt list (repository) offers name=version, e.g. "developer.download.nvidia.com_compute_cuda_..."
 * from the Packages files in <root>/var/lib/apt/lists. -ENOENT if none does. */
int apt_lists_origin(const Host *h, const char *name, const char *version, char ***ret_lists);

/* ---- firmware and modules ---- */

typedef enum SecureBoot {
        SECUREBOOT_LEGACY,   /* no EFI */
        SECUREBOOT_DISABLED,
        SECUREBOOT_ENABLED,
        SECUREBOOT_UNKNOWN,  /* EFI, but the variable cannot be read */
} SecureBoot;
SecureBoot secureboot_state(const Host *h);

/* ---- NVIDIA Container Toolkit and container runtimes ---- */

/* The toolkit's four packages, which a host must have at one version: nvidia-container-toolkit,
 * nvidia-container-toolkit-base, libnvidia-container-tools, libnvidia-container1 (NULL-terminated). */
#define CTK_N_PACKAGES 4
extern const char *const ctk_packages[CTK_N_PACKAGES + 1];

typedef struct CtkVersions {
        char *installed[CTK_N_PACKAGES]; /* dpkg version of each installed one, NULL if not installed */
        const char *first;               /* the first installed one's version (points into installed[]) */
        bool mixed;                      /* the installed ones differ */
        char *version;                   /* the version all four share; NULL if one is missing or mixed */
} CtkVersions;
void ctk_versions_done(CtkVersions *v);
/* From dpkg's status file. */
void ctk_versions(const Host *h, CtkVersions *ret);

/* "NVIDIA Container Toolkit CLI version 1.19.0\ncommit: ..." -> "1.19.0" */
int parse_ctk_version(const char *text, char **ret);

#define DOCKER_JSON "/etc/docker/daemon.json"

typedef struct DaemonJson {
        bool has_nvidia;        /* runtimes.nvidia present */
        char *nvidia_path;      /* runtimes.nvidia.path */
        bool nvidia_runtime_args; /* the old "runtimeArgs" key instead of "args" */
        char *default_runtime;  /* "default-runtime" */
        bool cdi;               /* features.cdi true */
        size_t other_keys;      /* top-level keys besides runtimes/default-runtime/features */
} DaemonJson;
void daemon_json_done(DaemonJson *d);
/* Parses /etc/docker/daemon.json text. -EBADMSG with *reterr (the parse error, with its byte
 * offset) for invalid JSON or a top level that is not an object, or (naming the key) for a key
 * gpubase reads that has another type than dockerd gives it: default-runtime a string, features
 * an object of true/false, runtimes an object of objects whose path is a string and runtimeArgs a
 * list of strings. Nesting is allowed up to JSON_MAX_DEPTH. An empty file is invalid too:
 * nvidia-ctk refuses it, only a missing file counts as {}. */
int daemon_json_parse(const char *text, size_t len, DaemonJson *ret, char **reterr);
/* The options `nvidia-ctk runtime configure` was asked for, in h's daemon.json: nvidia as the
 * default runtime (set_as_default), CDI on (cdi). false with *ret_why when one is missing or the
 * file cannot be read. */
bool docker_runtime_options_ok(const Host *h, bool set_as_default, bool cdi, char **ret_why);

/* The container runtime on the machine: "docker" when /etc/docker or a docker package is there, else
 * "containerd" likewise, else NULL. */
const char *container_runtime_found(const Host *h);

typedef struct ContainerdConfig {
        bool imports_dropin;    /* config.toml's imports cover the drop-in */
        char *imports;          /* the imports line as written, NULL if none */
        bool dropin_has_runtime;/* the drop-in names /usr/bin/nvidia-container-runtime */
} ContainerdConfig;
void containerd_config_done(ContainerdConfig *c);
/* config_toml may be NULL (missing); dropin_path is the drop-in's absolute path (without root). */
void containerd_inspect(const char *config_toml, const char *dropin_text, const char *dropin_path,
                        ContainerdConfig *ret);

/* "Cuda compilation tools, release 12.8, V12.8.93" (nvcc --version) -> "12.8" */
int parse_nvcc_version(const char *text, char **ret);

/* ---- CUDA <-> driver table (plans/data/cuda-driver.tsv, built in, and a local one) ---- */

/* Rows a site adds or overrides, in the same format (read under --root). */
#define CUDA_LOCAL_TABLE "/etc/gpubase/cuda-driver.tsv"

typedef struct CudaRow {
        char *cuda;   /* "12.8" (GA) or "12.8.1" (12.8 Update 1) */
        char *driver; /* the minimum driver, "570.124.06" */
        char *source; /* the built-in row's source, or "/etc/gpubase/cuda-driver.tsv:LINE" */
        bool local;   /* from the local table */
} CudaRow;

typedef struct CudaTable {
        CudaRow *rows;
        size_t n;
} CudaTable;
void cuda_table_done(CudaTable *t);
/* Adds the rows of `text` ("CUDA<TAB>driver[<TAB>source]", # comments) to *t; a CUDA version
 * already there is replaced. origin names the text in errors and, for local rows, their source.
 * -EBADMSG with *reterr (may be NULL) naming origin:line for a malformed row. */
int cuda_table_add(CudaTable *t, const char *text, const char *origin, bool local, char **reterr);
/* The built-in table, plus <root>/etc/gpubase/cuda-driver.tsv when it exists. */
int cuda_table_load(const Host *h, CudaTable *ret, char **reterr);
/* The row of a CUDA version ("12.8" is 12.8 GA, "12.8.1" Update 1); NULL if none. */
const CudaRow *cuda_table_find(const CudaTable *t, const char *cuda);
/* The newest CUDA release in the table. */
const CudaRow *cuda_table_newest(const CudaTable *t);
/* The highest CUDA version (major.minor, as NVML reports it) a driver serves, newly allocated;
 * NULL if it is below every row. */
char *cuda_table_ceiling(const CudaTable *t, const char *driver_version);
/* "12.8.1" vs "13.0", numerically (missing parts are 0). */
int cuda_version_cmp(const char *a, const char *b);
/* The same on major.minor only: "12.8.1" and "12.8" are equal (what a driver's ceiling covers). */
int cuda_minor_cmp(const char *a, const char *b);
/* "13.2.1" -> "13.2 Update 1", "13.2" -> "13.2" (newly allocated). */
char *cuda_release_name(const char *cuda);
/* 12080 -> "12.8" (caller frees). */
char *cuda_version_from_int(int v);
