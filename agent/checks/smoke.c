/* The container smoke test (checks/smoke.h): the parameters, the images, the command lines. What
 * a run's output means is judged in checks/smoke_verdict.c. */
#include "checks/smoke.h"

#include <string.h>
#include <unistd.h>

#include "base/string_table.h"
#include "checks/facts.h"
#include "checks/nvml.h"
#include "checks/smoke_verdict.h"
#include "host/enter_root.h"

static const char *const smoke_request_table[_SMOKE_REQUEST_MAX] = {
        [SMOKE_REQUEST_GPUS] = "gpus",
        [SMOKE_REQUEST_RUNTIME] = "runtime",
        [SMOKE_REQUEST_CDI] = "cdi",
};

DEFINE_STRING_TABLE_LOOKUP(smoke_request, SmokeRequest, NULL)

/* NVIDIA's CUDA base images (nvcr.io/nvidia/cuda, the same tags on Docker Hub's nvidia/cuda), newest
 * first; each tag's CUDA release is checked against the driver's ceiling on major.minor, as
 * libnvidia-container checks the image's NVIDIA_REQUIRE_CUDA ("cuda>=12.8"). */
static const char *const default_images[] = {
        "nvcr.io/nvidia/cuda:13.0.0-base-ubuntu24.04", "nvcr.io/nvidia/cuda:12.8.1-base-ubuntu24.04",
        "nvcr.io/nvidia/cuda:12.4.1-base-ubuntu22.04", "nvcr.io/nvidia/cuda:12.2.2-base-ubuntu22.04",
        "nvcr.io/nvidia/cuda:12.0.1-base-ubuntu22.04", "nvcr.io/nvidia/cuda:11.8.0-base-ubuntu22.04",
};

#define CTR_NAMESPACE "gpubase"
#define NVIDIA_RUNTIME_BIN "/usr/bin/nvidia-container-runtime"
static const char *const query[] = {"nvidia-smi", "--query-gpu=driver_version,name,pci.bus_id", "--format=csv,noheader",
                                    NULL};

void smoke_spec_init(SmokeSpec *s) {
        *s = (SmokeSpec){.request = -1, .timeout_sec = SMOKE_DEFAULT_TIMEOUT};
}

void smoke_spec_done(SmokeSpec *s) {
        free(s->runtime);
        free(s->image);
        free(s->archive);
        smoke_spec_init(s);
}

static int parse_choice(ParseCtx *pc, const YNode *v, const char *key, const char *const *choices, char **ret) {
        if (schema_string(pc, v, key, ret) < 0)
                return -EINVAL;
        for (size_t i = 0; choices[i]; i++)
                if (streq(choices[i], *ret))
                        return 0;
        _cleanup_free_ char *list = strv_join((char *const *) choices, ", ");
        src_error_set(pc->err, pc->file, v, "%s must be one of %s, found '%s'", key, list, *ret);
        return -EINVAL;
}

int smoke_spec_parse(SmokeSpec *s, const YNode *map, ParseCtx *pc, const char *what _unused_) {
        const YNode *v;
        _cleanup_free_ char *req = NULL, *pull = NULL;
        if ((v = ynode_get(map, "runtime")) &&
            parse_choice(pc, v, "runtime", (const char *const[]){"docker", "containerd", NULL}, &s->runtime) < 0)
                return -EINVAL;
        if ((v = ynode_get(map, "request"))) {
                if (parse_choice(pc, v, "request", (const char *const[]){"gpus", "runtime", "cdi", NULL}, &req) < 0)
                        return -EINVAL;
                s->request = smoke_request_from_string(req);
        }
        if ((v = ynode_get(map, "pull"))) {
                if (parse_choice(pc, v, "pull", (const char *const[]){"never", "missing", NULL}, &pull) < 0)
                        return -EINVAL;
                s->pull = streq(pull, "missing");
        }
        /* an empty image or archive (a plan variable left empty) is no image, no archive */
        if ((v = ynode_get(map, "image")) && !(v->type == YNODE_SCALAR && isempty(v->value))) {
                if (schema_string(pc, v, "image", &s->image) < 0)
                        return -EINVAL;
                if (strpbrk(s->image, " \t\n")) {
                        src_error_set(pc->err, pc->file, v, "image must be an image reference such as %s",
                                      default_images[0]);
                        return -EINVAL;
                }
        }
        if ((v = ynode_get(map, "archive")) && !(v->type == YNODE_SCALAR && isempty(v->value)) &&
            schema_abs_path(pc, v, "archive", &s->archive) < 0)
                return -EINVAL;
        if ((v = ynode_get(map, "timeout")) && schema_uint(pc, v, "timeout", 1, 3600, &s->timeout_sec) < 0)
                return -EINVAL;
        return 0;
}

char *smoke_image_cuda(const char *image) {
        const char *slash = strrchr(image, '/'), *name = slash ? slash + 1 : image;
        if (!startswith(name, "cuda:"))
                return NULL;
        const char *t = name + strlen("cuda:");
        size_t n = strspn(t, "0123456789.");
        if (n == 0 || t[0] == '.' || !strchr(t, '.'))
                return NULL;
        while (n > 0 && t[n - 1] == '.')
                n--;
        return xstrndup(t, n);
}

const char *smoke_default_image(const char *ceiling) {
        for (size_t i = 0; ceiling && i < ELEMENTSOF(default_images); i++) {
                _cleanup_free_ char *cuda = smoke_image_cuda(default_images[i]);
                if (cuda_minor_cmp(cuda, ceiling) <= 0)
                        return default_images[i];
        }
        return NULL;
}

static bool is_docker(const char *runtime) {
        return streq(runtime, "docker");
}

/* The command that starts the container. n_gpus: how many GPUs the host has (ctr --gpus takes indices). */
static char **run_argv(const char *runtime, SmokeRequest req, const char *image, unsigned n_gpus) {
        char **argv = NULL;
        bool docker = is_docker(runtime);
        strv_push(&argv, xstrdup(docker ? "docker" : "ctr"));
        if (!docker) {
                strv_push(&argv, xstrdup("--namespace"));
                strv_push(&argv, xstrdup(CTR_NAMESPACE));
        }
        strv_push(&argv, xstrdup("run"));
        strv_push(&argv, xstrdup("--rm"));
        if (docker) { /* the test needs no network: it also runs where docker has no bridge */
                strv_push(&argv, xstrdup("--pull=never"));
                strv_push(&argv, xstrdup("--network=none"));
        }
        if (req == SMOKE_REQUEST_CDI) {
                strv_push(&argv, xstrdup("--device"));
                strv_push(&argv, xstrdup("nvidia.com/gpu=all"));
        } else if (req == SMOKE_REQUEST_RUNTIME) {
                strv_push(&argv, xstrdup(docker ? "--runtime=nvidia" : "--runtime"));
                if (!docker) {
                        strv_push(&argv, xstrdup("io.containerd.runc.v2"));
                        strv_push(&argv, xstrdup("--runc-binary"));
                        strv_push(&argv, xstrdup(NVIDIA_RUNTIME_BIN));
                }
                strv_push(&argv, xstrdup(docker ? "-e" : "--env"));
                strv_push(&argv, xstrdup("NVIDIA_VISIBLE_DEVICES=all"));
        } else if (docker) {
                strv_push(&argv, xstrdup("--gpus"));
                strv_push(&argv, xstrdup("all"));
        } else
                for (unsigned i = 0; i < (n_gpus ? n_gpus : 1); i++) {
                        strv_push(&argv, xstrdup("--gpus"));
                        strv_push(&argv, xasprintf("%u", i));
                }
        strv_push(&argv, xstrdup(image));
        if (!docker)
                strv_push(&argv, xasprintf("gpubase-smoke-%ld", (long) getpid()));
        for (size_t i = 0; query[i]; i++)
                strv_push(&argv, xstrdup(query[i]));
        return argv;
}

/* docker load --input FILE / ctr images import FILE; docker pull / ctr images pull. */
static char **image_argv(const char *runtime, const char *archive, const char *image) {
        char **argv = NULL;
        bool docker = is_docker(runtime);
        strv_push(&argv, xstrdup(docker ? "docker" : "ctr"));
        if (!docker) {
                strv_push(&argv, xstrdup("--namespace"));
                strv_push(&argv, xstrdup(CTR_NAMESPACE));
                strv_push(&argv, xstrdup("images"));
        }
        strv_push(&argv, xstrdup(archive ? (docker ? "load" : "import") : "pull"));
        if (archive && docker)
                strv_push(&argv, xstrdup("--input"));
        strv_push(&argv, xstrdup(archive ? archive : image));
        return argv;
}

char *smoke_describe(const SmokeSpec *s) {
        const char *rt = s->runtime ? s->runtime : "docker";
        SmokeRequest req = s->request >= 0 ? (SmokeRequest) s->request : is_docker(rt) ? SMOKE_REQUEST_GPUS
                                                                                      : SMOKE_REQUEST_RUNTIME;
        _cleanup_strv_free_ char **argv = run_argv(rt, req, s->image ? s->image : "<CUDA base image within the "
                                                                                 "driver's ceiling>",
                                                   1);
        _cleanup_free_ char *cmd = strv_join(argv, " ");
        return xasprintf("%s%s%s%s; passes when the container sees every GPU and the host's driver version",
                         s->runtime ? "" : "(the plan's runtime) ", cmd, s->archive ? "; image from " : "",
                         s->archive ? s->archive : "");
}

/* Runs argv[0] (docker or ctr: from PATH, or the root's /usr/bin one inside the root). 0 when it
 * ran (*ret filled), 1 when it was not run (*ret_not_run), -errno when it could not start. */
static int run_program(Ctx *ctx, char **argv, unsigned timeout, ExecResult *ret, char **ret_not_run) {
        const Host *h = ctx->host;
        bool rooted = host_is_rooted(h);
        _cleanup_free_ char *path = xasprintf("/usr/bin/%s", argv[0]);
        if (rooted && !confine_possible()) {
                *ret_not_run = xasprintf("not run: under --root, %s of the root runs only inside the root (chroot), "
                                         "which needs gpubase to run as root",
                                         path);
                return 1;
        }
        if (rooted) {
                free(argv[0]);
                argv[0] = xstrdup(path);
        }
        ExecSpec spec = {.argv = argv, .timeout_sec = timeout, .stop_fd = ctx->stop_fd, .chroot = rooted ? h->root : NULL};
        return exec_run(&spec, ret);
}

/* Loads or pulls the image; 0, or fills ret with why not and returns -EIO. */
static int fetch_image(const SmokeSpec *s, const char *runtime, const char *image, Ctx *ctx, CheckResult *ret) {
        _cleanup_strv_free_ char **argv = image_argv(runtime, s->archive, image);
        _cleanup_(exec_result_done) ExecResult res = {0};
        _cleanup_free_ char *not_run = NULL;
        int r = run_program(ctx, argv, s->timeout_sec, &res, &not_run);
        if (r == 1) {
                check_result_set(ret, CHECK_SKIP, TAKE_PTR(not_run), NULL);
                return -EIO;
        }
        if (r >= 0 && !res.exec_errno && !res.timed_out && !res.stopped && res.status == 0)
                return 0;
        _cleanup_free_ char *cmd = strv_join(argv, " ");
        smoke_verdict_failed(runtime, cmd, r, &res, image, NULL, ret);
        return -EIO;
}

static SmokeRequest pick_request(const SmokeSpec *s, const char *runtime, const Host *h) {
        if (s->request >= 0)
                return (SmokeRequest) s->request;
        if (!is_docker(runtime))
                return SMOKE_REQUEST_RUNTIME;
        _cleanup_free_ char *p = host_path(h, "/etc/docker/daemon.json"), *text = NULL, *err = NULL;
        size_t len = 0;
        DaemonJson d = {0};
        bool cdi = read_file(p, 16 * 1024 * 1024, &text, &len) >= 0 && daemon_json_parse(text, len, &d, &err) >= 0 &&
                   d.cdi && !d.has_nvidia;
        daemon_json_done(&d);
        return cdi ? SMOKE_REQUEST_CDI : SMOKE_REQUEST_GPUS;
}

/* The image to run: the spec's, or the default for the driver's ceiling. NULL with ret filled. */
static char *pick_image(const SmokeSpec *s, const Host *h, const NvmlInfo *n, CheckResult *ret) {
        if (s->image)
                return xstrdup(s->image);
        bool from_nvml = false;
        _cleanup_free_ char *drv = NULL, *ceiling = driver_cuda_ceiling(h, n, &from_nvml, &drv);
        const char *img = smoke_default_image(ceiling);
        if (!img)
                check_result_set(ret, CHECK_FAIL,
                                 xasprintf("no CUDA base image of gpubase's list fits the driver's CUDA ceiling (%s)",
                                           ceiling ? ceiling : "unknown"),
                                 xstrdup("name an image whose CUDA the driver serves (image: ...)"));
        return img ? xstrdup(img) : NULL;
}

static const char *pick_runtime(const SmokeSpec *s, const Ctx *ctx) {
        if (s->runtime)
                return s->runtime;
        if (ctx->plan && ctx->plan->intent.runtime)
                return ctx->plan->intent.runtime;
        return container_runtime_found(ctx->host);
}

/* Runs the container; when the image is absent and can be loaded or pulled, does that and runs it again. */
static void run_container(const SmokeSpec *s, const char *runtime, SmokeRequest req, const char *image,
                          const NvmlInfo *host, Ctx *ctx, CheckResult *ret) {
        for (int attempt = 0;; attempt++) {
                _cleanup_strv_free_ char **argv = run_argv(runtime, req, image, host->n_gpus);
                _cleanup_(exec_result_done) ExecResult res = {0};
                _cleanup_free_ char *not_run = NULL;
                int r = run_program(ctx, argv, s->timeout_sec, &res, &not_run);
                if (r == 1) {
                        check_result_set(ret, CHECK_SKIP, TAKE_PTR(not_run), NULL);
                        return;
                }
                _cleanup_free_ char *cmd = strv_join(argv, " ");
                if (r >= 0 && !res.exec_errno && !res.timed_out && !res.stopped && res.status == 0) {
                        smoke_verdict_output(res.output, host, cmd, ret);
                        return;
                }
                bool absent = r >= 0 && res.output && smoke_image_absent(res.output);
                if (attempt == 0 && absent && (s->archive || s->pull)) {
                        if (fetch_image(s, runtime, image, ctx, ret) < 0)
                                return;
                        continue;
                }
                smoke_verdict_failed(runtime, cmd, r, &res, image, s, ret);
                return;
        }
}

void smoke_run(const SmokeSpec *s, Ctx *ctx, CheckResult *ret) {
        const char *runtime = pick_runtime(s, ctx);
        if (!runtime) {
                check_result_set(ret, CHECK_FAIL, xstrdup("no container runtime (docker or containerd) found"),
                                 xstrdup("install docker or containerd and configure it (a container-runtime step)"));
                return;
        }
        NvmlInfo host = {0};
        (void) nvml_query(ctx->host, &host);
        if (smoke_verdict_host(&host, ret) < 0) {
                nvml_info_done(&host);
                return;
        }
        _cleanup_free_ char *image = pick_image(s, ctx->host, &host, ret);
        if (image)
                run_container(s, runtime, pick_request(s, runtime, ctx->host), image, &host, ctx, ret);
        nvml_info_done(&host);
}

/* ---- the runtime.smoke check: a bare name, a runtime ({runtime.smoke: containerd}), or a map of
 * the step's keys ({runtime.smoke: {runtime: docker, image: ...}}) ---- */

static void smoke_params_free(void *p) {
        smoke_spec_done(p);
        free(p);
}

static int smoke_check_parse(CheckSpec *c, const YNode *param, ParseCtx *pc) {
        static const char *const keys[] = {SMOKE_KEYS, NULL};
        SmokeSpec *s = xmalloc(sizeof *s);
        smoke_spec_init(s);
        c->params = s;
        if (!param)
                return 0;
        if (param->type == YNODE_SCALAR) {
                if (!streq(param->value, "docker") && !streq(param->value, "containerd")) {
                        src_error_set(pc->err, pc->file, param,
                                      "runtime.smoke takes docker, containerd or a map of image, timeout, runtime, "
                                      "request, pull, archive; found '%s'",
                                      param->value);
                        return -EINVAL;
                }
                s->runtime = xstrdup(param->value);
                return 0;
        }
        if (schema_map(pc, param, "the parameter of runtime.smoke") < 0 ||
            schema_keys(pc, param, "the parameter of runtime.smoke", keys) < 0)
                return -EINVAL;
        return smoke_spec_parse(s, param, pc, "runtime.smoke");
}

static void smoke_check_run(const CheckSpec *c, Ctx *ctx, CheckResult *ret) {
        SmokeSpec dflt;
        smoke_spec_init(&dflt);
        smoke_run(c->params ? c->params : &dflt, ctx, ret);
}

static void smoke_check_declare(const CheckSpec *c, PlanIntent *intent) {
        const SmokeSpec *s = c->params;
        smoke_declare(s, intent);
}

void smoke_declare(const SmokeSpec *s, PlanIntent *intent) {
        if (s->runtime && !intent->runtime)
                intent->runtime = xstrdup(s->runtime);
        _cleanup_free_ char *cuda = s->image ? smoke_image_cuda(s->image) : NULL;
        if (cuda && (!intent->smoke_cuda || cuda_version_cmp(cuda, intent->smoke_cuda) > 0)) {
                free(intent->smoke_cuda);
                free(intent->smoke_image);
                intent->smoke_cuda = TAKE_PTR(cuda);
                intent->smoke_image = xstrdup(s->image);
        }
}

const CheckKind check_runtime_smoke = {
        .name = "runtime.smoke",
        .summary = "a container started through docker or containerd sees every GPU and the host's driver "
                   "(runs a container; `verify --smoke`)",
        .param = CHECK_PARAM_OPTIONAL,
        .parse = smoke_check_parse,
        .free_params = smoke_params_free,
        .run = smoke_check_run,
        .declare = smoke_check_declare,
};
