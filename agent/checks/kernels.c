#include "checks/kernels.h"

#include <ctype.h>
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "checks/facts.h"
#include "host/dpkg.h"
#include "host/version.h"

void kernel_list_done(KernelList *l) {
        for (size_t i = 0; i < l->n; i++) {
                free(l->k[i].release);
                free(l->k[i].module);
        }
        free(l->k);
        *l = (KernelList){0};
}

char *kernel_release_of_image(const char *name) {
        if (!startswith(name, "vmlinuz-"))
                return NULL;
        const char *rel = name + strlen("vmlinuz-");
        size_t len = strlen(rel);
        /* a release starts with its version; what update-initramfs, dpkg and editors leave beside the
         * images (.old, .bak, .dpkg-new, name~) is not a kernel */
        if (!isdigit((unsigned char) rel[0]) || strchr(rel, '/') || strstr(rel, ".dpkg-") || rel[len - 1] == '~' ||
            (len > 4 && (streq(rel + len - 4, ".old") || streq(rel + len - 4, ".bak"))))
                return NULL;
        return xstrdup(rel);
}

static int release_cmp(const void *a, const void *b) {
        return version_cmp(*(char *const *) a, *(char *const *) b);
}

void kernel_releases_sort(char **releases, size_t n) {
        if (n > 1)
                qsort(releases, n, sizeof(char *), release_cmp);
}

static bool has_headers(const Host *h, const char *status_text, const char *rel) {
        _cleanup_free_ char *name = xasprintf("linux-headers-%s", rel);
        DpkgPackage p = {0};
        bool installed = status_text && dpkg_find_in(status_text, name, &p) == 0 && p.installed;
        dpkg_package_done(&p);
        if (installed)
                return true;
        /* headers installed by hand: DKMS builds against this tree */
        _cleanup_free_ char *mk = xasprintf("/lib/modules/%s/build/Makefile", rel), *path = host_path(h, mk);
        return access(path, F_OK) == 0;
}

/* The release names of /boot/vmlinuz-*, unsorted; -ENOENT if none. */
static int boot_images(const Host *h, char ***ret) {
        _cleanup_free_ char *boot = host_path(h, "/boot");
        _cleanup_(closedirp) DIR *d = opendir(boot);
        char **rels = NULL;
        struct dirent *de;
        if (!d)
                return -ENOENT;
        while ((de = readdir(d))) {
                char *rel = kernel_release_of_image(de->d_name);
                if (rel)
                        strv_push(&rels, rel);
        }
        if (!rels)
                return -ENOENT;
        *ret = rels;
        return 0;
}

int kernel_list_read(const Host *h, KernelList *ret) {
        _cleanup_strv_free_ char **rels = NULL;
        _cleanup_free_ char *running = NULL;
        const DpkgStatus *st = NULL;
        int r = boot_images(h, &rels);
        if (r < 0)
                return r;
        size_t n = strv_length(rels);
        kernel_releases_sort(rels, n);
        (void) kernel_release(h, &running);
        /* dpkg's status as the process read it once (host/dpkg.h); NULL when it cannot be read */
        const char *status = dpkg_status_get(h, &st) == 0 ? st->text : NULL;
        KernelList l = {.k = xcalloc(n, sizeof(KernelInfo)), .n = n};
        for (size_t i = 0; i < n; i++) {
                KernelInfo *k = &l.k[i];
                k->release = xstrdup(rels[i]);
                k->running = running && streq(running, rels[i]);
                k->next = i == n - 1;
                k->headers = has_headers(h, status, rels[i]);
                (void) driver_module_for_kernel(h, rels[i], &k->module, NULL, NULL);
        }
        *ret = l;
        return 0;
}

const KernelInfo *kernel_list_next(const KernelList *l) {
        return l->n ? &l->k[l->n - 1] : NULL;
}

bool kernel_has_module(const KernelInfo *k, const char *want) {
        return k->module && (!want || streq(k->module, want));
}

char *kernel_list_describe(const KernelList *l) {
        Buf b = {0};
        for (size_t i = 0; i < l->n; i++) {
                const KernelInfo *k = &l->k[i];
                const char *tag = k->running && k->next ? " (running, next)" : k->running ? " (running)" : k->next ? " (next)" : "";
                buf_printf(&b, "%s%s%s: %s", i ? "; " : "", k->release, tag, k->module ? k->module : "no module");
        }
        return buf_steal(&b);
}

/* A flavour ("amd64", "generic", "cloud-amd64", "generic-hwe-24.04"), not a release ("6.1.0-28-amd64"). */
static const char *flavour_of(const char *name, const char *prefix) {
        const char *f = name + strlen(prefix);
        return startswith(name, prefix) && *f && !isdigit((unsigned char) *f) ? f : NULL;
}

char **kernel_metapackages_in(const char *status_text) {
        char **out = NULL;
        static const char *const prefixes[] = {"linux-image-", "linux-headers-"};
        for (size_t p = 0; p < ELEMENTSOF(prefixes); p++) {
                _cleanup_free_ char *glob = xasprintf("%s*", prefixes[p]);
                _cleanup_strv_free_ char **names = NULL;
                if (dpkg_list_installed_in(status_text, glob, &names) < 0)
                        continue;
                for (size_t i = 0; names[i]; i++) {
                        const char *f = flavour_of(names[i], prefixes[p]);
                        if (!f)
                                continue;
                        strv_push(&out, xstrdup(names[i]));
                        /* Ubuntu's linux-generic, linux-aws...: depends on linux-image-F and linux-headers-F */
                        _cleanup_free_ char *top = xasprintf("linux-%s", f);
                        _cleanup_strv_free_ char **tops = NULL;
                        if (p == 0 && dpkg_list_installed_in(status_text, top, &tops) == 0)
                                strv_push(&out, xstrdup(top));
                }
        }
        return out;
}
