/* The file the nvidia module is loaded from, when it is not nvidia.ko: Debian's DKMS packages
 * rename the modules they build (nvidia-open-kernel-dkms 535.261.03-1: dkms.conf's
 * DEST_MODULE_NAME "nvidia-current-open", installed as updates/dkms/nvidia-current-open.ko) and
 * reach them through modprobe's configuration: the driver alternative links
 * /etc/modprobe.d/nvidia.conf to /etc/nvidia/current-open/nvidia-modprobe.conf, which says
 * `install nvidia modprobe -i nvidia-current-open $CMDLINE_OPTS`. The module keeps its own name
 * inside (it shows up as /sys/module/nvidia once loaded); only the file differs.
 *
 * Read here rather than through libkmod's configuration parser: libkmod opens the files of its
 * configuration directories with plain open(), and the alternative's links are absolute, so under
 * --root they would be followed out of the root into the machine gpubase runs on. Here every file
 * is read through host_path() (host/confine.c), which resolves those links inside the root. */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "checks/facts.h"

/* The module `install nvidia CMD` loads in CMD's first `modprobe` command: its first word that is
 * neither an option nor a shell variable, when that word is not nvidia itself. NULL otherwise. */
char *modprobe_install_target(const char *line) {
        static const char *const sep = " \t";
        _cleanup_free_ char *copy = xstrdup(line);
        char *save = NULL, *w = strtok_r(copy, sep, &save);
        if (!w || !streq(w, "install"))
                return NULL;
        w = strtok_r(NULL, sep, &save);
        if (!w || !streq(w, "nvidia"))
                return NULL;
        bool in_modprobe = false;
        while ((w = strtok_r(NULL, sep, &save))) {
                if (!in_modprobe) {
                        const char *base = strrchr(w, '/');
                        in_modprobe = streq(base ? base + 1 : w, "modprobe");
                        continue;
                }
                if (w[0] == ';' || w[0] == '&' || w[0] == '|')
                        return NULL; /* the command ended without naming a module */
                if (w[0] == '-' || w[0] == '$')
                        continue;
                if (streq(w, "nvidia") || strspn(w, "abcdefghijklmnopqrstuvwxyz0123456789_-") != strlen(w))
                        return NULL;
                return xstrdup(w);
        }
        return NULL;
}

static char *install_target_in(const Host *h, const char *dir) {
        _cleanup_free_ char *hd = host_path(h, dir);
        struct dirent **names = NULL;
        int n = scandir(hd, &names, NULL, alphasort);
        char *found = NULL;
        for (int i = 0; i < n; i++) {
                const char *name = names[i]->d_name;
                size_t len = strlen(name);
                if (!found && len > 5 && streq(name + len - 5, ".conf")) {
                        _cleanup_free_ char *rel = xasprintf("%s/%s", dir, name), *p = host_path(h, rel), *text = NULL;
                        if (read_file(p, 1024 * 1024, &text, NULL) == 0)
                                for (char *l = text; l && *l && !found;) {
                                        char *nl = strchr(l, '\n');
                                        if (nl)
                                                *nl = '\0';
                                        found = modprobe_install_target(l);
                                        l = nl ? nl + 1 : NULL;
                                }
                }
                free(names[i]);
        }
        free(names);
        return found;
}

char *driver_module_file_name(const Host *h) {
        /* modprobe.d(5)'s directories, the administrator's first */
        static const char *const dirs[] = {"/etc/modprobe.d", "/run/modprobe.d", "/usr/local/lib/modprobe.d",
                                           "/usr/lib/modprobe.d", "/lib/modprobe.d"};
        for (size_t i = 0; i < ELEMENTSOF(dirs); i++) {
                char *name = install_target_in(h, dirs[i]);
                if (name)
                        return name;
        }
        return NULL;
}
