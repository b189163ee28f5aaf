/* The state machine: engine_run against a scratch root, one transition per test. A "new process"
 * (resume) is simulated by loading the state back from the checkpoint file; a reboot by writing
 * a new boot id under the root. Command steps reach the root through ${root}. */
#include <ftw.h>
#include <string.h>
#include <sys/stat.h>

#include "engine/engine.h"
#include "engine/exitcode.h"
#include "plan/state.h"
#include "steps/steps.h"
#include "tests.h"

static TestRoot root;
static Plan *plan;
static State *state;
static char *spath;
static Ctx ctx;

static void engine_setup(void) {
        test_root_init(&root, ROOT_OS_RELEASE | ROOT_BOOT_ID);
        spath = host_path(&root.host, GPUBASE_STATE_FILE);
        plan = NULL;
        state = NULL;
}

static void engine_teardown(void) {
        plan = plan_free(plan);
        state = state_free(state);
        free(spath);
        spath = NULL;
        test_root_done(&root);
}

/* Loads the plan and starts a fresh run of it. */
static void use_plan(const char *text) {
        plan = plan_free(plan);
        state = state_free(state);
        plan = test_load_plan_text(&root, text);
        ck_assert_int_eq(state_new(plan, &state), 0);
}

/* A fresh run of the loaded plan (as `gpubase run` without a state file). */
static void new_run(void) {
        state = state_free(state);
        ck_assert_int_eq(state_new(plan, &state), 0);
}

/* As a new process would: read the checkpoint back. */
static void reload(void) {
        _cleanup_free_ char *why = NULL;
        state = state_free(state);
        int r = state_load(spath, &state, &why);
        ck_assert_msg(r == 0, "cannot load %s: %d %s", spath, r, why ? why : "");
}

static int run_mode(RebootMode mode, bool dry_run) {
        ctx = (Ctx){
                .host = &root.host,
                .plan = plan,
                .state = state,
                .reboot_mode = mode,
                .dry_run = dry_run,
        };
        return engine_run(&ctx, spath);
}

static int run(RebootMode mode) {
        return run_mode(mode, false);
}

static StepRecord *rec(const char *id) {
        StepRecord *r = state_find_step(state, id);
        ck_assert_msg(r, "no step '%s' in the state", id);
        return r;
}

#define assert_step(id, want)                                                                                    \
        do {                                                                                                     \
                const StepRecord *_r = rec(id);                                                                  \
                ck_assert_msg(_r->state == (want), "step '%s' is %s, expected %s (detail: %s, error: %s)", (id), \
                              step_state_to_string(_r->state), step_state_to_string(want),                       \
                              _r->detail ? _r->detail : "-", _r->error ? _r->error : "-");                       \
        } while (0)

#define assert_run(want)                                                                                   \
        ck_assert_msg(state->run_state == (want), "run is %s, expected %s (error: %s)",                    \
                      run_state_to_string(state->run_state), run_state_to_string(want),                    \
                      state->error ? state->error : "-")

static char *actions_log(void) {
        _cleanup_free_ char *s = test_root_read(&root, GPUBASE_ACTIONS_LOG);
        return s ? TAKE_PTR(s) : xstrdup("");
}

static void assert_actions(const char *want) {
        _cleanup_free_ char *got = actions_log();
        ck_assert_msg(streq(got, want), "host-actions.log is \"%s\", expected \"%s\"", got, want);
}

static const char nouveau[] = "blacklist nouveau\noptions nouveau modeset=0\n";

/* ---- runs without reboots ---- */

static const char simple_plan[] = "version: 1\n"
                                  "name: simple\n"
                                  "steps:\n"
                                  "  - id: blacklist\n"
                                  "    kind: file\n"
                                  "    path: /etc/modprobe.d/blacklist-nouveau.conf\n"
                                  "    content: |\n"
                                  "      blacklist nouveau\n"
                                  "      options nouveau modeset=0\n"
                                  "  - id: marker\n"
                                  "    kind: command\n"
                                  "    argv: [touch, \"${root}/ran-marker\"]\n"
                                  "    creates: /ran-marker\n"
                                  "  - id: verify\n"
                                  "    kind: gate\n"
                                  "    checks:\n"
                                  "      - file-exists: /ran-marker\n"
                                  "      - file-contains: {path: /etc/modprobe.d/blacklist-nouveau.conf, text: modeset=0}\n"
                                  "      - command-succeeds: [test, -f, \"${root}/ran-marker\"]\n";

START_TEST(test_fresh_run_done) {
        use_plan(simple_plan);
        ck_assert_int_eq(run(REBOOT_EXIT), EXIT_OK);
        assert_run(RUN_DONE);
        assert_step("blacklist", STEP_DONE);
        assert_step("marker", STEP_DONE);
        assert_step("verify", STEP_DONE);
        for (size_t i = 0; i < state->n_steps; i++) {
                ck_assert_uint_eq(state->steps[i].attempts, 1);
                ck_assert_uint_gt(state->steps[i].started, 0);
                ck_assert_uint_ge(state->steps[i].finished, state->steps[i].started);
                ck_assert(!state->steps[i].applying);
                ck_assert_ptr_null(state->steps[i].error);
        }
        ck_assert(state->changed);
        ck_assert_ptr_null(state->error);
        _cleanup_free_ char *content = test_root_read(&root, "/etc/modprobe.d/blacklist-nouveau.conf");
        ck_assert_str_eq(content, nouveau);
        ck_assert(test_root_exists(&root, "/ran-marker"));

        /* the checkpoint says the same, mode 0600 */
        struct stat st;
        ck_assert_int_eq(stat(spath, &st), 0);
        ck_assert_uint_eq(st.st_mode & 07777, 0600);
        reload();
        assert_run(RUN_DONE);
        assert_step("verify", STEP_DONE);

        /* resuming a finished run does nothing */
        ck_assert_int_eq(run(REBOOT_EXIT), EXIT_OK);
        ck_assert_uint_eq(rec("marker")->attempts, 1);

        /* a new run on the converged root: everything is already there */
        new_run();
        ck_assert_int_eq(run(REBOOT_EXIT), EXIT_OK);
        assert_run(RUN_DONE);
        assert_step("blacklist", STEP_SKIPPED);
        assert_step("marker", STEP_SKIPPED);
        assert_step("verify", STEP_DONE); /* a gate has nothing to probe: its checks pass */
        ck_assert(!state->changed);
}
END_TEST

START_TEST(test_file_already_satisfied) {
        use_plan(simple_plan);
        test_root_write(&root, "/etc/modprobe.d/blacklist-nouveau.conf", nouveau, 0644);
        ck_assert_int_eq(run(REBOOT_EXIT), EXIT_OK);
        assert_step("blacklist", STEP_SKIPPED);
        ck_assert_ptr_nonnull(strstr(rec("blacklist")->detail, "up to date"));

        /* wrong mode: rewritten */
        new_run();
        test_root_write(&root, "/etc/modprobe.d/blacklist-nouveau.conf", nouveau, 0600);
        ck_assert_int_eq(run(REBOOT_EXIT), EXIT_OK);
        assert_step("blacklist", STEP_DONE);
        _cleanup_free_ char *p = test_root_path(&root, "/etc/modprobe.d/blacklist-nouveau.conf");
        struct stat st;
        ck_assert_int_eq(stat(p, &st), 0);
        ck_assert_uint_eq(st.st_mode & 07777, 0644);

        /* other content: rewritten */
        new_run();
        test_root_write(&root, "/etc/modprobe.d/blacklist-nouveau.conf", "blacklist nouveau\n", 0644);
        ck_assert_int_eq(run(REBOOT_EXIT), EXIT_OK);
        assert_step("blacklist", STEP_DONE);
        _cleanup_free_ char *content = test_root_read(&root, "/etc/modprobe.d/blacklist-nouveau.conf");
        ck_assert_str_eq(content, nouveau);
}
END_TEST

/* ---- failures ---- */

static const char failing_plan[] = "version: 1\n"
                                   "name: failing\n"
                                   "steps:\n"
                                   "  - id: first\n"
                                   "    kind: command\n"
                                   "    argv: [touch, \"${root}/ran-first\"]\n"
                                   "  - id: second\n"
                                   "    kind: command\n"
                                   "    argv: [mkdir, \"${root}/second-dir\"]\n" /* fails if applied twice */
                                   "    creates: /second-dir\n"
                                   "    checks:\n"
                                   "      - file-exists: /second-dir\n"
                                   "      - file-exists: /fixed\n"
                                   "  - id: third\n"
                                   "    kind: command\n"
                                   "    argv: [touch, \"${root}/ran-third\"]\n";

START_TEST(test_failing_check_stops_run) {
        use_plan(failing_plan);
        ck_assert_int_eq(run(REBOOT_EXIT), EXIT_FAILED);
        assert_run(RUN_FAILED);
        assert_step("first", STEP_DONE);
        assert_step("second", STEP_FAILED);
        assert_step("third", STEP_PENDING);
        ck_assert(test_root_exists(&root, "/ran-first"));
        ck_assert(test_root_exists(&root, "/second-dir"));
        ck_assert(!test_root_exists(&root, "/ran-third"));
        ck_assert_msg(strstr(rec("second")->error, "file-exists /fixed"), "error: %s", rec("second")->error);
        ck_assert_msg(strstr(state->error, "step 'second' failed"), "error: %s", state->error);
        ck_assert_uint_eq(rec("third")->attempts, 0);

        /* as checkpointed */
        reload();
        assert_run(RUN_FAILED);
        assert_step("second", STEP_FAILED);
        assert_step("third", STEP_PENDING);

        /* resume without a fix: fails the same way, still nothing after it */
        ck_assert_int_eq(run(REBOOT_EXIT), EXIT_FAILED);
        assert_step("second", STEP_FAILED);
        assert_step("third", STEP_PENDING);
        ck_assert(!test_root_exists(&root, "/ran-third"));
        ck_assert_uint_eq(rec("second")->attempts, 2);
}
END_TEST

/* After the fix, resume re-probes the failed step: its creates: is there, so it is not applied
 * again (mkdir would fail) but its checks now pass. The rest of the run goes on. */
START_TEST(test_resume_after_fix) {
        use_plan(failing_plan);
        ck_assert_int_eq(run(REBOOT_EXIT), EXIT_FAILED);
        test_root_write(&root, "/fixed", "", 0644);
        reload();
        ck_assert_int_eq(run(REBOOT_EXIT), EXIT_OK);
        assert_run(RUN_DONE);
        assert_step("first", STEP_DONE);
        assert_step("second", STEP_SKIPPED);
        assert_step("third", STEP_DONE);
        ck_assert_uint_eq(rec("first")->attempts, 1);
        ck_assert_uint_eq(rec("second")->attempts, 2);
        ck_assert_ptr_null(rec("second")->error);
        ck_assert_ptr_null(state->error);
        ck_assert(test_root_exists(&root, "/ran-third"));
}
END_TEST

START_TEST(test_failing_apply) {
        use_plan("version: 1\nname: apply-fails\nsteps:\n"
                 "  - {id: nope, kind: command, argv: [/nonexistent/gpubase-test-program]}\n"
                 "  - {id: after, kind: command, argv: [touch, \"${root}/ran-after\"]}\n");
        ck_assert_int_eq(run(REBOOT_EXIT), EXIT_FAILED);
        assert_step("nope", STEP_FAILED);
        assert_step("after", STEP_PENDING);
        ck_assert_msg(strstr(rec("nope")->error, "No such file"), "error: %s", rec("nope")->error);
        ck_assert(!test_root_exists(&root, "/ran-after"));

        use_plan("version: 1\nname: apply-fails\nsteps:\n"
                 "  - {id: false, kind: command, argv: [\"false\"]}\n"
                 "  - {id: after, kind: command, argv: [touch, \"${root}/ran-after\"]}\n");
        ck_assert_int_eq(run(REBOOT_EXIT), EXIT_FAILED);
        assert_step("false", STEP_FAILED);
        assert_step("after", STEP_PENDING);
        ck_assert_msg(strstr(rec("false")->error, "status 1"), "error: %s", rec("false")->error);
        ck_assert(state->changed); /* a failed apply may have changed something */
        ck_assert(!test_root_exists(&root, "/ran-after"));
}
END_TEST

/* The checkpoint is written before a step's apply: a command that copies the state file sees
 * itself running, applying, on its first attempt, and the run running. */
START_TEST(test_checkpoint_before_apply) {
        use_plan("version: 1\nname: snapshot\nsteps:\n"
                 "  - {id: first, kind: command, argv: [\"true\"]}\n"
                 "  - id: snap\n"
                 "    kind: command\n"
                 "    argv: [cp, \"${root}/var/lib/gpubase/state.json\", \"${root}/snapshot.json\"]\n"
                 "  - {id: last, kind: command, argv: [\"true\"]}\n");
        ck_assert_int_eq(run(REBOOT_EXIT), EXIT_OK);
        _cleanup_free_ char *snap = test_root_path(&root, "/snapshot.json");
        _cleanup_(state_freep) State *s = NULL;
        _cleanup_free_ char *why = NULL;
        ck_assert_int_eq(state_load(snap, &s, &why), 0);
        ck_assert_int_eq(s->run_state, RUN_RUNNING);
        ck_assert_int_eq(s->steps[0].state, STEP_DONE);
        ck_assert_int_eq(s->steps[1].state, STEP_RUNNING);
        ck_assert(s->steps[1].applying);
        ck_assert_uint_eq(s->steps[1].attempts, 1);
        ck_assert_int_eq(s->steps[2].state, STEP_PENDING);
        ck_assert_str_eq(s->run_id, state->run_id);
}
END_TEST

/* What only reads the machine is not checkpointed on its own: a rerun of a converged plan leaves
 * the last run's state file as it was until the end, where it writes its own once. The gate's
 * check copies the state file as the rerun sees it mid-run. */
START_TEST(test_noop_rerun_writes_at_end) {
        use_plan("version: 1\nname: noop\nsteps:\n"
                 "  - {id: conf, kind: file, path: /etc/noop.conf, content: \"x\\n\"}\n"
                 "  - id: look\n"
                 "    kind: gate\n"
                 "    checks:\n"
                 "      - command-succeeds: [cp, \"${root}/var/lib/gpubase/state.json\", \"${root}/snapshot.json\"]\n"
                 "  - {id: present, kind: command, argv: [\"true\"], creates: /etc/noop.conf}\n");
        ck_assert_int_eq(run(REBOOT_EXIT), EXIT_OK);
        _cleanup_free_ char *first = xstrdup(state->run_id);
        new_run();
        ck_assert_int_eq(run(REBOOT_EXIT), EXIT_OK);
        assert_step("conf", STEP_SKIPPED);
        assert_step("look", STEP_DONE);
        assert_step("present", STEP_SKIPPED);

        _cleanup_free_ char *snap = test_root_path(&root, "/snapshot.json");
        _cleanup_(state_freep) State *s = NULL;
        _cleanup_free_ char *why = NULL;
        ck_assert_int_eq(state_load(snap, &s, &why), 0);
        ck_assert_str_eq(s->run_id, first); /* mid-rerun: still the first run's state */
        ck_assert_int_eq(s->run_state, RUN_DONE);

        _cleanup_free_ char *second = xstrdup(state->run_id);
        reload();
        ck_assert_str_eq(state->run_id, second);
        assert_run(RUN_DONE);
        assert_step("conf", STEP_SKIPPED);
        assert_step("present", STEP_SKIPPED);
}
END_TEST

/* The results of read-only steps are written with the next real write: the checkpoint before a
 * command's apply already holds the skipped and gated steps before it, with the run running. */
START_TEST(test_readonly_results_ride_with_apply) {
        use_plan("version: 1\nname: ride\nsteps:\n"
                 "  - {id: present, kind: command, argv: [\"true\"], creates: /etc}\n"
                 "  - {id: look, kind: gate, checks: [{file-exists: /etc}]}\n"
                 "  - id: snap\n"
                 "    kind: command\n"
                 "    argv: [cp, \"${root}/var/lib/gpubase/state.json\", \"${root}/snapshot.json\"]\n");
        ck_assert_int_eq(run(REBOOT_EXIT), EXIT_OK);
        _cleanup_free_ char *snap = test_root_path(&root, "/snapshot.json");
        _cleanup_(state_freep) State *s = NULL;
        _cleanup_free_ char *why = NULL;
        ck_assert_int_eq(state_load(snap, &s, &why), 0);
        ck_assert_str_eq(s->run_id, state->run_id);
        ck_assert_int_eq(s->run_state, RUN_RUNNING);
        ck_assert_int_eq(s->steps[0].state, STEP_SKIPPED);
        ck_assert_int_eq(s->steps[1].state, STEP_DONE);
        ck_assert_int_eq(s->steps[2].state, STEP_RUNNING);
        ck_assert(s->steps[2].applying);
}
END_TEST

/* ---- a step found `running`: it was cut off, its probe decides ---- */

static const char file_plan[] = "version: 1\n"
                                "name: cut-off\n"
                                "steps:\n"
                                "  - id: blacklist\n"
                                "    kind: file\n"
                                "    path: /etc/modprobe.d/blacklist-nouveau.conf\n"
                                "    content: |\n"
                                "      blacklist nouveau\n"
                                "      options nouveau modeset=0\n"
                                "  - id: after\n"
                                "    kind: command\n"
                                "    argv: [\"true\"]\n"
                                "    creates: /etc\n";

/* Leaves the first step `running` in the checkpoint, as a kill -9 would. */
static void cut_off(bool applying) {
        state->run_state = RUN_RUNNING;
        state->steps[0].state = STEP_RUNNING;
        state->steps[0].applying = applying;
        state->steps[0].attempts = 1;
        state->steps[0].started = now_usec();
        ck_assert_int_eq(state_save(spath, state), 0);
        reload();
        ck_assert_int_eq(state->steps[0].state, STEP_RUNNING);
        ck_assert_int_eq(state->steps[0].applying, applying);
}

START_TEST(test_running_applying_satisfied) {
        use_plan(file_plan);
        test_root_write(&root, "/etc/modprobe.d/blacklist-nouveau.conf", nouveau, 0644);
        cut_off(true);
        ck_assert_int_eq(run(REBOOT_EXIT), EXIT_OK);
        assert_step("blacklist", STEP_DONE);
        ck_assert_msg(strstr(rec("blacklist")->detail, "interruption"), "detail: %s", rec("blacklist")->detail);
        ck_assert(state->changed); /* the change was ours */
        ck_assert_uint_eq(rec("blacklist")->attempts, 2);
        assert_step("after", STEP_SKIPPED);
        assert_run(RUN_DONE);
}
END_TEST

START_TEST(test_running_not_applying_satisfied) {
        use_plan(file_plan);
        test_root_write(&root, "/etc/modprobe.d/blacklist-nouveau.conf", nouveau, 0644);
        cut_off(false);
        ck_assert_int_eq(run(REBOOT_EXIT), EXIT_OK);
        assert_step("blacklist", STEP_SKIPPED);
        ck_assert(!state->changed);
        assert_run(RUN_DONE);
}
END_TEST

START_TEST(test_running_applying_not_satisfied) {
        use_plan(file_plan);
        /* apply had started: half a file */
        test_root_write(&root, "/etc/modprobe.d/blacklist-nouveau.conf", "blackl", 0644);
        cut_off(true);
        ck_assert_int_eq(run(REBOOT_EXIT), EXIT_OK);
        assert_step("blacklist", STEP_DONE);
        ck_assert(state->changed);
        _cleanup_free_ char *content = test_root_read(&root, "/etc/modprobe.d/blacklist-nouveau.conf");
        ck_assert_str_eq(content, nouveau);
}
END_TEST

/* ---- the reboot protocol ---- */

static const char reboot_plan[] = "version: 1\n"
                                  "name: reboot\n"
                                  "steps:\n"
                                  "  - id: blacklist\n"
                                  "    kind: file\n"
                                  "    path: /etc/modprobe.d/blacklist-nouveau.conf\n"
                                  "    content: |\n"
                                  "      blacklist nouveau\n"
                                  "      options nouveau modeset=0\n"
                                  "  - id: reboot\n"
                                  "    kind: reboot\n"
                                  "    checks: [{file-exists: /etc/modprobe.d/blacklist-nouveau.conf}]\n"
                                  "  - id: verify\n"
                                  "    kind: gate\n"
                                  "    checks: [{file-contains: {path: /etc/modprobe.d/blacklist-nouveau.conf, text: "
                                  "nouveau}}]\n";

START_TEST(test_reboot_exit) {
        use_plan(reboot_plan);
        ck_assert_int_eq(run(REBOOT_EXIT), EXIT_REBOOT_PENDING);
        assert_run(RUN_REBOOT_PENDING);
        assert_step("blacklist", STEP_DONE);
        assert_step("reboot", STEP_REBOOT_REQUESTED);
        assert_step("verify", STEP_PENDING);
        ck_assert_str_eq(state->boot_id, "boot-1");
        ck_assert_str_eq(rec("reboot")->reboot_boot_id, "boot-1");
        ck_assert_uint_eq(rec("reboot")->reboots, 1);
        ck_assert_uint_eq(state->reboots, 0);
        ck_assert(!state->unit_enabled);
        assert_actions(""); /* --reboot=exit: the caller reboots, nothing is enabled */

        /* next start, same boot: the reboot did not happen; exit 3 and leave everything as it was */
        reload();
        assert_step("reboot", STEP_REBOOT_REQUESTED);
        size_t len1 = 0, len2 = 0;
        _cleanup_free_ char *before = test_read_file(spath, &len1);
        struct stat st1, st2;
        ck_assert_int_eq(stat(spath, &st1), 0);
        ck_assert_int_eq(run(REBOOT_EXIT), EXIT_REBOOT_PENDING);
        _cleanup_free_ char *after = test_read_file(spath, &len2);
        ck_assert_uint_eq(len1, len2);
        ck_assert_mem_eq(before, after, len1);
        ck_assert_int_eq(stat(spath, &st2), 0);
        ck_assert_msg(st1.st_ino == st2.st_ino, "the state file was rewritten"); /* saves rename a new file */
        assert_run(RUN_REBOOT_PENDING);
        assert_step("verify", STEP_PENDING);

        /* and again with --reboot=now: still only "pending", no reboot asked for */
        ck_assert_int_eq(run(REBOOT_NOW), EXIT_REBOOT_PENDING);
        assert_actions("");

        /* after the reboot: the step's checks decide, the run goes on */
        test_root_set_boot_id(&root, "boot-2");
        reload();
        ck_assert_int_eq(run(REBOOT_EXIT), EXIT_OK);
        assert_run(RUN_DONE);
        assert_step("reboot", STEP_DONE);
        assert_step("verify", STEP_DONE);
        ck_assert_uint_eq(state->reboots, 1);
        ck_assert_uint_eq(rec("reboot")->reboots, 1);
        ck_assert(!state->changed);
        ck_assert_msg(strstr(rec("reboot")->detail, "rebooted"), "detail: %s", rec("reboot")->detail);
        reload();
        assert_run(RUN_DONE);
        ck_assert_uint_eq(state->reboots, 1);
        ck_assert(!state->changed);
}
END_TEST

/* Killed right after the new boot was seen and checkpointed (reboot counted, the step's boot id
 * cleared, the step still reboot-requested): the next start must not count the reboot again. */
START_TEST(test_reboot_counted_once) {
        use_plan(reboot_plan);
        ck_assert_int_eq(run(REBOOT_EXIT), EXIT_REBOOT_PENDING);
        test_root_set_boot_id(&root, "boot-2");
        reload();
        state->reboots = 1;
        state->changed = false;
        state->run_state = RUN_RUNNING;
        step_record_set(&rec("reboot")->reboot_boot_id, NULL);
        ck_assert_int_eq(state_save(spath, state), 0);
        reload();
        assert_step("reboot", STEP_REBOOT_REQUESTED);
        ck_assert_int_eq(run(REBOOT_EXIT), EXIT_OK);
        assert_step("reboot", STEP_DONE);
        assert_step("verify", STEP_DONE);
        ck_assert_uint_eq(state->reboots, 1);
}
END_TEST

/* The boot id cannot be read while a reboot is pending: nothing can be told, nothing is changed. */
START_TEST(test_reboot_pending_no_boot_id) {
        use_plan(reboot_plan);
        ck_assert_int_eq(run(REBOOT_EXIT), EXIT_REBOOT_PENDING);
        _cleanup_free_ char *b = test_root_path(&root, BOOT_ID_FILE);
        ck_assert_int_eq(unlink(b), 0);
        reload();
        size_t len1 = 0, len2 = 0;
        _cleanup_free_ char *before = test_read_file(spath, &len1);
        struct stat st1, st2;
        ck_assert_int_eq(stat(spath, &st1), 0);
        ck_assert_int_eq(run(REBOOT_EXIT), EXIT_FAILED);
        _cleanup_free_ char *after = test_read_file(spath, &len2);
        ck_assert_uint_eq(len1, len2);
        ck_assert_mem_eq(before, after, len1);
        ck_assert_int_eq(stat(spath, &st2), 0);
        ck_assert_msg(st1.st_ino == st2.st_ino, "the state file was rewritten");
        assert_step("reboot", STEP_REBOOT_REQUESTED);
}
END_TEST

/* Steps after the reboot run only after it, and count as changes again. */
START_TEST(test_reboot_then_more_steps) {
        use_plan("version: 1\nname: r\nsteps:\n"
                 "  - {id: change, kind: command, argv: [touch, \"${root}/changed\"], creates: /changed}\n"
                 "  - {id: reboot, kind: reboot}\n"
                 "  - {id: after, kind: command, argv: [touch, \"${root}/after\"], creates: /after}\n");
        ck_assert_int_eq(run(REBOOT_EXIT), EXIT_REBOOT_PENDING);
        ck_assert(!test_root_exists(&root, "/after"));
        test_root_set_boot_id(&root, "boot-2");
        reload();
        ck_assert_int_eq(run(REBOOT_EXIT), EXIT_OK);
        ck_assert(test_root_exists(&root, "/after"));
        assert_step("reboot", STEP_DONE);
        assert_step("after", STEP_DONE);
        ck_assert(state->changed);
}
END_TEST

START_TEST(test_reboot_now_host_actions) {
        use_plan(reboot_plan);
        ck_assert_int_eq(run(REBOOT_NOW), EXIT_REBOOT_PENDING);
        assert_actions("enable gpubase.service\nreboot\n");
        ck_assert(state->unit_enabled);
        reload();
        ck_assert(state->unit_enabled);

        test_root_set_boot_id(&root, "boot-2");
        ck_assert_int_eq(run(REBOOT_NOW), EXIT_OK);
        assert_run(RUN_DONE);
        assert_actions("enable gpubase.service\nreboot\ndisable gpubase.service\n");
        ck_assert(!state->unit_enabled);
        reload();
        ck_assert(!state->unit_enabled);
}
END_TEST

static const char reboot_fails_plan[] = "version: 1\n"
                                        "name: reboot-fails\n"
                                        "steps:\n"
                                        "  - {id: change, kind: command, argv: [\"true\"]}\n"
                                        "  - id: reboot\n"
                                        "    kind: reboot\n"
                                        "    max_reboots: %u\n"
                                        "    checks: [{file-exists: /driver-loaded}]\n"
                                        "  - {id: after, kind: command, argv: [touch, \"${root}/after\"]}\n";

START_TEST(test_reboot_check_fails_max_1) {
        _cleanup_free_ char *text = xasprintf(reboot_fails_plan, 1u);
        use_plan(text);
        ck_assert_int_eq(run(REBOOT_NOW), EXIT_REBOOT_PENDING);
        assert_actions("enable gpubase.service\nreboot\n");

        test_root_set_boot_id(&root, "boot-2");
        reload();
        ck_assert_int_eq(run(REBOOT_NOW), EXIT_FAILED);
        assert_run(RUN_FAILED);
        assert_step("reboot", STEP_FAILED);
        assert_step("after", STEP_PENDING);
        ck_assert_msg(strstr(rec("reboot")->error, "file-exists /driver-loaded") &&
                              strstr(rec("reboot")->error, "not rebooting again"),
                      "error: %s", rec("reboot")->error);
        ck_assert_uint_eq(rec("reboot")->reboots, 1);
        ck_assert_uint_eq(state->reboots, 1);
        assert_actions("enable gpubase.service\nreboot\n"); /* no second reboot */
        ck_assert(!test_root_exists(&root, "/after"));

        /* resuming again does not reboot either */
        reload();
        ck_assert_int_eq(run(REBOOT_NOW), EXIT_FAILED);
        assert_step("reboot", STEP_FAILED);
        assert_actions("enable gpubase.service\nreboot\n");
        ck_assert(!test_root_exists(&root, "/after"));
}
END_TEST

START_TEST(test_reboot_check_fails_max_2) {
        _cleanup_free_ char *text = xasprintf(reboot_fails_plan, 2u);
        use_plan(text);
        ck_assert_int_eq(run(REBOOT_NOW), EXIT_REBOOT_PENDING);

        test_root_set_boot_id(&root, "boot-2");
        reload();
        ck_assert_int_eq(run(REBOOT_NOW), EXIT_REBOOT_PENDING); /* asks once more */
        assert_run(RUN_REBOOT_PENDING);
        assert_step("reboot", STEP_REBOOT_REQUESTED);
        ck_assert_uint_eq(rec("reboot")->reboots, 2);
        ck_assert_str_eq(rec("reboot")->reboot_boot_id, "boot-2");
        ck_assert_str_eq(state->boot_id, "boot-2");
        ck_assert_uint_eq(state->reboots, 1);
        assert_actions("enable gpubase.service\nreboot\nreboot\n");

        /* same boot: pending */
        reload();
        ck_assert_int_eq(run(REBOOT_NOW), EXIT_REBOOT_PENDING);

        /* third boot, still failing: max_reboots reached */
        test_root_set_boot_id(&root, "boot-3");
        reload();
        ck_assert_int_eq(run(REBOOT_NOW), EXIT_FAILED);
        assert_step("reboot", STEP_FAILED);
        ck_assert_uint_eq(state->reboots, 2);
        assert_actions("enable gpubase.service\nreboot\nreboot\n");
        ck_assert(!test_root_exists(&root, "/after"));
}
END_TEST

START_TEST(test_reboot_check_passes_second_time) {
        _cleanup_free_ char *text = xasprintf(reboot_fails_plan, 2u);
        use_plan(text);
        ck_assert_int_eq(run(REBOOT_EXIT), EXIT_REBOOT_PENDING);
        test_root_set_boot_id(&root, "boot-2");
        reload();
        ck_assert_int_eq(run(REBOOT_EXIT), EXIT_REBOOT_PENDING);
        test_root_set_boot_id(&root, "boot-3");
        test_root_write(&root, "/driver-loaded", "", 0644);
        reload();
        ck_assert_int_eq(run(REBOOT_EXIT), EXIT_OK);
        assert_step("reboot", STEP_DONE);
        assert_step("after", STEP_DONE);
        ck_assert_uint_eq(state->reboots, 2);
}
END_TEST

START_TEST(test_reboot_never) {
        use_plan(reboot_plan);
        ck_assert_int_eq(run(REBOOT_NEVER), EXIT_FAILED);
        assert_run(RUN_FAILED);
        assert_step("blacklist", STEP_DONE);
        assert_step("reboot", STEP_FAILED);
        assert_step("verify", STEP_PENDING);
        ck_assert_msg(strstr(rec("reboot")->error, "--reboot"), "error: %s", rec("reboot")->error);
        ck_assert_ptr_null(rec("reboot")->reboot_boot_id);
        ck_assert_ptr_null(state->boot_id);
        ck_assert_uint_eq(rec("reboot")->reboots, 0);
        assert_actions("");

        /* the same state, resumed with --reboot=exit, asks for the reboot */
        reload();
        ck_assert_int_eq(run(REBOOT_EXIT), EXIT_REBOOT_PENDING);
        assert_step("reboot", STEP_REBOOT_REQUESTED);
}
END_TEST

START_TEST(test_reboot_without_boot_id) {
        use_plan(reboot_plan);
        _cleanup_free_ char *b = test_root_path(&root, BOOT_ID_FILE);
        ck_assert_int_eq(unlink(b), 0);
        ck_assert_int_eq(run(REBOOT_EXIT), EXIT_FAILED);
        assert_step("reboot", STEP_FAILED);
        ck_assert_msg(strstr(rec("reboot")->error, "boot id"), "error: %s", rec("reboot")->error);
}
END_TEST

/* `when: changed` (the default): a converged rerun never reboots. */
START_TEST(test_when_changed_converged) {
        use_plan(reboot_plan);
        ck_assert_int_eq(run(REBOOT_NOW), EXIT_REBOOT_PENDING);
        test_root_set_boot_id(&root, "boot-2");
        reload();
        ck_assert_int_eq(run(REBOOT_NOW), EXIT_OK);
        _cleanup_free_ char *log = actions_log();

        new_run();
        ck_assert_int_eq(run(REBOOT_NOW), EXIT_OK);
        assert_run(RUN_DONE);
        assert_step("blacklist", STEP_SKIPPED);
        assert_step("reboot", STEP_SKIPPED);
        assert_step("verify", STEP_DONE);
        ck_assert_msg(strstr(rec("reboot")->detail, "no reboot needed"), "detail: %s", rec("reboot")->detail);
        ck_assert_ptr_null(state->boot_id);
        ck_assert_uint_eq(state->reboots, 0);
        assert_actions(log); /* nothing enabled, nothing rebooted */

        /* a gate changes nothing either */
        use_plan("version: 1\nname: g\nsteps:\n"
                 "  - {id: gate, kind: gate, checks: [{file-exists: /etc/os-release}]}\n"
                 "  - {id: reboot, kind: reboot}\n");
        ck_assert_int_eq(run(REBOOT_NOW), EXIT_OK);
        assert_step("gate", STEP_DONE);
        assert_step("reboot", STEP_SKIPPED);
        assert_actions(log);

        /* when: always reboots even so */
        use_plan("version: 1\nname: g\nsteps:\n"
                 "  - {id: reboot, kind: reboot, when: always}\n");
        ck_assert_int_eq(run(REBOOT_EXIT), EXIT_REBOOT_PENDING);
        assert_step("reboot", STEP_REBOOT_REQUESTED);
}
END_TEST

/* ---- --dry-run ---- */

static size_t tree_entries;

static int count_one(const char *p _unused_, const struct stat *st _unused_, int type _unused_, struct FTW *f _unused_) {
        tree_entries++;
        return 0;
}

/* Files and directories under dir, dir included. */
static size_t tree_size(const char *dir) {
        tree_entries = 0;
        ck_assert_int_eq(nftw(dir, count_one, 16, FTW_PHYS), 0);
        return tree_entries;
}

START_TEST(test_dry_run) {
        use_plan("version: 1\nname: dry\nsteps:\n"
                 "  - id: blacklist\n"
                 "    kind: file\n"
                 "    path: /etc/modprobe.d/blacklist-nouveau.conf\n"
                 "    content: x\n"
                 "  - {id: marker, kind: command, argv: [touch, \"${root}/ran-marker\"], creates: /ran-marker}\n"
                 "  - {id: reboot, kind: reboot}\n"
                 "  - {id: after, kind: command, argv: [touch, \"${root}/ran-after\"]}\n");
        size_t before = tree_size(root.dir);
        ck_assert_int_eq(run_mode(REBOOT_NOW, true), EXIT_OK);
        ck_assert(!test_root_exists(&root, GPUBASE_STATE_FILE));
        ck_assert(!test_root_exists(&root, GPUBASE_STATE_DIR));
        ck_assert(!test_root_exists(&root, "/etc/modprobe.d"));
        ck_assert(!test_root_exists(&root, "/ran-marker"));
        ck_assert(!test_root_exists(&root, "/ran-after"));
        ck_assert(!test_root_exists(&root, GPUBASE_ACTIONS_LOG));
        ck_assert_uint_eq(tree_size(root.dir), before);
        ck_assert_ptr_nonnull(strstr(rec("blacklist")->detail, "would"));
        ck_assert_ptr_nonnull(strstr(rec("reboot")->detail, "would reboot"));

        /* a failing step in a dry run: still nothing written */
        use_plan("version: 1\nname: dry\nsteps:\n"
                 "  - {id: probe-fails, kind: command, argv: [\"true\"], unless: [/nonexistent/gpubase-test]}\n");
        ck_assert_int_eq(run_mode(REBOOT_EXIT, true), EXIT_FAILED);
        ck_assert(!test_root_exists(&root, GPUBASE_STATE_DIR));
        ck_assert_uint_eq(tree_size(root.dir), before);
}
END_TEST

/* ---- engine_state_matches_plan ---- */

START_TEST(test_state_matches_plan) {
        use_plan(reboot_plan);
        char *why = NULL;
        ck_assert_int_eq(engine_state_matches_plan(state, plan, &why), 1);
        ck_assert_ptr_null(why);
        use_plan(simple_plan);
        State *other = state;
        state = NULL;
        use_plan(reboot_plan);
        ck_assert_int_eq(engine_state_matches_plan(other, plan, &why), 0);
        ck_assert_ptr_nonnull(why);
        ck_assert_msg(strstr(why, "marker") || strstr(why, "reboot"), "why: %s", why);
        free(why);
        state_free(other);
}
END_TEST

Suite *engine_suite(void) {
        Suite *s = suite_create("engine");
        TCase *tc;

        tc = tcase_create("run");
        tcase_add_checked_fixture(tc, engine_setup, engine_teardown);
        tcase_set_timeout(tc, 30);
        tcase_add_test(tc, test_fresh_run_done);
        tcase_add_test(tc, test_file_already_satisfied);
        tcase_add_test(tc, test_failing_check_stops_run);
        tcase_add_test(tc, test_resume_after_fix);
        tcase_add_test(tc, test_failing_apply);
        tcase_add_test(tc, test_checkpoint_before_apply);
        tcase_add_test(tc, test_noop_rerun_writes_at_end);
        tcase_add_test(tc, test_readonly_results_ride_with_apply);
        tcase_add_test(tc, test_dry_run);
        tcase_add_test(tc, test_state_matches_plan);
        suite_add_tcase(s, tc);

        tc = tcase_create("cut-off");
        tcase_add_checked_fixture(tc, engine_setup, engine_teardown);
        tcase_set_timeout(tc, 30);
        tcase_add_test(tc, test_running_applying_satisfied);
        tcase_add_test(tc, test_running_not_applying_satisfied);
        tcase_add_test(tc, test_running_applying_not_satisfied);
        suite_add_tcase(s, tc);

        tc = tcase_create("reboot");
        tcase_add_checked_fixture(tc, engine_setup, engine_teardown);
        tcase_set_timeout(tc, 30);
        tcase_add_test(tc, test_reboot_exit);
        tcase_add_test(tc, test_reboot_counted_once);
        tcase_add_test(tc, test_reboot_pending_no_boot_id);
        tcase_add_test(tc, test_reboot_then_more_steps);
        tcase_add_test(tc, test_reboot_now_host_actions);
        tcase_add_test(tc, test_reboot_check_fails_max_1);
        tcase_add_test(tc, test_reboot_check_fails_max_2);
        tcase_add_test(tc, test_reboot_check_passes_second_time);
        tcase_add_test(tc, test_reboot_never);
        tcase_add_test(tc, test_reboot_without_boot_id);
        tcase_add_test(tc, test_when_changed_converged);
        suite_add_tcase(s, tc);
        return s;
}
