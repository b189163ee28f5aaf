/* The pure parsers behind the GPU-stack checks (agent/checks/facts.h) and Debian version handling
 * (agent/host/version.h), on inputs in the formats real hosts produce: /proc/driver/nvidia/version
 * lines, `nvidia-ctk --version`, `nvcc --version`, /etc/docker/daemon.json as nvidia-ctk and older
 * tools write it, containerd's config.toml and drop-in, dpkg's status file; the CUDA <-> driver
 * table (plans/data/cuda-driver.tsv). No root directory, no files: everything here is in memory.
 *
 * The "regressions" case holds inputs the agent once got wrong (each test says what a real host
 * does). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checks/facts.h"
#include "host/aptshim_load.h"
#include "host/dpkg.h"
#include "host/version.h"
#include "tests.h"

Suite *facts_suite(void);

/* ---- /proc/driver/nvidia/version ---- */

static void expect_proc(const char *line, DriverFlavor flavor, const char *version, const char *arch) {
        ProcVersion p = {0};
        int r = parse_proc_version(line, &p);
        ck_assert_msg(r == 0, "parse_proc_version(\"%s\") = %d", line, r);
        ck_assert_msg(p.flavor == flavor, "flavor of \"%s\": %s", line, driver_flavor_to_string(p.flavor));
        ck_assert_str_eq(p.version, version);
        if (arch)
                ck_assert_pstr_eq(p.arch, arch);
        else
                ck_assert_ptr_null(p.arch);
        proc_version_done(&p);
        ck_assert_ptr_null(p.version);
}

static void expect_proc_bad(const char *line) {
        ProcVersion p = {0};
        ck_assert_msg(parse_proc_version(line, &p) == -EBADMSG, "parse_proc_version(\"%s\") accepted it", line);
        ck_assert_ptr_null(p.version);
        ck_assert_ptr_null(p.arch);
}

START_TEST(test_proc_open_x86_64) {
        expect_proc("NVRM version: NVIDIA UNIX Open Kernel Module for x86_64  595.45.01  Release Build  "
                    "(dvs-builder@U16-I3-B03-4-3)  Thu Oct 30 2025",
                    DRIVER_FLAVOR_OPEN, "595.45.01", "x86_64");
        /* Ubuntu's nvidia-driver-565-open, with the date in UTC and the whole file (two lines) */
        expect_proc("NVRM version: NVIDIA UNIX Open Kernel Module for x86_64  565.57.01  Release Build  "
                    "(dvs-builder@U16-A24-9-2)  Thu Oct 10 12:15:00 UTC 2024\n"
                    "GCC version:  gcc version 13.3.0 (Ubuntu 13.3.0-6ubuntu2~24.04)\n",
                    DRIVER_FLAVOR_OPEN, "565.57.01", "x86_64");
        /* a distribution build: two-part version, local builder, a date that is not ASCII */
        expect_proc("NVRM version: NVIDIA UNIX Open Kernel Module for x86_64  555.58  Release Build  "
                    "(portage@localhost)  Сб 29 июн 2024 14:36:22 MSK",
                    DRIVER_FLAVOR_OPEN, "555.58", "x86_64");
        /* no trailing date at all */
        expect_proc("NVRM version: NVIDIA UNIX Open Kernel Module for x86_64  525.60.11  Release Build  "
                    "(archlinux-builder@localhost)  ",
                    DRIVER_FLAVOR_OPEN, "525.60.11", "x86_64");
}
END_TEST

START_TEST(test_proc_proprietary) {
        expect_proc("NVRM version: NVIDIA UNIX x86_64 Kernel Module  535.104.05  Sat Aug 19 01:15:15 UTC 2023",
                    DRIVER_FLAVOR_PROPRIETARY, "535.104.05", "x86_64");
        expect_proc("NVRM version: NVIDIA UNIX x86_64 Kernel Module  470.256.02  Thu May  2 14:37:44 UTC 2024\n"
                    "GCC version:  gcc version 12.2.0 (Debian 12.2.0-14)\n",
                    DRIVER_FLAVOR_PROPRIETARY, "470.256.02", "x86_64");
}
END_TEST

START_TEST(test_proc_aarch64) {
        expect_proc("NVRM version: NVIDIA UNIX Open Kernel Module for aarch64  570.86.15  Release Build  "
                    "(dvs-builder@U16-I2-C04-12-3)  Wed Jan 22 2025",
                    DRIVER_FLAVOR_OPEN, "570.86.15", "aarch64");
        /* Jetson (L4T): a three-part version with a one-digit middle */
        expect_proc("NVRM version: NVIDIA UNIX Open Kernel Module for aarch64  540.4.0  Release Build  "
                    "(buildbrain@mobile-u64-6336-d8000)  Tue Jan  9 17:20:50 PST 2024",
                    DRIVER_FLAVOR_OPEN, "540.4.0", "aarch64");
        expect_proc("NVRM version: NVIDIA UNIX aarch64 Kernel Module  535.104.05  Sat Aug 19 01:13:37 UTC 2023",
                    DRIVER_FLAVOR_PROPRIETARY, "535.104.05", "aarch64");
}
END_TEST

START_TEST(test_proc_vgpu) {
        /* a vGPU (GRID) guest driver is the proprietary build; its version is the vGPU release's */
        expect_proc("NVRM version: NVIDIA UNIX x86_64 Kernel Module  570.148.08  Mon May  5 11:36:21 UTC 2025",
                    DRIVER_FLAVOR_PROPRIETARY, "570.148.08", "x86_64");
        expect_proc("NVRM version: NVIDIA UNIX x86_64 Kernel Module  535.161.08  Tue Mar  5 22:42:15 UTC 2024",
                    DRIVER_FLAVOR_PROPRIETARY, "535.161.08", "x86_64");
}
END_TEST

START_TEST(test_proc_garbage) {
        expect_proc_bad("");
        expect_proc_bad("\n");
        expect_proc_bad("hello");
        expect_proc_bad("NVRM version: ");
        expect_proc_bad("GCC version:  gcc version 12.2.0 (Debian 12.2.0-14)");
        expect_proc_bad("NVRM version: NVIDIA UNIX x86_64 Kernel Module");
        expect_proc_bad("NVRM version: NVIDIA UNIX x86_64 Kernel Module  Release Build  (x@y)");
        expect_proc_bad("NVIDIA UNIX x86_64 Kernel Module  535.104.05  Sat Aug 19 01:15:15 UTC 2023");
        expect_proc_bad("cat: /proc/driver/nvidia/version: No such file or directory");
}
END_TEST

/* ---- nvidia-ctk --version, nvcc --version ---- */

static void expect_parsed(int (*parse)(const char *, char **), const char *text, const char *want) {
        char *v = NULL;
        int r = parse(text, &v);
        if (!want) {
                ck_assert_msg(r == -EBADMSG, "\"%s\" parsed as \"%s\"", text, v ? v : "?");
                ck_assert_ptr_null(v);
                return;
        }
        ck_assert_msg(r == 0, "\"%s\" not parsed: %d", text, r);
        ck_assert_str_eq(v, want);
        free(v);
}

START_TEST(test_ctk_version) {
        expect_parsed(parse_ctk_version,
                      "NVIDIA Container Toolkit CLI version 1.19.0\ncommit: 1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b\n",
                      "1.19.0");
        expect_parsed(parse_ctk_version,
                      "NVIDIA Container Toolkit CLI version 1.13.5\ncommit: 6b8589dcb4dead72ab64f14a5912886e6165c079",
                      "1.13.5");
        expect_parsed(parse_ctk_version, "NVIDIA Container Toolkit CLI version 1.18.0-rc.1\ncommit: abc", "1.18.0-rc.1");
        expect_parsed(parse_ctk_version, "NVIDIA Container Toolkit CLI version 1.17.8\r\ncommit: abc\r\n", "1.17.8");
        expect_parsed(parse_ctk_version, "NVIDIA Container Toolkit CLI version 1.19.0", "1.19.0");
        expect_parsed(parse_ctk_version, "", NULL);
        expect_parsed(parse_ctk_version, "sh: 1: nvidia-ctk: not found", NULL);
        expect_parsed(parse_ctk_version, "NVIDIA Container Toolkit CLI version \ncommit: abc", NULL);
        /* nvidia-container-cli's own --version is another tool's format */
        expect_parsed(parse_ctk_version, "cli-version: 1.19.0\nlib-version: 1.19.0\nbuild date: 2025-03-12", NULL);
}
END_TEST

START_TEST(test_nvcc_version) {
        expect_parsed(parse_nvcc_version,
                      "nvcc: NVIDIA (R) Cuda compiler driver\n"
                      "Copyright (c) 2005-2025 NVIDIA Corporation\n"
                      "Built on Fri_Feb_21_20:23:50_PST_2025\n"
                      "Cuda compilation tools, release 12.8, V12.8.93\n"
                      "Build cuda_12.8.r12.8/compiler.35583870_0\n",
                      "12.8");
        expect_parsed(parse_nvcc_version, "Cuda compilation tools, release 13.0, V13.0.48\n", "13.0");
        expect_parsed(parse_nvcc_version, "Cuda compilation tools, release 11.8, V11.8.89", "11.8");
        expect_parsed(parse_nvcc_version, "", NULL);
        expect_parsed(parse_nvcc_version, "bash: nvcc: command not found", NULL);
        expect_parsed(parse_nvcc_version, "Cuda compilation tools, release , V", NULL);
}
END_TEST

/* ---- daemon.json ---- */

/* exactly what `nvidia-ctk runtime configure --runtime=docker` writes to a missing file */
static const char ctk_written[] = "{\n"
                                  "    \"runtimes\": {\n"
                                  "        \"nvidia\": {\n"
                                  "            \"args\": [],\n"
                                  "            \"path\": \"nvidia-container-runtime\"\n"
                                  "        }\n"
                                  "    }\n"
                                  "}";

static int dj(const char *text, DaemonJson *d) {
        char *err = NULL;
        *d = (DaemonJson){0};
        int r = daemon_json_parse(text, strlen(text), d, &err);
        ck_assert_msg(r == 0, "daemon.json \"%s\" refused: %s", text, err ? err : "?");
        ck_assert_ptr_null(err);
        return r;
}

/* The parse error; the caller frees it. */
static char *dj_bad(const char *text, size_t len) {
        DaemonJson d = {0};
        char *err = NULL;
        int r = daemon_json_parse(text, len, &d, &err);
        ck_assert_msg(r == -EBADMSG, "daemon.json \"%.*s\" accepted (%d)", (int) len, text, r);
        ck_assert_msg(!isempty(err), "no error message for \"%.*s\"", (int) len, text);
        ck_assert(!d.has_nvidia && !d.nvidia_path && !d.default_runtime && d.other_keys == 0);
        return err;
}

static void expect_dj_bad(const char *text, const char *words) {
        _cleanup_free_ char *err = dj_bad(text, strlen(text));
        ck_assert_msg(strstr(err, words), "error for \"%s\" is \"%s\", wanted \"%s\"", text, err, words);
}

START_TEST(test_daemon_json_ctk_written) {
        DaemonJson d;
        dj(ctk_written, &d);
        ck_assert(d.has_nvidia);
        ck_assert_pstr_eq(d.nvidia_path, "nvidia-container-runtime");
        ck_assert(!d.nvidia_runtime_args);
        ck_assert_ptr_null(d.default_runtime);
        ck_assert(!d.cdi);
        ck_assert_uint_eq(d.other_keys, 0);
        daemon_json_done(&d);
        ck_assert_ptr_null(d.nvidia_path);
}
END_TEST

START_TEST(test_daemon_json_runtime_args) {
        DaemonJson d;
        /* what old Ansible roles wrote */
        dj("{\"runtimes\": {\"nvidia\": {\"path\": \"/usr/bin/nvidia-container-runtime\", \"runtimeArgs\": []}}}", &d);
        ck_assert(d.has_nvidia);
        ck_assert(d.nvidia_runtime_args);
        ck_assert_pstr_eq(d.nvidia_path, "/usr/bin/nvidia-container-runtime");
        daemon_json_done(&d);
        dj("{\"runtimes\": {\"nvidia\": {\"args\": [\"--debug\"], \"path\": \"nvidia-container-runtime\"}}}", &d);
        ck_assert(d.has_nvidia && !d.nvidia_runtime_args);
        daemon_json_done(&d);
}
END_TEST

START_TEST(test_daemon_json_other_keys) {
        DaemonJson d;
        dj("{\n"
           "    \"data-root\": \"/srv/docker\",\n"
           "    \"log-driver\": \"json-file\",\n"
           "    \"log-opts\": {\"max-size\": \"100m\", \"max-file\": \"3\"},\n"
           "    \"registry-mirrors\": [\"https://mirror.example.com\"],\n"
           "    \"runtimes\": {\n"
           "        \"nvidia\": {\"args\": [], \"path\": \"nvidia-container-runtime\"},\n"
           "        \"crun\": {\"path\": \"/usr/bin/crun\"}\n"
           "    }\n"
           "}\n",
           &d);
        ck_assert(d.has_nvidia);
        ck_assert_uint_eq(d.other_keys, 4);
        daemon_json_done(&d);
        /* other keys only: no nvidia runtime */
        dj("{\"log-driver\": \"journald\", \"runtimes\": {\"crun\": {\"path\": \"/usr/bin/crun\"}}}", &d);
        ck_assert(!d.has_nvidia);
        ck_assert_ptr_null(d.nvidia_path);
        ck_assert_uint_eq(d.other_keys, 1);
        daemon_json_done(&d);
        /* an empty object is valid (it is what a missing file counts as) */
        dj("{}", &d);
        ck_assert(!d.has_nvidia && d.other_keys == 0);
        daemon_json_done(&d);
        /* runtimes.nvidia with no path */
        dj("{\"runtimes\": {\"nvidia\": {\"args\": []}}}", &d);
        ck_assert(d.has_nvidia);
        ck_assert_ptr_null(d.nvidia_path);
        daemon_json_done(&d);
}
END_TEST

/* dockerd's types: what it refuses is refused, with the key named */
START_TEST(test_daemon_json_types) {
        expect_dj_bad("{\"features\": {\"cdi\": \"false\"}}", "\"features.cdi\" must be true or false, not a string");
        expect_dj_bad("{\"features\": {\"cdi\": 1}}", "\"features.cdi\" must be true or false, not a number");
        expect_dj_bad("{\"features\": {\"buildkit\": null}}", "\"features.buildkit\" must be true or false, not null");
        expect_dj_bad("{\"features\": [\"cdi\"]}", "\"features\" must be an object, not a list");
        expect_dj_bad("{\"default-runtime\": true}", "\"default-runtime\" must be a string, not true or false");
        expect_dj_bad("{\"runtimes\": [\"nvidia\"]}", "\"runtimes\" must be an object, not a list");
        expect_dj_bad("{\"runtimes\": {\"nvidia\": \"nvidia-container-runtime\"}}",
                      "\"runtimes.nvidia\" must be an object, not a string");
        expect_dj_bad("{\"runtimes\": {\"nvidia\": {\"path\": 42}}}", "\"runtimes.nvidia.path\" must be a string, not a number");
        expect_dj_bad("{\"runtimes\": {\"crun\": {\"path\": \"/usr/bin/crun\", \"runtimeArgs\": \"--debug\"}}}",
                      "\"runtimes.crun.runtimeArgs\" must be a list of strings, not a string");
        expect_dj_bad("{\"runtimes\": {\"crun\": {\"path\": \"/usr/bin/crun\", \"runtimeArgs\": [1]}}}",
                      "\"runtimes.crun.runtimeArgs\" must be a list of strings, not a number");
        static const char cdi_string[] = "{\"features\": {\"cdi\": \"false\"}}";
        _cleanup_free_ char *err = dj_bad(cdi_string, strlen(cdi_string));
        ck_assert_ptr_nonnull(strstr(err, "(dockerd refuses the file)"));

        /* deep nesting in keys gpubase does not read is fine: dockerd takes it */
        Buf b = {0};
        buf_puts(&b, "{\"log-opts\": ");
        for (int i = 0; i < 41; i++)
                buf_puts(&b, "{\"a\": ");
        buf_puts(&b, "1");
        for (int i = 0; i < 42; i++)
                buf_puts(&b, "}");
        _cleanup_free_ char *deep = buf_steal(&b);
        DaemonJson d;
        dj(deep, &d);
        ck_assert_uint_eq(d.other_keys, 1);
        daemon_json_done(&d);
}
END_TEST

START_TEST(test_daemon_json_default_runtime_cdi) {
        DaemonJson d;
        /* --set-as-default and --cdi.enabled */
        dj("{\n"
           "    \"default-runtime\": \"nvidia\",\n"
           "    \"features\": {\n"
           "        \"cdi\": true\n"
           "    },\n"
           "    \"runtimes\": {\n"
           "        \"nvidia\": {\n"
           "            \"args\": [],\n"
           "            \"path\": \"nvidia-container-runtime\"\n"
           "        }\n"
           "    }\n"
           "}",
           &d);
        ck_assert_pstr_eq(d.default_runtime, "nvidia");
        ck_assert(d.cdi);
        ck_assert_uint_eq(d.other_keys, 0);
        daemon_json_done(&d);
        /* CDI without any runtime entry; other features do not count as CDI */
        dj("{\"features\": {\"cdi\": true, \"containerd-snapshotter\": true}}", &d);
        ck_assert(d.cdi && !d.has_nvidia);
        daemon_json_done(&d);
        dj("{\"features\": {\"cdi\": false, \"buildkit\": true}}", &d);
        ck_assert(!d.cdi);
        daemon_json_done(&d);
        dj("{\"features\": {\"buildkit\": true}, \"default-runtime\": \"runc\"}", &d);
        ck_assert(!d.cdi);
        ck_assert_pstr_eq(d.default_runtime, "runc");
        daemon_json_done(&d);
}
END_TEST

START_TEST(test_daemon_json_invalid) {
        /* an empty file: nvidia-ctk refuses it (only a missing file counts as {}) */
        expect_dj_bad("", "unexpected end of file");
        expect_dj_bad(" \n\t\n", "unexpected end of file");
        expect_dj_bad("{\"runtimes\": {", "unexpected end of file");
        expect_dj_bad("{\"log-driver\": tru}", "invalid JSON at byte");
        expect_dj_bad("{\"log-driver\" \"json-file\"}", "invalid JSON at byte");
        expect_dj_bad("[\"runtimes\"]", "not a JSON object");
        expect_dj_bad("\"nvidia\"", "not a JSON object");
        _cleanup_free_ char *null_err = dj_bad("null", 4); /* refused; json-c reports it as unfinished */
        /* trailing garbage, and two documents, with the offset where it starts */
        expect_dj_bad("{\"a\": 1}x", "byte 8");
        expect_dj_bad("{\"a\": 1}\n}\n", "data after the object");
        expect_dj_bad("{}{}", "data after the object");
        /* a NUL inside the length given counts as garbage too */
        _cleanup_free_ char *err = dj_bad("{}\0{}", 5);
        /* trailing whitespace is fine */
        DaemonJson d;
        dj(ctk_written, &d);
        daemon_json_done(&d);
        dj("{\"a\": 1}\n\n  \t\r\n", &d);
        ck_assert_uint_eq(d.other_keys, 1);
        daemon_json_done(&d);
}
END_TEST

/* ---- containerd ---- */

#define DROPIN "/etc/containerd/conf.d/99-nvidia.toml"

static const char dropin_v2[] =
        "version = 2\n"
        "\n"
        "[plugins]\n"
        "  [plugins.\"io.containerd.grpc.v1.cri\"]\n"
        "    [plugins.\"io.containerd.grpc.v1.cri\".containerd]\n"
        "      [plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes]\n"
        "        [plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.nvidia]\n"
        "          runtime_type = \"io.containerd.runc.v2\"\n"
        "          [plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.nvidia.options]\n"
        "            BinaryName = \"/usr/bin/nvidia-container-runtime\"\n";

static const char dropin_v3[] =
        "version = 3\n"
        "[plugins.\"io.containerd.cri.v1.runtime\".containerd.runtimes.nvidia]\n"
        "  runtime_type = \"io.containerd.runc.v2\"\n"
        "  [plugins.\"io.containerd.cri.v1.runtime\".containerd.runtimes.nvidia.options]\n"
        "    BinaryName = \"/usr/bin/nvidia-container-runtime\"\n";

static void expect_cd(const char *config, const char *dropin, bool imports_dropin, const char *imports,
                      bool has_runtime) {
        ContainerdConfig c = {0};
        containerd_inspect(config, dropin, DROPIN, &c);
        ck_assert_msg(c.imports_dropin == imports_dropin, "imports_dropin for config \"%s\"", config ? config : "(none)");
        ck_assert_pstr_eq(c.imports, imports);
        ck_assert(c.dropin_has_runtime == has_runtime);
        containerd_config_done(&c);
        ck_assert_ptr_null(c.imports);
}

START_TEST(test_containerd_glob) {
        expect_cd("version = 2\nimports = [\"/etc/containerd/conf.d/*.toml\"]\n\n[plugins]\n", dropin_v2, true,
                  "imports = [\"/etc/containerd/conf.d/*.toml\"]", true);
        /* containerd 2.x (config version 3) */
        expect_cd("version = 3\nimports = [\"/etc/containerd/conf.d/*.toml\"]\n", dropin_v3, true,
                  "imports = [\"/etc/containerd/conf.d/*.toml\"]", true);
        /* indented, several entries, the drop-in's glob second */
        expect_cd("  imports = [\"/etc/containerd/runtimes.toml\", \"/etc/containerd/conf.d/*.toml\"]\n", dropin_v2, true,
                  "imports = [\"/etc/containerd/runtimes.toml\", \"/etc/containerd/conf.d/*.toml\"]", true);
}
END_TEST

START_TEST(test_containerd_exact_path) {
        expect_cd("imports = [\"" DROPIN "\"]\nversion = 2\n", dropin_v2, true, "imports = [\"" DROPIN "\"]", true);
        /* another file, another directory, or a glob one level too high: not the drop-in */
        expect_cd("imports = [\"/etc/containerd/conf.d/10-other.toml\"]\n", dropin_v2, false,
                  "imports = [\"/etc/containerd/conf.d/10-other.toml\"]", true);
        expect_cd("imports = [\"/etc/containerd/other.d/*.toml\"]\n", dropin_v2, false,
                  "imports = [\"/etc/containerd/other.d/*.toml\"]", true);
        expect_cd("imports = [\"/etc/containerd/*.toml\"]\n", dropin_v2, false, "imports = [\"/etc/containerd/*.toml\"]",
                  true);
        expect_cd("imports = []\n", dropin_v2, false, "imports = []", true);
}
END_TEST

START_TEST(test_containerd_no_imports) {
        expect_cd("version = 2\n\n[plugins]\n  [plugins.\"io.containerd.grpc.v1.cri\"]\n", dropin_v2, false, NULL, true);
        expect_cd("", dropin_v2, false, NULL, true);
        expect_cd(NULL, dropin_v2, false, NULL, true);
        /* a commented-out line is not an import */
        expect_cd("# imports = [\"/etc/containerd/conf.d/*.toml\"]\nversion = 2\n", dropin_v2, false, NULL, true);
}
END_TEST

START_TEST(test_containerd_imports_after_table) {
        /* TOML: after a table header every key belongs to that table; top-level imports come first */
        expect_cd("version = 2\n[plugins]\nimports = [\"/etc/containerd/conf.d/*.toml\"]\n", dropin_v2, false, NULL, true);
        expect_cd("version = 2\n\n[plugins.\"io.containerd.grpc.v1.cri\"]\n  sandbox_image = \"pause:3.9\"\n"
                  "imports = [\"/etc/containerd/conf.d/*.toml\"]\n",
                  dropin_v2, false, NULL, true);
}
END_TEST

START_TEST(test_containerd_dropin) {
        const char *config = "imports = [\"/etc/containerd/conf.d/*.toml\"]\n";
        /* a drop-in that names another runtime binary, or none, or is missing */
        expect_cd(config, "version = 2\n[plugins]\n  BinaryName = \"/usr/bin/runc\"\n", true,
                  "imports = [\"/etc/containerd/conf.d/*.toml\"]", false);
        expect_cd(config, "", true, "imports = [\"/etc/containerd/conf.d/*.toml\"]", false);
        expect_cd(config, NULL, true, "imports = [\"/etc/containerd/conf.d/*.toml\"]", false);
}
END_TEST

/* ---- dpkg status ---- */

static const char dpkg_status[] =
        "Package: nvidia-open\n"
        "Status: hold ok installed\n"
        "Priority: optional\n"
        "Section: NVIDIA\n"
        "Installed-Size: 8\n"
        "Maintainer: cudatools <cudatools@nvidia.com>\n"
        "Architecture: amd64\n"
        "Version: 595.45.01-1\n"
        "Depends: nvidia-driver-cuda (= 595.45.01-1), nvidia-kernel-open-dkms (= 595.45.01-1)\n"
        "Description: NVIDIA open driver metapackage\n"
        " Version: this continuation line is not a field\n"
        "\n"
        "Package: nvidia-open-570\n"
        "Status: install ok installed\n"
        "Architecture: amd64\n"
        "Version: 570.86.15-1\n"
        "\n"
        "Package: nvidia-driver-pinning-595\n"
        "Status: hold ok installed\n"
        "Architecture: all\n"
        "Version: 595-1\n"
        "\n"
        "Package: nvidia-kernel-open-dkms\n"
        "Status: install ok half-configured\n"
        "Architecture: amd64\n"
        "Version: 595.45.01-1\n"
        "\n"
        "Package: cuda-drivers\n"
        "Status: deinstall ok config-files\n"
        "Architecture: amd64\n"
        "Config-Version: 535.104.05-1\n"
        "\n"
        "Package: libnvidia-container1\n"
        "Status: deinstall ok config-files\n"
        "Architecture: i386\n"
        "Config-Version: 1.17.0-1\n"
        "\n"
        "Package: libnvidia-container1\n"
        "Status: hold ok installed\n"
        "Architecture: amd64\n"
        "Multi-Arch: same\n"
        "Version: 1.19.0-1\n"
        "\n"
        "Package: libc6\n"
        "Status: install ok installed\n"
        "Architecture: amd64\n"
        "Multi-Arch: same\n"
        "Version: 2.36-9+deb12u10\n"
        "\n"
        "Package: libc6\n"
        "Status: install ok installed\n"
        "Architecture: i386\n"
        "Multi-Arch: same\n"
        "Version: 2.36-9+deb12u9\n"
        "\n"
        "Package: nvidia-container-toolkit\n"
        "Status: hold ok half-installed\n"
        "Architecture: amd64\n"
        "Version: 1.19.0-1"; /* the last stanza, without a final newline */

static void expect_pkg(const char *name, const char *want_name, const char *version, const char *status, bool installed,
                       bool held) {
        DpkgPackage p = {0};
        int r = dpkg_find_in(dpkg_status, name, &p);
        ck_assert_msg(r == 0, "dpkg_find_in(%s) = %d", name, r);
        ck_assert_str_eq(p.name, want_name);
        ck_assert_str_eq(p.version, version);
        ck_assert_str_eq(p.status, status);
        ck_assert_msg(p.installed == installed, "%s: installed = %d", name, p.installed);
        ck_assert_msg(p.held == held, "%s: held = %d", name, p.held);
        dpkg_package_done(&p);
        ck_assert_ptr_null(p.name);
}

START_TEST(test_dpkg_states) {
        expect_pkg("nvidia-open", "nvidia-open", "595.45.01-1", "hold ok installed", true, true);
        expect_pkg("nvidia-open-570", "nvidia-open-570", "570.86.15-1", "install ok installed", true, false);
        expect_pkg("nvidia-kernel-open-dkms", "nvidia-kernel-open-dkms", "595.45.01-1", "install ok half-configured",
                   false, false);
        /* only the configuration files are left: no Version field */
        expect_pkg("cuda-drivers", "cuda-drivers", "", "deinstall ok config-files", false, false);
        /* held, but the unpack was interrupted */
        expect_pkg("nvidia-container-toolkit", "nvidia-container-toolkit", "1.19.0-1", "hold ok half-installed", false,
                   true);
}
END_TEST

START_TEST(test_dpkg_names) {
        DpkgPackage p = {0};
        ck_assert_int_eq(dpkg_find_in(dpkg_status, "nvidia-driver", &p), -ENOENT);
        ck_assert_int_eq(dpkg_find_in(dpkg_status, "nvidia-ope", &p), -ENOENT);
        ck_assert_int_eq(dpkg_find_in(dpkg_status, "docker.io", &p), -ENOENT);
        ck_assert_int_eq(dpkg_find_in("", "nvidia-open", &p), -ENOENT);
        ck_assert_ptr_null(p.name);
        /* globs, as the driver and pinning lookups use them */
        expect_pkg("nvidia-driver-pinning-*", "nvidia-driver-pinning-595", "595-1", "hold ok installed", true, true);
        expect_pkg("nvidia-open-[0-9]*", "nvidia-open-570", "570.86.15-1", "install ok installed", true, false);
}
END_TEST

START_TEST(test_dpkg_multiarch) {
        /* the i386 stanza holds only config files; the amd64 one is installed: that one is found */
        expect_pkg("libnvidia-container1", "libnvidia-container1", "1.19.0-1", "hold ok installed", true, true);
        /* two installed architectures: the first */
        expect_pkg("libc6", "libc6", "2.36-9+deb12u10", "install ok installed", true, false);
}
END_TEST

/* host/dpkg.c: the parse the apt-install probes use, looked up as libapt's FindPkg() would */
START_TEST(test_dpkg_status_lookup) {
        DpkgStatus st;
        dpkg_status_parse(xstrdup(dpkg_status), &st);
        ck_assert_uint_eq(st.n, 10);
        const DpkgStanza *p = dpkg_status_lookup(&st, "nvidia-open");
        ck_assert_ptr_nonnull(p);
        ck_assert_str_eq(p->version, "595.45.01-1");
        ck_assert(dpkg_stanza_present(p) && dpkg_stanza_installed(p) && dpkg_stanza_held(p));
        /* arch all answers for the native architecture */
        p = dpkg_status_lookup(&st, "nvidia-driver-pinning-595");
        ck_assert(p && streq(p->arch, "all") && dpkg_stanza_held(p));
        /* half-configured: present (a current version) but not installed */
        p = dpkg_status_lookup(&st, "nvidia-kernel-open-dkms");
        ck_assert(dpkg_stanza_present(p) && !dpkg_stanza_installed(p) && !dpkg_stanza_held(p));
        /* config-files only: not present */
        ck_assert(!dpkg_stanza_present(dpkg_status_lookup(&st, "cuda-drivers")));
        /* multi-arch: the native stanza, or the one named */
        if (dpkg_native_arch() && streq(dpkg_native_arch(), "amd64")) {
                ck_assert_str_eq(dpkg_status_lookup(&st, "libc6")->version, "2.36-9+deb12u10");
                ck_assert_str_eq(dpkg_status_lookup(&st, "libc6:i386")->version, "2.36-9+deb12u9");
                ck_assert_str_eq(dpkg_status_lookup(&st, "libnvidia-container1")->version, "1.19.0-1");
                ck_assert(!dpkg_stanza_present(dpkg_status_lookup(&st, "libnvidia-container1:i386")));
                ck_assert_ptr_null(dpkg_status_lookup(&st, "nvidia-open:arm64"));
        }
        p = dpkg_status_lookup(&st, "nvidia-container-toolkit"); /* the last stanza, no final newline */
        ck_assert(p && streq(p->state, "half-installed") && streq(p->want, "hold") && streq(p->version, "1.19.0-1"));
        ck_assert_ptr_null(dpkg_status_lookup(&st, "nvidia-ope"));
        ck_assert_ptr_null(dpkg_status_lookup(&st, "zzz"));
        dpkg_status_done(&st);
        dpkg_status_parse(xstrdup(""), &st);
        ck_assert_uint_eq(st.n, 0);
        ck_assert_ptr_null(dpkg_status_lookup(&st, "nvidia-open"));
        dpkg_status_done(&st);
}
END_TEST

/* the status file is read once, and again when dpkg replaced it; a missing one reads as empty */
START_TEST(test_dpkg_status_cached) {
        TestRoot tr;
        test_root_init(&tr, 0);
        const DpkgStatus *st = NULL, *again = NULL;
        ck_assert_int_eq(dpkg_status_get(&tr.host, &st), 0);
        ck_assert_uint_eq(st->n, 0);
        test_root_write(&tr, DPKG_STATUS, dpkg_status, 0644);
        ck_assert_int_eq(dpkg_status_get(&tr.host, &st), 0);
        ck_assert_uint_eq(st->n, 10);
        const char *text = st->text;
        ck_assert_int_eq(dpkg_status_get(&tr.host, &again), 0);
        ck_assert_ptr_eq(again->text, text); /* not read again */
        /* dpkg writes status-new and renames it over status */
        test_root_write(&tr, DPKG_STATUS "-new", "Package: x\nStatus: install ok installed\nVersion: 1\n", 0644);
        _cleanup_free_ char *from = test_root_path(&tr, DPKG_STATUS "-new"), *to = test_root_path(&tr, DPKG_STATUS);
        ck_assert_int_eq(rename(from, to), 0);
        ck_assert_int_eq(dpkg_status_get(&tr.host, &st), 0);
        ck_assert_uint_eq(st->n, 1);
        ck_assert(dpkg_stanza_installed(dpkg_status_lookup(st, "x")));
        /* the checks' readers see the same */
        DpkgPackage p = {0};
        ck_assert_int_eq(dpkg_find(&tr.host, "x", &p), 0);
        dpkg_package_done(&p);
        test_root_done(&tr);
}
END_TEST

/* what apt_configure_pending() and apt_reinstall_required() ask: a state of any package, from the
 * parsed status (words of other fields do not count) */
START_TEST(test_dpkg_any_in_state) {
        TestRoot tr;
        test_root_init(&tr, 0);
        static const char *const pending[] = {"half-configured", "unpacked", NULL};
        static const char *const half[] = {"half-installed", NULL};
        static const char *const none[] = {NULL};
        ck_assert(!dpkg_any_in_state(&tr.host, pending, true)); /* no status: nothing installed */
        test_root_write(&tr, DPKG_STATUS, dpkg_status, 0644);
        ck_assert(dpkg_any_in_state(&tr.host, pending, false)); /* nvidia-kernel-open-dkms */
        ck_assert(dpkg_any_in_state(&tr.host, half, false));    /* nvidia-container-toolkit */
        ck_assert(!dpkg_any_in_state(&tr.host, none, true));
        test_root_write(&tr, DPKG_STATUS,
                        "Package: a\nStatus: install ok installed\nVersion: 1\nDescription: says unpacked\n"
                        " half-installed\n reinstreq \n\n"
                        "Package: b\nStatus: install ok unpacked\nVersion: 1\n",
                        0644);
        ck_assert(dpkg_any_in_state(&tr.host, pending, false));
        ck_assert(!dpkg_any_in_state(&tr.host, half, true));
        test_root_write(&tr, DPKG_STATUS, "Package: c\nStatus: install reinstreq half-configured\nVersion: 1\n", 0644);
        ck_assert(dpkg_any_in_state(&tr.host, none, true));
        ck_assert(!dpkg_any_in_state(&tr.host, none, false));
        test_root_done(&tr);
}
END_TEST

/* dpkg's arch file lists the native and the foreign architectures; native comes first */
START_TEST(test_dpkg_architectures) {
        if (!dpkg_native_arch())
                return;
        TestRoot tr;
        test_root_init(&tr, 0);
        char **a = NULL;
        ck_assert_int_eq(dpkg_architectures(&tr.host, &a), 0);
        ck_assert_uint_eq(strv_length(a), 1);
        ck_assert_str_eq(a[0], dpkg_native_arch());
        strv_free(a);
        _cleanup_free_ char *text = xasprintf("armhf\n%s\n i386 \n\narmhf\n", dpkg_native_arch());
        test_root_write(&tr, DPKG_ARCH_FILE, text, 0644);
        ck_assert_int_eq(dpkg_architectures(&tr.host, &a), 0);
        ck_assert_uint_eq(strv_length(a), 3);
        ck_assert_str_eq(a[0], dpkg_native_arch());
        ck_assert_str_eq(a[1], "armhf");
        ck_assert_str_eq(a[2], "i386");
        strv_free(a);
        test_root_done(&tr);
}
END_TEST

/* a held package that depends on exactly the installed version locks it; anything looser does not */
static const char lock_status[] =
        "Package: nvidia-open\n"
        "Status: hold ok installed\n"
        "Version: 595.45.01-1\n"
        "Depends: nvidia-kernel-open-dkms (= 595.45.01-1), libnvidia-compute:amd64 (=595.45.01-1)\n"
        "\n"
        "Package: nvidia-kernel-open-dkms\n"
        "Status: install ok installed\n"
        "Version: 595.45.01-1\n"
        "\n"
        "Package: cuda-drivers\n"
        "Status: install ok installed\n"
        "Version: 595.45.01-1\n"
        "Depends: nvidia-driver-cuda (= 595.45.01-1)\n"
        "\n"
        "Package: nvidia-driver-cuda\n"
        "Status: install ok installed\n"
        "Version: 595.45.01-1\n"
        "\n"
        "Package: nvidia-fabricmanager\n"
        "Status: hold ok installed\n"
        "Version: 595.45.01-1\n"
        "Pre-Depends: nvidia-persistenced (= 595.45.01-1)\n"
        "Depends: nvidia-settings (>= 595.45.01-1), nvidia-modprobe (= 595.45.01-1) | nvidia-modprobe-any\n"
        "\n"
        "Package: nvidia-old\n"
        "Status: hold ok config-files\n"
        "Version: 595.45.01-1\n"
        "Depends: nvidia-smi (= 595.45.01-1)\n";

static void expect_lock(const char *name, const char *version, const char *holder) {
        _cleanup_free_ char *h = NULL;
        int r = dpkg_held_lock_in(lock_status, name, version, &h);
        if (!holder) {
                ck_assert_msg(r == -ENOENT, "%s %s: locked by %s", name, version, r == 0 ? h : "?");
                return;
        }
        ck_assert_msg(r == 0, "%s %s: not locked (%d)", name, version, r);
        ck_assert_str_eq(h, holder);
}

/* Through the Host: the answers are those of dpkg_find_in() on the same text, and a status file
 * dpkg rewrote is read again. */
START_TEST(test_dpkg_status_memo) {
        TestRoot t;
        test_root_init(&t, 0);
        host_memo_enable(&t.host);
        test_root_write(&t, "/var/lib/dpkg/status", dpkg_status, 0644);
        static const char *const names[] = {"nvidia-open", "nvidia-open-[0-9]*", "libnvidia-container1",
                                            "nvidia-container-toolkit", "cuda-drivers", "nvidia-driver-pinning-*"};
        for (size_t i = 0; i < ELEMENTSOF(names); i++) {
                DpkgPackage a = {0}, b = {0};
                ck_assert_int_eq(dpkg_find(&t.host, names[i], &a), 0);
                ck_assert_int_eq(dpkg_find_in(dpkg_status, names[i], &b), 0);
                ck_assert_str_eq(a.name, b.name);
                ck_assert_str_eq(a.version, b.version);
                ck_assert_str_eq(a.status, b.status);
                dpkg_package_done(&a);
                dpkg_package_done(&b);
        }
        const DpkgStatus *s1 = NULL, *s3 = NULL;
        ck_assert_int_eq(dpkg_status_get(&t.host, &s1), 0);
        ck_assert_uint_gt(s1->n, 5);

        _cleanup_free_ char *changed = xasprintf("Package: nvidia-open\nStatus: install ok installed\n"
                                                 "Version: 600.1-1\n");
        test_root_write(&t, "/var/lib/dpkg/status", changed, 0644);
        ck_assert_int_eq(dpkg_status_get(&t.host, &s3), 0);
        ck_assert_uint_eq(s3->n, 1);
        DpkgPackage p = {0};
        ck_assert_int_eq(dpkg_find(&t.host, "nvidia-open", &p), 0);
        ck_assert_str_eq(p.version, "600.1-1");
        ck_assert(!p.held);
        dpkg_package_done(&p);
        test_root_done(&t);
}
END_TEST

START_TEST(test_dpkg_held_lock) {
        expect_lock("nvidia-kernel-open-dkms", "595.45.01-1", "nvidia-open");
        expect_lock("libnvidia-compute", "595.45.01-1", "nvidia-open"); /* ":amd64", "(=v" */
        expect_lock("nvidia-kernel-open-dkms", "595.58.03-1", NULL);     /* another version */
        expect_lock("nvidia-kernel-open", "595.45.01-1", NULL);          /* a prefix of the name */
        expect_lock("nvidia-driver-cuda", "595.45.01-1", NULL);          /* its dependant is not held */
        expect_lock("nvidia-persistenced", "595.45.01-1", "nvidia-fabricmanager"); /* Pre-Depends */
        expect_lock("nvidia-settings", "595.45.01-1", NULL);             /* >= */
        expect_lock("nvidia-modprobe", "595.45.01-1", NULL);             /* one of alternatives */
        expect_lock("nvidia-smi", "595.45.01-1", NULL);                  /* the holder is not installed */
        _cleanup_free_ char *h = NULL;
        ck_assert_int_eq(dpkg_held_lock_in("", "nvidia-open", "1", &h), -ENOENT);
}
END_TEST

/* ---- CUDA <-> driver table ---- */

/* Every row of the built-in table, as NVIDIA's release notes give it. */
static const struct {
        const char *cuda, *driver, *name;
} cuda_table[] = {
        {"11.8", "520.61.05", "11.8"},
        {"12.0", "525.60.13", "12.0"},           {"12.0.1", "525.85.12", "12.0 Update 1"},
        {"12.1", "530.30.02", "12.1"},           {"12.1.1", "530.30.02", "12.1 Update 1"},
        {"12.2", "535.54.03", "12.2"},           {"12.2.1", "535.86.09", "12.2 Update 1"},
        {"12.2.2", "535.104.05", "12.2 Update 2"},
        {"12.3", "545.23.06", "12.3"},           {"12.3.1", "545.23.08", "12.3 Update 1"},
        {"12.3.2", "545.23.08", "12.3 Update 2"},
        {"12.4", "550.54.14", "12.4"},           {"12.4.1", "550.54.15", "12.4 Update 1"},
        {"12.5", "555.42.02", "12.5"},           {"12.5.1", "555.42.06", "12.5 Update 1"},
        {"12.6", "560.28.03", "12.6"},           {"12.6.1", "560.35.03", "12.6 Update 1"},
        {"12.6.2", "560.35.03", "12.6 Update 2"}, {"12.6.3", "560.35.05", "12.6 Update 3"},
        {"12.8", "570.26", "12.8"},              {"12.8.1", "570.124.06", "12.8 Update 1"},
        {"12.9", "575.51.03", "12.9"},           {"12.9.1", "575.57.08", "12.9 Update 1"},
        {"13.0", "580.65.06", "13.0"},           {"13.0.1", "580.82.07", "13.0 Update 1"},
        {"13.0.2", "580.95.05", "13.0 Update 2"},
        {"13.1", "590.44.01", "13.1"},           {"13.1.1", "590.48.01", "13.1 Update 1"},
        {"13.2", "595.45.04", "13.2"},           {"13.2.1", "595.58.03", "13.2 Update 1"},
        {"13.2.2", "595.71.05", "13.2 Update 2"},
};

START_TEST(test_cuda_table_rows) {
        _cleanup_(cuda_table_done) CudaTable t = {0};
        ck_assert_int_eq(cuda_table_load(NULL, &t, NULL), 0);
        ck_assert_uint_eq(t.n, ELEMENTSOF(cuda_table));
        for (size_t i = 0; i < ELEMENTSOF(cuda_table); i++) {
                const CudaRow *row = cuda_table_find(&t, cuda_table[i].cuda);
                ck_assert_msg(row, "no row for CUDA %s", cuda_table[i].cuda);
                ck_assert_str_eq(row->driver, cuda_table[i].driver);
                ck_assert_msg(row->source && startswith(row->source, "notes: "),
                              "CUDA %s: source \"%s\"", cuda_table[i].cuda, row->source);
                ck_assert(!row->local);
                _cleanup_free_ char *name = cuda_release_name(row->cuda);
                ck_assert_str_eq(name, cuda_table[i].name);
                ck_assert_msg(strstr(row->source, cuda_table[i].name), "CUDA %s: source \"%s\" names another release",
                              cuda_table[i].cuda, row->source);
                /* the minimum driver of a release serves at least that release's major.minor */
                _cleanup_free_ char *ceil = cuda_table_ceiling(&t, cuda_table[i].driver);
                ck_assert_msg(ceil && cuda_minor_cmp(ceil, cuda_table[i].cuda) >= 0, "CUDA %s: ceiling of %s is %s",
                              cuda_table[i].cuda, cuda_table[i].driver, ceil ? ceil : "none");
                /* newer CUDA never needs an older driver */
                if (i > 0)
                        ck_assert_msg(version_cmp(cuda_table[i].driver, cuda_table[i - 1].driver) >= 0, "CUDA %s",
                                      cuda_table[i].cuda);
        }
        ck_assert_str_eq(cuda_table_newest(&t)->cuda, "13.2.2");
        ck_assert_str_eq(cuda_table_newest(&t)->driver, "595.71.05");
        ck_assert_ptr_null(cuda_table_find(&t, "12.7"));
        ck_assert_ptr_null(cuda_table_find(&t, "11.7"));
        ck_assert_ptr_null(cuda_table_find(&t, "10.2"));
        ck_assert_ptr_null(cuda_table_find(&t, "13.3"));
        ck_assert_ptr_null(cuda_table_find(&t, "13.2.3"));
        ck_assert_ptr_null(cuda_table_find(&t, "14.0"));
        ck_assert_str_eq(cuda_table_find(&t, "13")->driver, "580.65.06");
        ck_assert_str_eq(cuda_table_find(&t, "12.8.0")->driver, "570.26");
}
END_TEST

START_TEST(test_cuda_table_ceiling) {
        static const struct {
                const char *driver, *ceiling;
        } t_[] = {
                {"570.86.15", "12.8"}, {"570.26", "12.8"},    {"570.25", "12.6"},     {"580.65.06", "13.0"},
                {"580.65.05", "12.9"}, {"580.95.05", "13.0"}, {"590.44.01", "13.1"},  {"590.48.01", "13.1"},
                {"595.45.04", "13.2"}, {"595.58.03", "13.2"}, {"590.44.00", "13.0"},  {"535.104.05", "12.2"},
                {"525.147.05", "12.0"}, {"560.35.03", "12.6"}, {"520.61.05", "11.8"}, {"999.999.999", "13.2"},
        };
        _cleanup_(cuda_table_done) CudaTable t = {0};
        ck_assert_int_eq(cuda_table_load(NULL, &t, NULL), 0);
        for (size_t i = 0; i < ELEMENTSOF(t_); i++) {
                _cleanup_free_ char *c = cuda_table_ceiling(&t, t_[i].driver);
                ck_assert_msg(c && streq(c, t_[i].ceiling), "driver %s: ceiling %s, want %s", t_[i].driver,
                              c ? c : "none", t_[i].ceiling);
        }
        ck_assert_ptr_null(cuda_table_ceiling(&t, "520.0"));
        ck_assert_ptr_null(cuda_table_ceiling(&t, "520.61.04"));
        ck_assert_ptr_null(cuda_table_ceiling(&t, "470.256.02"));
}
END_TEST

/* The local table adds rows and overrides built-in ones; a malformed row is refused with its line. */
START_TEST(test_cuda_table_local) {
        _cleanup_(cuda_table_done) CudaTable t = {0};
        ck_assert_int_eq(cuda_table_load(NULL, &t, NULL), 0);
        size_t n = t.n;
        _cleanup_free_ char *err = NULL;
        ck_assert_int_eq(cuda_table_add(&t,
                                        "# a site's rows\n"
                                        "13.3\t600.20.01\n"
                                        "\n"
                                        "12.8\t570.30\tour own note\r\n",
                                        CUDA_LOCAL_TABLE, true, &err),
                         0);
        ck_assert_ptr_null(err);
        ck_assert_uint_eq(t.n, n + 1);
        const CudaRow *r = cuda_table_find(&t, "13.3");
        ck_assert_ptr_nonnull(r);
        ck_assert_str_eq(r->driver, "600.20.01");
        ck_assert(r->local);
        ck_assert_str_eq(r->source, CUDA_LOCAL_TABLE ":2");
        r = cuda_table_find(&t, "12.8");
        ck_assert_str_eq(r->driver, "570.30");
        ck_assert_str_eq(r->source, CUDA_LOCAL_TABLE ":4");
        ck_assert_str_eq(cuda_table_newest(&t)->cuda, "13.3");
        _cleanup_free_ char *c = cuda_table_ceiling(&t, "600.20.01");
        ck_assert_str_eq(c, "13.3");
        _cleanup_free_ char *c2 = cuda_table_ceiling(&t, "570.26");
        ck_assert_str_eq(c2, "12.6"); /* 12.8 now needs 570.30 */

        static const char *const bad[] = {"13.3 600.20.01\n", "13.3\t\n", "x\t600.20.01\n", "13.3\tsix\n",
                                          "13.3.1.2\t600.20.01\n", "13\t600.20.01\n", "13.3\t600.\n"};
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                _cleanup_free_ char *e = NULL;
                ck_assert_msg(cuda_table_add(&t, bad[i], CUDA_LOCAL_TABLE, true, &e) == -EBADMSG, "accepted \"%s\"", bad[i]);
                ck_assert_msg(e && strstr(e, CUDA_LOCAL_TABLE ":1:"), "error \"%s\"", e ? e : "");
        }
}
END_TEST

START_TEST(test_cuda_version_cmp) {
        ck_assert_int_lt(cuda_version_cmp("12.8", "13.0"), 0);
        ck_assert_int_gt(cuda_version_cmp("13.0", "12.8"), 0);
        ck_assert_int_eq(cuda_version_cmp("12.8", "12.8"), 0);
        ck_assert_int_eq(cuda_version_cmp("13", "13.0"), 0);
        ck_assert_int_eq(cuda_version_cmp("13.2", "13.2.0"), 0);
        ck_assert_int_gt(cuda_version_cmp("13.2.1", "13.2"), 0);
        ck_assert_int_lt(cuda_version_cmp("13.2.1", "13.3"), 0);
        ck_assert_int_eq(cuda_minor_cmp("13.2.1", "13.2"), 0);
        ck_assert_int_gt(cuda_minor_cmp("13.3", "13.2.9"), 0);
        ck_assert_int_gt(cuda_version_cmp("12.10", "12.9"), 0); /* numeric, not string order */
        ck_assert_int_lt(cuda_version_cmp("11.8", "12.0"), 0);
        ck_assert_int_lt(cuda_version_cmp("9.2", "10.0"), 0);
}
END_TEST

START_TEST(test_cuda_version_from_int) {
        static const struct {
                int v;
                const char *s;
        } t[] = {{12080, "12.8"}, {13000, "13.0"}, {12020, "12.2"}, {11080, "11.8"}, {12000, "12.0"}, {13010, "13.1"}};
        for (size_t i = 0; i < ELEMENTSOF(t); i++) {
                _cleanup_free_ char *s = cuda_version_from_int(t[i].v);
                ck_assert_str_eq(s, t[i].s);
        }
}
END_TEST

/* ---- Debian versions ---- */

static void expect_order(const char *a, const char *b, int sign) {
        int r = version_cmp(a, b), back = version_cmp(b, a);
        int s = r < 0 ? -1 : r > 0 ? 1 : 0, sb = back < 0 ? -1 : back > 0 ? 1 : 0;
        ck_assert_msg(s == sign, "version_cmp(%s, %s) = %d, wanted sign %d", a, b, r, sign);
        ck_assert_msg(sb == -sign, "version_cmp(%s, %s) = %d, not the opposite of the other way", b, a, back);
}

START_TEST(test_version_cmp) {
        expect_order("1.0", "1.1", -1);
        expect_order("1.19.0-1", "1.19.0-1", 0);
        expect_order("595.45.01-1", "595.58.02-1", -1);
        expect_order("2.0", "10.0", -1);             /* numbers, not characters */
        expect_order("1.01", "1.1", 0);              /* leading zeros */
        /* ~ sorts before everything, even the end */
        expect_order("1.0~rc1", "1.0", -1);
        expect_order("1.0~~", "1.0~", -1);
        expect_order("1.0~rc1", "1.0~rc2", -1);
        expect_order("525.147.05-4~deb12u1", "525.147.05-4", -1);
        /* letters before non-letters, the end before letters */
        expect_order("1.0", "1.0a", -1);
        expect_order("1.0a", "1.0+", -1);
        expect_order("1.0", "1.0+b1", -1);
        /* epochs win */
        expect_order("1:0.1", "9.9", 1);
        expect_order("0:1.0", "1.0", 0);
        expect_order("2:1.0", "1:9.0", 1);
        /* revisions */
        expect_order("1.0-1", "1.0-2", -1);
        expect_order("1.0-9", "1.0-10", -1);
        expect_order("1.0-1", "1.0-1ubuntu1", -1);
        expect_order("1.0-1", "1.0-1+deb12u1", -1);
        expect_order("610.43.02-1ubuntu1", "610.43.02-1", 1);
        /* the upstream part may hold hyphens: the revision is after the last one */
        expect_order("1.2-3-4", "1.2-3-5", -1);
        expect_order("1.2-3-4", "1.2-4-1", -1);
        /* driver versions as the table compares them */
        expect_order("570.86.15", "570.26", 1);
        expect_order("580.65.06", "580.65.06", 0);
}
END_TEST

/* gpubase's own comparison against libapt-pkg's (through libgpubase-apt.so, which the build puts
 * beside test-unit): every ordered pair of a corpus of versions, in both directions. Versions
 * dpkg refuses to install (an empty revision, "1.0-") are left out: apt and dpkg differ there. */
START_TEST(test_version_cmp_matches_libapt) {
        static const char *const corpus[] = {
                "0", "1", "1.0", "1.00", "1.01", "1.1", "1.10", "1.2", "1.0~", "1.0~~", "1.0~rc1", "1.0~rc2", "1.0a",
                "1.0A", "1.0+", "1.0+b1", "1.0.", "1.0-0", "1.0-1", "1.0-1~", "1.0-1.1", "1.0-1a", "1.0-1+b1",
                "1.0-10", "1.0-9", "1.0-1ubuntu1", "1.0-1+deb12u1", "1:0", "1:1.0", "0:1.0", "2:0.1", "10:1",
                "1.2-3-4", "1.2-3-5", "1.2-4-1", "595.45.01-1", "595.58.02-1", "570.86.15", "570.26", "580.65.06",
                "525.147.05-4~deb12u1", "525.147.05-4", "1.19.0-1", "1.19.0~rc.1-1", "2.36-9+deb12u10",
                "2.36-9+deb12u9", "12.8", "13.0", "a", "a~", "~", "~~a", "1.0-a", "00001", "1.0009", "1.09.1",
                "1::2", "1.0+dfsg-1", "1.0~dfsg-1", "1.0.0+really0.9-1", "9999999999999999999999.1",
                "9999999999999999999998.9"};
        _cleanup_free_ char *err = NULL;
        ck_assert_msg(apt_shim_load(&err) == 0, "cannot load the shim: %s", err ? err : "?");
        for (size_t i = 0; i < ELEMENTSOF(corpus); i++)
                for (size_t j = 0; j < ELEMENTSOF(corpus); j++) {
                        int ours = version_cmp(corpus[i], corpus[j]), apt = apt_shim_version_cmp(corpus[i], corpus[j]);
                        int so = ours < 0 ? -1 : ours > 0, sa = apt < 0 ? -1 : apt > 0;
                        ck_assert_msg(so == sa, "version_cmp(%s, %s) = %d, libapt says %d", corpus[i], corpus[j], ours,
                                      apt);
                }
}
END_TEST

START_TEST(test_version_matches) {
        ck_assert(version_matches("595.*", "595.45.01"));
        ck_assert(version_matches("595.45.01", "595.45.01"));
        ck_assert(version_matches("5[89]*.*", "580.95.05"));
        ck_assert(version_matches("*", "595.45.01"));
        ck_assert(!version_matches("595.*", "5950.1"));
        ck_assert(!version_matches("595.*", "596.0"));
        ck_assert(!version_matches("595", "595.45.01")); /* no wildcard: exact */
        ck_assert(!version_matches("595.45.01", "595.45.010"));
}
END_TEST

START_TEST(test_version_major_upstream) {
        ck_assert_int_eq(version_major("595.45.01"), 595);
        ck_assert_int_eq(version_major("570"), 570);
        ck_assert_int_eq(version_major("580.*"), 580);
        ck_assert_int_eq(version_major("*"), -1);
        ck_assert_int_eq(version_major(""), -1);
        ck_assert_int_eq(version_major(NULL), -1);
        ck_assert_int_eq(version_major("v595"), -1);
        ck_assert_int_eq(version_major("99999999.1"), -1);

        static const struct {
                const char *deb, *up;
        } t[] = {
                {"1:595.45.01-1ubuntu1", "595.45.01"}, {"595.45.01-1", "595.45.01"},
                {"525.147.05-4~deb12u1", "525.147.05"}, {"595", "595"},
                {"1.2-3-4", "1.2-3"}, {"2:1.0", "1.0"}, {"610.43.02-1ubuntu1", "610.43.02"},
        };
        for (size_t i = 0; i < ELEMENTSOF(t); i++) {
                _cleanup_free_ char *u = version_upstream(t[i].deb);
                ck_assert_str_eq(u, t[i].up);
        }
}
END_TEST

/* ---- regressions: bugs these tests found, now fixed ---- */

/* dockerd (Go's encoding/json) and nvidia-ctk refuse these files; json-c's non-strict tokener
 * accepts them, so runtime.configured says "configured" for a daemon that will not start. */
START_TEST(bug_daemon_json_not_strict) {
        expect_dj_bad("{\"runtimes\": {\"nvidia\": {\"args\": [], \"path\": \"nvidia-container-runtime\"}},}",
                      "invalid JSON");
        expect_dj_bad("{'log-driver': 'json-file'}", "invalid JSON");
        expect_dj_bad("/* managed by ansible */ {\"log-driver\": \"json-file\"}", "invalid JSON");
        expect_dj_bad("{\"a\": [1,]}", "invalid JSON");
        expect_dj_bad("{\"a\": NaN}", "invalid JSON");
}
END_TEST

/* TOML literal strings (single quotes) and multi-line arrays are valid imports. */
START_TEST(bug_containerd_toml_forms) {
        ContainerdConfig c = {0};
        containerd_inspect("imports = ['/etc/containerd/conf.d/*.toml']\n", dropin_v2, DROPIN, &c);
        ck_assert_msg(c.imports_dropin, "single-quoted imports not recognised");
        containerd_config_done(&c);
        containerd_inspect("imports = [\n  \"/etc/containerd/runtimes.toml\",\n  \"/etc/containerd/conf.d/*.toml\",\n]\n",
                           dropin_v2, DROPIN, &c);
        ck_assert_msg(c.imports_dropin, "multi-line imports array not recognised");
        containerd_config_done(&c);
}
END_TEST

/* The architecture is searched in the whole line, x86_64 first: a builder host name decides it. */
START_TEST(bug_proc_arch_from_builder) {
        expect_proc("NVRM version: NVIDIA UNIX Open Kernel Module for aarch64  570.86.15  Release Build  "
                    "(builder@x86_64-cross)  Wed Jan 22 2025",
                    DRIVER_FLAVOR_OPEN, "570.86.15", "aarch64");
}
END_TEST

Suite *facts_suite(void) {
        Suite *s = suite_create("facts");
        TCase *tc = tcase_create("proc-version");
        tcase_add_test(tc, test_proc_open_x86_64);
        tcase_add_test(tc, test_proc_proprietary);
        tcase_add_test(tc, test_proc_aarch64);
        tcase_add_test(tc, test_proc_vgpu);
        tcase_add_test(tc, test_proc_garbage);
        suite_add_tcase(s, tc);

        tc = tcase_create("tool-versions");
        tcase_add_test(tc, test_ctk_version);
        tcase_add_test(tc, test_nvcc_version);
        suite_add_tcase(s, tc);

        tc = tcase_create("daemon-json");
        tcase_add_test(tc, test_daemon_json_ctk_written);
        tcase_add_test(tc, test_daemon_json_runtime_args);
        tcase_add_test(tc, test_daemon_json_other_keys);
        tcase_add_test(tc, test_daemon_json_types);
        tcase_add_test(tc, test_daemon_json_default_runtime_cdi);
        tcase_add_test(tc, test_daemon_json_invalid);
        suite_add_tcase(s, tc);

        tc = tcase_create("containerd");
        tcase_add_test(tc, test_containerd_glob);
        tcase_add_test(tc, test_containerd_exact_path);
        tcase_add_test(tc, test_containerd_no_imports);
        tcase_add_test(tc, test_containerd_imports_after_table);
        tcase_add_test(tc, test_containerd_dropin);
        suite_add_tcase(s, tc);

        tc = tcase_create("dpkg");
        tcase_add_test(tc, test_dpkg_states);
        tcase_add_test(tc, test_dpkg_names);
        tcase_add_test(tc, test_dpkg_multiarch);
        tcase_add_test(tc, test_dpkg_status_lookup);
        tcase_add_test(tc, test_dpkg_status_cached);
        tcase_add_test(tc, test_dpkg_any_in_state);
        tcase_add_test(tc, test_dpkg_architectures);
        tcase_add_test(tc, test_dpkg_held_lock);
        tcase_add_test(tc, test_dpkg_status_memo);
        suite_add_tcase(s, tc);

        tc = tcase_create("cuda-table");
        tcase_add_test(tc, test_cuda_table_rows);
        tcase_add_test(tc, test_cuda_table_ceiling);
        tcase_add_test(tc, test_cuda_table_local);
        tcase_add_test(tc, test_cuda_version_cmp);
        tcase_add_test(tc, test_cuda_version_from_int);
        suite_add_tcase(s, tc);

        tc = tcase_create("version");
        tcase_add_test(tc, test_version_cmp);
        tcase_add_test(tc, test_version_cmp_matches_libapt);
        tcase_add_test(tc, test_version_matches);
        tcase_add_test(tc, test_version_major_upstream);
        suite_add_tcase(s, tc);

        tc = tcase_create("regressions");
        tcase_add_test(tc, bug_daemon_json_not_strict);
        tcase_add_test(tc, bug_containerd_toml_forms);
        tcase_add_test(tc, bug_proc_arch_from_builder);
        suite_add_tcase(s, tc);
        return s;
}
