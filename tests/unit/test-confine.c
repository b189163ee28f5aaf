/* Paths under --root (agent/host/confine.h): links and ".." resolve as after chroot, through the
 * text walk, openat2(RESOLVE_IN_ROOT) and the walk that opens where openat2 is missing. Every case
 * that opens also checks that nothing appeared outside the root. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "host/confine.h"
#include "tests.h"

typedef struct Fixture {
        TestRoot t;
        int root;      /* O_PATH fd of t.dir */
        char *outside; /* a directory beside the root, which nothing may touch */
} Fixture;

static void fixture_init(Fixture *f) {
        test_root_init(&f->t, 0);
        f->root = open(f->t.dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
        ck_assert_int_ge(f->root, 0);
        f->outside = xasprintf("%s.outside", f->t.dir);
        ck_assert_int_eq(mkdir(f->outside, 0755), 0);
        test_root_write(&f->t, "/data/keep", "root's\n", 0644);
        test_root_write(&f->t, "/etc/file", "a file\n", 0644);
}

static void fixture_done(Fixture *f) {
        /* the directory outside stayed empty */
        _cleanup_free_ char *probe = xasprintf("rmdir %s", f->outside);
        ck_assert_int_eq(system(probe), 0);
        free(f->outside);
        close(f->root);
        test_root_done(&f->t);
}

static void link_in_root(const Fixture *f, const char *target, const char *rel) {
        _cleanup_free_ char *p = test_root_path(&f->t, rel);
        ck_assert_int_eq(symlink(target, p), 0);
}

static void assert_walk(const Fixture *f, const char *path, unsigned flags, const char *want) {
        _cleanup_free_ char *got = NULL;
        int r = confine_walk(f->root, path, flags, &got);
        ck_assert_msg(r == 0, "%s: %s", path, strerror(-r));
        ck_assert_str_eq(got, want);
}

typedef int (*OpenFn)(int rootfd, const char *path, int flags, unsigned mode);
static const OpenFn openers[] = {confine_open, confine_open_walk};

/* Creates path under the root through each opener and checks where it landed. */
static void assert_create(const Fixture *f, const char *path, const char *landed) {
        for (size_t i = 0; i < ELEMENTSOF(openers); i++) {
                int fd = openers[i](f->root, path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
                ck_assert_msg(fd >= 0, "opener %zu, %s: %s", i, path, strerror(-fd));
                ck_assert_int_eq(write(fd, "x", 1), 1);
                close(fd);
                _cleanup_free_ char *text = test_root_read(&f->t, landed);
                ck_assert_msg(text && streq(text, "x"), "opener %zu: %s did not land on %s", i, path, landed);
                _cleanup_free_ char *p = test_root_path(&f->t, landed);
                ck_assert_int_eq(unlink(p), 0);
        }
}

START_TEST(test_confine_absolute_link) {
        Fixture f;
        fixture_init(&f);
        link_in_root(&f, f.outside, "/etc/adv");
        link_in_root(&f, "/data", "/etc/data");
        _cleanup_free_ char *want = xasprintf("%s/app.conf", f.outside);
        assert_walk(&f, "/etc/adv/app.conf", 0, want); /* the outside path, taken inside the root */
        assert_walk(&f, "/etc/data/keep", 0, "/data/keep");
        assert_create(&f, "/etc/data/new", "/data/new");
        for (size_t i = 0; i < ELEMENTSOF(openers); i++) /* the outside directory does not exist in the root */
                ck_assert_int_eq(openers[i](f.root, "/etc/adv/app.conf", O_WRONLY | O_CREAT, 0644), -ENOENT);
        _cleanup_free_ char *mk = xasprintf("mkdir -p %s%s", f.t.dir, f.outside);
        ck_assert_int_eq(system(mk), 0);
        assert_create(&f, "/etc/adv/app.conf", want);
        fixture_done(&f);
}
END_TEST

START_TEST(test_confine_relative_link) {
        Fixture f;
        fixture_init(&f);
        link_in_root(&f, "../../../../../../../../../data", "/etc/rel");
        link_in_root(&f, "../data/", "/etc/up");
        assert_walk(&f, "/etc/rel/keep", 0, "/data/keep");
        assert_walk(&f, "/etc/up/keep", 0, "/data/keep");
        assert_create(&f, "/etc/rel/new", "/data/new");
        fixture_done(&f);
}
END_TEST

START_TEST(test_confine_dotdot_clamped) {
        Fixture f;
        fixture_init(&f);
        assert_walk(&f, "/../../../data/keep", 0, "/data/keep");
        assert_walk(&f, "/etc/../../../../data/../data/./keep", 0, "/data/keep");
        assert_walk(&f, "/..", 0, "/");
        assert_walk(&f, "/", 0, "/");
        assert_create(&f, "/../../../../data/new", "/data/new");
        fixture_done(&f);
}
END_TEST

START_TEST(test_confine_loop) {
        Fixture f;
        fixture_init(&f);
        link_in_root(&f, "/b", "/a");
        link_in_root(&f, "/a", "/b");
        _cleanup_free_ char *got = NULL;
        ck_assert_int_eq(confine_walk(f.root, "/a/x", 0, &got), -ELOOP);
        ck_assert_ptr_null(got);
        for (size_t i = 0; i < ELEMENTSOF(openers); i++)
                ck_assert_int_eq(openers[i](f.root, "/a", O_WRONLY | O_CREAT, 0644), -ELOOP);
        /* 40 links in a row are fine (chain2 … chain41), 41 are not */
        for (int i = 1; i < 41; i++) {
                _cleanup_free_ char *name = xasprintf("/chain%d", i), *target = xasprintf("chain%d", i + 1);
                link_in_root(&f, target, name);
        }
        link_in_root(&f, "data", "/chain41");
        assert_walk(&f, "/chain2/keep", 0, "/data/keep");
        ck_assert_int_eq(confine_walk(f.root, "/chain1/keep", 0, &got), -ELOOP);
        fixture_done(&f);
}
END_TEST

START_TEST(test_confine_missing_tail) {
        Fixture f;
        fixture_init(&f);
        link_in_root(&f, "/data", "/etc/data");
        assert_walk(&f, "/etc/new/dir/../file", 0, "/etc/new/file");
        assert_walk(&f, "/etc/new/../data/keep", 0, "/data/keep"); /* back on existing ground: links count again */
        assert_walk(&f, "/etc/data/a/b/../../../../..", 0, "/");
        _cleanup_free_ char *got = NULL;
        ck_assert_int_eq(confine_walk(f.root, "/etc/file/x", 0, &got), -ENOTDIR);
        for (size_t i = 0; i < ELEMENTSOF(openers); i++)
                ck_assert_int_eq(openers[i](f.root, "/etc/new/dir/file", O_WRONLY | O_CREAT, 0644), -ENOENT);
        fixture_done(&f);
}
END_TEST

START_TEST(test_confine_dangling_final_link) {
        Fixture f;
        fixture_init(&f);
        _cleanup_free_ char *target = xasprintf("%s/created", f.outside);
        link_in_root(&f, target, "/etc/dangle");
        link_in_root(&f, "../data/made", "/etc/dangle-rel");
        assert_walk(&f, "/etc/dangle", 0, target); /* followed, inside the root */
        assert_walk(&f, "/etc/dangle", CONFINE_NOFOLLOW, "/etc/dangle");
        assert_walk(&f, "/etc/dangle-rel", 0, "/data/made");
        assert_create(&f, "/etc/dangle-rel", "/data/made");
        for (size_t i = 0; i < ELEMENTSOF(openers); i++) {
                ck_assert_int_eq(openers[i](f.root, "/etc/dangle", O_WRONLY | O_CREAT | O_NOFOLLOW, 0644), -ELOOP);
                /* the outside path does not exist in the root: nothing to create it in */
                ck_assert_int_eq(openers[i](f.root, "/etc/dangle", O_WRONLY | O_CREAT, 0644), -ENOENT);
        }
        fixture_done(&f);
}
END_TEST

START_TEST(test_confine_host_path) {
        Fixture f;
        fixture_init(&f);
        link_in_root(&f, "/data", "/etc/data");
        link_in_root(&f, "/loop", "/loop");
        _cleanup_free_ char *p = host_path(&f.t.host, "/etc/data/keep"), *want = test_root_path(&f.t, "/data/keep");
        ck_assert_str_eq(p, want);
        _cleanup_free_ char *top = host_path(&f.t.host, "/..");
        ck_assert_str_eq(top, f.t.dir);
        /* a loop: a path nothing can be created under, which still names the problem */
        _cleanup_free_ char *loop = host_path(&f.t.host, "/loop/x");
        ck_assert(startswith(loop, "/dev/null/"));
        ck_assert_ptr_nonnull(strstr(loop, "/loop/x"));
        /* no root: the path itself */
        Host live;
        ck_assert_int_eq(host_init(&live, NULL), 0);
        _cleanup_free_ char *same = host_path(&live, "/etc/../etc/hostname");
        ck_assert_str_eq(same, "/etc/../etc/hostname");
        host_done(&live);
        /* host_open() creates inside */
        int fd = host_open(&f.t.host, "/etc/data/opened", O_WRONLY | O_CREAT | O_NOFOLLOW, 0600);
        ck_assert_int_ge(fd, 0);
        close(fd);
        ck_assert(test_root_exists(&f.t, "/data/opened"));
        fixture_done(&f);
}
END_TEST

/* rm_rf_tree() and write_file_atomic() (base/fs.h): a link is removed or replaced, never followed */
START_TEST(test_confine_rm_rf_links) {
        Fixture f;
        fixture_init(&f);
        _cleanup_free_ char *victim = xasprintf("%s/victim", f.outside);
        test_root_write(&f.t, "/tree/sub/file", "x\n", 0644);
        ck_assert_int_eq(mkdir(victim, 0755), 0);
        _cleanup_free_ char *vfile = xasprintf("%s/precious", victim);
        ck_assert_int_eq(write_file_atomic(vfile, "keep\n", 5, 0644), 0);
        link_in_root(&f, victim, "/tree/sub/out");
        link_in_root(&f, victim, "/treelink");
        link_in_root(&f, vfile, "/linked-file");
        _cleanup_free_ char *tree = test_root_path(&f.t, "/tree"), *tl = test_root_path(&f.t, "/treelink/");
        _cleanup_free_ char *lf = test_root_path(&f.t, "/linked-file");
        rm_rf_tree(tree);
        rm_rf_tree(tl);
        ck_assert(!test_root_exists(&f.t, "/tree"));
        ck_assert(!test_root_exists(&f.t, "/treelink"));
        ck_assert_int_eq(write_file_atomic(lf, "new\n", 4, 0644), 0);
        _cleanup_free_ char *text = NULL;
        ck_assert_int_eq(read_file(vfile, 100, &text, NULL), 0);
        ck_assert_str_eq(text, "keep\n");
        _cleanup_free_ char *replaced = test_root_read(&f.t, "/linked-file");
        ck_assert_str_eq(replaced, "new\n");
        ck_assert_int_eq(unlink(vfile), 0);
        ck_assert_int_eq(rmdir(victim), 0);
        fixture_done(&f);
}
END_TEST

Suite *confine_suite(void) {
        Suite *s = suite_create("confine");
        TCase *tc = tcase_create("resolve");
        tcase_add_test(tc, test_confine_absolute_link);
        tcase_add_test(tc, test_confine_relative_link);
        tcase_add_test(tc, test_confine_dotdot_clamped);
        tcase_add_test(tc, test_confine_loop);
        tcase_add_test(tc, test_confine_missing_tail);
        tcase_add_test(tc, test_confine_dangling_final_link);
        tcase_add_test(tc, test_confine_host_path);
        tcase_add_test(tc, test_confine_rm_rf_links);
        suite_add_tcase(s, tc);
        return s;
}
