/* tests/e2e/nvswitch-dev.c — puts an NVSwitch's PCI function on a qemu guest's bus, for the e2e tier.
 *
 *   nvswitch-dev DEVICE-ID -- qemu-system-x86_64 ARGS...
 *
 * qemu has no NVSwitch model, and none of its PCI devices takes a vendor ID from the command line.
 * Its multi-process device proxy does: `-device x-pci-proxy-dev,fd=N` forwards every PCI
 * configuration access of the guest over the UNIX socket N to a separate process, which answers
 * them (qemu 7.2: hw/remote/proxy.c, the protocol of hw/remote/mpqemu-link.c and
 * include/hw/remote/mpqemu-link.h). This program is that process: it makes a socket pair, forks
 * itself as the answering side, and executes qemu (same PID, so `timeout` and the caller still
 * see qemu) with that device added. The guest's kernel then enumerates a real PCI function
 * 10de:DEVICE-ID of class 0680 (bridge, other) with no BARs, no interrupt and no capabilities;
 * lspci and gpubase read it from sysfs as they read any device. Nothing of the switch itself (its
 * registers, NVLink) exists: no driver is bound to it.
 *
 * Written here because nothing packaged answers qemu's proxy protocol for a device whose IDs one
 * chooses (qemu's own remote side, qemu-system-x86_64 -machine x-remote, hosts only qemu's models).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

/* MPQemuCmd, in qemu 7.2's order */
enum {
        CMD_SYNC_SYSMEM,
        CMD_RET,
        CMD_PCI_CFGWRITE,
        CMD_PCI_CFGREAD,
        CMD_BAR_WRITE,
        CMD_BAR_READ,
        CMD_SET_IRQFD,
        CMD_DEVICE_RESET,
        CMD_MAX
};
#define MAX_FDS 8

/* MPQemuMsg on the wire: cmd (int), size (size_t), then `size` bytes of the data union (whose
 * largest member, SyncSysmemMsg, is 3 * 8 * 8 bytes); file descriptors ride as SCM_RIGHTS. */
struct hdr {
        int32_t cmd;
        uint64_t size;
};
_Static_assert(sizeof(struct hdr) == 16, "MPQEMU_MSG_HDR_SIZE is offsetof(MPQemuMsg, data.u64): 16 on x86-64");
#define DATA_MAX 192
struct pci_conf_data { /* PciConfDataMsg */
        uint32_t addr;
        uint32_t val;
        int32_t len;
};

static uint8_t config[256];
static uint16_t device_id;

static void config_reset(void) {
        memset(config, 0, sizeof config);
        config[0x00] = 0xde, config[0x01] = 0x10; /* vendor NVIDIA */
        config[0x02] = device_id & 0xff, config[0x03] = device_id >> 8;
        config[0x08] = 0xa1;                      /* revision */
        config[0x0a] = 0x80, config[0x0b] = 0x06; /* class 0680: bridge, other (as an NVSwitch's endpoint) */
        /* header type 0, status 0 (no capability list), BARs 0 (none), interrupt pin 0 (none) */
}

/* the registers a guest may change: command, cache line size, latency timer, interrupt line */
static bool writable(uint32_t a) {
        return a == 0x04 || a == 0x05 || a == 0x0c || a == 0x0d || a == 0x3c;
}

static uint64_t config_read(const struct pci_conf_data *d) {
        uint64_t v = 0;
        for (int i = 0; i < d->len && i < 4; i++)
                if (d->addr + i < sizeof config)
                        v |= (uint64_t) config[d->addr + i] << (8 * i);
        return v;
}

static void config_write(const struct pci_conf_data *d) {
        for (int i = 0; i < d->len && i < 4; i++)
                if (d->addr + i < sizeof config && writable(d->addr + i))
                        config[d->addr + i] = (d->val >> (8 * i)) & 0xff;
}

static int read_full(int fd, void *buf, size_t n) {
        for (size_t got = 0; got < n;) {
                ssize_t r = read(fd, (char *) buf + got, n - got);
                if (r < 0 && errno == EINTR)
                        continue;
                if (r <= 0)
                        return -1;
                got += (size_t) r;
        }
        return 0;
}

/* one message: its header with the descriptors that came along (closed here: the guest's memory
 * and the interrupt eventfds are of no use to a device without BARs or interrupts) */
static int receive(int fd, struct hdr *h, uint8_t *data) {
        char cbuf[CMSG_SPACE(MAX_FDS * sizeof(int))];
        struct iovec iov = {.iov_base = h, .iov_len = sizeof *h};
        struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf};
        ssize_t r;
        do
                r = recvmsg(fd, &m, MSG_WAITALL | MSG_CMSG_CLOEXEC);
        while (r < 0 && errno == EINTR);
        if (r != (ssize_t) sizeof *h)
                return -1;
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c))
                if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
                        size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
                        int fds[MAX_FDS];
                        memcpy(fds, CMSG_DATA(c), n * sizeof(int));
                        for (size_t i = 0; i < n; i++)
                                close(fds[i]);
                }
        if (h->size > DATA_MAX)
                return -1;
        return h->size ? read_full(fd, data, h->size) : 0;
}

static int reply(int fd, uint64_t value) {
        struct hdr h = {.cmd = CMD_RET, .size = sizeof value};
        struct iovec iov[2] = {{&h, sizeof h}, {&value, sizeof value}};
        return writev(fd, iov, 2) == (ssize_t) (sizeof h + sizeof value) ? 0 : -1;
}

static void serve(int fd) {
        struct hdr h;
        uint8_t data[DATA_MAX];
        config_reset();
        while (receive(fd, &h, data) == 0) {
                struct pci_conf_data d = {0};
                if (h.size >= sizeof d)
                        memcpy(&d, data, sizeof d);
                switch (h.cmd) {
                case CMD_PCI_CFGREAD:
                        if (reply(fd, config_read(&d)) < 0)
                                return;
                        break;
                case CMD_PCI_CFGWRITE:
                        config_write(&d);
                        if (reply(fd, 0) < 0)
                                return;
                        break;
                case CMD_BAR_READ: /* not reached: the device has no BAR */
                case CMD_BAR_WRITE:
                        if (reply(fd, 0) < 0)
                                return;
                        break;
                case CMD_DEVICE_RESET:
                        config_reset();
                        if (reply(fd, 0) < 0)
                                return;
                        break;
                case CMD_SYNC_SYSMEM: /* no reply expected */
                case CMD_SET_IRQFD:
                        break;
                default:
                        fprintf(stderr, "nvswitch-dev: unknown command %" PRId32 " from qemu\n", h.cmd);
                        return;
                }
        }
}

int main(int argc, char **argv) {
        char *end;
        unsigned long id = argc > 3 ? strtoul(argv[1], &end, 16) : 0;
        if (argc < 4 || *end || id == 0 || id > 0xffff || strcmp(argv[2], "--") != 0) {
                fprintf(stderr, "usage: nvswitch-dev DEVICE-ID(hex) -- qemu-system-x86_64 ARGS...\n");
                return 2;
        }
        device_id = (uint16_t) id;
        int sv[2];
        if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0) {
                perror("nvswitch-dev: socketpair");
                return 1;
        }
        pid_t pid = fork();
        if (pid < 0) {
                perror("nvswitch-dev: fork");
                return 1;
        }
        if (pid == 0) { /* the device: until qemu closes its end */
                close(sv[0]);
                serve(sv[1]);
                _exit(0);
        }
        close(sv[1]);
        int n = argc - 3;
        char **args = calloc((size_t) n + 3, sizeof *args);
        char dev[64];
        if (!args)
                return 1;
        snprintf(dev, sizeof dev, "x-pci-proxy-dev,id=nvswitch0,fd=%d", sv[0]);
        memcpy(args, argv + 3, (size_t) n * sizeof *args);
        args[n] = (char *) "-device";
        args[n + 1] = dev;
        execvp(args[0], args);
        fprintf(stderr, "nvswitch-dev: cannot execute %s: %s\n", args[0], strerror(errno));
        return 127;
}
