/* Input that may be hostile and output that must always parse: which states a step kind may be in,
 * the bound on what a state holds, and the JSON helpers (UTF-8 sanitiser, cut, parser depth). */
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/jsontext.h"
#include "plan/state.h"
#include "plan/step_kind.h"
#include "tests.h"

static TestRoot root;

static void root_setup(void) {
        test_root_init(&root, ROOT_OS_RELEASE | ROOT_BOOT_ID);
}

static void root_teardown(void) {
        test_root_done(&root);
}

/* ---- the kind/state table ---- */

START_TEST(test_kind_state_table) {
        const char *const *names = step_kind_names();
        size_t reboot_kinds = 0;
        for (size_t i = 0; names[i]; i++) {
                const StepKind *k = step_kind_find(names[i]);
                ck_assert_ptr_nonnull(k);
                reboot_kinds += k->reboot;
                for (int st = 0; st < _STEP_STATE_MAX; st++) {
                        bool want = st != STEP_REBOOT_REQUESTED || k->reboot;
                        ck_assert_msg(step_state_valid_for_kind(k, (StepState) st) == want, "%s %s", names[i],
                                      step_state_to_string((StepState) st));
                }
                ck_assert(!step_state_valid_for_kind(k, _STEP_STATE_MAX));
                ck_assert(!step_state_valid_for_kind(k, _STEP_STATE_INVALID));
        }
        ck_assert_uint_eq(reboot_kinds, 1);
        ck_assert(step_state_valid_for_kind(step_kind_find("reboot"), STEP_REBOOT_REQUESTED));
        ck_assert(!step_state_valid_for_kind(step_kind_find("gate"), STEP_REBOOT_REQUESTED));
        ck_assert(!step_state_valid_for_kind(step_kind_find("command"), STEP_REBOOT_REQUESTED));
        ck_assert(!step_state_valid_for_kind(NULL, STEP_DONE));
}
END_TEST

static const char plan_text[] = "version: 1\n"
                                "name: input-test\n"
                                "steps:\n"
                                "  - {id: gate, kind: gate, checks: [{file-exists: /etc/os-release}]}\n"
                                "  - {id: cmd, kind: command, argv: [\"true\"]}\n"
                                "  - {id: reboot, kind: reboot}\n";

/* state_parse() of s after edit(s): 0, or -EBADMSG with a reason containing want */
static void assert_parse(State *s, const char *want) {
        _cleanup_free_ char *text = state_to_json(s, false);
        _cleanup_(state_freep) State *back = NULL;
        _cleanup_free_ char *why = NULL;
        int r = state_parse(text, strlen(text), &back, &why);
        if (!want) {
                ck_assert_msg(r == 0, "refused: %s", why);
                return;
        }
        ck_assert_int_eq(r, -EBADMSG);
        ck_assert_msg(why && strstr(why, want), "why \"%s\", want \"%s\"", why ? why : "", want);
}

START_TEST(test_state_kind_state_on_load) {
        _cleanup_(plan_freep) Plan *p = test_load_plan_text(&root, plan_text);
        _cleanup_(state_freep) State *s = NULL;
        ck_assert_int_eq(state_new(p, &s), 0);
        assert_parse(s, NULL);
        s->steps[2].state = STEP_REBOOT_REQUESTED;
        assert_parse(s, NULL);
        s->steps[0].state = STEP_REBOOT_REQUESTED;
        assert_parse(s, "step 1 ('gate', a gate step) is \"reboot-requested\", which a gate step never is");
        s->steps[0].state = STEP_DONE;
        s->steps[1].state = STEP_REBOOT_REQUESTED;
        assert_parse(s, "step 2 ('cmd', a command step) is \"reboot-requested\"");
        s->steps[1].state = STEP_DONE;
        step_record_set(&s->steps[1].kind, "no-such-kind");
        assert_parse(s, "step 2 has unknown kind \"no-such-kind\"");
}
END_TEST

/* The largest state a plan can make: every step's detail and error long and full of control
 * characters (six bytes each as JSON). It is written within the bound and reads back. */
START_TEST(test_state_size_bound) {
        Buf plan = {0};
        buf_puts(&plan, "version: 1\nname: big\nsteps:\n");
        for (int i = 0; i < PLAN_MAX_STEPS; i++)
                buf_printf(&plan, "  - {id: s%d, kind: command, argv: [\"true\"]}\n", i);
        _cleanup_free_ char *text = buf_steal(&plan);
        _cleanup_(plan_freep) Plan *p = test_load_plan_text(&root, text);
        _cleanup_(state_freep) State *s = NULL;
        ck_assert_int_eq(state_new(p, &s), 0);
        _cleanup_free_ char *noise = xmalloc(3 * STATE_TEXT_MAX + 1);
        memset(noise, 0x01, 3 * STATE_TEXT_MAX);
        noise[3 * STATE_TEXT_MAX] = 0;
        step_record_set(&s->error, noise);
        for (size_t i = 0; i < s->n_steps; i++) {
                step_record_set(&s->steps[i].detail, noise);
                step_record_set(&s->steps[i].error, noise);
                s->steps[i].state = STEP_FAILED;
        }
        _cleanup_free_ char *path = host_path(&root.host, GPUBASE_STATE_FILE);
        ck_assert_int_eq(state_save(path, s), 0);
        _cleanup_(state_freep) State *back = NULL;
        _cleanup_free_ char *why = NULL;
        ck_assert_msg(state_load(path, &back, &why) == 0, "%s", why);
        ck_assert_uint_eq(back->n_steps, PLAN_MAX_STEPS);
        ck_assert_uint_le(strlen(back->steps[0].detail), STATE_TEXT_MAX);
        ck_assert(strncmp(back->steps[0].detail, "\xe2\x80\xa6\x01", 4) == 0);
}
END_TEST

/* ---- UTF-8 and JSON ---- */

#define FFFD "\xef\xbf\xbd"

START_TEST(test_utf8_sanitize) {
        static const struct {
                const char *in;
                size_t len;
                const char *out;
        } cases[] = {
                {"plain ascii", 11, "plain ascii"},
                {"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", 14, "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"},
                {"\xff", 1, FFFD},
                {"a\xfe\xff" "b", 4, "a" FFFD FFFD "b"},
                {"\xc0\xaf", 2, FFFD FFFD},                 /* overlong '/' */
                {"\xe0\x80\xaf", 3, FFFD FFFD FFFD},        /* overlong, three bytes */
                {"\xed\xa0\x80", 3, FFFD FFFD FFFD},        /* a surrogate */
                {"\xf4\x90\x80\x80", 4, FFFD FFFD FFFD FFFD}, /* above U+10FFFF */
                {"x\xe2\x82", 3, "x" FFFD FFFD},            /* cut short */
                {"a\0b", 3, "a" FFFD "b"},
                {"\x1b[31mred\x1b[0m", 12, "\x1b[31mred\x1b[0m"}, /* valid: escaped by the JSON writer */
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *out = utf8_sanitize(cases[i].in, cases[i].len);
                ck_assert_msg(streq(out, cases[i].out), "case %zu", i);
                ck_assert(utf8_valid(out, strlen(out)));
                ck_assert(utf8_valid(cases[i].in, cases[i].len) == (streq(out, cases[i].in) && !memchr(cases[i].in, 0, cases[i].len)));
        }
}
END_TEST

START_TEST(test_json_str_always_valid) {
        /* every byte value, raw: what json_str() makes of it is valid UTF-8 JSON that reads back */
        char all[256];
        for (int i = 1; i < 256; i++)
                all[i - 1] = (char) i;
        all[255] = 0;
        json_object *o = json_object_new_object();
        json_object_object_add(o, "s", json_str(all));
        json_object_object_add(o, "null", json_str(NULL));
        _cleanup_free_ char *text = json_text(o, false);
        json_object_put(o);
        ck_assert(utf8_valid(text, strlen(text)));
        for (const char *c = text; *c; c++)
                ck_assert_msg((unsigned char) *c >= 0x20, "a raw control character in %s", text);
        ck_assert_ptr_nonnull(strstr(text, "\\u001b"));
        ck_assert_ptr_nonnull(strstr(text, "\"null\":null"));
        json_object *back = NULL;
        ck_assert_int_eq(json_parse(text, strlen(text), &back, NULL), 0);
        json_object_put(back);
}
END_TEST

START_TEST(test_utf8_cut) {
        _cleanup_free_ char *same = utf8_cut("short", 10);
        ck_assert_str_eq(same, "short");
        /* never into the middle of a character: "é" is two bytes */
        _cleanup_free_ char *cut = utf8_cut("\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", 6);
        ck_assert_str_eq(cut, "\xe2\x80\xa6\xc3\xa9");
        ck_assert(utf8_valid(cut, strlen(cut)));
        ck_assert_uint_le(strlen(cut), 6);
}
END_TEST

START_TEST(test_json_parse_depth_and_ends) {
        Buf b = {0};
        for (int i = 0; i < 41; i++)
                buf_puts(&b, "{\"a\":");
        buf_puts(&b, "1");
        for (int i = 0; i < 41; i++)
                buf_puts(&b, "}");
        _cleanup_free_ char *deep = buf_steal(&b);
        json_object *o = NULL;
        _cleanup_free_ char *why = NULL;
        ck_assert_msg(json_parse(deep, strlen(deep), &o, &why) == 0, "%s", why);
        json_object_put(o);

        for (int i = 0; i < JSON_MAX_DEPTH + 1; i++)
                buf_puts(&b, "[");
        _cleanup_free_ char *deeper = buf_steal(&b);
        ck_assert_int_eq(json_parse(deeper, strlen(deeper), &o, &why), -EBADMSG);
        ck_assert_ptr_nonnull(strstr(why, "not valid JSON"));
        free(TAKE_PTR(why));
        ck_assert_int_eq(json_parse(" \n", 2, &o, &why), -EBADMSG);
        ck_assert_str_eq(why, "it is empty");
        free(TAKE_PTR(why));
        ck_assert_int_eq(json_parse("{\"a\": [1,", 9, &o, &why), -EBADMSG);
        ck_assert_ptr_nonnull(strstr(why, "it ends early at byte 9"));
}
END_TEST

/* read_fd(): a regular file read into one buffer of its size, a pipe in growing ones; max bytes
 * at most either way (a file of exactly max is read, one byte more is -EFBIG). */
START_TEST(test_read_fd_bounds) {
        char big[20000];
        for (size_t i = 0; i < sizeof big; i++)
                big[i] = (char) ('a' + i % 26);
        test_root_write(&root, "/f", "", 0644);
        _cleanup_free_ char *path = test_root_path(&root, "/f");
        FILE *f = fopen(path, "w");
        ck_assert_ptr_nonnull(f);
        ck_assert_uint_eq(fwrite(big, 1, sizeof big, f), sizeof big);
        ck_assert_int_eq(fclose(f), 0);
        char *data = NULL;
        size_t len = 0;
        ck_assert_int_eq(read_file(path, sizeof big, &data, &len), 0);
        ck_assert_uint_eq(len, sizeof big);
        ck_assert_int_eq(memcmp(data, big, sizeof big), 0);
        ck_assert_int_eq(data[len], '\0');
        free(TAKE_PTR(data));
        ck_assert_int_eq(read_file(path, sizeof big - 1, &data, &len), -EFBIG);
        ck_assert_ptr_null(data);
        /* an empty file: "" */
        test_root_write(&root, "/e", "", 0644);
        _cleanup_free_ char *empty = test_root_path(&root, "/e");
        ck_assert_int_eq(read_file(empty, 10, &data, &len), 0);
        ck_assert_uint_eq(len, 0);
        ck_assert_str_eq(data, "");
        free(TAKE_PTR(data));
        /* a pipe: no size to go by */
        int p[2];
        ck_assert_int_eq(pipe(p), 0);
        pid_t pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
                close(p[0]);
                _exit(write(p[1], big, sizeof big) == (ssize_t) sizeof big ? 0 : 1);
        }
        close(p[1]);
        ck_assert_int_eq(read_fd(p[0], sizeof big, &data, &len), 0);
        close(p[0]);
        ck_assert_uint_eq(len, sizeof big);
        ck_assert_int_eq(memcmp(data, big, sizeof big), 0);
        free(data);
        int status = 0;
        ck_assert_int_eq(waitpid(pid, &status, 0), pid);
        ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}
END_TEST

Suite *input_suite(void) {
        Suite *s = suite_create("input");
        TCase *tc = tcase_create("state");
        tcase_add_checked_fixture(tc, root_setup, root_teardown);
        tcase_add_test(tc, test_kind_state_table);
        tcase_add_test(tc, test_state_kind_state_on_load);
        tcase_add_test(tc, test_state_size_bound);
        tcase_add_test(tc, test_read_fd_bounds);
        suite_add_tcase(s, tc);
        tc = tcase_create("json");
        tcase_add_test(tc, test_utf8_sanitize);
        tcase_add_test(tc, test_json_str_always_valid);
        tcase_add_test(tc, test_utf8_cut);
        tcase_add_test(tc, test_json_parse_depth_and_ends);
        suite_add_tcase(s, tc);
        return s;
}
