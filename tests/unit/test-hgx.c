/* HGX boards (agent/checks/hgx.c, topology.c, gpudb.c, preflight.c): NVIDIA's NVSwitch IDs
 * (plans/data/nvswitches.tsv), the Xid lines of a kernel log and their meanings, nvidia-smi -q's
 * Fabric sections, GPU name globs and the Fabric Manager package of a branch. In memory only. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "checks/hgx.h"
#include "checks/pci.h"
#include "checks/preflight.h"

Suite *hgx_suite(void);

START_TEST(test_nvswitch_table) {
        const char *gen = NULL;
        ck_assert_int_eq(nvswitch_table_find(0x22a3, &gen), 0); /* HGX H100's */
        ck_assert_str_eq(gen, "LS10");
        ck_assert_int_eq(nvswitch_table_find(0x22a0, NULL), 0);
        ck_assert_int_eq(nvswitch_table_find(0x22a7, NULL), 0);
        ck_assert_int_eq(nvswitch_table_find(0x1af1, &gen), 0); /* HGX A100's */
        ck_assert_str_eq(gen, "LR10");
        ck_assert_int_eq(nvswitch_table_find(0x1ae8, NULL), 0);
        ck_assert_int_eq(nvswitch_table_find(0x1aff, NULL), 0);
        /* the bridge functions of an LS10 switch are not switches of their own */
        ck_assert_int_eq(nvswitch_table_find(0x22a8, NULL), -ENOENT);
        ck_assert_int_eq(nvswitch_table_find(0x22af, NULL), -ENOENT);
        /* GPUs are not switches */
        ck_assert_int_eq(nvswitch_table_find(0x2330, NULL), -ENOENT);
        ck_assert_int_eq(nvswitch_table_find(0x1af0 - 1, NULL), -ENOENT);
}
END_TEST

START_TEST(test_xids) {
        const char *log = "6,1,10,-;NVRM: loading NVIDIA UNIX Open Kernel Module\n"
                          "4,2,20,-;NVRM: Xid (PCI:0000:18:00): 79, pid=0, name=, GPU has fallen off the bus.\n"
                          "4,3,30,-;NVRM: Xid (PCI:0000:2a:00): 13, pid=1234, name=python, Graphics Exception\n"
                          "4,4,40,-;NVRM: Xid (PCI:0000:18:00): 79, pid=0, again\n"
                          "4,5,50,-;NVRM: Xid (PCI:0000:18:00): not-a-number\n"
                          "4,6,60,-;NVRM: Xid (PCI:0000:3a:00): 119, pid=0, GSP timeout\n";
        unsigned x[8];
        char *first = NULL;
        size_t n = parse_xids(log, x, 8, &first);
        ck_assert_uint_eq(n, 3);
        ck_assert_uint_eq(x[0], 79);
        ck_assert_uint_eq(x[1], 13);
        ck_assert_uint_eq(x[2], 119);
        ck_assert_str_eq(first, "NVRM: Xid (PCI:0000:18:00): 79, pid=0, name=, GPU has fallen off the bus.");
        free(first);
        ck_assert_uint_eq(parse_xids("nothing here\n", x, 8, NULL), 0);
        /* at most max kept */
        ck_assert_uint_eq(parse_xids(log, x, 1, NULL), 1);
        static const unsigned known[] = {13, 31, 43, 48, 63, 64, 74, 79, 92, 94, 95};
        for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
                ck_assert_msg(xid_meaning(known[i]) != NULL, "Xid %u", known[i]);
        ck_assert_str_eq(xid_meaning(79), "GPU has fallen off the bus");
        ck_assert_str_eq(xid_meaning(48), "double-bit ECC error");
        ck_assert_ptr_null(xid_meaning(119));
}
END_TEST

START_TEST(test_nvidia_smi_fabric) {
        const char *text = "\n==============NVSMI LOG==============\n\n"
                           "Driver Version                            : 595.45.01\n"
                           "Attached GPUs                             : 2\n"
                           "GPU 00000000:18:00.0\n"
                           "    Product Name                          : NVIDIA H100 80GB HBM3\n"
                           "    Fabric\n"
                           "        State                             : Completed\n"
                           "        Status                            : Success\n"
                           "        CliqueId                          : 0\n"
                           "    Persistence Mode                      : Enabled\n"
                           "GPU 00000000:2A:00.0\n"
                           "    Fabric\n"
                           "        State                             : In Progress\n"
                           "        Status                            : N/A\n";
        NvmlInfo n = {0};
        ck_assert_int_eq(parse_nvidia_smi_fabric(text, &n), 0);
        ck_assert_uint_eq(n.n_gpus, 2);
        ck_assert_int_eq(n.gpus[0].fabric_state, NVML_FABRIC_COMPLETED);
        ck_assert_int_eq(n.gpus[0].fabric_status, 0);
        ck_assert_int_eq(n.gpus[1].fabric_state, NVML_FABRIC_IN_PROGRESS);
        ck_assert_int_ne(n.gpus[1].fabric_status, 0);
        ck_assert_int_eq(n.gpus[0].nvlinks, -1); /* nothing else is known from it */
        NvmlInfo e = {0};
        ck_assert_int_eq(parse_nvidia_smi_fabric("No devices were found\n", &e), -ENODATA);
        ck_assert_str_eq(nvml_fabric_state_to_string(NVML_FABRIC_NOT_STARTED), "not started");
        ck_assert_str_eq(nvml_fabric_state_to_string(7), "unknown");
}
END_TEST

START_TEST(test_names_and_packages) {
        ck_assert(gpu_name_matches("H100*", "NVIDIA H100 80GB HBM3"));
        ck_assert(gpu_name_matches("NVIDIA H100*", "NVIDIA H100 80GB HBM3"));
        ck_assert(!gpu_name_matches("H200*", "NVIDIA H100 80GB HBM3"));
        ck_assert(gpu_name_matches("H200*", "NVIDIA H200"));
        char *p = fabric_manager_package(595);
        ck_assert_str_eq(p, "nvidia-fabricmanager");
        free(p);
        p = fabric_manager_package(580);
        ck_assert_str_eq(p, "nvidia-fabricmanager-580");
        free(p);
        p = fabric_manager_package(-1);
        ck_assert_str_eq(p, "nvidia-fabricmanager");
        free(p);
}
END_TEST

Suite *hgx_suite(void) {
        Suite *s = suite_create("hgx");
        TCase *tc = tcase_create("hgx");
        tcase_add_test(tc, test_nvswitch_table);
        tcase_add_test(tc, test_xids);
        tcase_add_test(tc, test_nvidia_smi_fabric);
        tcase_add_test(tc, test_names_and_packages);
        suite_add_tcase(s, tc);
        return s;
}
