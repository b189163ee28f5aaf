/* The checkpoint: state_new, save/load round trips, the strict reader, replan, string tables. */
#include <json-c/json.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "plan/ctx.h"
#include "plan/state.h"
#include "steps/steps.h"
#include "tests.h"

static TestRoot root;

static void root_setup(void) {
        test_root_init(&root, ROOT_OS_RELEASE | ROOT_BOOT_ID);
}

/* freed by the teardown, so that a failing test leaks nothing */
static Plan *g_plan1, *g_plan2;
static State *g_state;

static void root_teardown(void) {
        g_plan1 = plan_free(g_plan1);
        g_plan2 = plan_free(g_plan2);
        g_state = state_free(g_state);
        test_root_done(&root);
}

static const char plan_text[] = "version: 1\n"
                                "name: state-test\n"
                                "steps:\n"
                                "  - id: first\n"
                                "    kind: command\n"
                                "    argv: [\"true\"]\n"
                                "  - id: second\n"
                                "    kind: file\n"
                                "    path: /etc/second\n"
                                "    content: two\n"
                                "  - id: third\n"
                                "    kind: reboot\n";

static char *state_path(void) {
        return host_path(&root.host, GPUBASE_STATE_FILE);
}

START_TEST(test_state_new) {
        _cleanup_(plan_freep) Plan *p = test_load_plan_text(&root, plan_text);
        _cleanup_(state_freep) State *s = NULL;
        ck_assert_int_eq(state_new(p, &s), 0);
        ck_assert_str_eq(s->plan_path, p->path);
        ck_assert_str_eq(s->plan_sha256, p->sha256);
        ck_assert_str_eq(s->plan_name, "state-test");
        ck_assert_uint_eq(strlen(s->run_id), 32);
        ck_assert_uint_eq(strspn(s->run_id, "0123456789abcdef"), 32);
        ck_assert_int_eq(s->run_state, RUN_IDLE);
        ck_assert_uint_gt(s->created, 0);
        ck_assert_ptr_null(s->boot_id);
        ck_assert_ptr_null(s->error);
        ck_assert_uint_eq(s->reboots, 0);
        ck_assert(!s->changed);
        ck_assert(!s->unit_enabled);
        ck_assert_uint_eq(s->n_steps, 3);
        for (size_t i = 0; i < s->n_steps; i++) {
                const StepRecord *r = &s->steps[i];
                ck_assert_str_eq(r->id, p->steps[i].id);
                ck_assert_str_eq(r->kind, p->steps[i].kind->name);
                ck_assert_str_eq(r->digest, p->steps[i].digest);
                ck_assert_int_eq(r->state, STEP_PENDING);
                ck_assert_uint_eq(r->attempts, 0);
                ck_assert_uint_eq(r->started, 0);
                ck_assert(!r->applying);
        }
        ck_assert_ptr_eq(state_find_step(s, "second"), &s->steps[1]);
        ck_assert_ptr_null(state_find_step(s, "nope"));

        /* two runs get two run ids */
        _cleanup_(state_freep) State *t = NULL;
        ck_assert_int_eq(state_new(p, &t), 0);
        ck_assert_str_ne(s->run_id, t->run_id);
}
END_TEST

#define SEC(x) ((uint64_t) (x) * 1000000ULL)

/* A state with every field set to something other than its default. */
static State *full_state(const Plan *p) {
        State *s = NULL;
        ck_assert_int_eq(state_new(p, &s), 0);
        s->run_state = RUN_REBOOT_PENDING;
        s->created = SEC(1700000000) + 123456;
        step_record_set(&s->boot_id, "0b1d2c3e-boot");
        s->reboots = 2;
        s->changed = true;
        s->unit_enabled = true;
        step_record_set(&s->error, "an \"error\" with\nnewline, tab\t, unicode \xc3\xa9 and /slashes/");
        StepRecord *r = &s->steps[0];
        r->state = STEP_DONE;
        r->attempts = 3;
        r->started = SEC(1700000100) + 999999;
        r->finished = SEC(1700000200);
        step_record_set(&r->detail, "true exited 0");
        r = &s->steps[1];
        r->state = STEP_FAILED;
        r->applying = true;
        r->attempts = 1;
        r->started = SEC(1700000300);
        step_record_set(&r->error, "cannot write /etc/second");
        r = &s->steps[2];
        r->state = STEP_REBOOT_REQUESTED;
        r->reboots = 2;
        step_record_set(&r->reboot_boot_id, "0b1d2c3e-boot");
        return s;
}

static void assert_str_eq_null(const char *a, const char *b, const char *what) {
        ck_assert_msg((!a && !b) || (a && b && streq(a, b)), "%s: \"%s\" != \"%s\"", what, a ? a : "(null)",
                      b ? b : "(null)");
}

static void assert_states_equal(const State *a, const State *b) {
        assert_str_eq_null(a->plan_path, b->plan_path, "plan_path");
        assert_str_eq_null(a->plan_sha256, b->plan_sha256, "plan_sha256");
        assert_str_eq_null(a->plan_name, b->plan_name, "plan_name");
        assert_str_eq_null(a->run_id, b->run_id, "run_id");
        assert_str_eq_null(a->boot_id, b->boot_id, "boot_id");
        assert_str_eq_null(a->error, b->error, "error");
        ck_assert_int_eq(a->run_state, b->run_state);
        /* timestamps are kept to the second */
        ck_assert_uint_eq(a->created / 1000000, b->created / 1000000);
        ck_assert_uint_eq(a->updated / 1000000, b->updated / 1000000);
        ck_assert_uint_eq(a->reboots, b->reboots);
        ck_assert_int_eq(a->changed, b->changed);
        ck_assert_int_eq(a->unit_enabled, b->unit_enabled);
        ck_assert_uint_eq(a->n_steps, b->n_steps);
        for (size_t i = 0; i < a->n_steps; i++) {
                const StepRecord *x = &a->steps[i], *y = &b->steps[i];
                assert_str_eq_null(x->id, y->id, "step id");
                assert_str_eq_null(x->kind, y->kind, "step kind");
                assert_str_eq_null(x->digest, y->digest, "step digest");
                assert_str_eq_null(x->detail, y->detail, "step detail");
                assert_str_eq_null(x->error, y->error, "step error");
                assert_str_eq_null(x->reboot_boot_id, y->reboot_boot_id, "step reboot_boot_id");
                ck_assert_int_eq(x->state, y->state);
                ck_assert_int_eq(x->applying, y->applying);
                ck_assert_uint_eq(x->attempts, y->attempts);
                ck_assert_uint_eq(x->started / 1000000, y->started / 1000000);
                ck_assert_uint_eq(x->finished / 1000000, y->finished / 1000000);
                ck_assert_uint_eq(x->reboots, y->reboots);
        }
}

/* s saved and loaded back, equal to s; the loaded state (the caller frees it). */
static State *roundtrip(State *s) {
        _cleanup_free_ char *path = state_path();
        ck_assert_int_eq(state_save(path, s), 0);
        State *t = NULL;
        _cleanup_free_ char *why = NULL;
        ck_assert_int_eq(state_load(path, &t, &why), 0);
        assert_states_equal(s, t);
        return t;
}

START_TEST(test_state_roundtrip) {
        _cleanup_(plan_freep) Plan *p = test_load_plan_text(&root, plan_text);
        _cleanup_(state_freep) State *s = full_state(p);
        _cleanup_free_ char *path = state_path();
        ck_assert_int_eq(state_save(path, s), 0);
        ck_assert_uint_gt(s->updated, 0);

        _cleanup_(state_freep) State *t = NULL;
        _cleanup_free_ char *why = NULL;
        ck_assert_int_eq(state_load(path, &t, &why), 0);
        ck_assert_ptr_null(why);
        assert_states_equal(s, t);
        ck_assert_uint_eq(t->created, SEC(1700000000));
        ck_assert_uint_eq(t->steps[0].started, SEC(1700000100));
        ck_assert_uint_eq(t->steps[1].finished, 0);

        /* saving what was loaded writes the same file (but for "updated") */
        _cleanup_free_ char *j1 = state_to_json(s, false), *j2 = state_to_json(t, false);
        ck_assert_str_eq(j1, j2);

        /* and the fresh state (nulls everywhere) round-trips as well */
        _cleanup_(state_freep) State *n = NULL;
        ck_assert_int_eq(state_new(p, &n), 0);
        ck_assert_int_eq(state_save(path, n), 0);
        _cleanup_(state_freep) State *m = NULL;
        ck_assert_int_eq(state_load(path, &m, &why), 0);
        assert_states_equal(n, m);
}
END_TEST

/* A run stopped busy (exit 75): the step that met the dpkg lock is pending again with why as its
 * error, which is what tells it from a pending step that never ran, after a round trip too. */
START_TEST(test_state_busy_roundtrip) {
        _cleanup_(plan_freep) Plan *p = test_load_plan_text(&root, plan_text);
        _cleanup_(state_freep) State *s = NULL;
        ck_assert_int_eq(state_new(p, &s), 0);
        ck_assert(!step_record_busy(&s->steps[0]));
        s->run_state = RUN_BUSY;
        s->steps[0].attempts = 1;
        step_record_set(&s->steps[0].error, "the dpkg lock is still held after 15s: held by process 42 (dpkg)");
        ck_assert(step_record_busy(&s->steps[0]));
        _cleanup_(state_freep) State *t = roundtrip(s);
        ck_assert_str_eq(run_state_to_string(t->run_state), "busy");
        ck_assert_int_eq(t->steps[0].state, STEP_PENDING);
        ck_assert(step_record_busy(&t->steps[0]));
        ck_assert(!step_record_busy(&t->steps[1]));
}
END_TEST

START_TEST(test_state_file_mode) {
        _cleanup_(plan_freep) Plan *p = test_load_plan_text(&root, plan_text);
        _cleanup_(state_freep) State *s = full_state(p);
        _cleanup_free_ char *path = state_path();
        _cleanup_free_ char *dir = host_path(&root.host, GPUBASE_STATE_DIR);
        mode_t old = umask(0);
        int r = state_save(path, s);
        umask(old);
        ck_assert_int_eq(r, 0);
        for (int i = 0; i < 5; i++) {
                s->steps[0].attempts = (unsigned) i;
                ck_assert_int_eq(state_save(path, s), 0);
        }
        struct stat st;
        ck_assert_int_eq(stat(path, &st), 0);
        ck_assert_uint_eq(st.st_mode & 07777, 0600);
        ck_assert(S_ISREG(st.st_mode));
        /* nothing but state.json in the directory: no temp files left behind */
        ck_assert_uint_eq(test_count_entries(dir), 1);

        /* the file is pretty JSON ending in a newline */
        size_t len = 0;
        _cleanup_free_ char *text = test_read_file(path, &len);
        ck_assert_uint_gt(len, 2);
        ck_assert_int_eq(text[len - 1], '\n');
        ck_assert_ptr_nonnull(strstr(text, "\"run_state\": \"reboot-pending\""));
}
END_TEST

START_TEST(test_state_load_missing) {
        _cleanup_free_ char *path = state_path();
        State *s = NULL;
        char *why = NULL;
        ck_assert_int_eq(state_load(path, &s, &why), -ENOENT);
        ck_assert_ptr_null(s);
        ck_assert_ptr_null(why);
}
END_TEST

/* ---- the strict reader ---- */

/* The JSON of a full state, as a json-c object to take apart. */
static json_object *valid_object(void) {
        _cleanup_(plan_freep) Plan *p = test_load_plan_text(&root, plan_text);
        _cleanup_(state_freep) State *s = full_state(p);
        s->updated = SEC(1700000500);
        _cleanup_free_ char *text = state_to_json(s, false);
        json_object *o = json_tokener_parse(text);
        ck_assert_ptr_nonnull(o);
        return o;
}

/* state_parse must refuse it with -EBADMSG and a reason containing want. */
static void assert_refused(const char *text, size_t len, const char *want, const char *what) {
        State *s = NULL;
        char *why = NULL;
        int r = state_parse(text, len, &s, &why);
        bool ok = r == -EBADMSG && !s && why && (!want || strstr(why, want));
        _cleanup_free_ char *msg = xasprintf("%s: state_parse returned %d, why \"%s\" (want \"%s\")", what, r,
                                             why ? why : "(null)", want ? want : "");
        state_free(s);
        free(why);
        ck_assert_msg(ok, "%s", msg);
}

static void assert_object_refused(json_object *o, const char *want, const char *what) {
        const char *text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
        _cleanup_free_ char *copy = xstrdup(text);
        json_object_put(o);
        assert_refused(copy, strlen(copy), want, what);
}

START_TEST(test_state_parse_valid) {
        json_object *o = valid_object();
        _cleanup_free_ char *text = xstrdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY));
        json_object_put(o);
        State *s = NULL;
        char *why = NULL;
        ck_assert_int_eq(state_parse(text, strlen(text), &s, &why), 0);
        ck_assert_int_eq(s->run_state, RUN_REBOOT_PENDING);
        ck_assert_int_eq(s->steps[2].state, STEP_REBOOT_REQUESTED);
        ck_assert_uint_eq(s->updated, SEC(1700000500));
        state_free(s);

        /* trailing whitespace is fine */
        _cleanup_free_ char *ws = xasprintf("%s \n\t\r\n", text);
        ck_assert_int_eq(state_parse(ws, strlen(ws), &s, &why), 0);
        state_free(s);
}
END_TEST

/* gpubase --image: the state's "image" is optional, "build" or "first-boot", and round-trips */
START_TEST(test_state_parse_image) {
        json_object *o = valid_object();
        json_object_object_add(o, "image", json_object_new_string(STATE_IMAGE_FIRST_BOOT));
        _cleanup_free_ char *text = xstrdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
        json_object_put(o);
        State *s = NULL;
        char *why = NULL;
        ck_assert_int_eq(state_parse(text, strlen(text), &s, &why), 0);
        ck_assert(state_first_boot_pending(s));
        _cleanup_free_ char *again = state_to_json(s, false);
        ck_assert_ptr_nonnull(strstr(again, "\"image\":\"first-boot\""));
        step_record_set(&s->image, STATE_IMAGE_BUILD);
        ck_assert(!state_first_boot_pending(s));
        s = state_free(s);

        o = valid_object();
        ck_assert(!json_object_object_get_ex(o, "image", NULL)); /* no image: no key */
        json_object_object_add(o, "image", json_object_new_string("later"));
        assert_object_refused(o, "\"image\" is \"later\"", "image later");
        o = valid_object();
        json_object_object_add(o, "image", json_object_new_int(1));
        assert_object_refused(o, "image", "image 1");
}
END_TEST

START_TEST(test_state_parse_garbage) {
        static const struct {
                const char *text, *want;
        } cases[] = {
                {"", "it is empty"},
                {" \n", "it is empty"},
                {"{", "it ends early at byte 1"},
                {"{\"format\": 1,", "it ends early at byte 13"},
                {"not json", "not valid JSON"},
                {"[]", "not a JSON object"},
                {"42\n", "not a JSON object"},
                {"null", NULL},
                {"\"state\"", "not a JSON object"},
                {"{}", "has no \"format\""},
                {"{\"format\": 2}", "format"},
                {"{\"format\": 1}", "has no \"run_id\""},
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++)
                assert_refused(cases[i].text, strlen(cases[i].text), cases[i].want, cases[i].text);

        /* a valid document followed by anything but whitespace */
        json_object *o = valid_object();
        _cleanup_free_ char *text = xstrdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
        json_object_put(o);
        static const char *const tails[] = {"x", "{}", " ,", "\n}", "\n\0"};
        for (size_t i = 0; i < ELEMENTSOF(tails); i++) {
                size_t tl = i == 4 ? 2 : strlen(tails[i]);
                _cleanup_free_ char *t = xmalloc(strlen(text) + tl + 1);
                memcpy(t, text, strlen(text));
                memcpy(t + strlen(text), tails[i], tl);
                t[strlen(text) + tl] = 0;
                _cleanup_free_ char *what = xasprintf("trailing \"%s\"", tails[i]);
                assert_refused(t, strlen(text) + tl, NULL, what);
        }
        /* a truncated document (a crash mid-write would look like this without the atomic rename) */
        for (size_t cut = 1; cut < strlen(text); cut += 37)
                assert_refused(text, cut, NULL, "truncated");
}
END_TEST

static const char *const top_keys[] = {"format",       "run_id",  "run_state",            "plan",         "plan_sha256",
                                       "plan_name",    "created", "updated",              "boot_id",      "reboots",
                                       "changed_since_reboot",    "unit_enabled",         "error",        "steps"};
static const char *const step_keys[] = {"id",       "kind",   "digest", "state",          "applying", "attempts",
                                        "started",  "finished", "detail", "error",        "reboot_boot_id", "reboots"};

START_TEST(test_state_parse_missing_key) {
        for (size_t i = 0; i < ELEMENTSOF(top_keys); i++) {
                json_object *o = valid_object();
                json_object_object_del(o, top_keys[i]);
                _cleanup_free_ char *want = xasprintf("the state has no \"%s\"", top_keys[i]);
                assert_object_refused(o, want, want);
        }
        for (size_t i = 0; i < ELEMENTSOF(step_keys); i++) {
                json_object *o = valid_object(), *steps = NULL;
                ck_assert(json_object_object_get_ex(o, "steps", &steps));
                json_object_object_del(json_object_array_get_idx(steps, 1), step_keys[i]);
                _cleanup_free_ char *want = xasprintf("step 2 has no \"%s\"", step_keys[i]);
                assert_object_refused(o, want, want);
        }
}
END_TEST

/* Which keys may be null. */
static bool nullable(const char *key, bool step) {
        static const char *const top[] = {"plan_name", "created", "updated", "boot_id", "error"};
        static const char *const st[] = {"digest", "started", "finished", "detail", "error", "reboot_boot_id"};
        for (size_t i = 0; i < (step ? ELEMENTSOF(st) : ELEMENTSOF(top)); i++)
                if (streq(key, step ? st[i] : top[i]))
                        return true;
        return false;
}

/* A value of another type than the key wants. */
static json_object *wrong_value(json_object *v, unsigned variant) {
        json_type t = v ? json_object_get_type(v) : json_type_string;
        switch (variant) {
        case 0: /* another scalar type */
                if (t == json_type_string)
                        return json_object_new_int(7);
                if (t == json_type_int)
                        return json_object_new_string("7");
                if (t == json_type_boolean)
                        return json_object_new_int(1);
                return json_object_new_string("steps");
        case 1:
                return json_object_new_array();
        case 2:
                return json_object_new_object();
        case 3:
                if (t == json_type_int)
                        return json_object_new_double(1.5);
                if (t == json_type_boolean)
                        return json_object_new_string("true");
                return json_object_new_boolean(1);
        default:
                return NULL; /* null */
        }
}

START_TEST(test_state_parse_wrong_type) {
        for (unsigned variant = 0; variant < 5; variant++) {
                for (size_t i = 0; i < ELEMENTSOF(top_keys); i++) {
                        if (variant == 4 && nullable(top_keys[i], false))
                                continue;
                        if (variant == 1 && streq(top_keys[i], "steps"))
                                continue;
                        json_object *o = valid_object(), *v = NULL;
                        json_object_object_get_ex(o, top_keys[i], &v);
                        json_object_object_add(o, top_keys[i], wrong_value(v, variant));
                        _cleanup_free_ char *what = xasprintf("top-level \"%s\", variant %u", top_keys[i], variant);
                        _cleanup_free_ char *want = xasprintf("\"%s\"", top_keys[i]);
                        assert_object_refused(o, streq(top_keys[i], "format") ? "format" : want, what);
                }
                for (size_t i = 0; i < ELEMENTSOF(step_keys); i++) {
                        if (variant == 4 && nullable(step_keys[i], true))
                                continue;
                        json_object *o = valid_object(), *steps = NULL, *v = NULL;
                        ck_assert(json_object_object_get_ex(o, "steps", &steps));
                        json_object *step = json_object_array_get_idx(steps, 0);
                        json_object_object_get_ex(step, step_keys[i], &v);
                        json_object_object_add(step, step_keys[i], wrong_value(v, variant));
                        _cleanup_free_ char *what = xasprintf("step \"%s\", variant %u", step_keys[i], variant);
                        _cleanup_free_ char *want = xasprintf("step 1 \"%s\"", step_keys[i]);
                        assert_object_refused(o, want, what);
                }
        }
}
END_TEST

START_TEST(test_state_parse_bad_values) {
        static const struct {
                const char *key, *value, *want;
        } top[] = {
                {"run_state", "\"sleeping\"", "unknown run_state \"sleeping\""},
                {"run_state", "\"Done\"", "unknown run_state"},
                {"run_state", "\"\"", "unknown run_state"},
                {"created", "\"yesterday\"", "\"created\" is not a timestamp"},
                {"updated", "\"2026-11-21T23:20:48Z junk\"", "\"updated\" is not a timestamp"},
                {"reboots", "-1", "\"reboots\" is out of range"},
                {"reboots", "99999999999", "\"reboots\" is out of range"},
                {"format", "0", "format"},
        };
        for (size_t i = 0; i < ELEMENTSOF(top); i++) {
                json_object *o = valid_object();
                json_object_object_add(o, top[i].key, json_tokener_parse(top[i].value));
                _cleanup_free_ char *what = xasprintf("%s = %s", top[i].key, top[i].value);
                assert_object_refused(o, top[i].want, what);
        }
        static const struct {
                const char *key, *value, *want;
        } step[] = {
                {"state", "\"finished\"", "step 3 has unknown state \"finished\""},
                {"state", "\"reboot_requested\"", "unknown state"},
                {"started", "\"12:00\"", "\"started\" is not a timestamp"},
                {"attempts", "-3", "\"attempts\" is out of range"},
                {"reboots", "2000000", "\"reboots\" is out of range"},
        };
        for (size_t i = 0; i < ELEMENTSOF(step); i++) {
                json_object *o = valid_object(), *steps = NULL;
                ck_assert(json_object_object_get_ex(o, "steps", &steps));
                json_object_object_add(json_object_array_get_idx(steps, 2), step[i].key, json_tokener_parse(step[i].value));
                _cleanup_free_ char *what = xasprintf("step %s = %s", step[i].key, step[i].value);
                assert_object_refused(o, step[i].want, what);
        }

        /* a step that is not an object */
        json_object *o = valid_object(), *steps = NULL;
        ck_assert(json_object_object_get_ex(o, "steps", &steps));
        json_object_array_put_idx(steps, 1, json_object_new_string("second"));
        assert_object_refused(o, "step 2 is not an object", "step not an object");
}
END_TEST

START_TEST(test_state_parse_duplicate_ids) {
        json_object *o = valid_object(), *steps = NULL;
        ck_assert(json_object_object_get_ex(o, "steps", &steps));
        json_object_object_add(json_object_array_get_idx(steps, 2), "id", json_object_new_string("first"));
        assert_object_refused(o, "step 3 repeats step id \"first\"", "duplicate step ids");
}
END_TEST

/* A corrupt file on disk is reported, never rewritten by the reader. */
START_TEST(test_state_load_corrupt) {
        _cleanup_free_ char *path = state_path();
        static const char junk[] = "{\"format\": 1, \"run_id\": ";
        test_write_file(path, junk, 0600);
        State *s = NULL;
        _cleanup_free_ char *why = NULL;
        ck_assert_int_eq(state_load(path, &s, &why), -EBADMSG);
        ck_assert_ptr_null(s);
        ck_assert_ptr_nonnull(why);
        _cleanup_free_ char *after = test_read_file(path, NULL);
        ck_assert_str_eq(after, junk);
}
END_TEST

/* ---- replan ---- */

/* state_replan in a child process, so that a crash in it fails this test instead of ending the
 * whole runner (CK_FORK=no): the child sends the result back as JSON. On return *s is the
 * replanned state, or NULL and ret_msg says what went wrong. Asserts nothing, so that a failure
 * leaks nothing. */
static void replan_contained(State **s, const Plan *p, char *ret_msg, size_t msg_size) {
        int fds[2];
        *ret_msg = 0;
        if (pipe(fds) < 0) {
                snprintf(ret_msg, msg_size, "pipe: %s", strerror(errno));
                return;
        }
        fflush(NULL);
        pid_t pid = fork();
        if (pid == 0) {
                close(fds[0]);
                state_replan(*s, p);
                char *j = state_to_json(*s, false);
                size_t n = strlen(j);
                _exit(write(fds[1], j, n) == (ssize_t) n ? 0 : 1);
        }
        close(fds[1]);
        Buf b = {0};
        char chunk[4096];
        for (ssize_t n; pid > 0 && (n = read(fds[0], chunk, sizeof chunk)) > 0;)
                buf_append(&b, chunk, (size_t) n);
        close(fds[0]);
        char *text = buf_steal(&b);
        int status = 0;
        *s = state_free(*s);
        if (pid < 0 || waitpid(pid, &status, 0) != pid)
                snprintf(ret_msg, msg_size, "fork/waitpid: %s", strerror(errno));
        else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
                snprintf(ret_msg, msg_size,
                         "state_replan crashed (%s %d): a kept step's record is cleared, and the next "
                         "state_find_step() compares its NULL id",
                         WIFSIGNALED(status) ? "signal" : "exit status",
                         WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
        else {
                char *why = NULL;
                if (state_parse(text, strlen(text), s, &why) < 0)
                        snprintf(ret_msg, msg_size, "the replanned state does not parse: %s", why);
                free(why);
        }
        free(text);
}

START_TEST(test_state_replan) {
        static const char v2[] = "version: 1\n"
                                 "name: state-test-2\n"
                                 "steps:\n"
                                 "  - id: zero\n"              /* new */
                                 "    kind: command\n"
                                 "    argv: [\"true\"]\n"
                                 "  - id: first\n"             /* unchanged, done */
                                 "    kind: command\n"
                                 "    argv: [\"true\"]\n"
                                 "  - id: second\n"            /* changed, was done */
                                 "    kind: file\n"
                                 "    path: /etc/second\n"
                                 "    content: TWO\n"
                                 "  - id: third\n"             /* unchanged, was failed */
                                 "    kind: reboot\n"
                                 "  - id: fourth\n"            /* unchanged, was skipped */
                                 "    kind: gate\n"
                                 "    checks: [{file-exists: /etc}]\n";
        static const char v1[] = "version: 1\n"
                                 "name: state-test\n"
                                 "steps:\n"
                                 "  - id: first\n"
                                 "    kind: command\n"
                                 "    argv: [\"true\"]\n"
                                 "  - id: second\n"
                                 "    kind: file\n"
                                 "    path: /etc/second\n"
                                 "    content: two\n"
                                 "  - id: third\n"
                                 "    kind: reboot\n"
                                 "  - id: fourth\n"
                                 "    kind: gate\n"
                                 "    checks: [{file-exists: /etc}]\n"
                                 "  - id: gone\n"
                                 "    kind: command\n"
                                 "    argv: [\"true\"]\n";
        Plan *p1 = g_plan1 = test_load_plan_text(&root, v1);
        ck_assert_int_eq(state_new(p1, &g_state), 0);
        State *s = g_state;
        s->run_state = RUN_FAILED;
        s->steps[0].state = STEP_DONE;
        s->steps[0].attempts = 4;
        step_record_set(&s->steps[0].detail, "kept");
        s->steps[1].state = STEP_DONE;
        s->steps[1].attempts = 2;
        s->steps[2].state = STEP_FAILED;
        step_record_set(&s->steps[2].error, "boom");
        s->steps[3].state = STEP_SKIPPED;
        s->steps[4].state = STEP_DONE;
        char run_id[33];
        snprintf(run_id, sizeof run_id, "%s", s->run_id);

        Plan *p2 = g_plan2 = test_load_plan_text(&root, v2);
        ck_assert_str_ne(p1->sha256, p2->sha256);
        char msg[512];
        replan_contained(&g_state, p2, msg, sizeof msg);
        s = g_state;
        ck_assert_msg(s, "%s", msg);

        ck_assert_str_eq(s->plan_sha256, p2->sha256);
        ck_assert_str_eq(s->plan_name, "state-test-2");
        ck_assert_str_eq(s->run_id, run_id);
        ck_assert_uint_eq(s->n_steps, 5);
        static const char *const ids[] = {"zero", "first", "second", "third", "fourth"};
        static const StepState want[] = {STEP_PENDING, STEP_DONE, STEP_PENDING, STEP_PENDING, STEP_SKIPPED};
        for (size_t i = 0; i < s->n_steps; i++) {
                ck_assert_str_eq(s->steps[i].id, ids[i]);
                ck_assert_str_eq(s->steps[i].digest, p2->steps[i].digest);
                ck_assert_msg(s->steps[i].state == want[i], "step %s is %s, expected %s", ids[i],
                              step_state_to_string(s->steps[i].state), step_state_to_string(want[i]));
        }
        /* kept steps keep their record; reset ones start over */
        ck_assert_uint_eq(s->steps[1].attempts, 4);
        ck_assert_str_eq(s->steps[1].detail, "kept");
        ck_assert_uint_eq(s->steps[2].attempts, 0);
        ck_assert_ptr_null(s->steps[3].error);
        ck_assert_ptr_null(state_find_step(s, "gone"));

        /* replanned state round-trips */
        _cleanup_(state_freep) State *t = roundtrip(s);
}
END_TEST

/* ---- string tables ---- */

START_TEST(test_state_tables) {
        for (int i = 0; i < _RUN_STATE_MAX; i++) {
                const char *n = run_state_to_string((RunState) i);
                ck_assert_ptr_nonnull(n);
                ck_assert_int_eq(run_state_from_string(n), i);
        }
        for (int i = 0; i < _STEP_STATE_MAX; i++) {
                const char *n = step_state_to_string((StepState) i);
                ck_assert_ptr_nonnull(n);
                ck_assert_int_eq(step_state_from_string(n), i);
        }
        for (int i = 0; i < _REBOOT_MODE_MAX; i++) {
                const char *n = reboot_mode_to_string((RebootMode) i);
                ck_assert_ptr_nonnull(n);
                ck_assert_int_eq(reboot_mode_from_string(n), i);
        }
        ck_assert_str_eq(run_state_to_string(RUN_REBOOT_PENDING), "reboot-pending");
        ck_assert_str_eq(step_state_to_string(STEP_REBOOT_REQUESTED), "reboot-requested");
        ck_assert_str_eq(step_state_to_string(STEP_SKIPPED), "skipped");
        ck_assert_str_eq(reboot_mode_to_string(REBOOT_EXIT), "exit");
        ck_assert_ptr_null(run_state_to_string(_RUN_STATE_MAX));
        ck_assert_ptr_null(run_state_to_string(_RUN_STATE_INVALID));
        ck_assert_ptr_null(step_state_to_string(_STEP_STATE_MAX));
        ck_assert_ptr_null(step_state_to_string(_STEP_STATE_INVALID));
        ck_assert_ptr_null(reboot_mode_to_string(_REBOOT_MODE_MAX));
        ck_assert_int_eq(run_state_from_string("bogus"), _RUN_STATE_INVALID);
        ck_assert_int_eq(run_state_from_string(NULL), _RUN_STATE_INVALID);
        ck_assert_int_eq(run_state_from_string(""), _RUN_STATE_INVALID);
        ck_assert_int_eq(step_state_from_string("DONE"), _STEP_STATE_INVALID);
        ck_assert_int_eq(step_state_from_string(NULL), _STEP_STATE_INVALID);
        ck_assert_int_eq(reboot_mode_from_string("later"), _REBOOT_MODE_INVALID);
}
END_TEST

Suite *state_suite(void) {
        Suite *s = suite_create("state");
        TCase *tc = tcase_create("checkpoint");
        tcase_add_checked_fixture(tc, root_setup, root_teardown);
        tcase_add_test(tc, test_state_new);
        tcase_add_test(tc, test_state_roundtrip);
        tcase_add_test(tc, test_state_busy_roundtrip);
        tcase_add_test(tc, test_state_file_mode);
        tcase_add_test(tc, test_state_load_missing);
        tcase_add_test(tc, test_state_load_corrupt);
        tcase_add_test(tc, test_state_replan);
        tcase_add_test(tc, test_state_tables);
        tcase_add_test(tc, test_state_parse_image);
        suite_add_tcase(s, tc);

        tc = tcase_create("reader");
        tcase_add_checked_fixture(tc, root_setup, root_teardown);
        tcase_add_test(tc, test_state_parse_valid);
        tcase_add_test(tc, test_state_parse_garbage);
        tcase_add_test(tc, test_state_parse_missing_key);
        tcase_add_test(tc, test_state_parse_wrong_type);
        tcase_add_test(tc, test_state_parse_bad_values);
        tcase_add_test(tc, test_state_parse_duplicate_ids);
        suite_add_tcase(s, tc);
        return s;
}
