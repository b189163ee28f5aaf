#include "host/image.h"

#include <dirent.h>
#include <limits.h>
#include <sched.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/error.h"
#include "host/apt.h"
#include "host/aptshim_load.h"

/* What the tree gets, in mount order (unmounted in reverse). sysfs read-only, as mmdebstrap mounts
 * it; /dev is the build host's, bound with what is mounted below it (/dev/pts, /dev/shm), since
 * a private namespace keeps the binding from reaching anyone else. */
typedef struct ImageMount {
        const char *where;
        const char *source, *fstype;
        unsigned long flags;
} ImageMount;

static const ImageMount image_mounts[] = {
        {"/proc", "proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC},
        {"/sys", "sysfs", "sysfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC},
        {"/dev", "/dev", NULL, MS_BIND | MS_REC},
};

static const char policy_rc_d[] = "#!/bin/sh\n"
                                  "# gpubase --image: no service starts inside an image being built (removed after)\n"
                                  "exit 101\n";

/* Calls fn for each mount point of this process's namespace that it can see (/proc/self/mountinfo,
 * relative to its root), until fn returns non-zero; returns that, 0 after the last, or -errno when
 * the table cannot be read. Octal escapes for spaces are not expected in the paths of a tree gpubase
 * mounts into, nor in a build host's own mounts. */
static int each_mount_point(int (*fn)(const char *mp, void *userdata), void *userdata) {
        _cleanup_fclose_ FILE *f = fopen("/proc/self/mountinfo", "re");
        char line[4096];
        if (!f)
                return negative_errno();
        while (fgets(line, sizeof line, f)) {
                char mp[PATH_MAX]; /* id parent major:minor root mount-point ... */
                if (sscanf(line, "%*s %*s %*s %*s %4095s", mp) != 1)
                        continue;
                int r = fn(mp, userdata);
                if (r)
                        return r;
        }
        return 0;
}

static int mount_point_is(const char *mp, void *path) {
        return streq(mp, path);
}

/* Is path (a host path) a mount point in this process's namespace? */
static bool is_mount_point(const char *path) {
        return each_mount_point(mount_point_is, (void *) path) > 0;
}

static int make_private(const char *mp, void *userdata) {
        (void) userdata;
        return mount(NULL, mp, NULL, MS_PRIVATE, NULL) < 0 && errno != EINVAL ? negative_errno() : 0;
}

/* A mount namespace of gpubase's own, where nothing it mounts reaches another: a new one, with
 * every mount in it made private. When gpubase itself runs chrooted (a build container, an
 * image builder's chroot) "/" is not a mount point, and the chroot's own mount cannot be named from
 * inside to change it (EINVAL); then every mount it can see is made private, one by one. If the
 * mount holding the tree is shared with a namespace outside, what is mounted in the tree shows
 * there while gpubase runs; the record (IMAGE_RECORD) is written before each mount, so the next run
 * unmounts it all the same, and an unmount reaches the same peers. */
static int private_namespace(void) {
        if (unshare(CLONE_NEWNS) < 0)
                return negative_errno();
        if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0)
                return 0;
        if (errno != EINVAL)
                return negative_errno();
        int r = each_mount_point(make_private, NULL);
        return r == -ENOENT ? 0 : r; /* no /proc in the chroot: nothing else is mounted there to make private */
}

/* The tree's user and group databases over the build host's, in gpubase's private namespace:
 * dpkg --root runs here, not in the tree, and resolves the names in a package's files and in the
 * tree's statoverrides (a system group such as messagebus) through this machine's NSS, which reads
 * /etc/passwd and /etc/group. A name the build host lacks made dpkg abort ("unknown system group
 * 'messagebus' in statoverride file"); one it has with another id would give the tree's files the
 * build host's ids. Nothing outside the namespace sees the bind. A tree without the file keeps the
 * build host's. */
static int bind_user_databases(const Host *h, char **reterr) {
        static const char *const dbs[] = {"/etc/passwd", "/etc/group"};
        for (size_t i = 0; i < ELEMENTSOF(dbs); i++) {
                _cleanup_free_ char *p = NULL;
                struct stat st;
                if (host_resolve(h, dbs[i], 0, &p) < 0 || stat(p, &st) < 0 || !S_ISREG(st.st_mode) ||
                    stat(dbs[i], &st) < 0)
                        continue;
                if (mount(p, dbs[i], NULL, MS_BIND, NULL) < 0)
                        return errorf(reterr, negative_errno(), "cannot bind the tree's %s over this machine's: %s",
                                      dbs[i], strerror(errno));
        }
        return 0;
}

/* Unmounts (lazily, with everything below) what the record says was mounted and is still a mount
 * point here; removes a policy-rc.d of ours. */
static int undo_record(const Host *h) {
        _cleanup_free_ char *rec = host_path(h, IMAGE_RECORD), *text = NULL;
        int r = read_file(rec, 64 * 1024, &text, NULL);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return r;
        for (size_t i = ELEMENTSOF(image_mounts); i > 0; i--) {
                const char *where = image_mounts[i - 1].where;
                _cleanup_free_ char *line = xasprintf("mount %s\n", where), *p = NULL;
                if (!strstr(text, line) || host_resolve(h, where, CONFINE_NOFOLLOW, &p) < 0)
                        continue;
                while (is_mount_point(p))
                        if (umount2(p, MNT_DETACH) < 0)
                                return negative_errno();
        }
        if (strstr(text, "policy-rc.d\n")) {
                _cleanup_free_ char *p = host_path(h, POLICY_RC_D);
                if (unlink(p) < 0 && errno != ENOENT)
                        return negative_errno();
        }
        return unlink(rec) < 0 && errno != ENOENT ? negative_errno() : 0;
}

/* The policy-rc.d, unless the tree has one of its own (kept, and not removed after). Appends
 * "policy-rc.d" to *record when it is ours. */
static int put_policy(const Host *h, Buf *record) {
        _cleanup_free_ char *p = host_path(h, POLICY_RC_D);
        struct stat st;
        if (lstat(p, &st) == 0)
                return 0;
        int r = mkdir_parents(p, 0755);
        if (r < 0)
                return r;
        buf_puts(record, "policy-rc.d\n");
        return 0;
}

static int write_record(const Host *h, Buf *record) {
        _cleanup_free_ char *rec = host_path(h, IMAGE_RECORD);
        int r = host_mkdir_state_dir(h);
        return r < 0 ? r : write_file_atomic(rec, record->data ? record->data : "", record->len, 0600);
}

static int mount_all(const Host *h, Buf *record, char **reterr) {
        for (size_t i = 0; i < ELEMENTSOF(image_mounts); i++) {
                const ImageMount *m = &image_mounts[i];
                _cleanup_free_ char *p = NULL;
                int r = host_mkdir_p(h, m->where, 0755);
                if (r >= 0)
                        r = host_resolve(h, m->where, CONFINE_NOFOLLOW, &p);
                if (r < 0)
                        return errorf(reterr, r, "cannot make %s%s: %s", h->root, m->where, strerror(-r));
                /* the intent first: a crash between the two still gets it undone */
                buf_printf(record, "mount %s\n", m->where);
                r = write_record(h, record);
                if (r < 0)
                        return errorf(reterr, r, "cannot write %s%s: %s", h->root, IMAGE_RECORD, strerror(-r));
                if (mount(m->source, p, m->fstype, m->flags, NULL) < 0)
                        return errorf(reterr, negative_errno(), "cannot mount %s on %s: %s", m->source, p,
                                      strerror(errno));
        }
        return 0;
}

int image_enter(const Host *h, char **reterr) {
        Buf record = {0};
        int r;

        if (!host_is_rooted(h))
                return errorf(reterr, -EINVAL, "--image needs --root TREE");
        /* libgpubase-apt.so is found beside /proc/self/exe, which names the binary outside the
         * chroot once gpubase, chrooted itself, is in a namespace of its own: loaded before */
        (void) apt_shim_load(NULL);
        r = private_namespace();
        if (r < 0)
                return errorf(reterr, r, "cannot make a private mount namespace: %s (gpubase --image must run as root)",
                              strerror(-r));
        /* in the private namespace already: what is mounted in the tree by whoever runs gpubase (an
         * image builder's own /proc, /dev) stays as it is for them */
        r = undo_record(h);
        if (r < 0)
                return errorf(reterr, r, "cannot undo what an earlier run left in %s (%s%s): %s", h->root, h->root,
                              IMAGE_RECORD, strerror(-r));
        r = put_policy(h, &record);
        if (r >= 0)
                r = write_record(h, &record);
        if (r >= 0 && strstr(record.data ? record.data : "", "policy-rc.d")) {
                _cleanup_free_ char *p = host_path(h, POLICY_RC_D);
                r = write_file_atomic(p, policy_rc_d, sizeof policy_rc_d - 1, 0755);
        }
        if (r < 0) {
                buf_done(&record);
                return errorf(reterr, r, "cannot put %s%s in place: %s", h->root, POLICY_RC_D, strerror(-r));
        }
        r = mount_all(h, &record, reterr);
        buf_done(&record);
        return r < 0 ? r : bind_user_databases(h, reterr);
}

int image_leave(const Host *h, char **reterr) {
        int r = undo_record(h);
        if (r < 0)
                return errorf(reterr, r, "cannot unmount what gpubase mounted in %s: %s", h->root, strerror(-r));
        return 0;
}

static const char *const unit_dirs[] = {"/etc/systemd/system", "/usr/lib/systemd/system", "/lib/systemd/system"};

bool image_unit_installed(const Host *h, const char *unit) {
        for (size_t i = 0; i < ELEMENTSOF(unit_dirs); i++) {
                _cleanup_free_ char *rel = xasprintf("%s/%s", unit_dirs[i], unit), *p = host_path(h, rel);
                if (access(p, F_OK) == 0)
                        return true;
        }
        return false;
}

/* systemctl of the build host, which only reads and links unit files under --root=: nothing of
 * the tree runs. */
int image_enable_unit(const Host *h, const char *unit, char **reterr) {
        _cleanup_free_ char *root = xasprintf("--root=%s", h->root);
        char *argv[] = {(char *) "systemctl", root, (char *) "enable", (char *) unit, NULL};
        ExecSpec spec = {.argv = argv, .timeout_sec = 120};
        _cleanup_(exec_result_done) ExecResult res = {0};
        int r = exec_run(&spec, &res);
        if (r < 0)
                return errorf(reterr, r, "cannot run systemctl: %s", strerror(-r));
        if (res.exec_errno || res.status != 0 || res.timed_out) {
                _cleanup_free_ char *why = exec_failure_text(&spec, &res);
                return errorf(reterr, -EIO, "systemctl --root=%s enable %s: %s", h->root, unit, why);
        }
        return 0;
}

/* One program of the tree, chrooted; a missing program is 0 with nothing run (*ran false). */
static int run_in_tree(const Host *h, char **argv, ExecOutputFn output, void *userdata, bool *ran, char **reterr) {
        _cleanup_free_ char *p = host_path(h, argv[0]);
        *ran = false;
        if (access(p, X_OK) < 0)
                return 0;
        ExecSpec spec = {.argv = argv, .timeout_sec = 3600, .output = output, .userdata = userdata, .chroot = h->root};
        _cleanup_(exec_result_done) ExecResult res = {0};
        int r = exec_run(&spec, &res);
        if (r < 0)
                return errorf(reterr, r, "cannot run %s in %s: %s", argv[0], h->root, strerror(-r));
        if (res.exec_errno || res.status != 0 || res.timed_out) {
                _cleanup_free_ char *why = exec_failure_text(&spec, &res);
                return errorf(reterr, -EIO, "%s (chrooted into %s): %s", argv[0], h->root, why);
        }
        *ran = true;
        return 0;
}

int image_update_kernels(const Host *h, ExecOutputFn output, void *userdata, char **ret_detail, char **reterr) {
        _cleanup_free_ char *mods = host_path(h, "/lib/modules");
        DIR *d = opendir(mods);
        Buf what = {0};
        bool ran;
        int r = 0;

        for (struct dirent *de; d && r >= 0 && (de = readdir(d));) {
                if (de->d_name[0] == '.')
                        continue;
                _cleanup_free_ char *build = xasprintf("/lib/modules/%s/build", de->d_name), *bp = host_path(h, build);
                if (access(bp, F_OK) < 0) /* no headers for this kernel: DKMS cannot build for it */
                        continue;
                char *argv[] = {(char *) "/usr/sbin/dkms", (char *) "autoinstall", (char *) "-k", de->d_name, NULL};
                r = run_in_tree(h, argv, output, userdata, &ran, reterr);
                if (r >= 0 && ran)
                        buf_printf(&what, "%sdkms autoinstall -k %s", what.len ? ", " : "", de->d_name);
        }
        if (d)
                closedir(d);
        if (r >= 0) {
                char *argv[] = {(char *) "/usr/sbin/update-initramfs", (char *) "-u", (char *) "-k", (char *) "all", NULL};
                r = run_in_tree(h, argv, output, userdata, &ran, reterr);
                if (r >= 0 && ran)
                        buf_printf(&what, "%supdate-initramfs -u -k all", what.len ? ", " : "");
        }
        if (r < 0) {
                buf_done(&what);
                return r;
        }
        *ret_detail = what.len ? buf_steal(&what) : (buf_done(&what), xstrdup("no dkms, no update-initramfs in the tree"));
        return 0;
}

/* The directories whose downloads are cleaned, and the files there that are never removed. */
static const char *const cache_dirs[] = {"/var/lib/apt/lists", "/var/cache/apt/archives", "/var/cache/apt",
                                         APT_NAMES_CACHE};

static bool cache_kept(const char *name) {
        return name[0] == '.' || streq(name, "lock") || streq(name, "partial") || streq(name, "auxfiles") ||
               streq(name, "archives");
}

/* Every file of the cache directories, as "DIR/NAME\n" lines. */
static char *cache_listing(const Host *h) {
        Buf b = {0};
        for (size_t i = 0; i < ELEMENTSOF(cache_dirs); i++) {
                _cleanup_free_ char *p = host_path(h, cache_dirs[i]);
                DIR *d = opendir(p);
                for (struct dirent *de; d && (de = readdir(d));)
                        if (!cache_kept(de->d_name))
                                buf_printf(&b, "%s/%s\n", cache_dirs[i], de->d_name);
                if (d)
                        closedir(d);
        }
        return buf_steal(&b);
}

int image_cache_snapshot(const Host *h) {
        _cleanup_free_ char *p = host_path(h, IMAGE_CACHE_BEFORE);
        if (access(p, F_OK) == 0)
                return 0;
        int r = host_mkdir_state_dir(h);
        if (r < 0)
                return r;
        _cleanup_free_ char *list = cache_listing(h);
        return write_file_atomic(p, list, strlen(list), 0600);
}

int image_cache_clean(const Host *h, char **reterr) {
        apt_names_ahead_wait(); /* nothing is written into APT_NAMES_CACHE behind the cleaning */
        _cleanup_free_ char *snap = host_path(h, IMAGE_CACHE_BEFORE), *before = NULL, *now = cache_listing(h);
        int r = read_file(snap, 64 * 1024 * 1024, &before, NULL);
        if (r == -ENOENT) /* cleaned already (a resumed run) */
                return 0;
        if (r < 0)
                return errorf(reterr, r, "cannot read %s: %s", snap, strerror(-r));
        char *save = NULL;
        for (char *line = strtok_r(now, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                _cleanup_free_ char *needle = xasprintf("%s\n", line), *inner = xasprintf("\n%s", needle);
                if (startswith(before, needle) || strstr(before, inner)) /* there before gpubase */
                        continue;
                _cleanup_free_ char *p = NULL;
                if (host_resolve(h, line, CONFINE_NOFOLLOW, &p) >= 0 && unlink(p) < 0 && errno != ENOENT &&
                    errno != EISDIR)
                        return errorf(reterr, negative_errno(), "cannot remove %s: %s", p, strerror(errno));
        }
        return unlink(snap) < 0 && errno != ENOENT ? negative_errno() : 0;
}
