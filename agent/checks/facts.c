#include "checks/facts.h"

#include <dirent.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/string_table.h"
#include "host/dpkg.h"
#include "host/kmod_load.h"
#include "host/version.h"
#include "checks/data.h"

static const char *const driver_flavor_table[_DRIVER_FLAVOR_MAX] = {
        [DRIVER_FLAVOR_OPEN] = "open",
        [DRIVER_FLAVOR_PROPRIETARY] = "proprietary",
};

DEFINE_STRING_TABLE_LOOKUP_TO_STRING(driver_flavor, DriverFlavor, "unknown")

void proc_version_done(ProcVersion *p) {
        free(p->version);
        free(p->arch);
        *p = (ProcVersion){0};
}

/* The first token after `from` that looks like a driver version (digits and dots, at least one dot). */
static char *find_version_token(const char *from) {
        const char *p = from;
        while (*p) {
                while (*p == ' ' || *p == '\t')
                        p++;
                const char *start = p;
                while (*p && *p != ' ' && *p != '\t')
                        p++;
                size_t n = (size_t) (p - start);
                bool ok = n > 2 && strchr("0123456789", start[0]);
                bool dot = false;
                for (size_t i = 0; ok && i < n; i++) {
                        if (start[i] == '.')
                                dot = true;
                        else if (start[i] < '0' || start[i] > '9')
                                ok = false;
                }
                if (ok && dot)
                        return xstrndup(start, n);
        }
        return NULL;
}

int parse_proc_version(const char *line, ProcVersion *ret) {
        static const char prefix[] = "NVRM version:";
        ProcVersion p = {0};
        const char *s = strstr(line, prefix);
        if (!s)
                return -EBADMSG;
        s += sizeof prefix - 1;
        /* "NVIDIA UNIX Open Kernel Module for x86_64  555.58.02  Release Build ..." (open)
         * "NVIDIA UNIX x86_64 Kernel Module  535.104.05  <date>" (proprietary) */
        const char *open = strstr(s, "Open Kernel Module");
        const char *km = strstr(s, "Kernel Module");
        if (!km)
                return -EBADMSG;
        p.flavor = open ? DRIVER_FLAVOR_OPEN : DRIVER_FLAVOR_PROPRIETARY;
        /* the architecture is named in the module's title, not elsewhere on the line (a builder
         * host name may say x86_64 on an aarch64 module): "...Module for <arch>" (open) or
         * "NVIDIA UNIX <arch> Kernel Module" (proprietary) */
        if (open) {
                const char *f = strstr(open, "Module for ");
                if (f) {
                        f += strlen("Module for ");
                        p.arch = xstrndup(f, strcspn(f, " \t"));
                }
        } else {
                const char *u = strstr(s, "NVIDIA UNIX ");
                if (u && u + strlen("NVIDIA UNIX ") < km) {
                        u += strlen("NVIDIA UNIX ");
                        size_t n = strcspn(u, " \t");
                        if (u + n < km)
                                p.arch = xstrndup(u, n);
                }
        }
        p.version = find_version_token(km + strlen("Kernel Module"));
        if (!p.version) {
                proc_version_done(&p);
                return -EBADMSG;
        }
        *ret = p;
        return 0;
}

bool driver_loaded(const Host *h) {
        _cleanup_free_ char *p = host_path(h, SYS_MODULE_NVIDIA);
        struct stat st;
        return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

int driver_loaded_version(const Host *h, char **ret) {
        _cleanup_free_ char *p = host_path(h, SYS_MODULE_NVIDIA "/version");
        return read_line_file(p, ret);
}

int driver_proc_version(const Host *h, ProcVersion *ret) {
        _cleanup_free_ char *p = host_path(h, PROC_DRIVER_VERSION);
        _cleanup_free_ char *line = NULL;
        int r = read_line_file(p, &line);
        if (r < 0)
                return r;
        return parse_proc_version(line, ret);
}

bool module_loaded(const Host *h, const char *name) {
        _cleanup_free_ char *dir = xasprintf("/sys/module/%s/initstate", name);
        _cleanup_free_ char *p = host_path(h, dir);
        struct stat st;
        if (stat(p, &st) == 0)
                return true;
        _cleanup_free_ char *mods = host_path(h, "/proc/modules");
        _cleanup_free_ char *text = NULL;
        if (read_file(mods, 4 * 1024 * 1024, &text, NULL) < 0)
                return false;
        size_t n = strlen(name);
        for (char *line = text; line && *line;) {
                if (strncmp(line, name, n) == 0 && line[n] == ' ')
                        return true;
                line = strchr(line, '\n');
                if (line)
                        line++;
        }
        return false;
}

int kernel_release(const Host *h, char **ret) {
        _cleanup_free_ char *p = host_path(h, "/proc/sys/kernel/osrelease");
        return read_line_file(p, ret);
}

/* DKMS and prebuilt packages install under updates/ (searched first by depmod's default), then extra/. */
static int find_module_file(const Host *h, const char *dir, const char *name, int depth, char **ret) {
        static const char *const exts[] = {".ko", ".ko.xz", ".ko.zst", ".ko.gz"};
        _cleanup_(closedirp) DIR *d = NULL;
        struct dirent *de;

        if (depth > 8)
                return -ENOENT;
        _cleanup_free_ char *hd = host_path(h, dir);
        d = opendir(hd);
        if (!d)
                return -ENOENT;
        /* files of this directory first, then subdirectories in name order (deterministic) */
        char **subdirs = NULL;
        while ((de = readdir(d))) {
                if (de->d_name[0] == '.')
                        continue;
                _cleanup_free_ char *rel = xasprintf("%s/%s", dir, de->d_name), *p = host_path(h, rel);
                struct stat st;
                if (stat(p, &st) < 0)
                        continue;
                if (S_ISDIR(st.st_mode)) {
                        strv_push(&subdirs, TAKE_PTR(rel));
                        continue;
                }
                for (size_t i = 0; i < ELEMENTSOF(exts); i++) {
                        _cleanup_free_ char *want = xasprintf("%s%s", name, exts[i]);
                        if (streq(de->d_name, want)) {
                                strv_free(subdirs);
                                *ret = TAKE_PTR(p);
                                return 0;
                        }
                }
        }
        size_t n = strv_length(subdirs);
        /* n > 0 only when subdirs holds n entries (strv_length(NULL) is 0) */
        if (n > 1)
                qsort(subdirs, n, sizeof(char *), strcmp_ptr); /* NOLINT(clang-analyzer-core.NonNullParamChecker) */
        for (size_t i = 0; i < n; i++)
                if (find_module_file(h, subdirs[i], name, depth + 1, ret) == 0) { /* NOLINT(clang-analyzer-core.NullDereference) */
                        strv_free(subdirs);
                        return 0;
                }
        strv_free(subdirs);
        return -ENOENT;
}

int driver_disk_version(const Host *h, char **ret_version, char **ret_vermagic, char **ret_path) {
        _cleanup_free_ char *rel = NULL;
        int r = kernel_release(h, &rel);
        if (r < 0)
                return r;
        return driver_module_for_kernel(h, rel, ret_version, ret_vermagic, ret_path);
}

int driver_module_for_kernel(const Host *h, const char *rel, char **ret_version, char **ret_vermagic, char **ret_path) {
        _cleanup_free_ char *base = NULL, *path = NULL;
        int r;
        if (!*rel || strchr(rel, '/') || streq(rel, "..") || streq(rel, "."))
                return -EINVAL;
        /* the release is read from the root: resolved in it like any other path */
        base = xasprintf("/lib/modules/%s", rel);
        _cleanup_free_ char *kdir = host_path(h, base);
        static const char *const order[] = {"updates", "extra", "kernel", "."};
        /* the file modprobe's install line names (Debian's nvidia-current-open.ko) before nvidia.ko */
        _cleanup_free_ char *renamed = driver_module_file_name(h);
        const char *names[] = {renamed ? renamed : "nvidia", "nvidia"};
        r = -ENOENT;
        for (size_t n = 0; n < (renamed ? 2u : 1u) && r < 0; n++)
                for (size_t i = 0; i < ELEMENTSOF(order) && r < 0; i++) {
                        _cleanup_free_ char *d = xasprintf("%s/%s", base, order[i]);
                        r = find_module_file(h, d, names[n], streq(order[i], ".") ? 0 : 1, &path);
                }
        if (r < 0)
                return r;

        struct kmod_ctx *kctx = kmod_new(kdir, (const char *const[]){NULL});
        if (!kctx)
                return -ENOMEM;
        kmod_set_log_priority(kctx, 0);
        struct kmod_module *mod = NULL;
        struct kmod_list *info = NULL, *l;
        _cleanup_free_ char *version = NULL, *vermagic = NULL;
        r = kmod_module_new_from_path(kctx, path, &mod);
        if (r >= 0)
                r = kmod_module_get_info(mod, &info);
        if (r >= 0) {
                kmod_list_foreach(l, info) {
                        const char *k = kmod_module_info_get_key(l), *v = kmod_module_info_get_value(l);
                        if (streq(k, "version") && !version)
                                version = xstrdup(v);
                        else if (streq(k, "vermagic") && !vermagic)
                                vermagic = xstrdup(v);
                }
                r = version ? 0 : -ENODATA;
        }
        kmod_module_info_free_list(info);
        if (mod)
                kmod_module_unref(mod);
        kmod_unref(kctx);
        if (r < 0)
                return r;
        *ret_version = TAKE_PTR(version);
        if (ret_vermagic)
                *ret_vermagic = TAKE_PTR(vermagic);
        if (ret_path)
                *ret_path = TAKE_PTR(path);
        return 0;
}

/* ---- dpkg ---- */

void dpkg_package_done(DpkgPackage *p) {
        free(p->name);
        free(p->version);
        free(p->status);
        *p = (DpkgPackage){0};
}

static char *field(const char *stanza, size_t len, const char *name) {
        size_t n = strlen(name);
        for (const char *l = stanza; l && l < stanza + len;) {
                if (strncmp(l, name, n) == 0 && l[n] == ':') {
                        const char *v = l + n + 1;
                        while (*v == ' ')
                                v++;
                        const char *e = strchr(v, '\n');
                        if (!e || e > stanza + len)
                                e = stanza + len;
                        return xstrndup(v, (size_t) (e - v));
                }
                l = strchr(l, '\n');
                if (l)
                        l++;
        }
        return NULL;
}

typedef bool (*StanzaVisitor)(const char *stanza, size_t len, void *userdata);

static void each_stanza(const char *text, StanzaVisitor f, void *userdata) {
        const char *s = text;
        while (*s) {
                while (*s == '\n')
                        s++;
                if (!*s)
                        break;
                const char *e = strstr(s, "\n\n");
                size_t len = e ? (size_t) (e - s) + 1 : strlen(s);
                if (!f(s, len, userdata))
                        return;
                s += len;
        }
}

typedef struct FindCtx {
        const char *name; /* may be a glob */
        DpkgPackage *found;
        bool want_installed;
} FindCtx;

static bool find_visitor(const char *stanza, size_t len, void *userdata) {
        FindCtx *fc = userdata;
        _cleanup_free_ char *pkg = field(stanza, len, "Package");
        if (!pkg || fnmatch(fc->name, pkg, 0) != 0)
                return true;
        _cleanup_free_ char *status = field(stanza, len, "Status");
        bool installed = status && strstr(status, " installed") && strlen(status) >= 10 &&
                         streq(status + strlen(status) - 10, " installed");
        if (fc->found->name && (fc->found->installed || !installed))
                return true; /* keep the first installed match */
        dpkg_package_done(fc->found);
        fc->found->name = TAKE_PTR(pkg);
        fc->found->version = field(stanza, len, "Version");
        fc->found->status = status ? xstrdup(status) : xstrdup("");
        fc->found->installed = installed;
        fc->found->held = status && startswith(status, "hold ");
        return true;
}

int dpkg_find_in(const char *status_text, const char *name, DpkgPackage *ret) {
        DpkgPackage p = {0};
        FindCtx fc = {.name = name, .found = &p};
        each_stanza(status_text, find_visitor, &fc);
        if (!p.name)
                return -ENOENT;
        if (!p.version)
                p.version = xstrdup("");
        *ret = p;
        return 0;
}

typedef struct ListCtx {
        const char *glob;
        char **names;
} ListCtx;

static bool list_visitor(const char *stanza, size_t len, void *userdata) {
        ListCtx *lc = userdata;
        _cleanup_free_ char *pkg = field(stanza, len, "Package"), *status = NULL;
        if (!pkg || fnmatch(lc->glob, pkg, 0) != 0)
                return true;
        status = field(stanza, len, "Status");
        if (status && strlen(status) >= 10 && streq(status + strlen(status) - 10, " installed"))
                strv_push(&lc->names, TAKE_PTR(pkg));
        return true;
}

int dpkg_list_installed_in(const char *status_text, const char *glob, char ***ret) {
        ListCtx lc = {.glob = glob};
        each_stanza(status_text, list_visitor, &lc);
        if (!lc.names)
                return -ENOENT;
        *ret = lc.names;
        return 0;
}

typedef struct LockCtx {
        const char *name, *version;
        char *holder;
} LockCtx;

/* Does the Depends (or Pre-Depends) value name `name (= version)` as a requirement of its own, not
 * as one of alternatives? "name:arch" counts as name. */
static bool depends_exactly(const char *deps, const char *name, const char *version) {
        for (const char *d = deps; *d;) {
                size_t len = strcspn(d, ",");
                _cleanup_free_ char *item = xstrndup(d, len);
                d += len;
                if (*d == ',')
                        d++;
                if (strchr(item, '|'))
                        continue; /* an alternative locks nothing */
                const char *p = item + strspn(item, " \t");
                size_t n = strcspn(p, " \t(:");
                if (n != strlen(name) || strncmp(p, name, n) != 0)
                        continue;
                const char *rel = strchr(p, '(');
                if (!rel)
                        continue;
                rel++;
                rel += strspn(rel, " \t");
                if (rel[0] != '=')
                        continue;
                rel++;
                rel += strspn(rel, " \t");
                size_t vn = strcspn(rel, " \t)");
                if (vn == strlen(version) && strncmp(rel, version, vn) == 0)
                        return true;
        }
        return false;
}

static bool lock_visitor(const char *stanza, size_t len, void *userdata) {
        LockCtx *lc = userdata;
        _cleanup_free_ char *status = field(stanza, len, "Status");
        if (!status || !startswith(status, "hold ") || strlen(status) < 10 ||
            !streq(status + strlen(status) - 10, " installed"))
                return true;
        static const char *const dep_fields[] = {"Pre-Depends", "Depends"};
        for (size_t i = 0; i < ELEMENTSOF(dep_fields); i++) {
                _cleanup_free_ char *deps = field(stanza, len, dep_fields[i]);
                if (deps && depends_exactly(deps, lc->name, lc->version)) {
                        lc->holder = field(stanza, len, "Package");
                        return !lc->holder;
                }
        }
        return true;
}

int dpkg_held_lock_in(const char *status_text, const char *name, const char *version, char **ret_holder) {
        LockCtx lc = {.name = name, .version = version};
        each_stanza(status_text, lock_visitor, &lc);
        if (!lc.holder)
                return -ENOENT;
        *ret_holder = lc.holder;
        return 0;
}

/* Each stanza of s whose package matches the glob (NULL: every stanza) to f, until f says stop: only
 * the stanzas a name matches are parsed for their fields. dpkg writes its status sorted by name, as
 * host/dpkg.c keeps the stanzas, so "the first match" is the same as in the file. */
static void each_package(const DpkgStatus *s, const char *glob, StanzaVisitor f, void *userdata) {
        for (size_t i = 0; i < s->n; i++) {
                const DpkgStanza *st = &s->pkgs[i];
                if (glob && fnmatch(glob, st->name, 0) != 0)
                        continue;
                if (!f(st->text, st->len, userdata))
                        return;
        }
}

int dpkg_held_lock(const Host *h, const char *name, const char *version, char **ret_holder) {
        const DpkgStatus *s = NULL;
        int r = dpkg_status_get(h, &s);
        if (r < 0)
                return r;
        LockCtx lc = {.name = name, .version = version};
        each_package(s, NULL, lock_visitor, &lc);
        if (!lc.holder)
                return -ENOENT;
        *ret_holder = lc.holder;
        return 0;
}

/* dpkg_find_in() on the parsed status file (host/dpkg.h, read once per process). */
static int find_in_status(const DpkgStatus *s, const char *name, DpkgPackage *ret) {
        DpkgPackage p = {0};
        FindCtx fc = {.name = name, .found = &p};
        each_package(s, name, find_visitor, &fc);
        if (!p.name)
                return -ENOENT;
        if (!p.version)
                p.version = xstrdup("");
        *ret = p;
        return 0;
}

int dpkg_find(const Host *h, const char *name, DpkgPackage *ret) {
        const DpkgStatus *s = NULL;
        int r = dpkg_status_get(h, &s);
        if (r < 0)
                return r;
        return find_in_status(s, name, ret);
}

bool dpkg_status_unreadable(const Host *h, CheckResult *ret) {
        _cleanup_close_ int fd = host_open(h, "/var/lib/dpkg/status", O_RDONLY | O_CLOEXEC | O_NOCTTY, 0);
        if (fd >= 0 || fd == -ENOENT)
                return false;
        int r = fd;
        check_result_set(ret, CHECK_FAIL, xasprintf("cannot read /var/lib/dpkg/status: %s", strerror(-r)),
                         xstrdup(r == -EACCES && geteuid() != 0 ? "run gpubase verify as root (sudo gpubase verify)"
                                                                : "make dpkg's database readable"));
        return true;
}

int dpkg_find_first(const Host *h, const char *const *names, DpkgPackage *ret) {
        const DpkgStatus *s = NULL;
        int r = dpkg_status_get(h, &s);
        if (r < 0)
                return r;
        for (size_t i = 0; names[i]; i++) {
                DpkgPackage pkg = {0};
                if (find_in_status(s, names[i], &pkg) == 0) {
                        if (pkg.installed) {
                                *ret = pkg;
                                return 0;
                        }
                        dpkg_package_done(&pkg);
                }
        }
        return -ENOENT;
}

/* Names that carry the kernel module's version, most specific first: the CUDA repository's
 * (branch >= 590 unversioned, <= 580 with the branch), Ubuntu's prebuilt signed modules, Debian's. */
static const char *const driver_packages[] = {
        "nvidia-kernel-open-dkms", "nvidia-dkms-open", "nvidia-kernel-open-[0-9]*", "nvidia-dkms-[0-9]*-open",
        "linux-modules-nvidia-[0-9]*-server-open-*", "linux-modules-nvidia-[0-9]*-open-*", "nvidia-open-kernel-dkms",
        "nvidia-open", "nvidia-open-[0-9]*", "nvidia-driver-open", "nvidia-kernel-dkms", "nvidia-dkms-[0-9]*",
        "cuda-drivers", "cuda-drivers-[0-9]*", "nvidia-driver", "nvidia-driver-[0-9]*", NULL,
};

int dpkg_find_driver(const Host *h, DpkgPackage *ret) {
        return dpkg_find_first(h, driver_packages, ret);
}

typedef struct OriginCtx {
        const char *name, *version;
        bool found;
} OriginCtx;

static bool origin_visitor(const char *stanza, size_t len, void *userdata) {
        OriginCtx *oc = userdata;
        _cleanup_free_ char *pkg = field(stanza, len, "Package");
        if (!pkg || !streq(pkg, oc->name))
                return true;
        _cleanup_free_ char *v = field(stanza, len, "Version");
        if (v && streq(v, oc->version)) {
                oc->found = true;
                return false;
        }
        return true;
}

int apt_lists_origin(const Host *h, const char *name, const char *version, char ***ret_lists) {
        _cleanup_free_ char *dir = host_path(h, "/var/lib/apt/lists");
        _cleanup_(closedirp) DIR *d = opendir(dir);
        struct dirent *de;
        char **lists = NULL;
        if (!d)
                return -ENOENT;
        while ((de = readdir(d))) {
                size_t n = strlen(de->d_name);
                if (n < 9 || !streq(de->d_name + n - 9, "_Packages"))
                        continue;
                _cleanup_free_ char *rel = xasprintf("/var/lib/apt/lists/%s", de->d_name), *p = host_path(h, rel);
                _cleanup_free_ char *text = NULL;
                if (read_file(p, 512 * 1024 * 1024, &text, NULL) < 0)
                        continue;
                OriginCtx oc = {.name = name, .version = version};
                each_stanza(text, origin_visitor, &oc);
                if (oc.found)
                        strv_push(&lists, xstrdup(de->d_name));
        }
        if (!lists)
                return -ENOENT;
        *ret_lists = lists;
        return 0;
}

/* ---- Secure Boot ---- */

SecureBoot secureboot_state(const Host *h) {
        _cleanup_free_ char *efi = host_path(h, "/sys/firmware/efi");
        struct stat st;
        if (stat(efi, &st) < 0)
                return SECUREBOOT_LEGACY;
        _cleanup_free_ char *var =
                host_path(h, "/sys/firmware/efi/efivars/SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c");
        _cleanup_free_ char *data = NULL;
        size_t len = 0;
        /* 4 bytes of attributes, then the value */
        if (read_file(var, 64, &data, &len) < 0 || len < 5)
                return SECUREBOOT_UNKNOWN;
        return data[4] == 1 ? SECUREBOOT_ENABLED : SECUREBOOT_DISABLED;
}
