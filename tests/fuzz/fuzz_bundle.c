/* Fuzz target: the bundle reader (bundle_open, agent/host/bundle.h, over tar_scan in tarball.c) on
 * arbitrary bytes written as a bundle file. Each input is read twice, the way gpubase reads bundles:
 * extracted into a scratch directory (`run --bundle`), and checked without extracting (`bundle
 * inspect`). Properties:
 *   - a refusal has a message, and leaves nothing behind: no destination, no partial extraction;
 *   - nothing is ever written outside the destination (the scratch directory holds only the input
 *     and the destination's parent), and the extracted tree holds only directories and regular files;
 *   - what is accepted has a manifest that accounts for every extracted file, each at its listed
 *     size and sha256, manifest.json itself hashing to the manifest's recorded sum; bundle_verify_dir()
 *     (a resumed run) agrees, and the manifest written back as JSON parses to the same files;
 *   - extraction and inspection accept and refuse the same bundles (regressions/fuzz_bundle/
 *     file-and-directory.tar: a manifest listing "keys" and "keys/a.key" passed inspection, and
 *     extraction could only fail). */
#include <dirent.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/hash.h"
#include "host/bundle.h"
#include "host/debfile.h"
#include "fuzz.h"

static char *input, *parent, *dest;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
        (void) argc;
        (void) argv;
        input = xasprintf("%s/input.bundle", fuzz_scratch_dir());
        parent = xasprintf("%s/var", fuzz_scratch_dir());
        dest = xasprintf("%s/bundle", parent);
        if (mkdir(parent, 0755) < 0)
                fuzz_fail("cannot create %s", parent);
        return 0;
}

/* The names in dir, other than "." and "..", sorted and joined by spaces ("" when empty). */
static char *list_dir(const char *dir) {
        struct dirent **names = NULL;
        int n = scandir(dir, &names, NULL, alphasort);
        if (n < 0)
                fuzz_fail("cannot list %s", dir);
        Buf b = {0};
        for (int i = 0; i < n; i++) {
                if (!streq(names[i]->d_name, ".") && !streq(names[i]->d_name, ".."))
                        buf_printf(&b, "%s%s", b.len ? " " : "", names[i]->d_name);
                free(names[i]);
        }
        free(names);
        return buf_steal(&b);
}

/* Every entry below dir (rel: its path from dest) is a directory or a regular file that the manifest
 * lists at its size and sha256, or manifest.json itself. Returns how many regular files it found. */
static size_t check_tree(const BundleManifest *m, const char *dir, const char *rel) {
        _cleanup_(closedirp) DIR *d = opendir(dir);
        if (!d)
                fuzz_fail("cannot open the extracted directory %s", dir);
        size_t files = 0;
        struct dirent *de;
        while ((de = readdir(d))) {
                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                _cleanup_free_ char *p = xasprintf("%s/%s", dir, de->d_name);
                _cleanup_free_ char *r = rel ? xasprintf("%s/%s", rel, de->d_name) : xstrdup(de->d_name);
                struct stat st;
                if (lstat(p, &st) < 0)
                        fuzz_fail("cannot stat %s", p);
                if (S_ISDIR(st.st_mode)) {
                        files += check_tree(m, p, r);
                        continue;
                }
                if (!S_ISREG(st.st_mode))
                        fuzz_fail("extracted '%s' is neither a directory nor a regular file (mode %o)", r, st.st_mode);
                char sum[65];
                if (sha256_file_hex(p, sum) < 0)
                        fuzz_fail("cannot hash %s", p);
                files++;
                if (streq(r, BUNDLE_MANIFEST)) {
                        if (!streq(sum, m->sha256))
                                fuzz_fail("manifest.json hashes to %s, the manifest read was %s", sum, m->sha256);
                        continue;
                }
                const BundleFile *f = bundle_manifest_find(m, r);
                if (!f)
                        fuzz_fail("extracted '%s' is not in the manifest", r);
                if (!streq(f->sha256, sum) || f->size != (uint64_t) st.st_size)
                        fuzz_fail("extracted '%s': sha256 %s, %lld bytes; the manifest says %s, %llu bytes", r, sum,
                                  (long long) st.st_size, f->sha256, (unsigned long long) f->size);
        }
        return files;
}

static void check_accepted(const BundleManifest *m) {
        if (!m || m->n_files == 0 || !m->plan_name || !bundle_manifest_find(m, BUNDLE_PLAN))
                fuzz_fail("an accepted bundle without a manifest naming a plan and " BUNDLE_PLAN);
        size_t files = check_tree(m, dest, NULL);
        if (files != m->n_files + 1)
                fuzz_fail("%zu files extracted; the manifest lists %zu besides itself", files, m->n_files);

        _cleanup_(bundle_manifest_freep) BundleManifest *again = NULL;
        _cleanup_free_ char *why = NULL;
        int r = bundle_verify_dir(dest, &again, &why);
        if (r < 0)
                fuzz_fail("the extracted bundle does not verify: %s", why ? why : "(no message)");
        if (!streq(again->sha256, m->sha256) || again->n_files != m->n_files)
                fuzz_fail("the extracted bundle's manifest reads differently");

        /* the manifest as gpubase writes it reads back to the same files */
        _cleanup_free_ char *json = bundle_manifest_to_json(m), *why2 = NULL;
        _cleanup_(bundle_manifest_freep) BundleManifest *back = NULL;
        r = bundle_manifest_parse(json, strlen(json), &back, &why2);
        if (r < 0)
                fuzz_fail("the manifest written back does not parse: %s", why2 ? why2 : "(no message)");
        if (back->n_files != m->n_files || !streq(back->plan_name, m->plan_name) ||
            !streq(back->plan_sha256, m->plan_sha256) || strv_length(back->vars) != strv_length(m->vars))
                fuzz_fail("the manifest written back reads differently");
        for (size_t i = 0; i < m->n_files; i++)
                if (!streq(back->files[i].path, m->files[i].path) || !streq(back->files[i].sha256, m->files[i].sha256) ||
                    back->files[i].size != m->files[i].size || !streq(back->files[i].kind, m->files[i].kind))
                        fuzz_fail("files[%zu] written back reads differently", i);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        fuzz_write_file(input, data, size);

        _cleanup_(bundle_manifest_freep) BundleManifest *m = NULL;
        _cleanup_free_ char *why = NULL;
        int r = bundle_open(input, dest, &m, &why);

        /* nothing outside the destination: the scratch directory holds what it held before */
        _cleanup_free_ char *top = list_dir(fuzz_scratch_dir()), *beside = list_dir(parent);
        if (!streq(top, "input.bundle var"))
                fuzz_fail("something was written beside the destination's parent: %s", top);
        if (r < 0) {
                if (!why || !*why)
                        fuzz_fail("bundle_open refused with %d and no message", r);
                if (*beside)
                        fuzz_fail("a refused bundle left '%s' behind (%s)", beside, why);
        } else {
                if (!streq(beside, "bundle"))
                        fuzz_fail("an accepted bundle left '%s' beside its destination", beside);
                check_accepted(m);
        }

        /* `bundle inspect`: the same verdict, the same manifest */
        _cleanup_(bundle_manifest_freep) BundleManifest *m2 = NULL;
        _cleanup_free_ char *why2 = NULL;
        int r2 = bundle_open(input, NULL, &m2, &why2);
        if ((r < 0) != (r2 < 0))
                fuzz_fail("extraction %s the bundle (%s), inspection %s it (%s)", r < 0 ? "refused" : "accepted",
                          r < 0 ? why : "", r2 < 0 ? "refused" : "accepted", r2 < 0 ? why2 : "");
        if (r2 < 0 && (!why2 || !*why2))
                fuzz_fail("bundle inspection refused with %d and no message", r2);
        if (r2 >= 0 && !streq(m2->sha256, m->sha256))
                fuzz_fail("extraction and inspection read different manifests");

        rm_rf_tree(dest);
        return 0;
}
