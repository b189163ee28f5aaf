/* The unit tier: every suite in one runner. `make unit` runs it; `make san-check` runs it again
 * under ASan+UBSan with CK_FORK=no. CK_RUN_SUITE / CK_RUN_CASE pick a part, CK_VERBOSITY=verbose
 * lists every test. */
#include <stdlib.h>

#include "tests.h"

int main(void) {
        test_scratch_init();
        SRunner *sr = srunner_create(plan_suite());
        srunner_add_suite(sr, expand_suite());
        srunner_add_suite(sr, state_suite());
        srunner_add_suite(sr, engine_suite());
        srunner_add_suite(sr, debfile_suite());
        srunner_add_suite(sr, pgp_suite());
        srunner_add_suite(sr, apt_suite());
        srunner_add_suite(sr, nvml_suite());
        srunner_add_suite(sr, pci_suite());
        srunner_add_suite(sr, hgx_suite());
        srunner_add_suite(sr, facts_suite());
        srunner_add_suite(sr, stack_suite());
        srunner_add_suite(sr, signing_suite());
        srunner_add_suite(sr, exec_suite());
        srunner_add_suite(sr, input_suite());
        srunner_add_suite(sr, confine_suite());
        srunner_add_suite(sr, kernels_suite());
        srunner_add_suite(sr, container_suite());
        srunner_run_all(sr, CK_ENV);
        int failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        test_scratch_done();
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
