/* The e2e guest's initramfs: one static program as /init. It loads the modules the root disk needs
 * (their paths in /modules, in dependency order, as `modprobe --show-depends` listed them on the
 * host), mounts /dev/vda read-write on /root and hands over to the root's /sbin/init (systemd).
 * Debian's initramfs-tools does the same through udev and shell scripts, which under TCG costs a
 * large part of every boot; nothing of gpubase's runs before this hands over. A failure returns
 * from init, and the kernel panics, which the host's watchdog reports. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static void say(const char *what, const char *arg, int err) {
        fprintf(stderr, "e2e-init: %s%s%s%s%s\n", what, arg ? " " : "", arg ? arg : "", err ? ": " : "",
                err ? strerror(err) : "");
}

int main(void) {
        mkdir("/dev", 0755);
        mkdir("/root", 0755);
        if (mount("devtmpfs", "/dev", "devtmpfs", 0, "mode=0755") < 0 && errno != EBUSY)
                say("mount devtmpfs", NULL, errno);
        int c = open("/dev/console", O_RDWR | O_NOCTTY);
        if (c >= 0) {
                dup2(c, 0);
                dup2(c, 1);
                dup2(c, 2);
                if (c > 2)
                        close(c);
        }
        say("boot: loading the root disk's modules", NULL, 0);

        FILE *f = fopen("/modules", "re");
        if (!f) {
                say("cannot open /modules", NULL, errno);
                return 1;
        }
        char line[512];
        while (fgets(line, sizeof line, f)) {
                line[strcspn(line, "\n")] = 0;
                if (!line[0])
                        continue;
                int fd = open(line, O_RDONLY | O_CLOEXEC);
                if (fd < 0) {
                        say("cannot open", line, errno);
                        return 1;
                }
                /* EEXIST: listed twice; ENODEV: hardware (a CPU feature) this machine lacks */
                if (syscall(SYS_finit_module, fd, "", 0) < 0 && errno != EEXIST && errno != ENODEV)
                        say("cannot load", line, errno);
                close(fd);
        }
        fclose(f);

        struct stat st;
        for (int i = 0; stat("/dev/vda", &st) < 0; i++) {
                if (i == 600) {
                        say("no /dev/vda after 60 s", NULL, 0);
                        return 1;
                }
                nanosleep(&(struct timespec){0, 100 * 1000 * 1000}, NULL);
        }
        if (mount("/dev/vda", "/root", "ext4", 0, "") < 0) {
                say("cannot mount /dev/vda", NULL, errno);
                return 1;
        }
        if (mount("/dev", "/root/dev", NULL, MS_MOVE, NULL) < 0)
                say("cannot move /dev", NULL, errno);
        if (chdir("/root") < 0 || mount(".", "/", NULL, MS_MOVE, NULL) < 0 || chroot(".") < 0 || chdir("/") < 0) {
                say("cannot switch to the root", NULL, errno);
                return 1;
        }
        say("root mounted; starting /sbin/init", NULL, 0);
        execl("/sbin/init", "/sbin/init", (char *) NULL);
        say("cannot run /sbin/init", NULL, errno);
        return 1;
}
