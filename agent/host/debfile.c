#include "host/debfile.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <strings.h>
#include <sys/stat.h>

#include "base/string_table.h"

#define DEB_CONTROL_MAX (1024U * 1024U)     /* the control file of a real package is a few KiB */
#define DEB_ENTRIES_MAX 100000U             /* a keyring package has a dozen */
#define DEB_DEBIAN_BINARY_MAX 64U

static const char *const deb_entry_type_table[_DEB_ENTRY_TYPE_MAX] = {
        [DEB_ENTRY_FILE] = "file",
        [DEB_ENTRY_DIRECTORY] = "directory",
        [DEB_ENTRY_SYMLINK] = "symlink",
        [DEB_ENTRY_HARDLINK] = "hardlink",
        [DEB_ENTRY_OTHER] = "special file",
};

DEFINE_STRING_TABLE_LOOKUP_TO_STRING(deb_entry_type, DebEntryType, NULL)

static int fail(char **ret_why, int r, const char *fmt, ...) _printf_(3, 4);
static int fail(char **ret_why, int r, const char *fmt, ...) {
        if (ret_why) {
                va_list ap;
                va_start(ap, fmt);
                *ret_why = xvasprintf(fmt, ap);
                va_end(ap);
        }
        return r;
}

static void archive_freep(struct archive **a) {
        if (*a)
                archive_read_free(*a);
}

static struct archive *archive_new_or_die(void) {
        struct archive *a = archive_read_new();
        if (!a) {
                fputs("gpubase: out of memory\n", stderr);
                abort();
        }
        return a;
}

char *deb_path_normalize(const char *path) {
        Buf b = {0};
        const char *p = path;

        for (;;) {
                p += strspn(p, "/");
                size_t n = strcspn(p, "/");
                if (n == 0)
                        break;
                if (!(n == 1 && p[0] == '.')) {
                        buf_append(&b, "/", 1);
                        buf_append(&b, p, n);
                }
                p += n;
        }
        if (b.len == 0)
                buf_puts(&b, "/");
        return buf_steal(&b);
}

static bool path_has_dotdot(const char *path) {
        for (const char *p = path; *p;) {
                p += strspn(p, "/");
                size_t n = strcspn(p, "/");
                if (n == 2 && p[0] == '.' && p[1] == '.')
                        return true;
                p += n;
        }
        return false;
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
        for (const char *p = target;;) {
                p += strspn(p, "/");
                size_t n = strcspn(p, "/");
                if (n == 0)
                        break;
                if (n == 2 && p[0] == '.' && p[1] == '.') {
                        if (b.len == 0) {
                                buf_done(&b);
                                return NULL;
                        }
                        b.len = (size_t) (strrchr(b.data, '/') - b.data);
                        b.data[b.len] = 0;
                } else if (!(n == 1 && p[0] == '.')) {
                        buf_append(&b, "/", 1);
                        buf_append(&b, p, n);
                }
                p += n;
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

int deb_check_paths(const DebInfo *d, char *const *allowed, char **ret_offending, char **ret_why) {
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
                        if (ret_offending)
                                *ret_offending = xstrdup(e->path);
                        if (ret_why)
                                *ret_why = TAKE_PTR(why);
                        return -EPERM;
                }
        return 0;
}

/* ---- reading ---- */

typedef int (*DebEntryFn)(struct archive *tar, struct archive_entry *e, const char *path, void *userdata,
                          const char *deb, char **ret_why);

/* Feeds one ar member to a nested archive reader. */
static la_ssize_t member_read(struct archive *tar, void *userdata, const void **buf) {
        struct archive *outer = userdata;
        size_t size = 0;
        la_int64_t offset = 0;

        int r = archive_read_data_block(outer, buf, &size, &offset);
        if (r == ARCHIVE_EOF)
                return 0;
        if (r < ARCHIVE_WARN) {
                const char *s = archive_error_string(outer);
                archive_set_error(tar, archive_errno(outer) > 0 ? archive_errno(outer) : EIO, "%s",
                                  s ? s : "read error");
                return -1;
        }
        return (la_ssize_t) size;
}

typedef struct Compression {
        const char *suffix;
        int filter;
        const char *(*library_version)(void);
        int (*support)(struct archive *a);
} Compression;

/* What dpkg-deb writes and reads: control.tar takes the first four, data.tar all of them. */
static const Compression compressions[] = {
        { "", ARCHIVE_FILTER_NONE, NULL, NULL },
        { ".gz", ARCHIVE_FILTER_GZIP, archive_zlib_version, archive_read_support_filter_gzip },
        { ".xz", ARCHIVE_FILTER_XZ, archive_liblzma_version, archive_read_support_filter_xz },
        { ".zst", ARCHIVE_FILTER_ZSTD, archive_libzstd_version, archive_read_support_filter_zstd },
        { ".bz2", ARCHIVE_FILTER_BZIP2, archive_bzlib_version, archive_read_support_filter_bzip2 },
        { ".lzma", ARCHIVE_FILTER_LZMA, archive_liblzma_version, archive_read_support_filter_lzma },
};

static const Compression *compression_for(const char *member, const char *base, size_t n_allowed) {
        const char *suffix = member + strlen(base);
        for (size_t i = 0; i < n_allowed && i < ELEMENTSOF(compressions); i++)
                if (streq(suffix, compressions[i].suffix))
                        return compressions + i;
        return NULL;
}

/* Reads the tar in the current ar member, calling fn for each of its entries. The compressor must
 * be the one the member's name says, as dpkg requires, and be handled by a library libarchive was
 * built with: no external decompressor is ever started. */
static int scan_tar(struct archive *outer, const char *deb, const char *member, const Compression *c,
                    DebEntryFn fn, void *userdata, char **ret_why) {
        _cleanup_(archive_freep) struct archive *tar = archive_new_or_die();
        int r;

        if (c->support) {
                if (!c->library_version || !c->library_version())
                        return fail(ret_why, -EOPNOTSUPP, "%s: %s: this libarchive cannot decompress %s", deb,
                                    member, c->suffix);
                if (c->support(tar) != ARCHIVE_OK)
                        return fail(ret_why, -EOPNOTSUPP, "%s: %s: %s", deb, member, archive_error_string(tar));
        }
        archive_read_support_format_tar(tar);
        if (archive_read_open(tar, outer, NULL, member_read, NULL) != ARCHIVE_OK)
                return fail(ret_why, -EBADMSG, "%s is not a valid .deb: %s: %s", deb, member,
                            archive_error_string(tar));

        for (bool first = true;; first = false) {
                struct archive_entry *e;

                r = archive_read_next_header(tar, &e);
                if (r < ARCHIVE_WARN)
                        return fail(ret_why, -EBADMSG, "%s is not a valid .deb: %s: %s", deb, member,
                                    archive_error_string(tar) ?: "unreadable tar");
                if (first) {
                        int want_count = c->filter == ARCHIVE_FILTER_NONE ? 1 : 2;
                        if (archive_filter_count(tar) != want_count || archive_filter_code(tar, 0) != c->filter)
                                return fail(ret_why, -EBADMSG,
                                            "%s is not a valid .deb: %s is compressed with %s, not what its name says",
                                            deb, member, archive_filter_name(tar, 0));
                }
                if (r == ARCHIVE_EOF)
                        return 0;

                const char *name = archive_entry_pathname(e);
                if (isempty(name))
                        return fail(ret_why, -EBADMSG, "%s is not a valid .deb: %s has a member without a name",
                                    deb, member);
                _cleanup_free_ char *path = deb_path_normalize(name);
                r = fn(tar, e, path, userdata, deb, ret_why);
                if (r != 0)
                        return r;
        }
}

/* Walks the ar archive: debian-binary first, then control.tar.*, then data.tar.*; members whose
 * name starts with '_' are skipped, as dpkg does. A NULL callback skips that tar unread. Returns
 * what a callback returned when it stopped the walk (> 0), 0 at the end. */
static int deb_scan(const char *path, DebEntryFn control_fn, DebEntryFn data_fn, void *userdata, char **ret_why) {
        _cleanup_close_ int fd = -EBADF;
        _cleanup_(archive_freep) struct archive *ar = NULL;
        bool have_control = false, have_data = false;
        unsigned idx = 0;
        struct stat st;
        int r;

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0) {
                r = negative_errno();
                return fail(ret_why, r, "cannot open %s: %s", path, strerror(-r));
        }
        if (fstat(fd, &st) < 0) {
                r = negative_errno();
                return fail(ret_why, r, "cannot stat %s: %s", path, strerror(-r));
        }
        if (!S_ISREG(st.st_mode))
                return fail(ret_why, -EBADMSG, "%s is not a valid .deb: not a regular file", path);

        ar = archive_new_or_die();
        archive_read_support_format_ar(ar);
        if (archive_read_open_fd(ar, fd, 64 * 1024) != ARCHIVE_OK)
                return fail(ret_why, -EBADMSG, "%s is not a valid .deb: %s", path,
                            archive_error_string(ar) ?: "not an ar archive");

        for (;; idx++) {
                struct archive_entry *e;

                r = archive_read_next_header(ar, &e);
                if (r == ARCHIVE_EOF)
                        break;
                if (r < ARCHIVE_WARN)
                        return fail(ret_why, -EBADMSG, "%s is not a valid .deb: %s", path,
                                    archive_error_string(ar) ?: "unreadable ar archive");

                const char *name = archive_entry_pathname(e);
                if (isempty(name))
                        return fail(ret_why, -EBADMSG, "%s is not a valid .deb: ar member without a name", path);

                if (idx == 0) {
                        char buf[DEB_DEBIAN_BINARY_MAX + 1];
                        if (!streq(name, "debian-binary"))
                                return fail(ret_why, -EBADMSG,
                                            "%s is not a valid .deb: the first member is \"%s\", not debian-binary",
                                            path, name);
                        la_ssize_t n = archive_read_data(ar, buf, DEB_DEBIAN_BINARY_MAX);
                        if (n < 0)
                                return fail(ret_why, -EBADMSG, "%s is not a valid .deb: debian-binary: %s", path,
                                            archive_error_string(ar) ?: "unreadable");
                        buf[n] = 0;
                        if (!startswith(buf, "2.") || !strchr(buf, '\n'))
                                return fail(ret_why, -EBADMSG,
                                            "%s is not a valid .deb: unsupported format version \"%.*s\"", path,
                                            (int) strcspn(buf, "\n"), buf);
                        continue;
                }

                if (startswith(name, "control.tar")) {
                        const Compression *c = compression_for(name, "control.tar", 4);
                        if (!c)
                                return fail(ret_why, -EBADMSG, "%s is not a valid .deb: unsupported member %s",
                                            path, name);
                        if (have_control || have_data)
                                return fail(ret_why, -EBADMSG, "%s is not a valid .deb: %s", path,
                                            have_data ? "control.tar comes after data.tar" : "a second control.tar");
                        have_control = true;
                        if (!control_fn)
                                continue;
                        r = scan_tar(ar, path, name, c, control_fn, userdata, ret_why);
                        if (r != 0)
                                return r;
                        continue;
                }

                if (startswith(name, "data.tar")) {
                        const Compression *c = compression_for(name, "data.tar", ELEMENTSOF(compressions));
                        if (!c)
                                return fail(ret_why, -EBADMSG, "%s is not a valid .deb: unsupported member %s",
                                            path, name);
                        if (!have_control)
                                return fail(ret_why, -EBADMSG, "%s is not a valid .deb: %s comes before control.tar",
                                            path, name);
                        if (have_data)
                                return fail(ret_why, -EBADMSG, "%s is not a valid .deb: a second data.tar (%s)", path,
                                            name);
                        have_data = true;
                        if (!data_fn)
                                continue;
                        r = scan_tar(ar, path, name, c, data_fn, userdata, ret_why);
                        if (r != 0)
                                return r;
                        continue;
                }

                if (name[0] == '_')
                        continue;
                return fail(ret_why, -EBADMSG, "%s is not a valid .deb: unexpected member \"%s\"", path, name);
        }

        if (idx == 0)
                return fail(ret_why, -EBADMSG, "%s is not a valid .deb: empty archive", path);
        if (!have_control)
                return fail(ret_why, -EBADMSG, "%s is not a valid .deb: no control.tar member", path);
        if (!have_data)
                return fail(ret_why, -EBADMSG, "%s is not a valid .deb: no data.tar member", path);
        return 0;
}

/* The current tar entry's content: -EFBIG beyond max, -EBADMSG (with *ret_why) when unreadable. */
static int read_entry_data(struct archive *tar, struct archive_entry *e, size_t max, char **ret, size_t *ret_len,
                           char **ret_why) {
        Buf b = {0};
        char chunk[16384];

        if (archive_entry_size_is_set(e) && (uint64_t) archive_entry_size(e) > max)
                return -EFBIG;
        for (;;) {
                la_ssize_t n = archive_read_data(tar, chunk, sizeof chunk);
                if (n < 0) {
                        buf_done(&b);
                        return fail(ret_why, -EBADMSG, "%s", archive_error_string(tar) ?: "read error");
                }
                if (n == 0)
                        break;
                if (b.len + (size_t) n > max) {
                        buf_done(&b);
                        return -EFBIG;
                }
                buf_append(&b, chunk, (size_t) n);
        }
        *ret_len = b.len;
        *ret = buf_steal(&b);
        return 0;
}

static DebEntryType entry_type(struct archive_entry *e) {
        if (archive_entry_hardlink(e))
                return DEB_ENTRY_HARDLINK;
        switch (archive_entry_filetype(e)) {
        case AE_IFREG:
                return DEB_ENTRY_FILE;
        case AE_IFDIR:
                return DEB_ENTRY_DIRECTORY;
        case AE_IFLNK:
                return DEB_ENTRY_SYMLINK;
        default:
                return DEB_ENTRY_OTHER;
        }
}

typedef struct Inspect {
        DebInfo *info;
        size_t cap;
        char *control;
} Inspect;

static int inspect_control(struct archive *tar, struct archive_entry *e, const char *path, void *userdata,
                           const char *deb, char **ret_why) {
        Inspect *in = userdata;
        _cleanup_free_ char *why = NULL;
        size_t len;
        int r;

        if (entry_type(e) != DEB_ENTRY_FILE || streq(path, "/"))
                return 0;
        if (!streq(path, "/control")) {
                strv_push(&in->info->control_members, xstrdup(path + 1));
                return 0;
        }
        if (in->control)
                return fail(ret_why, -EBADMSG, "%s is not a valid .deb: two control files", deb);
        r = read_entry_data(tar, e, DEB_CONTROL_MAX, &in->control, &len, &why);
        if (r == -EFBIG)
                return fail(ret_why, -EBADMSG, "%s is not a valid .deb: control file larger than %u bytes", deb,
                            DEB_CONTROL_MAX);
        if (r < 0)
                return fail(ret_why, r, "%s is not a valid .deb: control: %s", deb, why);
        if (strlen(in->control) != len)
                return fail(ret_why, -EBADMSG, "%s is not a valid .deb: control file contains a NUL byte", deb);
        return 0;
}

static int inspect_data(struct archive *tar _unused_, struct archive_entry *e, const char *path, void *userdata,
                        const char *deb, char **ret_why) {
        Inspect *in = userdata;
        DebInfo *d = in->info;

        if (d->n_entries >= DEB_ENTRIES_MAX)
                return fail(ret_why, -EBADMSG, "%s: more than %u files in data.tar", deb, DEB_ENTRIES_MAX);
        if (d->n_entries == in->cap) {
                in->cap = in->cap ? in->cap * 2 : 16;
                d->entries = xrealloc(d->entries, in->cap * sizeof(DebEntry));
        }

        DebEntry *n = d->entries + d->n_entries;
        *n = (DebEntry){
                .path = xstrdup(path),
                .type = entry_type(e),
                .mode = (unsigned) archive_entry_perm(e) & 07777,
        };
        d->n_entries++;
        if (n->type == DEB_ENTRY_FILE && archive_entry_size_is_set(e) && archive_entry_size(e) > 0)
                n->size = (uint64_t) archive_entry_size(e);
        if (n->type == DEB_ENTRY_SYMLINK)
                n->target = xstrdup(archive_entry_symlink(e));
        else if (n->type == DEB_ENTRY_HARDLINK)
                n->target = deb_path_normalize(archive_entry_hardlink(e));
        return 0;
}

/* A single-line field of the control paragraph ("Package: x"), field names compared
 * case-insensitively. -ENOENT when missing, -EBADMSG when empty or not one word. */
static int control_field(const char *control, const char *field, char **ret) {
        size_t flen = strlen(field);

        for (const char *line = control; *line;) {
                size_t n = strcspn(line, "\n");
                if (n == 0)
                        break; /* end of the paragraph */
                if (n > flen && strncasecmp(line, field, flen) == 0 && line[flen] == ':') {
                        _cleanup_free_ char *v = xstrndup(line + flen + 1, n - flen - 1);
                        strip(v);
                        if (isempty(v) || v[strcspn(v, " \t")])
                                return -EBADMSG;
                        *ret = TAKE_PTR(v);
                        return 0;
                }
                line += n;
                if (*line == '\n')
                        line++;
        }
        return -ENOENT;
}

static int entry_cmp(const void *a, const void *b) {
        const DebEntry *x = *(const DebEntry *const *) a, *y = *(const DebEntry *const *) b;
        return strcmp(x->path, y->path);
}

int deb_inspect(const char *path, DebInfo **ret, char **ret_why) {
        _cleanup_(deb_info_freep) DebInfo *d = xcalloc(1, sizeof(DebInfo));
        Inspect in = { .info = d };
        int r;

        r = deb_scan(path, inspect_control, inspect_data, &in, ret_why);
        d->control = TAKE_PTR(in.control);
        if (r < 0)
                return r;
        if (!d->control)
                return fail(ret_why, -EBADMSG, "%s is not a valid .deb: control.tar has no ./control", path);

        static const char *const fields[] = { "Package", "Version", "Architecture" };
        char **dest[] = { &d->package, &d->version, &d->architecture };
        for (size_t i = 0; i < ELEMENTSOF(fields); i++) {
                r = control_field(d->control, fields[i], dest[i]);
                if (r == -ENOENT)
                        return fail(ret_why, -EBADMSG, "%s is not a valid .deb: control has no %s field", path,
                                    fields[i]);
                if (r < 0)
                        return fail(ret_why, -EBADMSG, "%s is not a valid .deb: invalid %s field", path, fields[i]);
        }

        /* The same path twice (a file, then a symlink over it) makes "what does it install" ambiguous. */
        _cleanup_free_ const DebEntry **sorted = xcalloc(d->n_entries, sizeof(DebEntry *));
        for (size_t i = 0; i < d->n_entries; i++)
                sorted[i] = d->entries + i;
        qsort(sorted, d->n_entries, sizeof(DebEntry *), entry_cmp);
        for (size_t i = 1; i < d->n_entries; i++)
                if (streq(sorted[i - 1]->path, sorted[i]->path) &&
                    (sorted[i - 1]->type != DEB_ENTRY_DIRECTORY || sorted[i]->type != DEB_ENTRY_DIRECTORY))
                        return fail(ret_why, -EBADMSG, "%s is not a valid .deb: %s appears twice in data.tar", path,
                                    sorted[i]->path);

        *ret = TAKE_PTR(d);
        return 0;
}

DebInfo *deb_info_free(DebInfo *d) {
        if (!d)
                return NULL;
        free(d->package);
        free(d->version);
        free(d->architecture);
        free(d->control);
        strv_free(d->control_members);
        for (size_t i = 0; i < d->n_entries; i++) {
                free(d->entries[i].path);
                free(d->entries[i].target);
        }
        free(d->entries);
        free(d);
        return NULL;
}

const DebEntry *deb_info_find(const DebInfo *d, const char *path) {
        _cleanup_free_ char *p = deb_path_normalize(path);
        for (size_t i = 0; i < d->n_entries; i++)
                if (streq(d->entries[i].path, p))
                        return d->entries + i;
        return NULL;
}

typedef struct ReadOne {
        const char *want;
        size_t max;
        char *data;
        size_t len;
} ReadOne;

static int read_one(struct archive *tar, struct archive_entry *e, const char *path, void *userdata,
                    const char *deb, char **ret_why) {
        ReadOne *m = userdata;
        _cleanup_free_ char *why = NULL;
        int r;

        if (!streq(path, m->want))
                return 0;
        DebEntryType t = entry_type(e);
        if (t == DEB_ENTRY_DIRECTORY)
                return fail(ret_why, -EISDIR, "%s: %s is a directory", deb, path);
        if (t != DEB_ENTRY_FILE)
                return fail(ret_why, -EINVAL, "%s: %s is a %s, not a regular file", deb, path,
                            deb_entry_type_to_string(t));
        r = read_entry_data(tar, e, m->max, &m->data, &m->len, &why);
        if (r == -EFBIG)
                return fail(ret_why, r, "%s: %s is larger than %zu bytes", deb, path, m->max);
        if (r < 0)
                return fail(ret_why, r, "%s is not a valid .deb: %s: %s", deb, path, why);
        return 1;
}

int deb_read_data_file(const char *path, const char *member, size_t max, char **ret, size_t *ret_len,
                       char **ret_why) {
        _cleanup_free_ char *want = deb_path_normalize(member);
        ReadOne m = { .want = want, .max = max ? max : DEB_MEMBER_MAX };
        int r;

        r = deb_scan(path, NULL, read_one, &m, ret_why);
        if (r < 0)
                return r;
        if (r == 0)
                return fail(ret_why, -ENOENT, "%s has no file %s", path, want);
        if (ret_len)
                *ret_len = m.len;
        *ret = m.data;
        return 0;
}
