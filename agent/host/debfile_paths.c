/* Where a .deb would write: member paths normalised, and the policy deb_check_paths() applies to
 * them (see debfile.h). Nothing here reads a file: it works on the DebInfo deb_inspect() made. */
#include "host/debfile.h"

#include "base/path.h"

char *deb_path_normalize(const char *path) {
        Buf b = {0};
        const char *c;
        size_t n;

        for (const char *p = path; (n = path_next_component(&p, &c)) > 0;)
                if (!component_is_dot(c, n)) {
                        buf_append(&b, "/", 1);
                        buf_append(&b, c, n);
                }
        if (b.len == 0)
                buf_puts(&b, "/");
        return buf_steal(&b);
}

/* path (normalised) is dir itself or below it. */
static bool path_under(const char *path, const char *dir) {
        if (streq(dir, "/"))
                return true;
        size_t n = strlen(dir);
        return strncmp(path, dir, n) == 0 && (path[n] == 0 || path[n] == '/');
}

static bool path_strictly_under(const char *path, const char *dir) {
        return path_under(path, dir) && !streq(path, dir);
}

/* target read from a symlink at link_path, resolved without touching the file system; NULL when
 * ".." climbs above "/". */
static char *resolve_link_target(const char *link_path, const char *target) {
        Buf b = {0};

        if (target[0] != '/') {
                const char *slash = strrchr(link_path, '/');
                if (slash && slash != link_path)
                        buf_append(&b, link_path, (size_t) (slash - link_path));
        }
        const char *c;
        size_t n;
        for (const char *p = target; (n = path_next_component(&p, &c)) > 0;) {
                if (component_is_dotdot(c, n)) {
                        if (b.len == 0) {
                                buf_done(&b);
                                return NULL;
                        }
                        b.len = (size_t) (strrchr(b.data, '/') - b.data);
                        b.data[b.len] = 0;
                } else if (!component_is_dot(c, n)) {
                        buf_append(&b, "/", 1);
                        buf_append(&b, c, n);
                }
        }
        if (b.len == 0)
                buf_puts(&b, "/");
        return buf_steal(&b);
}

static bool under_any(const char *path, char *const *dirs, bool strictly) {
        for (size_t i = 0; dirs && dirs[i]; i++)
                if (strictly ? path_strictly_under(path, dirs[i]) : path_under(path, dirs[i]))
                        return true;
        return false;
}

/* The symlink of the package that path lies below (path itself excluded), NULL if none; symlinks is
 * sorted. */
static const char *symlink_above(const char *path, char *const *symlinks, size_t n_symlinks) {
        _cleanup_free_ char *prefix = xstrdup(path);

        for (char *slash = strrchr(prefix, '/'); slash && slash != prefix; slash = strrchr(prefix, '/')) {
                *slash = 0;
                char *key = prefix;
                char **hit = bsearch(&key, symlinks, n_symlinks, sizeof(char *), strcmp_ptr);
                if (hit)
                        return *hit;
        }
        return NULL;
}

/* NULL when the entry is acceptable, else why not. */
static char *entry_offence(const DebEntry *e, char *const *allowed, char *const *symlinks, size_t n_symlinks) {
        _cleanup_free_ char *list = strv_join(allowed, ", ");

        if (path_has_dotdot(e->path))
                return xasprintf("%s contains a \"..\" component", e->path);

        /* Without this, ".../keyrings/d -> ../../../etc/apt/sources.list.d" (fine) followed by
         * ".../keyrings/d/e -> ../apt.conf.d" (fine on paper: the archive path says .../keyrings/apt.conf.d)
         * would let a file written through both land in /etc/apt/apt.conf.d. With no symlink of the
         * package above an entry, its path in the archive is where dpkg writes it. */
        const char *above = symlink_above(e->path, symlinks, n_symlinks);
        if (above)
                return xasprintf("%s lies below the symlink %s: writing through a symlink is refused", e->path, above);

        switch (e->type) {
        case DEB_ENTRY_DIRECTORY:
                if (under_any(e->path, allowed, false))
                        return NULL;
                for (size_t i = 0; allowed && allowed[i]; i++)
                        if (path_under(allowed[i], e->path))
                                return NULL; /* a parent of an allowed directory */
                return xasprintf("directory %s is outside the allowed directories (%s)", e->path, list);

        case DEB_ENTRY_FILE:
                if (under_any(e->path, allowed, true))
                        return NULL;
                return xasprintf("file %s is outside the allowed directories (%s)", e->path, list);

        case DEB_ENTRY_SYMLINK: {
                if (!under_any(e->path, allowed, true))
                        return xasprintf("symlink %s is outside the allowed directories (%s)", e->path, list);
                if (isempty(e->target))
                        return xasprintf("symlink %s has an empty target", e->path);
                _cleanup_free_ char *resolved = resolve_link_target(e->path, e->target);
                if (!resolved)
                        return xasprintf("symlink %s -> %s climbs above /", e->path, e->target);
                if (!under_any(resolved, allowed, false))
                        return xasprintf("symlink %s -> %s points to %s, outside the allowed directories (%s)",
                                         e->path, e->target, resolved, list);
                return NULL;
        }

        case DEB_ENTRY_HARDLINK:
                return xasprintf("%s is a hard link to %s: hard links are refused", e->path,
                                 e->target ? e->target : "?");

        default:
                return xasprintf("%s is a special file (device, fifo or socket)", e->path);
        }
}

int deb_check_paths(const DebInfo *d, char *const *allowed, char **reterr_offending, char **reterr) {
        _cleanup_strv_free_ char **dirs = xcalloc(1, sizeof(char *));
        _cleanup_free_ char **symlinks = xcalloc(d->n_entries + 1, sizeof(char *)); /* borrowed strings */
        size_t n_symlinks = 0;

        for (size_t i = 0; allowed && allowed[i]; i++)
                strv_push(&dirs, deb_path_normalize(allowed[i]));
        for (size_t i = 0; i < d->n_entries; i++)
                if (d->entries[i].type == DEB_ENTRY_SYMLINK)
                        symlinks[n_symlinks++] = d->entries[i].path;
        qsort(symlinks, n_symlinks, sizeof(char *), strcmp_ptr);

        /* Files, links and special files first, directories after: the file that would be written
         * says more than the directory that holds it. */
        for (int pass = 0; pass < 2; pass++)
                for (size_t i = 0; i < d->n_entries; i++) {
                        const DebEntry *e = d->entries + i;
                        if ((e->type == DEB_ENTRY_DIRECTORY) != (pass == 1))
                                continue;
                        _cleanup_free_ char *why = entry_offence(e, dirs, symlinks, n_symlinks);
                        if (!why)
                                continue;
                        if (reterr_offending)
                                *reterr_offending = xstrdup(e->path);
                        if (reterr)
                                *reterr = TAKE_PTR(why);
                        return -EPERM;
                }
        return 0;
}
