#include "host/initramfs.h"

#include <dirent.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

#include "host/exec.h"

static bool is_image(const char *name) {
        return startswith(name, "initrd.img-") && name[strlen("initrd.img-")];
}

int initramfs_images(const Host *h, const char *path, unsigned *ret_total, unsigned *ret_stale_n, char **ret_stale) {
        _cleanup_free_ char *boot = host_path(h, "/boot"), *p = host_path(h, path);
        _cleanup_free_ char *stale = NULL;
        unsigned total = 0, n_stale = 0;
        struct stat ref, st;

        if (stat(p, &ref) < 0)
                return negative_errno();
        DIR *d = opendir(boot);
        if (!d) {
                if (errno != ENOENT)
                        return negative_errno();
        } else {
                struct dirent *de;
                while ((de = readdir(d))) {
                        if (!is_image(de->d_name))
                                continue;
                        _cleanup_free_ char *rel = xasprintf("/boot/%s", de->d_name), *f = host_path(h, rel);
                        if (stat(f, &st) < 0 || !S_ISREG(st.st_mode))
                                continue;
                        total++;
                        /* same second counts as stale: the rebuild must come after the write */
                        if (st.st_mtim.tv_sec < ref.st_mtim.tv_sec ||
                            (st.st_mtim.tv_sec == ref.st_mtim.tv_sec && st.st_mtim.tv_nsec < ref.st_mtim.tv_nsec)) {
                                n_stale++;
                                if (!stale)
                                        stale = xasprintf("/boot/%s", de->d_name);
                        }
                }
                closedir(d);
        }
        *ret_total = total;
        *ret_stale_n = n_stale;
        if (ret_stale)
                *ret_stale = TAKE_PTR(stale);
        return 0;
}

static int touch_images(const Host *h) {
        _cleanup_free_ char *boot = host_path(h, "/boot");
        DIR *d = opendir(boot);
        if (!d)
                return errno == ENOENT ? 0 : negative_errno();
        struct dirent *de;
        int r = 0;
        while ((de = readdir(d))) {
                if (!is_image(de->d_name))
                        continue;
                /* an image that is a link is touched where the link leads inside the root */
                _cleanup_free_ char *rel = xasprintf("/boot/%s", de->d_name), *f = host_path(h, rel);
                if (utimensat(AT_FDCWD, f, NULL, 0) < 0 && r == 0)
                        r = negative_errno();
        }
        closedir(d);
        return r;
}

int host_update_initramfs(const Host *h, char **reterr) {
        char *argv[] = {(char *) INITRAMFS_UPDATE_ARGV0, (char *) "-u", (char *) "-k", (char *) "all", NULL};
        if (host_is_rooted(h) && !h->image) {
                int r = host_log_action(h, "%s -u -k all", INITRAMFS_UPDATE_ARGV0);
                return r < 0 ? r : touch_images(h);
        }
        /* an image's own update-initramfs, chrooted into it (host/image.h) */
        ExecSpec spec = {.argv = argv, .timeout_sec = 600, .chroot = h->image ? h->root : NULL};
        _cleanup_(exec_result_done) ExecResult res = {0};
        int r = exec_run(&spec, &res);
        if (r < 0) {
                *reterr = xasprintf("cannot run %s: %s", INITRAMFS_UPDATE_ARGV0, strerror(-r));
                return r;
        }
        if (res.exec_errno || res.status != 0 || res.timed_out) {
                *reterr = exec_failure_text(&spec, &res);
                return -EIO;
        }
        return 0;
}
