/* The keyring package's chain of trust (see keyring_chain.h).
 *
 * The signature and index checks are libapt's own: the repository is fetched with an `apt update`
 * of one source, in a temporary lists directory, whose Signed-By is a keyring holding the pinned key
 * alone. libapt's gpgv method verifies InRelease (or Release + Release.gpg) with gpgv, checks every
 * index it downloads against the hashes in the signed file, and marks the indexes trusted; the
 * package's SHA256 is then read from the trusted index record. We chose this over calling gpgv or
 * libcrypto ourselves because it is the very code apt runs when it later installs from that
 * repository (clear-signed message parsing, hash lists, compressed indexes, InRelease to Release.gpg
 * fallback, expiry), so no OpenPGP or index parsing of ours stands between the pin and the file. */
#include "steps/keyring_chain.h"

#include <string.h>
#include <sys/stat.h>

#include "base/error.h"
#include "base/hash.h"
#include "host/apt.h"
#include "host/pgp.h"
#include "steps/apt_output.h"

/* One repository named by the package: "deb URI SUITE [COMPONENT...]". */
typedef struct Repo {
        char *uri, *suite, *components; /* components "" for a flat repository */
} Repo;

typedef struct Repos {
        Repo *v;
        size_t n;
} Repos;

static void repos_done(Repos *r) {
        for (size_t i = 0; i < r->n; i++) {
                free(r->v[i].uri);
                free(r->v[i].suite);
                free(r->v[i].components);
        }
        free(r->v);
        *r = (Repos){0};
}

static void repos_add(Repos *r, const char *uri, size_t uri_len, const char *suite, size_t suite_len, const char *comps) {
        r->v = xrealloc(r->v, (r->n + 1) * sizeof *r->v);
        r->v[r->n++] = (Repo){.uri = xstrndup(uri, uri_len), .suite = xstrndup(suite, suite_len), .components = xstrdup(comps)};
}

static bool ends_with(const char *s, const char *suffix) {
        size_t n = strlen(s), m = strlen(suffix);
        return n >= m && streq(s + n - m, suffix);
}

static char *drop(char *p) {
        free(p);
        return NULL;
}

static const char *skip_ws(const char *p) {
        while (*p == ' ' || *p == '\t')
                p++;
        return p;
}

static size_t word_len(const char *p) {
        size_t n = 0;
        while (p[n] && p[n] != ' ' && p[n] != '\t' && p[n] != '\n')
                n++;
        return n;
}

/* One-line format: "deb [options] URI SUITE [COMPONENT...]". Options (signed-by, trusted=yes...) are
 * dropped on purpose: what vouches for the repository is decided here, not by the package. */
static void parse_list(const char *text, Repos *out) {
        for (const char *l = text; *l;) {
                const char *e = strchr(l, '\n');
                size_t n = e ? (size_t) (e - l) : strlen(l);
                _cleanup_free_ char *line = xstrndup(l, n);
                l = e ? e + 1 : l + n;
                char *hash = strchr(line, '#');
                if (hash)
                        *hash = 0;
                const char *p = skip_ws(line);
                if (!startswith(p, "deb") || (p[3] != ' ' && p[3] != '\t'))
                        continue; /* deb-src, blank, other */
                p = skip_ws(p + 3);
                if (*p == '[') {
                        const char *c = strchr(p, ']');
                        if (!c)
                                continue;
                        p = skip_ws(c + 1);
                }
                const char *uri = p;
                size_t ul = word_len(p);
                p = skip_ws(p + ul);
                const char *suite = p;
                size_t sl = word_len(p);
                if (!ul || !sl)
                        continue;
                p = skip_ws(p + sl);
                _cleanup_free_ char *comps = xstrdup(p);
                size_t cl = strlen(comps);
                while (cl && (comps[cl - 1] == ' ' || comps[cl - 1] == '\t' || comps[cl - 1] == '\r'))
                        comps[--cl] = 0;
                repos_add(out, uri, ul, suite, sl, comps);
        }
}

/* deb822 format: stanzas of Types, URIs, Suites, Components (continuation lines, such as an inline
 * Signed-By key, are skipped); "Enabled: no" stanzas are left out. */
static void parse_sources(const char *text, Repos *out) {
        _cleanup_free_ char *types = NULL, *uris = NULL, *suites = NULL, *comps = NULL, *enabled = NULL;
        for (const char *l = text;;) {
                const char *e = strchr(l, '\n');
                size_t n = e ? (size_t) (e - l) : strlen(l);
                _cleanup_free_ char *line = xstrndup(l, n);
                if (n && line[n - 1] == '\r')
                        line[n - 1] = 0;
                bool blank = !*skip_ws(line);
                if ((blank || !*l) && types && uris && suites && (!enabled || strcasecmp(enabled, "no") != 0)) {
                        for (const char *t = skip_ws(types); *t; t = skip_ws(t + word_len(t))) {
                                if (word_len(t) != 3 || strncmp(t, "deb", 3) != 0)
                                        continue;
                                for (const char *u = skip_ws(uris); *u; u = skip_ws(u + word_len(u)))
                                        for (const char *s = skip_ws(suites); *s; s = skip_ws(s + word_len(s)))
                                                repos_add(out, u, word_len(u), s, word_len(s), comps ? skip_ws(comps) : "");
                        }
                }
                if (blank || !*l) {
                        types = drop(types);
                        uris = drop(uris);
                        suites = drop(suites);
                        comps = drop(comps);
                        enabled = drop(enabled);
                }
                if (!*l)
                        break;
                l = e ? e + 1 : l + n;
                if (line[0] == '#' || line[0] == ' ' || line[0] == '\t')
                        continue;
                char *colon = strchr(line, ':');
                if (!colon)
                        continue;
                *colon = 0;
                char **to = strcasecmp(line, "Types") == 0        ? &types
                            : strcasecmp(line, "URIs") == 0       ? &uris
                            : strcasecmp(line, "Suites") == 0     ? &suites
                            : strcasecmp(line, "Components") == 0 ? &comps
                            : strcasecmp(line, "Enabled") == 0    ? &enabled
                                                                  : NULL;
                if (to) {
                        free(*to);
                        *to = xstrdup(skip_ws(colon + 1));
                }
        }
}

char *keyring_chain_repositories(const char *text, bool deb822) {
        _cleanup_(repos_done) Repos repos = {0};
        Buf b = {0};
        if (deb822)
                parse_sources(text, &repos);
        else
                parse_list(text, &repos);
        for (size_t i = 0; i < repos.n; i++)
                buf_printf(&b, "%s %s%s%s\n", repos.v[i].uri, repos.v[i].suite, *repos.v[i].components ? " " : "",
                           repos.v[i].components);
        return buf_steal(&b);
}

static bool is_source_file(const char *path) {
        return startswith(path, "/etc/apt/sources.list.d/") && (ends_with(path, ".list") || ends_with(path, ".sources"));
}

/* Which of apt's messages break which link. */
static bool signature_error(const char *m) {
        static const char *const marks[] = {"NO_PUBKEY", "is not signed", "BADSIG", "signatures were invalid",
                                            "GPG error", "EXPKEYSIG", "REVKEYSIG", "KEYEXPIRED", "NODATA"};
        for (size_t i = 0; i < ELEMENTSOF(marks); i++)
                if (strstr(m, marks[i]))
                        return true;
        return false;
}

static bool index_error(const char *m) {
        return strstr(m, "Hash Sum mismatch") || strstr(m, "unexpected size") || strstr(m, "Hashes of expected file");
}

/* The pinned key alone (*ret_key, from the package's keyrings) and the repositories its source files
 * name (into repos). -EPERM with *reterr when either is missing. */
static int chain_gather(const char *deb, const DebInfo *info, const char *file, const char *fpr, Repos *repos,
                        void **ret_key, size_t *ret_key_len, char **reterr) {
        void *key = NULL;
        size_t key_len = 0;
        Buf names = {0};
        for (size_t i = 0; i < info->n_entries; i++) {
                const DebEntry *e = &info->entries[i];
                if (e->type != DEB_ENTRY_FILE)
                        continue;
                bool keyring = startswith(e->path, "/usr/share/keyrings/"), source = is_source_file(e->path);
                if (!(keyring && !key) && !source)
                        continue;
                _cleanup_free_ char *data = NULL;
                size_t len = 0;
                if (deb_read_data_file(deb, e->path, PGP_KEYRING_MAX, &data, &len, NULL) < 0)
                        continue;
                if (keyring) {
                        void *k = NULL;
                        if (pgp_keyring_extract(data, len, fpr, &k, &key_len, NULL) == 0)
                                key = k;
                } else {
                        buf_printf(&names, "%s%s", names.len ? ", " : "", e->path);
                        if (ends_with(e->path, ".list"))
                                parse_list(data, repos);
                        else
                                parse_sources(data, repos);
                }
        }
        _cleanup_free_ char *source_names = buf_steal(&names);
        if (!key)
                return errorf(reterr, -EPERM, "refusing %s: its keyrings hold no key %s", file, fpr);
        if (repos->n == 0) {
                free(key);
                return errorf(reterr, -EPERM, "refusing %s: it names no apt repository (%s), so none can vouch for "
                              "it; pin its sha256 in the plan instead",
                              file, *source_names ? source_names : "no .list or .sources file");
        }
        *ret_key = key;
        *ret_key_len = key_len;
        return 0;
}

/* A private sources directory in tmpl: the repositories, Signed-By the pinned key alone. *ret_where
 * (on success) names them as the sources do; -errno with *reterr. */
static int chain_prepare(const char *tmpl, const Repos *repos, const void *key, size_t key_len, const char *file,
                         char **ret_where, char **reterr) {
        _cleanup_free_ char *keyfile = xasprintf("%s/pinned-key.gpg", tmpl);
        _cleanup_free_ char *parts = xasprintf("%s/sources.list.d", tmpl);
        _cleanup_free_ char *list = xasprintf("%s/sources.list", tmpl);
        _cleanup_free_ char *srcfile = xasprintf("%s/keyring-chain.sources", parts);
        Buf b = {0}, shown = {0};
        for (size_t i = 0; i < repos->n; i++) {
                const Repo *rp = &repos->v[i];
                buf_printf(&b, "Types: deb\nURIs: %s\nSuites: %s\n", rp->uri, rp->suite);
                if (*rp->components)
                        buf_printf(&b, "Components: %s\n", rp->components);
                buf_printf(&b, "Signed-By: %s\n\n", keyfile);
                /* as the source names it: the URI, and the suite unless it is the flat "/" */
                buf_printf(&shown, "%s%s%s%s", shown.len ? ", " : "", rp->uri, streq(rp->suite, "/") ? "" : " ",
                           streq(rp->suite, "/") ? "" : rp->suite);
        }
        _cleanup_free_ char *text = buf_steal(&b), *where = buf_steal(&shown);
        int r = write_file_atomic(keyfile, key, key_len, 0644);
        if (r >= 0)
                r = mkdir_p(parts, 0755);
        if (r >= 0)
                r = write_file_atomic(list, "", 0, 0644);
        if (r >= 0)
                r = write_file_atomic(srcfile, text, strlen(text), 0644);
        if (r < 0)
                return errorf(reterr, r, "cannot prepare the check of %s: %s", file, strerror(-r));
        *ret_where = TAKE_PTR(where);
        return 0;
}

/* A failed update of the repositories in *where, as the link it breaks. */
static int update_failed(int r, const char *m, const char *file, const char *fpr, const char *where, char **reterr) {
        if (signature_error(m))
                return errorf(reterr, -EPERM, "refusing %s: the repository it names (%s) is not signed by key %s: %s", file,
                              where, fpr, m);
        if (index_error(m))
                return errorf(reterr, -EPERM, "refusing %s: the Packages index of %s does not match its InRelease signed "
                              "by key %s: %s",
                              file, where, fpr, m);
        return errorf(reterr, r, "cannot check %s against the repository it names (%s): %s", file, where, m);
}

/* The SHA256 (*ret_sha) and URI (*ret_uri) the repositories in tmpl list for the package, after
 * apt verified their InRelease with the pinned key (and, with save, their indexes kept there).
 * -EPERM with *reterr when a link is broken, other -errno when the repositories cannot be read. */
static int chain_fetch(const Host *h, const char *tmpl, const DebInfo *info, const char *file, const char *fpr,
                       const char *where, const char *save, int verbose, char **ret_sha, char **ret_uri, char **reterr) {
        _cleanup_free_ char *err = NULL;
        AptSession as = {0};
        AptPrinter printer;
        /* verbose < 0: -q (keyring_chain.h) */
        AptSessionOptions o = {.scratch = true, .only_sources = tmpl, .verbose = verbose > 0 ? verbose : 0,
                               .output = apt_printer(&printer, verbose > 0 ? verbose : 0, verbose < 0)};
        /* (with an offline bundle the session's opening is the update: its sources are local files) */
        int r = apt_session_open(&as, h, &o, &err);
        if (r < 0) {
                r = update_failed(r, err ? err : strerror(-r), file, fpr, where, reterr);
                if (as.shim)
                        apt_session_close(&as);
                return r;
        }
        r = apt_shim_update(as.shim, &as.out.progress, &err);
        as.out.progress_done(as.out.userdata);
        if (r < 0) {
                r = update_failed(r, err ? err : strerror(-r), file, fpr, where, reterr);
        } else {
                free(err);
                err = NULL;
                r = apt_shim_version_sha256(as.shim, info->package, info->version, ret_sha, ret_uri, &err);
                if (r < 0)
                        r = errorf(reterr, -EPERM, "refusing %s: the repository it names (%s), signed by key %s, does not "
                                   "vouch for %s %s: %s",
                                   file, where, fpr, info->package, info->version, err ? err : strerror(-r));
                if (r >= 0 && save) {
                        free(err);
                        err = NULL;
                        r = apt_shim_save_signed_indexes(as.shim, save, &err);
                        if (r < 0)
                                r = errorf(reterr, r, "cannot keep the signed indexes of %s: %s", where,
                                           err ? err : strerror(-r));
                }
        }
        apt_session_close(&as);
        return r;
}

/* One repository URI, two spellings: apt writes a local one "file:/x/", sources may say "file:///x".
 * The part that names the place: the path of a file: URI, else the whole URI. */
static const char *uri_place(const char *u) {
        if (!startswith(u, "file:"))
                return u;
        u += strlen("file:");
        return startswith(u, "///") ? u + 2 : u;
}

/* Equal but for trailing slashes. */
static bool same_uri(const char *a, const char *b) {
        bool local = startswith(a, "file:") && startswith(b, "file:");
        const char *pa = local ? uri_place(a) : a, *pb = local ? uri_place(b) : b;
        size_t na = strlen(pa), nb = strlen(pb);
        while (na > 0 && pa[na - 1] == '/')
                na--;
        while (nb > 0 && pb[nb - 1] == '/')
                nb--;
        return na == nb && strncmp(pa, pb, na) == 0;
}

/* The repositories saved in dir (an offline bundle's copy of their signed indexes), as file:// URIs,
 * into out; each must be one of named (the package's own sources). -EPERM with *reterr otherwise. */
static int saved_repositories(const char *dir, const Repos *named, const char *file, Repos *out, char **reterr) {
        for (unsigned n = 1;; n++) {
                _cleanup_free_ char *path = xasprintf("%s/%u/repository", dir, n), *text = NULL;
                size_t len = 0;
                int r = read_file(path, 64 * 1024, &text, &len);
                if (r == -ENOENT)
                        break;
                if (r < 0)
                        return errorf(reterr, r, "cannot read %s: %s", path, strerror(-r));
                char *suite = strchr(text, '\n'), *comps = suite ? strchr(suite + 1, '\n') : NULL;
                if (!comps)
                        return errorf(reterr, -EPERM, "refusing %s: %s is not \"URI, SUITE, COMPONENTS\"", file, path);
                *suite++ = '\0';
                *comps++ = '\0';
                comps[strcspn(comps, "\n")] = '\0';
                bool named_there = false;
                for (size_t i = 0; i < named->n && !named_there; i++)
                        named_there = same_uri(named->v[i].uri, text);
                if (!named_there)
                        return errorf(reterr, -EPERM, "refusing %s: the bundle carries the indexes of %s, a repository "
                                      "its sources do not name",
                                      file, text);
                _cleanup_free_ char *uri = xasprintf("file://%s/%u/", dir, n);
                repos_add(out, uri, strlen(uri), suite, strlen(suite), comps);
        }
        if (out->n == 0)
                return errorf(reterr, -EPERM, "refusing %s: the bundle carries no signed index of the repository it "
                              "names (%s is empty)",
                              file, dir);
        return 0;
}

int keyring_chain_verify(const Host *h, const char *deb, const DebInfo *info, const char *file, const char *fingerprint,
                         const KeyringChainIndexes *idx, int verbose, char **ret_detail, char **reterr) {
        _cleanup_(repos_done) Repos repos = {0};
        _cleanup_free_ char *key = NULL, *sha = NULL, *uri = NULL, *fpr = NULL, *where = NULL;
        size_t key_len = 0;
        char sum[65];
        int r;

        r = pgp_fingerprint_normalize(fingerprint, &fpr);
        if (r < 0)
                return errorf(reterr, r, "refusing %s: the pinned fingerprint %s is not valid", file, fingerprint);
        void *k = NULL;
        r = chain_gather(deb, info, file, fpr, &repos, &k, &key_len, reterr);
        if (r < 0)
                return r;
        key = k;

        char tmpl[] = "/tmp/gpubase-chain.XXXXXX";
        if (!mkdtemp(tmpl)) {
                r = negative_errno();
                return errorf(reterr, r, "cannot prepare the check of %s: %s", file, strerror(-r));
        }
        (void) chmod(tmpl, 0755); /* apt's download methods may run as its sandbox user */
        _cleanup_(repos_done) Repos saved = {0};
        if (idx && idx->saved)
                r = saved_repositories(idx->saved, &repos, file, &saved, reterr);
        if (r >= 0)
                r = chain_prepare(tmpl, idx && idx->saved ? &saved : &repos, key, key_len, file, &where, reterr);
        if (r >= 0)
                r = chain_fetch(h, tmpl, info, file, fpr, where, idx ? idx->save : NULL, verbose, &sha, &uri, reterr);
        rm_rf_tree(tmpl);
        if (r < 0)
                return r;

        if (!sha) /* chain_fetch() sets it whenever it succeeds; a chain without it is broken */
                return errorf(reterr, -ENOENT, "refusing %s: no signed index of the repository it names gives a "
                              "sha256 for %s %s", file, info->package, info->version);
        r = sha256_file_hex(deb, sum);
        if (r < 0)
                return errorf(reterr, r, "cannot read %s: %s", file, strerror(-r));
        if (strcasecmp(sum, sha) != 0)
                return errorf(reterr, -EPERM, "refusing %s: its sha256 is %s, but the repository it names (%s), signed "
                              "by key %s, lists %s for %s %s",
                              file, sum, where, fpr, sha, info->package, info->version);
        *ret_detail = xasprintf("its sha256 is the one %s lists for %s %s, in an index signed by key %s", uri ? uri : where,
                                info->package, info->version, fpr);
        return 0;
}
