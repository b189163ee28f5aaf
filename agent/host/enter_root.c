#include "host/enter_root.h"

#include <errno.h>
#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/util.h"

bool confine_possible(void) {
        return geteuid() == 0;
}

static int drop_capabilities(void) {
        for (int cap = 0; cap <= 63; cap++)
                if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL)
                        return negative_errno();
        (void) prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
        struct __user_cap_header_struct head = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
        struct __user_cap_data_struct data[2] = {{0}};
        if (syscall(SYS_capset, &head, data) < 0)
                return negative_errno();
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
                return negative_errno();
        return 0;
}

/* Every descriptor from 3 up but keep: an inherited directory descriptor would lead out of the root. */
static void close_fds(int keep) {
        if (syscall(SYS_close_range, (unsigned) (keep >= 3 ? keep + 1 : 3), ~0U, 0U) < 0) /* before Linux 5.9 */
                for (int fd = keep >= 3 ? keep + 1 : 3; fd < 65536; fd++)
                        (void) close(fd);
        for (int fd = 3; fd < keep; fd++)
                (void) close(fd);
}

int confine_enter_root(const char *root, int keep_fd) {
        close_fds(keep_fd);
        if (chroot(root) < 0 || chdir("/") < 0)
                return negative_errno();
        return drop_capabilities();
}
