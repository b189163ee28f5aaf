/* The unit tier: one Check suite per area, all run by main.c. Shared helpers live in helpers.c.
 *
 * Every test works in its own throwaway root directory (see TestRoot) and frees everything it
 * allocates: the suites also run in one process (CK_FORK=no) under ASan+UBSan with leak checks. */
#pragma once

#include <check.h>
#include <stdbool.h>
#include <stddef.h>

#include "plan/plan.h"
#include "host/host.h"

Suite *plan_suite(void);
Suite *expand_suite(void);
Suite *state_suite(void);
Suite *engine_suite(void);
Suite *debfile_suite(void);
Suite *pgp_suite(void);
Suite *apt_suite(void);
Suite *nvml_suite(void);
Suite *pci_suite(void);
Suite *hgx_suite(void);
Suite *facts_suite(void);
Suite *stack_suite(void);
Suite *signing_suite(void);
Suite *exec_suite(void);
Suite *input_suite(void);
Suite *confine_suite(void);
Suite *kernels_suite(void);
Suite *container_suite(void);

/* One directory for the whole run (<tmp>/gpubase-unit.XXXXXX), removed at the end even when a
 * failing test (in a forked child) never reached its teardown. */
void test_scratch_init(void);
void test_scratch_done(void);

/* A scratch root under it (<tmp>/gpubase-unit.XXXXXX/root.XXXXXX), with a Host rooted there. */
typedef struct TestRoot {
        char *dir;
        Host host;
} TestRoot;

enum {
        ROOT_OS_RELEASE = 1 << 0, /* etc/os-release: ubuntu 24.04 */
        ROOT_BOOT_ID = 1 << 1,    /* proc/sys/kernel/random/boot_id: "boot-1" */
};

void test_root_init(TestRoot *t, unsigned flags);
void test_root_done(TestRoot *t);
/* <root>/<rel> (rel starts with '/'), malloc'ed. */
char *test_root_path(const TestRoot *t, const char *rel);
void test_root_write(const TestRoot *t, const char *rel, const char *content, unsigned mode);
/* NULL when the file does not exist. */
char *test_root_read(const TestRoot *t, const char *rel);
bool test_root_exists(const TestRoot *t, const char *rel);
void test_root_set_boot_id(const TestRoot *t, const char *id);

/* Writes text to <root>/plan.yaml and loads it; fails the test with the message if it is refused. */
Plan *test_load_plan_text(const TestRoot *t, const char *text);
/* Loads a plan; fails the test with file:line:col if it is refused. */
Plan *test_load_plan_file(const Host *h, const char *path);

/* $GPUBASE_TESTDATA (the repository's tests/ directory), or "tests". */
const char *test_data_dir(void);

/* Whole file, NUL-terminated; NULL (errno set) when it cannot be read. */
char *test_read_file(const char *path, size_t *ret_len);
void test_write_file(const char *path, const char *content, unsigned mode);
void test_rm_rf(const char *path);
/* Runs a shell command line (test fixtures only: gpg, dpkg-deb), fails the test unless it exits 0;
 * returns its stdout. stderr goes to <dir>/stderr and is shown on failure. */
char *test_sh(const char *dir, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The content of <dir>/<name>; fails the test if it cannot be read. */
char *test_slurp(const char *dir, const char *name, size_t *ret_len);
/* Number of directory entries other than . and .. */
size_t test_count_entries(const char *dir);
