#include "checks/pci.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/string_table.h"
#include "host/pci_load.h"
#include "checks/data.h"

static const char *const gpu_arch_table[_GPU_ARCH_MAX] = {
        [GPU_ARCH_UNKNOWN] = "unknown",
        [GPU_ARCH_KEPLER] = "Kepler",
        [GPU_ARCH_MAXWELL] = "Maxwell",
        [GPU_ARCH_PASCAL] = "Pascal",
        [GPU_ARCH_VOLTA] = "Volta",
        [GPU_ARCH_TURING] = "Turing",
        [GPU_ARCH_AMPERE] = "Ampere",
        [GPU_ARCH_ADA] = "Ada",
        [GPU_ARCH_HOPPER] = "Hopper",
        [GPU_ARCH_BLACKWELL] = "Blackwell",
};

DEFINE_STRING_TABLE_LOOKUP_TO_STRING(gpu_arch, GpuArch, "unknown")

static bool is_alnum(char c) {
        return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

GpuArch gpu_arch_from_name(const char *pci_name) {
        static const struct {
                const char *prefix;
                GpuArch arch;
        } chips[] = {
                {"GH1", GPU_ARCH_HOPPER}, {"GB1", GPU_ARCH_BLACKWELL}, {"GB2", GPU_ARCH_BLACKWELL},
                {"AD1", GPU_ARCH_ADA},    {"GA1", GPU_ARCH_AMPERE},    {"TU1", GPU_ARCH_TURING},
                {"GV1", GPU_ARCH_VOLTA},  {"GP1", GPU_ARCH_PASCAL},    {"GM1", GPU_ARCH_MAXWELL},
                {"GM2", GPU_ARCH_MAXWELL}, {"GK1", GPU_ARCH_KEPLER},   {"GK2", GPU_ARCH_KEPLER},
        };

        if (!pci_name)
                return GPU_ARCH_UNKNOWN;
        const char *s = pci_name + strspn(pci_name, " \t");
        /* The chip code is the leading run of letters and digits: "GH100" in "GH100[H100 SXM5 80GB]",
         * "TU104GL" in "TU104GL [Tesla T4]". Two letters and at least three more characters
         * ("GH100", "GK20A"), so that a bare "GH1" or a word that merely starts like one is not it. */
        size_t n = 0;
        while (is_alnum(s[n]))
                n++;
        if (n < 5)
                return GPU_ARCH_UNKNOWN;
        for (size_t i = 0; i < ELEMENTSOF(chips); i++)
                if (strncmp(s, chips[i].prefix, 3) == 0)
                        return chips[i].arch;
        return GPU_ARCH_UNKNOWN;
}

bool gpu_arch_open_capable(GpuArch a) {
        return a >= GPU_ARCH_TURING && a < _GPU_ARCH_MAX;
}

/* ---- libpci ---- */

/* libpci's error callback must not return: it jumps back into pci_find_gpus(). One scan per
 * thread at a time, so thread-local state is enough. */
static __thread jmp_buf *pci_jump;
static __thread char pci_errmsg[256];

_printf_(1, 2) _noreturn_ static void pci_error_cb(char *msg, ...) {
        va_list ap;
        va_start(ap, msg);
        vsnprintf(pci_errmsg, sizeof pci_errmsg, msg, ap);
        va_end(ap);
        if (pci_jump)
                longjmp(*pci_jump, 1);
        abort(); /* not reached: libpci is only called inside pci_find_gpus() */
}

_printf_(1, 2) static void pci_quiet_cb(char *msg, ...) {
        (void) msg; /* warnings and debug output: nothing the checks need */
}

void gpu_list_done(GpuList *l) {
        free(l->gpus);
        free(l->nvswitches);
        free(l->ids_file);
        *l = (GpuList){0};
}

static bool file_exists(const char *p) {
        struct stat st;
        return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

static char *find_ids_file(const Host *h) {
        static const char *const candidates[] = {"/usr/share/misc/pci.ids", "/usr/share/hwdata/pci.ids"};
        for (size_t i = 0; i < ELEMENTSOF(candidates); i++) {
                char *p = host_path(h, candidates[i]);
                if (file_exists(p))
                        return p;
                free(p);
        }
        /* Not in the root: the host's own, as a last resort (the same path on the real machine). */
        if (host_is_rooted(h) && file_exists(candidates[0]))
                return xstrdup(candidates[0]);
        return NULL;
}

/* By slot. Everything after the domain is fixed-width and the domain is at least four hex digits,
 * so a longer slot has the larger domain ("10000:..." after "ffff:..."). */
static int gpu_cmp(const void *a, const void *b) {
        const Gpu *x = a, *y = b;
        size_t lx = strlen(x->slot), ly = strlen(y->slot);
        if (lx != ly)
                return lx < ly ? -1 : 1;
        return strcmp(x->slot, y->slot);
}

static int switch_cmp(const void *a, const void *b) {
        const NvSwitch *x = a, *y = b;
        size_t lx = strlen(x->slot), ly = strlen(y->slot);
        if (lx != ly)
                return lx < ly ? -1 : 1;
        return strcmp(x->slot, y->slot);
}

typedef struct Scan {
        const Host *host;
        Gpu *gpus;
        size_t n, cap;
        char *ids;        /* the pci.ids given to libpci, once a device needs it */
        bool ids_chosen;
        NvSwitch *switches;
        size_t n_switches;
} Scan;

/* pci.ids is looked for only when a device is not in NVIDIA's list: on a host of listed GPUs it
 * is neither opened nor resolved. */
static void choose_ids_file(struct pci_access *acc, Scan *s) {
        if (s->ids_chosen)
                return;
        s->ids_chosen = true;
        s->ids = find_ids_file(s->host);
        if (s->ids)
                pci_set_name_list_path(acc, s->ids, 0);
}

/* ---- the bus, from sysfs ----
 *
 * The scan reads sysfs itself instead of through libpci: it needs three attribute files per
 * device (vendor, device, class), and loading libpci with libz and libudev under it cost ~0.9 ms,
 * a third of the CPU that `plan check` may spend (issue 13). libpci is loaded only to name a GPU
 * that NVIDIA's list does not have, from pci.ids. Errors read like libpci's did: the file and why. */

_printf_(1, 2) static int scan_fail(const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(pci_errmsg, sizeof pci_errmsg, fmt, ap);
        va_end(ap);
        return -EIO;
}

/* <device dir>/<attr>: one hex number ("0x10de\n"), as the kernel writes it. */
static int read_attr(int dfd, const char *dev, const char *attr, unsigned *ret) {
        _cleanup_free_ char *rel = xasprintf("%s/%s", dev, attr);
        _cleanup_close_ int fd = openat(dfd, rel, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return scan_fail("cannot open sysfs file %s: %s", rel, strerror(errno));
        char buf[32];
        ssize_t n = read(fd, buf, sizeof buf - 1);
        if (n < 0)
                return scan_fail("cannot read sysfs file %s: %s", rel, strerror(errno));
        buf[n] = '\0';
        char *end;
        errno = 0;
        unsigned long v = strtoul(buf, &end, 16);
        if (end == buf || errno != 0 || v > UINT32_MAX || (*end != '\0' && *end != '\n'))
                return scan_fail("sysfs file %s does not hold a hex number: \"%.16s\"", rel, buf);
        *ret = (unsigned) v;
        return 0;
}

static Gpu *add_gpu(Scan *s) {
        if (s->n == s->cap) {
                s->cap = s->cap ? s->cap * 2 : 8;
                s->gpus = xrealloc(s->gpus, s->cap * sizeof *s->gpus);
        }
        return &s->gpus[s->n++];
}

static int add_nvswitch(Scan *s, const char *slot, unsigned device_id, const char *generation) {
        s->switches = xrealloc(s->switches, (s->n_switches + 1) * sizeof *s->switches);
        NvSwitch *w = &s->switches[s->n_switches++];
        *w = (NvSwitch){.device_id = device_id};
        snprintf(w->slot, sizeof w->slot, "%s", slot);
        snprintf(w->generation, sizeof w->generation, "%s", generation);
        return 0;
}

/* One entry of devices/: the NVSwitch or GPU it is, else nothing. *unnamed: a GPU NVIDIA's list
 * does not name was added. */
static int scan_one(int dfd, const char *entry, Scan *s, bool *unnamed) {
        unsigned dom, bus, dev, func;
        char tail;
        /* the domain is 16 bits, or more behind Intel's VMD ("10000:e1:00.0"): six digits at most */
        if (sscanf(entry, "%x:%x:%x.%x%c", &dom, &bus, &dev, &func, &tail) != 4 || dom > 0xffffff || bus > 0xff ||
            dev > 0x1f || func > 7)
                return scan_fail("cannot parse the sysfs PCI device name %s", entry);
        char slot[16];
        snprintf(slot, sizeof slot, "%04x:%02x:%02x.%u", dom, bus, dev, func);
        unsigned vendor = 0, device = 0, class24 = 0; /* set by read_attr() when it returns 0 */
        int r = read_attr(dfd, entry, "vendor", &vendor);
        if (r < 0 || vendor != 0x10de)
                return r;
        if ((r = read_attr(dfd, entry, "device", &device)) < 0 || (r = read_attr(dfd, entry, "class", &class24)) < 0)
                return r;
        const char *generation;
        if (nvswitch_table_find(device, &generation) == 0)
                return add_nvswitch(s, slot, device, generation);
        unsigned cls = class24 >> 8;
        if (cls != 0x0300 && cls != 0x0302)
                return 0;
        Gpu *g = add_gpu(s);
        *g = (Gpu){.vendor_id = vendor, .device_id = device, .class_id = cls};
        snprintf(g->slot, sizeof g->slot, "%s", slot);
        GpuInfo info;
        if (gpu_table_find(device, &info) == 0) {
                snprintf(g->name, sizeof g->name, "%s", info.name);
                g->arch = info.arch;
                g->source = GPU_NAME_NVIDIA;
                g->grace = info.grace;
                g->open_listed = info.open;
        } else
                *unnamed = true;
        return 0;
}

static int scan_sysfs(const char *devices, Scan *s, bool *unnamed) {
        _cleanup_(closedirp) DIR *d = opendir(devices);
        if (!d)
                return scan_fail("cannot open %s: %s", devices, strerror(errno));
        for (;;) {
                errno = 0;
                const struct dirent *de = readdir(d);
                if (!de)
                        return errno ? scan_fail("cannot read %s: %s", devices, strerror(errno)) : 0;
                if (de->d_name[0] == '.')
                        continue;
                int r = scan_one(dirfd(d), de->d_name, s, unnamed);
                if (r < 0)
                        return r;
        }
}

/* Everything that may end in libpci's error callback runs here, under pci_run()'s setjmp: the
 * GPUs NVIDIA's list does not name, named from pci.ids (NO_NUMBERS: NULL for an ID pci.ids does
 * not know, instead of a made-up "Device 2335"; NO_HWDB: from the pci.ids chosen here, not the
 * host's udev hwdb). */
static void name_from_pci_ids(struct pci_access *acc, Scan *s) {
        pci_init(acc);
        for (size_t i = 0; i < s->n; i++) {
                Gpu *g = &s->gpus[i];
                if (g->source != GPU_NAME_NONE)
                        continue;
                choose_ids_file(acc, s);
                char buf[256];
                const char *name = pci_lookup_name(acc, buf, sizeof buf,
                                                   PCI_LOOKUP_DEVICE | PCI_LOOKUP_NO_NUMBERS | PCI_LOOKUP_NO_HWDB,
                                                   g->vendor_id, g->device_id);
                if (name) {
                        snprintf(g->name, sizeof g->name, "%s", name);
                        g->arch = gpu_arch_from_name(g->name);
                        g->source = GPU_NAME_PCI_IDS;
                }
        }
}

/* The only setjmp: kept apart, with no locals of its own, so that nothing here can be clobbered
 * by the longjmp (the results live in *s, in the caller's memory). */
static __attribute__((noinline)) int pci_run(struct pci_access *acc, Scan *s) {
        jmp_buf jump;
        if (setjmp(jump) != 0) {
                pci_jump = NULL;
                return -EIO; /* pci_errmsg says why */
        }
        pci_jump = &jump;
        name_from_pci_ids(acc, s);
        pci_jump = NULL;
        return 0;
}

static int pci_name_unlisted(const char *sysfs, Scan *s) {
        struct pci_access *acc = pci_alloc();
        if (!acc)
                return -ENOMEM;
        acc->error = pci_error_cb;
        acc->warning = pci_quiet_cb;
        acc->debug = pci_quiet_cb;
        acc->method = PCI_ACCESS_SYS_BUS_PCI;
        acc->id_lookup_mode = 0; /* no ~/.pciids-cache, no network */
        /* sysfs and the pci.ids path (Scan.ids) stay alive until after pci_cleanup(), whether or not
         * libpci copies them. */
        if (pci_set_param(acc, (char *) "sysfs.path", (char *) sysfs) < 0) {
                pci_cleanup(acc);
                return -EINVAL;
        }
        int r = pci_run(acc, s);
        pci_cleanup(acc); /* after it, s->ids may go: libpci may not have copied it */
        return r;
}

static int pci_scan_gpus(const Host *h, GpuList *ret);

static GpuList gpu_list_copy(const GpuList *l) {
        GpuList c = {.n = l->n, .ids_file = l->ids_file ? xstrdup(l->ids_file) : NULL};
        if (l->n) {
                c.gpus = xmalloc(l->n * sizeof(Gpu));
                memcpy(c.gpus, l->gpus, l->n * sizeof(Gpu));
        }
        if (l->n_nvswitches) {
                c.n_nvswitches = l->n_nvswitches;
                c.nvswitches = xmalloc(l->n_nvswitches * sizeof(NvSwitch));
                memcpy(c.nvswitches, l->nvswitches, l->n_nvswitches * sizeof(NvSwitch));
        }
        return c;
}

static void gpu_list_free(void *data) {
        gpu_list_done(data);
        free(data);
}

/* With the Host's memo the bus is scanned once: the GPUs' IDs do not change while gpubase runs. */
int pci_find_gpus(const Host *h, GpuList *ret) {
        const GpuList *kept = host_memo_get(h, HOST_MEMO_GPUS);
        if (kept) {
                *ret = gpu_list_copy(kept);
                return 0;
        }
        int r = pci_scan_gpus(h, ret);
        if (r >= 0 && h->memo) {
                GpuList *keep = xmalloc(sizeof(GpuList));
                *keep = gpu_list_copy(ret);
                (void) host_memo_set(h, HOST_MEMO_GPUS, keep, gpu_list_free);
        }
        return r;
}

static int pci_scan_gpus(const Host *h, GpuList *ret) {
        _cleanup_free_ char *sysfs = host_path(h, "/sys/bus/pci");
        _cleanup_free_ char *devices = host_path(h, "/sys/bus/pci/devices");
        struct stat st;
        if (stat(devices, &st) < 0)
                return negative_errno();
        if (!S_ISDIR(st.st_mode))
                return -ENOTDIR;

        Scan s = {.host = h};
        bool unnamed = false;
        int r = scan_sysfs(devices, &s, &unnamed);
        if (r >= 0 && unnamed)
                r = pci_name_unlisted(sysfs, &s);
        if (r < 0) {
                free(s.gpus);
                free(s.ids);
                free(s.switches);
                return r;
        }
        if (s.n > 1)
                qsort(s.gpus, s.n, sizeof *s.gpus, gpu_cmp);
        if (s.n_switches > 1) /* the same order as the GPUs: slot is the first member of both */
                qsort(s.switches, s.n_switches, sizeof *s.switches, switch_cmp);
        *ret = (GpuList){
                .n = s.n,
                .gpus = s.gpus,
                .ids_file = s.ids, /* s is not freed: all three are handed on */
                .n_nvswitches = s.n_switches,
                .nvswitches = s.switches,
        };
        return 0;
}

const char *pci_last_error(void) {
        return pci_errmsg;
}
