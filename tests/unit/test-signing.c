/* Secure Boot signing routes (agent/checks/signing.h), the plan-time refusal, the nouveau intent of
 * module-blacklist and reboot steps, and the debian-13 built-ins. Fixture roots hold the EFI
 * variables as the kernel shows them: SecureBoot (4 attribute bytes, then the value) and shim's
 * MokListRT / the firmware's db (attribute bytes, then EFI_SIGNATURE_LISTs holding the DER). */
#include <check.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <string.h>

#include "checks/preflight.h"
#include "checks/signing.h"
#include "tests.h"

Suite *signing_suite(void);

static TestRoot root;

static void setup(void) {
        test_root_init(&root, ROOT_OS_RELEASE | ROOT_BOOT_ID);
}

static void teardown(void) {
        test_root_done(&root);
}

#define SB_VAR "/sys/firmware/efi/efivars/SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c"
#define MOK_VAR "/sys/firmware/efi/efivars/MokListRT-605dab50-e046-4300-abb6-3dd810dd8b23"
#define DB_VAR "/sys/firmware/efi/efivars/db-d719b2cb-3d3a-4596-a3bc-dad00e67656f"

static void write_bytes(const char *rel, const void *a, size_t na, const void *b, size_t nb) {
        _cleanup_free_ char *p = test_root_path(&root, rel);
        ck_assert_int_ge(mkdir_parents(p, 0755), 0);
        FILE *f = fopen(p, "w");
        ck_assert_ptr_nonnull(f);
        ck_assert_uint_eq(fwrite(a, 1, na, f), na);
        if (nb)
                ck_assert_uint_eq(fwrite(b, 1, nb, f), nb);
        fclose(f);
}

static void secureboot(bool on) {
        unsigned char v[5] = {6, 0, 0, 0, on ? 1 : 0};
        write_bytes(SB_VAR, v, sizeof v, NULL, 0);
}

/* A self-signed certificate (EC P-256), DER in *ret. */
static size_t make_cert(unsigned char **ret, X509 **ret_x) {
        EVP_PKEY *k = EVP_EC_gen("P-256");
        X509 *x = X509_new();
        ck_assert_ptr_nonnull(k);
        X509_set_version(x, 2);
        ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
        X509_gmtime_adj(X509_getm_notBefore(x), 0);
        X509_gmtime_adj(X509_getm_notAfter(x), 3600);
        X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
                                   (const unsigned char *) "gpubase test DKMS key", -1, -1, 0);
        X509_set_issuer_name(x, X509_get_subject_name(x));
        X509_set_pubkey(x, k);
        ck_assert_int_gt(X509_sign(x, k, EVP_sha256()), 0);
        EVP_PKEY_free(k);
        unsigned char *der = NULL;
        int n = i2d_X509(x, &der);
        ck_assert_int_gt(n, 0);
        *ret = der;
        *ret_x = x;
        return (size_t) n;
}

static Plan *load(const char *text) {
        return test_load_plan_text(&root, text);
}

static const char dkms_plan[] = "version: 1\nname: d\nsteps:\n"
                                "  - {id: driver, kind: apt-install, packages: [nvidia-driver-pinning-595, nvidia-open]}\n";

START_TEST(test_module_source) {
        static const struct {
                const char *name;
                ModuleSource want;
        } cases[] = {
                {"nvidia-open", MODULE_SOURCE_DKMS},
                {"nvidia-open-580", MODULE_SOURCE_DKMS},
                {"cuda-drivers-580", MODULE_SOURCE_DKMS},
                {"nvidia-driver-open", MODULE_SOURCE_DKMS},
                {"nvidia-driver", MODULE_SOURCE_DKMS},
                {"nvidia-open-kernel-dkms", MODULE_SOURCE_DKMS},
                {"nvidia-kernel-dkms", MODULE_SOURCE_DKMS},
                {"nvidia-dkms-595-server-open", MODULE_SOURCE_DKMS},
                {"linux-modules-nvidia-595-server-open-generic", MODULE_SOURCE_SIGNED},
                {"nvidia-driver-pinning-595", MODULE_SOURCE_NONE},
                {"nvidia-container-toolkit", MODULE_SOURCE_NONE},
                {"nvidia-smi", MODULE_SOURCE_NONE},
                {"firmware-nvidia-gsp", MODULE_SOURCE_NONE},
                {"libcuda1", MODULE_SOURCE_NONE},
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++)
                ck_assert_msg(module_source_of_package(cases[i].name) == cases[i].want, "%s", cases[i].name);
}
END_TEST

START_TEST(test_route_strings) {
        for (int i = 0; i < _SIGNING_ROUTE_MAX; i++)
                ck_assert_int_eq(signing_route_from_string(signing_route_to_string((SigningRoute) i)), i);
        ck_assert_int_eq(signing_route_from_string("mok"), _SIGNING_ROUTE_INVALID);
        ck_assert_ptr_null(signing_route_to_string(_SIGNING_ROUTE_MAX));
}
END_TEST

START_TEST(test_intent) {
        _cleanup_(plan_freep) Plan *p = load(dkms_plan);
        ck_assert(p->intent.module_dkms);
        ck_assert(!p->intent.module_signed);
        ck_assert_int_eq(p->intent.signing_route, -1);
        ck_assert_int_eq(plan_signing_route(&p->intent), SIGNING_NONE);

        _cleanup_(plan_freep) Plan *s = load(
                "version: 1\nname: s\nsteps:\n  - {id: driver, kind: apt-install, packages: "
                "[nvidia-driver-595-server-open, linux-modules-nvidia-595-server-open-generic]}\n");
        ck_assert(s->intent.module_signed);
        ck_assert_int_eq(plan_signing_route(&s->intent), SIGNING_SIGNED_MODULES);

        _cleanup_(plan_freep) Plan *m = load("version: 1\nname: m\nsteps:\n"
                                             "  - {id: pre, kind: gate, checks: [{secureboot: dkms-mok}]}\n");
        ck_assert_int_eq(m->intent.signing_route, SIGNING_DKMS_MOK);

        static const char bad[] = "version: 1\nname: b\nsteps:\n  - {id: pre, kind: gate, checks: [{secureboot: shim}]}\n";
        Plan *b = NULL;
        SrcError err = {0};
        ck_assert_int_eq(plan_load_string("b.yaml", bad, strlen(bad), &root.host, &b, &err), -EINVAL);
        _cleanup_free_ char *msg = src_error_format(&err);
        ck_assert_msg(strstr(msg, "none, dkms-mok or signed-modules"), "%s", msg);
        src_error_done(&err);
}
END_TEST

START_TEST(test_refusal_no_route) {
        _cleanup_(plan_freep) Plan *p = load(dkms_plan);
        ck_assert_ptr_null(secureboot_refusal(&p->intent, &root.host)); /* legacy boot */
        secureboot(false);
        ck_assert_ptr_null(secureboot_refusal(&p->intent, &root.host));
        secureboot(true);
        _cleanup_free_ char *why = secureboot_refusal(&p->intent, &root.host);
        ck_assert_ptr_nonnull(why);
        ck_assert_msg(strstr(why, "no signing route") && strstr(why, "mokutil --import /var/lib/dkms/mok.pub") &&
                              strstr(why, "linux-modules-nvidia-<branch>-server-open"),
                      "%s", why);
        /* the same through plan_refusals (what `plan check` and `run` say, exit 65) */
        char **all = plan_refusals(p, &root.host);
        ck_assert_ptr_nonnull(all);
        ck_assert_msg(strstr(all[0], "no signing route"), "%s", all[0]);
        strv_free(all);
        /* a plan without a kernel module is not concerned */
        _cleanup_(plan_freep) Plan *c = load("version: 1\nname: c\nsteps:\n"
                                             "  - {id: ctk, kind: apt-install, packages: [nvidia-container-toolkit]}\n");
        ck_assert_ptr_null(secureboot_refusal(&c->intent, &root.host));
}
END_TEST

START_TEST(test_refusal_dkms_mok) {
        secureboot(true);
        _cleanup_(plan_freep) Plan *p = load("version: 1\nname: d\nsteps:\n"
                                             "  - {id: pre, kind: gate, checks: [{secureboot: dkms-mok}]}\n"
                                             "  - {id: driver, kind: apt-install, packages: [nvidia-open]}\n");
        _cleanup_free_ char *none = secureboot_refusal(&p->intent, &root.host);
        ck_assert_msg(none && strstr(none, "there is no DKMS signing key yet"), "%s", none);

        unsigned char *der = NULL;
        X509 *x = NULL;
        size_t n = make_cert(&der, &x);
        write_bytes("/var/lib/dkms/mok.pub", der, n, NULL, 0);
        _cleanup_free_ char *not_enrolled = secureboot_refusal(&p->intent, &root.host);
        ck_assert_msg(not_enrolled && strstr(not_enrolled, "the DKMS key /var/lib/dkms/mok.pub is not enrolled"), "%s",
                      not_enrolled);

        /* enrolled in shim's MOK list: attributes, signature list header and owner, then the DER */
        unsigned char head[4 + 28 + 16] = {7, 0, 0, 0};
        write_bytes(MOK_VAR, head, sizeof head, der, n);
        ck_assert_ptr_null(secureboot_refusal(&p->intent, &root.host));
        _cleanup_free_ char *cert = NULL, *why = NULL;
        ck_assert_int_eq(dkms_key_enrolled(&root.host, &cert, &why), 1);
        ck_assert_str_eq(cert, "/var/lib/dkms/mok.pub");

        /* in the firmware's db instead, and the certificate in PEM */
        _cleanup_free_ char *mok = test_root_path(&root, MOK_VAR);
        ck_assert_int_eq(unlink(mok), 0);
        _cleanup_free_ char *gone = secureboot_refusal(&p->intent, &root.host);
        ck_assert_ptr_nonnull(gone);
        write_bytes(DB_VAR, head, sizeof head, der, n);
        _cleanup_free_ char *pem = test_root_path(&root, "/var/lib/dkms/mok.pub");
        FILE *f = fopen(pem, "w");
        ck_assert_ptr_nonnull(f);
        ck_assert_int_eq(PEM_write_X509(f, x), 1);
        fclose(f);
        ck_assert_ptr_null(secureboot_refusal(&p->intent, &root.host));
        OPENSSL_free(der);
        X509_free(x);
}
END_TEST

START_TEST(test_refusal_signed_modules) {
        secureboot(true);
        _cleanup_(plan_freep) Plan *s = load(
                "version: 1\nname: s\nsteps:\n  - {id: driver, kind: apt-install, packages: "
                "[nvidia-driver-595-server-open, linux-modules-nvidia-595-server-open-generic]}\n");
        ck_assert_ptr_null(secureboot_refusal(&s->intent, &root.host));
        /* declared without the packages: refused on any host */
        secureboot(false);
        _cleanup_(plan_freep) Plan *d = load("version: 1\nname: d\nsteps:\n"
                                             "  - {id: pre, kind: gate, checks: [{secureboot: signed-modules}]}\n"
                                             "  - {id: driver, kind: apt-install, packages: [nvidia-open]}\n");
        _cleanup_free_ char *why = secureboot_refusal(&d->intent, &root.host);
        ck_assert_msg(why && strstr(why, "installs no linux-modules-nvidia-* package"), "%s", why);
}
END_TEST

START_TEST(test_nouveau_intent) {
        _cleanup_(plan_freep) Plan *p = load("version: 1\nname: n\nsteps:\n"
                                             "  - {id: r0, kind: reboot}\n"
                                             "  - {id: bl, kind: module-blacklist, modules: [nouveau]}\n"
                                             "  - {id: r1, kind: reboot}\n  - {id: r2, kind: reboot}\n");
        ck_assert_str_eq(p->intent.nouveau_blacklist_step, "bl");
        ck_assert_str_eq(p->intent.nouveau_reboot_step, "r1");
        _cleanup_(plan_freep) Plan *q = load("version: 1\nname: q\nsteps:\n"
                                             "  - {id: bl, kind: module-blacklist, modules: [nouveau], initramfs: false}\n"
                                             "  - {id: r1, kind: reboot}\n");
        ck_assert_ptr_null(q->intent.nouveau_blacklist_step); /* without the initramfs it does not count */
        ck_assert_ptr_null(q->intent.nouveau_reboot_step);

        static const char bad[] = "version: 1\nname: b\nsteps:\n"
                                  "  - {id: bl, kind: module-blacklist, modules: [nouveau], path: /etc/nouveau.conf}\n";
        Plan *b = NULL;
        SrcError err = {0};
        ck_assert_int_eq(plan_load_string("b.yaml", bad, strlen(bad), &root.host, &b, &err), -EINVAL);
        _cleanup_free_ char *msg = src_error_format(&err);
        ck_assert_msg(strstr(msg, "must be a .conf file in /etc/modprobe.d"), "%s", msg);
        src_error_done(&err);
}
END_TEST

/* Debian 13: ${distro} is debian13 (NVIDIA's repository directory) and match: debian-13 holds. */
START_TEST(test_debian13_builtins) {
        test_root_write(&root, "/etc/os-release",
                        "PRETTY_NAME=\"Debian GNU/Linux 13 (trixie)\"\nNAME=\"Debian GNU/Linux\"\nVERSION_ID=\"13\"\n"
                        "VERSION_CODENAME=trixie\nID=debian\n",
                        0644);
        _cleanup_(plan_freep) Plan *p = load("version: 1\nname: t\nmatch: {os: [debian-13]}\nsteps:\n"
                                             "  - {id: a, kind: command, argv: [\"${distro}\"]}\n");
        ck_assert_str_eq(plan_var(p, "distro"), "debian13");
        ck_assert_str_eq(plan_var(p, "os_version"), "13");
        char *why = NULL;
        ck_assert_int_eq(plan_matches_host(p, &root.host, &why), 1);
        _cleanup_(plan_freep) Plan *q = load("version: 1\nname: t\nmatch: {os: [debian-12]}\nsteps:\n"
                                             "  - {id: a, kind: command, argv: [\"true\"]}\n");
        ck_assert_int_eq(plan_matches_host(q, &root.host, &why), 0);
        ck_assert_msg(strstr(why, "this machine is debian-13"), "%s", why);
        free(why);
}
END_TEST

Suite *signing_suite(void) {
        Suite *s = suite_create("signing");
        TCase *tc = tcase_create("signing");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_module_source);
        tcase_add_test(tc, test_route_strings);
        tcase_add_test(tc, test_intent);
        tcase_add_test(tc, test_refusal_no_route);
        tcase_add_test(tc, test_refusal_dkms_mok);
        tcase_add_test(tc, test_refusal_signed_modules);
        tcase_add_test(tc, test_nouveau_intent);
        tcase_add_test(tc, test_debian13_builtins);
        suite_add_tcase(s, tc);
        return s;
}
