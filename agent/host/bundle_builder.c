/* Making an offline bundle (see bundle.h): a scratch copy of the source machine's apt state, the
 * files the plan's steps stage into it, and the tarball with its manifest first. */
#include "host/bundle.h"

#include <fcntl.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

#include "base/error.h"
#include "base/hash.h"
#include "host/tarball.h"

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

/* path under src's root into to/: regular files and directories, each entry resolved in the root,
 * so that a link there (a keyring linked from /etc/apt/trusted.gpg.d) is copied as the file it
 * names inside the root; a path that does not exist copies nothing. */
static int copy_tree_in_root(const Host *src, const char *path, const char *to, unsigned depth) {
        _cleanup_free_ char *f = host_path(src, path);
        struct stat st;
        if (stat(f, &st) < 0)
                return errno == ENOENT ? 0 : negative_errno();
        if (S_ISREG(st.st_mode))
                return copy_regular_file(f, to);
        if (!S_ISDIR(st.st_mode) || depth > 32)
                return 0;
        int r = mkdir_p(to, 0755);
        if (r < 0)
                return r;
        _cleanup_(closedirp) DIR *d = opendir(f);
        struct dirent *de;
        while (d && (de = readdir(d))) {
                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                _cleanup_free_ char *p = xasprintf("%s/%s", path, de->d_name), *t = xasprintf("%s/%s", to, de->d_name);
                r = copy_tree_in_root(src, p, t, depth + 1);
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
        int r = mkdir_p(sroot, 0755); /* paths are resolved in it: it must exist */
        if (r < 0)
                return errorf(reterr, r, "cannot create %s: %s", sroot, strerror(-r));
        /* what apt reads of the machine: its configuration, keyrings, dpkg's database, the OS */
        static const char *const copy[] = {"/etc/os-release", "/usr/lib/os-release", "/etc/apt", "/usr/share/keyrings",
                                           "/var/lib/dpkg/status", "/var/lib/dpkg/arch"};
        for (size_t i = 0; i < ELEMENTSOF(copy); i++) {
                _cleanup_free_ char *f = host_path(src, copy[i]), *t = host_path(&b->scratch, copy[i]);
                r = copy_tree_in_root(src, copy[i], t, 0);
                if (r < 0)
                        return errorf(reterr, r, "cannot copy %s into the work directory: %s", f, strerror(-r));
        }
        r = mkdir_p(b->stage, 0755);
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
                r = copy_regular_file(src_path, to);
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
        /* the plan first, then keyrings (with the signed indexes that vouch for them), keys, the
         * repositories, and the container smoke test's image archives */
        m->files = xcalloc(b->n_files + 1, sizeof(BundleFile));
        static const char *const order[] = {"plan", "keyring-deb", "keyring-chain", "key", "index", "deb", "image"};
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

        r = tar_writer_open(out, 0644, &w, reterr);
        if (r < 0)
                return r;
        r = tar_writer_add_data(w, BUNDLE_MANIFEST, json, strlen(json), 0644, 0, reterr);
        for (size_t i = 0; r >= 0 && i < m->n_files; i++) {
                _cleanup_free_ char *path = xasprintf("%s/%s", b->stage, m->files[i].path);
                char sum[65];
                r = tar_writer_add_file(w, m->files[i].path, path, 0644, sum, reterr);
                if (r >= 0 && !streq(sum, m->files[i].sha256)) {
                        r = errorf(reterr, -EIO, "%s changed while the bundle was written", path);
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
