#include "base/jsontext.h"
#include "host/bundle.h"

#include <fcntl.h>
#include <stddef.h>
#include <json-c/json.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>

#include "base/error.h"
#include "base/path.h"
#include "base/hash.h"
#include "base/strset.h"
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
        free(m->by_path);
        free(m);
        return NULL;
}

/* by_path: the files' indices in strcmp() order of their paths, for a binary search */
static int cmp_index_path(const void *a, const void *b, void *userdata) {
        const BundleManifest *m = userdata;
        return strcmp(m->files[*(const size_t *) a].path, m->files[*(const size_t *) b].path);
}

static void manifest_index(BundleManifest *m) {
        m->by_path = xcalloc(m->n_files + 1, sizeof(size_t));
        for (size_t i = 0; i < m->n_files; i++)
                m->by_path[i] = i;
        qsort_r(m->by_path, m->n_files, sizeof(size_t), cmp_index_path, m);
}

const BundleFile *bundle_manifest_find(const BundleManifest *m, const char *path) {
        if (m->by_path) {
                size_t lo = 0, hi = m->n_files;
                while (lo < hi) {
                        size_t mid = lo + (hi - lo) / 2;
                        int c = strcmp(path, m->files[m->by_path[mid]].path);
                        if (c == 0)
                                return &m->files[m->by_path[mid]];
                        if (c < 0)
                                hi = mid;
                        else
                                lo = mid + 1;
                }
                return NULL;
        }
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
        if (isempty(p) || p[0] == '/' || strlen(p) > 1024 || strstr(p, "//"))
                return false; /* "//": an empty component */
        const char *c;
        size_t n;
        for (const char *s = p; (n = path_next_component(&s, &c)) > 0;) {
                if (component_is_dot(c, n) || component_is_dotdot(c, n))
                        return false;
                for (size_t i = 0; i < n; i++)
                        if ((unsigned char) c[i] < 0x20 || c[i] == 0x7f)
                                return false;
        }
        return true;
}

/* The string members of a JSON object that a struct keeps, by name and place. */
typedef struct JsonField {
        const char *key;
        size_t offset; /* of a char * in the struct */
} JsonField;

static const JsonField manifest_fields[] = {
        {"created", offsetof(BundleManifest, created)},
        {"gpubase_version", offsetof(BundleManifest, gpubase_version)},
        {"os", offsetof(BundleManifest, os)},
        {"arch", offsetof(BundleManifest, arch)},
};

static const JsonField plan_fields[] = {
        {"name", offsetof(BundleManifest, plan_name)},
        {"sha256", offsetof(BundleManifest, plan_sha256)},
        {"source", offsetof(BundleManifest, plan_source)},
};

static const JsonField file_fields[] = {
        {"path", offsetof(BundleFile, path)},       {"sha256", offsetof(BundleFile, sha256)},
        {"kind", offsetof(BundleFile, kind)},       {"step", offsetof(BundleFile, step)},
        {"package", offsetof(BundleFile, package)}, {"version", offsetof(BundleFile, version)},
        {"architecture", offsetof(BundleFile, arch)}, {"from", offsetof(BundleFile, from)},
};

/* Each field's string (a copy; NULL when missing or not a string) into its place in dest. */
static void json_fields(json_object *o, const JsonField *fields, size_t n, void *dest) {
        for (size_t i = 0; i < n; i++)
                *(char **) ((char *) dest + fields[i].offset) = jstr(o, fields[i].key);
}

/* "plan": name, sha256, source and the NAME=VALUE vars it was loaded with. */
static int manifest_parse_plan(json_object *o, BundleManifest *m, char **reterr) {
        json_object *plan = NULL, *v = NULL;

        if (!json_object_object_get_ex(o, "plan", &plan) || !json_object_is_type(plan, json_type_object))
                return errorf(reterr, -EBADMSG, BUNDLE_MANIFEST " has no \"plan\"");
        json_fields(plan, plan_fields, ELEMENTSOF(plan_fields), m);
        if (!m->plan_name || !is_sha256(m->plan_sha256))
                return errorf(reterr, -EBADMSG, BUNDLE_MANIFEST ": the plan needs a name and a sha256");
        if (!json_object_object_get_ex(plan, "vars", &v) || !v)
                return 0;
        if (!json_object_is_type(v, json_type_array))
                return errorf(reterr, -EBADMSG, BUNDLE_MANIFEST ": plan.vars must be a list");
        for (size_t i = 0; i < json_object_array_length(v); i++) {
                json_object *e = json_object_array_get_idx(v, i);
                if (!json_object_is_type(e, json_type_string) || !strchr(json_object_get_string(e), '='))
                        return errorf(reterr, -EBADMSG, BUNDLE_MANIFEST ": plan.vars must hold NAME=VALUE strings");
                strv_push(&m->vars, xstrdup(json_object_get_string(e)));
        }
        return 0;
}

/* files[i] on its own (manifest_check_paths() compares them). */
static int manifest_parse_file(json_object *f, size_t i, BundleManifest *m, char **reterr) {
        BundleFile *bf = &m->files[i];
        json_object *sz = NULL;

        if (!json_object_is_type(f, json_type_object))
                return errorf(reterr, -EBADMSG, BUNDLE_MANIFEST ": files[%zu] is not an object", i);
        json_fields(f, file_fields, ELEMENTSOF(file_fields), bf);
        if (!manifest_path_ok(bf->path) || streq(bf->path, BUNDLE_MANIFEST))
                return errorf(reterr, -EBADMSG, BUNDLE_MANIFEST ": files[%zu] has a bad path '%s'", i,
                              bf->path ? bf->path : "");
        if (!is_sha256(bf->sha256) || !bf->kind || !json_object_object_get_ex(f, "size", &sz) ||
            !json_object_is_type(sz, json_type_int) || json_object_get_int64(sz) < 0)
                return errorf(reterr, -EBADMSG, BUNDLE_MANIFEST ": %s needs a sha256, a size and a kind", bf->path);
        bf->size = (uint64_t) json_object_get_int64(sz);
        return 0;
}

/* No path twice, and none that is also the directory of another ("keys" and "keys/a.key": such a
 * bundle could be inspected but never extracted). Linear in the length of the paths: a manifest
 * that lists a hundred thousand files is checked as fast as it is read. */
static int manifest_check_paths(const BundleManifest *m, char **reterr) {
        _cleanup_(strset_done) StrSet paths = {0};
        for (size_t i = 0; i < m->n_files; i++)
                if (!strset_add(&paths, m->files[i].path))
                        return errorf(reterr, -EBADMSG, BUNDLE_MANIFEST ": %s is listed twice", m->files[i].path);
        for (size_t i = 0; i < m->n_files; i++) {
                _cleanup_free_ char *dir = xstrdup(m->files[i].path);
                for (char *slash = strrchr(dir, '/'); slash; slash = strrchr(dir, '/')) {
                        *slash = 0;
                        if (strset_contains(&paths, dir))
                                return errorf(reterr, -EBADMSG,
                                              BUNDLE_MANIFEST ": %s and %s: a file cannot also be a directory", dir,
                                              m->files[i].path);
                }
        }
        return 0;
}

/* The sum of the sizes the manifest lists; -EFBIG beyond what a bundle may hold. */
static int manifest_total(const BundleManifest *m, uint64_t *ret, char **reterr) {
        uint64_t total = 0;
        for (size_t i = 0; i < m->n_files; i++) {
                if (m->files[i].size > BUNDLE_MAX_BYTES - total)
                        return errorf(reterr, -EFBIG, BUNDLE_MANIFEST ": the files it lists hold more than %llu bytes",
                                      (unsigned long long) BUNDLE_MAX_BYTES);
                total += m->files[i].size;
        }
        *ret = total;
        return 0;
}

static int manifest_parse_object(json_object *o, BundleManifest *m, char **reterr) {
        json_object *v = NULL, *files = NULL;
        int r;

        if (!json_object_object_get_ex(o, "format", &v) || !json_object_is_type(v, json_type_int) ||
            json_object_get_int(v) != BUNDLE_FORMAT)
                return errorf(reterr, -EBADMSG, BUNDLE_MANIFEST ": unknown bundle format (this gpubase reads format %d)",
                              BUNDLE_FORMAT);
        m->format = BUNDLE_FORMAT;
        json_fields(o, manifest_fields, ELEMENTSOF(manifest_fields), m);
        r = manifest_parse_plan(o, m, reterr);
        if (r < 0)
                return r;
        if (!json_object_object_get_ex(o, "files", &files) || !json_object_is_type(files, json_type_array))
                return errorf(reterr, -EBADMSG, BUNDLE_MANIFEST " has no \"files\" list");
        m->n_files = json_object_array_length(files);
        m->files = xcalloc(m->n_files + 1, sizeof(BundleFile));
        for (size_t i = 0; i < m->n_files; i++) {
                r = manifest_parse_file(json_object_array_get_idx(files, i), i, m, reterr);
                if (r < 0)
                        return r;
        }
        r = manifest_check_paths(m, reterr);
        if (r < 0)
                return r;
        r = manifest_total(m, &m->total, reterr);
        if (r < 0)
                return r;
        manifest_index(m);
        if (!bundle_manifest_find(m, BUNDLE_PLAN))
                return errorf(reterr, -EBADMSG, BUNDLE_MANIFEST ": the bundle has no " BUNDLE_PLAN);
        return 0;
}

int bundle_manifest_parse(const char *text, size_t len, BundleManifest **ret, char **reterr) {
        _cleanup_(bundle_manifest_freep) BundleManifest *m = xcalloc(1, sizeof *m);
        json_object *o = NULL;
        _cleanup_free_ char *why = NULL;
        if (json_parse(text, len, &o, &why) < 0)
                return errorf(reterr, -EBADMSG, BUNDLE_MANIFEST " is not a JSON object: %s", why);
        if (!json_object_is_type(o, json_type_object)) {
                json_object_put(o);
                return errorf(reterr, -EBADMSG, BUNDLE_MANIFEST " is not a JSON object");
        }
        int r = manifest_parse_object(o, m, reterr);
        json_object_put(o);
        if (r < 0)
                return r;
        sha256_hex(text, len, m->sha256);
        *ret = TAKE_PTR(m);
        return 0;
}

static json_object *jnew(const char *s) {
        return json_str(s);
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
                json_object_array_add(vars, json_str(m->vars[i]));
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
        _cleanup_free_ char *text = json_text(o, true);
        char *t = xasprintf("%s\n", text);
        json_object_put(o);
        return t;
}

/* ---- reading a bundle ---- */

typedef struct OpenCtx {
        const char *file, *tmp; /* tmp: where it is extracted, or NULL */
        BundleManifest *m;
        bool *seen;
        bool first;
        StrSet dirs; /* the directories of the files the manifest lists */
} OpenCtx;

/* The manifest (the first entry) is read into memory only; every later entry must be one it lists,
 * at the size it lists, before a byte of it is read or written. */
static int header_cb(const TarEntry *e, void *userdata, char **reterr) {
        OpenCtx *c = userdata;
        if (e->directory && !c->m)
                return 1; /* nothing is written before the manifest is read */
        if (e->directory) {
                if (!strset_contains(&c->dirs, e->name))
                        return errorf(reterr, -EPERM, "%s: refusing the directory '%s': no file the manifest lists is in it",
                                      c->file, e->name);
                return 0;
        }
        if (c->first) {
                if (!streq(e->name, BUNDLE_MANIFEST))
                        return errorf(reterr, -EBADMSG, "%s is not a gpubase bundle: its first file must be " BUNDLE_MANIFEST
                                      " (found '%s')",
                                      c->file, e->name);
                if (e->size > BUNDLE_MANIFEST_MAX)
                        return errorf(reterr, -EFBIG, "%s: its " BUNDLE_MANIFEST " is larger than %u bytes; refusing the bundle",
                                      c->file, BUNDLE_MANIFEST_MAX);
                return 1;
        }
        if (!c->m)
                return errorf(reterr, -EBADMSG, "%s is not a gpubase bundle: it does not start with " BUNDLE_MANIFEST, c->file);
        const BundleFile *f = bundle_manifest_find(c->m, e->name);
        if (!f)
                return errorf(reterr, -EPERM, "%s: refusing '%s': it is not in the bundle's manifest", c->file, e->name);
        if (f->size != e->size)
                return errorf(reterr, -EPERM, "%s: refusing '%s': it holds %llu bytes, the manifest says %llu", c->file,
                              e->name, (unsigned long long) e->size, (unsigned long long) f->size);
        return 0;
}

/* Does the bundle's content fit where it is extracted? Checked before anything but the manifest is written. */
static int check_free_space(const OpenCtx *c, char **reterr) {
        struct statvfs sv;
        if (statvfs(c->tmp, &sv) < 0) {
                int r = negative_errno();
                return errorf(reterr, r, "cannot tell the free space in %s: %s", c->tmp, strerror(-r));
        }
        uint64_t avail = (uint64_t) sv.f_bavail * (uint64_t) sv.f_frsize;
        if (c->m->total > avail)
                return errorf(reterr, -ENOSPC, "%s: its files need %llu bytes, %s has %llu free; free some space and run again",
                              c->file, (unsigned long long) c->m->total, c->tmp, (unsigned long long) avail);
        return 0;
}

/* The manifest, read into memory: parsed, the space checked, then written where it is extracted. */
static int open_manifest(OpenCtx *c, const TarEntry *e, char **reterr) {
        _cleanup_free_ char *why = NULL;
        if (!e->data)
                return errorf(reterr, -EBADMSG, "%s: cannot read its " BUNDLE_MANIFEST, c->file);
        int r = bundle_manifest_parse(e->data, e->size, &c->m, &why);
        if (r < 0)
                return errorf(reterr, r, "%s: %s", c->file, why);
        c->seen = xcalloc(c->m->n_files + 1, sizeof(bool));
        for (size_t i = 0; i < c->m->n_files; i++) {
                _cleanup_free_ char *dir = xstrdup(c->m->files[i].path);
                for (char *slash = strrchr(dir, '/'); slash; slash = strrchr(dir, '/')) {
                        *slash = 0;
                        if (!strset_add(&c->dirs, dir))
                                break; /* and so are the ones above it */
                }
        }
        if (!c->tmp)
                return 0;
        r = check_free_space(c, reterr);
        if (r < 0)
                return r;
        _cleanup_free_ char *p = xasprintf("%s/" BUNDLE_MANIFEST, c->tmp);
        r = write_file_atomic(p, e->data, e->size, 0644);
        if (r < 0)
                return errorf(reterr, r, "cannot write %s: %s", p, strerror(-r));
        return 0;
}

static int entry_cb(const TarEntry *e, void *userdata, char **reterr) {
        OpenCtx *c = userdata;
        if (e->directory)
                return 0;
        if (c->first) {
                c->first = false;
                return open_manifest(c, e, reterr);
        }
        const BundleFile *f = bundle_manifest_find(c->m, e->name); /* header_cb() found it */
        if (!f)
                return -EPERM;
        if (!streq(f->sha256, e->sha256) || f->size != e->size)
                return errorf(reterr, -EPERM, "%s: checksum mismatch for %s: its sha256 is %s (%llu bytes), the manifest "
                              "says %s (%llu bytes); refusing the bundle",
                              c->file, e->name, e->sha256, (unsigned long long) e->size, f->sha256,
                              (unsigned long long) f->size);
        c->seen[f - c->m->files] = true;
        return 0;
}

/* The DEST.new.XXXXXX directories a run killed while extracting left beside dest. */
static void remove_stale_extractions(const char *dest) {
        remove_stale_beside(dest, "", ".new.", 6);
}

static const TarScanHooks open_hooks = {.header = header_cb, .entry = entry_cb};

int bundle_open(const char *file, const char *dest, BundleManifest **ret, char **reterr) {
        OpenCtx c = {.file = file, .first = true};
        _cleanup_free_ char *tmp = NULL;
        int r;
        if (dest) {
                r = mkdir_parents(dest, 0755);
                if (r < 0)
                        return errorf(reterr, r, "cannot create the parent directory of %s: %s", dest, strerror(-r));
                remove_stale_extractions(dest);
                tmp = xasprintf("%s.new.XXXXXX", dest);
                if (!mkdtemp(tmp)) {
                        r = negative_errno();
                        return errorf(reterr, r, "cannot create a directory beside %s: %s", dest, strerror(-r));
                }
                c.tmp = tmp;
        }
        r = tar_scan(file, tmp, BUNDLE_MANIFEST_MAX, BUNDLE_MAX_BYTES, &open_hooks, &c, reterr);
        for (size_t i = 0; r >= 0 && c.m && i < c.m->n_files; i++)
                if (!c.seen[i]) {
                        r = errorf(reterr, -EBADMSG, "%s: %s is in the manifest but not in the bundle", file, c.m->files[i].path);
                }
        if (r >= 0 && !c.m) {
                r = errorf(reterr, -EBADMSG, "%s is not a gpubase bundle: it holds no " BUNDLE_MANIFEST, file);
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
        strset_done(&c.dirs);
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
        int r = read_file(mp, BUNDLE_MANIFEST_MAX, &text, &len);
        if (r < 0)
                return errorf(reterr, r, "cannot read %s: %s", mp, strerror(-r));
        r = bundle_manifest_parse(text, len, &m, &why);
        if (r < 0)
                return errorf(reterr, r, "%s: %s", mp, why);
        /* bundle_manifest_parse() set m: errorf() returns the negative r it is given */
        for (size_t i = 0; i < m->n_files; i++) { /* NOLINT(clang-analyzer-core.NullDereference) */
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
        static const char *const sub[] = {"repo", "keyrings", "keys", "images"};
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
