/* Helpers shared by the suites: scratch roots, files, plans. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <stdarg.h>
#include <sys/wait.h>

#include "tests.h"

const char *test_data_dir(void) {
        const char *d = getenv("GPUBASE_TESTDATA");
        return d && *d ? d : "tests";
}

char *test_read_file(const char *path, size_t *ret_len) {
        _cleanup_free_ char *data = NULL;
        size_t len = 0;
        int r = read_file(path, 64 * 1024 * 1024, &data, &len);
        if (r < 0) {
                errno = -r;
                return NULL;
        }
        if (ret_len)
                *ret_len = len;
        return TAKE_PTR(data);
}

void test_write_file(const char *path, const char *content, unsigned mode) {
        ck_assert_msg(mkdir_parents(path, 0755) >= 0, "cannot create the parents of %s", path);
        (void) unlink(path); /* a new inode, so that a read-only file can be replaced too */
        int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        ck_assert_msg(fd >= 0, "cannot create %s: %s", path, strerror(errno));
        size_t n = strlen(content);
        ck_assert_msg(write(fd, content, n) == (ssize_t) n, "cannot write %s", path);
        ck_assert_int_eq(fchmod(fd, mode), 0);
        close(fd);
}

static int rm_one(const char *path, const struct stat *st _unused_, int type, struct FTW *ftw _unused_) {
        if (type == FTW_DP)
                (void) rmdir(path);
        else
                (void) unlink(path);
        return 0;
}

void test_rm_rf(const char *path) {
        if (path && *path)
                (void) nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

size_t test_count_entries(const char *dir) {
        DIR *d = opendir(dir);
        size_t n = 0;
        if (!d)
                return 0;
        for (struct dirent *de; (de = readdir(d));)
                if (!streq(de->d_name, ".") && !streq(de->d_name, ".."))
                        n++;
        closedir(d);
        return n;
}

static char *scratch_parent;

void test_scratch_init(void) {
        const char *tmp = getenv("TMPDIR");
        _cleanup_free_ char *tmpl = xasprintf("%s/gpubase-unit.XXXXXX", tmp && *tmp ? tmp : "/tmp");
        if (!mkdtemp(tmpl)) {
                fprintf(stderr, "mkdtemp %s: %s\n", tmpl, strerror(errno));
                exit(EXIT_FAILURE);
        }
        scratch_parent = TAKE_PTR(tmpl);
}

void test_scratch_done(void) {
        test_rm_rf(scratch_parent);
        free(scratch_parent);
        scratch_parent = NULL;
}

void test_root_init(TestRoot *t, unsigned flags) {
        const char *tmp = getenv("TMPDIR");
        _cleanup_free_ char *tmpl = scratch_parent ? xasprintf("%s/root.XXXXXX", scratch_parent)
                                                   : xasprintf("%s/gpubase-unit.XXXXXX", tmp && *tmp ? tmp : "/tmp");
        *t = (TestRoot){0};
        ck_assert_msg(mkdtemp(tmpl), "mkdtemp %s: %s", tmpl, strerror(errno));
        t->dir = realpath(tmpl, NULL); /* canonical, like host_init's root */
        ck_assert_ptr_nonnull(t->dir);
        if (flags & ROOT_OS_RELEASE)
                test_root_write(t, "/etc/os-release",
                                "PRETTY_NAME=\"Ubuntu 24.04 LTS\"\nNAME=\"Ubuntu\"\nVERSION_ID=\"24.04\"\nID=ubuntu\n"
                                "ID_LIKE=debian\n",
                                0644);
        if (flags & ROOT_BOOT_ID)
                test_root_set_boot_id(t, "boot-1");
        ck_assert_int_eq(host_init(&t->host, t->dir), 0);
}

void test_root_done(TestRoot *t) {
        host_done(&t->host);
        test_rm_rf(t->dir);
        free(t->dir);
        *t = (TestRoot){0};
}

char *test_root_path(const TestRoot *t, const char *rel) {
        return xasprintf("%s%s", t->dir, rel);
}

void test_root_write(const TestRoot *t, const char *rel, const char *content, unsigned mode) {
        _cleanup_free_ char *p = test_root_path(t, rel);
        test_write_file(p, content, mode);
}

char *test_root_read(const TestRoot *t, const char *rel) {
        _cleanup_free_ char *p = test_root_path(t, rel);
        return test_read_file(p, NULL);
}

bool test_root_exists(const TestRoot *t, const char *rel) {
        _cleanup_free_ char *p = test_root_path(t, rel);
        struct stat st;
        return lstat(p, &st) == 0;
}

void test_root_set_boot_id(const TestRoot *t, const char *id) {
        _cleanup_free_ char *line = xasprintf("%s\n", id);
        test_root_write(t, BOOT_ID_FILE, line, 0444);
}

Plan *test_load_plan_file(const Host *h, const char *path) {
        SrcError err = {0};
        Plan *p = NULL;
        int r = plan_load(path, h, &p, &err);
        if (r < 0) {
                _cleanup_free_ char *m = src_error_format(&err);
                src_error_done(&err);
                ck_abort_msg("plan %s refused (%d): %s", path, r, m);
        }
        ck_assert_ptr_null(err.msg);
        return p;
}

Plan *test_load_plan_text(const TestRoot *t, const char *text) {
        _cleanup_free_ char *path = test_root_path(t, "/plan.yaml");
        test_write_file(path, text, 0644);
        return test_load_plan_file(&t->host, path);
}

char *test_sh(const char *dir, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        _cleanup_free_ char *cmd = xvasprintf(fmt, ap);
        va_end(ap);
        _cleanup_free_ char *full = xasprintf("{ %s\n} 2>'%s/stderr'", cmd, dir);

        FILE *f = popen(full, "r");
        ck_assert_msg(f, "popen: %s", strerror(errno));
        Buf b = {0};
        char chunk[4096];
        for (size_t n; (n = fread(chunk, 1, sizeof chunk, f)) > 0;)
                buf_append(&b, chunk, n);
        int status = pclose(f);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
                _cleanup_free_ char *err = NULL, *path = xasprintf("%s/stderr", dir);
                (void) read_file(path, 64 * 1024, &err, NULL);
                buf_done(&b);
                ck_abort_msg("command failed (status %d): %s\n%s", status, cmd, err ? err : "");
        }
        return buf_steal(&b);
}

char *test_slurp(const char *dir, const char *name, size_t *ret_len) {
        _cleanup_free_ char *path = xasprintf("%s/%s", dir, name), *data = NULL;
        size_t len = 0;
        int r = read_file(path, 16 * 1024 * 1024, &data, &len);
        ck_assert_msg(r >= 0, "cannot read %s: %s", path, strerror(-r));
        *ret_len = len;
        return TAKE_PTR(data);
}
