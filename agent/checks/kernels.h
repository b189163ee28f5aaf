/* The kernels installed on the machine and the nvidia module each one has, so that a driver is
 * never left behind by the kernel the next boot starts (driver.next-kernel, driver.stale, the
 * driver step, verify's facts).
 *
 * Installed kernels are the /boot/vmlinuz-<release> images (what Debian's and Ubuntu's
 * linux-image-<release> packages install and what GRUB's menu is made of); /lib/modules/<release>
 * alone is not a kernel, DKMS leaves such directories behind. The next boot starts the newest of
 * them by Debian version order: grub-mkconfig (10_linux) lists the images newest first and the
 * default entry (GRUB_DEFAULT=0, Debian's and Ubuntu's default) is the first one. A GRUB_DEFAULT
 * that names another entry is not followed. */
#pragma once

#include "host/host.h"

typedef struct KernelInfo {
        char *release;  /* "6.1.0-28-amd64" */
        bool running;   /* /proc/sys/kernel/osrelease */
        bool next;      /* the one the next boot starts */
        bool headers;   /* linux-headers-<release> installed, or /lib/modules/<release>/build/Makefile */
        char *module;   /* the nvidia module's version under /lib/modules/<release> (libkmod); NULL: none */
} KernelInfo;

typedef struct KernelList {
        KernelInfo *k; /* oldest first */
        size_t n;
} KernelList;

void kernel_list_done(KernelList *l);
/* Every installed kernel, oldest first, with its module. -ENOENT when /boot has no vmlinuz-*
 * (a container, or a root that boots nothing). */
int kernel_list_read(const Host *h, KernelList *ret);
const KernelInfo *kernel_list_next(const KernelList *l);

/* Sorts kernel releases oldest first, by dpkg's version order ("6.1.0-9-amd64" before
 * "6.1.0-28-amd64", which strcmp() would turn round). */
void kernel_releases_sort(char **releases, size_t n);
/* The release of a /boot entry name: "vmlinuz-6.1.0-28-amd64" -> "6.1.0-28-amd64"; NULL for
 * anything else (vmlinuz itself, vmlinuz-*.old, backup files, a name with '/'). Newly allocated. */
char *kernel_release_of_image(const char *name);

/* Is the module right for kernel k: built, and (when want is set) at version want? */
bool kernel_has_module(const KernelInfo *k, const char *want);
/* "6.1.0-27-amd64 (running): 595.45.01; 6.1.0-28-amd64 (next): none" */
char *kernel_list_describe(const KernelList *l);

/* The kernel metapackages that pull in new kernels, among the installed packages (dpkg status
 * text): linux-image-F and linux-headers-F where F is a flavour, not a release (Debian's
 * linux-image-amd64, Ubuntu's linux-image-generic, -aws, -hwe-24.04...), and Ubuntu's linux-F
 * beside an installed linux-image-F. NULL-terminated, newly allocated; NULL when there is none. */
char **kernel_metapackages_in(const char *status_text);
