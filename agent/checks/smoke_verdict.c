/* The verdicts of the container smoke test (checks/smoke_verdict.h). The messages matched are the
 * ones the real programs print: dockerd's daemon errors (daemon/nvidia_linux.go: "could not select
 * device driver ... with capabilities: [[gpu]]" when no NVIDIA hook was registered at its start;
 * "unknown or invalid runtime name" for a --runtime its configuration did not have when it
 * started; "No such image" under --pull=never), libnvidia-container's nvidia-container-cli
 * ("nvml error: driver/library version mismatch", "requirement error: unsatisfied condition:
 * cuda>=X.Y" for an image whose NVIDIA_REQUIRE_CUDA the driver cannot serve), the CDI registry's
 * "unresolvable CDI devices", ctr's `image "...": not found` and "failed to dial", and nvidia-smi's
 * own ("Failed to initialize NVML: Driver/library version mismatch", "No devices were found"). */
#include "checks/smoke_verdict.h"

#include <string.h>
#include <strings.h>

typedef struct Known {
        const char *needle; /* found case-insensitively in the output */
        const char *why;
        const char *fix_docker, *fix_containerd; /* NULL: the docker one */
} Known;

#define CONFIGURE_DOCKER "nvidia-ctk runtime configure --runtime=docker, then systemctl restart docker (a container-runtime " \
                         "step, then a service-restart step)"
#define CONFIGURE_CONTAINERD "nvidia-ctk runtime configure --runtime=containerd, then systemctl restart containerd"
#define CDI_GENERATE "nvidia-ctk cdi generate --output=/etc/cdi/nvidia.yaml (a cdi-generate step), after the driver is loaded"

/* In the order they are looked for: the driver's own failures first, as the runtime wraps them. */
static const Known known[] = {
        {"driver/library version mismatch",
         "the driver's libraries and the loaded kernel module are different versions (the driver was upgraded "
         "without a reboot)",
         "reboot, so that the installed driver's module is the one loaded", NULL},
        {"unsatisfied condition: cuda",
         "the image needs a newer CUDA than the driver serves (CUDA driver version is insufficient)",
         "use an image whose CUDA is at most the driver's ceiling (leave image unset for gpubase's choice), or plan a "
         "newer driver branch",
         NULL},
        {"CUDA driver version is insufficient",
         "the image's CUDA is newer than the driver serves",
         "use an image whose CUDA is at most the driver's ceiling (leave image unset for gpubase's choice), or plan a "
         "newer driver branch",
         NULL},
        {"nvml error: driver not loaded", "the NVIDIA runtime finds no loaded driver",
         "load the driver (reboot after installing it); gpubase verify says what is wrong", NULL},
        {"could not select device driver \"cdi\"", "docker does not have CDI enabled",
         "nvidia-ctk runtime configure --runtime=docker --cdi.enabled, then systemctl restart docker", NULL},
        {"could not select device driver",
         "docker has no NVIDIA GPU support: the NVIDIA runtime is not configured, or docker was not restarted after "
         "the Container Toolkit was installed and configured",
         CONFIGURE_DOCKER, NULL},
        {"unknown or invalid runtime name: nvidia",
         "docker does not know the nvidia runtime: daemon.json was not configured, or docker was not restarted after it "
         "was",
         CONFIGURE_DOCKER, NULL},
        {"unresolvable CDI devices", "the CDI spec does not name the devices asked for (missing, or stale)", CDI_GENERATE,
         NULL},
        {"nvidia-container-runtime: no such file", "the NVIDIA runtime (/usr/bin/nvidia-container-runtime) is not installed",
         "install nvidia-container-toolkit (an apt-install step)", NULL},
        {"No devices were found",
         "the container sees no GPU: the runtime injected no /dev/nvidia* device node (devices missing on the host, "
         "NVIDIA_VISIBLE_DEVICES, or a device cgroup that denies them)",
         "check that /dev/nvidia0... exist on the host and that the runtime passes them (" CONFIGURE_DOCKER ")",
         "check that /dev/nvidia0... exist on the host and that the runtime passes them (" CONFIGURE_CONTAINERD ")"},
        {"Cannot connect to the Docker daemon", "docker is not running", "systemctl start docker", NULL},
        {"failed to dial", "containerd is not running", "systemctl start containerd", NULL},
};

bool smoke_image_absent(const char *output) {
        return strcasestr(output, "No such image") || (strstr(output, "image \"") && strstr(output, "\": not found"));
}

/* The output's line that holds `at`, trimmed, newly allocated. */
static char *line_of(const char *output, const char *at) {
        const char *s = at, *e = strchr(at, '\n');
        while (s > output && s[-1] != '\n')
                s--;
        _cleanup_free_ char *l = xstrndup(s, e ? (size_t) (e - s) : strlen(s));
        return xstrdup(strip(l));
}

/* The last non-empty line of the output, newly allocated ("" if none). */
static char *last_line(const char *output) {
        _cleanup_free_ char *t = xstrdup(output ? output : "");
        strip(t);
        const char *nl = strrchr(t, '\n');
        return xstrdup(nl ? nl + 1 : t);
}

int smoke_verdict_host(const NvmlInfo *host, CheckResult *ret) {
        if (host->status == NVML_STATUS_VERSION_MISMATCH) {
                check_result_set(ret, CHECK_FAIL,
                                 xasprintf("the host's NVML says \"%s\": no container can use the GPUs", host->error),
                                 xstrdup("reboot, so that the installed driver's module is the one loaded"));
                return -ENODEV;
        }
        if (host->status != NVML_STATUS_OK || !host->driver_version || host->n_gpus == 0) {
                check_result_set(ret, CHECK_FAIL,
                                 host->status != NVML_STATUS_OK
                                         ? xasprintf("the host's NVML does not answer (%s: %s): nothing to compare a "
                                                     "container with",
                                                     nvml_status_to_string(host->status), host->error ? host->error : "?")
                                         : xstrdup("the host's NVML sees no GPU"),
                                 xstrdup("load the NVIDIA driver first; gpubase verify says what is missing"));
                return -ENODEV;
        }
        return 0;
}

/* "595.45.04, NVIDIA H100 80GB HBM3, 00000000:18:00.0": the driver and the bus id, or -EBADMSG. */
static int parse_line(char *line, char **ret_driver, char **ret_bus) {
        char *c1 = strchr(line, ','), *c2 = c1 ? strrchr(c1 + 1, ',') : NULL;
        if (!c1 || !c2)
                return -EBADMSG;
        *c1 = *c2 = 0;
        *ret_driver = strip(line);
        *ret_bus = strip(c2 + 1);
        return 0;
}

void smoke_verdict_output(const char *output, const NvmlInfo *host, const char *cmd, CheckResult *ret) {
        _cleanup_free_ char *text = xstrdup(output ? output : "");
        bool seen[NVML_MAX_GPUS] = {false};
        unsigned n = 0, matched = 0;
        for (char *save = NULL, *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
                char *drv, *bus;
                if (isempty(strip(l)))
                        continue;
                if (parse_line(l, &drv, &bus) < 0) {
                        check_result_set(ret, CHECK_FAIL, xasprintf("the container's nvidia-smi printed \"%s\", not "
                                                                    "driver_version, name, pci.bus_id",
                                                                    l),
                                         xasprintf("run %s by hand and look at its output", cmd));
                        return;
                }
                n++;
                if (!streq(drv, host->driver_version)) {
                        check_result_set(ret, CHECK_FAIL,
                                         xasprintf("the container sees driver %s, the host runs %s: the container's "
                                                   "NVIDIA libraries are not the host's",
                                                   drv, host->driver_version),
                                         xstrdup("do not ship driver libraries in the image (they come from the host "
                                                 "through the NVIDIA runtime); reboot if the host was upgraded"));
                        return;
                }
                for (unsigned i = 0; i < host->n_gpus && i < NVML_MAX_GPUS; i++)
                        if (!seen[i] && strcasecmp(host->gpus[i].bus_id, bus) == 0) {
                                seen[i] = true;
                                matched++;
                        }
        }
        if (n == 0 || matched < host->n_gpus) {
                Buf missing = {0};
                for (unsigned i = 0; i < host->n_gpus && i < NVML_MAX_GPUS; i++)
                        if (!seen[i])
                                buf_printf(&missing, "%s%s", missing.len ? ", " : "", host->gpus[i].bus_id);
                _cleanup_free_ char *m = buf_steal(&missing);
                check_result_set(ret, CHECK_FAIL,
                                 xasprintf("the container sees %u of the host's %u GPU%s (missing: %s)", matched,
                                           host->n_gpus, host->n_gpus == 1 ? "" : "s", m),
                                 xstrdup("check that every /dev/nvidiaN exists on the host and that the runtime passes "
                                         "all of them (NVIDIA_VISIBLE_DEVICES=all, the device cgroup)"));
                return;
        }
        check_result_set(ret, CHECK_OK,
                         xasprintf("the container sees all %u GPU%s and driver %s (%s)", host->n_gpus,
                                   host->n_gpus == 1 ? "" : "s", host->driver_version, cmd),
                         NULL);
}

static void image_absent(const char *cmd, const char *image, const SmokeSpec *s, const char *line, CheckResult *ret) {
        check_result_set(ret, CHECK_FAIL,
                         xasprintf("the image %s is not on this machine%s (\"%s\"; %s)", image,
                                   s && s->archive ? ", and loading it from the archive did not provide it" : "",
                                   line, cmd),
                         xasprintf("for an offline host give the image's tarball (archive: /path/image.tar, e.g. from "
                                   "docker save), or allow pulling it (pull: missing)"));
}

void smoke_verdict_failed(const char *runtime, const char *cmd, int r, const ExecResult *res, const char *image,
                          const SmokeSpec *s, CheckResult *ret) {
        bool docker = streq(runtime, "docker");
        if (r < 0 || res->exec_errno) {
                int e = r < 0 ? -r : res->exec_errno;
                check_result_set(ret, CHECK_FAIL, xasprintf("cannot run %s: %s", cmd, strerror(e)),
                                 xstrdup(e == ENOENT ? (docker ? "install docker (docker.io)" : "install containerd")
                                                     : "see the error above"));
                return;
        }
        if (res->timed_out || res->stopped) {
                check_result_set(ret, CHECK_FAIL,
                                 xasprintf("%s %s", cmd, res->timed_out ? "timed out" : "was stopped"),
                                 xstrdup(res->timed_out ? "raise the timeout (timeout: SECONDS) or find out what hangs"
                                                        : "run it again"));
                return;
        }
        const char *out = res->output ? res->output : "";
        for (size_t i = 0; i < ELEMENTSOF(known); i++) {
                const char *at = strcasestr(out, known[i].needle);
                if (!at)
                        continue;
                _cleanup_free_ char *line = line_of(out, at);
                const char *fix = !docker && known[i].fix_containerd ? known[i].fix_containerd : known[i].fix_docker;
                if (!docker && fix == known[i].fix_docker && streq(fix, CONFIGURE_DOCKER))
                        fix = CONFIGURE_CONTAINERD;
                check_result_set(ret, CHECK_FAIL, xasprintf("%s: \"%s\" (%s)", known[i].why, line, cmd), xstrdup(fix));
                return;
        }
        _cleanup_free_ char *line = last_line(out);
        if (smoke_image_absent(out)) {
                image_absent(cmd, image, s, line, ret);
                return;
        }
        check_result_set(ret, CHECK_FAIL, xasprintf("%s exited with status %d: %s", cmd, res->status, line),
                         xasprintf("run %s by hand and read its error", cmd));
}
