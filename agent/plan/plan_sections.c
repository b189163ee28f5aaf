/* The plan's sections other than vars and steps: match, workloads, watch and expect, each checked
 * against the schema and stored in the Plan (plan_parse_tree() in plan.c calls them). */
#include "plan/plan_sections.h"

#include <ctype.h>
#include <string.h>

static const char *const watch_keys[] = {"enable", "repair", "reboot", NULL};
static const char *const workloads_keys[] = {"cuda", NULL};
static const char *const match_keys[] = {"os", "arch", NULL};
static const char *const expect_keys[] = {"gpus", "model", "nvswitches", NULL};

int plan_parse_match(ParseCtx *pc, Plan *p, const YNode *m) {
        const YNode *v;
        if (schema_map(pc, m, "match") < 0 || schema_keys(pc, m, "match", match_keys) < 0)
                return -EINVAL;
        if ((v = ynode_get(m, "os"))) {
                if (schema_strv(pc, v, "match.os", true, &p->match_os) < 0)
                        return -EINVAL;
                for (size_t i = 0; p->match_os[i]; i++)
                        if (!strchr(p->match_os[i], '-')) {
                                src_error_set(pc->err, pc->file, v->type == YNODE_SEQ ? v->items[i] : v,
                                              "match.os entry '%s' must be <os id>-<version>, e.g. ubuntu-24.04 or debian-12",
                                              p->match_os[i]);
                                return -EINVAL;
                        }
        }
        if ((v = ynode_get(m, "arch"))) {
                if (schema_strv(pc, v, "match.arch", true, &p->match_arch) < 0)
                        return -EINVAL;
                for (size_t i = 0; p->match_arch[i]; i++)
                        if (!streq(p->match_arch[i], "x86_64") && !streq(p->match_arch[i], "aarch64")) {
                                src_error_set(pc->err, pc->file, v->type == YNODE_SEQ ? v->items[i] : v, "match.arch entry '%s' must be x86_64 or aarch64",
                                              p->match_arch[i]);
                                return -EINVAL;
                        }
        }
        return 0;
}

static bool cuda_version_ok(const char *s) {
        /* MAJOR.MINOR, or MAJOR.MINOR.UPDATE (12.8.1: CUDA 12.8 Update 1) */
        int parts = 0;
        for (const char *c = s;; c++) {
                const char *start = c;
                while (isdigit((unsigned char) *c))
                        c++;
                if (c == start)
                        return false;
                parts++;
                if (*c != '.')
                        return !*c && parts >= 2 && parts <= 3;
        }
}

int plan_parse_workloads(ParseCtx *pc, Plan *p, const YNode *w) {
        const YNode *v;
        if (schema_map(pc, w, "workloads") < 0 || schema_keys(pc, w, "workloads", workloads_keys) < 0)
                return -EINVAL;
        if ((v = ynode_get(w, "cuda"))) {
                if (schema_strv(pc, v, "workloads.cuda", true, &p->workloads_cuda) < 0)
                        return -EINVAL;
                for (size_t i = 0; p->workloads_cuda[i]; i++)
                        if (!cuda_version_ok(p->workloads_cuda[i])) {
                                src_error_set(pc->err, pc->file, v->type == YNODE_SEQ ? v->items[i] : v,
                                              "workloads.cuda entry '%s' must be a CUDA version like 12.8 or 12.8.1 (quote it: \"12.8\")",
                                              p->workloads_cuda[i]);
                                return -EINVAL;
                        }
        }
        return 0;
}

int plan_parse_watch(ParseCtx *pc, Plan *p, const YNode *w) {
        const YNode *v;
        if (schema_map(pc, w, "watch") < 0 || schema_keys(pc, w, "watch", watch_keys) < 0)
                return -EINVAL;
        if ((v = ynode_get(w, "enable")) && schema_bool(pc, v, "watch.enable", &p->watch.enable) < 0)
                return -EINVAL;
        if ((v = ynode_get(w, "repair")) && schema_bool(pc, v, "watch.repair", &p->watch.repair) < 0)
                return -EINVAL;
        if ((v = ynode_get(w, "reboot")) && schema_bool(pc, v, "watch.reboot", &p->watch.reboot) < 0)
                return -EINVAL;
        return 0;
}

/* expect: {gpus: 8, model: "H200*", nvswitches: 4}: the machine's shape, which gpu.count, gpu.model
 * and the Fabric Manager checks take when they have no parameter of their own. */
int plan_parse_expect(ParseCtx *pc, Plan *p, const YNode *e) {
        const YNode *v;
        if (schema_map(pc, e, "expect") < 0 || schema_keys(pc, e, "expect", expect_keys) < 0)
                return -EINVAL;
        if ((v = ynode_get(e, "gpus")) && schema_uint(pc, v, "expect.gpus", 1, 1024, &p->intent.expect_gpus) < 0)
                return -EINVAL;
        if ((v = ynode_get(e, "nvswitches")) &&
            schema_uint(pc, v, "expect.nvswitches", 0, 64, &p->intent.expect_nvswitches) < 0)
                return -EINVAL;
        if ((v = ynode_get(e, "model")) && schema_string(pc, v, "expect.model", &p->intent.expect_model) < 0)
                return -EINVAL;
        return 0;
}

