/* NVIDIA's own list of GPUs (plans/data/gpus.tsv, built in): name, architecture and open-module
 * support by PCI device ID, and NVIDIA's rule for the open and proprietary kernel modules. */
#include <stdlib.h>
#include <string.h>

#include "checks/data.h"
#include "checks/pci.h"

static GpuArch arch_from_string(const char *s, size_t n) {
        for (GpuArch a = GPU_ARCH_KEPLER; a < _GPU_ARCH_MAX; a++)
                if (strlen(gpu_arch_to_string(a)) == n && strncmp(gpu_arch_to_string(a), s, n) == 0)
                        return a;
        return GPU_ARCH_UNKNOWN;
}

/* The n-th tab-separated field of the line [s, e): its start and length; false if there are fewer. */
static bool field_at(const char *s, const char *e, unsigned n, const char **ret, size_t *ret_len) {
        for (unsigned i = 0; i < n; i++) {
                const char *tab = memchr(s, '\t', (size_t) (e - s));
                if (!tab)
                        return false;
                s = tab + 1;
        }
        const char *tab = memchr(s, '\t', (size_t) (e - s));
        *ret = s;
        *ret_len = (size_t) ((tab ? tab : e) - s);
        return true;
}

/* Parses one data row "ID<TAB>arch<TAB>open<TAB>last_branch<TAB>grace<TAB>name". */
static bool parse_row(const char *s, const char *e, GpuInfo *ret) {
        const char *f[6];
        size_t n[6];
        for (unsigned i = 0; i < 6; i++)
                if (!field_at(s, e, i, &f[i], &n[i]) || n[i] == 0)
                        return false;
        if (n[0] != 4 || n[5] >= sizeof ret->name)
                return false;
        char idbuf[5] = {0}, *end;
        memcpy(idbuf, f[0], 4);
        unsigned long id = strtoul(idbuf, &end, 16);
        if (*end)
                return false;
        GpuInfo g = {
                .device_id = (unsigned) id,
                .arch = arch_from_string(f[1], n[1]),
                .open = n[2] == 3 && strncmp(f[2], "yes", 3) == 0,
                .last_branch = f[3][0] == '-' ? -1 : atoi(f[3]),
                .grace = n[4] == 3 && strncmp(f[4], "yes", 3) == 0,
        };
        memcpy(g.name, f[5], n[5]);
        *ret = g;
        return true;
}

int gpu_table_find(unsigned device_id, GpuInfo *ret) {
        const char *s = gpubase_data_gpus;
        while (*s) {
                const char *e = strchr(s, '\n');
                if (!e)
                        e = s + strlen(s);
                GpuInfo g;
                if (s[0] != '#' && e - s > 5 && parse_row(s, e, &g) && g.device_id == device_id) {
                        *ret = g;
                        return 0;
                }
                s = *e ? e + 1 : e;
        }
        return -ENOENT;
}

/* The value of a "# KEY: value" header line, in a static buffer; "unknown" if there is none. */
static const char *header(const char *key, char *buf, size_t size) {
        size_t klen = strlen(key);
        const char *s = gpubase_data_gpus;
        while (*s == '#') {
                const char *e = strchr(s, '\n');
                if (!e)
                        e = s + strlen(s);
                if ((size_t) (e - s) > klen + 4 && strncmp(s + 2, key, klen) == 0 && s[2 + klen] == ':') {
                        const char *v = s + 3 + klen;
                        v += strspn(v, " \t");
                        size_t n = (size_t) (e - v);
                        if (n > 0 && n < size) {
                                memcpy(buf, v, n);
                                buf[n] = '\0';
                                return buf;
                        }
                }
                s = *e ? e + 1 : e;
        }
        return "unknown";
}

const char *gpu_table_release(void) {
        static char buf[32];
        return header("release", buf, sizeof buf);
}

const char *gpu_table_date(void) {
        static char buf[32];
        return header("date", buf, sizeof buf);
}

int gpu_arch_last_branch(GpuArch a) {
        return a >= GPU_ARCH_MAXWELL && a <= GPU_ARCH_VOLTA ? 580 : -1;
}

OpenRule gpu_open_rule(const Gpu *g) {
        if (g->arch == GPU_ARCH_UNKNOWN)
                return OPEN_RULE_UNKNOWN;
        if (!gpu_arch_open_capable(g->arch))
                return OPEN_RULE_UNSUPPORTED;
        if (g->arch == GPU_ARCH_BLACKWELL || (g->arch == GPU_ARCH_HOPPER && g->grace))
                return OPEN_RULE_REQUIRED;
        return OPEN_RULE_RECOMMENDED;
}

const char *gpu_family(const Gpu *g) {
        if (g->grace && g->arch == GPU_ARCH_HOPPER)
                return "Grace Hopper";
        if (g->grace && g->arch == GPU_ARCH_BLACKWELL)
                return "Grace Blackwell";
        return gpu_arch_to_string(g->arch);
}

/* plans/data/nvswitches.tsv: "ID<TAB>generation<TAB>role"; only "endpoint" rows count. */
int nvswitch_table_find(unsigned device_id, const char **ret_generation) {
        static char generation[8];
        for (const char *s = gpubase_data_nvswitches; *s;) {
                const char *e = strchr(s, '\n');
                if (!e)
                        e = s + strlen(s);
                char id[5] = {0}, gen[8] = {0}, role[16] = {0};
                if (s[0] != '#' && sscanf(s, "%4[0-9a-f]\t%7[A-Z0-9]\t%15[a-z]", id, gen, role) == 3 &&
                    strtoul(id, NULL, 16) == device_id && streq(role, "endpoint")) {
                        snprintf(generation, sizeof generation, "%s", gen);
                        if (ret_generation)
                                *ret_generation = generation;
                        return 0;
                }
                s = *e ? e + 1 : e;
        }
        return -ENOENT;
}
