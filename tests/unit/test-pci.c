/* GPUs on the PCI bus (agent/checks/pci.c): fixture sysfs trees read directly, names and architectures
 * from NVIDIA's list (gpus.tsv) and else from pci.ids, and NVIDIA's open/proprietary module rule
 * (agent/checks/gpu.c), row by row. Each test builds
 * its own root: <root>/sys/bus/pci/devices/<slot>/{vendor,device,class,subsystem_*}, the files
 * sysfs shows for a PCI function, plus a pci.ids (the host's, or a small one written here). */
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
#include "checks/facts.h"
#include "checks/pci.h"
#include "checks/preflight.h"

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

/* A small pci.ids in the real file's format, entries as Debian 12's pci.ids has them. */
static const char small_ids[] = "# test pci.ids\n"
                                "10de  NVIDIA Corporation\n"
                                "\t1db2  GV100GL [Tesla V100 DGXS 16GB]\n"
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

/* ---- NVIDIA's list (plans/data/gpus.tsv) ---- */

START_TEST(test_gpu_table) {
        static const struct {
                unsigned id;
                const char *name;
                GpuArch arch;
                bool grace;
        } rows[] = {
                {0x1e02, "NVIDIA TITAN RTX", GPU_ARCH_TURING, false}, /* the table's first row */
                {0x1eb8, "Tesla T4", GPU_ARCH_TURING, false},
                {0x20b2, "NVIDIA A100-SXM4-80GB", GPU_ARCH_AMPERE, false}, /* listed only with subsystem IDs */
                {0x2684, "NVIDIA GeForce RTX 4090", GPU_ARCH_ADA, false},
                {0x2330, "NVIDIA H100 80GB HBM3", GPU_ARCH_HOPPER, false},
                {0x2335, "NVIDIA H200", GPU_ARCH_HOPPER, false},
                {0x233b, "NVIDIA H200 NVL", GPU_ARCH_HOPPER, false},
                {0x2342, "NVIDIA GH200 120GB", GPU_ARCH_HOPPER, true}, /* Grace Hopper */
                {0x2348, "NVIDIA GH200 144G HBM3e", GPU_ARCH_HOPPER, true},
                {0x2901, "NVIDIA B200", GPU_ARCH_BLACKWELL, false},
                {0x2941, "NVIDIA GB200", GPU_ARCH_BLACKWELL, true},
                {0x2bb1, "NVIDIA RTX PRO 6000 Blackwell Workstation Edition", GPU_ARCH_BLACKWELL, false},
                {0x3182, "NVIDIA B300 SXM6 AC", GPU_ARCH_BLACKWELL, false},
                {0x31c2, "NVIDIA GB300", GPU_ARCH_BLACKWELL, true},
        };
        ck_assert_str_eq(gpu_table_release(), "595.45.04");
        ck_assert_str_eq(gpu_table_date(), "2026-03-05");
        for (size_t i = 0; i < ELEMENTSOF(rows); i++) {
                GpuInfo g;
                ck_assert_msg(gpu_table_find(rows[i].id, &g) == 0, "10de:%04x not listed", rows[i].id);
                ck_assert_uint_eq(g.device_id, rows[i].id);
                ck_assert_str_eq(g.name, rows[i].name);
                ck_assert_msg(g.arch == rows[i].arch, "10de:%04x: %s", rows[i].id, gpu_arch_to_string(g.arch));
                ck_assert(g.grace == rows[i].grace);
                ck_assert(g.open);
                ck_assert_int_eq(g.last_branch, -1);
        }
        /* pre-Turing, from the driver README's list: named, not driven by the open module, last branch 580 */
        static const struct {
                unsigned id;
                const char *name;
                GpuArch arch;
        } legacy[] = {
                {0x13f2, "Tesla M60", GPU_ARCH_MAXWELL},
                {0x17c2, "NVIDIA GeForce GTX TITAN X", GPU_ARCH_MAXWELL},
                {0x15f8, "Tesla P100-PCIE-16GB", GPU_ARCH_PASCAL},
                {0x1b38, "Tesla P40", GPU_ARCH_PASCAL},
                {0x1d52, "NVIDIA GeForce MX250", GPU_ARCH_PASCAL}, /* GP108: the low half of block 1D */
                {0x1d81, "NVIDIA TITAN V", GPU_ARCH_VOLTA},       /* GV100: the high half */
                {0x1db4, "Tesla V100-PCIE-16GB", GPU_ARCH_VOLTA},
        };
        for (size_t i = 0; i < ELEMENTSOF(legacy); i++) {
                GpuInfo g;
                ck_assert_msg(gpu_table_find(legacy[i].id, &g) == 0, "10de:%04x not listed", legacy[i].id);
                ck_assert_str_eq(g.name, legacy[i].name);
                ck_assert_msg(g.arch == legacy[i].arch, "10de:%04x: %s", legacy[i].id, gpu_arch_to_string(g.arch));
                ck_assert(!g.open);
                ck_assert(!g.grace);
                ck_assert_int_eq(g.last_branch, 580);
        }
        /* not listed: IDs that no NVIDIA list names (Kepler is in the legacy 470 list only) */
        static const unsigned unlisted[] = {0x1023, 0x2ffe, 0, 0xffff, 0x12330};
        for (size_t i = 0; i < ELEMENTSOF(unlisted); i++) {
                GpuInfo g;
                ck_assert_msg(gpu_table_find(unlisted[i], &g) == -ENOENT, "10de:%04x listed", unlisted[i]);
        }
        ck_assert_int_eq(gpu_arch_last_branch(GPU_ARCH_MAXWELL), 580);
        ck_assert_int_eq(gpu_arch_last_branch(GPU_ARCH_PASCAL), 580);
        ck_assert_int_eq(gpu_arch_last_branch(GPU_ARCH_VOLTA), 580);
        ck_assert_int_eq(gpu_arch_last_branch(GPU_ARCH_TURING), -1);
        ck_assert_int_eq(gpu_arch_last_branch(GPU_ARCH_BLACKWELL), -1);
}
END_TEST

/* The embedded file itself: sorted, unique, 4 uppercase hex digits, six fields, a known
 * architecture on every row: 289 device IDs driven by the open module (595.45.04's "Compatible
 * GPUs") and 135 pre-Turing IDs from the 550.163.01 driver README, each with open "no" and last
 * branch 580. */
START_TEST(test_gpu_table_file_shape) {
        const char *s = gpubase_data_gpus;
        long prev = -1;
        size_t rows = 0, legacy = 0;
        bool release = false, date = false;
        while (*s) {
                const char *e = strchr(s, '\n');
                size_t len = e ? (size_t) (e - s) : strlen(s);
                _cleanup_free_ char *line = xstrndup(s, len);
                if (line[0] == '#') {
                        release = release || streq(line, "# release: 595.45.04");
                        date = date || streq(line, "# date: 2026-03-05");
                } else if (line[0]) {
                        char *f[7] = {0};
                        size_t nf = 0;
                        for (char *p = line; p && nf < ELEMENTSOF(f);) {
                                f[nf++] = p;
                                p = strchr(p, '\t');
                                if (p)
                                        *p++ = '\0';
                        }
                        ck_assert_msg(nf == 6, "bad row \"%s\"", line);
                        ck_assert_msg(strlen(f[0]) == 4 && strspn(f[0], "0123456789ABCDEF") == 4, "bad ID in \"%s\"", line);
                        bool arch = false;
                        for (GpuArch a = GPU_ARCH_MAXWELL; a < _GPU_ARCH_MAX; a++)
                                arch = arch || streq(f[1], gpu_arch_to_string(a));
                        ck_assert_msg(arch, "bad architecture in \"%s\"", line);
                        ck_assert_msg(streq(f[2], "yes") || streq(f[2], "no"), "bad open in \"%s\"", line);
                        ck_assert_msg(streq(f[3], "-") || atoi(f[3]) >= 470, "bad last branch in \"%s\"", line);
                        ck_assert_msg(streq(f[4], "yes") || streq(f[4], "no"), "bad grace in \"%s\"", line);
                        ck_assert_msg(f[5][0], "no name in \"%s\"", line);
                        bool old = streq(f[1], "Maxwell") || streq(f[1], "Pascal") || streq(f[1], "Volta");
                        ck_assert_msg(streq(f[2], old ? "no" : "yes"), "open column in \"%s\"", line);
                        ck_assert_msg(streq(f[3], old ? "580" : "-"), "last branch in \"%s\"", line);
                        legacy += old;
                        long id = strtol(line, NULL, 16);
                        ck_assert_msg(id > prev, "not sorted or duplicate at \"%s\"", line);
                        prev = id;
                        rows++;
                }
                s += len + (e ? 1 : 0);
        }
        ck_assert(release);
        ck_assert(date);
        ck_assert_uint_eq(rows - legacy, 289);
        ck_assert_uint_eq(legacy, 135);
}
END_TEST

/* ---- NVIDIA's open/proprietary rule, row by row ---- */

static Gpu gpu_of(GpuArch arch, bool grace) {
        Gpu g = {.vendor_id = 0x10de, .device_id = 0x1234, .arch = arch, .grace = grace, .source = GPU_NAME_NVIDIA};
        snprintf(g.slot, sizeof g.slot, "0000:01:00.0");
        snprintf(g.name, sizeof g.name, "test GPU");
        return g;
}

START_TEST(test_flavor_matrix) {
        enum { O = DRIVER_FLAVOR_OPEN, P = DRIVER_FLAVOR_PROPRIETARY, U = -1 };
        static const struct {
                GpuArch arch;
                bool grace;
                int flavor, branch;
                CheckStatus want;
                OpenRule rule;
                const char *why; /* a word of the reason, for WARN and FAIL */
        } m[] = {
                /* Blackwell: the open module is required */
                {GPU_ARCH_BLACKWELL, false, O, 595, CHECK_OK, OPEN_RULE_REQUIRED, NULL},
                {GPU_ARCH_BLACKWELL, false, P, 595, CHECK_FAIL, OPEN_RULE_REQUIRED, "requires the open"},
                {GPU_ARCH_BLACKWELL, true, P, 595, CHECK_FAIL, OPEN_RULE_REQUIRED, "Grace Blackwell"},
                {GPU_ARCH_BLACKWELL, false, U, 595, CHECK_OK, OPEN_RULE_REQUIRED, NULL},
                /* Grace Hopper (GH200): required */
                {GPU_ARCH_HOPPER, true, O, 595, CHECK_OK, OPEN_RULE_REQUIRED, NULL},
                {GPU_ARCH_HOPPER, true, P, 595, CHECK_FAIL, OPEN_RULE_REQUIRED, "Grace Hopper"},
                {GPU_ARCH_HOPPER, true, P, -1, CHECK_FAIL, OPEN_RULE_REQUIRED, "requires the open"},
                /* Hopper (H100/H200), Ada, Ampere, Turing: recommended */
                {GPU_ARCH_HOPPER, false, O, 595, CHECK_OK, OPEN_RULE_RECOMMENDED, NULL},
                {GPU_ARCH_HOPPER, false, P, 595, CHECK_WARN, OPEN_RULE_RECOMMENDED, "recommends the open"},
                {GPU_ARCH_HOPPER, false, P, 535, CHECK_WARN, OPEN_RULE_RECOMMENDED, "still works"},
                {GPU_ARCH_ADA, false, O, 595, CHECK_OK, OPEN_RULE_RECOMMENDED, NULL},
                {GPU_ARCH_ADA, false, P, 595, CHECK_WARN, OPEN_RULE_RECOMMENDED, "on Ada"},
                {GPU_ARCH_AMPERE, false, O, 580, CHECK_OK, OPEN_RULE_RECOMMENDED, NULL},
                {GPU_ARCH_AMPERE, false, P, 580, CHECK_WARN, OPEN_RULE_RECOMMENDED, "on Ampere"},
                {GPU_ARCH_TURING, false, O, 595, CHECK_OK, OPEN_RULE_RECOMMENDED, NULL},
                {GPU_ARCH_TURING, false, P, 595, CHECK_WARN, OPEN_RULE_RECOMMENDED, "on Turing"},
                {GPU_ARCH_TURING, false, U, -1, CHECK_OK, OPEN_RULE_RECOMMENDED, NULL},
                /* before Turing: the open module is unsupported, and 580 is the last branch */
                {GPU_ARCH_VOLTA, false, O, 580, CHECK_FAIL, OPEN_RULE_UNSUPPORTED, "Turing and newer only"},
                {GPU_ARCH_VOLTA, false, P, 580, CHECK_OK, OPEN_RULE_UNSUPPORTED, NULL},
                {GPU_ARCH_VOLTA, false, P, 595, CHECK_FAIL, OPEN_RULE_UNSUPPORTED, "580 was the last"},
                {GPU_ARCH_VOLTA, false, U, 595, CHECK_FAIL, OPEN_RULE_UNSUPPORTED, "branch 595 no longer supports Volta"},
                {GPU_ARCH_VOLTA, false, U, -1, CHECK_OK, OPEN_RULE_UNSUPPORTED, NULL},
                {GPU_ARCH_PASCAL, false, O, 575, CHECK_FAIL, OPEN_RULE_UNSUPPORTED, "Turing and newer only"},
                {GPU_ARCH_PASCAL, false, P, 575, CHECK_OK, OPEN_RULE_UNSUPPORTED, NULL},
                {GPU_ARCH_PASCAL, false, P, 590, CHECK_FAIL, OPEN_RULE_UNSUPPORTED, "Pascal"},
                {GPU_ARCH_MAXWELL, false, O, 535, CHECK_FAIL, OPEN_RULE_UNSUPPORTED, "Turing and newer only"},
                {GPU_ARCH_MAXWELL, false, P, 580, CHECK_OK, OPEN_RULE_UNSUPPORTED, NULL},
                {GPU_ARCH_MAXWELL, false, P, 595, CHECK_FAIL, OPEN_RULE_UNSUPPORTED, "Maxwell"},
                /* unknown: nothing to judge (gpu.present warns) */
                {GPU_ARCH_UNKNOWN, false, O, 595, CHECK_OK, OPEN_RULE_UNKNOWN, NULL},
                {GPU_ARCH_UNKNOWN, false, P, 595, CHECK_OK, OPEN_RULE_UNKNOWN, NULL},
        };
        for (size_t i = 0; i < ELEMENTSOF(m); i++) {
                Gpu g = gpu_of(m[i].arch, m[i].grace);
                char *why = NULL, *fix = NULL;
                CheckStatus v = gpu_flavor_verdict(&g, m[i].branch, m[i].flavor, &why, &fix);
                ck_assert_msg(v == m[i].want, "row %zu (%s%s, flavor %d, branch %d): %s, want %s", i,
                              m[i].grace ? "Grace " : "", gpu_arch_to_string(m[i].arch), m[i].flavor, m[i].branch,
                              check_status_to_string(v), check_status_to_string(m[i].want));
                ck_assert_int_eq(gpu_open_rule(&g), m[i].rule);
                if (v == CHECK_OK) {
                        ck_assert_ptr_null(why);
                        ck_assert_ptr_null(fix);
                } else {
                        ck_assert_msg(why && strstr(why, m[i].why), "row %zu: why \"%s\"", i, why ? why : "");
                        ck_assert_msg(fix && *fix, "row %zu: no fix", i);
                        ck_assert_msg(!strstr(fix, "cuda-drivers-580") && !strstr(fix, "nvidia-open-580"),
                                      "row %zu: old package advice \"%s\"", i, fix);
                }
                /* the plan-time refusal is exactly the FAIL rows */
                char *rfix = NULL;
                _cleanup_free_ char *refusal = gpu_refusal(&g, m[i].branch, m[i].flavor, &rfix);
                ck_assert((refusal != NULL) == (v == CHECK_FAIL));
                free(rfix);
                free(why);
                free(fix);
        }
        Gpu gh = gpu_of(GPU_ARCH_HOPPER, true), h = gpu_of(GPU_ARCH_HOPPER, false), gb = gpu_of(GPU_ARCH_BLACKWELL, true);
        ck_assert_str_eq(gpu_family(&gh), "Grace Hopper");
        ck_assert_str_eq(gpu_family(&h), "Hopper");
        ck_assert_str_eq(gpu_family(&gb), "Grace Blackwell");
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
        /* every GPU is in NVIDIA's list: pci.ids was not looked for, though the root has one */
        ck_assert_ptr_null(l.ids_file);
        for (size_t i = 0; i < l.n; i++) {
                const Gpu *g = &l.gpus[i];
                ck_assert_str_eq(g->slot, sorted[i]);
                ck_assert_uint_eq(g->vendor_id, 0x10de);
                ck_assert_uint_eq(g->device_id, 0x2330);
                ck_assert_uint_eq(g->class_id, 0x0302);
                ck_assert_msg(strstr(g->name, "H100"), "name \"%s\"", g->name);
                ck_assert_int_eq(g->arch, GPU_ARCH_HOPPER);
                ck_assert(gpu_arch_open_capable(g->arch));
                ck_assert(g->open_listed);
                ck_assert_int_eq(g->source, GPU_NAME_NVIDIA);
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
                /* named and placed by NVIDIA's list, whatever the host's pci.ids knows */
                ck_assert_str_eq(g->name, "NVIDIA H200");
                ck_assert_int_eq(g->arch, GPU_ARCH_HOPPER);
                ck_assert_int_eq(g->source, GPU_NAME_NVIDIA);
                ck_assert(!g->grace);
        }
        gpu_list_done(&l);
        pci_root_done(&t);
}
END_TEST

/* Today's GPUs that Debian 12's pci.ids (2023-04) does not name, on one bus. */
START_TEST(test_find_current_gpus) {
        static const struct {
                unsigned id;
                const char *name;
                GpuArch arch;
                bool grace;
        } want[] = {
                {0x2901, "NVIDIA B200", GPU_ARCH_BLACKWELL, false},
                {0x2941, "NVIDIA GB200", GPU_ARCH_BLACKWELL, true},
                {0x233b, "NVIDIA H200 NVL", GPU_ARCH_HOPPER, false},
                {0x2bb1, "NVIDIA RTX PRO 6000 Blackwell Workstation Edition", GPU_ARCH_BLACKWELL, false},
                {0x2342, "NVIDIA GH200 120GB", GPU_ARCH_HOPPER, true},
        };
        PciRoot t;
        pci_root_init(&t, true);
        for (size_t i = 0; i < ELEMENTSOF(want); i++) {
                _cleanup_free_ char *slot = xasprintf("0000:%02zx:00.0", 0x10 + i);
                pci_root_add(&t, slot, 0x10de, want[i].id, 0x030200, 0x10de, 0x1999);
        }
        pci_root_copy_host_ids(&t, "/usr/share/misc/pci.ids");
        GpuList l = {0};
        ck_assert_int_eq(pci_find_gpus(&t.host, &l), 0);
        ck_assert_uint_eq(l.n, ELEMENTSOF(want));
        for (size_t i = 0; i < l.n; i++) {
                const Gpu *g = &l.gpus[i];
                ck_assert_uint_eq(g->device_id, want[i].id);
                ck_assert_str_eq(g->name, want[i].name);
                ck_assert_int_eq(g->arch, want[i].arch);
                ck_assert(g->grace == want[i].grace);
                ck_assert_int_eq(g->source, GPU_NAME_NVIDIA);
                ck_assert(g->open_listed);
        }
        ck_assert_int_eq(gpu_open_rule(&l.gpus[0]), OPEN_RULE_REQUIRED); /* B200 */
        ck_assert_int_eq(gpu_open_rule(&l.gpus[2]), OPEN_RULE_RECOMMENDED); /* H200 NVL */
        ck_assert_int_eq(gpu_open_rule(&l.gpus[4]), OPEN_RULE_REQUIRED); /* GH200 */
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
        ck_assert_str_eq(l.gpus[0].name, "Tesla V100-PCIE-16GB");
        ck_assert_int_eq(l.gpus[0].arch, GPU_ARCH_VOLTA);
        ck_assert(!gpu_arch_open_capable(l.gpus[0].arch));
        ck_assert(!l.gpus[0].open_listed);
        ck_assert_int_eq(l.gpus[0].source, GPU_NAME_NVIDIA); /* the driver README's list names it */
        ck_assert_int_eq(gpu_open_rule(&l.gpus[0]), OPEN_RULE_UNSUPPORTED);
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
        pci_root_add(&t, "0000:01:00.0", 0x10de, 0x1db2, 0x030200, 0x10de, 0x1214);

        pci_root_write(&t, "/usr/share/hwdata/pci.ids", small_ids);
        GpuList l = {0};
        ck_assert_int_eq(pci_find_gpus(&t.host, &l), 0);
        _cleanup_free_ char *hwdata = xasprintf("%s/usr/share/hwdata/pci.ids", t.dir);
        ck_assert_str_eq(l.ids_file, hwdata);
        ck_assert_uint_eq(l.n, 1);
        ck_assert_str_eq(l.gpus[0].name, "GV100GL [Tesla V100 DGXS 16GB]");
        ck_assert_int_eq(l.gpus[0].arch, GPU_ARCH_VOLTA);
        gpu_list_done(&l);

        /* misc wins over hwdata */
        pci_root_write(&t, "/usr/share/misc/pci.ids", "10de  NVIDIA Corporation\n\t1db2  GV100 [from misc]\n");
        ck_assert_int_eq(pci_find_gpus(&t.host, &l), 0);
        _cleanup_free_ char *misc = xasprintf("%s/usr/share/misc/pci.ids", t.dir);
        ck_assert_str_eq(l.ids_file, misc);
        ck_assert_str_eq(l.gpus[0].name, "GV100 [from misc]");
        gpu_list_done(&l);
        pci_root_done(&t);

        /* neither in the root: the host's */
        pci_root_init(&t, true);
        pci_root_add(&t, "0000:01:00.0", 0x10de, 0x1db2, 0x030200, 0x10de, 0x1214);
        ck_assert_int_eq(pci_find_gpus(&t.host, &l), 0);
        ck_assert_uint_eq(l.n, 1);
        if (access(HOST_PCI_IDS, R_OK) == 0) {
                ck_assert_str_eq(l.ids_file, HOST_PCI_IDS);
                ck_assert_msg(strstr(l.gpus[0].name, "V100"), "name \"%s\"", l.gpus[0].name);
        } else {
                ck_assert_ptr_null(l.ids_file);
                ck_assert_str_eq(l.gpus[0].name, "");
        }
        gpu_list_done(&l);
        pci_root_done(&t);
}
END_TEST

/* A device neither NVIDIA's list nor pci.ids knows: still found, no name, architecture unknown;
 * one pci.ids does not know but NVIDIA's list does: NVIDIA's name; one only pci.ids knows (the
 * V100 DGXS, absent from the driver README's list): pci.ids' name and chip. */
START_TEST(test_unknown_device_small_ids) {
        PciRoot t;
        pci_root_init(&t, true);
        pci_root_write(&t, "/usr/share/misc/pci.ids", small_ids);
        pci_root_add(&t, "0000:02:00.0", 0x10de, 0x2ffe, 0x030200, 0x10de, 0x18be);
        pci_root_add(&t, "0000:01:00.0", 0x10de, 0x1db2, 0x030200, 0x10de, 0x1214);
        pci_root_add(&t, "0000:03:00.0", 0x10de, 0x2335, 0x030200, 0x10de, 0x18be);

        GpuList l = {0};
        ck_assert_int_eq(pci_find_gpus(&t.host, &l), 0);
        ck_assert_uint_eq(l.n, 3);
        ck_assert_str_eq(l.gpus[0].slot, "0000:01:00.0");
        ck_assert_str_eq(l.gpus[0].name, "GV100GL [Tesla V100 DGXS 16GB]");
        ck_assert_int_eq(l.gpus[0].arch, GPU_ARCH_VOLTA);
        ck_assert_str_eq(l.gpus[1].slot, "0000:02:00.0");
        ck_assert_str_eq(l.gpus[1].name, "");
        ck_assert_int_eq(l.gpus[1].arch, GPU_ARCH_UNKNOWN);
        ck_assert_int_eq(l.gpus[1].source, GPU_NAME_NONE);
        ck_assert_int_eq(gpu_open_rule(&l.gpus[1]), OPEN_RULE_UNKNOWN);
        ck_assert_str_eq(l.gpus[2].name, "NVIDIA H200");
        ck_assert_int_eq(l.gpus[2].arch, GPU_ARCH_HOPPER);
        gpu_list_done(&l);
        pci_root_done(&t);
}
END_TEST

/* libpci's fatal errors come back as -EIO with its message, and nothing leaks. The device is one
 * NVIDIA's list does not have (the V100 DGXS), so that pci.ids is read for its name. */
START_TEST(test_libpci_errors) {
        PciRoot t;
        pci_root_init(&t, true);
        pci_root_add(&t, "0000:01:00.0", 0x10de, 0x1db2, 0x030200, 0x10de, 0x1214);

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
        pci_root_add(&t, "0000:01:00.0", 0x10de, 0x1db2, 0x030200, 0x10de, 0x1214);
        ck_assert_int_eq(pci_find_gpus(&t.host, &l), 0);
        ck_assert_uint_eq(l.n, 1);
        ck_assert_int_eq(l.gpus[0].arch, GPU_ARCH_VOLTA);
        gpu_list_done(&l);
        pci_root_done(&t);
}
END_TEST

/* The bus is read from sysfs directly: what it cannot take comes back as -EIO naming the entry or
 * the file; a device of another vendor needs only its vendor file; a VMD domain (five hex digits)
 * keeps its slot. */
START_TEST(test_sysfs_entries) {
        PciRoot t;
        pci_root_init(&t, true);
        GpuList l = {0};

        /* another vendor's function with no device nor class file: not read further */
        pci_root_write(&t, "/sys/bus/pci/devices/0000:00:1f.0/vendor", "0x8086\n");
        /* a GPU behind Intel's VMD: domain 10000 */
        pci_root_add(&t, "10000:e1:00.0", 0x10de, 0x2330, 0x030200, 0x10de, 0x16c1);
        pci_root_add(&t, "0000:1b:00.0", 0x10de, 0x2330, 0x030200, 0x10de, 0x16c1);
        ck_assert_int_eq(pci_find_gpus(&t.host, &l), 0);
        ck_assert_uint_eq(l.n, 2);
        ck_assert_str_eq(l.gpus[0].slot, "0000:1b:00.0");
        ck_assert_str_eq(l.gpus[1].slot, "10000:e1:00.0");
        gpu_list_done(&l);

        /* a vendor file that is not a number */
        pci_root_write(&t, "/sys/bus/pci/devices/0000:1b:00.0/vendor", "NVIDIA\n");
        ck_assert_int_eq(pci_find_gpus(&t.host, &l), -EIO);
        ck_assert_msg(strstr(pci_last_error(), "0000:1b:00.0/vendor"), "message \"%s\"", pci_last_error());
        ck_assert_ptr_null(l.gpus);
        pci_root_write(&t, "/sys/bus/pci/devices/0000:1b:00.0/vendor", "0x10de\n");

        /* an NVIDIA function without its class file */
        _cleanup_free_ char *cls = xasprintf("%s/sys/bus/pci/devices/10000:e1:00.0/class", t.dir);
        ck_assert_int_eq(unlink(cls), 0);
        ck_assert_int_eq(pci_find_gpus(&t.host, &l), -EIO);
        ck_assert_msg(strstr(pci_last_error(), "10000:e1:00.0/class"), "message \"%s\"", pci_last_error());
        pci_root_add(&t, "10000:e1:00.0", 0x10de, 0x2330, 0x030200, 0x10de, 0x16c1);

        /* an entry that is not a PCI address */
        pci_root_mkdir(&t, "/sys/bus/pci/devices/not-a-slot");
        ck_assert_int_eq(pci_find_gpus(&t.host, &l), -EIO);
        ck_assert_msg(strstr(pci_last_error(), "not-a-slot"), "message \"%s\"", pci_last_error());
        ck_assert_ptr_null(l.gpus);
        pci_root_done(&t);
}
END_TEST

/* A device NVIDIA's list has is named from it without reading pci.ids at all: a pci.ids libpci
 * would refuse changes nothing for it. */
START_TEST(test_listed_device_skips_pci_ids) {
        PciRoot t;
        pci_root_init(&t, true);
        pci_root_write(&t, "/usr/share/misc/pci.ids", "10de  NVIDIA Corporation\n\tzz  not an ID\n");
        pci_root_add(&t, "0000:01:00.0", 0x10de, 0x2330, 0x030200, 0x10de, 0x16c1);
        GpuList l = {0};
        ck_assert_int_eq(pci_find_gpus(&t.host, &l), 0);
        ck_assert_uint_eq(l.n, 1);
        ck_assert_int_eq(l.gpus[0].source, GPU_NAME_NVIDIA);
        ck_assert_int_eq(l.gpus[0].arch, GPU_ARCH_HOPPER);
        ck_assert_msg(strstr(l.gpus[0].name, "H100"), "name \"%s\"", l.gpus[0].name);
        gpu_list_done(&l);
        pci_root_done(&t);
}
END_TEST

/* With the Host's memo the bus is scanned once: a device added later is not seen by the same
 * process, and each caller gets its own copy; without it every call scans again. */
START_TEST(test_memo_scans_once) {
        PciRoot t;
        pci_root_init(&t, true);
        host_memo_enable(&t.host);
        pci_root_add(&t, "0000:01:00.0", 0x10de, 0x2330, 0x030200, 0x10de, 0x16c1);
        GpuList a = {0}, b = {0};
        ck_assert_int_eq(pci_find_gpus(&t.host, &a), 0);
        pci_root_add(&t, "0000:02:00.0", 0x10de, 0x2335, 0x030200, 0x10de, 0x18be);
        ck_assert_int_eq(pci_find_gpus(&t.host, &b), 0);
        ck_assert_uint_eq(a.n, 1);
        ck_assert_uint_eq(b.n, 1);
        ck_assert_ptr_ne(a.gpus, b.gpus);
        ck_assert_str_eq(b.gpus[0].slot, "0000:01:00.0");
        gpu_list_done(&a);
        gpu_list_done(&b);

        Host fresh = {0};
        ck_assert_int_eq(host_init(&fresh, t.dir), 0);
        ck_assert_int_eq(pci_find_gpus(&fresh, &a), 0);
        ck_assert_uint_eq(a.n, 2);
        gpu_list_done(&a);
        host_done(&fresh);
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
        tcase_add_test(tc, test_gpu_table);
        tcase_add_test(tc, test_gpu_table_file_shape);
        tcase_add_test(tc, test_flavor_matrix);
        suite_add_tcase(s, tc);

        tc = tcase_create("find");
        tcase_set_timeout(tc, 30);
        tcase_add_test(tc, test_find_hgx_h100);
        tcase_add_test(tc, test_find_h200_unknown_to_pci_ids);
        tcase_add_test(tc, test_find_current_gpus);
        tcase_add_test(tc, test_find_volta_v100);
        tcase_add_test(tc, test_find_turing_t4);
        tcase_add_test(tc, test_find_mixed);
        tcase_add_test(tc, test_find_no_bus);
        tcase_add_test(tc, test_find_empty_bus);
        tcase_add_test(tc, test_ids_file_choice);
        tcase_add_test(tc, test_unknown_device_small_ids);
        tcase_add_test(tc, test_libpci_errors);
        tcase_add_test(tc, test_sysfs_entries);
        tcase_add_test(tc, test_listed_device_skips_pci_ids);
        tcase_add_test(tc, test_memo_scans_once);
        suite_add_tcase(s, tc);
        return s;
}
