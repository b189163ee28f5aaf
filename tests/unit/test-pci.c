/* GPUs on the PCI bus (agent/checks/pci.c): libpci over fixture sysfs trees, names from pci.ids,
 * the architecture from the chip name, and the open kernel module's device list. Each test builds
 * its own root: <root>/sys/bus/pci/devices/<slot>/{vendor,device,class,subsystem_*}, the files
 * libpci's sysfs method reads, plus a pci.ids (the host's, or a small one written here). */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "checks/data.h"
#include "checks/pci.h"

Suite *pci_suite(void);

#define HOST_PCI_IDS "/usr/share/misc/pci.ids"

/* ---- fixture roots ---- */

typedef struct PciRoot {
        char *dir;
        Host host;
} PciRoot;

static void pci_root_write(const PciRoot *t, const char *rel, const char *content) {
        _cleanup_free_ char *path = xasprintf("%s%s", t->dir, rel);
        ck_assert_msg(mkdir_parents(path, 0755) >= 0, "cannot create the parents of %s", path);
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        ck_assert_msg(fd >= 0, "cannot create %s: %s", path, strerror(errno));
        size_t n = strlen(content);
        ck_assert_msg(write(fd, content, n) == (ssize_t) n, "cannot write %s", path);
        close(fd);
}

static void pci_root_mkdir(const PciRoot *t, const char *rel) {
        _cleanup_free_ char *path = xasprintf("%s%s", t->dir, rel);
        ck_assert_msg(mkdir_p(path, 0755) >= 0, "cannot create %s", path);
}

/* An empty root; with_bus: <root>/sys/bus/pci/devices exists (and is empty). */
static void pci_root_init(PciRoot *t, bool with_bus) {
        const char *tmp = getenv("TMPDIR");
        _cleanup_free_ char *tmpl = xasprintf("%s/gpubase-pci.XXXXXX", tmp && *tmp ? tmp : "/tmp");
        *t = (PciRoot){0};
        ck_assert_msg(mkdtemp(tmpl), "mkdtemp %s: %s", tmpl, strerror(errno));
        t->dir = realpath(tmpl, NULL);
        ck_assert_ptr_nonnull(t->dir);
        ck_assert_int_eq(host_init(&t->host, t->dir), 0);
        if (with_bus)
                pci_root_mkdir(t, "/sys/bus/pci/devices");
}

static int pci_rm_one(const char *path, const struct stat *st _unused_, int type, struct FTW *ftw _unused_) {
        if (type == FTW_DP)
                (void) rmdir(path);
        else
                (void) unlink(path);
        return 0;
}

static void pci_root_done(PciRoot *t) {
        if (t->dir)
                (void) nftw(t->dir, pci_rm_one, 16, FTW_DEPTH | FTW_PHYS);
        host_done(&t->host);
        free(t->dir);
        *t = (PciRoot){0};
}

/* One PCI function as sysfs shows it: class is the 24-bit class code (0x030200 = 3D controller). */
static void pci_root_add(const PciRoot *t, const char *slot, unsigned vendor, unsigned device, unsigned class24,
                         unsigned subsys_vendor, unsigned subsys_device) {
        static const char *const names[] = {"vendor", "device", "class", "subsystem_vendor", "subsystem_device"};
        const unsigned values[] = {vendor, device, class24, subsys_vendor, subsys_device};
        for (size_t i = 0; i < ELEMENTSOF(names); i++) {
                _cleanup_free_ char *rel = xasprintf("/sys/bus/pci/devices/%s/%s", slot, names[i]);
                _cleanup_free_ char *val = xasprintf(i == 2 ? "0x%06x\n" : "0x%04x\n", values[i]);
                pci_root_write(t, rel, val);
        }
}

/* The host's pci.ids (Debian package pci.ids, in the build dependencies) copied to <root><rel>. */
static void pci_root_copy_host_ids(const PciRoot *t, const char *rel) {
        _cleanup_free_ char *data = NULL;
        size_t len = 0;
        int r = read_file(HOST_PCI_IDS, 64 * 1024 * 1024, &data, &len);
        ck_assert_msg(r >= 0, "cannot read %s (install the pci.ids package): %s", HOST_PCI_IDS, strerror(-r));
        pci_root_write(t, rel, data);
}

/* Does the host's pci.ids name NVIDIA device `id`? (Debian 12's, 2023.04.10, does not know 2335.) */
static bool host_ids_know_nvidia(unsigned id) {
        _cleanup_free_ char *data = NULL;
        if (read_file(HOST_PCI_IDS, 64 * 1024 * 1024, &data, NULL) < 0)
                return false;
        const char *v = strstr(data, "\n10de  ");
        if (!v)
                return false;
        const char *end = v + 1;
        /* the vendor's block ends at the next line that does not start with a tab or '#' */
        for (const char *p = strchr(v + 1, '\n'); p; p = strchr(p + 1, '\n'))
                if (p[1] != '\t' && p[1] != '#') {
                        end = p;
                        break;
                }
        char needle[16];
        snprintf(needle, sizeof needle, "\n\t%04x  ", id);
        const char *hit = strstr(v, needle);
        return hit && hit < end;
}

/* A small pci.ids in the real file's format, entries as Debian 12's pci.ids has them. */
static const char small_ids[] = "# test pci.ids\n"
                                "10de  NVIDIA Corporation\n"
                                "\t1db4  GV100GL [Tesla V100 PCIe 16GB]\n"
                                "\t1eb8  TU104GL [Tesla T4]\n"
                                "\t2330  GH100[H100 SXM5 80GB]\n"
                                "8086  Intel Corporation\n"
                                "\t3e92  CoffeeLake-S GT2 [UHD Graphics 630]\n";

/* ---- gpu_arch_* ---- */

START_TEST(test_arch_from_name) {
        static const struct {
                const char *name;
                GpuArch arch;
        } cases[] = {
                {"GB202 [GeForce RTX 5090]", GPU_ARCH_BLACKWELL},
                {"GB100 [B200]", GPU_ARCH_BLACKWELL},
                {"GH100[H100 SXM5 80GB]", GPU_ARCH_HOPPER}, /* no space: as Debian 12's pci.ids has it */
                {"GH100 [H100 PCIe]", GPU_ARCH_HOPPER},
                {"GH100", GPU_ARCH_HOPPER},
                {"AD102 [GeForce RTX 4090]", GPU_ARCH_ADA},
                {"AD104GL [L4]", GPU_ARCH_ADA},
                {"GA100 [A100 SXM4 80GB]", GPU_ARCH_AMPERE},
                {"GA102GL [A10]", GPU_ARCH_AMPERE},
                {"TU104GL [Tesla T4]", GPU_ARCH_TURING},
                {"TU117M [GeForce MX450]", GPU_ARCH_TURING},
                {"  TU116 [GeForce GTX 1660]", GPU_ARCH_TURING},
                {"GV100GL [Tesla V100 PCIe 16GB]", GPU_ARCH_VOLTA},
                {"GP104 [GeForce GTX 1080]", GPU_ARCH_PASCAL},
                {"GP100GL [Tesla P100 PCIe 16GB]", GPU_ARCH_PASCAL},
                {"GM204GL [Tesla M60]", GPU_ARCH_MAXWELL},
                {"GM107 [GeForce GTX 750 Ti]", GPU_ARCH_MAXWELL},
                {"GK210GL [Tesla K80]", GPU_ARCH_KEPLER},
                {"GK104 [GeForce GTX 680]", GPU_ARCH_KEPLER},
                /* not a chip code we know */
                {"", GPU_ARCH_UNKNOWN},
                {"Device 2335", GPU_ARCH_UNKNOWN},
                {"garbage", GPU_ARCH_UNKNOWN},
                {"GH1", GPU_ARCH_UNKNOWN},
                {"GH1 [H100]", GPU_ARCH_UNKNOWN},
                {"gh100 [H100]", GPU_ARCH_UNKNOWN},
                {"GHOST", GPU_ARCH_UNKNOWN},
                {"NV44 [GeForce 6200 TurboCache]", GPU_ARCH_UNKNOWN},
                {"G94 [GeForce 9600 GT]", GPU_ARCH_UNKNOWN},
                {"GN20-P0-R-K2 [GeForce RTX 3050 6GB Laptop GPU]", GPU_ARCH_UNKNOWN},
                {"[H100 SXM5 80GB] GH100", GPU_ARCH_UNKNOWN},
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++)
                ck_assert_msg(gpu_arch_from_name(cases[i].name) == cases[i].arch, "\"%s\": got %s, want %s",
                              cases[i].name, gpu_arch_to_string(gpu_arch_from_name(cases[i].name)),
                              gpu_arch_to_string(cases[i].arch));
        ck_assert_int_eq(gpu_arch_from_name(NULL), GPU_ARCH_UNKNOWN);
}
END_TEST

START_TEST(test_arch_strings_and_open_capable) {
        ck_assert_str_eq(gpu_arch_to_string(GPU_ARCH_HOPPER), "Hopper");
        ck_assert_str_eq(gpu_arch_to_string(GPU_ARCH_BLACKWELL), "Blackwell");
        ck_assert_str_eq(gpu_arch_to_string(GPU_ARCH_ADA), "Ada");
        ck_assert_str_eq(gpu_arch_to_string(GPU_ARCH_VOLTA), "Volta");
        ck_assert_str_eq(gpu_arch_to_string(GPU_ARCH_UNKNOWN), "unknown");
        ck_assert_str_eq(gpu_arch_to_string(_GPU_ARCH_MAX), "unknown");
        ck_assert_str_eq(gpu_arch_to_string((GpuArch) -1), "unknown");
        for (GpuArch a = 0; a < _GPU_ARCH_MAX; a++) {
                ck_assert_ptr_nonnull(gpu_arch_to_string(a));
                bool want = a == GPU_ARCH_TURING || a == GPU_ARCH_AMPERE || a == GPU_ARCH_ADA || a == GPU_ARCH_HOPPER ||
                            a == GPU_ARCH_BLACKWELL;
                ck_assert_msg(gpu_arch_open_capable(a) == want, "%s", gpu_arch_to_string(a));
        }
        ck_assert(!gpu_arch_open_capable(_GPU_ARCH_MAX));
}
END_TEST

/* ---- the open module's list ---- */

START_TEST(test_open_list) {
        ck_assert_str_eq(open_module_list_release(), "550.40.82");
        ck_assert(open_module_lists_device(0x2330)); /* H100 SXM5 */
        ck_assert(open_module_lists_device(0x2335)); /* H200 */
        ck_assert(open_module_lists_device(0x2331)); /* H100 PCIe */
        ck_assert(open_module_lists_device(0x20b2)); /* A100 80GB, listed only with subsystem IDs */
        /* Not asserted either way: 1EB8 (Tesla T4, Turing) is missing from the 550.40.82 table, so a
         * device absent from the list is not proof that the open module cannot drive it. */
        ck_assert(open_module_lists_device(0x1e02));  /* TITAN RTX, the table's first row */
        ck_assert(open_module_lists_device(0x28f8));  /* the table's last row */
        ck_assert(!open_module_lists_device(0x1db4)); /* V100: Volta, not driven by the open module */
        ck_assert(!open_module_lists_device(0x15f8)); /* P100 */
        ck_assert(!open_module_lists_device(0));
        ck_assert(!open_module_lists_device(0xffff));
        ck_assert(!open_module_lists_device(0x12330));

        _cleanup_free_ char *h200 = open_module_device_name(0x2335);
        ck_assert_str_eq(h200, "NVIDIA H200");
        _cleanup_free_ char *h100 = open_module_device_name(0x2330);
        ck_assert_str_eq(h100, "NVIDIA H100 80GB HBM3");
        ck_assert_ptr_null(open_module_device_name(0x1db4));
}
END_TEST

/* The embedded file itself: sorted, unique, 4 uppercase hex digits, a name on every row. */
START_TEST(test_open_list_file_shape) {
        const char *s = gpubase_data_open_gpu_ids;
        long prev = -1;
        size_t rows = 0;
        bool release = false;
        while (*s) {
                const char *e = strchr(s, '\n');
                size_t len = e ? (size_t) (e - s) : strlen(s);
                _cleanup_free_ char *line = xstrndup(s, len);
                if (line[0] == '#') {
                        if (startswith(line, "# release: "))
                                release = true;
                } else if (line[0]) {
                        char *tab = strchr(line, '\t');
                        ck_assert_msg(tab && tab - line == 4, "bad row \"%s\"", line);
                        for (int i = 0; i < 4; i++)
                                ck_assert_msg(strchr("0123456789ABCDEF", line[i]), "bad ID in \"%s\"", line);
                        ck_assert_msg(tab[1] && !strchr(tab + 1, '\t'), "bad name in \"%s\"", line);
                        long id = strtol(line, NULL, 16);
                        ck_assert_msg(id > prev, "not sorted or duplicate at \"%s\"", line);
                        prev = id;
                        rows++;
                }
                s += len + (e ? 1 : 0);
        }
        ck_assert(release);
        ck_assert_uint_eq(rows, 233);
}
END_TEST

/* ---- pci_find_gpus ---- */

START_TEST(test_find_hgx_h100) {
        /* An HGX H100 8-GPU board: the GPUs' usual slots, listed out of order, plus NVSwitches
         * (NVIDIA, class 0x0680 "bridge") that are not GPUs. */
        static const char *const slots[] = {"0000:df:00.0", "0000:1b:00.0", "0000:43:00.0", "0000:52:00.0",
                                            "0000:61:00.0", "0000:9d:00.0", "0000:c3:00.0", "0000:d1:00.0"};
        static const char *const sorted[] = {"0000:1b:00.0", "0000:43:00.0", "0000:52:00.0", "0000:61:00.0",
                                             "0000:9d:00.0", "0000:c3:00.0", "0000:d1:00.0", "0000:df:00.0"};
        PciRoot t;
        pci_root_init(&t, true);
        for (size_t i = 0; i < ELEMENTSOF(slots); i++)
                pci_root_add(&t, slots[i], 0x10de, 0x2330, 0x030200, 0x10de, 0x16c1);
        for (int i = 0; i < 4; i++) {
                _cleanup_free_ char *slot = xasprintf("0000:0%d:00.0", 5 + i);
                pci_root_add(&t, slot, 0x10de, 0x22a3, 0x068000, 0x10de, 0x1796);
        }
        pci_root_copy_host_ids(&t, "/usr/share/misc/pci.ids");

        GpuList l = {0};
        ck_assert_int_eq(pci_find_gpus(&t.host, &l), 0);
        ck_assert_uint_eq(l.n, 8);
        _cleanup_free_ char *ids = xasprintf("%s/usr/share/misc/pci.ids", t.dir);
        ck_assert_str_eq(l.ids_file, ids);
        for (size_t i = 0; i < l.n; i++) {
                const Gpu *g = &l.gpus[i];
                ck_assert_str_eq(g->slot, sorted[i]);
                ck_assert_uint_eq(g->vendor_id, 0x10de);
                ck_assert_uint_eq(g->device_id, 0x2330);
                ck_assert_uint_eq(g->class_id, 0x0302);
                ck_assert_msg(strstr(g->name, "H100"), "name \"%s\"", g->name);
                ck_assert_int_eq(g->arch, GPU_ARCH_HOPPER);
                ck_assert(gpu_arch_open_capable(g->arch));
                ck_assert(open_module_lists_device(g->device_id));
        }
        gpu_list_done(&l);
        ck_assert_ptr_null(l.gpus);
        ck_assert_ptr_null(l.ids_file);
        pci_root_done(&t);
}
END_TEST

START_TEST(test_find_h200_unknown_to_pci_ids) {
        PciRoot t;
        pci_root_init(&t, true);
        for (int i = 0; i < 8; i++) {
                _cleanup_free_ char *slot = xasprintf("0000:%02x:00.0", 0x18 + 0x10 * i);
                pci_root_add(&t, slot, 0x10de, 0x2335, 0x030200, 0x10de, 0x18be);
        }
        pci_root_copy_host_ids(&t, "/usr/share/misc/pci.ids");

        GpuList l = {0};
        ck_assert_int_eq(pci_find_gpus(&t.host, &l), 0);
        ck_assert_uint_eq(l.n, 8);
        for (size_t i = 0; i < l.n; i++) {
                const Gpu *g = &l.gpus[i];
                ck_assert_uint_eq(g->device_id, 0x2335);
                if (host_ids_know_nvidia(0x2335)) {
                        /* a pci.ids newer than Debian 12's */
                        ck_assert_msg(strstr(g->name, "H200") || strstr(g->name, "GH100"), "name \"%s\"", g->name);
                } else {
                        /* not libpci's made-up "Device 2335" */
                        ck_assert_str_eq(g->name, "");
                        ck_assert_int_eq(g->arch, GPU_ARCH_UNKNOWN);
                }
        }
        /* what the checks fall back on: the open module's list knows it */
        ck_assert(open_module_lists_device(0x2335));
        _cleanup_free_ char *name = open_module_device_name(0x2335);
        ck_assert_str_eq(name, "NVIDIA H200");
        gpu_list_done(&l);
        pci_root_done(&t);
}
END_TEST

START_TEST(test_find_volta_v100) {
        PciRoot t;
        pci_root_init(&t, true);
        pci_root_add(&t, "0000:3b:00.0", 0x10de, 0x1db4, 0x030200, 0x10de, 0x1214);
        pci_root_copy_host_ids(&t, "/usr/share/misc/pci.ids");

        GpuList l = {0};
        ck_assert_int_eq(pci_find_gpus(&t.host, &l), 0);
        ck_assert_uint_eq(l.n, 1);
        ck_assert_str_eq(l.gpus[0].slot, "0000:3b:00.0");
        ck_assert_msg(strstr(l.gpus[0].name, "V100"), "name \"%s\"", l.gpus[0].name);
        ck_assert_int_eq(l.gpus[0].arch, GPU_ARCH_VOLTA);
        ck_assert(!gpu_arch_open_capable(l.gpus[0].arch));
        ck_assert(!open_module_lists_device(l.gpus[0].device_id));
        gpu_list_done(&l);
        pci_root_done(&t);
}
END_TEST

START_TEST(test_find_turing_t4) {
        PciRoot t;
        pci_root_init(&t, true);
        pci_root_add(&t, "0000:00:04.0", 0x10de, 0x1eb8, 0x030200, 0x10de, 0x12a2);
        pci_root_copy_host_ids(&t, "/usr/share/misc/pci.ids");

        GpuList l = {0};
        ck_assert_int_eq(pci_find_gpus(&t.host, &l), 0);
        ck_assert_uint_eq(l.n, 1);
        ck_assert_msg(strstr(l.gpus[0].name, "T4"), "name \"%s\"", l.gpus[0].name);
        ck_assert_int_eq(l.gpus[0].arch, GPU_ARCH_TURING);
        ck_assert(gpu_arch_open_capable(l.gpus[0].arch));
        gpu_list_done(&l);
        pci_root_done(&t);
}
END_TEST

START_TEST(test_find_mixed) {
        /* A workstation: Intel iGPU (VGA), an NVIDIA VGA card with its HDMI audio function, an
         * Intel NIC. Only the NVIDIA display function counts. */
        PciRoot t;
        pci_root_init(&t, true);
        pci_root_add(&t, "0000:00:02.0", 0x8086, 0x3e92, 0x030000, 0x1028, 0x0869);
        pci_root_add(&t, "0000:00:1f.6", 0x8086, 0x15bb, 0x020000, 0x1028, 0x0869);
        pci_root_add(&t, "0000:01:00.0", 0x10de, 0x2684, 0x030000, 0x10de, 0x167c);
        pci_root_add(&t, "0000:01:00.1", 0x10de, 0x22ba, 0x040300, 0x10de, 0x167c);
        pci_root_copy_host_ids(&t, "/usr/share/misc/pci.ids");

        GpuList l = {0};
        ck_assert_int_eq(pci_find_gpus(&t.host, &l), 0);
        ck_assert_uint_eq(l.n, 1);
        ck_assert_str_eq(l.gpus[0].slot, "0000:01:00.0");
        ck_assert_uint_eq(l.gpus[0].device_id, 0x2684);
        ck_assert_uint_eq(l.gpus[0].class_id, 0x0300);
        ck_assert_msg(strstr(l.gpus[0].name, "RTX 4090"), "name \"%s\"", l.gpus[0].name);
        ck_assert_int_eq(l.gpus[0].arch, GPU_ARCH_ADA);
        gpu_list_done(&l);
        pci_root_done(&t);
}
END_TEST

START_TEST(test_find_no_bus) {
        PciRoot t;
        pci_root_init(&t, false);
        GpuList l = {0};
        ck_assert_int_eq(pci_find_gpus(&t.host, &l), -ENOENT);
        /* sys/bus/pci without devices/ is no bus either */
        pci_root_mkdir(&t, "/sys/bus/pci");
        ck_assert_int_eq(pci_find_gpus(&t.host, &l), -ENOENT);
        ck_assert_uint_eq(l.n, 0);
        ck_assert_ptr_null(l.gpus);
        pci_root_done(&t);
}
END_TEST

START_TEST(test_find_empty_bus) {
        PciRoot t;
        pci_root_init(&t, true);
        GpuList l = {0};
        ck_assert_int_eq(pci_find_gpus(&t.host, &l), 0);
        ck_assert_uint_eq(l.n, 0);
        gpu_list_done(&l);
        /* devices, none NVIDIA */
        pci_root_add(&t, "0000:00:02.0", 0x8086, 0x3e92, 0x030000, 0x1028, 0x0869);
        ck_assert_int_eq(pci_find_gpus(&t.host, &l), 0);
        ck_assert_uint_eq(l.n, 0);
        gpu_list_done(&l);
        pci_root_done(&t);
}
END_TEST

/* pci.ids: <root>/usr/share/misc first, then <root>/usr/share/hwdata, then the host's. */
START_TEST(test_ids_file_choice) {
        PciRoot t;
        pci_root_init(&t, true);
        pci_root_add(&t, "0000:01:00.0", 0x10de, 0x2330, 0x030200, 0x10de, 0x16c1);

        pci_root_write(&t, "/usr/share/hwdata/pci.ids", small_ids);
        GpuList l = {0};
        ck_assert_int_eq(pci_find_gpus(&t.host, &l), 0);
        _cleanup_free_ char *hwdata = xasprintf("%s/usr/share/hwdata/pci.ids", t.dir);
        ck_assert_str_eq(l.ids_file, hwdata);
        ck_assert_uint_eq(l.n, 1);
        ck_assert_str_eq(l.gpus[0].name, "GH100[H100 SXM5 80GB]");
        ck_assert_int_eq(l.gpus[0].arch, GPU_ARCH_HOPPER);
        gpu_list_done(&l);

        /* misc wins over hwdata */
        pci_root_write(&t, "/usr/share/misc/pci.ids", "10de  NVIDIA Corporation\n\t2330  GH100 [from misc]\n");
        ck_assert_int_eq(pci_find_gpus(&t.host, &l), 0);
        _cleanup_free_ char *misc = xasprintf("%s/usr/share/misc/pci.ids", t.dir);
        ck_assert_str_eq(l.ids_file, misc);
        ck_assert_str_eq(l.gpus[0].name, "GH100 [from misc]");
        gpu_list_done(&l);
        pci_root_done(&t);

        /* neither in the root: the host's */
        pci_root_init(&t, true);
        pci_root_add(&t, "0000:01:00.0", 0x10de, 0x2330, 0x030200, 0x10de, 0x16c1);
        ck_assert_int_eq(pci_find_gpus(&t.host, &l), 0);
        ck_assert_uint_eq(l.n, 1);
        if (access(HOST_PCI_IDS, R_OK) == 0) {
                ck_assert_str_eq(l.ids_file, HOST_PCI_IDS);
                ck_assert_msg(strstr(l.gpus[0].name, "H100"), "name \"%s\"", l.gpus[0].name);
        } else {
                ck_assert_ptr_null(l.ids_file);
                ck_assert_str_eq(l.gpus[0].name, "");
        }
        gpu_list_done(&l);
        pci_root_done(&t);
}
END_TEST

/* A device pci.ids does not know at all, vendor included: still found, no name. */
START_TEST(test_unknown_device_small_ids) {
        PciRoot t;
        pci_root_init(&t, true);
        pci_root_write(&t, "/usr/share/misc/pci.ids", small_ids);
        pci_root_add(&t, "0000:02:00.0", 0x10de, 0x2335, 0x030200, 0x10de, 0x18be);
        pci_root_add(&t, "0000:01:00.0", 0x10de, 0x1eb8, 0x030200, 0x10de, 0x12a2);

        GpuList l = {0};
        ck_assert_int_eq(pci_find_gpus(&t.host, &l), 0);
        ck_assert_uint_eq(l.n, 2);
        ck_assert_str_eq(l.gpus[0].slot, "0000:01:00.0");
        ck_assert_str_eq(l.gpus[0].name, "TU104GL [Tesla T4]");
        ck_assert_int_eq(l.gpus[0].arch, GPU_ARCH_TURING);
        ck_assert_str_eq(l.gpus[1].slot, "0000:02:00.0");
        ck_assert_str_eq(l.gpus[1].name, "");
        ck_assert_int_eq(l.gpus[1].arch, GPU_ARCH_UNKNOWN);
        gpu_list_done(&l);
        pci_root_done(&t);
}
END_TEST

/* libpci's fatal errors come back as -EIO with its message, and nothing leaks. */
START_TEST(test_libpci_errors) {
        PciRoot t;
        pci_root_init(&t, true);
        pci_root_add(&t, "0000:01:00.0", 0x10de, 0x2330, 0x030200, 0x10de, 0x16c1);

        /* a pci.ids libpci cannot parse */
        pci_root_write(&t, "/usr/share/misc/pci.ids", "10de  NVIDIA Corporation\n\tzz  not an ID\n");
        GpuList l = {0};
        ck_assert_int_eq(pci_find_gpus(&t.host, &l), -EIO);
        ck_assert_ptr_null(l.gpus);
        ck_assert_msg(strstr(pci_last_error(), "pci.ids"), "message \"%s\"", pci_last_error());

        /* a device directory without its vendor file */
        pci_root_write(&t, "/usr/share/misc/pci.ids", small_ids);
        _cleanup_free_ char *vendor = xasprintf("%s/sys/bus/pci/devices/0000:01:00.0/vendor", t.dir);
        ck_assert_int_eq(unlink(vendor), 0);
        ck_assert_int_eq(pci_find_gpus(&t.host, &l), -EIO);
        ck_assert_msg(strstr(pci_last_error(), "vendor"), "message \"%s\"", pci_last_error());

        /* and a good scan right after still works */
        pci_root_add(&t, "0000:01:00.0", 0x10de, 0x2330, 0x030200, 0x10de, 0x16c1);
        ck_assert_int_eq(pci_find_gpus(&t.host, &l), 0);
        ck_assert_uint_eq(l.n, 1);
        ck_assert_int_eq(l.gpus[0].arch, GPU_ARCH_HOPPER);
        gpu_list_done(&l);
        pci_root_done(&t);
}
END_TEST

Suite *pci_suite(void) {
        Suite *s = suite_create("pci");
        TCase *tc = tcase_create("arch");
        tcase_add_test(tc, test_arch_from_name);
        tcase_add_test(tc, test_arch_strings_and_open_capable);
        suite_add_tcase(s, tc);

        tc = tcase_create("open-list");
        tcase_add_test(tc, test_open_list);
        tcase_add_test(tc, test_open_list_file_shape);
        suite_add_tcase(s, tc);

        tc = tcase_create("find");
        tcase_set_timeout(tc, 30);
        tcase_add_test(tc, test_find_hgx_h100);
        tcase_add_test(tc, test_find_h200_unknown_to_pci_ids);
        tcase_add_test(tc, test_find_volta_v100);
        tcase_add_test(tc, test_find_turing_t4);
        tcase_add_test(tc, test_find_mixed);
        tcase_add_test(tc, test_find_no_bus);
        tcase_add_test(tc, test_find_empty_bus);
        tcase_add_test(tc, test_ids_file_choice);
        tcase_add_test(tc, test_unknown_device_small_ids);
        tcase_add_test(tc, test_libpci_errors);
        suite_add_tcase(s, tc);
        return s;
}
