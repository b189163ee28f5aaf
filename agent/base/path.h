/* Layer: base. Paths as text, never looked up on the file system. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

/* The one way to walk the components of a path: skips the slashes before the next component,
 * points *ret at it, moves *p past it and returns its length, 0 at the end. Empty components do
 * not exist for it ("./a//b/" gives ".", "a", "b"):
 *
 *     const char *c;
 *     size_t n;
 *     for (const char *p = path; (n = path_next_component(&p, &c)) > 0;)
 *             ... c[0..n) ...
 */
size_t path_next_component(const char **p, const char **ret);

static inline bool component_is_dot(const char *c, size_t n) {
        return n == 1 && c[0] == '.';
}

static inline bool component_is_dotdot(const char *c, size_t n) {
        return n == 2 && c[0] == '.' && c[1] == '.';
}

/* Does any component of path read ".."? */
bool path_has_dotdot(const char *path);
