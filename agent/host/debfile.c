#include "host/debfile.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <strings.h>
#include <sys/stat.h>

#include "host/archive_load.h" /* libarchive is loaded on first use */
#include "base/error.h"
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

static void archive_freep(struct archive **a) {
        if (*a)
                archive_read_free(*a);
}

static struct archive *archive_new_or_die(void) {
        struct archive *a = archive_read_new();
        if (!a)
                oom_abort();
        return a;
}

/* ---- reading ---- */

typedef int (*DebEntryFn)(struct archive *tar, struct archive_entry *e, const char *path, void *userdata,
                          const char *deb, char **reterr);

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

/* libarchive is loaded on first use (host/archive_load.h): the table below takes the addresses of
 * these, not of its functions, which are not known before it is loaded. */
static const char *zlib_version(void) { return archive_zlib_version(); }
static const char *lzma_version(void) { return archive_liblzma_version(); }
static const char *zstd_version(void) { return archive_libzstd_version(); }
static const char *bzlib_version(void) { return archive_bzlib_version(); }
static int support_gzip(struct archive *a) { return archive_read_support_filter_gzip(a); }
static int support_xz(struct archive *a) { return archive_read_support_filter_xz(a); }
static int support_zstd(struct archive *a) { return archive_read_support_filter_zstd(a); }
static int support_bzip2(struct archive *a) { return archive_read_support_filter_bzip2(a); }
static int support_lzma(struct archive *a) { return archive_read_support_filter_lzma(a); }

/* What dpkg-deb writes and reads: control.tar takes the first four, data.tar all of them. */
static const Compression compressions[] = {
        { "", ARCHIVE_FILTER_NONE, NULL, NULL },
        { ".gz", ARCHIVE_FILTER_GZIP, zlib_version, support_gzip },
        { ".xz", ARCHIVE_FILTER_XZ, lzma_version, support_xz },
        { ".zst", ARCHIVE_FILTER_ZSTD, zstd_version, support_zstd },
        { ".bz2", ARCHIVE_FILTER_BZIP2, bzlib_version, support_bzip2 },
        { ".lzma", ARCHIVE_FILTER_LZMA, lzma_version, support_lzma },
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
                    DebEntryFn fn, void *userdata, char **reterr) {
        _cleanup_(archive_freep) struct archive *tar = archive_new_or_die();
        int r;

        if (c->support) {
                if (!c->library_version || !c->library_version())
                        return errorf(reterr, -EOPNOTSUPP, "%s: %s: this libarchive cannot decompress %s", deb,
                                      member, c->suffix);
                if (c->support(tar) != ARCHIVE_OK)
                        return errorf(reterr, -EOPNOTSUPP, "%s: %s: %s", deb, member, archive_error_string(tar));
        }
        archive_read_support_format_tar(tar);
        if (archive_read_open(tar, outer, NULL, member_read, NULL) != ARCHIVE_OK)
                return errorf(reterr, -EBADMSG, "%s is not a valid .deb: %s: %s", deb, member,
                              archive_error_string(tar));

        for (bool first = true;; first = false) {
                struct archive_entry *e;

                r = archive_read_next_header(tar, &e);
                if (r < ARCHIVE_WARN)
                        return errorf(reterr, -EBADMSG, "%s is not a valid .deb: %s: %s", deb, member,
                                      archive_error_string(tar) ?: "unreadable tar");
                if (first) {
                        int want_count = c->filter == ARCHIVE_FILTER_NONE ? 1 : 2;
                        if (archive_filter_count(tar) != want_count || archive_filter_code(tar, 0) != c->filter)
                                return errorf(reterr, -EBADMSG,
                                              "%s is not a valid .deb: %s is compressed with %s, not what its name says",
                                              deb, member, archive_filter_name(tar, 0));
                }
                if (r == ARCHIVE_EOF)
                        return 0;

                const char *name = archive_entry_pathname(e);
                if (isempty(name))
                        return errorf(reterr, -EBADMSG, "%s is not a valid .deb: %s has a member without a name",
                                      deb, member);
                _cleanup_free_ char *path = deb_path_normalize(name);
                r = fn(tar, e, path, userdata, deb, reterr);
                if (r != 0)
                        return r;
        }
}

/* The first ar member: debian-binary, format 2.x. */
static int check_debian_binary(struct archive *ar, const char *path, const char *name, char **reterr) {
        char buf[DEB_DEBIAN_BINARY_MAX + 1];

        if (!streq(name, "debian-binary"))
                return errorf(reterr, -EBADMSG, "%s is not a valid .deb: the first member is \"%s\", not debian-binary",
                              path, name);
        la_ssize_t n = archive_read_data(ar, buf, DEB_DEBIAN_BINARY_MAX);
        if (n < 0)
                return errorf(reterr, -EBADMSG, "%s is not a valid .deb: debian-binary: %s", path,
                              archive_error_string(ar) ?: "unreadable");
        buf[n] = 0;
        if (!startswith(buf, "2.") || !strchr(buf, '\n'))
                return errorf(reterr, -EBADMSG, "%s is not a valid .deb: unsupported format version \"%.*s\"", path,
                              (int) strcspn(buf, "\n"), buf);
        return 0;
}

typedef struct DebScan {
        const char *path;
        DebEntryFn control_fn, data_fn;
        void *userdata;
        bool have_control, have_data;
} DebScan;

/* A control.tar.* member: only the first four compressions, before data.tar, once. */
static int scan_control_member(DebScan *d, struct archive *ar, const char *name, char **reterr) {
        const Compression *c = compression_for(name, "control.tar", 4);
        if (!c)
                return errorf(reterr, -EBADMSG, "%s is not a valid .deb: unsupported member %s", d->path, name);
        if (d->have_control || d->have_data)
                return errorf(reterr, -EBADMSG, "%s is not a valid .deb: %s", d->path,
                              d->have_data ? "control.tar comes after data.tar" : "a second control.tar");
        d->have_control = true;
        if (!d->control_fn)
                return 0;
        return scan_tar(ar, d->path, name, c, d->control_fn, d->userdata, reterr);
}

/* A data.tar.* member: after control.tar, once. */
static int scan_data_member(DebScan *d, struct archive *ar, const char *name, char **reterr) {
        const Compression *c = compression_for(name, "data.tar", ELEMENTSOF(compressions));
        if (!c)
                return errorf(reterr, -EBADMSG, "%s is not a valid .deb: unsupported member %s", d->path, name);
        if (!d->have_control)
                return errorf(reterr, -EBADMSG, "%s is not a valid .deb: %s comes before control.tar", d->path, name);
        if (d->have_data)
                return errorf(reterr, -EBADMSG, "%s is not a valid .deb: a second data.tar (%s)", d->path, name);
        d->have_data = true;
        if (!d->data_fn)
                return 0;
        return scan_tar(ar, d->path, name, c, d->data_fn, d->userdata, reterr);
}

/* Opens path as an ar archive (a regular file). */
static int open_ar(const char *path, int *ret_fd, struct archive **ret, char **reterr) {
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        struct stat st;
        int r;

        if (fd < 0) {
                r = negative_errno();
                return errorf(reterr, r, "cannot open %s: %s", path, strerror(-r));
        }
        if (fstat(fd, &st) < 0) {
                r = negative_errno();
                return errorf(reterr, r, "cannot stat %s: %s", path, strerror(-r));
        }
        if (!S_ISREG(st.st_mode))
                return errorf(reterr, -EBADMSG, "%s is not a valid .deb: not a regular file", path);

        _cleanup_(archive_freep) struct archive *ar = archive_new_or_die();
        archive_read_support_format_ar(ar);
        if (archive_read_open_fd(ar, fd, 64 * 1024) != ARCHIVE_OK)
                return errorf(reterr, -EBADMSG, "%s is not a valid .deb: %s", path,
                              archive_error_string(ar) ?: "not an ar archive");
        *ret_fd = TAKE_FD(fd);
        *ret = TAKE_PTR(ar);
        return 0;
}

/* Walks the ar archive: debian-binary first, then control.tar.*, then data.tar.*; members whose
 * name starts with '_' are skipped, as dpkg does. A NULL callback skips that tar unread. Returns
 * what a callback returned when it stopped the walk (> 0), 0 at the end. */
static int deb_scan(const char *path, DebEntryFn control_fn, DebEntryFn data_fn, void *userdata, char **reterr) {
        _cleanup_close_ int fd = -EBADF;
        _cleanup_(archive_freep) struct archive *ar = NULL;
        DebScan d = {.path = path, .control_fn = control_fn, .data_fn = data_fn, .userdata = userdata};
        unsigned idx = 0;
        int r;

        r = open_ar(path, &fd, &ar, reterr);
        if (r < 0)
                return r;
        for (;; idx++) {
                struct archive_entry *e;

                r = archive_read_next_header(ar, &e);
                if (r == ARCHIVE_EOF)
                        break;
                if (r < ARCHIVE_WARN)
                        return errorf(reterr, -EBADMSG, "%s is not a valid .deb: %s", path,
                                      archive_error_string(ar) ?: "unreadable ar archive");

                const char *name = archive_entry_pathname(e);
                if (isempty(name))
                        return errorf(reterr, -EBADMSG, "%s is not a valid .deb: ar member without a name", path);
                if (idx == 0)
                        r = check_debian_binary(ar, path, name, reterr);
                else if (startswith(name, "control.tar"))
                        r = scan_control_member(&d, ar, name, reterr);
                else if (startswith(name, "data.tar"))
                        r = scan_data_member(&d, ar, name, reterr);
                else if (name[0] == '_')
                        r = 0;
                else
                        return errorf(reterr, -EBADMSG, "%s is not a valid .deb: unexpected member \"%s\"", path, name);
                if (r != 0)
                        return r;
        }

        if (idx == 0)
                return errorf(reterr, -EBADMSG, "%s is not a valid .deb: empty archive", path);
        if (!d.have_control)
                return errorf(reterr, -EBADMSG, "%s is not a valid .deb: no control.tar member", path);
        if (!d.have_data)
                return errorf(reterr, -EBADMSG, "%s is not a valid .deb: no data.tar member", path);
        return 0;
}

/* The current tar entry's content: -EFBIG beyond max, -EBADMSG (with *reterr) when unreadable. */
static int read_entry_data(struct archive *tar, struct archive_entry *e, size_t max, char **ret, size_t *ret_len,
                           char **reterr) {
        Buf b = {0};
        char chunk[16384];

        if (archive_entry_size_is_set(e) && (uint64_t) archive_entry_size(e) > max)
                return -EFBIG;
        for (;;) {
                la_ssize_t n = archive_read_data(tar, chunk, sizeof chunk);
                if (n < 0) {
                        buf_done(&b);
                        return errorf(reterr, -EBADMSG, "%s", archive_error_string(tar) ?: "read error");
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
                           const char *deb, char **reterr) {
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
                return errorf(reterr, -EBADMSG, "%s is not a valid .deb: two control files", deb);
        r = read_entry_data(tar, e, DEB_CONTROL_MAX, &in->control, &len, &why);
        if (r == -EFBIG)
                return errorf(reterr, -EBADMSG, "%s is not a valid .deb: control file larger than %u bytes", deb,
                              DEB_CONTROL_MAX);
        if (r < 0)
                return errorf(reterr, r, "%s is not a valid .deb: control: %s", deb, why);
        if (strlen(in->control) != len)
                return errorf(reterr, -EBADMSG, "%s is not a valid .deb: control file contains a NUL byte", deb);
        return 0;
}

static int inspect_data(struct archive *tar _unused_, struct archive_entry *e, const char *path, void *userdata,
                        const char *deb, char **reterr) {
        Inspect *in = userdata;
        DebInfo *d = in->info;

        if (d->n_entries >= DEB_ENTRIES_MAX)
                return errorf(reterr, -EBADMSG, "%s: more than %u files in data.tar", deb, DEB_ENTRIES_MAX);
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

int deb_inspect(const char *path, DebInfo **ret, char **reterr) {
        _cleanup_(deb_info_freep) DebInfo *d = xcalloc(1, sizeof(DebInfo));
        Inspect in = { .info = d };
        int r;

        r = deb_scan(path, inspect_control, inspect_data, &in, reterr);
        d->control = TAKE_PTR(in.control);
        if (r < 0)
                return r;
        if (!d->control)
                return errorf(reterr, -EBADMSG, "%s is not a valid .deb: control.tar has no ./control", path);

        static const char *const fields[] = { "Package", "Version", "Architecture" };
        char **dest[] = { &d->package, &d->version, &d->architecture };
        for (size_t i = 0; i < ELEMENTSOF(fields); i++) {
                r = control_field(d->control, fields[i], dest[i]);
                if (r == -ENOENT)
                        return errorf(reterr, -EBADMSG, "%s is not a valid .deb: control has no %s field", path,
                                      fields[i]);
                if (r < 0)
                        return errorf(reterr, -EBADMSG, "%s is not a valid .deb: invalid %s field", path, fields[i]);
        }

        /* The same path twice (a file, then a symlink over it) makes "what does it install" ambiguous. */
        _cleanup_free_ const DebEntry **sorted = xcalloc(d->n_entries, sizeof(DebEntry *));
        for (size_t i = 0; i < d->n_entries; i++)
                sorted[i] = d->entries + i;
        qsort(sorted, d->n_entries, sizeof(DebEntry *), entry_cmp);
        for (size_t i = 1; i < d->n_entries; i++)
                if (streq(sorted[i - 1]->path, sorted[i]->path) &&
                    (sorted[i - 1]->type != DEB_ENTRY_DIRECTORY || sorted[i]->type != DEB_ENTRY_DIRECTORY))
                        return errorf(reterr, -EBADMSG, "%s is not a valid .deb: %s appears twice in data.tar", path,
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
                    const char *deb, char **reterr) {
        ReadOne *m = userdata;
        _cleanup_free_ char *why = NULL;
        int r;

        if (!streq(path, m->want))
                return 0;
        DebEntryType t = entry_type(e);
        if (t == DEB_ENTRY_DIRECTORY)
                return errorf(reterr, -EISDIR, "%s: %s is a directory", deb, path);
        if (t != DEB_ENTRY_FILE)
                return errorf(reterr, -EINVAL, "%s: %s is a %s, not a regular file", deb, path,
                              deb_entry_type_to_string(t));
        r = read_entry_data(tar, e, m->max, &m->data, &m->len, &why);
        if (r == -EFBIG)
                return errorf(reterr, r, "%s: %s is larger than %zu bytes", deb, path, m->max);
        if (r < 0)
                return errorf(reterr, r, "%s is not a valid .deb: %s: %s", deb, path, why);
        return 1;
}

int deb_read_data_file(const char *path, const char *member, size_t max, char **ret, size_t *ret_len,
                       char **reterr) {
        _cleanup_free_ char *want = deb_path_normalize(member);
        ReadOne m = { .want = want, .max = max ? max : DEB_MEMBER_MAX };
        int r;

        r = deb_scan(path, NULL, read_one, &m, reterr);
        if (r < 0)
                return r;
        if (r == 0)
                return errorf(reterr, -ENOENT, "%s has no file %s", path, want);
        if (ret_len)
                *ret_len = m.len;
        *ret = m.data;
        return 0;
}
