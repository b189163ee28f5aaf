#include "engine/interrupt.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

/* What the handler needs: a signal handler has no other way to reach them, so these two are the
 * exception to "no globals". The pipe is never read: once written, it stays readable. */
static volatile sig_atomic_t signal_pipe = -1;
static volatile sig_atomic_t signal_received;

static void on_signal(int sig) {
        int saved = errno;
        unsigned char b = (unsigned char) sig;
        if (!signal_received)
                signal_received = sig;
        if (signal_pipe >= 0)
                (void) !write(signal_pipe, &b, 1); /* async-signal-safe; a full pipe is readable already */
        errno = saved;
}

int interrupt_watch(int *ret_fd) {
        int p[2];
        if (pipe2(p, O_CLOEXEC | O_NONBLOCK) < 0)
                return -errno;
        signal_received = 0;
        signal_pipe = p[1];
        struct sigaction sa = {.sa_handler = on_signal, .sa_flags = SA_RESTART};
        sigemptyset(&sa.sa_mask);
        if (sigaction(SIGTERM, &sa, NULL) < 0 || sigaction(SIGINT, &sa, NULL) < 0) {
                int r = -errno;
                interrupt_unwatch(p[0]);
                return r;
        }
        *ret_fd = p[0];
        return 0;
}

int interrupt_received(void) {
        return signal_received;
}

void interrupt_unwatch(int fd) {
        struct sigaction sa = {.sa_handler = SIG_DFL};
        sigemptyset(&sa.sa_mask);
        (void) sigaction(SIGTERM, &sa, NULL);
        (void) sigaction(SIGINT, &sa, NULL);
        int w = signal_pipe;
        signal_pipe = -1;
        if (w >= 0)
                close(w);
        if (fd > 0)
                close(fd);
}

void interrupt_ignore(void) {
        struct sigaction sa = {.sa_handler = SIG_IGN};
        sigemptyset(&sa.sa_mask);
        (void) sigaction(SIGTERM, &sa, NULL);
        (void) sigaction(SIGINT, &sa, NULL);
}
