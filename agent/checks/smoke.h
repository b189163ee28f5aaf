/* The container smoke test, shared by the container-smoke step and the runtime.smoke check (`verify
 * --smoke`): a container started through docker or containerd, with every GPU requested, runs
 * `nvidia-smi --query-gpu=driver_version,name,pci.bus_id --format=csv,noheader`; it passes only
 * when the container sees every GPU of the host (NVML's bus ids) and the host's exact driver
 * version. Under --root, docker and ctr are the root's, run inside the root (checks/program.h).
 *
 * How each runtime is asked for the GPUs (the real CLIs' flags: docker 20.10+ `run`; containerd's
 * cmd/ctr/commands/run, 1.6 to 2.x):
 *   docker      gpus    docker run --rm --pull=never --gpus all IMAGE nvidia-smi ...
 *               runtime docker run --rm --pull=never --runtime=nvidia -e NVIDIA_VISIBLE_DEVICES=all ...
 *               cdi     docker run --rm --pull=never --device nvidia.com/gpu=all ...
 *   containerd  gpus    ctr -n gpubase run --rm --gpus 0 --gpus 1 ... IMAGE ID nvidia-smi ...
 *               runtime ctr -n gpubase run --rm --runtime io.containerd.runc.v2
 *                       --runc-binary /usr/bin/nvidia-container-runtime --env NVIDIA_VISIBLE_DEVICES=all ...
 *               cdi     ctr -n gpubase run --rm --device nvidia.com/gpu=all ...
 * An image that is not there is loaded from `archive` (docker load --input / ctr images import),
 * else pulled when `pull: missing`, else the test fails saying so (an offline host never pulls). */
#pragma once

#include "plan/check_kind.h"

typedef enum SmokeRequest {
        SMOKE_REQUEST_GPUS,
        SMOKE_REQUEST_RUNTIME,
        SMOKE_REQUEST_CDI,
        _SMOKE_REQUEST_MAX,
        _SMOKE_REQUEST_INVALID = -EINVAL,
} SmokeRequest;

const char *smoke_request_to_string(SmokeRequest r);
SmokeRequest smoke_request_from_string(const char *s);

typedef struct SmokeSpec {
        char *runtime;        /* "docker", "containerd"; NULL: the plan's, else what is on the machine */
        int request;          /* a SmokeRequest; -1: cdi when docker's daemon.json enables CDI, else gpus */
        char *image;          /* NULL: smoke_default_image() for the driver's CUDA ceiling */
        char *archive;        /* image tarball (absolute, on the machine) loaded when the image is absent */
        unsigned timeout_sec; /* for each program run (the container, a load, a pull) */
        bool pull;            /* pull: missing (default never) */
} SmokeSpec;

#define SMOKE_DEFAULT_TIMEOUT 300
#define SMOKE_KEYS "image", "timeout", "runtime", "request", "pull", "archive"

void smoke_spec_init(SmokeSpec *s);
void smoke_spec_done(SmokeSpec *s);
/* The keys above out of a map (a step's or the check's parameter); -EINVAL with pc->err set. */
int smoke_spec_parse(SmokeSpec *s, const YNode *map, ParseCtx *pc, const char *what);

/* The CUDA version an image's tag names ("nvcr.io/nvidia/cuda:12.8.1-base-ubuntu24.04" -> "12.8.1"),
 * newly allocated; NULL when the tag says none. */
char *smoke_image_cuda(const char *image);
/* The CUDA base image gpubase picks for a driver whose ceiling is `ceiling` ("13.2"): the newest of
 * its list at or below it; NULL when the ceiling is below all of them. */
const char *smoke_default_image(const char *ceiling);

/* Runs the test; ret says how it went (detail, and fix for anything not ok). ctx->stop_fd stops it. */
void smoke_run(const SmokeSpec *s, Ctx *ctx, CheckResult *ret);
/* The command line it runs, for `plan show` and --dry-run. */
char *smoke_describe(const SmokeSpec *s);
/* What a smoke test says about the plan: its runtime, and its image's CUDA (refused at plan time
 * when the planned driver branch cannot serve it: checks/preflight.c). */
void smoke_declare(const SmokeSpec *s, PlanIntent *intent);
