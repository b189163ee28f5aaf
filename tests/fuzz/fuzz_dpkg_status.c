/* Fuzz target: gpubase's own reader of dpkg's status file (checks/facts.h), on arbitrary bytes
 * written to <scratch root>/var/lib/dpkg/status (and, the same stanza walk, as an apt list
 * var/lib/apt/lists/fuzz_Packages): dpkg_find (by a name and by a glob), dpkg_find_driver (the
 * driver's package names, globs among them), dpkg_held_lock (a held package that depends on an exact
 * version) and apt_lists_origin, each also on the text directly (dpkg_find_in, dpkg_held_lock_in).
 * The names looked up are fixed ones plus the first Package and Version the input carries, so that
 * lookups hit. What libapt-pkg reads of that file (the shim's cache) is libapt's parser, not ours:
 * building its cache takes milliseconds per input and locks, so it is left to apt's own tests.
 *
 * Properties: a package found has a name matching what was asked for (fnmatch), a version and a
 * status; "installed" is exactly a status ending in " installed" and "held" one starting with
 * "hold "; an installed match wins over one that is not; the file and the text give the same
 * answers; a lock holder is named; the origin of the first package is the list it was written to. */
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/fs.h"
#include "checks/facts.h"
#include "fuzz.h"

static Host host;
static char *status_path, *list_path;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
        (void) argc;
        (void) argv;
        const char *root = fuzz_scratch_dir();
        status_path = xasprintf("%s/var/lib/dpkg/status", root);
        list_path = xasprintf("%s/var/lib/apt/lists/fuzz_Packages", root);
        if (mkdir_parents(status_path, 0755) < 0 || mkdir_parents(list_path, 0755) < 0 || host_init(&host, root) < 0)
                abort();
        return 0;
}

/* The value of the first "NAME:" line of the text, up to the end of its line (NULL if none). */
static char *first_field(const char *text, const char *name) {
        size_t n = strlen(name);
        for (const char *l = text; l && *l;) {
                if (strncmp(l, name, n) == 0 && l[n] == ':') {
                        const char *v = l + n + 1;
                        v += strspn(v, " ");
                        return xstrndup(v, strcspn(v, "\n"));
                }
                l = strchr(l, '\n');
                if (l)
                        l++;
        }
        return NULL;
}

static bool ends_installed(const char *s) {
        size_t n = strlen(s);
        return n >= 10 && streq(s + n - 10, " installed");
}

static void check_package(const char *asked, const DpkgPackage *p) {
        if (!p->name || !p->version || !p->status)
                fuzz_fail("package found for %s without a name, version or status", asked);
        if (fnmatch(asked, p->name, 0) != 0)
                fuzz_fail("asked for %s, found %s", asked, p->name);
        if (p->installed != ends_installed(p->status))
                fuzz_fail("%s: status \"%s\" read as %sinstalled", p->name, p->status, p->installed ? "" : "not ");
        if (p->held != startswith(p->status, "hold "))
                fuzz_fail("%s: status \"%s\" read as %sheld", p->name, p->status, p->held ? "" : "not ");
}

static bool same_package(const DpkgPackage *a, const DpkgPackage *b) {
        return streq(a->name, b->name) && streq(a->version, b->version) && streq(a->status, b->status) &&
               a->installed == b->installed && a->held == b->held;
}

/* dpkg_find_in on the text and dpkg_find on the file agree, and the answer is right. */
static void check_find(const char *text, const char *name) {
        DpkgPackage a = {0}, b = {0};
        int ra = dpkg_find_in(text, name, &a), rb = dpkg_find(&host, name, &b);
        if (ra != rb)
                fuzz_fail("dpkg_find_in gives %d and dpkg_find %d for %s", ra, rb, name);
        if (ra == 0) {
                check_package(name, &a);
                if (!same_package(&a, &b))
                        fuzz_fail("dpkg_find_in and dpkg_find found different packages for %s", name);
        } else if (ra != -ENOENT)
                fuzz_fail("dpkg_find_in gives %d for %s", ra, name);
        dpkg_package_done(&a);
        dpkg_package_done(&b);
}

/* An installed stanza of that name exists in the text: then what is found must be installed. */
static bool installed_stanza(const char *text, const char *name) {
        bool found = false;
        _cleanup_free_ char *copy = xstrdup(text);
        for (char *s = copy; s && *s && !found;) {
                char *e = strstr(s, "\n\n");
                if (e)
                        *e = 0;
                _cleanup_free_ char *pkg = first_field(s, "Package");
                _cleanup_free_ char *st = first_field(s, "Status");
                found = pkg && st && streq(pkg, name) && ends_installed(st);
                s = e ? e + 2 : NULL;
        }
        return found;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        fuzz_write_file(status_path, data, size);
        fuzz_write_file(list_path, data, size);
        /* the readers read a C string: the text up to the first NUL */
        _cleanup_free_ char *text = xstrndup((const char *) data, size);
        _cleanup_free_ char *name = first_field(text, "Package");
        _cleanup_free_ char *version = first_field(text, "Version");

        check_find(text, "nvidia-open");
        check_find(text, "nvidia-dkms-[0-9]*");
        if (name) {
                check_find(text, name);
                DpkgPackage p = {0};
                /* a name without glob characters: an installed stanza of it wins */
                if (!name[strcspn(name, "*?[\\")] && installed_stanza(text, name) &&
                    (dpkg_find_in(text, name, &p) < 0 || !p.installed))
                        fuzz_fail("%s has an installed stanza but was found not installed", name);
                dpkg_package_done(&p);
        }

        DpkgPackage drv = {0};
        if (dpkg_find_driver(&host, &drv) == 0) {
                if (!drv.installed || !drv.name || !drv.version || !drv.status)
                        fuzz_fail("driver package found that is not installed or has no name");
                dpkg_package_done(&drv);
        }

        const char *want = name ? name : "nvidia-open", *want_version = version ? version : "595.45.01-1";
        _cleanup_free_ char *h1 = NULL, *h2 = NULL;
        int r1 = dpkg_held_lock_in(text, want, want_version, &h1), r2 = dpkg_held_lock(&host, want, want_version, &h2);
        if (r1 != r2 || (r1 != 0 && r1 != -ENOENT))
                fuzz_fail("dpkg_held_lock_in gives %d and dpkg_held_lock %d", r1, r2);
        if (r1 == 0 && (!h1 || !h2 || !streq(h1, h2)))
                fuzz_fail("dpkg_held_lock_in and dpkg_held_lock name different holders");

        _cleanup_strv_free_ char **lists = NULL;
        int r = apt_lists_origin(&host, want, want_version, &lists);
        if (r == 0 && (strv_length(lists) != 1 || !streq(lists[0], "fuzz_Packages")))
                fuzz_fail("apt_lists_origin names a list it was not given");
        if (r < 0 && r != -ENOENT)
                fuzz_fail("apt_lists_origin gives %d", r);
        return 0;
}
