/* Image mode (gpubase --root TREE --image): TREE is a complete OS being built on this machine (the
 * build host) and booted later. While a run works on it, the process lives in a private mount
 * namespace in which TREE has /proc, /sys and /dev (as mmdebstrap gives its chroots), so that
 * maintainer scripts, DKMS and update-initramfs run chrooted into TREE work; nothing of that is
 * ever mounted where the rest of the build host sees it, and a crash leaves no mount behind
 * (the namespace dies with the process). A policy-rc.d that refuses every service start (exit
 * 101, Debian's invoke-rc.d policy interface) keeps the package scripts from starting daemons
 * inside the tree.
 *
 * What image_enter() set up is recorded in TREE/var/lib/gpubase/image-mounts before it is done;
 * the next image_enter() or image_leave() undoes what a killed run left (a policy-rc.d of ours,
 * a mount that outlived its namespace). All return 0 or -errno, *reterr only on failure. */
#pragma once

#include <stdbool.h>

#include "host/exec.h"
#include "host/host.h"

#define IMAGE_RECORD GPUBASE_STATE_DIR "/image-mounts"
#define IMAGE_CACHE_BEFORE GPUBASE_STATE_DIR "/image-cache-before"
#define POLICY_RC_D "/usr/sbin/policy-rc.d"

/* Undo what a killed run left, enter a private mount namespace, mount /proc, /sys and /dev inside
 * the tree and put the policy-rc.d in place. Needs root. */
int image_enter(const Host *h, char **reterr);
/* Unmount what image_enter() mounted, remove its policy-rc.d and its record. */
int image_leave(const Host *h, char **reterr);

/* Is unit installed in the tree (a unit file in /etc, /usr/lib or /lib systemd/system)? */
bool image_unit_installed(const Host *h, const char *unit);
/* Enable unit in the tree for its first boot, as `systemctl --root=TREE enable UNIT` does: the
 * links its [Install] section asks for. */
int image_enable_unit(const Host *h, const char *unit, char **reterr);

/* After packages changed in the tree: DKMS builds its modules for every kernel of the tree that
 * has its headers (chrooted `dkms autoinstall -k KVER`: a postinst run chrooted builds only for
 * the build host's running kernel, `uname -r`), then the tree's initramfs is updated
 * (`update-initramfs -u -k all`). Either is left out when the tree lacks the program.
 * *ret_detail says what ran. */
int image_update_kernels(const Host *h, ExecOutputFn output, void *userdata, char **ret_detail, char **reterr);

/* The names in the tree's apt lists and archives before gpubase downloaded anything, kept in
 * IMAGE_CACHE_BEFORE (written once: a resumed run keeps the first snapshot). */
int image_cache_snapshot(const Host *h);
/* Remove the lists, archives and package caches that are not in the snapshot, then the snapshot. */
int image_cache_clean(const Host *h, char **reterr);
