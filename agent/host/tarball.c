#include "host/tarball.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

#include "host/archive_load.h" /* libarchive is loaded on first use */
#include "base/error.h"
#include "base/hash.h"
#include "base/path.h"
#include "base/strset.h"
#include "host/host.h"

struct TarWriter {
        struct archive *a;
        char *path;     /* final name; NULL for stdout */
        char *tmp;      /* temp file beside it */
        int fd;
};

static bool ends_with(const char *s, const char *suffix) {
        size_t n = strlen(s), m = strlen(suffix);
        return n >= m && streq(s + n - m, suffix);
}

bool tar_zstd_supported(void) {
        struct archive *a = archive_write_new();
        bool ok = a && archive_write_add_filter_zstd(a) == ARCHIVE_OK;
        if (a)
                archive_write_free(a);
        return ok;
}

static int set_filter(struct archive *a, const char *name, char **reterr) {
        int r;
        if (ends_with(name, ".tar.zst") || ends_with(name, ".tzst"))
                r = archive_write_add_filter_zstd(a);
        else if (ends_with(name, ".tar.gz") || ends_with(name, ".tgz"))
                r = archive_write_add_filter_gzip(a);
        else if (ends_with(name, ".tar.xz"))
                r = archive_write_add_filter_xz(a);
        else if (ends_with(name, ".tar"))
                r = ARCHIVE_OK;
        else
                return errorf(reterr, -EINVAL, "%s: the name must end in .tar.zst, .tar.gz, .tgz, .tar.xz or .tar", name);
        if (r != ARCHIVE_OK)
                return errorf(reterr, -EOPNOTSUPP, "%s: this libarchive cannot write that compression (%s); use .tar.gz", name,
                              archive_error_string(a) ? archive_error_string(a) : "not built in");
        return 0;
}

int tar_writer_open(const char *path, unsigned mode, TarWriter **ret, char **reterr) {
        TarWriter *w = xcalloc(1, sizeof *w);
        w->fd = -1;
        w->a = archive_write_new();
        /* "-" (stdout) is always gzip: there is no name to say otherwise */
        int r = set_filter(w->a, streq(path, "-") ? "stdout.tar.gz" : path, reterr);
        if (r < 0) {
                tar_writer_abort(w);
                return r;
        }
        archive_write_set_format_pax_restricted(w->a);
        if (streq(path, "-")) {
                w->fd = STDOUT_FILENO;
        } else {
                w->path = xstrdup(path);
                w->tmp = xasprintf("%s.tmp.XXXXXX", path);
                w->fd = mkostemp(w->tmp, O_CLOEXEC);
                if (w->fd < 0) {
                        r = negative_errno();
                        *reterr = xasprintf("cannot create %s: %s", path, strerror(-r));
                        free(w->tmp);
                        w->tmp = NULL;
                        tar_writer_abort(w);
                        return r;
                }
                /* the temp file is created 0600 and renamed over the old file: the mode never widens */
                if (fchmod(w->fd, mode & 0777 & ~(unsigned) umask(umask(0))) < 0) {
                        r = negative_errno();
                        *reterr = xasprintf("cannot set the mode of %s: %s", w->tmp, strerror(-r));
                        tar_writer_abort(w);
                        return r;
                }
        }
        if (archive_write_open_fd(w->a, w->fd) != ARCHIVE_OK) {
                *reterr = xasprintf("cannot write %s: %s", path, archive_error_string(w->a));
                tar_writer_abort(w);
                return -EIO;
        }
        *ret = w;
        return 0;
}

static struct archive_entry *new_entry(const char *name, uint64_t size, unsigned mode, uint64_t mtime_sec) {
        struct archive_entry *e = archive_entry_new();
        archive_entry_set_pathname(e, name);
        archive_entry_set_filetype(e, AE_IFREG);
        archive_entry_set_perm(e, mode & 07777);
        archive_entry_set_size(e, (la_int64_t) size);
        archive_entry_set_mtime(e, (time_t) mtime_sec, 0);
        archive_entry_set_uid(e, 0);
        archive_entry_set_gid(e, 0);
        archive_entry_set_uname(e, "root");
        archive_entry_set_gname(e, "root");
        return e;
}

int tar_writer_add_data(TarWriter *w, const char *name, const void *data, size_t len, unsigned mode,
                        uint64_t mtime_sec, char **reterr) {
        struct archive_entry *e = new_entry(name, len, mode, mtime_sec ? mtime_sec : now_usec() / 1000000);
        int r = archive_write_header(w->a, e);
        archive_entry_free(e);
        if (r != ARCHIVE_OK || (len > 0 && archive_write_data(w->a, data, len) != (la_ssize_t) len))
                return errorf(reterr, -EIO, "cannot add %s to the archive: %s", name, archive_error_string(w->a));
        return 0;
}

int tar_writer_add_file(TarWriter *w, const char *name, const char *path, unsigned mode, char ret_sha256[65],
                        char **reterr) {
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        struct stat st;
        if (fd < 0 || fstat(fd, &st) < 0) {
                int r = negative_errno();
                return errorf(reterr, r, "cannot read %s: %s", path, strerror(-r));
        }
        struct archive_entry *e = new_entry(name, (uint64_t) st.st_size, mode, (uint64_t) st.st_mtime);
        int r = archive_write_header(w->a, e);
        archive_entry_free(e);
        if (r != ARCHIVE_OK)
                return errorf(reterr, -EIO, "cannot add %s to the archive: %s", name, archive_error_string(w->a));
        _cleanup_(sha256_done) Sha256 md = {0};
        sha256_init(&md);
        static char buf[256 * 1024];
        uint64_t left = (uint64_t) st.st_size;
        while (left > 0) {
                ssize_t n = read(fd, buf, left < sizeof buf ? (size_t) left : sizeof buf);
                if (n <= 0)
                        return errorf(reterr, -EIO, "%s changed while it was added to the archive", path);
                sha256_update(&md, buf, (size_t) n);
                if (archive_write_data(w->a, buf, (size_t) n) != n)
                        return errorf(reterr, -EIO, "cannot add %s to the archive: %s", name, archive_error_string(w->a));
                left -= (uint64_t) n;
        }
        char sum[65];
        sha256_final_hex(&md, sum);
        if (ret_sha256)
                memcpy(ret_sha256, sum, sizeof sum);
        return 0;
}

int tar_writer_finish(TarWriter *w, char **reterr) {
        int r = 0;
        if (archive_write_close(w->a) != ARCHIVE_OK) {
                r = errorf(reterr, -EIO, "cannot finish %s: %s", w->path ? w->path : "the archive", archive_error_string(w->a));
        }
        archive_write_free(w->a);
        w->a = NULL;
        if (r == 0 && w->tmp) {
                if (fsync(w->fd) < 0 || rename(w->tmp, w->path) < 0) {
                        r = negative_errno();
                        *reterr = xasprintf("cannot write %s: %s", w->path, strerror(-r));
                } else {
                        free(w->tmp);
                        w->tmp = NULL;
                        (void) fsync_parent_dir(w->path);
                }
        }
        tar_writer_abort(w);
        return r;
}

void tar_writer_abort(TarWriter *w) {
        if (!w)
                return;
        if (w->a)
                archive_write_free(w->a);
        if (w->fd >= 0 && w->fd != STDOUT_FILENO)
                close(w->fd);
        if (w->tmp)
                (void) unlink(w->tmp);
        free(w->tmp);
        free(w->path);
        free(w);
}

/* ---- reading ---- */

/* "./a//b/" -> "a/b"; NULL (with *why) for an absolute name, "..", or nothing at all. */
static char *normalize_name(const char *name, const char **why) {
        if (name[0] == '/') {
                *why = "an absolute path";
                return NULL;
        }
        Buf b = {0};
        const char *c;
        size_t n;
        for (const char *p = name; (n = path_next_component(&p, &c)) > 0;) {
                if (component_is_dotdot(c, n)) {
                        buf_done(&b);
                        *why = "a \"..\" component";
                        return NULL;
                }
                if (!component_is_dot(c, n)) {
                        if (b.len)
                                buf_puts(&b, "/");
                        buf_append(&b, c, n);
                }
        }
        if (b.len == 0) {
                buf_done(&b);
                return xstrdup(".");
        }
        return buf_steal(&b);
}

/* Does a link target, read from the directory of name, leave the top? */
static bool link_escapes(const char *name, const char *target, bool hardlink) {
        if (target[0] == '/')
                return true;
        int depth = 0;
        if (!hardlink) /* a symlink resolves from its own directory; a hardlink names a path from the top */
                for (const char *c = name; *c; c++)
                        depth += *c == '/';
        const char *c;
        size_t n;
        for (const char *p = target; (n = path_next_component(&p, &c)) > 0;) {
                if (component_is_dotdot(c, n)) {
                        if (--depth < 0)
                                return true;
                } else if (!component_is_dot(c, n))
                        depth++;
        }
        return false;
}

/* What tar_scan() refuses (see tarball.h): -EPERM with *reterr naming the entry, else 0 with
 * *ret_name (normalised) and *ret_type. 1: an entry to skip silently (the top directory, a
 * directory seen before). */
static int refuse_entry(const char *path, struct archive_entry *ae, StrSet *seen, char **ret_name, mode_t *ret_type,
                        char **reterr) {
        const char *raw = archive_entry_pathname(ae), *why = NULL;
        _cleanup_free_ char *name = raw ? normalize_name(raw, &why) : NULL;
        if (!raw || !name)
                return errorf(reterr, -EPERM, "%s: refusing the entry '%s': %s", path, raw ? raw : "(no name)",
                              why ? why : "no name");
        const char *hl = archive_entry_hardlink(ae);
        mode_t type = archive_entry_filetype(ae);
        if (hl || type == AE_IFLNK) {
                const char *target = hl ? hl : archive_entry_symlink(ae);
                if (!target || link_escapes(name, target, hl != NULL))
                        return errorf(reterr, -EPERM, "%s: refusing the %s '%s' -> '%s': it escapes the target directory",
                                      path, hl ? "hardlink" : "symlink", name, target ? target : "");
                return errorf(reterr, -EPERM,
                              "%s: refusing the %s '%s' -> '%s': bundles hold only regular files and directories", path,
                              hl ? "hardlink" : "symlink", name, target);
        }
        if (type != AE_IFREG && type != AE_IFDIR)
                return errorf(reterr, -EPERM, "%s: refusing '%s': not a regular file or directory", path, name);
        if (streq(name, ".") && type == AE_IFDIR)
                return 1;
        if (!strset_add(seen, name)) {
                if (type == AE_IFDIR)
                        return 1;
                return errorf(reterr, -EPERM, "%s: refusing '%s': it is in the archive twice", path, name);
        }
        *ret_name = TAKE_PTR(name);
        *ret_type = type;
        return 0;
}

typedef struct TarScan {
        struct archive *a;
        const char *path, *dest;
        int destfd; /* dest, opened once: every entry is created below it with *at() calls */
        size_t keep_max;
        uint64_t max_bytes, total;
        bool no_write; /* the current entry: read, but not written to dest (the header callback said so) */
} TarScan;

static int write_all(int fd, const char *data, size_t n) {
        for (size_t off = 0; off < n;) {
                ssize_t w = write(fd, data + off, n - off);
                if (w < 0)
                        return negative_errno();
                off += (size_t) w;
        }
        return 0;
}

/* The content of the current entry, a regular file: its size and sha256 into te, the data itself
 * into *ret_kept when keeping (NULL when it turned out larger than keep_max), and, with fd >= 0,
 * into that file (out: its name). */
static int read_regular(TarScan *t, TarEntry *te, bool keeping, int fd, const char *out, char **ret_kept,
                        char **reterr) {
        static char buf[256 * 1024];
        _cleanup_(buf_done) Buf keep = {0};
        _cleanup_(sha256_done) Sha256 md = {0};
        la_ssize_t n;
        int r;

        sha256_init(&md);
        while ((n = archive_read_data(t->a, buf, sizeof buf)) > 0) {
                t->total += (uint64_t) n;
                te->size += (uint64_t) n;
                if (t->total > t->max_bytes)
                        return errorf(reterr, -EFBIG, "%s: more than %llu bytes of content; refusing", t->path,
                                      (unsigned long long) t->max_bytes);
                sha256_update(&md, buf, (size_t) n);
                if (keeping && keep.len + (size_t) n <= t->keep_max)
                        buf_append(&keep, buf, (size_t) n);
                else if (keeping) {
                        keeping = false;
                        buf_done(&keep);
                }
                if (fd >= 0) {
                        r = write_all(fd, buf, (size_t) n);
                        if (r < 0)
                                return errorf(reterr, r, "cannot write %s: %s", out, strerror(-r));
                }
        }
        if (n < 0)
                return errorf(reterr, -EBADMSG, "%s: cannot read '%s': %s", t->path, te->name, archive_error_string(t->a));
        sha256_final_hex(&md, te->sha256);
        *ret_kept = keeping ? buf_steal(&keep) : NULL;
        return 0;
}

/* A regular file: read (see read_regular()) and, with a destination, created below it with
 * O_EXCL|O_NOFOLLOW and synced. */
static int extract_regular(TarScan *t, struct archive_entry *ae, TarEntry *te, char **ret_kept, char **reterr) {
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ char *out = NULL;
        int64_t declared = archive_entry_size_is_set(ae) ? archive_entry_size(ae) : -1;
        bool keeping = declared >= 0 && (uint64_t) declared <= t->keep_max;
        int r;

        if (t->dest && !t->no_write) {
                const char *base = te->name;
                _cleanup_close_ int dir = mkdirat_parents(t->destfd, te->name, 0755, &base);
                out = xasprintf("%s/%s", t->dest, te->name);
                r = dir;
                if (r >= 0) {
                        fd = openat(dir, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
                        if (fd < 0)
                                r = negative_errno();
                }
                if (r < 0)
                        return errorf(reterr, r, "cannot create %s: %s", out, strerror(-r));
        }
        r = read_regular(t, te, keeping, fd, out, ret_kept, reterr);
        if (r < 0)
                return r;
        if (fd >= 0 && fsync(fd) < 0) {
                r = negative_errno();
                free(TAKE_PTR(*ret_kept));
                return errorf(reterr, r, "cannot write %s: %s", out, strerror(-r));
        }
        return 0;
}

static int extract_directory(TarScan *t, const char *name, char **reterr) {
        if (!t->dest || t->no_write)
                return 0;
        _cleanup_free_ char *sub = xasprintf("%s/x", name);
        int r = mkdirat_parents(t->destfd, sub, 0755, NULL);
        if (r >= 0)
                close(r);
        if (r < 0)
                return errorf(reterr, r, "cannot create %s/%s: %s", t->dest, name, strerror(-r));
        return 0;
}

static void archive_read_freep(struct archive **a) {
        if (*a)
                archive_read_free(*a);
}

/* Before an entry's content is read: its declared size within the bounds, then the caller's header
 * callback. 1: read it without writing it. */
static int check_header(TarScan *t, struct archive_entry *ae, TarEntry *te, const TarScanHooks *hooks,
                        void *userdata, char **reterr) {
        if (!te->directory) {
                if (!archive_entry_size_is_set(ae) || archive_entry_size(ae) < 0)
                        return errorf(reterr, -EBADMSG, "%s: '%s' has no size in its header", t->path, te->name);
                te->size = (uint64_t) archive_entry_size(ae);
                if (te->size > t->max_bytes - t->total)
                        return errorf(reterr, -EFBIG, "%s: more than %llu bytes of content; refusing", t->path,
                                      (unsigned long long) t->max_bytes);
        }
        int r = hooks && hooks->header ? hooks->header(te, userdata, reterr) : 0;
        te->size = 0; /* from here on: what was read */
        return r;
}

int tar_scan(const char *path, const char *dest, size_t keep_max, uint64_t max_bytes, const TarScanHooks *hooks,
             void *userdata, char **reterr) {
        _cleanup_(archive_read_freep) struct archive *a = archive_read_new();
        _cleanup_(strset_done) StrSet seen = {0};
        TarScan t = {.a = a, .path = path, .dest = dest, .destfd = -EBADF, .keep_max = keep_max, .max_bytes = max_bytes};
        _cleanup_close_ int destfd = dest ? open(dest, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) : -EBADF;
        struct archive_entry *ae;
        int r = 0, ar;

        if (dest && destfd < 0) {
                r = negative_errno();
                return errorf(reterr, r, "cannot open %s: %s", dest, strerror(-r));
        }
        t.destfd = destfd;

        archive_read_support_format_tar(a);
        archive_read_support_format_gnutar(a);
        archive_read_support_filter_gzip(a);
        archive_read_support_filter_zstd(a);
        archive_read_support_filter_xz(a);
        archive_read_support_filter_bzip2(a);
        if (archive_read_open_filename(a, path, 64 * 1024) != ARCHIVE_OK)
                return errorf(reterr, -EBADMSG, "cannot open %s: %s", path, archive_error_string(a));
        while ((ar = archive_read_next_header(a, &ae)) == ARCHIVE_OK) {
                _cleanup_free_ char *name = NULL, *kept = NULL;
                mode_t type = 0;
                r = refuse_entry(path, ae, &seen, &name, &type, reterr);
                if (r > 0) {
                        r = 0;
                        continue;
                }
                if (r < 0)
                        break;
                TarEntry te = {.name = name, .directory = type == AE_IFDIR};
                r = check_header(&t, ae, &te, hooks, userdata, reterr);
                if (r < 0)
                        break;
                t.no_write = r > 0;
                if (te.directory)
                        r = extract_directory(&t, name, reterr);
                else
                        r = extract_regular(&t, ae, &te, &kept, reterr);
                te.data = kept;
                if (r >= 0 && hooks && hooks->entry)
                        r = hooks->entry(&te, userdata, reterr);
                if (r < 0)
                        break;
        }
        if (r == 0 && ar != ARCHIVE_EOF)
                return errorf(reterr, -EBADMSG, "%s: not a readable tar archive: %s", path, archive_error_string(a));
        return r;
}
