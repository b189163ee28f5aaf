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
        "--textfile PATH writes the result for Prometheus node_exporter's textfile collector (atomically;\n"
        "gpubase-verify.service writes " VERIFY_TEXTFILE_DEFAULT "): one gauge per check and\n"
        "status, info metrics for the driver, the CUDA ceiling, the toolkit and the GPU count, and the last\n"
        "run's state and time.\n"
        "\n"
        "--json prints {\"format\": 1, \"checks\": [{\"name\", \"status\", \"detail\", \"fix\"}], \"summary\": {\"ok\", \"warn\",\n"
        "\"fail\", \"skip\"}, \"facts\": {...}}. detail and fix are for people and may be reworded; compare\n"
        "hosts by facts, whose values are null when unknown:\n"
        "  gpus                 [{pci, id (\"10de:2330\"), name (NVIDIA's list, else pci.ids), arch (\"Hopper\")}];\n"
        "                       null: no PCI bus\n"
        "  nvswitches           {count, ids: [\"10de:22a3\", ...]}: the NVSwitches on the PCI bus (HGX boards)\n"
        "  driver.loaded        the loaded module's version (/sys/module/nvidia/version)\n"
        "  driver.flavor        \"open\" or \"proprietary\" (/proc/driver/nvidia/version)\n"
        "  driver.on_disk       the module for the running kernel\n"
        "  driver.installed     the driver package's upstream version; driver.package, driver.package_version\n"
        "  nvml.status          ok, no-library, driver-not-loaded, version-mismatch, error; nvml.driver\n"
        "  cuda_ceiling         the highest CUDA version the driver serves (\"13.2\"); cuda_ceiling_source\n"
        "                       \"nvml\", or \"table\" (the CUDA/driver table, for the loaded module)\n"
        "  ctk.version          the version all four Container Toolkit packages share; ctk.packages\n"
        "                       {name: version or null}\n"
        "  runtime              {name (docker, containerd), default_runtime, cdi} (daemon.json)\n"
        "  kernels              [{release, running, next, headers, module}]: every kernel in /boot (vmlinuz-*),\n"
        "                       oldest first; next: the one the next boot starts (the newest); module: the\n"
        "                       nvidia module's version built for it, null when none; null: no /boot images";

/* One check's row; the values of the plan's secret variables never reach it. */
static void add_row(VerifyReport *v, const CheckSpec *c, Ctx *ctx) {
        _cleanup_strv_free_ char **secrets = ctx->plan ? plan_secret_values(ctx->plan) : NULL;
        v->rows = xrealloc(v->rows, (v->n + 1) * sizeof(VerifyRow));
        VerifyRow *r = &v->rows[v->n++];
        *r = (VerifyRow){.name = check_spec_label(c)};
        c->kind->run(c, ctx, &r->res);
        redact_in_place(&r->name, secrets);
        redact_in_place(&r->res.detail, secrets);
        redact_in_place(&r->res.fix, secrets);
}

static bool seen(const VerifyReport *v, const char *name) {
        for (size_t i = 0; i < v->n; i++)
                if (streq(v->rows[i].name, name))
                        return true;
        return false;
}

/* The plan's own checks that say something more (runtime.smoke only with --smoke). */
static void add_plan_rows(VerifyReport *v, const Plan *p, Ctx *ctx, bool smoke) {
        for (size_t i = 0; p && i < p->n_steps; i++)
                for (size_t j = 0; j < p->steps[i].n_checks; j++) {
                        const CheckSpec *c = &p->steps[i].checks[j];
                        _cleanup_free_ char *label = check_spec_label(c);
                        /* a GPU-stack check's parameter is already in the plan's intent, which the
                         * row above used: list it once */
                        if (c->kind == &check_runtime_smoke && !smoke)
                                continue;
                        if (!c->kind->verify && !seen(v, label))
                                add_row(v, c, ctx);
                }
}

/* verify --smoke: runtime.smoke as the plan's container-smoke step says, else with its defaults. */
static void add_smoke_row(VerifyReport *v, const Plan *p, Ctx *ctx) {
        CheckSpec c = {.kind = &check_runtime_smoke};
        for (size_t i = 0; p && i < p->n_steps && !c.params; i++)
                if (p->steps[i].kind == &step_container_smoke)
                        c.params = p->steps[i].params;
        add_row(v, &c, ctx);
}

void verify_collect(Args *a, const Plan *p, VerifyReport *ret) {
        VerifyReport v = {0};
        Ctx ctx = {.host = &a->host, .plan = p, .no_programs = a->no_programs, .verbose = a->verbose};

        /* the GPU-stack checks, parameterised by the plan's intent */
        for (size_t i = 0; check_kind_at(i); i++) {
                const CheckKind *k = check_kind_at(i);
                if (!k->verify)
                        continue;
                CheckSpec c = {.kind = k};
                add_row(&v, &c, &ctx);
        }
        if (a->smoke)
                add_smoke_row(&v, p, &ctx);
        add_plan_rows(&v, p, &ctx, a->smoke);
        for (size_t i = 0; i < v.n; i++)
                v.count[v.rows[i].res.status]++;
        *ret = v;
}

void verify_report_done(VerifyReport *v) {
        for (size_t i = 0; i < v->n; i++) {
                free(v->rows[i].name);
                check_result_done(&v->rows[i].res);
        }
        free(v->rows);
        *v = (VerifyReport){0};
}

int verify_exit_code(const VerifyReport *v) {
        return v->count[CHECK_FAIL] ? EXIT_FAILED : v->count[CHECK_WARN] ? EXIT_DRIFT : EXIT_OK;
}

static void print_json(Args *a, const VerifyReport *v) {
        json_object *o = json_object_new_object(), *arr = json_object_new_array(), *sum = json_object_new_object();
        for (size_t i = 0; i < v->n; i++) {
                json_object *j = json_object_new_object();
                json_object_object_add(j, "name", json_str(v->rows[i].name));
                json_object_object_add(j, "status", json_object_new_string(check_status_to_string(v->rows[i].res.status)));
                json_object_object_add(j, "detail", json_str(v->rows[i].res.detail));
                json_object_object_add(j, "fix", json_str(v->rows[i].res.fix));
                json_object_array_add(arr, j);
        }
        for (int s = 0; s < _CHECK_STATUS_MAX; s++)
                json_object_object_add(sum, check_status_to_string((CheckStatus) s), json_object_new_int((int) v->count[s]));
        StackFacts facts = {0};
        stack_facts_gather(&a->host, &facts);
        json_object_object_add(o, "format", json_object_new_int(VERIFY_JSON_FORMAT));
        json_object_object_add(o, "checks", arr);
        json_object_object_add(o, "summary", sum);
        json_object_object_add(o, "facts", stack_facts_to_json(&facts));
        stack_facts_done(&facts);
        _cleanup_free_ char *text = json_text(o, true);
        printf("%s\n", text);
        json_object_put(o);
}

static void print_human(const VerifyReport *v) {
        bool tty = isatty(STDOUT_FILENO) && !getenv("NO_COLOR");
        for (size_t i = 0; i < v->n; i++) {
                const CheckResult *res = &v->rows[i].res;
                const char *color = !tty ? "" : res->status == CHECK_OK ? "\033[32m" : res->status == CHECK_FAIL ? "\033[31m"
                                                : res->status == CHECK_WARN ? "\033[33m" : "\033[90m";
                printf("%-28s %s%-4s%s  %s\n", v->rows[i].name, color, check_status_to_string(res->status),
                       tty ? "\033[0m" : "", res->detail ? res->detail : "");
                if (res->fix && res->status != CHECK_OK)
                        printf("%-28s       fix: %s\n", "", res->fix);
        }
        printf("\n%u ok, %u warn, %u fail, %u skip\n", v->count[CHECK_OK], v->count[CHECK_WARN], v->count[CHECK_FAIL],
               v->count[CHECK_SKIP]);
}

int cmd_verify(Args *a, int argc _unused_, char **argv _unused_) {
        _cleanup_(plan_freep) Plan *p = NULL;
        _cleanup_(verify_report_done) VerifyReport v = {0};
        int r;

        if (a->plan) {
                r = load_plan_or_complain(a, a->plan, a->vars, false, &p);
                if (r != EXIT_OK)
                        return r;
        }
        verify_collect(a, p, &v);
        if (a->json)
                print_json(a, &v);
        else
                print_human(&v);
        if (a->textfile) {
                _cleanup_free_ char *err = NULL;
                if (verify_textfile_write(a, &v, a->textfile, &err) < 0) {
                        log_error("%s", err);
                        return EXIT_FAILED;
                }
        }
        return verify_exit_code(&v);
}
