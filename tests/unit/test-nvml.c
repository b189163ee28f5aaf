/* NVML through the same dlopen() path as on a real host, against the fake library built from
 * tests/fixtures/nvml/fake-nvml.c (its path in $GPUBASE_FAKE_NVML), copied into temporary roots.
 * Also the nvidia-smi CSV parser and nvidia_smi_query with stand-in nvidia-smi scripts. */
#include <check.h>
#include <dlfcn.h>
#include <ftw.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "checks/nvml.h"
#include "tests.h"

Suite *nvml_suite(void);

#define LIBDIR_MULTIARCH "/usr/lib/x86_64-linux-gnu"

static const char *fake_library(void) {
        const char *p = getenv("GPUBASE_FAKE_NVML");
        if (isempty(p))
                ck_abort_msg("GPUBASE_FAKE_NVML is not set: run through `make unit` (it builds "
                             "build/fixtures/libnvidia-ml.so.1 and exports the path)");
        if (access(p, R_OK) < 0)
                ck_abort_msg("GPUBASE_FAKE_NVML=%s: %s (run `make build/fixtures/libnvidia-ml.so.1`)", p,
                             strerror(errno));
        return p;
}

/* Checked fixture of the nvml_query cases: fail before any temporary root is made. */
static void require_fake_library(void) {
        (void) fake_library();
}

static char *make_root(void) {
        const char *tmp = getenv("TMPDIR");
        char *t = xasprintf("%s/gpubase-nvml-XXXXXX", isempty(tmp) ? "/tmp" : tmp);
        ck_assert_msg(mkdtemp(t), "mkdtemp: %s", strerror(errno));
        return t;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
        (void) st;
        (void) ftw;
        return flag == FTW_DP ? rmdir(path) : unlink(path);
}

static void rm_root(char *root) {
        if (root)
                (void) nftw(root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
        free(root);
}

static void write_text(const char *path, const char *text, unsigned mode) {
        ck_assert_int_eq(mkdir_parents(path, 0755), 0);
        ck_assert_int_eq(write_file_atomic(path, text, strlen(text), mode), 0);
}

static void copy_file(const char *from, const char *to) {
        _cleanup_free_ char *data = NULL;
        size_t len = 0;
        ck_assert_int_eq(read_file(from, 64 * 1024 * 1024, &data, &len), 0);
        ck_assert_int_eq(mkdir_parents(to, 0755), 0);
        ck_assert_int_eq(write_file_atomic(to, data, len, 0755), 0);
}

/* The fake library at <root><libdir>/libnvidia-ml.so.1, and its fake-nvml.conf beside it (none if conf is NULL). */
static void install_fake(const char *root, const char *libdir, const char *conf) {
        _cleanup_free_ char *lib = xasprintf("%s%s/libnvidia-ml.so.1", root, libdir);
        copy_file(fake_library(), lib);
        if (conf) {
                _cleanup_free_ char *c = xasprintf("%s%s/fake-nvml.conf", root, libdir);
                write_text(c, conf, 0644);
        }
}

static void query_root(const char *root, NvmlInfo *ret) {
        Host h;
        ck_assert_int_eq(host_init(&h, root), 0);
        ck_assert_int_eq(nvml_query(&h, ret), 0);
        host_done(&h);
}

static char *read_text(const char *path) {
        char *s = NULL;
        if (read_file(path, 1024 * 1024, &s, NULL) < 0)
                return xstrdup("");
        return s;
}

/* ---- nvml_query ---- */

START_TEST(test_nvml_healthy_default) {
        char *root = make_root();
        install_fake(root, LIBDIR_MULTIARCH, NULL);
        NvmlInfo i;
        query_root(root, &i);

        ck_assert_str_eq(nvml_status_to_string(i.status), "ok");
        ck_assert_int_eq(i.status, NVML_STATUS_OK);
        ck_assert_ptr_null(i.error);
        _cleanup_free_ char *lib = xasprintf("%s" LIBDIR_MULTIARCH "/libnvidia-ml.so.1", root);
        ck_assert_str_eq(i.library, lib);
        ck_assert_str_eq(i.driver_version, "595.45.01");
        ck_assert_int_eq(i.cuda_version, 13000);
        ck_assert_uint_eq(i.n_gpus, 1);
        ck_assert_str_eq(i.gpus[0].name, "NVIDIA H100 80GB HBM3");
        ck_assert_int_eq(i.gpus[0].cc_major, 9);
        ck_assert_int_eq(i.gpus[0].cc_minor, 0);
        ck_assert_str_eq(i.gpus[0].bus_id, "00000000:18:00.0");
        ck_assert_uint_eq(i.gpus[0].pci_device_id, 0x233010de);
        nvml_info_done(&i);
        rm_root(root);
}
END_TEST

START_TEST(test_nvml_healthy_eight_gpus) {
        char *root = make_root();
        install_fake(root, LIBDIR_MULTIARCH,
                     "# an HGX H100 board\n"
                     "driver=595.45.01\n"
                     "cuda=13000\n"
                     "gpus=8\n"
                     "name=NVIDIA H100 80GB HBM3\n"
                     "cc=9.0\n"
                     "pci_device=0x233010de\n"
                     "log=calls.log\n");
        NvmlInfo i;
        query_root(root, &i);

        ck_assert_int_eq(i.status, NVML_STATUS_OK);
        ck_assert_str_eq(i.driver_version, "595.45.01");
        ck_assert_int_eq(i.cuda_version, 13000);
        ck_assert_uint_eq(i.n_gpus, 8);
        static const char *const bus[] = {"00000000:18:00.0", "00000000:2A:00.0", "00000000:3A:00.0",
                                          "00000000:5D:00.0", "00000000:9A:00.0", "00000000:AB:00.0",
                                          "00000000:BA:00.0", "00000000:DB:00.0"};
        for (unsigned g = 0; g < 8; g++) {
                ck_assert_str_eq(i.gpus[g].name, "NVIDIA H100 80GB HBM3");
                ck_assert_int_eq(i.gpus[g].cc_major, 9);
                ck_assert_int_eq(i.gpus[g].cc_minor, 0);
                ck_assert_str_eq(i.gpus[g].bus_id, bus[g]);
                ck_assert_uint_eq(i.gpus[g].pci_device_id, 0x233010de);
        }
        nvml_info_done(&i);

        /* initialised once and shut down once */
        _cleanup_free_ char *log = xasprintf("%s" LIBDIR_MULTIARCH "/calls.log", root);
        _cleanup_free_ char *calls = read_text(log);
        ck_assert_str_eq(calls, "nvmlInit_v2\nnvmlShutdown\n");
        rm_root(root);
}
END_TEST

START_TEST(test_nvml_other_gpu_and_lib64) {
        char *root = make_root();
        install_fake(root, "/usr/lib64",
                     "driver=570.172.08\ncuda=12080\ngpus=2\nname=NVIDIA A100-SXM4-80GB\ncc=8.0\npci_device=0x20b210de\n");
        NvmlInfo i;
        query_root(root, &i);

        ck_assert_int_eq(i.status, NVML_STATUS_OK);
        ck_assert_ptr_nonnull(strstr(i.library, "/usr/lib64/libnvidia-ml.so.1"));
        ck_assert_str_eq(i.driver_version, "570.172.08");
        ck_assert_int_eq(i.cuda_version, 12080);
        ck_assert_uint_eq(i.n_gpus, 2);
        ck_assert_str_eq(i.gpus[1].name, "NVIDIA A100-SXM4-80GB");
        ck_assert_int_eq(i.gpus[1].cc_major, 8);
        ck_assert_int_eq(i.gpus[1].cc_minor, 0);
        ck_assert_uint_eq(i.gpus[1].pci_device_id, 0x20b210de);
        nvml_info_done(&i);
        rm_root(root);
}
END_TEST

START_TEST(test_nvml_version_mismatch) {
        char *root = make_root();
        install_fake(root, LIBDIR_MULTIARCH, "init_error=18\nlog=calls.log\n");
        NvmlInfo i;
        query_root(root, &i);

        ck_assert_int_eq(i.status, NVML_STATUS_VERSION_MISMATCH);
        ck_assert_str_eq(nvml_status_to_string(i.status), "version-mismatch");
        ck_assert_int_eq(i.nvml_code, 18);
        ck_assert_ptr_nonnull(i.error);
        ck_assert_ptr_nonnull(strstr(i.error, "Driver/library version mismatch"));
        ck_assert_ptr_null(i.driver_version);
        ck_assert_uint_eq(i.n_gpus, 0);
        nvml_info_done(&i);

        /* a failed init is not followed by nvmlShutdown */
        _cleanup_free_ char *log = xasprintf("%s" LIBDIR_MULTIARCH "/calls.log", root);
        _cleanup_free_ char *calls = read_text(log);
        ck_assert_str_eq(calls, "");
        rm_root(root);
}
END_TEST

/* The real library's wording for 18; the error must still carry the words everyone searches for. */
START_TEST(test_nvml_version_mismatch_real_wording) {
        char *root = make_root();
        install_fake(root, LIBDIR_MULTIARCH, "init_error=18\nerror_string=RM has detected an NVML/RM version mismatch.\n");
        NvmlInfo i;
        query_root(root, &i);

        ck_assert_int_eq(i.status, NVML_STATUS_VERSION_MISMATCH);
        ck_assert_ptr_nonnull(strstr(i.error, "Driver/library version mismatch"));
        ck_assert_ptr_nonnull(strstr(i.error, "RM has detected an NVML/RM version mismatch."));
        nvml_info_done(&i);
        rm_root(root);
}
END_TEST

START_TEST(test_nvml_driver_not_loaded) {
        char *root = make_root();
        install_fake(root, LIBDIR_MULTIARCH, "init_error=9\n");
        NvmlInfo i;
        query_root(root, &i);

        ck_assert_int_eq(i.status, NVML_STATUS_DRIVER_NOT_LOADED);
        ck_assert_int_eq(i.nvml_code, 9);
        ck_assert_str_eq(i.error, "Driver Not Loaded");
        ck_assert_uint_eq(i.n_gpus, 0);
        nvml_info_done(&i);
        rm_root(root);
}
END_TEST

START_TEST(test_nvml_other_init_error) {
        char *root = make_root();
        install_fake(root, LIBDIR_MULTIARCH, "init_error=4\n");
        NvmlInfo i;
        query_root(root, &i);

        ck_assert_int_eq(i.status, NVML_STATUS_ERROR);
        ck_assert_int_eq(i.nvml_code, 4);
        ck_assert_str_eq(i.error, "Insufficient Permissions");
        nvml_info_done(&i);
        rm_root(root);
}
END_TEST

/* The fake library, loaded RTLD_GLOBAL from outside the root for the duration of fn, so that
 * dlopen("libnvidia-ml.so.1") by name would find it: a host library that must not be used. */
static void *hold_host_library(char **ret_dir) {
        char *dir = make_root();
        install_fake(dir, "", "driver=1.0.host\n");
        _cleanup_free_ char *lib = xasprintf("%s/libnvidia-ml.so.1", dir);
        void *dl = dlopen(lib, RTLD_NOW | RTLD_GLOBAL);
        ck_assert_msg(dl, "dlopen %s: %s", lib, dlerror());
        /* proof that a lookup by name now succeeds */
        void *by_name = dlopen("libnvidia-ml.so.1", RTLD_NOW | RTLD_NOLOAD);
        ck_assert_ptr_nonnull(by_name);
        dlclose(by_name);
        *ret_dir = dir;
        return dl;
}

START_TEST(test_nvml_no_library_in_root) {
        char *host_dir = NULL;
        void *held = hold_host_library(&host_dir);

        char *root = make_root();
        NvmlInfo i;
        query_root(root, &i);

        ck_assert_int_eq(i.status, NVML_STATUS_NO_LIBRARY);
        ck_assert_str_eq(nvml_status_to_string(i.status), "no-library");
        ck_assert_int_eq(i.nvml_code, 12);
        ck_assert_ptr_null(i.driver_version); /* the host's "1.0.host" was not used */
        ck_assert_ptr_nonnull(i.error);
        ck_assert_ptr_nonnull(strstr(i.error, root));
        /* every candidate is inside the root */
        static const char *const dirs[] = {"/usr/lib/x86_64-linux-gnu/", "/usr/lib/aarch64-linux-gnu/", "/usr/lib64/",
                                           "/usr/lib/"};
        for (size_t d = 0; d < ELEMENTSOF(dirs); d++) {
                _cleanup_free_ char *p = xasprintf("%s%slibnvidia-ml.so.1", root, dirs[d]);
                ck_assert_msg(strstr(i.library, p), "%s not in \"%s\"", p, i.library);
        }
        _cleanup_strv_free_ char **parts = NULL;
        for (const char *s = i.library; s;) {
                const char *comma = strstr(s, ", ");
                strv_push(&parts, comma ? xstrndup(s, (size_t) (comma - s)) : xstrdup(s));
                s = comma ? comma + 2 : NULL;
        }
        ck_assert_uint_eq(strv_length(parts), ELEMENTSOF(dirs));
        for (char **p = parts; *p; p++)
                ck_assert_msg(startswith(*p, root), "%s is outside the root", *p);
        nvml_info_done(&i);

        dlclose(held);
        rm_root(host_dir);
        rm_root(root);
}
END_TEST

/* Without a root the library is looked up by name (here: the one already loaded). */
START_TEST(test_nvml_unrooted_by_name) {
        char *host_dir = NULL;
        void *held = hold_host_library(&host_dir);

        Host h;
        ck_assert_int_eq(host_init(&h, NULL), 0);
        NvmlInfo i;
        ck_assert_int_eq(nvml_query(&h, &i), 0);
        host_done(&h);

        ck_assert_int_eq(i.status, NVML_STATUS_OK);
        ck_assert_str_eq(i.library, "libnvidia-ml.so.1");
        ck_assert_str_eq(i.driver_version, "1.0.host");
        nvml_info_done(&i);

        dlclose(held);
        rm_root(host_dir);
}
END_TEST

/* A file that exists but is not a loadable library: its dlerror() is the one reported. */
START_TEST(test_nvml_broken_library) {
        char *root = make_root();
        _cleanup_free_ char *lib = xasprintf("%s/usr/lib64/libnvidia-ml.so.1", root);
        write_text(lib, "not an ELF file\n", 0644);
        NvmlInfo i;
        query_root(root, &i);

        ck_assert_int_eq(i.status, NVML_STATUS_NO_LIBRARY);
        ck_assert_msg(strstr(i.error, lib), "error \"%s\" does not name %s", i.error, lib);
        nvml_info_done(&i);
        rm_root(root);
}
END_TEST

START_TEST(test_nvml_gpu_lost) {
        char *root = make_root();
        install_fake(root, LIBDIR_MULTIARCH, "gpus=4\nlost_gpu=2\nlog=calls.log\n");
        NvmlInfo i;
        query_root(root, &i);

        ck_assert_int_eq(i.status, NVML_STATUS_ERROR);
        ck_assert_int_eq(i.nvml_code, 15);
        ck_assert_ptr_nonnull(strstr(i.error, "GPU is lost"));
        ck_assert_ptr_nonnull(strstr(i.error, "(2)"));
        ck_assert_str_eq(i.driver_version, "595.45.01");
        ck_assert_uint_eq(i.n_gpus, 3); /* the others are still reported */
        ck_assert_str_eq(i.gpus[2].bus_id, "00000000:5D:00.0");
        nvml_info_done(&i);

        _cleanup_free_ char *log = xasprintf("%s" LIBDIR_MULTIARCH "/calls.log", root);
        _cleanup_free_ char *calls = read_text(log);
        ck_assert_str_eq(calls, "nvmlInit_v2\nnvmlShutdown\n");
        rm_root(root);
}
END_TEST

START_TEST(test_nvml_unsupported_fields) {
        char *root = make_root();
        install_fake(root, LIBDIR_MULTIARCH, "cuda=unsupported\ncc=unsupported\n");
        NvmlInfo i;
        query_root(root, &i);

        ck_assert_int_eq(i.status, NVML_STATUS_OK);
        ck_assert_int_eq(i.cuda_version, 0);
        ck_assert_uint_eq(i.n_gpus, 1);
        ck_assert_int_eq(i.gpus[0].cc_major, -1);
        ck_assert_int_eq(i.gpus[0].cc_minor, -1);
        ck_assert_str_eq(i.gpus[0].name, "NVIDIA H100 80GB HBM3");
        nvml_info_done(&i);
        rm_root(root);
}
END_TEST

START_TEST(test_nvml_too_many_gpus) {
        char *root = make_root();
        install_fake(root, "/usr/lib", "gpus=100\n");
        NvmlInfo i;
        query_root(root, &i);

        ck_assert_int_eq(i.status, NVML_STATUS_OK);
        ck_assert_uint_eq(i.n_gpus, NVML_MAX_GPUS);
        ck_assert_str_eq(i.gpus[NVML_MAX_GPUS - 1].name, "NVIDIA H100 80GB HBM3");
        nvml_info_done(&i);
        rm_root(root);
}
END_TEST

/* ---- parse_nvidia_smi_csv ---- */

START_TEST(test_smi_csv_several) {
        NvmlInfo i = {0};
        ck_assert_int_eq(parse_nvidia_smi_csv("595.45.01, NVIDIA H100 80GB HBM3, 9.0, 00000000:18:00.0\n"
                                              "595.45.01, NVIDIA H100 80GB HBM3, 9.0, 00000000:2A:00.0\n"
                                              "595.45.01, NVIDIA H100 80GB HBM3, 9.0, 00000000:3A:00.0\n",
                                              &i),
                         0);
        ck_assert_str_eq(i.driver_version, "595.45.01");
        ck_assert_uint_eq(i.n_gpus, 3);
        ck_assert_str_eq(i.gpus[0].name, "NVIDIA H100 80GB HBM3");
        ck_assert_int_eq(i.gpus[0].cc_major, 9);
        ck_assert_int_eq(i.gpus[0].cc_minor, 0);
        ck_assert_str_eq(i.gpus[2].bus_id, "00000000:3A:00.0");
        ck_assert_uint_eq(i.gpus[2].pci_device_id, 0);
        nvml_info_done(&i);
}
END_TEST

START_TEST(test_smi_csv_spaces) {
        NvmlInfo i = {0};
        ck_assert_int_eq(parse_nvidia_smi_csv("\n  535.104.05 ,  Tesla V100-SXM2-16GB ,7.0,00000000:00:1E.0  \r\n\n"
                                              "535.104.05, NVIDIA GeForce RTX 4090, 8.9, 00000000:01:00.0",
                                              &i),
                         0);
        ck_assert_str_eq(i.driver_version, "535.104.05");
        ck_assert_uint_eq(i.n_gpus, 2);
        ck_assert_str_eq(i.gpus[0].name, "Tesla V100-SXM2-16GB");
        ck_assert_int_eq(i.gpus[0].cc_major, 7);
        ck_assert_int_eq(i.gpus[0].cc_minor, 0);
        ck_assert_str_eq(i.gpus[0].bus_id, "00000000:00:1E.0");
        ck_assert_str_eq(i.gpus[1].name, "NVIDIA GeForce RTX 4090");
        ck_assert_int_eq(i.gpus[1].cc_major, 8);
        ck_assert_int_eq(i.gpus[1].cc_minor, 9);
        nvml_info_done(&i);
}
END_TEST

START_TEST(test_smi_csv_unknown_cc) {
        NvmlInfo i = {0};
        ck_assert_int_eq(parse_nvidia_smi_csv("470.256.02, Tesla K80, [N/A], 00000000:00:04.0\n", &i), 0);
        ck_assert_uint_eq(i.n_gpus, 1);
        ck_assert_int_eq(i.gpus[0].cc_major, -1);
        ck_assert_int_eq(i.gpus[0].cc_minor, -1);
        nvml_info_done(&i);
}
END_TEST

START_TEST(test_smi_csv_empty) {
        NvmlInfo i = {0};
        ck_assert_int_eq(parse_nvidia_smi_csv("", &i), 0);
        ck_assert_uint_eq(i.n_gpus, 0);
        ck_assert_ptr_null(i.driver_version);
        nvml_info_done(&i);
}
END_TEST

START_TEST(test_smi_csv_bad) {
        static const char *const bad[] = {
                "595.45.01, NVIDIA H100 80GB HBM3, 9.0\n",                              /* three fields */
                "595.45.01, NVIDIA H100 80GB HBM3, 9.0, 00000000:18:00.0, extra\n",     /* five */
                "595.45.01, NVIDIA H100 80GB HBM3, 9.0, 00000000:18:00.0\ngarbage\n",   /* a bad line after a good one */
                "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver.\n",
                ", NVIDIA H100 80GB HBM3, 9.0, 00000000:18:00.0\n",                      /* empty driver */
        };
        for (size_t k = 0; k < ELEMENTSOF(bad); k++) {
                NvmlInfo i = {.status = NVML_STATUS_NO_LIBRARY, .library = xstrdup("kept")};
                ck_assert_msg(parse_nvidia_smi_csv(bad[k], &i) == -EBADMSG, "accepted: %s", bad[k]);
                /* nothing changed */
                ck_assert_uint_eq(i.n_gpus, 0);
                ck_assert_ptr_null(i.driver_version);
                ck_assert_str_eq(i.library, "kept");
                nvml_info_done(&i);
        }
}
END_TEST

/* The fallback after a failed NVML load keeps what the load found out. */
START_TEST(test_smi_csv_keeps_other_fields) {
        NvmlInfo i = {.status = NVML_STATUS_NO_LIBRARY, .library = xstrdup("libnvidia-ml.so.1"),
                      .error = xstrdup("not found"), .driver_version = xstrdup("old")};
        ck_assert_int_eq(parse_nvidia_smi_csv("595.45.01, NVIDIA H200, 9.0, 00000000:18:00.0\n", &i), 0);
        ck_assert_int_eq(i.status, NVML_STATUS_NO_LIBRARY);
        ck_assert_str_eq(i.library, "libnvidia-ml.so.1");
        ck_assert_str_eq(i.error, "not found");
        ck_assert_str_eq(i.driver_version, "595.45.01");
        ck_assert_uint_eq(i.n_gpus, 1);
        nvml_info_done(&i);
}
END_TEST

/* ---- nvidia_smi_query ---- */

/* A root with the script as its nvidia-smi, and the /bin/sh it needs: under --root the root's
 * programs run only inside the root (chroot). */
static char *root_with_smi(const char *script) {
        char *root = make_root();
        _cleanup_free_ char *p = xasprintf("%s/usr/bin/nvidia-smi", root);
        _cleanup_free_ char *sh = xasprintf("%s/fixtures/add-shell.sh '%s'", test_data_dir(), root);
        write_text(p, script, 0755);
        ck_assert_int_eq(system(sh), 0);
        return root;
}

static int smi_query_root(const char *root, NvmlInfo *i, int *ret_exit) {
        Host h;
        ck_assert_int_eq(host_init(&h, root), 0);
        int r = nvidia_smi_query(&h, i, ret_exit, NULL);
        host_done(&h);
        return r;
}

START_TEST(test_smi_query_ok) {
        char *root = root_with_smi(
                "#!/bin/sh\n"
                "[ \"$1\" = --query-gpu=driver_version,name,compute_cap,pci.bus_id ] || exit 2\n"
                "[ \"$2\" = --format=csv,noheader ] || exit 2\n"
                "[ $# -eq 2 ] || exit 2\n"
                "echo '595.45.01, NVIDIA H100 80GB HBM3, 9.0, 00000000:18:00.0'\n"
                "echo '595.45.01, NVIDIA H100 80GB HBM3, 9.0, 00000000:2A:00.0'\n");
        NvmlInfo i = {0};
        int code = -1;
        ck_assert_int_eq(smi_query_root(root, &i, &code), 0);
        ck_assert_int_eq(code, 0);
        ck_assert_str_eq(i.driver_version, "595.45.01");
        ck_assert_uint_eq(i.n_gpus, 2);
        ck_assert_str_eq(i.gpus[1].bus_id, "00000000:2A:00.0");
        ck_assert_int_eq(i.gpus[1].cc_major, 9);
        nvml_info_done(&i);
        rm_root(root);
}
END_TEST

START_TEST(test_smi_query_driver_not_loaded) {
        char *root = root_with_smi(
                "#!/bin/sh\n"
                "echo \"NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver. "
                "Make sure that the latest NVIDIA driver is installed and running.\"\n"
                "exit 9\n");
        NvmlInfo i = {0};
        int code = -1;
        ck_assert_int_eq(smi_query_root(root, &i, &code), 0);
        ck_assert_int_eq(code, 9);
        ck_assert_uint_eq(i.n_gpus, 0);
        ck_assert_ptr_null(i.driver_version);
        nvml_info_done(&i);
        rm_root(root);
}
END_TEST

START_TEST(test_smi_query_garbage) {
        char *root = root_with_smi("#!/bin/sh\necho 'this is not csv'\n");
        NvmlInfo i = {0};
        int code = -1;
        ck_assert_int_eq(smi_query_root(root, &i, &code), -EBADMSG);
        ck_assert_int_eq(code, 0);
        nvml_info_done(&i);
        rm_root(root);
}
END_TEST

START_TEST(test_smi_query_absent) {
        char *root = make_root();
        NvmlInfo i = {0};
        int code = -1;
        ck_assert_int_eq(smi_query_root(root, &i, &code), -ENOENT);
        ck_assert_int_eq(code, -1);
        nvml_info_done(&i);
        rm_root(root);
}
END_TEST

Suite *nvml_suite(void) {
        Suite *s = suite_create("nvml");
        TCase *tc = tcase_create("nvml_query");
        tcase_add_checked_fixture(tc, require_fake_library, NULL);
        tcase_add_test(tc, test_nvml_healthy_default);
        tcase_add_test(tc, test_nvml_healthy_eight_gpus);
        tcase_add_test(tc, test_nvml_other_gpu_and_lib64);
        tcase_add_test(tc, test_nvml_version_mismatch);
        tcase_add_test(tc, test_nvml_version_mismatch_real_wording);
        tcase_add_test(tc, test_nvml_driver_not_loaded);
        tcase_add_test(tc, test_nvml_other_init_error);
        tcase_add_test(tc, test_nvml_no_library_in_root);
        tcase_add_test(tc, test_nvml_unrooted_by_name);
        tcase_add_test(tc, test_nvml_broken_library);
        tcase_add_test(tc, test_nvml_gpu_lost);
        tcase_add_test(tc, test_nvml_unsupported_fields);
        tcase_add_test(tc, test_nvml_too_many_gpus);
        suite_add_tcase(s, tc);

        tc = tcase_create("nvidia-smi");
        tcase_add_test(tc, test_smi_csv_several);
        tcase_add_test(tc, test_smi_csv_spaces);
        tcase_add_test(tc, test_smi_csv_unknown_cc);
        tcase_add_test(tc, test_smi_csv_empty);
        tcase_add_test(tc, test_smi_csv_bad);
        tcase_add_test(tc, test_smi_csv_keeps_other_fields);
        tcase_add_test(tc, test_smi_query_ok);
        tcase_add_test(tc, test_smi_query_driver_not_loaded);
        tcase_add_test(tc, test_smi_query_garbage);
        tcase_add_test(tc, test_smi_query_absent);
        tcase_set_timeout(tc, 60);
        suite_add_tcase(s, tc);
        return s;
}
