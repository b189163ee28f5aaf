/* gpubase verify [--plan PLAN] [--smoke] [--json]: a read-only report of every GPU-stack check, the
 * one command that replaces nvidia-smi + nvcc --version + nvidia-ctk + cat /proc/driver/nvidia/version
 * and, with --smoke, a container smoke test. Exit 0 all ok, 2 warnings, 1 failures. With --json, "facts" beside
 * the rows gives the versions found as plain values, for fleets to compare (checks/stack.h). */
#include <json-c/json.h>
#include <string.h>

#include "base/jsontext.h"
#include "checks/checks.h"
#include "checks/stack.h"
#include "base/log.h"
#include "plan/secret_vars.h"
#include "cmd/cmd.h"
#include "steps/steps.h"

const char cmd_verify_help[] =
        "Runs every GPU-stack check, read-only (exit 0 all ok, 2 warnings, 1 failures); with --plan PLAN,\n"
        "against what the plan installs (branch, flavour, toolkit version, workloads.cuda) and with the\n"
        "plan's own checks too.\n"
        "\n"
        "--smoke also starts a container through the container runtime with every GPU requested and runs\n"
        "nvidia-smi in it (runtime.smoke): ok only when it sees every GPU of the host and the host's driver\n"
        "version; with --plan, as the plan's container-smoke step says (runtime, image, archive, pull).\n"
        "Without --smoke nothing is started, and a plan's runtime.smoke checks are left out.\n"
        "\n"
        "Under --root the root's programs (nvcc, nvidia-smi, nvidia-ctk) and NVML (libnvidia-ml.so.1) never\n"
        "run on the host: they run inside the root (chroot, every capability dropped) when gpubase runs as\n"
        "root, else not at all; the check's detail says which (\"run inside the root\", \"not run: ...\").\n"
        "\n"
        "--json prints {\"checks\": [{\"name\", \"status\", \"detail\", \"fix\"}], \"summary\": {\"ok\", \"warn\",\n"
        "\"fail\", \"skip\"}, \"facts\": {...}}. detail and fix are for people and may be reworded; compare\n"
        "hosts by facts, whose values are null when unknown:\n"
        "  gpus                 [{pci, id (\"10de:2330\"), name (pci.ids), arch (\"Hopper\")}]; null: no PCI bus\n"
        "  driver.loaded        the loaded module's version (/sys/module/nvidia/version)\n"
        "  driver.flavor        \"open\" or \"proprietary\" (/proc/driver/nvidia/version)\n"
        "  driver.on_disk       the module for the running kernel\n"
        "  driver.installed     the driver package's upstream version; driver.package, driver.package_version\n"
        "  nvml.status          ok, no-library, driver-not-loaded, version-mismatch, error; nvml.driver\n"
        "  cuda_ceiling         the highest CUDA version the driver serves (\"13.2\"); cuda_ceiling_source\n"
        "                       \"nvml\", or \"table\" (the CUDA/driver table, for the loaded module)\n"
        "  ctk.version          the version all four Container Toolkit packages share; ctk.packages\n"
        "                       {name: version or null}\n"
        "  runtime              {name (docker, containerd), default_runtime, cdi} (daemon.json)";

typedef struct Row {
        char *name;
        CheckResult res;
} Row;

/* One check's row; the values of the plan's secret variables never reach it. */
static void add_row(Row **rows, size_t *n, const CheckSpec *c, Ctx *ctx) {
        _cleanup_strv_free_ char **secrets = ctx->plan ? plan_secret_values(ctx->plan) : NULL;
        *rows = xrealloc(*rows, (*n + 1) * sizeof(Row));
        Row *r = &(*rows)[(*n)++];
        *r = (Row){.name = check_spec_label(c)};
        c->kind->run(c, ctx, &r->res);
        redact_in_place(&r->name, secrets);
        redact_in_place(&r->res.detail, secrets);
        redact_in_place(&r->res.fix, secrets);
}

static bool seen(Row *rows, size_t n, const char *name) {
        for (size_t i = 0; i < n; i++)
                if (streq(rows[i].name, name))
                        return true;
        return false;
}

/* The plan's own checks that say something more (runtime.smoke only with --smoke). */
static void add_plan_rows(Row **rows, size_t *n, const Plan *p, Ctx *ctx, bool smoke) {
        for (size_t i = 0; p && i < p->n_steps; i++)
                for (size_t j = 0; j < p->steps[i].n_checks; j++) {
                        const CheckSpec *c = &p->steps[i].checks[j];
                        _cleanup_free_ char *label = check_spec_label(c);
                        /* a GPU-stack check's parameter is already in the plan's intent, which the
                         * row above used: list it once */
                        if (c->kind == &check_runtime_smoke && !smoke)
                                continue;
                        if (!c->kind->verify && !seen(*rows, *n, label))
                                add_row(rows, n, c, ctx);
                }
}

/* verify --smoke: runtime.smoke as the plan's container-smoke step says, else with its defaults. */
static void add_smoke_row(Row **rows, size_t *n, const Plan *p, Ctx *ctx) {
        CheckSpec c = {.kind = &check_runtime_smoke};
        for (size_t i = 0; p && i < p->n_steps && !c.params; i++)
                if (p->steps[i].kind == &step_container_smoke)
                        c.params = p->steps[i].params;
        add_row(rows, n, &c, ctx);
}

int cmd_verify(Args *a, int argc _unused_, char **argv _unused_) {
        _cleanup_(plan_freep) Plan *p = NULL;
        Row *rows = NULL;
        size_t n = 0;
        unsigned count[_CHECK_STATUS_MAX] = {0};
        int r;

        if (a->plan) {
                r = load_plan_or_complain(a, a->plan, a->vars, false, &p);
                if (r != EXIT_OK)
                        return r;
        }
        Ctx ctx = {.host = &a->host, .plan = p, .no_programs = a->no_programs, .verbose = a->verbose};

        /* the GPU-stack checks, parameterised by the plan's intent */
        for (size_t i = 0; check_kind_at(i); i++) {
                const CheckKind *k = check_kind_at(i);
                if (!k->verify)
                        continue;
                CheckSpec c = {.kind = k};
                add_row(&rows, &n, &c, &ctx);
        }
        if (a->smoke)
                add_smoke_row(&rows, &n, p, &ctx);
        add_plan_rows(&rows, &n, p, &ctx, a->smoke);

        for (size_t i = 0; i < n; i++)
                count[rows[i].res.status]++;

        if (a->json) {
                json_object *o = json_object_new_object(), *arr = json_object_new_array(), *sum = json_object_new_object();
                for (size_t i = 0; i < n; i++) {
                        json_object *j = json_object_new_object();
                        json_object_object_add(j, "name", json_str(rows[i].name));
                        json_object_object_add(j, "status", json_object_new_string(check_status_to_string(rows[i].res.status)));
                        json_object_object_add(j, "detail", json_str(rows[i].res.detail));
                        json_object_object_add(j, "fix", json_str(rows[i].res.fix));
                        json_object_array_add(arr, j);
                }
                for (int s = 0; s < _CHECK_STATUS_MAX; s++)
                        json_object_object_add(sum, check_status_to_string((CheckStatus) s), json_object_new_int((int) count[s]));
                StackFacts facts = {0};
                stack_facts_gather(&a->host, &facts);
                json_object_object_add(o, "checks", arr);
                json_object_object_add(o, "summary", sum);
                json_object_object_add(o, "facts", stack_facts_to_json(&facts));
                stack_facts_done(&facts);
                _cleanup_free_ char *text = json_text(o, true);
                printf("%s\n", text);
                json_object_put(o);
        } else {
                bool tty = isatty(STDOUT_FILENO) && !getenv("NO_COLOR");
                for (size_t i = 0; i < n; i++) {
                        const CheckResult *res = &rows[i].res;
                        const char *color = !tty ? "" : res->status == CHECK_OK ? "\033[32m" : res->status == CHECK_FAIL ? "\033[31m"
                                                        : res->status == CHECK_WARN ? "\033[33m" : "\033[90m";
                        printf("%-28s %s%-4s%s  %s\n", rows[i].name, color, check_status_to_string(res->status),
                               tty ? "\033[0m" : "", res->detail ? res->detail : "");
                        if (res->fix && res->status != CHECK_OK)
                                printf("%-28s       fix: %s\n", "", res->fix);
                }
                printf("\n%u ok, %u warn, %u fail, %u skip\n", count[CHECK_OK], count[CHECK_WARN], count[CHECK_FAIL],
                       count[CHECK_SKIP]);
        }
        for (size_t i = 0; i < n; i++) {
                free(rows[i].name);
                check_result_done(&rows[i].res);
        }
        free(rows);
        return count[CHECK_FAIL] ? EXIT_FAILED : count[CHECK_WARN] ? EXIT_DRIFT : EXIT_OK;
}
