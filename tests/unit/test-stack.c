/* verify --json's "facts" (agent/checks/stack.h): the JSON shape, with every value and with every
 * value unknown, and what stack_facts_gather() reads from a root directory. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "checks/stack.h"
#include "tests.h"

static char *facts_json(const StackFacts *f) {
        json_object *o = stack_facts_to_json(f);
        char *s = xstrdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
        json_object_put(o);
        return s;
}

START_TEST(test_stack_json_unknown) {
        StackFacts f = {.driver_flavor = _DRIVER_FLAVOR_INVALID, .nvml_status = NVML_STATUS_NO_LIBRARY, .cdi = -1};
        _cleanup_free_ char *s = facts_json(&f);
        ck_assert_str_eq(s, "{\"gpus\":null,"
                            "\"nvswitches\":null,"
                            "\"driver\":{\"loaded\":null,\"flavor\":null,\"on_disk\":null,\"installed\":null,"
                            "\"package\":null,\"package_version\":null},"
                            "\"nvml\":{\"status\":\"no-library\",\"driver\":null},"
                            "\"cuda_ceiling\":null,\"cuda_ceiling_source\":null,"
                            "\"ctk\":{\"version\":null,\"packages\":{\"nvidia-container-toolkit\":null,"
                            "\"nvidia-container-toolkit-base\":null,\"libnvidia-container-tools\":null,"
                            "\"libnvidia-container1\":null}},"
                            "\"runtime\":{\"name\":null,\"default_runtime\":null,\"cdi\":null},\"kernels\":null}");
}
END_TEST

START_TEST(test_stack_json_values) {
        StackFacts f = {
                .gpus_known = true,
                .driver_loaded = xstrdup("595.45.01"),
                .driver_flavor = DRIVER_FLAVOR_OPEN,
                .driver_on_disk = xstrdup("595.58.02"),
                .driver_package = xstrdup("nvidia-open"),
                .driver_package_version = xstrdup("595.58.02-1"),
                .driver_installed = xstrdup("595.58.02"),
                .nvml_status = NVML_STATUS_OK,
                .nvml_driver = xstrdup("595.45.01"),
                .cuda_ceiling = xstrdup("13.0"),
                .cuda_ceiling_from_nvml = true,
                .runtime = "docker",
                .default_runtime = xstrdup("nvidia"),
                .cdi = 1,
        };
        f.gpus.n = 2;
        f.gpus.gpus = xcalloc(2, sizeof(Gpu));
        f.gpus.gpus[0] = (Gpu){.slot = "0000:01:00.0", .vendor_id = 0x10de, .device_id = 0x2330,
                               .name = "GH100 [H100 SXM5 80GB]", .arch = GPU_ARCH_HOPPER};
        /* a device no list names: no name, no architecture, never a guess */
        f.gpus.gpus[1] = (Gpu){.slot = "0000:02:00.0", .vendor_id = 0x10de, .device_id = 0x2335};
        /* the toolkit at two versions: no common version */
        for (size_t i = 0; i < CTK_N_PACKAGES - 1; i++)
                f.ctk.installed[i] = xstrdup("1.19.0-1");
        f.ctk.installed[CTK_N_PACKAGES - 1] = xstrdup("1.18.0-1");
        f.ctk.first = f.ctk.installed[0];
        f.ctk.mixed = true;

        _cleanup_free_ char *s = facts_json(&f);
        ck_assert_str_eq(s, "{\"gpus\":[{\"pci\":\"0000:01:00.0\",\"id\":\"10de:2330\",\"name\":\"GH100 [H100 SXM5 80GB]\","
                            "\"arch\":\"Hopper\",\"grace\":false},{\"pci\":\"0000:02:00.0\",\"id\":\"10de:2335\",\"name\":null,"
                            "\"arch\":null,\"grace\":false}],"
                            "\"nvswitches\":{\"count\":0,\"ids\":[]},"
                            "\"driver\":{\"loaded\":\"595.45.01\",\"flavor\":\"open\",\"on_disk\":\"595.58.02\","
                            "\"installed\":\"595.58.02\",\"package\":\"nvidia-open\",\"package_version\":\"595.58.02-1\"},"
                            "\"nvml\":{\"status\":\"ok\",\"driver\":\"595.45.01\"},"
                            "\"cuda_ceiling\":\"13.0\",\"cuda_ceiling_source\":\"nvml\","
                            "\"ctk\":{\"version\":null,\"packages\":{\"nvidia-container-toolkit\":\"1.19.0-1\","
                            "\"nvidia-container-toolkit-base\":\"1.19.0-1\",\"libnvidia-container-tools\":\"1.19.0-1\","
                            "\"libnvidia-container1\":\"1.18.0-1\"}},"
                            "\"runtime\":{\"name\":\"docker\",\"default_runtime\":\"nvidia\",\"cdi\":true},\"kernels\":null}");
        stack_facts_done(&f);
        ck_assert_ptr_null(f.driver_loaded);
        ck_assert_ptr_null(f.gpus.gpus);
}
END_TEST

START_TEST(test_stack_gather_empty_root) {
        TestRoot t;
        StackFacts f;
        test_root_init(&t, 0);
        stack_facts_gather(&t.host, &f);
        ck_assert(!f.gpus_known);
        ck_assert_ptr_null(f.driver_loaded);
        ck_assert_int_eq(f.driver_flavor, _DRIVER_FLAVOR_INVALID);
        ck_assert_ptr_null(f.driver_on_disk);
        ck_assert_ptr_null(f.driver_package);
        ck_assert_ptr_null(f.driver_installed);
        ck_assert_int_eq(f.nvml_status, NVML_STATUS_NO_LIBRARY);
        ck_assert_ptr_null(f.nvml_driver);
        ck_assert_ptr_null(f.cuda_ceiling);
        ck_assert_ptr_null(f.ctk.version);
        for (size_t i = 0; i < CTK_N_PACKAGES; i++)
                ck_assert_ptr_null(f.ctk.installed[i]);
        ck_assert_ptr_null(f.runtime);
        ck_assert_ptr_null(f.default_runtime);
        ck_assert_int_eq(f.cdi, -1);
        stack_facts_done(&f);
        test_root_done(&t);
}
END_TEST

static const char dpkg_status[] =
        "Package: nvidia-open\nStatus: hold ok installed\nVersion: 595.45.01-1\n\n"
        "Package: nvidia-container-toolkit\nStatus: hold ok installed\nVersion: 1.19.0-1\n\n"
        "Package: nvidia-container-toolkit-base\nStatus: hold ok installed\nVersion: 1.19.0-1\n\n"
        "Package: libnvidia-container-tools\nStatus: hold ok installed\nVersion: 1.19.0-1\n\n"
        "Package: libnvidia-container1\nStatus: hold ok installed\nVersion: 1.19.0-1\n";

START_TEST(test_stack_gather_root) {
        TestRoot t;
        StackFacts f;
        test_root_init(&t, 0);
        test_root_write(&t, "/sys/module/nvidia/version", "595.45.01\n", 0644);
        test_root_write(&t, "/proc/driver/nvidia/version",
                        "NVRM version: NVIDIA UNIX Open Kernel Module for x86_64  595.45.01  Release Build  "
                        "(dvs-builder@U16-I3-B03-4-3)  Thu Oct 30 2025\n",
                        0644);
        test_root_write(&t, "/var/lib/dpkg/status", dpkg_status, 0644);
        test_root_write(&t, "/etc/docker/daemon.json", "{\"default-runtime\": \"nvidia\", \"runtimes\": {}}", 0644);
        stack_facts_gather(&t.host, &f);
        ck_assert_pstr_eq(f.driver_loaded, "595.45.01");
        ck_assert_int_eq(f.driver_flavor, DRIVER_FLAVOR_OPEN);
        ck_assert_ptr_null(f.driver_on_disk); /* no /lib/modules in this root */
        ck_assert_pstr_eq(f.driver_package, "nvidia-open");
        ck_assert_pstr_eq(f.driver_package_version, "595.45.01-1");
        ck_assert_pstr_eq(f.driver_installed, "595.45.01");
        /* no NVML in the root: the ceiling is the CUDA/driver table's, for the loaded module */
        ck_assert_int_eq(f.nvml_status, NVML_STATUS_NO_LIBRARY);
        ck_assert_pstr_eq(f.cuda_ceiling, "13.1"); /* 595.45.01: above 13.1 Update 1 (590.48.01), below 13.2 (595.45.04) */
        ck_assert(!f.cuda_ceiling_from_nvml);
        ck_assert_pstr_eq(f.ctk.version, "1.19.0-1");
        ck_assert_pstr_eq(f.runtime, "docker");
        ck_assert_pstr_eq(f.default_runtime, "nvidia");
        ck_assert_int_eq(f.cdi, 0);
        stack_facts_done(&f);
        test_root_done(&t);
}
END_TEST

Suite *stack_suite(void) {
        Suite *s = suite_create("stack");
        TCase *tc = tcase_create("facts");
        tcase_add_test(tc, test_stack_json_unknown);
        tcase_add_test(tc, test_stack_json_values);
        tcase_add_test(tc, test_stack_gather_empty_root);
        tcase_add_test(tc, test_stack_gather_root);
        suite_add_tcase(s, tc);
        return s;
}
