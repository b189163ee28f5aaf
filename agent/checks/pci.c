#include "checks/pci.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

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

static void add_nvswitch(Scan *s, const struct pci_dev *d, const char *generation) {
        s->switches = xrealloc(s->switches, (s->n_switches + 1) * sizeof *s->switches);
        NvSwitch *w = &s->switches[s->n_switches++];
        *w = (NvSwitch){.device_id = d->device_id};
        snprintf(w->slot, sizeof w->slot, "%04x:%02x:%02x.%u", (unsigned) d->domain, d->bus, d->dev, (unsigned) d->func);
        snprintf(w->generation, sizeof w->generation, "%s", generation);
}

/* Everything that may end in libpci's error callback runs here, under pci_find_gpus()'s setjmp. */
static void scan_devices(struct pci_access *acc, Scan *s) {
        pci_scan_bus(acc);
        for (struct pci_dev *d = acc->devices; d; d = d->next) {
                pci_fill_info(d, PCI_FILL_IDENT | PCI_FILL_CLASS);
                const char *generation;
                if (d->vendor_id == 0x10de && nvswitch_table_find(d->device_id, &generation) == 0) {
                        add_nvswitch(s, d, generation);
                        continue;
                }
                if (d->vendor_id != 0x10de || (d->device_class != 0x0300 && d->device_class != 0x0302))
                        continue;
                if (s->n == s->cap) {
                        s->cap = s->cap ? s->cap * 2 : 8;
                        s->gpus = xrealloc(s->gpus, s->cap * sizeof *s->gpus);
                }
                Gpu *g = &s->gpus[s->n++];
                *g = (Gpu){
                        .vendor_id = d->vendor_id,
                        .device_id = d->device_id,
                        .class_id = d->device_class,
                };
                snprintf(g->slot, sizeof g->slot, "%04x:%02x:%02x.%u", (unsigned) d->domain, d->bus, d->dev,
                         (unsigned) d->func);
                GpuInfo info;
                if (gpu_table_find(g->device_id, &info) == 0) {
                        snprintf(g->name, sizeof g->name, "%s", info.name);
                        g->arch = info.arch;
                        g->source = GPU_NAME_NVIDIA;
                        g->grace = info.grace;
                        g->open_listed = info.open;
                        continue; /* pci.ids is not read: libpci loads all of it to name one device */
                }
                /* NO_NUMBERS: NULL for an ID pci.ids does not know, instead of a made-up "Device 2335".
                 * NO_HWDB: names come from the pci.ids file chosen here, not the host's udev hwdb. */
                choose_ids_file(acc, s);
                char buf[256];
                const char *name = pci_lookup_name(acc, buf, sizeof buf,
                                                   PCI_LOOKUP_DEVICE | PCI_LOOKUP_NO_NUMBERS | PCI_LOOKUP_NO_HWDB,
                                                   d->vendor_id, d->device_id);
                if (name) {
                        snprintf(g->name, sizeof g->name, "%s", name);
                        g->arch = gpu_arch_from_name(g->name);
                        g->source = GPU_NAME_PCI_IDS;
                }
        }
}

/* The only setjmp: kept apart, with no locals of its own, so that nothing here can be clobbered
 * by the longjmp (the scan's results live in *s, in the caller's memory). */
static __attribute__((noinline)) int pci_run(struct pci_access *acc, Scan *s) {
        jmp_buf jump;
        if (setjmp(jump) != 0) {
                pci_jump = NULL;
                return -EIO; /* pci_errmsg says why */
        }
        pci_jump = &jump;
        pci_init(acc);
        scan_devices(acc, s);
        pci_jump = NULL;
        return 0;
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
        if (pci_set_param(acc, (char *) "sysfs.path", sysfs) < 0) {
                pci_cleanup(acc);
                return -EINVAL;
        }

        int r = pci_run(acc, &s);
        pci_cleanup(acc); /* after it, s.ids may go: libpci may not have copied it */

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
