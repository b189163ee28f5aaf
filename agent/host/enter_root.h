/* Running something of a --root directory without letting it act on the host: a forked child
 * enters the root (chroot) and gives up every capability first, so that the program, or the library
 * it loads, sees only the root and cannot chroot out, mount, trace the agent or regain privileges
 * by exec. Under --root gpubase never runs a program or loads a library of the root otherwise. */
#pragma once

#include <stdbool.h>

/* Can this process enter a root at all (it needs CAP_SYS_CHROOT: gpubase runs as root)? */
bool confine_possible(void);
/* In a child process only: closes every descriptor from 3 up but keep_fd (-1: none), chroot(root),
 * chdir("/"), then drops every capability (bounding set, permitted, effective, inheritable,
 * ambient) and sets no_new_privs. Returns 0 or -errno; the child must _exit() on failure. */
int confine_enter_root(const char *root, int keep_fd);
