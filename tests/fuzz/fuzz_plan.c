/* Fuzz target: the plan loader (YAML -> Plan) on arbitrary bytes, against a scratch Host rooted in a
 * temporary directory that looks like a Debian 12 machine. A plan that loads must also survive what
 * `plan check`, `plan show` and `run` do next: the host match, the plan-time refusals, every step's
 * description and check label, and a fresh state whose JSON reads back and lines up with the plan. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checks/checks.h"
#include "checks/preflight.h"
#include "engine/engine.h"
#include "plan/plan.h"
#include "plan/state.h"
#include "steps/steps.h"
#include "fuzz.h"

static Host host;

static void put(const char *dir, const char *rel, const char *content) {
        char *p = xasprintf("%s%s", dir, rel);
        if (mkdir_parents(p, 0755) < 0 || write_file_atomic(p, content, strlen(content), 0644) < 0) {
                perror(p);
                abort();
        }
        free(p);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
        (void) argc;
        (void) argv;
        const char *root = fuzz_scratch_dir();
        put(root, "/etc/os-release", "ID=debian\nVERSION_ID=\"12\"\n");
        put(root, "/proc/sys/kernel/random/boot_id", "00000000-0000-4000-8000-000000000001\n");
        if (host_init(&host, root) < 0)
                abort();
        return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_(plan_freep) Plan *p = NULL;
        SrcError err = {0};
        int r = plan_load_string("fuzz.yaml", (const char *) data, size, &host, &p, &err);
        if (r < 0) {
                /* every refusal names a position and says why */
                _cleanup_free_ char *m = src_error_format(&err);
                if (!m || !*m)
                        fuzz_fail("plan refused (%d) without a message", r);
                src_error_done(&err);
                return 0;
        }
        src_error_done(&err);
        if (p->n_steps == 0 || p->n_steps > PLAN_MAX_STEPS)
                fuzz_fail("a plan with %zu steps was accepted", p->n_steps);

        _cleanup_free_ char *why = NULL;
        (void) plan_matches_host(p, &host, &why);
        _cleanup_strv_free_ char **refusals = plan_refusals(p, &host);
        for (size_t i = 0; refusals && refusals[i]; i++)
                if (!*refusals[i])
                        fuzz_fail("an empty plan-time refusal");

        for (size_t i = 0; i < p->n_steps; i++) {
                const Step *s = &p->steps[i];
                if (!s->kind || !s->when || !s->id || !*s->id)
                        fuzz_fail("step %zu accepted without an id, kind or condition", i);
                _cleanup_free_ char *what = s->kind->describe ? s->kind->describe(s) : NULL;
                if (s->kind->describe && !what)
                        fuzz_fail("step %s has no description", s->id);
                for (size_t j = 0; j < s->n_checks; j++) {
                        _cleanup_free_ char *label = check_spec_label(&s->checks[j]);
                        if (!label)
                                fuzz_fail("check %zu of step %s has no label", j, s->id);
                }
                if (plan_find_step(p, s->id) != s)
                        fuzz_fail("step id %s is not unique", s->id);
        }

        _cleanup_(state_freep) State *st = NULL;
        if (state_new(p, &st) < 0)
                abort();
        _cleanup_free_ char *json = state_to_json(st, true);
        _cleanup_(state_freep) State *back = NULL;
        _cleanup_free_ char *bad = NULL;
        if (state_parse(json, strlen(json), &back, &bad) < 0)
                fuzz_fail("the state of an accepted plan does not read back: %s", bad);
        if (back->n_steps != p->n_steps)
                fuzz_fail("the state of an accepted plan lost steps");
        _cleanup_free_ char *mismatch = NULL;
        if (!engine_state_matches_plan(back, p, &mismatch))
                fuzz_fail("the fresh state of a plan does not match it: %s", mismatch ? mismatch : "?");
        return 0;
}
