/* gpubase plan check PLAN / gpubase plan show PLAN */
#include <string.h>

#include "checks/checks.h"
#include "plan/secret_vars.h"
#include "plan/when_kind.h"
#include "base/log.h"
#include "steps/steps.h"
#include "cmd/cmd.h"

/* The values of secret variables are never printed, neither as variables nor where steps use them. */
static void show(const Plan *p) {
        _cleanup_strv_free_ char **secrets = plan_secret_values(p);
        printf("plan:    %s\n", p->name);
        printf("file:    %s\n", p->path);
        printf("sha256:  %s\n", p->sha256);
        if (p->description)
                printf("about:   %s\n", p->description);
        if (p->match_os || p->match_arch) {
                _cleanup_free_ char *os = p->match_os ? strv_join(p->match_os, ", ") : xstrdup("any");
                _cleanup_free_ char *arch = p->match_arch ? strv_join(p->match_arch, ", ") : xstrdup("any");
                printf("match:   os %s; arch %s\n", os, arch);
        }
        if (p->workloads_cuda) {
                _cleanup_free_ char *c = strv_join(p->workloads_cuda, ", ");
                printf("cuda:    %s\n", c);
        }
        printf("vars:\n");
        for (size_t i = 0; i < p->n_vars; i++) {
                if (p->vars[i].unavailable)
                        printf("  %-12s (unavailable: %s)\n", p->vars[i].name, p->vars[i].unavailable);
                else if (p->vars[i].secret)
                        printf("  %-12s " REDACTED " (secret)\n", p->vars[i].name);
                else
                        printf("  %-12s %s\n", p->vars[i].name, p->vars[i].value);
        }
        printf("steps:\n");
        for (size_t i = 0; i < p->n_steps; i++) {
                const Step *s = &p->steps[i];
                _cleanup_free_ char *what = s->kind->describe ? s->kind->describe(s) : xstrdup("");
                redact_in_place(&what, secrets);
                printf("  %zu. %s (%s)%s%s\n", i + 1, s->id, s->kind->name,
                       streq(s->when->name, s->kind->default_when ? s->kind->default_when : "always") ? "" : "  when: ",
                       streq(s->when->name, s->kind->default_when ? s->kind->default_when : "always") ? "" : s->when->name);
                printf("     %s\n", what);
                for (size_t j = 0; j < s->n_checks; j++) {
                        _cleanup_free_ char *label = check_spec_label(&s->checks[j]);
                        redact_in_place(&label, secrets);
                        printf("     check: %s\n", label);
                }
        }
}

int cmd_plan(Args *a, int argc _unused_, char **argv) {
        _cleanup_(plan_freep) Plan *p = NULL;
        const char *verb = argv[0];
        if (!streq(verb, "check") && !streq(verb, "show")) {
                log_error("unknown plan command '%s'; use `gpubase plan check PLAN` or `gpubase plan show PLAN`", verb);
                return EXIT_USAGE;
        }
        if (argc < 2) {
                log_error("`gpubase plan %s` needs a PLAN file", verb);
                return EXIT_USAGE;
        }
        int r = load_plan_or_complain(a, argv[1], a->vars, streq(verb, "check"), &p);
        if (r != EXIT_OK)
                return r;
        if (streq(verb, "show"))
                show(p);
        else
                printf("%s: plan '%s' is valid (%zu step%s)\n", argv[1], p->name, p->n_steps, p->n_steps == 1 ? "" : "s");
        return EXIT_OK;
}
