/* Holds through dpkg's selections, without libapt's cache: `dpkg --set-selections`, as apt-mark
 * and libapt's own StateChanges do, given the installed packages' names and architectures from
 * dpkg's status (host/dpkg.h). Written here rather than through libapt because libapt needs its
 * whole cache to name a package, and right after an install that cache is stale: building it again
 * from a real host's lists (60,000 packages) cost more than the install of a small package. */
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "base/error.h"
#include "base/fs.h"
#include "base/util.h"
#include "host/apt.h"
#include "host/dpkg.h"
#include "host/exec.h"

/* "name hold\n" lines for dpkg, one per package (name:arch for a foreign architecture). */
static int selections(const Host *h, const char *const *names, bool hold, char **ret, char **reterr) {
        const DpkgStatus *st = NULL;
        int r = dpkg_status_get(h, &st);
        if (r < 0) { /* r itself: the analyser cannot see that errorf() returns it */
                (void) errorf(reterr, r, "cannot read dpkg's status: %s", strerror(-r));
                return r;
        }
        Buf b = {0};
        for (size_t i = 0; names[i]; i++) {
                const DpkgStanza *p = dpkg_status_lookup(st, names[i]);
                if (!p || !dpkg_stanza_present(p)) {
                        buf_done(&b);
                        (void) errorf(reterr, -ENOENT, "%s is not installed, so it cannot be %s", names[i],
                                      hold ? "held" : "unheld");
                        return -ENOENT;
                }
                bool plain = streq(p->arch, "all") || streq(p->arch, dpkg_native_arch()) || !*p->arch;
                buf_printf(&b, "%s%s%s %s\n", p->name, plain ? "" : ":", plain ? "" : p->arch, hold ? "hold" : "install");
        }
        *ret = buf_steal(&b);
        return 0;
}

int apt_set_hold(AptSession *s, const char *const *names, bool hold, char **reterr) {
        _cleanup_free_ char *in = NULL;
        int r = selections(s->host, names, hold, &in, reterr);
        if (r < 0)
                return r;
        _cleanup_close_ int fd = memfd_create("gpubase-selections", MFD_CLOEXEC);
        if (fd < 0)
                return errorf(reterr, negative_errno(), "cannot hand dpkg its selections: %m");
        if (write_all_fd(fd, in, strlen(in)) < 0 || lseek(fd, 0, SEEK_SET) < 0)
                return errorf(reterr, negative_errno(), "cannot hand dpkg its selections: %m");
        _cleanup_strv_free_ char **argv = NULL;
        strv_push(&argv, xstrdup("dpkg"));
        for (const char *const *o = apt_shim_dpkg_options(s->shim); o && *o; o++)
                strv_push(&argv, xstrdup(*o));
        strv_push(&argv, xstrdup("--set-selections"));
        /* dpkg takes its own lock: ours (the inner one) is handed over, the frontend lock stays */
        char *env[] = {(char *) "DPKG_FRONTEND_LOCKED=true", NULL};
        ExecSpec spec = {.argv = argv, .env = env, .timeout_sec = 300, .stdin_fd = fd, .stop_fd = s->stop_fd};
        _cleanup_(exec_result_done) ExecResult res = {0};
        (void) apt_shim_release_inner(s->shim);
        r = exec_run(&spec, &res);
        int rl = apt_shim_retake_inner(s->shim, reterr);
        if (rl < 0) /* *reterr says so */
                return rl;
        if (r < 0)
                return errorf(reterr, r, "cannot run dpkg --set-selections: %s", strerror(-r));
        if (res.exec_errno || res.status != 0) {
                _cleanup_free_ char *how = exec_failure_text(&spec, &res);
                return errorf(reterr, -EIO, "%s failed: %s", hold ? "setting the hold" : "removing the hold", how);
        }
        /* the selections are part of what libapt read: its cache is built again when next read */
        return apt_shim_reopen(s->shim, reterr);
}
