/* Plan loading: the malformed-plan corpus (tests/fixtures/plans/bad), the good plans
 * (tests/fixtures/plans/good), built-in variables, digests, sha256, plan_matches_host and the
 * "did you mean" of unknown names. */
#include <glob.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/hash.h"
#include "base/suggest.h"
#include "checks/checks.h"
#include "plan/when_kind.h"
#include "steps/steps.h"
#include "tests.h"

#define CORPUS_MIN 35

static TestRoot root;

static void root_setup(void) {
        test_root_init(&root, ROOT_OS_RELEASE | ROOT_BOOT_ID);
}

static void root_teardown(void) {
        test_root_done(&root);
}

/* ---- the malformed-plan corpus ---- */

static glob_t corpus;
static bool corpus_globbed;

static void corpus_free(void) {
        if (corpus_globbed)
                globfree(&corpus);
        corpus_globbed = false;
}

static size_t corpus_glob(void) {
        if (!corpus_globbed) {
                _cleanup_free_ char *pattern = xasprintf("%s/fixtures/plans/bad/*.yaml", test_data_dir());
                int r = glob(pattern, 0, NULL, &corpus);
                if (r != 0 && r != GLOB_NOMATCH)
                        fprintf(stderr, "glob %s failed: %d\n", pattern, r);
                if (r == GLOB_NOMATCH)
                        corpus.gl_pathc = 0;
                corpus_globbed = true;
                atexit(corpus_free);
        }
        return corpus.gl_pathc;
}

typedef struct Expect {
        unsigned line, col;
        char text[512];
} Expect;

/* "# expect: LINE:COL: TEXT" on the first line */
static bool parse_expect(const char *content, Expect *ret) {
        int off = -1;
        if (sscanf(content, "# expect: %u:%u: %n", &ret->line, &ret->col, &off) != 2 || off < 0)
                return false;
        const char *t = content + off, *nl = strchr(t, '\n');
        size_t n = nl ? (size_t) (nl - t) : strlen(t);
        if (n == 0 || n >= sizeof ret->text)
                return false;
        memcpy(ret->text, t, n);
        ret->text[n] = 0;
        return true;
}

START_TEST(test_corpus_plan) {
        ck_assert_uint_gt(corpus_glob(), (size_t) _i);
        const char *path = corpus.gl_pathv[_i];
        const char *name = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
        Expect ex = {0};
        char msg[1024] = "", file[PATH_MAX] = "";
        unsigned line = 0, col = 0;
        bool got_plan;
        int r;

        {
                _cleanup_free_ char *content = test_read_file(path, NULL);
                ck_assert_msg(content, "%s: cannot read it", name);
                ck_assert_msg(parse_expect(content, &ex), "%s: the first line must be '# expect: LINE:COL: TEXT'",
                              name);
        }
        {
                SrcError err = {0};
                Plan *p = NULL;
                r = plan_load(path, &root.host, &p, &err);
                got_plan = p != NULL;
                plan_free(p);
                line = err.line;
                col = err.col;
                snprintf(msg, sizeof msg, "%s", err.msg ? err.msg : "");
                snprintf(file, sizeof file, "%s", err.file ? err.file : "");
                src_error_done(&err);
        }
        ck_assert_msg(r < 0, "%s: the plan loaded, expected an error at %u:%u: %s", name, ex.line, ex.col, ex.text);
        ck_assert_msg(r == -EINVAL, "%s: plan_load returned %d, expected -EINVAL (%s)", name, r, msg);
        ck_assert_msg(!got_plan, "%s: a refused plan was returned", name);
        ck_assert_msg(line == ex.line && col == ex.col, "%s: error reported at %u:%u, expected %u:%u (%s)", name,
                      line, col, ex.line, ex.col, msg);
        ck_assert_msg(strstr(msg, ex.text), "%s: message \"%s\" does not contain \"%s\"", name, msg, ex.text);
        ck_assert_msg(streq(file, path), "%s: error names file '%s', expected '%s'", name, file, path);
}
END_TEST

START_TEST(test_corpus_size) {
        size_t n = corpus_glob();
        ck_assert_msg(n >= CORPUS_MIN, "only %zu malformed plans under %s/fixtures/plans/bad (want >= %d)", n,
                      test_data_dir(), CORPUS_MIN);
}
END_TEST

/* The same plan text refused by plan_load_string names the given file and position. */
START_TEST(test_load_string_error_format) {
        static const char text[] = "version: 1\nname: x\nsteps:\n  - id: a\n    kind: nope\n";
        SrcError err = {0};
        Plan *p = NULL;
        int r = plan_load_string("inline.yaml", text, strlen(text), &root.host, &p, &err);
        _cleanup_free_ char *m = src_error_format(&err);
        bool ok = r == -EINVAL && !p && startswith(m, "inline.yaml:5:11: unknown step kind 'nope'; known kinds: gate, "
                                                        "command, file, reboot");
        plan_free(p);
        src_error_done(&err);
        ck_assert_msg(ok, "got %d: %s", r, m);
}
END_TEST

START_TEST(test_load_missing_file) {
        _cleanup_free_ char *path = test_root_path(&root, "/no/such/plan.yaml");
        SrcError err = {0};
        Plan *p = NULL;
        int r = plan_load(path, &root.host, &p, &err);
        bool ok = r == -ENOENT && !p && err.msg && strstr(err.msg, "cannot open the plan") && err.file &&
                  streq(err.file, path);
        src_error_done(&err);
        ck_assert_msg(ok, "plan_load of a missing file returned %d", r);
}
END_TEST

START_TEST(test_load_nul_byte) {
        static const char text[] = "version: 1\nname: x\0\nsteps: []\n";
        SrcError err = {0};
        Plan *p = NULL;
        int r = plan_load_string("nul.yaml", text, sizeof text - 1, &root.host, &p, &err);
        bool ok = r == -EINVAL && !p && err.msg && strstr(err.msg, "NUL byte");
        src_error_done(&err);
        ck_assert_msg(ok, "a plan with a NUL byte: %d", r);
}
END_TEST

START_TEST(test_load_too_large) {
        _cleanup_free_ char *path = test_root_path(&root, "/big.yaml");
        _cleanup_free_ char *text = xmalloc(PLAN_MAX_SIZE + 2);
        memset(text, '#', PLAN_MAX_SIZE + 1);
        text[PLAN_MAX_SIZE + 1] = 0;
        test_write_file(path, text, 0644);
        SrcError err = {0};
        Plan *p = NULL;
        int r = plan_load(path, &root.host, &p, &err);
        bool ok = r == -EINVAL && !p && err.msg && strstr(err.msg, "larger than 1 MiB");
        src_error_done(&err);
        ck_assert_msg(ok, "a plan over 1 MiB: %d", r);
}
END_TEST

START_TEST(test_too_many_steps) {
        Buf b = {0};
        buf_puts(&b, "version: 1\nname: many\nsteps:\n");
        for (int i = 0; i <= PLAN_MAX_STEPS; i++)
                buf_printf(&b, "  - {id: s%d, kind: command, argv: [\"true\"]}\n", i);
        _cleanup_free_ char *text = buf_steal(&b);
        SrcError err = {0};
        Plan *p = NULL;
        int r = plan_load_string("many.yaml", text, strlen(text), &root.host, &p, &err);
        bool ok = r == -EINVAL && !p && err.line == 4 && err.col == 3 && err.msg && strstr(err.msg, "at most 256 steps");
        src_error_done(&err);
        ck_assert_msg(ok, "%d steps: %d", PLAN_MAX_STEPS + 1, r);
}
END_TEST

START_TEST(test_nesting_too_deep) {
        Buf b = {0};
        buf_puts(&b, "version: 1\nname: deep\nsteps: ");
        for (int i = 0; i < 100; i++)
                buf_puts(&b, "[");
        for (int i = 0; i < 100; i++)
                buf_puts(&b, "]");
        buf_puts(&b, "\n");
        _cleanup_free_ char *text = buf_steal(&b);
        SrcError err = {0};
        Plan *p = NULL;
        int r = plan_load_string("deep.yaml", text, strlen(text), &root.host, &p, &err);
        bool ok = r == -EINVAL && !p && err.line == 3 && err.msg && strstr(err.msg, "nesting deeper than");
        src_error_done(&err);
        ck_assert_msg(ok, "deep nesting: %d", r);
}
END_TEST

/* ---- good plans ---- */

static Plan *load_good(const char *name) {
        _cleanup_free_ char *path = xasprintf("%s/fixtures/plans/good/%s", test_data_dir(), name);
        return test_load_plan_file(&root.host, path);
}

static void assert_check(const CheckSpec *c, const CheckKind *kind, const char *label) {
        _cleanup_free_ char *l = check_spec_label(c);
        ck_assert_ptr_eq(c->kind, kind);
        ck_assert_str_eq(l, label);
}

START_TEST(test_good_all_kinds) {
        _cleanup_(plan_freep) Plan *p = load_good("all-kinds.yaml");
        const char *arch = host_arch();
        bool x86 = streq(arch, "x86_64");

        ck_assert_uint_eq(p->version, 1);
        ck_assert_str_eq(p->name, "all-kinds-ubuntu2404");
        ck_assert_str_eq(p->description, "Every step kind and every check.\nUsed by the unit tests.\n");
        ck_assert_uint_eq(strv_length(p->match_os), 3);
        ck_assert_str_eq(p->match_os[0], "ubuntu-24.04");
        ck_assert_str_eq(p->match_os[2], "debian-12");
        ck_assert_uint_eq(strv_length(p->match_arch), 2);
        ck_assert_uint_eq(strv_length(p->workloads_cuda), 2);
        ck_assert_str_eq(p->workloads_cuda[0], "12.8");
        ck_assert_str_eq(p->workloads_cuda[1], "13.0");
        ck_assert_ptr_nonnull(p->path);
        ck_assert_int_eq(p->path[0], '/');
        ck_assert_uint_eq(strlen(p->sha256), 64);

        /* variables: built-ins, then the plan's in order, each seeing the ones before it */
        ck_assert_str_eq(plan_var(p, "branch"), "595");
        ck_assert_str_eq(plan_var(p, "pkg"), "nvidia-driver-pinning-595");
        _cleanup_free_ char *repo = xasprintf("https://developer.download.nvidia.com/compute/cuda/repos/ubuntu2404/%s",
                                              x86 ? "x86_64" : "sbsa");
        ck_assert_str_eq(plan_var(p, "repo"), repo);
        _cleanup_free_ char *price = xasprintf("$5 for %s", x86 ? "amd64" : "arm64");
        ck_assert_str_eq(plan_var(p, "price"), price);
        ck_assert_ptr_null(plan_var(p, "nope"));
        ck_assert_str_eq(p->vars[0].name, "arch");
        ck_assert_str_eq(p->vars[p->n_vars - 1].name, "price");

        ck_assert_uint_eq(p->n_steps, 4);
        static const char *const ids[] = {"preflight", "blacklist-nouveau", "install", "driver-reboot"};
        const StepKind *const kinds[] = {&step_gate, &step_file, &step_command, &step_reboot};
        static const char *const whens[] = {"always", "always", "always", "changed"};
        static const size_t n_checks[] = {3, 1, 0, 2};
        for (size_t i = 0; i < p->n_steps; i++) {
                const Step *s = &p->steps[i];
                ck_assert_str_eq(s->id, ids[i]);
                ck_assert_ptr_eq(s->kind, kinds[i]);
                ck_assert_str_eq(s->when->name, whens[i]);
                ck_assert_uint_eq(s->n_checks, n_checks[i]);
                ck_assert_uint_eq(strlen(s->digest), 64);
                ck_assert_ptr_eq(plan_find_step(p, ids[i]), s);
        }
        ck_assert_ptr_null(plan_find_step(p, "nope"));
        ck_assert_uint_eq(p->steps[0].line, 19);
        ck_assert_uint_eq(p->steps[0].col, 5);
        ck_assert_uint_eq(p->steps[3].line, 45);

        /* every check, with its parameters expanded */
        assert_check(&p->steps[0].checks[0], &check_file_exists, "file-exists /etc/os-release");
        assert_check(&p->steps[0].checks[1], &check_file_contains,
                     "file-contains {\"path\": \"/etc/os-release\", \"text\": \"ID=ubuntu\"}");
        assert_check(&p->steps[0].checks[2], &check_command_succeeds, "command-succeeds [\"true\"]");
        assert_check(&p->steps[1].checks[0], &check_file_contains,
                     "file-contains {\"path\": \"/etc/modprobe.d/blacklist-nouveau.conf\", \"text\": \"blacklist "
                     "nouveau\"}");
        assert_check(&p->steps[3].checks[0], &check_file_exists, "file-exists /proc/sys/kernel/random/boot_id");
        ck_assert_uint_eq(p->steps[0].checks[1].line, 23);
        ck_assert_uint_eq(p->steps[0].checks[1].col, 9);

        /* kind parameters, as `plan show` prints them */
        static const char content[] = "# written by gpubase for ubuntu2404 (ubuntu 24.04)\nblacklist nouveau\n"
                                      "options nouveau modeset=0\n";
        _cleanup_free_ char *file_want = xasprintf("write /etc/modprobe.d/blacklist-nouveau.conf (%zu bytes, mode 0640)",
                                                   strlen(content));
        _cleanup_free_ char *file_desc = p->steps[1].kind->describe(&p->steps[1]);
        ck_assert_str_eq(file_desc, file_want);
        _cleanup_free_ char *cmd_want = xasprintf(
                "run [echo nvidia-driver-pinning-595 %s ${literal} %s] unless /var/lib/gpubase-test/595 exists unless "
                "[false] succeeds (timeout 30s)",
                repo, price);
        _cleanup_free_ char *cmd_desc = p->steps[2].kind->describe(&p->steps[2]);
        ck_assert_str_eq(cmd_desc, cmd_want);
        const RebootParams *rp = p->steps[3].params;
        ck_assert_uint_eq(rp->max_reboots, 2);
        _cleanup_free_ char *reboot_desc = p->steps[3].kind->describe(&p->steps[3]);
        ck_assert_str_eq(reboot_desc, "reboot when changed (at most 2 times), then run the checks");
        _cleanup_free_ char *gate_desc = p->steps[0].kind->describe(&p->steps[0]);
        ck_assert_str_eq(gate_desc, "check 3 conditions");

        _cleanup_free_ char *why = NULL;
        ck_assert_int_eq(plan_matches_host(p, &root.host, &why), 1);
        ck_assert_ptr_null(why);
}
END_TEST

START_TEST(test_good_minimal) {
        _cleanup_(plan_freep) Plan *p = load_good("minimal.yaml");
        ck_assert_str_eq(p->name, "minimal");
        ck_assert_ptr_null(p->description);
        ck_assert_ptr_null(p->match_os);
        ck_assert_ptr_null(p->match_arch);
        ck_assert_ptr_null(p->workloads_cuda);
        ck_assert_uint_eq(p->n_steps, 1);
        ck_assert_ptr_eq(p->steps[0].kind, &step_command);
        ck_assert_str_eq(p->steps[0].when->name, "always");
        ck_assert_uint_eq(p->steps[0].n_checks, 0);
        _cleanup_free_ char *d = p->steps[0].kind->describe(&p->steps[0]);
        ck_assert_str_eq(d, "run [true]");
        _cleanup_free_ char *why = NULL;
        ck_assert_int_eq(plan_matches_host(p, &root.host, &why), 1);
}
END_TEST

/* watch: (the drift watch) is off unless the plan asks; each key is read on its own. */
START_TEST(test_watch_key) {
        _cleanup_(plan_freep) Plan *p = load_good("minimal.yaml");
        ck_assert(!p->watch.enable && !p->watch.repair && !p->watch.reboot);
        const char *text = "version: 1\nname: w\nwatch: {enable: true, repair: yes}\nsteps:\n"
                           "  - {id: s, kind: command, argv: [\"true\"]}\n";
        _cleanup_(plan_freep) Plan *w = NULL;
        SrcError err = {0};
        ck_assert_int_eq(plan_load_string("w.yaml", text, strlen(text), &root.host, &w, &err), 0);
        ck_assert(w->watch.enable && w->watch.repair && !w->watch.reboot);
}
END_TEST

/* Block scalars keep their exact text: write each file through the step itself and read it back. */
START_TEST(test_good_block_scalars) {
        _cleanup_(plan_freep) Plan *p = load_good("folded.yaml");
        static const struct {
                const char *path, *content;
                unsigned mode;
        } want[] = {
                {"/etc/gpubase-test/literal.txt", "hello from ubuntu2404\n  indented line kept\ncost: $5\n", 0644},
                {"/etc/gpubase-test/stripped.txt", "no trailing newline", 0644},
                {"/etc/gpubase-test/folded.txt", "folded into one line\n", 0600},
        };
        Ctx ctx = {.host = &root.host, .plan = p, .reboot_mode = REBOOT_EXIT};
        ck_assert_uint_eq(p->n_steps, ELEMENTSOF(want));
        for (size_t i = 0; i < ELEMENTSOF(want); i++) {
                const Step *s = &p->steps[i];
                char *detail = NULL;
                ck_assert_ptr_eq(s->kind, &step_file);
                ck_assert_int_eq(s->kind->probe(s, &ctx, &detail, NULL), PROBE_NEEDED);
                free(detail);
                detail = NULL;
                ck_assert_int_eq(s->kind->apply(s, &ctx, &detail, NULL), 0);
                free(detail);
                detail = NULL;
                ck_assert_int_eq(s->kind->probe(s, &ctx, &detail, NULL), PROBE_SATISFIED);
                free(detail);
                _cleanup_free_ char *got = test_root_read(&root, want[i].path);
                ck_assert_ptr_nonnull(got);
                ck_assert_str_eq(got, want[i].content);
                _cleanup_free_ char *full = test_root_path(&root, want[i].path);
                struct stat st;
                ck_assert_int_eq(stat(full, &st), 0);
                ck_assert_uint_eq(st.st_mode & 07777, want[i].mode);
        }
}
END_TEST

START_TEST(test_builtin_vars) {
        _cleanup_(plan_freep) Plan *p = test_load_plan_text(
                &root, "version: 1\nname: vars\nsteps:\n  - id: a\n    kind: command\n    argv: [\"true\"]\n");
        const char *arch = host_arch();
        ck_assert_str_eq(plan_var(p, "arch"), arch);
        if (streq(arch, "x86_64")) {
                ck_assert_str_eq(plan_var(p, "deb_arch"), "amd64");
                ck_assert_str_eq(plan_var(p, "arch_dir"), "x86_64");
        } else if (streq(arch, "aarch64")) {
                ck_assert_str_eq(plan_var(p, "deb_arch"), "arm64");
                ck_assert_str_eq(plan_var(p, "arch_dir"), "sbsa");
        }
        ck_assert_str_eq(plan_var(p, "os_id"), "ubuntu");
        ck_assert_str_eq(plan_var(p, "os_version"), "24.04");
        ck_assert_str_eq(plan_var(p, "distro"), "ubuntu2404");
        ck_assert_str_eq(plan_var(p, "root"), root.host.root);
        ck_assert_str_eq(plan_var(p, "plan_dir"), root.host.root); /* the plan is <root>/plan.yaml */
        _cleanup_free_ char *path = xasprintf("%s/plan.yaml", root.host.root);
        ck_assert_str_eq(p->path, path);
}
END_TEST

/* Without --root, ${root} is empty. Other distros map to their own ${distro}. */
START_TEST(test_builtin_vars_other_hosts) {
        static const struct {
                const char *os_release, *distro;
        } cases[] = {
                {"ID=debian\nVERSION_ID=\"12\"\n", "debian12"},
                {"ID=ubuntu\nVERSION_ID='22.04'\n", "ubuntu2204"},
                {"NAME=x\n", "linux"},
        };
        static const char text[] = "version: 1\nname: x\nsteps:\n  - {id: a, kind: command, argv: [\"${distro}\"]}\n";
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                test_root_write(&root, "/etc/os-release", cases[i].os_release, 0644);
                Plan *p = NULL;
                SrcError err = {0};
                ck_assert_int_eq(plan_load_string("x.yaml", text, strlen(text), &root.host, &p, &err), 0);
                ck_assert_str_eq(plan_var(p, "distro"), cases[i].distro);
                plan_free(p);
        }
        Host real = {0};
        ck_assert_int_eq(host_init(&real, NULL), 0);
        ck_assert_str_eq(real.root, "");
        Plan *p = NULL;
        SrcError err = {0};
        static const char text2[] = "version: 1\nname: x\nsteps:\n  - {id: a, kind: command, argv: [\"true\"]}\n";
        ck_assert_int_eq(plan_load_string("x.yaml", text2, strlen(text2), &real, &p, &err), 0);
        ck_assert_str_eq(plan_var(p, "root"), "");
        plan_free(p);
        host_done(&real);
}
END_TEST

/* ${plan_dir} must not depend on how the plan was named: `run plans/x.yaml` and a later `resume`
 * (which loads the absolute path from the state) must expand it the same way. */
START_TEST(test_plan_dir_relative_path) {
        char cwd[PATH_MAX], want[PATH_MAX], abs[PATH_MAX], got_abs[PATH_MAX] = "", got_rel[PATH_MAX] = "";
        bool same_digest = false;
        Plan *by_abs = NULL, *by_rel = NULL;
        SrcError err = {0};
        int r;

        /* everything is freed before the first assertion: this test is expected to fail until the bug is fixed */
        ck_assert_ptr_nonnull(getcwd(cwd, sizeof cwd));
        test_root_write(&root, "/plans/p.yaml",
                        "version: 1\nname: x\nsteps:\n  - {id: a, kind: command, argv: [ls, \"${plan_dir}\"]}\n", 0644);
        snprintf(want, sizeof want, "%s/plans", root.host.root);
        snprintf(abs, sizeof abs, "%s/plans/p.yaml", root.host.root);
        r = plan_load(abs, &root.host, &by_abs, &err);
        src_error_done(&err);
        if (r == 0) {
                ck_assert_int_eq(chdir(root.dir), 0);
                r = plan_load("plans/p.yaml", &root.host, &by_rel, &err);
                ck_assert_int_eq(chdir(cwd), 0);
                src_error_done(&err);
        }
        if (r == 0) {
                snprintf(got_abs, sizeof got_abs, "%s", plan_var(by_abs, "plan_dir"));
                snprintf(got_rel, sizeof got_rel, "%s", plan_var(by_rel, "plan_dir"));
                same_digest = streq(by_abs->steps[0].digest, by_rel->steps[0].digest);
        }
        plan_free(by_abs);
        plan_free(by_rel);
        ck_assert_int_eq(r, 0);
        ck_assert_str_eq(got_abs, want);
        ck_assert_msg(streq(got_rel, want), "plan loaded as plans/p.yaml: ${plan_dir} is '%s', expected '%s'", got_rel,
                      want);
        ck_assert_msg(same_digest, "the step digest depends on how the plan path was written");
}
END_TEST

/* ---- digests and sha256 ---- */

static const char digest_plan[] = "version: 1\n"
                                  "name: digests\n"
                                  "steps:\n"
                                  "  - id: one\n"
                                  "    kind: command\n"
                                  "    argv: [echo, \"${distro}\"]\n"
                                  "  - id: two\n"
                                  "    kind: file\n"
                                  "    path: /etc/two\n"
                                  "    content: two\n"
                                  "  - id: three\n"
                                  "    kind: reboot\n";

static Plan *load_text(const char *text) {
        SrcError err = {0};
        Plan *p = NULL;
        int r = plan_load_string("digest.yaml", text, strlen(text), &root.host, &p, &err);
        if (r < 0) {
                _cleanup_free_ char *m = src_error_format(&err);
                src_error_done(&err);
                ck_abort_msg("refused: %s", m);
        }
        return p;
}

START_TEST(test_digest_stable) {
        _cleanup_(plan_freep) Plan *a = load_text(digest_plan);
        _cleanup_(plan_freep) Plan *b = load_text(digest_plan);
        ck_assert_str_eq(a->sha256, b->sha256);
        for (size_t i = 0; i < a->n_steps; i++)
                ck_assert_str_eq(a->steps[i].digest, b->steps[i].digest);
        ck_assert_str_ne(a->steps[0].digest, a->steps[1].digest);

        /* the same file loaded twice through plan_load */
        _cleanup_(plan_freep) Plan *c = load_good("all-kinds.yaml");
        _cleanup_(plan_freep) Plan *d = load_good("all-kinds.yaml");
        ck_assert_str_eq(c->sha256, d->sha256);
        for (size_t i = 0; i < c->n_steps; i++)
                ck_assert_str_eq(c->steps[i].digest, d->steps[i].digest);
}
END_TEST

START_TEST(test_digest_changes_with_step) {
        _cleanup_(plan_freep) Plan *a = load_text(digest_plan);
        _cleanup_free_ char *changed = xstrdup(digest_plan);
        char *c = strstr(changed, "content: two");
        ck_assert_ptr_nonnull(c);
        memcpy(c, "content: TWO", 12);
        _cleanup_(plan_freep) Plan *b = load_text(changed);
        ck_assert_str_eq(a->steps[0].digest, b->steps[0].digest);
        ck_assert_str_ne(a->steps[1].digest, b->steps[1].digest);
        ck_assert_str_eq(a->steps[2].digest, b->steps[2].digest);
        ck_assert_str_ne(a->sha256, b->sha256);

        /* the digest is of the expanded step: another distro changes step one */
        test_root_write(&root, "/etc/os-release", "ID=debian\nVERSION_ID=12\n", 0644);
        _cleanup_(plan_freep) Plan *e = load_text(digest_plan);
        ck_assert_str_eq(a->sha256, e->sha256);
        ck_assert_str_ne(a->steps[0].digest, e->steps[0].digest);
        ck_assert_str_eq(a->steps[1].digest, e->steps[1].digest);
}
END_TEST

/* A comment or a blank line changes the file's sha256 but no step's digest. */
START_TEST(test_sha256_changes_with_byte) {
        _cleanup_(plan_freep) Plan *a = load_text(digest_plan);
        char want[65];
        sha256_hex(digest_plan, strlen(digest_plan), want);
        ck_assert_str_eq(a->sha256, want);

        _cleanup_free_ char *commented = xasprintf("%s# a comment\n", digest_plan);
        _cleanup_(plan_freep) Plan *b = load_text(commented);
        ck_assert_str_ne(a->sha256, b->sha256);
        _cleanup_free_ char *spaced = xasprintf("\n%s", digest_plan);
        _cleanup_(plan_freep) Plan *c = load_text(spaced);
        ck_assert_str_ne(a->sha256, c->sha256);
        ck_assert_str_ne(b->sha256, c->sha256);
        for (size_t i = 0; i < a->n_steps; i++) {
                ck_assert_str_eq(a->steps[i].digest, b->steps[i].digest);
                ck_assert_str_eq(a->steps[i].digest, c->steps[i].digest);
        }

        /* through plan_load: the sha256 of the file's bytes */
        _cleanup_free_ char *path = test_root_path(&root, "/plan.yaml");
        test_write_file(path, digest_plan, 0644);
        _cleanup_(plan_freep) Plan *d = test_load_plan_file(&root.host, path);
        ck_assert_str_eq(d->sha256, want);
        test_write_file(path, commented, 0644);
        _cleanup_(plan_freep) Plan *e = test_load_plan_file(&root.host, path);
        ck_assert_str_eq(e->sha256, b->sha256);
}
END_TEST

/* ---- plan_matches_host ---- */

static int matches(const char *match, char **ret_why) {
        _cleanup_free_ char *text = xasprintf("version: 1\nname: m\nmatch: %s\nsteps:\n  - {id: a, kind: command, argv: [\"true\"]}\n",
                                              match);
        _cleanup_(plan_freep) Plan *p = load_text(text);
        return plan_matches_host(p, &root.host, ret_why);
}

START_TEST(test_matches_host) {
        const char *arch = host_arch();
        const char *other = streq(arch, "aarch64") ? "x86_64" : "aarch64";
        char *why = NULL;

        _cleanup_free_ char *m1 = xasprintf("{os: [debian-12, ubuntu-24.04], arch: [%s]}", arch);
        ck_assert_int_eq(matches(m1, &why), 1);
        ck_assert_ptr_null(why);
        ck_assert_int_eq(matches("{os: ubuntu-24.04}", &why), 1);
        ck_assert_ptr_null(why);
        _cleanup_free_ char *m2 = xasprintf("{arch: %s}", arch);
        ck_assert_int_eq(matches(m2, &why), 1);
        ck_assert_int_eq(matches("{}", &why), 1);

        ck_assert_int_eq(matches("{os: [ubuntu-22.04, debian-12]}", &why), 0);
        ck_assert_ptr_nonnull(why);
        ck_assert_msg(strstr(why, "ubuntu-22.04, debian-12") && strstr(why, "ubuntu-24.04"), "why: %s", why);
        free(TAKE_PTR(why));

        _cleanup_free_ char *m3 = xasprintf("{os: ubuntu-24.04, arch: %s}", other);
        ck_assert_int_eq(matches(m3, &why), 0);
        ck_assert_msg(strstr(why, other) && strstr(why, arch), "why: %s", why);
        free(TAKE_PTR(why));

        /* the OS cannot be known: refused, saying why */
        _cleanup_free_ char *osr = test_root_path(&root, "/etc/os-release");
        ck_assert_int_eq(unlink(osr), 0);
        ck_assert_int_eq(matches("{os: ubuntu-24.04}", &why), 0);
        ck_assert_msg(strstr(why, "os-release"), "why: %s", why);
        free(TAKE_PTR(why));

        _cleanup_(plan_freep) Plan *p = load_good("other-os.yaml");
        test_root_write(&root, "/etc/os-release", "ID=ubuntu\nVERSION_ID=\"24.04\"\n", 0644);
        ck_assert_int_eq(plan_matches_host(p, &root.host, &why), 0);
        ck_assert_msg(strstr(why, "debian-only") && strstr(why, "debian-12"), "why: %s", why);
        free(why);
}
END_TEST

START_TEST(test_closest_name) {
        static const char *const names[] = {"apt-install", "apt-source", "apt-keyring-deb", "run", "resume",
                                            "reset", "status", "driver.loaded", "driver.held", NULL};
        struct {
                const char *word, *want;
        } cases[] = {
                {"apt-instal", "apt-install"},      /* a letter missing */
                {"apt-isntall", "apt-install"},     /* two letters swapped: one edit */
                {"stauts", "status"},
                {"driver.loded", "driver.loaded"},
                {"rn", "run"},                      /* short words: one edit at most */
                {"rm", NULL},                       /* "rm" is not "run" (two edits on a short word) */
                {"apt-frobnicate", NULL},           /* nothing near */
                {"status", NULL},                   /* a known name is no typo */
                {"", NULL},
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                const char *got = closest_name(cases[i].word, names);
                ck_assert_msg(got == cases[i].want || (got && cases[i].want && streq(got, cases[i].want)),
                              "closest_name(\"%s\") = %s, expected %s", cases[i].word, got ? got : "NULL",
                              cases[i].want ? cases[i].want : "NULL");
        }
        _cleanup_free_ char *hint = did_you_mean("resmue", names), *none = did_you_mean("xyz", names);
        ck_assert_str_eq(hint, " (did you mean 'resume'?)");
        ck_assert_str_eq(none, "");
}
END_TEST

Suite *plan_suite(void) {
        Suite *s = suite_create("plan");
        TCase *tc;

        tc = tcase_create("corpus");
        tcase_add_checked_fixture(tc, root_setup, root_teardown);
        tcase_add_test(tc, test_corpus_size);
        tcase_add_loop_test(tc, test_corpus_plan, 0, (int) corpus_glob());
        tcase_add_test(tc, test_load_string_error_format);
        tcase_add_test(tc, test_load_missing_file);
        tcase_add_test(tc, test_load_nul_byte);
        tcase_add_test(tc, test_load_too_large);
        tcase_add_test(tc, test_too_many_steps);
        tcase_add_test(tc, test_nesting_too_deep);
        suite_add_tcase(s, tc);

        tc = tcase_create("good");
        tcase_add_checked_fixture(tc, root_setup, root_teardown);
        tcase_add_test(tc, test_good_all_kinds);
        tcase_add_test(tc, test_good_minimal);
        tcase_add_test(tc, test_watch_key);
        tcase_add_test(tc, test_good_block_scalars);
        tcase_add_test(tc, test_builtin_vars);
        tcase_add_test(tc, test_builtin_vars_other_hosts);
        tcase_add_test(tc, test_plan_dir_relative_path);
        suite_add_tcase(s, tc);

        tc = tcase_create("digest");
        tcase_add_checked_fixture(tc, root_setup, root_teardown);
        tcase_add_test(tc, test_digest_stable);
        tcase_add_test(tc, test_digest_changes_with_step);
        tcase_add_test(tc, test_sha256_changes_with_byte);
        suite_add_tcase(s, tc);

        tc = tcase_create("suggest");
        tcase_add_test(tc, test_closest_name);
        suite_add_tcase(s, tc);

        tc = tcase_create("match");
        tcase_add_checked_fixture(tc, root_setup, root_teardown);
        tcase_add_test(tc, test_matches_host);
        suite_add_tcase(s, tc);
        return s;
}
