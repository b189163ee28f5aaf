/* Fuzz target: the checkpoint reader (state_parse) on arbitrary bytes. A state it accepts must be
 * written back by state_to_json as a state that reads back, and a second write must be identical to
 * the first: `resume` rewrites the checkpoint it read, and must never turn a good one into one it
 * refuses (or silently into another). */
#include <stdlib.h>
#include <string.h>

#include "engine/engine.h"
#include "plan/state.h"
#include "fuzz.h"

/* A plan to hold a state read from the fuzzer against, as `resume` and `run --replan` do. */
static const char plan_text[] = "version: 1\n"
                                "name: fuzz\n"
                                "steps:\n"
                                "  - {id: conf, kind: file, path: /etc/x.conf, content: \"x\\n\"}\n"
                                "  - {id: marker, kind: command, argv: [touch, /marker], creates: /marker}\n"
                                "  - {id: reboot, kind: reboot}\n"
                                "  - {id: after, kind: gate, checks: [{file-exists: /marker}]}\n";
static Plan *plan;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
        (void) argc;
        (void) argv;
        Host h;
        SrcError err = {0};
        if (host_init(&h, fuzz_scratch_dir()) < 0 ||
            plan_load_string("fuzz.yaml", plan_text, sizeof plan_text - 1, &h, &plan, &err) < 0) {
                _cleanup_free_ char *m = src_error_format(&err);
                fuzz_fail("the fuzz plan does not load: %s", m ? m : "?");
        }
        host_done(&h);
        return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_(state_freep) State *s = NULL;
        _cleanup_free_ char *why = NULL;
        if (size > STATE_MAX_SIZE)
                return 0; /* state_load refuses those before parsing */
        int r = state_parse((const char *) data, size, &s, &why);
        if (r < 0) {
                if (r != -EBADMSG || !why || !*why)
                        fuzz_fail("state refused with %d and no reason", r);
                return 0;
        }
        if (why)
                fuzz_fail("state accepted with a reason to refuse it: %s", why);

        /* what status --json and the engine do with it */
        for (size_t i = 0; i < s->n_steps; i++)
                (void) state_find_step(s, s->steps[i].id);
        _cleanup_free_ char *j1 = state_to_json(s, true);
        _cleanup_(state_freep) State *s2 = NULL;
        _cleanup_free_ char *why2 = NULL;
        if (state_parse(j1, strlen(j1), &s2, &why2) < 0)
                fuzz_fail("an accepted state, written back, is refused: %s\n%s", why2, j1);
        _cleanup_free_ char *j2 = state_to_json(s2, true);
        if (!streq(j1, j2))
                fuzz_fail("an accepted state changes when written twice:\n%s\n---\n%s", j1, j2);

        /* held against a plan: it lines up or says why; a replan always yields the plan's steps */
        _cleanup_free_ char *mismatch = NULL;
        if (!engine_state_matches_plan(s, plan, &mismatch) && (!mismatch || !*mismatch))
                fuzz_fail("a state that does not match the plan, without a reason");
        state_replan(s2, plan);
        if (s2->n_steps != plan->n_steps)
                fuzz_fail("a replanned state has %zu steps, the plan %zu", s2->n_steps, plan->n_steps);
        _cleanup_free_ char *why3 = NULL;
        if (!engine_state_matches_plan(s2, plan, &why3))
                fuzz_fail("a replanned state does not match its plan: %s", why3 ? why3 : "?");
        return 0;
}
