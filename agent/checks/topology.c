/* The machine's expected shape, as gates and verify rows: gpu.count, gpu.model, nvlink.up, gpu.ecc
 * and gpu.xid. gpu.count and gpu.model take a parameter, else the plan's `expect:`. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "checks/hgx.h"
#include "checks/param.h"
#include "checks/pci.h"

static const PlanIntent *intent_of(Ctx *ctx) {
        return ctx->plan ? &ctx->plan->intent : NULL;
}

/* NVML's view; false with the check set to SKIP when NVML does not answer. */
static bool nvml_or_skip(Ctx *ctx, NvmlInfo *n, CheckResult *ret) {
        if (nvml_query(ctx->host, n) >= 0 && n->status == NVML_STATUS_OK)
                return true;
        check_result_set(ret, CHECK_SKIP,
                         xasprintf("NVML does not answer (%s)", n->error ? n->error : nvml_status_to_string(n->status)),
                         NULL);
        nvml_info_done(n);
        return false;
}

/* ---- gpu.count ---- */

static int count_parse(CheckSpec *c, const YNode *param, ParseCtx *pc) {
        unsigned n;
        if (!param)
                return 0;
        if (schema_uint(pc, param, "the parameter of gpu.count", 1, 1024, &n) < 0)
                return -EINVAL;
        unsigned *v = xcalloc(1, sizeof *v);
        *v = n;
        c->params = v;
        return 0;
}

/* the parameter is the plan's expectation too (verify --plan reports the row once) */
static void count_declare(const CheckSpec *c, PlanIntent *intent) {
        if (c->params && !intent->expect_gpus)
                intent->expect_gpus = *(const unsigned *) c->params;
}

static void count_run(const CheckSpec *c, Ctx *ctx, CheckResult *ret) {
        const PlanIntent *in = intent_of(ctx);
        unsigned want = c->params ? *(const unsigned *) c->params : in ? in->expect_gpus : 0;
        if (!want) {
                check_result_set(ret, CHECK_SKIP, xstrdup("no count expected (write {gpu.count: N} or expect: {gpus: N})"),
                                 NULL);
                return;
        }
        GpuList l = {0};
        if (pci_find_gpus(ctx->host, &l) < 0) {
                check_result_set(ret, CHECK_FAIL, xstrdup("the PCI bus cannot be read"), NULL);
                return;
        }
        if (l.n != want)
                check_result_set(ret, CHECK_FAIL,
                                 xasprintf("%zu NVIDIA GPU%s on the PCI bus, %u expected", l.n, l.n == 1 ? "" : "s", want),
                                 xstrdup(l.n < want ? "a GPU is missing from the bus (fallen off, or not seated): "
                                                      "lspci -d 10de:, the BMC's event log and the kernel log (gpu.xid)"
                                                    : "more GPUs than the plan expects: correct expect.gpus"));
        else
                check_result_set(ret, CHECK_OK, xasprintf("%zu NVIDIA GPU%s on the PCI bus, as expected", l.n,
                                                          l.n == 1 ? "" : "s"),
                                 NULL);
        gpu_list_done(&l);
}

const CheckKind check_gpu_count = {
        .name = "gpu.count",
        .summary = "exactly N NVIDIA GPUs on the PCI bus ({gpu.count: N}, else the plan's expect.gpus)",
        .param = CHECK_PARAM_OPTIONAL,
        .parse = count_parse,
        .free_params = free,
        .run = count_run,
        .declare = count_declare,
        .verify = true,
};

/* ---- gpu.model ---- */

static void model_declare(const CheckSpec *c, PlanIntent *intent) {
        if (c->params && !intent->expect_model)
                intent->expect_model = xstrdup(c->params);
}

static void model_run(const CheckSpec *c, Ctx *ctx, CheckResult *ret) {
        const PlanIntent *in = intent_of(ctx);
        const char *glob = c->params ? c->params : in ? in->expect_model : NULL;
        if (!glob) {
                check_result_set(ret, CHECK_SKIP,
                                 xstrdup("no model expected (write {gpu.model: \"H100*\"} or expect: {model: ...})"), NULL);
                return;
        }
        GpuList l = {0};
        NvmlInfo n = {0};
        bool nvml = nvml_query(ctx->host, &n) >= 0 && n.status == NVML_STATUS_OK && n.n_gpus > 0;
        if (!nvml && pci_find_gpus(ctx->host, &l) < 0) {
                check_result_set(ret, CHECK_FAIL, xstrdup("neither NVML nor the PCI bus can be read"), NULL);
                nvml_info_done(&n);
                return;
        }
        size_t total = nvml ? n.n_gpus : l.n, bad = 0;
        Buf b = {0};
        for (size_t i = 0; i < total; i++) {
                const char *name = nvml ? n.gpus[i].name : l.gpus[i].name;
                if (!gpu_name_matches(glob, name))
                        buf_printf(&b, "%sGPU %zu is '%s'", bad++ ? "; " : "", i, name[0] ? name : "(unknown)");
        }
        _cleanup_free_ char *list = buf_steal(&b);
        if (bad || total == 0)
                check_result_set(ret, CHECK_FAIL,
                                 total ? xasprintf("%zu of %zu GPUs do not match '%s': %s", bad, total, glob, list)
                                       : xasprintf("no GPU found to match '%s'", glob),
                                 xstrdup("this is not the machine the plan is for: check the inventory, or correct "
                                         "expect.model"));
        else
                check_result_set(ret, CHECK_OK, xasprintf("all %zu GPUs match '%s' (%s, from %s)", total, glob,
                                                          nvml ? n.gpus[0].name : l.gpus[0].name, nvml ? "NVML" : "PCI"),
                                 NULL);
        nvml_info_done(&n);
        gpu_list_done(&l);
}

const CheckKind check_gpu_model = {
        .name = "gpu.model",
        .summary = "every GPU's name matches a glob ({gpu.model: \"H100*\"}, else the plan's expect.model)",
        .param = CHECK_PARAM_OPTIONAL,
        .parse = check_param_string,
        .free_params = free,
        .run = model_run,
        .declare = model_declare,
        .verify = true,
};

/* ---- nvlink.up ---- */

static void nvlink_run(const CheckSpec *c _unused_, Ctx *ctx, CheckResult *ret) {
        NvmlInfo n = {0};
        if (!nvml_or_skip(ctx, &n, ret))
                return;
        Buf b = {0};
        unsigned links = 0, down = 0, with = 0;
        for (unsigned i = 0; i < n.n_gpus; i++) {
                const NvmlGpu *g = &n.gpus[i];
                if (g->nvlinks < 0)
                        continue;
                with++;
                links += (unsigned) g->nvlinks;
                if (g->nvlinks_active == g->nvlinks)
                        continue;
                buf_printf(&b, "%sGPU %u (%s) link%s", down ? "; " : "", i, g->bus_id,
                           g->nvlinks - g->nvlinks_active == 1 ? "" : "s");
                for (unsigned l = 0; l < 32; l++)
                        if (g->nvlink_down_mask & (1U << l))
                                buf_printf(&b, " %u", l);
                down += (unsigned) (g->nvlinks - g->nvlinks_active);
        }
        _cleanup_free_ char *list = buf_steal(&b);
        if (with == 0)
                check_result_set(ret, CHECK_SKIP, xasprintf("NVML reports no NVLink on the %u GPUs", n.n_gpus), NULL);
        else if (down)
                check_result_set(ret, CHECK_FAIL, xasprintf("%u of %u NVLinks inactive: %s", down, links, list),
                                 xstrdup("nvidia-smi nvlink --status; a link down after a clean boot is hardware (cable, "
                                         "baseboard): open a case with the vendor"));
        else
                check_result_set(ret, CHECK_OK, xasprintf("all %u NVLinks of %u GPUs active", links, with), NULL);
        nvml_info_done(&n);
}

const CheckKind check_nvlink_up = {
        .name = "nvlink.up",
        .summary = "every NVLink of every GPU is active (NVML)",
        .param = CHECK_PARAM_NONE,
        .run = nvlink_run,
        .verify = true,
};

/* ---- gpu.ecc ---- */

static void ecc_run(const CheckSpec *c _unused_, Ctx *ctx, CheckResult *ret) {
        NvmlInfo n = {0};
        if (!nvml_or_skip(ctx, &n, ret))
                return;
        Buf b = {0};
        unsigned bad = 0, known = 0;
        for (unsigned i = 0; i < n.n_gpus; i++) {
                const NvmlGpu *g = &n.gpus[i];
                const char *why = g->ecc == 0             ? "ECC disabled"
                                  : g->remap_failure == 1 ? "row remapping failed"
                                  : g->remap_pending == 1 ? "row remapping pending (reset the GPU)"
                                  : g->retired_pending == 1 ? "retired pages pending (reset the GPU)"
                                                            : NULL;
                known += g->ecc >= 0;
                if (why)
                        buf_printf(&b, "%sGPU %u (%s): %s", bad++ ? "; " : "", i, g->bus_id, why);
        }
        _cleanup_free_ char *list = buf_steal(&b);
        if (bad)
                check_result_set(ret, CHECK_FAIL, xasprintf("%u of %u GPUs: %s", bad, n.n_gpus, list),
                                 xstrdup("ECC off: nvidia-smi -e 1 and reboot; a pending remap or retirement: reset the "
                                         "GPU (nvidia-smi -r) or reboot; a remapping failure: the GPU needs service"));
        else if (!known)
                check_result_set(ret, CHECK_SKIP, xasprintf("NVML reports no ECC mode for the %u GPUs", n.n_gpus), NULL);
        else
                check_result_set(ret, CHECK_OK,
                                 xasprintf("ECC enabled on all %u GPUs; nothing pending, no remapping failure", known), NULL);
        nvml_info_done(&n);
}

const CheckKind check_gpu_ecc = {
        .name = "gpu.ecc",
        .summary = "ECC enabled on every GPU, no retired pages or remapped rows pending, no row-remapping failure (NVML)",
        .param = CHECK_PARAM_NONE,
        .run = ecc_run,
        .verify = true,
};

/* ---- gpu.xid ---- */

/* The names NVIDIA's Xid catalog gives these (docs.nvidia.com/deploy/xid-errors). */
const char *xid_meaning(unsigned xid) {
        switch (xid) {
        case 13: return "graphics engine exception";
        case 31: return "GPU memory page fault";
        case 43: return "GPU stopped processing";
        case 48: return "double-bit ECC error";
        case 63: return "ECC page retirement or row remapping recording event";
        case 64: return "ECC page retirement or row remapper recording failure";
        case 74: return "NVLink error";
        case 79: return "GPU has fallen off the bus";
        case 92: return "high single-bit ECC error rate";
        case 94: return "contained ECC error";
        case 95: return "uncontained ECC error";
        default: return NULL;
        }
}

size_t parse_xids(const char *text, unsigned *ret, size_t max, char **ret_first_line) {
        size_t n = 0;
        for (const char *p = text; (p = strstr(p, "NVRM: Xid (")); p++) {
                const char *close = strstr(p, "): ");
                const char *eol = strchr(p, '\n');
                if (!close || (eol && close > eol))
                        continue;
                char *end;
                unsigned long x = strtoul(close + 3, &end, 10);
                if (end == close + 3 || x > 65535)
                        continue;
                if (ret_first_line && !*ret_first_line)
                        *ret_first_line = xstrndup(p, eol ? (size_t) (eol - p) : strlen(p));
                bool seen = false;
                for (size_t i = 0; i < n; i++)
                        seen |= ret[i] == (unsigned) x;
                if (!seen && n < max)
                        ret[n++] = (unsigned) x;
        }
        return n;
}

/* The kernel log since boot: /dev/kmsg (one record per read; EAGAIN at the end, EPIPE when older
 * records were overwritten while reading). A fixture's is a plain file. */
static int read_kmsg(const Host *h, char **ret) {
        int fd = host_open(h, "/dev/kmsg", O_RDONLY | O_NONBLOCK, 0);
        if (fd < 0)
                return fd;
        Buf b = {0};
        char chunk[8192];
        for (;;) {
                ssize_t k = read(fd, chunk, sizeof chunk);
                if (k < 0 && (errno == EINTR || errno == EPIPE))
                        continue;
                if (k <= 0 || b.len > 16 * 1024 * 1024)
                        break;
                buf_append(&b, chunk, (size_t) k);
                if (b.len && b.data[b.len - 1] != '\n')
                        buf_append(&b, "\n", 1);
        }
        close(fd);
        buf_append(&b, "", 1);
        *ret = buf_steal(&b);
        return 0;
}

static void xid_run(const CheckSpec *c _unused_, Ctx *ctx, CheckResult *ret) {
        _cleanup_free_ char *log = NULL, *first = NULL;
        int r = read_kmsg(ctx->host, &log);
        if (r < 0) {
                check_result_set(ret, CHECK_SKIP, xasprintf("the kernel log cannot be read (%s/dev/kmsg: %s)", ctx->host->root,
                                                            strerror(-r)),
                                 NULL);
                return;
        }
        unsigned xids[16];
        size_t n = parse_xids(log, xids, ELEMENTSOF(xids), &first);
        if (n == 0) {
                check_result_set(ret, CHECK_OK, xstrdup("no Xid error in the kernel log since boot"), NULL);
                return;
        }
        Buf b = {0};
        for (size_t i = 0; i < n; i++) {
                const char *m = xid_meaning(xids[i]);
                buf_printf(&b, "%sXid %u%s%s%s", i ? ", " : "", xids[i], m ? " (" : "", m ? m : "", m ? ")" : "");
        }
        _cleanup_free_ char *list = buf_steal(&b);
        check_result_set(ret, CHECK_FAIL, xasprintf("%s in the kernel log since boot; first: %s", list, first),
                         xstrdup("look the Xid up in NVIDIA's Xid catalog (docs.nvidia.com/deploy/xid-errors): most call "
                                 "for a GPU reset or a reboot, some (79, 95, 64) for service"));
}

const CheckKind check_gpu_xid = {
        .name = "gpu.xid",
        .summary = "no Xid error in the kernel log since boot (/dev/kmsg); the Xid and its meaning in the detail",
        .param = CHECK_PARAM_NONE,
        .run = xid_run,
        .verify = true,
};
