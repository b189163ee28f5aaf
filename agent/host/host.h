/* Everything that touches the machine goes through here. A Host has an optional root directory
 * (--root): every absolute path is taken under it, and actions on the running system (reboot,
 * unit enable/disable, service restart) are not performed but appended, one line each, to
 * <root>/var/lib/gpubase/host-actions.log so that tests can see what would have happened.
 * Functions return 0 or -errno; those with a `reterr` write the message there only on failure,
 * `ret_` outputs only on success (base/error.h). */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include "base/fs.h" /* the file helpers that used to be declared here */
#include "base/util.h"
#include "host/confine.h" /* CONFINE_NOFOLLOW for host_resolve() */

/* What the checks read once and keep for the rest of the process (checks/pci.c: the GPUs on the
 * PCI bus; dpkg's status keeps itself, host/dpkg.c). host/ only holds them: each entry comes
 * with the function that releases it. */
typedef enum HostMemoKind {
        HOST_MEMO_GPUS,
        _HOST_MEMO_MAX,
} HostMemoKind;

typedef struct HostMemo {
        void *data[_HOST_MEMO_MAX];
        void (*free[_HOST_MEMO_MAX])(void *data);
} HostMemo;

typedef struct Host {
        char *root; /* "" for the real machine, else an absolute path without trailing slash */
        char *apt_bundle; /* an extracted offline bundle (host path): apt takes packages from it only, and
                           * keyring/key downloads come from it (run --bundle); NULL: the network */
        bool image;       /* --image: root is a complete OS tree (an image being built), not a sandbox:
                           * dpkg runs its maintainer scripts chrooted into it, and so do commands */
        HostMemo *memo;   /* NULL: nothing is kept, every reader reads again (host_memo_enable()) */
} Host;

int host_init(Host *h, const char *root);
void host_done(Host *h);
/* From now on the readers that can keep what they read on h do (the commands: one process, one
 * machine). Without it (the unit tests, which change their fixtures between reads) nothing is kept. */
void host_memo_enable(Host *h);
/* The entry of kind k, NULL when none is kept. */
void *host_memo_get(const Host *h, HostMemoKind k);
/* Keeps data (released with free_fn by host_done(), or when replaced); false, and nothing kept,
 * when h keeps nothing: the caller still owns data then. */
bool host_memo_set(const Host *h, HostMemoKind k, void *data, void (*free_fn)(void *data));
static inline bool host_is_rooted(const Host *h) {
        return h->root && h->root[0];
}

/* path (absolute) under the root, resolved as after chroot(root) (host/confine.h): an absolute
 * link is taken from the root, ".." stops there, and the final component is followed too when it
 * is a link (a dangling one: to where it points, so that creating the file creates it inside the
 * root). Parts that do not exist yet are kept as text. With CONFINE_NOFOLLOW in flags a final link
 * is kept (to remove or replace it). The result never leaves the root; with no root it is path
 * itself. Returns 0 or -errno (-ELOOP: more than 40 links). */
int host_resolve(const Host *h, const char *path, unsigned flags, char **ret);
/* host_resolve() for callers that open the path next and report that error: where it fails (a
 * loop of links) the answer lies below /dev/null, where nothing can be opened or created, and
 * names the path and the reason. */
char *host_path(const Host *h, const char *path);
/* open(2) of path under the root, resolved as host_resolve() does while it opens
 * (openat2(RESOLVE_IN_ROOT)); O_NOFOLLOW keeps a final link from being followed. O_CLOEXEC is
 * added. Returns the fd or -errno. */
int host_open(const Host *h, const char *path, int flags, unsigned mode);
/* mkdir -p under the root: the missing parents 0755, path itself with mode. */
int host_mkdir_p(const Host *h, const char *path, unsigned mode);
/* The state directory, 0700 (its missing parents 0755). */
int host_mkdir_state_dir(const Host *h);

#define GPUBASE_STATE_DIR "/var/lib/gpubase"
#define GPUBASE_STATE_FILE GPUBASE_STATE_DIR "/state.json"
#define GPUBASE_ACTIONS_LOG GPUBASE_STATE_DIR "/host-actions.log"
#define GPUBASE_RUN_DIR "/run"
#define GPUBASE_LOCK_FILE GPUBASE_RUN_DIR "/gpubase.lock"
#define GPUBASE_UNIT "gpubase.service"
#define GPUBASE_VERIFY_TIMER "gpubase-verify.timer" /* the drift watch (gpubase watch) */
#define BOOT_ID_FILE "/proc/sys/kernel/random/boot_id"

int host_boot_id(const Host *h, char **ret);

typedef struct OsInfo {
        char *id;         /* "ubuntu", "debian" */
        char *version_id; /* "24.04", "12" */
} OsInfo;
int host_os_info(const Host *h, OsInfo *ret);
void os_info_done(OsInfo *o);
/* "x86_64" or "aarch64" (uname's machine). */
const char *host_arch(void);

/* Actions on the running system (under --root: logged, see above). *reterr: why not, on failure only. */
int host_reboot(const Host *h, char **reterr);
int host_unit_set_enabled(const Host *h, const char *unit, bool enable, char **reterr);
/* Will the unit start at boot? 1 / 0 / -errno. Under --root: what the log's last "enable UNIT" or
 * "disable UNIT" line says. */
int host_unit_is_enabled(const Host *h, const char *unit);
/* Is the unit starting? 1 when systemd says its ActiveState is "activating": its ExecStart= runs, or
 * Restart= is about to start it again (SubState "auto-restart"); 0 when not; -errno when systemd
 * cannot be asked. Under --root, where no systemd runs for the root: 1 when the last line of
 * GPUBASE_ACTIONS_LOG that names the unit is "activating UNIT" (gpubase never writes that line;
 * whoever plays the root's systemd does: the tests). */
int host_unit_activating(const Host *h, const char *unit);
/* Start or stop a unit now, without waiting for the job (under --root: logged as "start UNIT" or
 * "stop UNIT"). */
int host_unit_start_stop(const Host *h, const char *unit, bool start, char **reterr);
int host_log_action(const Host *h, const char *fmt, ...) _printf_(2, 3);
/* When did the service last become active? On the machine: systemd's ActiveEnterTimestamp over
 * sd-bus (-ESRCH when the unit is not active). Under --root: the mtime of marker, a file the
 * daemon creates when it starts (dockerd's /run/docker.pid), -ESRCH when it is absent. */
int host_service_active_since(const Host *h, const char *unit, const char *marker, uint64_t *ret_usec);
/* Restart a service and wait (up to timeout_sec) until it is active again. On the machine: sd-bus
 * RestartUnit, then the job and the unit's ActiveState; on failure (only) *reterr carries the unit's
 * state and its last journal lines. Under --root: logged as "restart UNIT", and marker (the file
 * the daemon writes when it starts) is touched, as the restarted daemon would. */
int host_service_restart(const Host *h, const char *unit, const char *marker, unsigned timeout_sec, char **reterr);
/* Start a service (a running one is left as it is) and wait until it is active: sd-bus StartUnit.
 * Under --root: logged as "start UNIT", and marker created (or touched), as the started daemon would. */
int host_service_start(const Host *h, const char *unit, const char *marker, unsigned timeout_sec, char **reterr);

/* One agent at a time: an exclusive flock on <root>/run/gpubase.lock holding the owner's pid.
 * Returns -EBUSY with *reterr_holder set when another process holds it. */
int host_lock(const Host *h, int *ret_fd, pid_t *reterr_holder);
/* The pid of the current holder, 0 if nobody holds the lock. */
pid_t host_lock_holder(const Host *h);

/* Like sshd's StrictModes: refuses a path that someone other than root or us could change, which
 * would let them choose what gpubase runs (a plan) or where it thinks it is (a state directory).
 * path itself, and every directory above it up to /, must be owned by root or the effective uid
 * and not writable by group or others; a directory above it may be world-writable when it is
 * sticky (/tmp: others cannot replace what they do not own). Symlinks are resolved first; parts
 * of path that do not exist yet are skipped (their parents are checked). Returns 0, or -EPERM
 * with *reterr naming the offending path, its owner and mode, and the fix (written only on failure). */
int path_check_private(const char *path, char **reterr);

/* systemd over sd-bus (real machine only); *reterr is written only on failure. */
int sd_reboot(char **reterr);
int sd_unit_set_enabled(const char *unit, bool enable, char **reterr);
int sd_unit_is_enabled(const char *unit);
int sd_unit_active_since(const char *unit, uint64_t *ret_usec);
int sd_unit_activating(const char *unit);
int sd_unit_restart(const char *unit, unsigned timeout_sec, char **reterr);
int sd_unit_start_stop(const char *unit, bool start, char **reterr);
int sd_unit_start(const char *unit, unsigned timeout_sec, char **reterr);
