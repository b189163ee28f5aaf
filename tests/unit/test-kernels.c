/* The installed kernels (agent/checks/kernels.h): which one boots next (dpkg's version order, not
 * strcmp()), which /boot names are kernels, the module and headers of each from a root, and the
 * kernel metapackages hold_kernel holds. */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "checks/facts.h"
#include "checks/kernels.h"
#include "tests.h"

static char *sorted(const char *const *in) {
        _cleanup_strv_free_ char **l = strv_copy((char *const *) in);
        kernel_releases_sort(l, strv_length(l));
        return strv_join(l, " ");
}

START_TEST(test_kernel_order) {
        /* Debian: the ABI number counts up; strcmp() would put -9 after -28 */
        _cleanup_free_ char *a = sorted((const char *const[]){"6.1.0-28-amd64", "6.1.0-9-amd64", "6.1.0-10-amd64", NULL});
        ck_assert_str_eq(a, "6.1.0-9-amd64 6.1.0-10-amd64 6.1.0-28-amd64");
        /* Ubuntu: a new major version and a three-digit ABI */
        _cleanup_free_ char *b =
                sorted((const char *const[]){"6.8.0-100-generic", "5.15.0-119-generic", "6.8.0-45-generic", NULL});
        ck_assert_str_eq(b, "5.15.0-119-generic 6.8.0-45-generic 6.8.0-100-generic");
        /* cloud kernels, and an upstream release without an ABI part (a hand-built kernel) */
        _cleanup_free_ char *c = sorted((const char *const[]){"6.5.0-1020-aws", "6.10.3", "6.2.0-1018-aws", NULL});
        ck_assert_str_eq(c, "6.2.0-1018-aws 6.5.0-1020-aws 6.10.3");
        _cleanup_free_ char *d = sorted((const char *const[]){"6.1.0-28-amd64", NULL});
        ck_assert_str_eq(d, "6.1.0-28-amd64");
}
END_TEST

START_TEST(test_kernel_release_of_image) {
        _cleanup_free_ char *a = kernel_release_of_image("vmlinuz-6.1.0-28-amd64");
        ck_assert_str_eq(a, "6.1.0-28-amd64");
        static const char *const not_kernels[] = {"vmlinuz", "vmlinuz-", "vmlinuz.old", "vmlinuz-6.1.0-28-amd64.old",
                                                  "vmlinuz-6.1.0-28-amd64.dpkg-bak", "vmlinuz-6.1.0-28-amd64~",
                                                  "vmlinuz-6.1.0-28-amd64.bak", "initrd.img-6.1.0-28-amd64",
                                                  "config-6.1.0-28-amd64", "vmlinuz-rescue", NULL};
        for (size_t i = 0; not_kernels[i]; i++)
                ck_assert_msg(!kernel_release_of_image(not_kernels[i]), "%s taken for a kernel", not_kernels[i]);
}
END_TEST

/* the nvidia module, as DKMS installs it: an object whose .modinfo libkmod reads */
static void write_module_as(const TestRoot *t, const char *rel, const char *version, const char *file) {
        _cleanup_free_ char *dir = xasprintf("/lib/modules/%s/updates/dkms", rel), *src = test_root_path(t, "/ko.c");
        _cleanup_free_ char *text = xasprintf("__attribute__((section(\".modinfo\"), used)) static const char v[] = "
                                              "\"version=%s\";\n",
                                              version);
        test_root_write(t, "/ko.c", text, 0644);
        _cleanup_free_ char *d = test_root_path(t, dir);
        ck_assert_int_eq(mkdir_p(d, 0755), 0);
        _cleanup_free_ char *cmd = xasprintf("cc -c '%s' -o '%s/%s.ko'", src, d, file);
        ck_assert_int_eq(system(cmd), 0);
}

static void write_module(const TestRoot *t, const char *rel, const char *version) {
        write_module_as(t, rel, version, "nvidia");
}

START_TEST(test_kernel_list_read) {
        TestRoot t;
        test_root_init(&t, 0);
        KernelList kl = {0};
        ck_assert_int_eq(kernel_list_read(&t.host, &kl), -ENOENT); /* no /boot */
        test_root_write(&t, "/proc/sys/kernel/osrelease", "6.1.0-9-amd64\n", 0644);
        test_root_write(&t, "/boot/vmlinuz-6.1.0-9-amd64", "image", 0644);
        test_root_write(&t, "/boot/vmlinuz-6.1.0-28-amd64", "image", 0644);
        test_root_write(&t, "/boot/vmlinuz-6.1.0-30-amd64.dpkg-tmp", "image", 0644);
        test_root_write(&t, "/boot/System.map-6.1.0-28-amd64", "", 0644);
        write_module(&t, "6.1.0-9-amd64", "595.45.01");
        test_root_write(&t, "/lib/modules/6.1.0-28-amd64/build/Makefile", "", 0644);
        ck_assert_int_eq(kernel_list_read(&t.host, &kl), 0);
        ck_assert_uint_eq(kl.n, 2);
        ck_assert_str_eq(kl.k[0].release, "6.1.0-9-amd64");
        ck_assert(kl.k[0].running && !kl.k[0].next && !kl.k[0].headers);
        ck_assert_str_eq(kl.k[0].module, "595.45.01");
        const KernelInfo *next = kernel_list_next(&kl);
        ck_assert_str_eq(next->release, "6.1.0-28-amd64");
        ck_assert(next->next && !next->running && next->headers && !next->module);
        ck_assert(kernel_has_module(&kl.k[0], "595.45.01") && kernel_has_module(&kl.k[0], NULL));
        ck_assert(!kernel_has_module(&kl.k[0], "595.58.03") && !kernel_has_module(next, NULL));
        _cleanup_free_ char *d = kernel_list_describe(&kl);
        ck_assert_str_eq(d, "6.1.0-9-amd64 (running): 595.45.01; 6.1.0-28-amd64 (next): no module");
        kernel_list_done(&kl);
        /* headers known to dpkg count too */
        test_root_write(&t, "/var/lib/dpkg/status",
                        "Package: linux-headers-6.1.0-9-amd64\nStatus: install ok installed\nVersion: 6.1.119-1\n\n", 0644);
        ck_assert_int_eq(kernel_list_read(&t.host, &kl), 0);
        ck_assert(kl.k[0].headers);
        kernel_list_done(&kl);
        test_root_done(&t);
}
END_TEST

/* Debian's `install nvidia modprobe -i nvidia-current-open $CMDLINE_OPTS` (nvidia-open-kernel-support
 * 535.261.03-1), and lines that name no other file */
START_TEST(test_modprobe_install_target) {
        _cleanup_free_ char *a = modprobe_install_target("install nvidia modprobe -i nvidia-current-open $CMDLINE_OPTS");
        ck_assert_str_eq(a, "nvidia-current-open");
        _cleanup_free_ char *b = modprobe_install_target("install\tnvidia /sbin/modprobe --ignore-install nvidia-tesla-535");
        ck_assert_str_eq(b, "nvidia-tesla-535");
        static const char *const none[] = {
                "install nvidia-uvm modprobe nvidia ; modprobe -i nvidia-current-open-uvm $CMDLINE_OPTS",
                "install nvidia-modeset modprobe nvidia ; modprobe -i nvidia-current-open-modeset",
                "install nvidia modprobe -i nvidia $CMDLINE_OPTS", "install nvidia /bin/true",
                "install nvidia modprobe ; echo x", "remove nvidia modprobe -r -i nvidia-drm nvidia",
                "# install nvidia modprobe -i nvidia-current", "alias char-major-195* nvidia", "", NULL};
        for (size_t i = 0; none[i]; i++) {
                char *t = modprobe_install_target(none[i]);
                ck_assert_msg(!t, "'%s' taken to load %s", none[i], t);
        }
}
END_TEST

/* Debian's renamed module, reached through the driver alternative's absolute links: found inside
 * the root, never by following the links on the machine gpubase runs on */
START_TEST(test_kernel_module_renamed) {
        TestRoot t;
        test_root_init(&t, 0);
        test_root_write(&t, "/boot/vmlinuz-6.1.0-47-amd64", "image", 0644);
        test_root_write(&t, "/boot/vmlinuz-6.1.0-50-amd64", "image", 0644);
        write_module_as(&t, "6.1.0-47-amd64", "535.261.03", "nvidia-current-open");
        write_module_as(&t, "6.1.0-50-amd64", "535.261.03", "nvidia-current-open");
        write_module(&t, "6.1.0-50-amd64", "525.147.05"); /* a stale nvidia.ko: modprobe would not load it */
        KernelList kl = {0};
        ck_assert_int_eq(kernel_list_read(&t.host, &kl), 0);
        ck_assert(!kl.k[0].module); /* no configuration names the renamed file yet */
        ck_assert_str_eq(kl.k[1].module, "525.147.05");
        kernel_list_done(&kl);
        test_root_write(&t, "/etc/nvidia/current-open/nvidia-modprobe.conf",
                        "# comment\ninstall nvidia-uvm modprobe nvidia ; modprobe -i nvidia-current-open-uvm\n"
                        "install nvidia modprobe -i nvidia-current-open $CMDLINE_OPTS\n",
                        0644);
        _cleanup_free_ char *alt = test_root_path(&t, "/etc/alternatives"), *md = test_root_path(&t, "/etc/modprobe.d");
        ck_assert_int_eq(mkdir_p(alt, 0755), 0);
        ck_assert_int_eq(mkdir_p(md, 0755), 0);
        _cleanup_free_ char *l1 = xasprintf("%s/nvidia--nvidia-modprobe.conf", alt), *l2 = xasprintf("%s/nvidia.conf", md);
        ck_assert_int_eq(symlink("/etc/nvidia/current-open/nvidia-modprobe.conf", l1), 0);
        ck_assert_int_eq(symlink("/etc/alternatives/nvidia--nvidia-modprobe.conf", l2), 0);
        _cleanup_free_ char *name = driver_module_file_name(&t.host);
        ck_assert_str_eq(name, "nvidia-current-open");
        ck_assert_int_eq(kernel_list_read(&t.host, &kl), 0);
        ck_assert_str_eq(kl.k[0].module, "535.261.03");
        ck_assert_str_eq(kl.k[1].module, "535.261.03");
        kernel_list_done(&kl);
        test_root_done(&t);
}
END_TEST

START_TEST(test_kernel_metapackages) {
        const char *status = "Package: linux-image-amd64\nStatus: install ok installed\nVersion: 6.1.119-1\n\n"
                             "Package: linux-image-6.1.0-28-amd64\nStatus: install ok installed\nVersion: 6.1.119-1\n\n"
                             "Package: linux-headers-amd64\nStatus: hold ok installed\nVersion: 6.1.119-1\n\n"
                             "Package: linux-headers-6.1.0-28-common\nStatus: install ok installed\nVersion: 6.1.119-1\n\n"
                             "Package: linux-image-cloud-amd64\nStatus: deinstall ok config-files\nVersion: 6.1.119-1\n\n"
                             "Package: linux-libc-dev\nStatus: install ok installed\nVersion: 6.1.119-1\n\n"
                             "Package: linux-base\nStatus: install ok installed\nVersion: 4.9\n";
        _cleanup_strv_free_ char **m = kernel_metapackages_in(status);
        _cleanup_free_ char *a = strv_join(m, " ");
        ck_assert_str_eq(a, "linux-image-amd64 linux-headers-amd64");
        /* Ubuntu: linux-generic beside linux-image-generic; the HWE flavour is a flavour too */
        const char *ubuntu = "Package: linux-generic-hwe-24.04\nStatus: install ok installed\nVersion: 6.11.0-19.19\n\n"
                             "Package: linux-image-generic-hwe-24.04\nStatus: install ok installed\nVersion: 6.11.0-19.19\n\n"
                             "Package: linux-headers-generic-hwe-24.04\nStatus: install ok installed\nVersion: 6.11.0-19.19\n\n"
                             "Package: linux-image-6.11.0-19-generic\nStatus: install ok installed\nVersion: 6.11.0-19.19\n\n"
                             "Package: linux-modules-nvidia-595-server-open-generic-hwe-24.04\nStatus: install ok "
                             "installed\nVersion: 6.11.0-19.19\n";
        _cleanup_strv_free_ char **u = kernel_metapackages_in(ubuntu);
        _cleanup_free_ char *b = strv_join(u, " ");
        ck_assert_str_eq(b, "linux-image-generic-hwe-24.04 linux-generic-hwe-24.04 linux-headers-generic-hwe-24.04");
        ck_assert(!kernel_metapackages_in("Package: linux-base\nStatus: install ok installed\nVersion: 4.9\n"));
}
END_TEST

Suite *kernels_suite(void) {
        Suite *s = suite_create("kernels");
        TCase *tc = tcase_create("kernels");
        tcase_add_test(tc, test_kernel_order);
        tcase_add_test(tc, test_kernel_release_of_image);
        tcase_add_test(tc, test_kernel_list_read);
        tcase_add_test(tc, test_kernel_metapackages);
        tcase_add_test(tc, test_modprobe_install_target);
        tcase_add_test(tc, test_kernel_module_renamed);
        suite_add_tcase(s, tc);
        return s;
}
