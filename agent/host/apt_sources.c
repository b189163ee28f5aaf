/* The root's sources as libapt must see them (host/apt.h): apt reads a source's signed-by path on
 * the machine it runs on, not in the root (shim/README.md), so under --root libapt is handed a
 * copy in which every such path is prefixed with the root. The files in the root stay as they must
 * be for the real machine. */
#include "host/apt.h"

#include <dirent.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/error.h"
#include "host/dpkg.h"

/* One-line format: "[... signed-by=/usr/share/keyrings/x.gpg ...]" -> the file under the root. */
static char *rewrite_list_line(const Host *h, const char *line) {
        const char *open = strchr(line, '[');
        const char *close = open ? strchr(open, ']') : NULL;
        if (!open || !close)
                return xstrdup(line);
        Buf b = {0};
        buf_append(&b, line, (size_t) (open - line));
        for (const char *p = open; p < close;) {
                const char *k = strstr(p, "signed-by=");
                if (!k || k >= close) {
                        buf_append(&b, p, (size_t) (close - p));
                        break;
                }
                k += strlen("signed-by=");
                buf_append(&b, p, (size_t) (k - p));
                /* comma-separated values; only absolute paths are files */
                while (k < close && *k != ' ' && *k != '\t' && *k != ']') {
                        const char *e = k;
                        while (e < close && *e != ',' && *e != ' ' && *e != '\t')
                                e++;
                        _cleanup_free_ char *v = xstrndup(k, (size_t) (e - k));
                        _cleanup_free_ char *hp = *k == '/' ? host_path(h, v) : NULL;
                        buf_puts(&b, hp ? hp : v);
                        k = e;
                        if (*k == ',') {
                                buf_puts(&b, ",");
                                k++;
                        }
                }
                p = k;
        }
        buf_puts(&b, close);
        return buf_steal(&b);
}

static char *rewrite_file(const Host *h, const char *text, bool deb822) {
        Buf b = {0};
        for (const char *l = text; *l;) {
                const char *e = strchr(l, '\n');
                size_t n = e ? (size_t) (e - l) : strlen(l);
                _cleanup_free_ char *line = xstrndup(l, n);
                if (deb822) {
                        /* "Signed-By: /path" (a file); an inline key block stays as it is */
                        if (strncasecmp(line, "Signed-By:", 10) == 0) {
                                const char *v = line + 10;
                                while (*v == ' ' || *v == '\t')
                                        v++;
                                if (*v == '/') {
                                        _cleanup_free_ char *hp = host_path(h, v);
                                        buf_printf(&b, "Signed-By: %s", hp);
                                } else
                                        buf_puts(&b, line);
                        } else
                                buf_puts(&b, line);
                } else {
                        _cleanup_free_ char *r = line[0] == '#' ? xstrdup(line) : rewrite_list_line(h, line);
                        buf_puts(&b, r);
                }
                buf_puts(&b, "\n");
                l = e ? e + 1 : l + n;
        }
        return buf_steal(&b);
}


/* path with text, mode 0644, and the times of the file it copies (libapt's package cache is valid
 * only while no source is newer than it). Not fsynced: a scratch copy, rewritten at every open. */
static int write_copy(const char *path, const char *text, const struct stat *like) {
        int r = write_file_scratch(path, text, strlen(text), 0644);
        if (r < 0)
                return r;
        struct timespec t[2] = {like->st_atim, like->st_mtim};
        return utimensat(AT_FDCWD, path, t, AT_SYMLINK_NOFOLLOW) < 0 ? negative_errno() : 0;
}

typedef struct SourceFile {
        char *name; /* below sources.list.d/, or NULL: sources.list */
        char *text; /* rewritten */
        struct stat st;
} SourceFile;

/* The root's sources (sources.list, then sources.list.d/ *.list and *.sources), rewritten; *ret_n
 * of them; *ret_changed: one differs from its file. */
static SourceFile *read_sources(const Host *h, size_t *ret_n, bool *ret_changed) {
        _cleanup_free_ char *list = host_path(h, "/etc/apt/sources.list");
        _cleanup_free_ char *parts = host_path(h, "/etc/apt/sources.list.d");
        SourceFile *f = NULL;
        size_t n = 0;
        bool changed = false;
        _cleanup_(closedirp) DIR *d = opendir(parts);
        struct dirent *de = NULL;
        for (bool main = true; main || (d && (de = readdir(d)));) {
                _cleanup_free_ char *rel = NULL, *path = NULL, *text = NULL;
                bool deb822 = false;
                if (!main) {
                        size_t l = strlen(de->d_name);
                        bool is_list = l > 5 && streq(de->d_name + l - 5, ".list");
                        deb822 = l > 8 && streq(de->d_name + l - 8, ".sources");
                        if (!is_list && !deb822)
                                continue;
                        rel = xasprintf("/etc/apt/sources.list.d/%s", de->d_name);
                }
                path = main ? xstrdup(list) : host_path(h, rel);
                struct stat st;
                if (stat(path, &st) == 0 && S_ISREG(st.st_mode) &&
                    read_file(path, 16 * 1024 * 1024, &text, NULL) == 0) {
                        f = realloc(f, (n + 1) * sizeof *f);
                        if (!f)
                                abort();
                        f[n] = (SourceFile){.name = main ? NULL : xstrdup(de->d_name),
                                            .text = rewrite_file(h, text, deb822), .st = st};
                        changed |= !streq(f[n].text, text);
                        n++;
                }
                main = false;
        }
        *ret_n = n;
        *ret_changed = changed;
        return f;
}

int apt_session_tmpdir(char **tmpdir) {
        char tmpl[] = APT_TMPDIR_TEMPLATE;
        if (*tmpdir)
                return 0;
        if (!mkdtemp(tmpl))
                return negative_errno();
        *tmpdir = xstrdup(tmpl);
        return 0;
}

int apt_sources_empty(char **tmpdir, char **ret_list, char **ret_parts) {
        int r = apt_session_tmpdir(tmpdir);
        if (r < 0)
                return r;
        _cleanup_free_ char *list = xasprintf("%s/sources.list", *tmpdir);
        _cleanup_free_ char *parts = xasprintf("%s/sources.list.d/", *tmpdir);
        r = write_file_scratch(list, "", 0, 0644);
        if (r >= 0 && mkdir(parts, 0755) < 0 && errno != EEXIST)
                r = negative_errno();
        if (r < 0)
                return r;
        *ret_list = TAKE_PTR(list);
        *ret_parts = TAKE_PTR(parts);
        return 0;
}

int apt_download(const Host *h, const AptSessionOptions *o, const char *url, const char *dest, char **reterr) {
        AptSessionOptions d = {.scratch = true, .no_lists = true, .deferred = true, .verbose = o->verbose,
                               .output = o->output};
        AptSession as = {0};
        int r = apt_session_open(&as, h, &d, reterr);
        if (r >= 0)
                r = apt_shim_fetch_file(as.shim, url, NULL, dest, reterr);
        apt_session_close(&as);
        return r;
}

int apt_sources_rewrite(const Host *h, char **tmpdir, char **ret_list, char **ret_parts) {
        size_t n = 0;
        bool changed = false;
        SourceFile *f = read_sources(h, &n, &changed);
        int r = changed ? apt_session_tmpdir(tmpdir) : 0;
        _cleanup_free_ char *list = changed && r >= 0 ? xasprintf("%s/sources.list", *tmpdir) : NULL;
        _cleanup_free_ char *parts = changed && r >= 0 ? xasprintf("%s/sources.list.d", *tmpdir) : NULL;
        if (parts) {
                rm_rf_tree(parts);
                (void) unlink(list);
                r = mkdir_p(parts, 0755);
        }
        for (size_t i = 0; i < n; i++) {
                if (parts && r >= 0) {
                        _cleanup_free_ char *to = f[i].name ? xasprintf("%s/%s", parts, f[i].name) : xstrdup(list);
                        r = write_copy(to, f[i].text, &f[i].st);
                }
                free(f[i].name);
                free(f[i].text);
        }
        free(f);
        if (parts && r >= 0) {
                /* the directory's times too: libapt counts the parts directory's mtime as a source's */
                _cleanup_free_ char *orig = host_path(h, "/etc/apt/sources.list.d");
                struct stat st;
                if (stat(orig, &st) == 0)
                        r = utimensat(AT_FDCWD, parts, (struct timespec[2]){st.st_atim, st.st_mtim}, 0) < 0
                                    ? negative_errno() : 0;
        }
        if (r < 0)
                return r;
        *ret_list = changed ? TAKE_PTR(list) : NULL;
        *ret_parts = changed ? xasprintf("%s/", parts) : NULL;
        return 0;
}

int apt_session_subdir(AptSession *s, const char *name, char **ret) {
        int r = apt_session_tmpdir(&s->tmpdir);
        if (r < 0)
                return r;
        _cleanup_free_ char *d = xasprintf("%s/%s", s->tmpdir, name);
        if (mkdir(d, 0700) < 0 && errno != EEXIST)
                return negative_errno();
        *ret = TAKE_PTR(d);
        return 0;
}

size_t apt_memory_packages(const Host *h, const char *const *debs, size_t more) {
        const DpkgStatus *st = NULL;
        for (size_t i = 0; debs && debs[i]; i++)
                more++;
        return dpkg_status_get(h, &st) < 0 ? 0 : st->n + more;
}

bool apt_session_built(const AptSession *s) {
        return s->shim && apt_shim_built(s->shim) == 1;
}

int apt_session_local(AptSession *s, const char *const *debs, char **reterr) {
        if (!s->shim || !s->own_sources)
                return -EOPNOTSUPP;
        /* apart from the rewritten sources (tmpdir/sources.list*), which the reopen after rewrites */
        _cleanup_free_ char *dir = NULL, *list = NULL, *parts = NULL;
        int r = apt_session_subdir(s, "local", &dir);
        if (r >= 0)
                r = apt_sources_empty(&dir, &list, &parts);
        if (r < 0)
                return errorf(reterr, r, "cannot prepare empty sources in %s: %s", s->tmpdir, strerror(-r));
        apt_shim_set_sources(s->shim, list, parts);
        apt_shim_set_local(s->shim, debs, apt_memory_packages(s->host, debs, 0));
        s->local = true;
        return apt_shim_reopen(s->shim, reterr);
}

/* Back to the lists, over the cache files of the open (from apt_session_local() or a scope). */
static void leave_local(AptSession *s) {
        apt_shim_set_local(s->shim, NULL, 0);
        if (!s->root_sources)
                apt_shim_set_sources(s->shim, NULL, NULL);
        s->local = false;
}

int apt_session_reopen(AptSession *s, char **reterr) {
        if (s->local)
                leave_local(s);
        if (s->scope) { /* back to the scope (apt_session_scope()), its caches in memory */
                static const char *const no_debs[] = {NULL};
                _cleanup_free_ char *list = xasprintf("%s/sources.list", s->scope);
                _cleanup_free_ char *parts = xasprintf("%s/sources.list.d/", s->scope);
                apt_shim_set_local(s->shim, no_debs, apt_memory_packages(s->host, NULL, s->scope_packages));
                apt_shim_set_sources(s->shim, list, parts);
                return apt_shim_reopen(s->shim, reterr);
        }
        /* the sources may have changed: rewrite them into the session's directory again (a bundle's
         * do not change, and their lists stay in the scratch directory) */
        if (s->root_sources) {
                _cleanup_free_ char *list = NULL, *parts = NULL;
                int r = apt_sources_rewrite(s->host, &s->tmpdir, &list, &parts);
                if (r < 0)
                        return errorf(reterr, r, "cannot prepare the sources: %s", strerror(-r));
                apt_shim_set_sources(s->shim, list, parts);
        }
        return apt_shim_reopen(s->shim, reterr);
}

/* ---- scoped resolution: the sources files whose indexes offer the packages, read alone */

/* The files of keep (bits of files[]) copied into dir/sources.list.d/, in libapt's order (NN- before
 * each name: sources.list among them too), beside an empty dir/sources.list. */
static int write_scope(const char *dir, char *const *files, uint64_t keep) {
        _cleanup_free_ char *list = NULL, *parts = NULL;
        _cleanup_free_ char *d = xstrdup(dir);
        int r = apt_sources_empty(&d, &list, &parts);
        for (size_t i = 0; r >= 0 && files[i]; i++) {
                if (!(keep & (UINT64_C(1) << i)))
                        continue;
                _cleanup_free_ char *text = NULL;
                const char *base = strrchr(files[i], '/');
                _cleanup_free_ char *to = xasprintf("%s%02zu-%s", parts, i, base ? base + 1 : files[i]);
                r = read_file(files[i], 16 * 1024 * 1024, &text, NULL);
                if (r >= 0)
                        r = write_file_scratch(to, text, strlen(text), 0644);
        }
        return r;
}

int apt_session_names(AptSession *s, char ***ret_files, AptNames **ret, char **reterr) {
        _cleanup_free_ char *cache = host_path(s->host, APT_NAMES_CACHE);
        return apt_shim_names(s->shim, mkdir_p(cache, 0755) >= 0 ? cache : NULL, ret_files, ret, reterr);
}

int apt_session_scope(AptSession *s, const AptPkgSpec *pkgs, size_t n, char **ret_note, char **reterr) {
        _cleanup_strv_free_ char **files = NULL;
        AptNames *names = NULL;
        if (!s->shim || !s->own_sources || s->scope || s->local)
                return 0;
        apt_names_ahead_wait(); /* what it read is in the cache now */
        int r = apt_session_names(s, &files, &names, reterr);
        if (r < 0)
                return r;
        size_t nf = strv_length(files);
        uint64_t all = nf >= 64 ? UINT64_MAX : (UINT64_C(1) << nf) - 1, keep = 0;
        for (size_t i = 0; i < n && keep != all; i++) {
                uint64_t m = apt_names_files(names, pkgs[i].name);
                keep |= m ? m : all; /* offered nowhere: libapt says so, over every source */
        }
        _cleanup_free_ char *dir = NULL;
        if (keep != all && (r = apt_session_subdir(s, "scope", &dir)) >= 0)
                r = write_scope(dir, files, keep);
        if (keep == all || r < 0) {
                apt_names_free(names);
                return r < 0 ? errorf(reterr, r, "cannot write the scoped sources: %s", strerror(-r)) : 0;
        }
        s->scope = TAKE_PTR(dir);
        s->scope_names = names;
        s->scope_outside = all & ~keep;
        s->scope_packages = apt_names_count(names, keep);
        *ret_note = xasprintf("%d of %zu sources files", __builtin_popcountll(keep), nf);
        r = apt_session_reopen(s, reterr);
        return r < 0 ? r : 1;
}

int apt_session_unscope(AptSession *s, char **reterr) {
        if (!s->scope)
                return 0;
        free(s->scope);
        s->scope = NULL;
        apt_names_free(s->scope_names);
        s->scope_names = NULL;
        leave_local(s); /* a scope's caches are in memory, as a local session's */
        return apt_session_reopen(s, reterr);
}

int apt_session_scope_check(AptSession *s, char **reterr) {
        if (!s->scope || s->local)
                return 0;
        _cleanup_free_ char *why = NULL;
        int r = apt_shim_scope_check(s->shim, s->scope_names, s->scope_outside, &why);
        if (r == 0)
                return errorf(reterr, -ESTALE, "%s", why);
        return r < 0 ? errorf(reterr, r, "%s", why ? why : strerror(-r)) : 0;
}
