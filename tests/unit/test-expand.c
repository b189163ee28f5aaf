/* ${var} expansion: expand_vars directly, and through the plan loader (variables that see the
 * built-ins and earlier variables, built-ins that are not available on this host). */
#include <string.h>
#include <sys/stat.h>

#include "plan/secret_vars.h"
#include "steps/steps.h"
#include "tests.h"

static Var vars[] = {
        {.name = "arch", .value = "x86_64"},
        {.name = "a", .value = "1"},
        {.name = "b", .value = "two"},
        {.name = "empty", .value = ""},
        {.name = "dollar", .value = "$${a}"}, /* values are not expanded again */
        {.name = "gone", .value = "", .unavailable = "cannot read /etc/os-release: No such file or directory"},
};

static const struct {
        const char *in, *out;
} good_cases[] = {
        {"", ""},
        {"plain text", "plain text"},
        {"$$", "$"},
        {"a$$b", "a$b"},
        {"$$$$", "$$"},
        {"$${a}", "${a}"},
        {"$$${a}", "$1"},
        {"${a}", "1"},
        {"${a}${b}", "1two"},
        {"${b}${a}${b}", "two1two"},
        {"x${a}y${b}z", "x1ytwoz"},
        {"${empty}", ""},
        {"<${empty}>", "<>"},
        {"${dollar}", "$${a}"},
        {"$a", "$a"},
        {"$", "$"},
        {"cost $", "cost $"},
        {"$ {a}", "$ {a}"},
        {"{a}", "{a}"},
        {"/usr/lib/${arch}-linux-gnu", "/usr/lib/x86_64-linux-gnu"},
};

START_TEST(test_expand_good) {
        const char *in = good_cases[_i].in;
        char *out = NULL, *bad = NULL;
        int r = expand_vars(in, vars, ELEMENTSOF(vars), &out, &bad);
        ck_assert_msg(r == 0, "expand_vars(\"%s\") = %d (bad: %s)", in, r, bad ? bad : "-");
        ck_assert_ptr_null(bad);
        ck_assert_msg(streq(out, good_cases[_i].out), "expand_vars(\"%s\") = \"%s\", expected \"%s\"", in, out,
                      good_cases[_i].out);
        free(out);
}
END_TEST

static const struct {
        const char *in;
        int r;
        const char *bad;
} bad_cases[] = {
        {"${nope}", -ENOENT, "nope"},
        {"x ${a} ${nope} ${b}", -ENOENT, "nope"},
        {"${a}${nope}", -ENOENT, "nope"},
        {"${}", -ENOENT, ""},
        {"${A}", -ENOENT, "A"}, /* names are case-sensitive */
        {"${ a}", -ENOENT, " a"},
        {"${a", -EBADMSG, "${a"},
        {"ok ${a} then ${b", -EBADMSG, "${b"},
        {"${", -EBADMSG, "${"},
        {"${gone}", -ENODATA, "gone"},
        {"pre-${gone}-post", -ENODATA, "gone"},
};

START_TEST(test_expand_bad) {
        const char *in = bad_cases[_i].in;
        char *out = NULL, *bad = NULL;
        int r = expand_vars(in, vars, ELEMENTSOF(vars), &out, &bad);
        ck_assert_msg(r == bad_cases[_i].r, "expand_vars(\"%s\") = %d, expected %d", in, r, bad_cases[_i].r);
        ck_assert_ptr_null(out);
        ck_assert_ptr_nonnull(bad);
        ck_assert_msg(streq(bad, bad_cases[_i].bad), "expand_vars(\"%s\"): bad is \"%s\", expected \"%s\"", in, bad,
                      bad_cases[_i].bad);
        free(bad);
}
END_TEST

START_TEST(test_expand_no_vars) {
        char *out = NULL, *bad = NULL;
        ck_assert_int_eq(expand_vars("${a}", NULL, 0, &out, &bad), -ENOENT);
        ck_assert_str_eq(bad, "a");
        free(bad);
        bad = NULL;
        ck_assert_int_eq(expand_vars("no refs $$", NULL, 0, &out, &bad), 0);
        ck_assert_str_eq(out, "no refs $");
        free(out);
}
END_TEST

/* ---- through the loader ---- */

static TestRoot root;

static void root_setup(void) {
        test_root_init(&root, ROOT_OS_RELEASE | ROOT_BOOT_ID);
}

static void root_teardown(void) {
        test_root_done(&root);
}

/* Loads text; returns the error (line, col, message) or 0. */
static int load(const char *text, Plan **ret, unsigned *ret_line, unsigned *ret_col, char **ret_msg) {
        SrcError err = {0};
        int r = plan_load_string("x.yaml", text, strlen(text), &root.host, ret, &err);
        *ret_line = err.line;
        *ret_col = err.col;
        *ret_msg = err.msg ? xstrdup(err.msg) : NULL;
        src_error_done(&err);
        return r;
}

START_TEST(test_vars_chain) {
        static const char text[] = "version: 1\n"
                                   "name: chain-${a}\n"
                                   "vars:\n"
                                   "  a: x\n"
                                   "  b: \"${a}${a}\"\n"
                                   "  c: \"${b}-$$-${os_id}\"\n"
                                   "  d: \"$${c}\"\n"
                                   "  e: \"\"\n"
                                   "steps:\n"
                                   "  - id: step-${os_id}-${e}${a}\n"
                                   "    kind: command\n"
                                   "    argv: [\"${c}\", \"${d}\", \"$$HOME\"]\n";
        Plan *p = NULL;
        unsigned line, col;
        _cleanup_free_ char *msg = NULL;
        ck_assert_int_eq(load(text, &p, &line, &col, &msg), 0);
        ck_assert_str_eq(plan_var(p, "a"), "x");
        ck_assert_str_eq(plan_var(p, "b"), "xx");
        ck_assert_str_eq(plan_var(p, "c"), "xx-$-ubuntu");
        ck_assert_str_eq(plan_var(p, "d"), "${c}"); /* a literal, never expanded again */
        ck_assert_str_eq(plan_var(p, "e"), "");
        ck_assert_str_eq(p->name, "chain-x");
        ck_assert_str_eq(p->steps[0].id, "step-ubuntu-x");
        _cleanup_free_ char *d = p->steps[0].kind->describe(&p->steps[0]);
        ck_assert_str_eq(d, "run [xx-$-ubuntu ${c} $HOME]");
        plan_free(p);
}
END_TEST

START_TEST(test_vars_refused) {
        static const struct {
                const char *vars;
                unsigned line, col;
                const char *text;
        } cases[] = {
                {"  x:\n", 4, 5, "the value of variable 'x' must be a string, found a null"},
                {"  x: ~\n", 4, 6, "must be a string, found a null"},
                /* a map declares {value, secret} (a secret variable) and nothing else */
                {"  x: {y: z}\n", 4, 7, "unknown key 'y' in a variable; expected one of: value, secret"},
                {"  x: {secret: true}\n", 4, 3, "variable 'x' is secret and the plan gives it no value: give it with --var x=VALUE"},
                {"  x: {secret: maybe}\n", 4, 15, "secret must be true or false"},
                {"  x: {value: [a]}\n", 4, 14, "the value of variable 'x' must be a string, found a list"},
                {"  x: {}\n", 4, 3, "variable 'x' has no value"},
                {"  x: ${x}\n", 4, 6, "unknown variable ${x}"}, /* a variable does not see itself */
                {"  root: /\n", 4, 3, "variable 'root' is built in"},
                {"  plan_dir: /\n", 4, 3, "variable 'plan_dir' is built in"},
                {"  a-b: c\n", 4, 3, "'a-b' is not a valid variable name"},
                {"  x: \"${arch\"\n", 4, 6, "unterminated variable reference '${arch'"},
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *text = xasprintf("version: 1\nname: v\nvars:\n%ssteps:\n  - {id: a, kind: "
                                                      "command, argv: [\"true\"]}\n",
                                                      cases[i].vars);
                Plan *p = NULL;
                unsigned line, col;
                _cleanup_free_ char *msg = NULL;
                int r = load(text, &p, &line, &col, &msg);
                plan_free(p);
                ck_assert_msg(r == -EINVAL, "case %zu: %d", i, r);
                ck_assert_msg(line == cases[i].line && col == cases[i].col && strstr(msg, cases[i].text),
                              "case %zu: %u:%u: %s (expected %u:%u: %s)", i, line, col, msg, cases[i].line,
                              cases[i].col, cases[i].text);
        }
}
END_TEST

/* No os-release under the root: ${distro}, ${os_id} and ${os_version} cannot be known. A plan
 * that uses them is refused with a message that says why; a plan that does not still loads. */
START_TEST(test_builtin_unavailable) {
        _cleanup_free_ char *osr = test_root_path(&root, "/etc/os-release");
        ck_assert_int_eq(unlink(osr), 0);

        static const char *const names[] = {"distro", "os_id", "os_version"};
        for (size_t i = 0; i < ELEMENTSOF(names); i++) {
                _cleanup_free_ char *text = xasprintf("version: 1\nname: u\nsteps:\n  - id: a\n    kind: file\n"
                                                      "    path: /etc/x\n    content: \"for ${%s}\"\n",
                                                      names[i]);
                Plan *p = NULL;
                unsigned line, col;
                _cleanup_free_ char *msg = NULL;
                int r = load(text, &p, &line, &col, &msg);
                plan_free(p);
                ck_assert_int_eq(r, -EINVAL);
                ck_assert_uint_eq(line, 7);
                ck_assert_uint_eq(col, 14);
                _cleanup_free_ char *want = xasprintf("variable ${%s} is not available on this host", names[i]);
                ck_assert_msg(strstr(msg, want) && strstr(msg, "os-release"), "message: %s", msg);
        }

        /* in a variable's value, too */
        {
                static const char text[] = "version: 1\nname: u\nvars:\n  repo: \"repos/${distro}\"\nsteps:\n"
                                           "  - {id: a, kind: command, argv: [\"true\"]}\n";
                Plan *p = NULL;
                unsigned line, col;
                _cleanup_free_ char *msg = NULL;
                ck_assert_int_eq(load(text, &p, &line, &col, &msg), -EINVAL);
                ck_assert_uint_eq(line, 4);
                ck_assert_uint_eq(col, 9);
                ck_assert_msg(strstr(msg, "${distro}") && strstr(msg, "os-release"), "message: %s", msg);
        }

        static const char text[] = "version: 1\nname: u\nsteps:\n  - {id: a, kind: command, argv: [echo, \"${arch}\"]}\n";
        Plan *p = NULL;
        unsigned line, col;
        _cleanup_free_ char *msg = NULL;
        ck_assert_int_eq(load(text, &p, &line, &col, &msg), 0);
        ck_assert_ptr_null(plan_var(p, "distro"));
        ck_assert_ptr_null(plan_var(p, "os_id"));
        ck_assert_str_eq(plan_var(p, "arch"), host_arch());
        plan_free(p);
}
END_TEST

/* `secret: true`: the value from the plan or from --var, listed by plan_secret_values(), kept out
 * of the checkpoint's list (NAME=<redacted>) and given back to resume from the 0600 file. */
START_TEST(test_secret_vars) {
        static const char text[] = "version: 1\nname: s\nvars:\n"
                                   "  token: {secret: true}\n"
                                   "  pin: {secret: true, value: \"p-${arch}\"}\n"
                                   "  open: {value: visible}\n"
                                   "steps:\n  - {id: a, kind: command, argv: [echo, \"${token}\"], env: {K: env-value}}\n";
        _cleanup_free_ char *path = test_root_path(&root, "/plan.yaml"), *kept = test_root_path(&root, "/kept");
        ck_assert_int_eq(write_file_atomic(path, text, strlen(text), 0644), 0);
        char *overrides[] = {(char *) "token=T0PS3CRET", (char *) "open=shown", NULL};
        Plan *p = NULL;
        SrcError err = {0};
        ck_assert_int_eq(plan_load_with_vars(path, &root.host, overrides, &p, &err), 0);
        _cleanup_strv_free_ char **secrets = plan_secret_values(p);
        _cleanup_free_ char *list = strv_join(secrets, ",");
        _cleanup_free_ char *pin = xasprintf("T0PS3CRET,p-%s", host_arch());
        ck_assert_str_eq(list, pin);
        ck_assert_str_eq(plan_var(p, "open"), "shown");
        ck_assert(!plan_var_is_secret(p, "open", 4));
        ck_assert_str_eq(p->env_values[0], "env-value");

        _cleanup_strv_free_ char **masked = secret_vars_masked(p);
        _cleanup_free_ char *m = strv_join(masked, " ");
        ck_assert_str_eq(m, "token=<redacted> open=shown");
        _cleanup_free_ char *red = redact("echo T0PS3CRET and T0PS3CRET!", 30, secrets, NULL);
        ck_assert_str_eq(red, "echo <redacted> and <redacted>!");

        /* resume: the file gives the value back; --var wins; neither: a message with the fix */
        ck_assert_int_eq(secret_vars_save(kept, p, NULL), 0);
        struct stat st;
        ck_assert_int_eq(stat(kept, &st), 0);
        ck_assert_uint_eq(st.st_mode & 07777, 0600);
        ck_assert_int_eq(secret_vars_restore(kept, NULL, masked, NULL), 0);
        ck_assert_str_eq(masked[0], "token=T0PS3CRET");
        char *again[] = {xstrdup("token=<redacted>"), NULL};
        char *given[] = {(char *) "token=NEW", NULL};
        ck_assert_int_eq(secret_vars_restore(kept, given, again, NULL), 0);
        ck_assert_str_eq(again[0], "token=NEW");
        ck_assert_int_eq(unlink(kept), 0);
        char *lost[] = {xstrdup("token=<redacted>"), NULL};
        _cleanup_free_ char *why = NULL;
        ck_assert_int_eq(secret_vars_restore(kept, NULL, lost, &why), -ENOKEY);
        ck_assert_msg(strstr(why, "gpubase resume --var token=VALUE"), "%s", why);
        free(lost[0]);
        free(again[0]);
        plan_free(p);
}
END_TEST

Suite *expand_suite(void) {
        Suite *s = suite_create("expand");
        TCase *tc = tcase_create("expand_vars");
        tcase_add_loop_test(tc, test_expand_good, 0, (int) ELEMENTSOF(good_cases));
        tcase_add_loop_test(tc, test_expand_bad, 0, (int) ELEMENTSOF(bad_cases));
        tcase_add_test(tc, test_expand_no_vars);
        suite_add_tcase(s, tc);

        tc = tcase_create("plan-vars");
        tcase_add_checked_fixture(tc, root_setup, root_teardown);
        tcase_add_test(tc, test_vars_chain);
        tcase_add_test(tc, test_vars_refused);
        tcase_add_test(tc, test_builtin_unavailable);
        tcase_add_test(tc, test_secret_vars);
        suite_add_tcase(s, tc);
        return s;
}
