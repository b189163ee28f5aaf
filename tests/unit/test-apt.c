/* The shim's Debian version comparison and apt_pick_version()'s glob matching, against a small
 * flat repository index written by hand (no .deb files are needed to resolve versions); and which
 * repositories a keyring package's apt source names (the keyring chain asks those, and only those,
 * with a Signed-By of its own); and when the root's package lists count as missing. */
#include <check.h>
#include <string.h>
#include <unistd.h>

#include "host/apt.h"
#include "steps/keyring_chain.h"
#include "tests.h"

START_TEST(test_version_cmp) {
        ck_assert_int_lt(apt_shim_version_cmp("595.40.01-1", "595.45.01-1"), 0);
        ck_assert_int_gt(apt_shim_version_cmp("610.43.02-1", "595.58.03-1"), 0);
        ck_assert_int_eq(apt_shim_version_cmp("1.19.0-1", "1.19.0-1"), 0);
        ck_assert_int_lt(apt_shim_version_cmp("1.19.0~rc1-1", "1.19.0-1"), 0); /* ~ sorts first */
        ck_assert_int_gt(apt_shim_version_cmp("1:525.0-1", "595.45.01-1"), 0);  /* the epoch wins */
        ck_assert_int_lt(apt_shim_version_cmp("595.45.01-1", "595.45.01-1ubuntu1"), 0);
        ck_assert_int_lt(apt_shim_version_cmp("9", "10"), 0);                   /* numbers, not text */
}
END_TEST

static TestRoot root;
static char *repo;

static void stanza(FILE *f, const char *pkg, const char *ver) {
        fprintf(f,
                "Package: %s\nVersion: %s\nArchitecture: amd64\nMaintainer: t <t@example>\nFilename: ./%s_%s_amd64.deb\n"
                "Size: 1\nSHA256: 0000000000000000000000000000000000000000000000000000000000000000\n"
                "Description: test\n\n",
                pkg, ver, pkg, ver);
}

static void setup(void) {
        test_root_init(&root, ROOT_OS_RELEASE);
        repo = test_root_path(&root, "/../repo");
        ck_assert_int_eq(mkdir_p(repo, 0755), 0);
        _cleanup_free_ char *pk = xasprintf("%s/Packages", repo);
        FILE *f = fopen(pk, "w");
        ck_assert_ptr_nonnull(f);
        static const char *const vers[] = {"595.40.01-1", "595.45.01-1", "595.58.03-1", "610.43.02-1", "580.95.05-1"};
        for (size_t i = 0; i < ELEMENTSOF(vers); i++)
                stanza(f, "nvidia-open", vers[i]);
        stanza(f, "nvidia-container-toolkit", "1.18.0-1");
        stanza(f, "nvidia-container-toolkit", "1.19.0-1");
        fclose(f);
        _cleanup_free_ char *line = xasprintf("deb [trusted=yes] file:%s ./\n", repo);
        test_root_write(&root, "/etc/apt/sources.list", line, 0644);
}

static void teardown(void) {
        test_rm_rf(repo);
        free(repo);
        repo = NULL;
        test_root_done(&root);
}

static char *pick(AptSession *s, const char *name, const char *pattern) {
        char *v = NULL, *err = NULL;
        int r = apt_pick_version(s, name, pattern, &v, &err);
        if (r < 0) {
                ck_assert_ptr_null(v);
                return err; /* the message, for the caller to look at */
        }
        free(err);
        return v;
}

START_TEST(test_pick_version_globs) {
        AptSession s;
        _cleanup_free_ char *err = NULL;
        AptSessionOptions o = {.lock = false};
        ck_assert_msg(apt_session_open(&s, &root.host, &o, &err) == 0, "open: %s", err);
        ck_assert_msg(apt_session_update(&s, &err) == 0, "update: %s", err);

        char *v = pick(&s, "nvidia-open", "595.*");
        ck_assert_str_eq(v, "595.58.03-1"); /* the highest match, not the first */
        free(v);
        v = pick(&s, "nvidia-open", "595.4*");
        ck_assert_str_eq(v, "595.45.01-1");
        free(v);
        v = pick(&s, "nvidia-open", "580.95.05-1"); /* an exact version */
        ck_assert_str_eq(v, "580.95.05-1");
        free(v);
        v = pick(&s, "nvidia-open", NULL); /* the candidate: the newest */
        ck_assert_str_eq(v, "610.43.02-1");
        free(v);
        v = pick(&s, "nvidia-container-toolkit", "1.*");
        ck_assert_str_eq(v, "1.19.0-1");
        free(v);

        /* nothing matches: the message lists what exists */
        v = pick(&s, "nvidia-open", "600.*");
        ck_assert_ptr_nonnull(strstr(v, "no version of nvidia-open matches 600.*"));
        ck_assert_ptr_nonnull(strstr(v, "595.45.01-1"));
        ck_assert_ptr_nonnull(strstr(v, "610.43.02-1"));
        free(v);
        v = pick(&s, "no-such-package", NULL);
        ck_assert_ptr_nonnull(strstr(v, "not known to apt"));
        free(v);
        apt_session_close(&s);
}
END_TEST

START_TEST(test_keyring_sources) {
        static const struct {
                const char *text;
                bool deb822;
                const char *want;
        } cases[] = {
                /* NVIDIA's cuda-<distro>-<arch>.list: flat, signed-by dropped */
                {"deb [signed-by=/usr/share/keyrings/cuda-archive-keyring.gpg] "
                 "https://example.invalid/compute/cuda/repos/debian12/x86_64/ /\n",
                 false, "https://example.invalid/compute/cuda/repos/debian12/x86_64/ /\n"},
                /* trusted=yes must not carry over; deb-src, comments and blank lines are not repositories */
                {"# a comment\n\ndeb-src http://a.invalid/ stable main\n"
                 "deb [ arch=amd64 trusted=yes ] http://a.invalid/debian stable main contrib  # tail\n"
                 "deb\thttp://b.invalid/ ./\n",
                 false, "http://a.invalid/debian stable main contrib\nhttp://b.invalid/ ./\n"},
                {"deb [signed-by=/x.gpg\n", false, ""},
                /* deb822: every URI x suite, inline key skipped, Enabled: no left out */
                {"Types: deb deb-src\nURIs: http://a.invalid/ http://b.invalid/\nSuites: stable\n"
                 "Components: main\nSigned-By:\n -----BEGIN PGP PUBLIC KEY BLOCK-----\n .\n Suites: evil\n"
                 " -----END PGP PUBLIC KEY BLOCK-----\n\n"
                 "Types: deb\nURIs: http://c.invalid/\nSuites: /\nTrusted: yes\n\n"
                 "Types: deb\nURIs: http://d.invalid/\nSuites: /\nEnabled: no\n",
                 true, "http://a.invalid/ stable main\nhttp://b.invalid/ stable main\nhttp://c.invalid/ /\n"},
                {"Types: deb-src\nURIs: http://a.invalid/\nSuites: stable\n", true, ""},
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *got = keyring_chain_repositories(cases[i].text, cases[i].deb822);
                ck_assert_msg(streq(got, cases[i].want), "case %zu: got '%s', want '%s'", i, got, cases[i].want);
        }
}
END_TEST

/* apt_lists_missing(): no index, or an index whose suite has no signed release file beside it. */
START_TEST(test_lists_missing) {
        static const struct {
                const char *files; /* in /var/lib/apt/lists, space-separated */
                bool missing;
        } cases[] = {
                {"", true},
                {"lock", true},
                {"d.invalid_debian_dists_bookworm_InRelease", true}, /* a release file and no index */
                {"d.invalid_debian_dists_bookworm_InRelease d.invalid_debian_dists_bookworm_main_binary-amd64_Packages",
                 false},
                {"d.invalid_debian_dists_bookworm_main_binary-amd64_Packages", true},
                /* bookworm's release file does not sign bookworm-updates' index */
                {"d.invalid_debian_dists_bookworm_InRelease d.invalid_debian_dists_bookworm_main_binary-amd64_Packages "
                 "d.invalid_debian_dists_bookworm-updates_main_binary-amd64_Packages",
                 true},
                /* a flat repository; Release with its detached signature */
                {"_srv_repo_Release _srv_repo_Release.gpg _srv_repo_Packages.lz4", false},
                {"_srv_repo_Release _srv_repo_Packages", true},
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                TestRoot t;
                test_root_init(&t, 0);
                _cleanup_free_ char *dir = test_root_path(&t, "/var/lib/apt/lists");
                free(test_sh(t.dir, "mkdir -p %s/partial && cd %s && for f in %s; do : >$f; done", dir, dir,
                             cases[i].files));
                ck_assert_msg(apt_lists_missing(&t.host) == cases[i].missing, "case %zu (%s): want %s", i,
                              cases[i].files, cases[i].missing ? "missing" : "present");
                test_root_done(&t);
        }
}
END_TEST

/* dpkg failed: what its output says, in a line. Debian's nvidia-open-kernel-dkms 535.261.03 against
 * a 6.1 kernel whose pci_resize_resource() took a fourth argument (make e2e-real, 2026-12): dkms's
 * two lines, its build log, dpkg's own; and a maintainer script that failed without DKMS. */
START_TEST(test_dpkg_failure_detail) {
        TestRoot t;
        test_root_init(&t, 0);
        const char *log = "/var/lib/dkms/nvidia-current-open/535.261.03/build/make.log";
        _cleanup_free_ char *logtext = xasprintf(
                "DKMS make.log for nvidia-current-open-535.261.03 for kernel 6.1.0-56-amd64 (x86_64)\n"
                " CONFTEST: drm/drm_fourcc.h\n"
                "/var/lib/dkms/nvidia-current-open/535.261.03/build/nvidia/nv-pci.c: In function 'nv_resize_pcie_bars':\n"
                "/var/lib/dkms/nvidia-current-open/535.261.03/build/nvidia/nv-pci.c:223:9: error: too few arguments to "
                "function 'pci_resize_resource'\n"
                "make[4]: *** [Makefile.build:255: nvidia/nv-pci.o] Error 1\n");
        test_root_write(&t, log, logtext, 0644);
        const char *out =
                "Setting up nvidia-open-kernel-dkms (535.261.03-1) ...\n"
                "Building initial module for 6.1.0-56-amd64\n"
                "Error! Bad return status for module build on kernel: 6.1.0-56-amd64 (x86_64)\n"
                "Consult /var/lib/dkms/nvidia-current-open/535.261.03/build/make.log for more information.\n"
                "dpkg: error processing package nvidia-open-kernel-dkms (--configure):\n"
                " installed nvidia-open-kernel-dkms package post-installation script subprocess returned error exit "
                "status 10\n";
        _cleanup_free_ char *d = apt_dpkg_failure_detail(&t.host, out);
        ck_assert_str_eq(d, "DKMS could not build nvidia-current-open 535.261.03 for kernel 6.1.0-56-amd64: "
                            "nvidia/nv-pci.c:223:9: error: too few arguments to function 'pci_resize_resource' "
                            "(the build log: /var/lib/dkms/nvidia-current-open/535.261.03/build/make.log): this "
                            "driver release does not build against that kernel; install a driver release that "
                            "supports it, or boot a kernel the driver supports");
        /* the log gone: the kernel and where to look are still said */
        _cleanup_free_ char *p = test_root_path(&t, log);
        ck_assert_int_eq(unlink(p), 0);
        _cleanup_free_ char *d2 = apt_dpkg_failure_detail(&t.host, out);
        ck_assert_ptr_nonnull(strstr(d2, "DKMS could not build nvidia-current-open 535.261.03 for kernel 6.1.0-56-amd64 "
                                         "(the build log: /var/lib/dkms/"));
        /* no DKMS: the packages dpkg could not set up, each once */
        _cleanup_free_ char *d3 = apt_dpkg_failure_detail(
                &t.host, "dpkg: error processing package nvidia-persistenced (--configure):\n x\n"
                         "dpkg: error processing package libcuda1:amd64 (--configure):\n y\n"
                         "dpkg: error processing package nvidia-persistenced (--configure):\n");
        ck_assert_str_eq(d3, "dpkg could not set up nvidia-persistenced, libcuda1:amd64");
        /* a name inside the message's own words is a package all the same */
        _cleanup_free_ char *d4 = apt_dpkg_failure_detail(&t.host, "dpkg: error processing package dpkg (--configure):\n");
        ck_assert_str_eq(d4, "dpkg could not set up dpkg");
        ck_assert_ptr_null(apt_dpkg_failure_detail(&t.host, "Setting up x (1) ...\n"));
        test_root_done(&t);
}
END_TEST

/* apt_shim_names(): the names each sources file's lists offer (Package and Provides, any case of
 * the field's name, continuation lines, a last line without its newline), and the cache of them. */
START_TEST(test_list_names) {
        _cleanup_free_ char *other = test_root_path(&root, "/../other"), *pk = NULL, *line = NULL;
        ck_assert_int_eq(mkdir_p(other, 0755), 0);
        pk = xasprintf("%s/Packages", other);
        FILE *f = fopen(pk, "w");
        ck_assert_ptr_nonnull(f);
        fputs("Package: alpha\nVersion: 1\nProvides: virt-a (= 1), virt-b:any,\n virt-c\nArchitecture: all\n\n"
              "package: lower\nVersion: 1\nArchitecture: all\n\n"
              "Package: last\nVersion: 1\nArchitecture: all\nProvides: virt-last",
              f);
        fclose(f);
        line = xasprintf("deb [trusted=yes] file:%s ./\n", other);
        test_root_write(&root, "/etc/apt/sources.list.d/other.list", line, 0644);

        AptSession s;
        _cleanup_free_ char *err = NULL, *cache = test_root_path(&root, "/names");
        AptSessionOptions o = {.lock = false};
        ck_assert_msg(apt_session_open(&s, &root.host, &o, &err) == 0, "open: %s", err);
        ck_assert_msg(apt_session_update(&s, &err) == 0, "update: %s", err);
        for (int pass = 0; pass < 2; pass++) { /* the lists, then the cache of them */
                char **files = NULL;
                AptNames *n = NULL;
                ck_assert_msg(apt_shim_names(s.shim, cache, &files, &n, &err) == 0, "names: %s", err);
                ck_assert_int_eq(strv_length(files), 2);
                ck_assert_ptr_nonnull(strstr(files[0], "sources.list"));
                ck_assert_ptr_nonnull(strstr(files[1], "other.list"));
                ck_assert_uint_eq(apt_names_files(n, "nvidia-open"), 1);
                ck_assert_uint_eq(apt_names_files(n, "nvidia-container-toolkit"), 1);
                static const char *const theirs[] = {"alpha", "virt-a", "virt-b", "virt-c", "lower", "last", "virt-last"};
                for (size_t i = 0; i < ELEMENTSOF(theirs); i++)
                        ck_assert_msg(apt_names_files(n, theirs[i]) == 2, "%s: %llu", theirs[i],
                                      (unsigned long long) apt_names_files(n, theirs[i]));
                ck_assert_uint_eq(apt_names_files(n, "alph"), 0);
                ck_assert_uint_eq(apt_names_files(n, "virt"), 0);
                ck_assert_uint_eq(apt_names_files(n, "1"), 0);
                apt_names_free(n);
                strv_free(files);
        }
        _cleanup_free_ char *listing = test_sh(cache, "ls '%s'", cache);
        ck_assert_msg(strstr(listing, "other_._Packages.names"), "the cache: %s", listing);
        apt_session_close(&s);
        test_rm_rf(other);
}
END_TEST

Suite *apt_suite(void) {
        Suite *s = suite_create("apt");
        TCase *tc = tcase_create("version");
        tcase_add_test(tc, test_version_cmp);
        tcase_add_test(tc, test_keyring_sources);
        tcase_add_test(tc, test_lists_missing);
        tcase_add_test(tc, test_dpkg_failure_detail);
        suite_add_tcase(s, tc);
        tc = tcase_create("pick");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, test_pick_version_globs);
        tcase_add_test(tc, test_list_names);
        suite_add_tcase(s, tc);
        return s;
}
