/* The container layer's pure parts: the CUDA of an image tag, the default image for a ceiling, the
 * verdict on the container's nvidia-smi output against the host's NVML, the known failures, and
 * the CDI spec reader. */
#include <string.h>

#include "checks/cdi.h"
#include "checks/smoke.h"
#include "checks/smoke_verdict.h"
#include "tests.h"

START_TEST(test_image_cuda) {
        char *c = smoke_image_cuda("nvcr.io/nvidia/cuda:12.8.1-base-ubuntu24.04");
        ck_assert_str_eq(c, "12.8.1");
        free(c);
        c = smoke_image_cuda("nvidia/cuda:13.0-runtime");
        ck_assert_str_eq(c, "13.0");
        free(c);
        ck_assert_ptr_null(smoke_image_cuda("busybox:1.36"));
        ck_assert_ptr_null(smoke_image_cuda("registry.example/cuda:latest"));
        ck_assert_ptr_null(smoke_image_cuda("cuda:12"));
}
END_TEST

START_TEST(test_default_image) {
        ck_assert_str_eq(smoke_default_image("13.2"), "nvcr.io/nvidia/cuda:13.0.0-base-ubuntu24.04");
        ck_assert_str_eq(smoke_default_image("13.0"), "nvcr.io/nvidia/cuda:13.0.0-base-ubuntu24.04");
        ck_assert_str_eq(smoke_default_image("12.9"), "nvcr.io/nvidia/cuda:12.8.1-base-ubuntu24.04");
        ck_assert_str_eq(smoke_default_image("12.2"), "nvcr.io/nvidia/cuda:12.2.2-base-ubuntu22.04");
        ck_assert_str_eq(smoke_default_image("11.8"), "nvcr.io/nvidia/cuda:11.8.0-base-ubuntu22.04");
        ck_assert_ptr_null(smoke_default_image("11.4"));
        ck_assert_ptr_null(smoke_default_image(NULL));
}
END_TEST

static void host_of(NvmlInfo *n, unsigned gpus) {
        *n = (NvmlInfo){.status = NVML_STATUS_OK, .driver_version = (char *) "595.45.04", .n_gpus = gpus};
        static const char *const bus[] = {"00000000:18:00.0", "00000000:2A:00.0"};
        for (unsigned i = 0; i < gpus; i++)
                strcpy(n->gpus[i].bus_id, bus[i]);
}

START_TEST(test_verdict_output) {
        NvmlInfo h;
        CheckResult r = {0};
        host_of(&h, 2);
        smoke_verdict_output("595.45.04, NVIDIA H100 80GB HBM3, 00000000:2a:00.0\n"
                             "595.45.04, NVIDIA H100 80GB HBM3, 00000000:18:00.0\n",
                             &h, "docker run", &r);
        ck_assert_int_eq(r.status, CHECK_OK);
        ck_assert_ptr_nonnull(strstr(r.detail, "all 2 GPUs and driver 595.45.04"));
        smoke_verdict_output("595.45.04, NVIDIA H100 80GB HBM3, 00000000:18:00.0\n", &h, "docker run", &r);
        ck_assert_int_eq(r.status, CHECK_FAIL);
        ck_assert_ptr_nonnull(strstr(r.detail, "sees 1 of the host's 2 GPUs (missing: 00000000:2A:00.0)"));
        smoke_verdict_output("595.45.01, NVIDIA H100, 00000000:18:00.0\n595.45.01, NVIDIA H100, 00000000:2A:00.0\n", &h,
                             "docker run", &r);
        ck_assert_int_eq(r.status, CHECK_FAIL);
        ck_assert_ptr_nonnull(strstr(r.detail, "sees driver 595.45.01, the host runs 595.45.04"));
        smoke_verdict_output("garbage\n", &h, "docker run", &r);
        ck_assert_int_eq(r.status, CHECK_FAIL);
        check_result_done(&r);
}
END_TEST

START_TEST(test_verdict_failures) {
        ExecResult res = {.status = 125};
        CheckResult r = {0};
        res.output = (char *) "docker: Error response from daemon: failed to create task: ... stderr: Auto-detected mode as "
                              "'legacy'\nnvidia-container-cli: initialization error: nvml error: driver/library version "
                              "mismatch: unknown.\n";
        smoke_verdict_failed("docker", "docker run", 0, &res, "img", NULL, &r);
        ck_assert_ptr_nonnull(strstr(r.fix, "reboot"));
        res.output = (char *) "docker: Error response from daemon: could not select device driver \"\" with capabilities: "
                              "[[gpu]].\n";
        smoke_verdict_failed("docker", "docker run", 0, &res, "img", NULL, &r);
        ck_assert_ptr_nonnull(strstr(r.fix, "systemctl restart docker"));
        res.output = (char *) "ctr: image \"nvcr.io/nvidia/cuda:13.0.0-base-ubuntu24.04\": not found\n";
        ck_assert(smoke_image_absent(res.output));
        smoke_verdict_failed("containerd", "ctr run", 0, &res, "img", NULL, &r);
        ck_assert_ptr_nonnull(strstr(r.detail, "is not on this machine"));
        res.output = (char *) "something else entirely\nlast words\n";
        smoke_verdict_failed("containerd", "ctr run", 0, &res, "img", NULL, &r);
        ck_assert_ptr_nonnull(strstr(r.detail, "exited with status 125: last words"));
        check_result_done(&r);
}
END_TEST

static const char spec[] = "---\ncdiVersion: 0.5.0\nkind: nvidia.com/gpu\ndevices:\n"
                           "    - name: \"0\"\n      containerEdits:\n        deviceNodes:\n            - path: /dev/nvidia0\n"
                           "    - name: GPU-1\n      containerEdits:\n        deviceNodes:\n            - path: /dev/nvidia1\n"
                           "    - name: all\n      containerEdits:\n        deviceNodes:\n            - path: /dev/nvidia0\n"
                           "containerEdits:\n    hooks:\n        - hookName: createContainer\n          args:\n"
                           "            - nvidia-cdi-hook\n            - --host-driver-version=595.45.04\n"
                           "    mounts:\n        - hostPath: /usr/lib/x86_64-linux-gnu/libcuda.so.595.45.04\n";

START_TEST(test_cdi_spec) {
        CdiSpecInfo i = {0};
        char *err = NULL;
        ck_assert_int_eq(cdi_spec_inspect("nvidia.yaml", spec, strlen(spec), &i, &err), 0);
        ck_assert_str_eq(i.kind, "nvidia.com/gpu");
        ck_assert(i.has_all);
        ck_assert(i.gpu[0] && i.gpu[1] && !i.gpu[2]);
        ck_assert_uint_eq(i.n_devices, 2);
        ck_assert_str_eq(i.driver, "595.45.04");
        ck_assert_ptr_null(i.other_driver);
        cdi_spec_info_done(&i);
        ck_assert_int_eq(cdi_spec_inspect("nvidia.yaml", "devices: [", 10, &i, &err), -EBADMSG);
        ck_assert_ptr_nonnull(strstr(err, "nvidia.yaml:"));
        free(err);
        err = NULL;
        ck_assert_int_eq(cdi_spec_inspect("nvidia.yaml", "kind: x\n", 8, &i, &err), -EBADMSG);
        ck_assert_ptr_nonnull(strstr(err, "not a CDI spec"));
        free(err);
}
END_TEST

Suite *container_suite(void) {
        Suite *s = suite_create("container");
        TCase *tc = tcase_create("smoke");
        tcase_add_test(tc, test_image_cuda);
        tcase_add_test(tc, test_default_image);
        tcase_add_test(tc, test_verdict_output);
        tcase_add_test(tc, test_verdict_failures);
        suite_add_tcase(s, tc);
        tc = tcase_create("cdi");
        tcase_add_test(tc, test_cdi_spec);
        suite_add_tcase(s, tc);
        return s;
}
