#include "host/bundle.h"

#include <fcntl.h>
#include <json-c/json.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "base/error.h"
#include "host/debfile.h"
#include "host/tarball.h"

/* ---- manifest ---- */

static void bundle_file_done(BundleFile *f) {
        free(f->path);
        free(f->sha256);
        free(f->kind);
        free(f->step);
        free(f->package);
        free(f->version);
        free(f->arch);
        free(f->from);
}

BundleManifest *bundle_manifest_free(BundleManifest *m) {
        if (!m)
                return NULL;
        free(m->created);
        free(m->gpubase_version);
        free(m->os);
        free(m->arch);
        free(m->plan_name);
        free(m->plan_sha256);
        free(m->plan_source);
        strv_free(m->vars);
        for (size_t i = 0; i < m->n_files; i++)
                bundle_file_done(&m->files[i]);
        free(m->files);
        free(m);
        return NULL;
}

const BundleFile *bundle_manifest_find(const BundleManifest *m, const char *path) {
        for (size_t i = 0; i < m->n_files; i++)
                if (streq(m->files[i].path, path))
                        return &m->files[i];
        return NULL;
}

static char *jstr(json_object *o, const char *key) {
        json_object *v = NULL;
        if (!json_object_object_get_ex(o, key, &v) || !v || !json_object_is_type(v, json_type_string))
                return NULL;
        return xstrdup(json_object_get_string(v));
}

static bool is_sha256(const char *s) {
        if (!s || strlen(s) != 64)
                return false;
        for (const char *c = s; *c; c++)
                if (!((*c >= '0' && *c <= '9') || (*c >= 'a' && *c <= 'f')))
                        return false;
        return true;
}

/* A manifest path: relative, no "..", no empty or "." components, nothing odd. */
static bool manifest_path_ok(const char *p) {
        if (isempty(p) || p[0] == '/' || strlen(p) > 1024)
                return false;
        for (const char *s = p; *s;) {
                const char *e = strchrnul(s, '/');
                size_t n = (size_t) (e - s);
                if (n == 0 || (n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.'))
                        return false;
                for (const char *c = s; c < e; c++)
                        if ((unsigned char) *c < 0x20 || *c == 0x7f)
                                return false;
                s = *e ? e + 1 : e;
        }
        return true;
}

/* Is path somewhere below the directory dir ("keys/a.key" is below "keys")? */
static bool path_is_below(const char *path, const char *dir) {
        size_t n = strlen(dir);
        return strncmp(path, dir, n) == 0 && path[n] == '/';
}

int bundle_manifest_parse(const char *text, size_t len, BundleManifest **ret, char **reterr) {
        _cleanup_(bundle_manifest_freep) BundleManifest *m = xcalloc(1, sizeof *m);
        json_tokener *tok = json_tokener_new();
        json_object *o = json_tokener_parse_ex(tok, text, (int) len);
        bool ok = o && json_tokener_get_error(tok) == json_tokener_success;
        json_tokener_free(tok);
        if (!ok || !json_object_is_type(o, json_type_object)) {
                json_object_put(o);
                return errorf(reterr, -EBADMSG, BUNDLE_MANIFEST " is not a JSON object");
        }
        int r = -EBADMSG;
        json_object *v = NULL, *files = NULL, *plan = NULL;
        if (!json_object_object_get_ex(o, "format", &v) || !json_object_is_type(v, json_type_int) ||
            json_object_get_int(v) != BUNDLE_FORMAT) {
                *reterr = xasprintf(BUNDLE_MANIFEST ": unknown bundle format (this gpubase reads format %d)", BUNDLE_FORMAT);
                goto out;
        }
        m->format = BUNDLE_FORMAT;
        m->created = jstr(o, "created");
        m->gpubase_version = jstr(o, "gpubase_version");
        m->os = jstr(o, "os");
        m->arch = jstr(o, "arch");
        if (!json_object_object_get_ex(o, "plan", &plan) || !json_object_is_type(plan, json_type_object)) {
                *reterr = xstrdup(BUNDLE_MANIFEST " has no \"plan\"");
                goto out;
        }
        m->plan_name = jstr(plan, "name");
        m->plan_sha256 = jstr(plan, "sha256");
        m->plan_source = jstr(plan, "source");
        if (!m->plan_name || !is_sha256(m->plan_sha256)) {
                *reterr = xstrdup(BUNDLE_MANIFEST ": the plan needs a name and a sha256");
                goto out;
        }
        if (json_object_object_get_ex(plan, "vars", &v) && v) {
                if (!json_object_is_type(v, json_type_array)) {
                        *reterr = xstrdup(BUNDLE_MANIFEST ": plan.vars must be a list");
                        goto out;
                }
                for (size_t i = 0; i < json_object_array_length(v); i++) {
                        json_object *e = json_object_array_get_idx(v, i);
                        if (!json_object_is_type(e, json_type_string) || !strchr(json_object_get_string(e), '=')) {
                                *reterr = xstrdup(BUNDLE_MANIFEST ": plan.vars must hold NAME=VALUE strings");
                                goto out;
                        }
                        strv_push(&m->vars, xstrdup(json_object_get_string(e)));
                }
        }
        if (!json_object_object_get_ex(o, "files", &files) || !json_object_is_type(files, json_type_array)) {
                *reterr = xstrdup(BUNDLE_MANIFEST " has no \"files\" list");
                goto out;
        }
        m->n_files = json_object_array_length(files);
        m->files = xcalloc(m->n_files + 1, sizeof(BundleFile));
        for (size_t i = 0; i < m->n_files; i++) {
                json_object *f = json_object_array_get_idx(files, i), *sz = NULL;
                BundleFile *bf = &m->files[i];
                if (!json_object_is_type(f, json_type_object)) {
                        *reterr = xasprintf(BUNDLE_MANIFEST ": files[%zu] is not an object", i);
                        goto out;
                }
                bf->path = jstr(f, "path");
                bf->sha256 = jstr(f, "sha256");
                bf->kind = jstr(f, "kind");
                bf->step = jstr(f, "step");
                bf->package = jstr(f, "package");
                bf->version = jstr(f, "version");
                bf->arch = jstr(f, "architecture");
                bf->from = jstr(f, "from");
                if (!manifest_path_ok(bf->path) || streq(bf->path, BUNDLE_MANIFEST)) {
                        *reterr = xasprintf(BUNDLE_MANIFEST ": files[%zu] has a bad path '%s'", i, bf->path ? bf->path : "");
                        goto out;
                }
                if (!is_sha256(bf->sha256) || !bf->kind || !json_object_object_get_ex(f, "size", &sz) ||
                    !json_object_is_type(sz, json_type_int) || json_object_get_int64(sz) < 0) {
                        *reterr = xasprintf(BUNDLE_MANIFEST ": %s needs a sha256, a size and a kind", bf->path);
                        goto out;
                }
                bf->size = (uint64_t) json_object_get_int64(sz);
                for (size_t j = 0; j < i; j++) {
                        const char *other = m->files[j].path;
                        if (streq(other, bf->path)) {
                                *reterr = xasprintf(BUNDLE_MANIFEST ": %s is listed twice", bf->path);
                                goto out;
                        }
                        /* "keys" and "keys/a.key": such a bundle could be inspected but never extracted */
                        if (path_is_below(bf->path, other) || path_is_below(other, bf->path)) {
                                *reterr = xasprintf(BUNDLE_MANIFEST ": %s and %s: a file cannot also be a directory",
                                                    other, bf->path);
                                goto out;
                        }
                }
        }
        if (!bundle_manifest_find(m, BUNDLE_PLAN)) {
                *reterr = xstrdup(BUNDLE_MANIFEST ": the bundle has no " BUNDLE_PLAN);
                goto out;
        }
        sha256_hex(text, len, m->sha256);
        *ret = TAKE_PTR(m);
        r = 0;
out:
        json_object_put(o);
        return r;
}

static json_object *jnew(const char *s) {
        return s ? json_object_new_string(s) : NULL;
}

char *bundle_manifest_to_json(const BundleManifest *m) {
        json_object *o = json_object_new_object(), *plan = json_object_new_object(), *files = json_object_new_array();
        json_object_object_add(o, "format", json_object_new_int(BUNDLE_FORMAT));
        json_object_object_add(o, "created", jnew(m->created));
        json_object_object_add(o, "gpubase_version", jnew(m->gpubase_version));
        json_object_object_add(o, "os", jnew(m->os));
        json_object_object_add(o, "arch", jnew(m->arch));
        json_object_object_add(plan, "name", jnew(m->plan_name));
        json_object_object_add(plan, "sha256", jnew(m->plan_sha256));
        json_object_object_add(plan, "source", jnew(m->plan_source));
        json_object *vars = json_object_new_array();
        for (size_t i = 0; m->vars && m->vars[i]; i++)
                json_object_array_add(vars, json_object_new_string(m->vars[i]));
        json_object_object_add(plan, "vars", vars);
        json_object_object_add(o, "plan", plan);
        for (size_t i = 0; i < m->n_files; i++) {
                const BundleFile *f = &m->files[i];
                json_object *j = json_object_new_object();
                json_object_object_add(j, "path", jnew(f->path));
                json_object_object_add(j, "sha256", jnew(f->sha256));
                json_object_object_add(j, "size", json_object_new_int64((int64_t) f->size));
                json_object_object_add(j, "kind", jnew(f->kind));
                if (f->step)
                        json_object_object_add(j, "step", jnew(f->step));
                if (f->package)
                        json_object_object_add(j, "package", jnew(f->package));
                if (f->version)
                        json_object_object_add(j, "version", jnew(f->version));
                if (f->arch)
                        json_object_object_add(j, "architecture", jnew(f->arch));
                if (f->from)
                        json_object_object_add(j, "from", jnew(f->from));
                json_object_array_add(files, j);
        }
        json_object_object_add(o, "files", files);
        char *t = xasprintf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
                                                                          JSON_C_TO_STRING_NOSLASHESCAPE));
        json_object_put(o);
        return t;
}

/* ---- reading a bundle ---- */

typedef struct OpenCtx {
        const char *file;
        BundleManifest *m;
        bool *seen;
        bool first;
} OpenCtx;

static int open_cb(const TarEntry *e, void *userdata, char **reterr) {
        OpenCtx *c = userdata;
        bool first = c->first;
        c->first = false;
        if (e->directory)
                return 0;
        if (first) {
                if (!streq(e->name, BUNDLE_MANIFEST) || !e->data)
                        return errorf(reterr, -EBADMSG, "%s is not a gpubase bundle: its first file must be " BUNDLE_MANIFEST
                                      " (found '%s')",
                                      c->file, e->name);
                _cleanup_free_ char *why = NULL;
                int r = bundle_manifest_parse(e->data, e->size, &c->m, &why);
                if (r < 0)
                        return errorf(reterr, r, "%s: %s", c->file, why);
                c->seen = xcalloc(c->m->n_files + 1, sizeof(bool));
                return 0;
        }
        if (!c->m)
                return errorf(reterr, -EBADMSG, "%s is not a gpubase bundle: it does not start with " BUNDLE_MANIFEST, c->file);
        for (size_t i = 0; i < c->m->n_files; i++) {
                const BundleFile *f = &c->m->files[i];
                if (!streq(f->path, e->name))
                        continue;
                if (!streq(f->sha256, e->sha256) || f->size != e->size)
                        return errorf(reterr, -EPERM, "%s: checksum mismatch for %s: its sha256 is %s (%llu bytes), the manifest "
                                      "says %s (%llu bytes); refusing the bundle",
                                      c->file, e->name, e->sha256, (unsigned long long) e->size, f->sha256,
                                      (unsigned long long) f->size);
                c->seen[i] = true;
                return 0;
        }
        return errorf(reterr, -EPERM, "%s: refusing '%s': it is not in the bundle's manifest", c->file, e->name);
}

int bundle_open(const char *file, const char *dest, BundleManifest **ret, char **reterr) {
        OpenCtx c = {.file = file, .first = true};
        _cleanup_free_ char *tmp = NULL;
        int r;
        if (dest) {
                r = mkdir_parents(dest, 0755);
                if (r < 0)
                        return errorf(reterr, r, "cannot create the parent directory of %s: %s", dest, strerror(-r));
                tmp = xasprintf("%s.new.XXXXXX", dest);
                if (!mkdtemp(tmp)) {
                        r = negative_errno();
                        return errorf(reterr, r, "cannot create a directory beside %s: %s", dest, strerror(-r));
                }
        }
        r = tar_scan(file, tmp, 16 * 1024 * 1024, BUNDLE_MAX_BYTES, open_cb, &c, reterr);
        for (size_t i = 0; r >= 0 && c.m && i < c.m->n_files; i++)
                if (!c.seen[i]) {
                        *reterr = xasprintf("%s: %s is in the manifest but not in the bundle", file, c.m->files[i].path);
                        r = -EBADMSG;
                }
        if (r >= 0 && !c.m) {
                *reterr = xasprintf("%s is not a gpubase bundle: it holds no " BUNDLE_MANIFEST, file);
                r = -EBADMSG;
        }
        if (r >= 0 && dest) {
                rm_rf_tree(dest);
                if (rename(tmp, dest) < 0) {
                        r = negative_errno();
                        *reterr = xasprintf("cannot move the bundle into %s: %s", dest, strerror(-r));
                } else
                        (void) fsync_parent_dir(dest);
        }
        if (r < 0 && tmp)
                rm_rf_tree(tmp);
        free(c.seen);
        if (r < 0) {
                bundle_manifest_free(c.m);
                return r;
        }
        *ret = c.m;
        return 0;
}

int bundle_verify_dir(const char *dir, BundleManifest **ret, char **reterr) {
        _cleanup_free_ char *mp = xasprintf("%s/" BUNDLE_MANIFEST, dir), *text = NULL, *why = NULL;
        _cleanup_(bundle_manifest_freep) BundleManifest *m = NULL;
        size_t len = 0;
        int r = read_file(mp, 16 * 1024 * 1024, &text, &len);
        if (r < 0)
                return errorf(reterr, r, "cannot read %s: %s", mp, strerror(-r));
        r = bundle_manifest_parse(text, len, &m, &why);
        if (r < 0)
                return errorf(reterr, r, "%s: %s", mp, why);
        for (size_t i = 0; i < m->n_files; i++) {
                _cleanup_free_ char *p = xasprintf("%s/%s", dir, m->files[i].path);
                char sum[65];
                struct stat st;
                if (lstat(p, &st) < 0 || !S_ISREG(st.st_mode) || sha256_file_hex(p, sum) < 0)
                        return errorf(reterr, -ENOENT, "the extracted bundle %s lacks %s; run again with --bundle FILE", dir,
                                      m->files[i].path);
                if (!streq(sum, m->files[i].sha256))
                        return errorf(reterr, -EPERM, "checksum mismatch for %s in the extracted bundle %s (sha256 %s, the manifest "
                                      "says %s); run again with --bundle FILE",
                                      m->files[i].path, dir, sum, m->files[i].sha256);
        }
        *ret = TAKE_PTR(m);
        return 0;
}

char *bundle_sources_list(const char *dir) {
        _cleanup_free_ char *repo = xasprintf("%s/repo", dir);
        _cleanup_(closedirp) DIR *d = opendir(repo);
        _cleanup_strv_free_ char **names = NULL;
        struct dirent *de;
        while (d && (de = readdir(d))) {
                if (de->d_name[0] == '.')
                        continue;
                _cleanup_free_ char *pk = xasprintf("%s/%s/Packages", repo, de->d_name);
                if (access(pk, R_OK) == 0)
                        strv_push(&names, xstrdup(de->d_name));
        }
        Buf b = {0};
        buf_printf(&b, "# gpubase: the repositories of the offline bundle %s (checked against its manifest)\n", dir);
        if (names) {
                qsort(names, strv_length(names), sizeof(char *), strcmp_ptr);
                for (size_t i = 0; names[i]; i++)
                        buf_printf(&b, "deb [trusted=yes] file:%s/%s/ ./\n", repo, names[i]);
        }
        return buf_steal(&b);
}

void bundle_prune(const char *dir) {
        static const char *const sub[] = {"repo", "keyrings", "keys"};
        for (size_t i = 0; i < ELEMENTSOF(sub); i++) {
                _cleanup_free_ char *p = xasprintf("%s/%s", dir, sub[i]);
                rm_rf_tree(p);
        }
}

int deb_unpack_files(const Host *h, const char *deb, char **reterr) {
        _cleanup_(deb_info_freep) DebInfo *info = NULL;
        _cleanup_free_ char *why = NULL;
        int r = deb_inspect(deb, &info, &why);
        if (r < 0)
                return errorf(reterr, r, "cannot read %s: %s", deb, why ? why : strerror(-r));
        for (size_t i = 0; i < info->n_entries; i++) {
                const DebEntry *e = &info->entries[i];
                if (e->type != DEB_ENTRY_FILE)
                        continue;
                _cleanup_free_ char *data = NULL, *p = host_path(h, e->path), *w2 = NULL;
                size_t len = 0;
                r = deb_read_data_file(deb, e->path, 0, &data, &len, &w2);
                if (r >= 0)
                        r = mkdir_parents(p, 0755);
                if (r >= 0)
                        r = write_file_atomic(p, data, len, e->mode & 0777);
                if (r < 0)
                        return errorf(reterr, r, "cannot unpack %s from %s: %s", e->path, deb, w2 ? w2 : strerror(-r));
        }
        return 0;
}

/* ---- making a bundle ---- */

typedef struct Repo {
        char *dir, *site, *origin, *label, *suite, *codename;
        Buf packages;
} Repo;

typedef struct Staged {
        char *name, *kind, *step, *package, *version, *arch, *from;
} Staged;

struct BundleBuilder {
        Host src, scratch;
        char *work, *stage;
        Repo *repos;
        size_t n_repos;
        Staged *files;
        size_t n_files;
};

static int copy_file(const char *from, const char *to) {
        _cleanup_close_ int in = open(from, O_RDONLY | O_CLOEXEC);
        struct stat st;
        if (in < 0 || fstat(in, &st) < 0)
                return negative_errno();
        int r = mkdir_parents(to, 0755);
        if (r < 0)
                return r;
        _cleanup_close_ int out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, st.st_mode & 0777);
        if (out < 0)
                return negative_errno();
        static char buf[1024 * 1024];
        ssize_t n;
        while ((n = read(in, buf, sizeof buf)) > 0)
                for (ssize_t off = 0; off < n;) {
                        ssize_t w = write(out, buf + off, (size_t) (n - off));
                        if (w < 0)
                                return negative_errno();
                        off += w;
                }
        return n < 0 ? negative_errno() : 0;
}

/* from/ into to/: regular files and directories, following symlinks (a keyring linked from
 * /etc/apt/trusted.gpg.d is copied as a file). */
static int copy_tree(const char *from, const char *to) {
        struct stat st;
        if (stat(from, &st) < 0)
                return errno == ENOENT ? 0 : negative_errno();
        if (S_ISREG(st.st_mode))
                return copy_file(from, to);
        if (!S_ISDIR(st.st_mode))
                return 0;
        int r = mkdir_p(to, 0755);
        if (r < 0)
                return r;
        _cleanup_(closedirp) DIR *d = opendir(from);
        struct dirent *de;
        while (d && (de = readdir(d))) {
                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                _cleanup_free_ char *f = xasprintf("%s/%s", from, de->d_name), *t = xasprintf("%s/%s", to, de->d_name);
                r = copy_tree(f, t);
                if (r < 0)
                        return r;
        }
        return 0;
}

int bundle_builder_new(const Host *src, BundleBuilder **ret, char **reterr) {
        _cleanup_(bundle_builder_freep) BundleBuilder *b = xcalloc(1, sizeof *b);
        char tmpl[] = "/tmp/gpubase-bundle.XXXXXX";
        if (!mkdtemp(tmpl)) {
                int r = negative_errno();
                return errorf(reterr, r, "cannot create a work directory: %s", strerror(-r));
        }
        b->work = xstrdup(tmpl);
        b->stage = xasprintf("%s/stage", b->work);
        _cleanup_free_ char *sroot = xasprintf("%s/root", b->work);
        b->src.root = xstrdup(src->root);
        b->scratch.root = xstrdup(sroot);
        /* what apt reads of the machine: its configuration, keyrings, dpkg's database, the OS */
        static const char *const copy[] = {"/etc/os-release", "/usr/lib/os-release", "/etc/apt", "/usr/share/keyrings",
                                           "/var/lib/dpkg/status", "/var/lib/dpkg/arch"};
        for (size_t i = 0; i < ELEMENTSOF(copy); i++) {
                _cleanup_free_ char *f = host_path(src, copy[i]), *t = host_path(&b->scratch, copy[i]);
                int r = copy_tree(f, t);
                if (r < 0)
                        return errorf(reterr, r, "cannot copy %s into the work directory: %s", f, strerror(-r));
        }
        int r = mkdir_p(b->stage, 0755);
        if (r < 0)
                return errorf(reterr, r, "cannot create %s: %s", b->stage, strerror(-r));
        *ret = TAKE_PTR(b);
        return 0;
}

BundleBuilder *bundle_builder_free(BundleBuilder *b) {
        if (!b)
                return NULL;
        if (b->work)
                rm_rf_tree(b->work);
        free(b->work);
        free(b->stage);
        host_done(&b->src);
        host_done(&b->scratch);
        for (size_t i = 0; i < b->n_repos; i++) {
                Repo *r = &b->repos[i];
                free(r->dir);
                free(r->site);
                free(r->origin);
                free(r->label);
                free(r->suite);
                free(r->codename);
                buf_done(&r->packages);
        }
        free(b->repos);
        for (size_t i = 0; i < b->n_files; i++) {
                Staged *s = &b->files[i];
                free(s->name);
                free(s->kind);
                free(s->step);
                free(s->package);
                free(s->version);
                free(s->arch);
                free(s->from);
        }
        free(b->files);
        free(b);
        return NULL;
}

const Host *bundle_builder_scratch(const BundleBuilder *b) {
        return &b->scratch;
}

const Host *bundle_builder_source(const BundleBuilder *b) {
        return &b->src;
}

static char *xstrdup_or_null(const char *s) {
        return s ? xstrdup(s) : NULL;
}

static Staged *stage_entry(BundleBuilder *b, const char *name) {
        for (size_t i = 0; i < b->n_files; i++)
                if (streq(b->files[i].name, name))
                        return &b->files[i];
        b->files = xrealloc(b->files, (b->n_files + 1) * sizeof(Staged));
        Staged *s = &b->files[b->n_files++];
        *s = (Staged){.name = xstrdup(name)};
        return s;
}

static int stage_copy(BundleBuilder *b, const char *name, const char *src_path, char **reterr) {
        _cleanup_free_ char *to = xasprintf("%s/%s", b->stage, name);
        int r = mkdir_parents(to, 0755);
        (void) unlink(to);
        if (r >= 0 && link(src_path, to) < 0)
                r = copy_file(src_path, to);
        if (r < 0)
                return errorf(reterr, r, "cannot copy %s into the bundle: %s", src_path, strerror(-r));
        return 0;
}

int bundle_builder_add_file(BundleBuilder *b, const char *name, const char *src_path, const char *kind,
                            const char *step, const char *package, const char *version, char **reterr) {
        int r = stage_copy(b, name, src_path, reterr);
        if (r < 0)
                return r;
        Staged *s = stage_entry(b, name);
        free(s->kind);
        free(s->step);
        free(s->package);
        free(s->version);
        s->kind = xstrdup(kind);
        s->step = xstrdup_or_null(step);
        s->package = xstrdup_or_null(package);
        s->version = xstrdup_or_null(version);
        return 0;
}

static char *sanitize(const char *s) {
        if (isempty(s))
                return xstrdup("local");
        char *d = xstrdup(s);
        for (char *c = d; *c; c++)
                if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') || *c == '.' ||
                      *c == '-' || *c == '_'))
                        *c = '_';
        if (d[0] == '.')
                d[0] = '_';
        return d;
}

static Repo *repo_for(BundleBuilder *b, const AptArchive *a) {
        for (size_t i = 0; i < b->n_repos; i++) {
                Repo *r = &b->repos[i];
                if (streq(r->site, a->site) && streq(r->origin, a->origin) && streq(r->label, a->label) &&
                    streq(r->suite, a->suite) && streq(r->codename, a->codename))
                        return r;
        }
        _cleanup_free_ char *base = sanitize(a->site);
        char *dir = xstrdup(base);
        for (unsigned n = 2;; n++) {
                bool taken = false;
                for (size_t i = 0; i < b->n_repos; i++)
                        taken = taken || streq(b->repos[i].dir, dir);
                if (!taken)
                        break;
                free(dir);
                dir = xasprintf("%s-%u", base, n);
        }
        b->repos = xrealloc(b->repos, (b->n_repos + 1) * sizeof(Repo));
        Repo *r = &b->repos[b->n_repos++];
        *r = (Repo){.dir = dir, .site = xstrdup(a->site), .origin = xstrdup(a->origin), .label = xstrdup(a->label),
                    .suite = xstrdup(a->suite), .codename = xstrdup(a->codename)};
        return r;
}

int bundle_builder_add_archive(BundleBuilder *b, const AptArchive *a, const char *step, char **reterr) {
        for (size_t i = 0; i < b->n_files; i++) {
                const Staged *s = &b->files[i];
                if (streq(s->kind, "deb") && streq(s->package, a->name) && streq(s->version, a->version) &&
                    streq(s->arch, a->arch))
                        return 1;
        }
        Repo *repo = repo_for(b, a);
        const char *base = strrchr(a->path, '/') ? strrchr(a->path, '/') + 1 : a->path;
        _cleanup_free_ char *name = xasprintf("repo/%s/%s", repo->dir, base);
        int r = stage_copy(b, name, a->path, reterr);
        if (r < 0)
                return r;
        Staged *s = stage_entry(b, name);
        s->kind = xstrdup("deb");
        s->step = xstrdup(step);
        s->package = xstrdup(a->name);
        s->version = xstrdup(a->version);
        s->arch = xstrdup(a->arch);
        s->from = xstrdup(a->uri);
        /* the index's own stanza, pointing at the file beside it */
        for (const char *l = a->record; *l;) {
                const char *e = strchrnul(l, '\n');
                size_t n = (size_t) (e - l);
                if (n == 0)
                        break; /* the end of the stanza */
                if (strncasecmp(l, "Filename:", 9) == 0)
                        buf_printf(&repo->packages, "Filename: ./%s\n", base);
                else {
                        buf_append(&repo->packages, l, n);
                        buf_puts(&repo->packages, "\n");
                }
                l = *e ? e + 1 : e;
        }
        buf_puts(&repo->packages, "\n");
        return 0;
}

static int stage_data(BundleBuilder *b, const char *name, const char *data, size_t len, const char *kind, char **reterr) {
        _cleanup_free_ char *to = xasprintf("%s/%s", b->stage, name);
        int r = mkdir_parents(to, 0755);
        if (r >= 0)
                r = write_file_atomic(to, data, len, 0644);
        if (r < 0)
                return errorf(reterr, r, "cannot write %s: %s", to, strerror(-r));
        Staged *s = stage_entry(b, name);
        free(s->kind);
        s->kind = xstrdup(kind);
        return 0;
}

static int write_repos(BundleBuilder *b, char **reterr) {
        for (size_t i = 0; i < b->n_repos; i++) {
                Repo *repo = &b->repos[i];
                _cleanup_free_ char *pk = xasprintf("repo/%s/Packages", repo->dir);
                _cleanup_free_ char *rel = xasprintf("repo/%s/Release", repo->dir);
                const char *text = repo->packages.data ? repo->packages.data : "";
                int r = stage_data(b, pk, text, repo->packages.len, "index", reterr);
                if (r < 0)
                        return r;
                char sum[65], date[64];
                sha256_hex(text, repo->packages.len, sum);
                time_t now = time(NULL);
                struct tm tm;
                strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S UTC", gmtime_r(&now, &tm));
                Buf rb = {0};
                if (*repo->origin)
                        buf_printf(&rb, "Origin: %s\n", repo->origin);
                if (*repo->label)
                        buf_printf(&rb, "Label: %s\n", repo->label);
                if (*repo->suite)
                        buf_printf(&rb, "Suite: %s\n", repo->suite);
                if (*repo->codename)
                        buf_printf(&rb, "Codename: %s\n", repo->codename);
                buf_printf(&rb, "Date: %s\nDescription: gpubase offline bundle: packages from %s\nSHA256:\n %s %zu Packages\n",
                           date, *repo->site ? repo->site : "a local repository", sum, repo->packages.len);
                _cleanup_free_ char *rtext = buf_steal(&rb);
                r = stage_data(b, rel, rtext, strlen(rtext), "index", reterr);
                if (r < 0)
                        return r;
        }
        return 0;
}

int bundle_builder_write(BundleBuilder *b, const BundlePlanRef *p, const char *out, BundleManifest **ret,
                         char **reterr) {
        _cleanup_(bundle_manifest_freep) BundleManifest *m = xcalloc(1, sizeof *m);
        _cleanup_(tar_writer_abortp) TarWriter *w = NULL;
        _cleanup_free_ char *plan_text = NULL, *json = NULL;
        size_t plan_len = 0;
        int r;

        r = read_file(p->path, p->max_size, &plan_text, &plan_len);
        if (r < 0)
                return errorf(reterr, r, "cannot read the plan %s: %s", p->path, strerror(-r));
        r = stage_data(b, BUNDLE_PLAN, plan_text, plan_len, "plan", reterr);
        if (r < 0)
                return r;
        r = write_repos(b, reterr);
        if (r < 0)
                return r;

        OsInfo os = {0};
        if (host_os_info(&b->src, &os) == 0)
                m->os = xasprintf("%s-%s", os.id, os.version_id);
        os_info_done(&os);
        m->format = BUNDLE_FORMAT;
        m->created = format_timestamp(now_usec());
        m->gpubase_version = xstrdup(GPUBASE_VERSION);
        m->arch = xstrdup(host_arch());
        m->plan_name = xstrdup(p->name);
        m->plan_sha256 = xstrdup(p->sha256);
        m->plan_source = xstrdup(p->path);
        m->vars = p->vars ? strv_copy(p->vars) : NULL;
        /* the plan first, then keyrings, keys, and the repositories */
        m->files = xcalloc(b->n_files + 1, sizeof(BundleFile));
        static const char *const order[] = {"plan", "keyring-deb", "key", "index", "deb"};
        for (size_t k = 0; k < ELEMENTSOF(order); k++)
                for (size_t i = 0; i < b->n_files; i++) {
                        const Staged *s = &b->files[i];
                        if (!streq(s->kind, order[k]))
                                continue;
                        BundleFile *f = &m->files[m->n_files++];
                        _cleanup_free_ char *path = xasprintf("%s/%s", b->stage, s->name);
                        char sum[65];
                        struct stat st;
                        r = sha256_file_hex(path, sum);
                        if (r < 0 || stat(path, &st) < 0)
                                return errorf(reterr, r < 0 ? r : -EIO, "cannot read %s: %s", path, strerror(r < 0 ? -r : errno));
                        *f = (BundleFile){.path = xstrdup(s->name), .sha256 = xstrdup(sum), .kind = xstrdup(s->kind),
                                          .step = xstrdup_or_null(s->step), .package = xstrdup_or_null(s->package),
                                          .version = xstrdup_or_null(s->version), .arch = xstrdup_or_null(s->arch),
                                          .from = xstrdup_or_null(s->from), .size = (uint64_t) st.st_size};
                }
        json = bundle_manifest_to_json(m);
        sha256_hex(json, strlen(json), m->sha256);

        r = tar_writer_open(out, &w, reterr);
        if (r < 0)
                return r;
        r = tar_writer_add_data(w, BUNDLE_MANIFEST, json, strlen(json), 0644, 0, reterr);
        for (size_t i = 0; r >= 0 && i < m->n_files; i++) {
                _cleanup_free_ char *path = xasprintf("%s/%s", b->stage, m->files[i].path);
                char sum[65];
                r = tar_writer_add_file(w, m->files[i].path, path, 0644, sum, reterr);
                if (r >= 0 && !streq(sum, m->files[i].sha256)) {
                        *reterr = xasprintf("%s changed while the bundle was written", path);
                        r = -EIO;
                }
        }
        if (r < 0)
                return r;
        r = tar_writer_finish(TAKE_PTR(w), reterr);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(m);
        return 0;
}
