#include "checks/program.h"

#include <string.h>
#include <sys/stat.h>

#include "host/enter_root.h"

const char *program_where(const Host *h) {
        return host_is_rooted(h) ? " (run inside the root, chroot)" : "";
}

int program_run(const Host *h, const char *path, const char *name, char *const *args, unsigned timeout_sec,
                ExecResult *ret, char **ret_not_run) {
        _cleanup_strv_free_ char **argv = NULL;
        bool rooted = host_is_rooted(h);
        if (rooted && !confine_possible()) {
                *ret_not_run = xasprintf("not run: under --root, %s of the root runs only inside the root (chroot), "
                                         "which needs gpubase to run as root",
                                         path);
                return 1;
        }
        strv_push(&argv, xstrdup(rooted || !name ? path : name));
        for (size_t i = 0; args && args[i]; i++)
                strv_push(&argv, xstrdup(args[i]));
        ExecSpec spec = {.argv = argv, .timeout_sec = timeout_sec, .chroot = rooted ? h->root : NULL};
        ExecResult res = {0};
        int r = exec_run(&spec, &res);
        if (r < 0)
                return r;
        _cleanup_free_ char *in_root = rooted ? host_path(h, path) : NULL;
        struct stat st;
        if (rooted && res.exec_errno && lstat(in_root, &st) == 0) {
                /* there, but it cannot start inside the root (ENOENT: its interpreter is not there) */
                *ret_not_run = xasprintf("not run: under --root, %s cannot start inside the root (%s): the root lacks "
                                         "what it needs",
                                         path, strerror(res.exec_errno));
                exec_result_done(&res);
                return 1;
        }
        *ret = res;
        return 0;
}
