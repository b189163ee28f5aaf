/* The initramfs: a module blacklist in /etc/modprobe.d takes effect at boot only once the
 * initramfs carries it too (nouveau is loaded from the initramfs on Debian and Ubuntu). */
#pragma once

#include "host/host.h"

#define INITRAMFS_UPDATE_ARGV0 "update-initramfs"

/* How many initramfs images (<root>/boot/initrd.img-*) there are, and how many of them are older
 * than path (a file under the root): those do not carry it yet. The first stale one's name in
 * *ret_stale (may be NULL). -errno when /boot cannot be read (no /boot: 0 images). */
int initramfs_images(const Host *h, const char *path, unsigned *ret_total, unsigned *ret_stale_n, char **ret_stale);

/* `update-initramfs -u -k all` (argv, no shell). Under --root it is not run but recorded in
 * host-actions.log as that command line, and every <root>/boot/initrd.img-* is touched, as the
 * rebuild would. On failure *reterr says how it ended and what it printed last. */
int host_update_initramfs(const Host *h, char **reterr);
