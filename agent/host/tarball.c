#include "host/tarball.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <string.h>
#include <sys/stat.h>

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
        else {
                *reterr = xasprintf("%s: the name must end in .tar.zst, .tar.gz, .tgz, .tar.xz or .tar", name);
                return -EINVAL;
        }
        if (r != ARCHIVE_OK) {
                *reterr = xasprintf("%s: this libarchive cannot write that compression (%s); use .tar.gz", name,
                                    archive_error_string(a) ? archive_error_string(a) : "not built in");
                return -EOPNOTSUPP;
        }
        return 0;
}

int tar_writer_open(const char *path, TarWriter **ret, char **reterr) {
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
                (void) fchmod(w->fd, 0644 & ~(unsigned) umask(umask(0)));
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
        if (r != ARCHIVE_OK || (len > 0 && archive_write_data(w->a, data, len) != (la_ssize_t) len)) {
                *reterr = xasprintf("cannot add %s to the archive: %s", name, archive_error_string(w->a));
                return -EIO;
        }
        return 0;
}

int tar_writer_add_file(TarWriter *w, const char *name, const char *path, unsigned mode, char ret_sha256[65],
                        char **reterr) {
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        struct stat st;
        if (fd < 0 || fstat(fd, &st) < 0) {
                int r = negative_errno();
                *reterr = xasprintf("cannot read %s: %s", path, strerror(-r));
                return r;
        }
        struct archive_entry *e = new_entry(name, (uint64_t) st.st_size, mode, (uint64_t) st.st_mtime);
        int r = archive_write_header(w->a, e);
        archive_entry_free(e);
        if (r != ARCHIVE_OK) {
                *reterr = xasprintf("cannot add %s to the archive: %s", name, archive_error_string(w->a));
                return -EIO;
        }
        EVP_MD_CTX *md = EVP_MD_CTX_new();
        EVP_DigestInit_ex(md, EVP_sha256(), NULL);
        static char buf[256 * 1024];
        uint64_t left = (uint64_t) st.st_size;
        while (left > 0) {
                ssize_t n = read(fd, buf, left < sizeof buf ? (size_t) left : sizeof buf);
                if (n <= 0) {
                        EVP_MD_CTX_free(md);
                        *reterr = xasprintf("%s changed while it was added to the archive", path);
                        return -EIO;
                }
                EVP_DigestUpdate(md, buf, (size_t) n);
                if (archive_write_data(w->a, buf, (size_t) n) != n) {
                        EVP_MD_CTX_free(md);
                        *reterr = xasprintf("cannot add %s to the archive: %s", name, archive_error_string(w->a));
                        return -EIO;
                }
                left -= (uint64_t) n;
        }
        unsigned char d[EVP_MAX_MD_SIZE];
        unsigned dn = 0;
        EVP_DigestFinal_ex(md, d, &dn);
        EVP_MD_CTX_free(md);
        if (ret_sha256)
                for (unsigned i = 0; i < 32; i++)
                        snprintf(ret_sha256 + 2 * i, 3, "%02x", d[i]);
        return 0;
}

int tar_writer_finish(TarWriter *w, char **reterr) {
        int r = 0;
        if (archive_write_close(w->a) != ARCHIVE_OK) {
                *reterr = xasprintf("cannot finish %s: %s", w->path ? w->path : "the archive", archive_error_string(w->a));
                r = -EIO;
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
        for (const char *p = name; *p;) {
                while (*p == '/')
                        p++;
                const char *e = strchrnul(p, '/');
                size_t n = (size_t) (e - p);
                if (n == 2 && p[0] == '.' && p[1] == '.') {
                        buf_done(&b);
                        *why = "a \"..\" component";
                        return NULL;
                }
                if (n > 0 && !(n == 1 && p[0] == '.')) {
                        if (b.len)
                                buf_puts(&b, "/");
                        buf_append(&b, p, n);
                }
                p = e;
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
        for (const char *p = target; *p;) {
                while (*p == '/')
                        p++;
                const char *e = strchrnul(p, '/');
                size_t n = (size_t) (e - p);
                if (n == 2 && p[0] == '.' && p[1] == '.') {
                        if (--depth < 0)
                                return true;
                } else if (n > 0 && !(n == 1 && p[0] == '.'))
                        depth++;
                p = e;
        }
        return false;
}

/* mkdir -p below dest for rel's parent directories, never through a symlink (we create every
 * directory ourselves, and refuse one that is already something else). */
static int make_parents(const char *dest, const char *rel) {
        _cleanup_free_ char *copy = xstrdup(rel);
        for (char *s = strchr(copy, '/'); s; s = strchr(s + 1, '/')) {
                *s = 0;
                _cleanup_free_ char *d = xasprintf("%s/%s", dest, copy);
                *s = '/';
                struct stat st;
                if (mkdir(d, 0755) < 0 && errno != EEXIST)
                        return negative_errno();
                if (lstat(d, &st) < 0)
                        return negative_errno();
                if (!S_ISDIR(st.st_mode))
                        return -ENOTDIR;
        }
        return 0;
}

typedef struct Seen {
        char **names;
        size_t n, cap;
} Seen;

static bool seen_add(Seen *s, const char *name) {
        for (size_t i = 0; i < s->n; i++)
                if (streq(s->names[i], name))
                        return false;
        if (s->n == s->cap) {
                s->cap = s->cap ? 2 * s->cap : 64;
                s->names = xrealloc(s->names, s->cap * sizeof(char *));
        }
        s->names[s->n++] = xstrdup(name);
        return true;
}

static void seen_done(Seen *s) {
        for (size_t i = 0; i < s->n; i++)
                free(s->names[i]);
        free(s->names);
}

int tar_scan(const char *path, const char *dest, size_t keep_max, uint64_t max_bytes,
             int (*cb)(const TarEntry *e, void *userdata, char **reterr), void *userdata, char **reterr) {
        struct archive *a = archive_read_new();
        struct archive_entry *ae;
        Seen seen = {0};
        uint64_t total = 0;
        int r = 0, ar;
        static char buf[256 * 1024];

        archive_read_support_format_tar(a);
        archive_read_support_format_gnutar(a);
        archive_read_support_filter_gzip(a);
        archive_read_support_filter_zstd(a);
        archive_read_support_filter_xz(a);
        archive_read_support_filter_bzip2(a);
        if (archive_read_open_filename(a, path, 64 * 1024) != ARCHIVE_OK) {
                *reterr = xasprintf("cannot open %s: %s", path, archive_error_string(a));
                archive_read_free(a);
                return -EBADMSG;
        }
        while ((ar = archive_read_next_header(a, &ae)) == ARCHIVE_OK) {
                const char *raw = archive_entry_pathname(ae), *why = NULL;
                _cleanup_free_ char *name = raw ? normalize_name(raw, &why) : NULL;
                if (!raw || !name) {
                        *reterr = xasprintf("%s: refusing the entry '%s': %s", path, raw ? raw : "(no name)",
                                            why ? why : "no name");
                        r = -EPERM;
                        break;
                }
                const char *hl = archive_entry_hardlink(ae);
                mode_t type = archive_entry_filetype(ae);
                if (hl || type == AE_IFLNK) {
                        const char *target = hl ? hl : archive_entry_symlink(ae);
                        bool esc = !target || link_escapes(name, target, hl != NULL);
                        *reterr = esc ? xasprintf("%s: refusing the %s '%s' -> '%s': it escapes the target directory",
                                                  path, hl ? "hardlink" : "symlink", name, target ? target : "")
                                      : xasprintf("%s: refusing the %s '%s' -> '%s': bundles hold only regular files "
                                                  "and directories",
                                                  path, hl ? "hardlink" : "symlink", name, target);
                        r = -EPERM;
                        break;
                }
                if (type != AE_IFREG && type != AE_IFDIR) {
                        *reterr = xasprintf("%s: refusing '%s': not a regular file or directory", path, name);
                        r = -EPERM;
                        break;
                }
                if (streq(name, ".") && type == AE_IFDIR)
                        continue;
                if (!seen_add(&seen, name)) {
                        if (type == AE_IFDIR)
                                continue;
                        *reterr = xasprintf("%s: refusing '%s': it is in the archive twice", path, name);
                        r = -EPERM;
                        break;
                }
                TarEntry te = {.name = name, .directory = type == AE_IFDIR};
                if (te.directory) {
                        if (dest) {
                                _cleanup_free_ char *sub = xasprintf("%s/x", name);
                                r = make_parents(dest, sub);
                                if (r < 0) {
                                        *reterr = xasprintf("cannot create %s/%s: %s", dest, name, strerror(-r));
                                        break;
                                }
                        }
                } else {
                        _cleanup_close_ int fd = -1;
                        _cleanup_free_ char *out = NULL;
                        Buf keep = {0};
                        int64_t declared = archive_entry_size_is_set(ae) ? archive_entry_size(ae) : -1;
                        bool keeping = declared >= 0 && (uint64_t) declared <= keep_max;
                        if (dest) {
                                r = make_parents(dest, name);
                                out = xasprintf("%s/%s", dest, name);
                                if (r >= 0) {
                                        fd = open(out, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
                                        if (fd < 0)
                                                r = negative_errno();
                                }
                                if (r < 0) {
                                        *reterr = xasprintf("cannot create %s: %s", out, strerror(-r));
                                        break;
                                }
                        }
                        EVP_MD_CTX *md = EVP_MD_CTX_new();
                        EVP_DigestInit_ex(md, EVP_sha256(), NULL);
                        la_ssize_t n;
                        while ((n = archive_read_data(a, buf, sizeof buf)) > 0) {
                                total += (uint64_t) n;
                                te.size += (uint64_t) n;
                                if (total > max_bytes) {
                                        r = -EFBIG;
                                        *reterr = xasprintf("%s: more than %llu bytes of content; refusing", path,
                                                            (unsigned long long) max_bytes);
                                        break;
                                }
                                EVP_DigestUpdate(md, buf, (size_t) n);
                                if (keeping && keep.len + (size_t) n <= keep_max)
                                        buf_append(&keep, buf, (size_t) n);
                                else if (keeping) {
                                        keeping = false;
                                        buf_done(&keep);
                                }
                                if (fd >= 0) {
                                        for (la_ssize_t off = 0; off < n;) {
                                                ssize_t w = write(fd, buf + off, (size_t) (n - off));
                                                if (w < 0) {
                                                        r = negative_errno();
                                                        *reterr = xasprintf("cannot write %s: %s", out, strerror(-r));
                                                        break;
                                                }
                                                off += w;
                                        }
                                        if (r < 0)
                                                break;
                                }
                        }
                        if (r == 0 && n < 0) {
                                *reterr = xasprintf("%s: cannot read '%s': %s", path, name, archive_error_string(a));
                                r = -EBADMSG;
                        }
                        unsigned char d[EVP_MAX_MD_SIZE];
                        unsigned dn = 0;
                        EVP_DigestFinal_ex(md, d, &dn);
                        EVP_MD_CTX_free(md);
                        for (unsigned i = 0; i < 32; i++)
                                snprintf(te.sha256 + 2 * i, 3, "%02x", d[i]);
                        if (r == 0 && fd >= 0 && fsync(fd) < 0) {
                                r = negative_errno();
                                *reterr = xasprintf("cannot write %s: %s", out, strerror(-r));
                        }
                        if (r < 0) {
                                buf_done(&keep);
                                break;
                        }
                        _cleanup_free_ char *kept = keeping ? buf_steal(&keep) : NULL;
                        te.data = kept;
                        if (cb)
                                r = cb(&te, userdata, reterr);
                        if (r < 0)
                                break;
                        continue;
                }
                if (cb)
                        r = cb(&te, userdata, reterr);
                if (r < 0)
                        break;
        }
        if (r == 0 && ar != ARCHIVE_EOF) {
                *reterr = xasprintf("%s: not a readable tar archive: %s", path, archive_error_string(a));
                r = -EBADMSG;
        }
        archive_read_free(a);
        seen_done(&seen);
        return r;
}

