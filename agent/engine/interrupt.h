/* SIGTERM and SIGINT during a run. The handler does nothing but note the signal and write a byte
 * into a non-blocking self-pipe (both async-signal-safe). The pipe's read end is Ctx.stop_fd, which
 * the programs the steps run poll (host/exec.h: their process group is stopped); the engine asks
 * interrupt_received() after each step, to record the step as interrupted and exit 128 + the
 * signal. */
#pragma once

/* Installs the handlers; *ret_fd is the read end (becomes readable once a signal came). 0 or -errno. */
int interrupt_watch(int *ret_fd);
/* The first signal that came since interrupt_watch() (SIGTERM, SIGINT), or 0. */
int interrupt_received(void);
/* The default handlers back, the pipe closed. */
void interrupt_unwatch(int fd);
/* From now on SIGTERM and SIGINT are ignored: the reboot gpubase asked for is under way, and the
 * SIGTERM the shutdown sends must not turn the exit code that says so (3) into 143. */
void interrupt_ignore(void);
